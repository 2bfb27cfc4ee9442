"""Reading the kernel's TCP table: which state is *this* socket in, right now?

Two ways, the same answer:

* ``/proc/net/tcp`` and ``/proc/net/tcp6`` -- one text line per socket; the ``st`` column
  is the state as a hexadecimal kernel code (``01`` = ESTABLISHED ... ``0A`` = LISTEN), and
  ``tr:tm->when`` is the running timer and the clock ticks (1/100 s) until it fires.
  :func:`proc_net_tcp` parses it; :func:`explain_proc_line` explains one line column by column.
* a ``sock_diag`` netlink request, as ``ss`` makes -- :class:`Diag`.  It can look up *one*
  connection by its four-tuple (local address and port, remote address and port) in a few
  microseconds, which is what the live lab uses to sample states every fraction of a
  millisecond.  The expiry time comes in milliseconds.

Both show three kinds of kernel object, and a learner should know which one they see:

``full``      a real socket (``struct tcp_sock``).  ``inode`` is the socket's inode; it is 0
              for an *orphan*: the application has called close(), no file descriptor is
              left, and the kernel finishes the connection on its own.
``request``   a *request sock* (``TCP_NEW_SYN_RECV`` inside the kernel, shown as SYN-RECV):
              the half-open connection a listener keeps after answering a SYN with SYN,ACK.
              It becomes a full socket only when the handshake's ACK arrives.
``timewait``  a *TIME-WAIT mini-socket* (``struct inet_timewait_sock``): after the
              connection is over, the full socket is freed and this small record keeps the
              four-tuple and sequence numbers for 60 s.  An orphaned FIN-WAIT-2 socket is
              turned into one too (with substate FIN-WAIT-2 and timer ``tcp_fin_timeout``).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass, field

from ..states import TcpState

__all__ = ["KernelSocket", "Diag", "DiagUnavailable", "ProcReader", "reader", "proc_net_tcp",
           "explain_proc_line",
           "TIMER_NAMES", "USER_HZ", "errno_name", "MODEL_ERRORS"]

#: ``/proc/net/tcp`` reports ``tm->when`` in clock ticks of USER_HZ (100 on Linux).
USER_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

#: The ``tr`` column of ``/proc/net/tcp`` (``idiag_timer`` in sock_diag).
TIMER_NAMES = {0: "no timer", 1: "retransmission", 2: "keepalive", 3: "TIME-WAIT",
               4: "zero-window probe"}

#: Kernel state codes outside TcpState (include/net/tcp_states.h).
TCP_NEW_SYN_RECV = 12

#: What the model's ``Step.error`` strings are called by the socket API.
MODEL_ERRORS = {"connection refused": "ECONNREFUSED", "connection reset": "ECONNRESET",
                "connection timed out": "ETIMEDOUT"}


def errno_name(code: int | None) -> str:
    """``ECONNRESET`` for 104 (``""`` for 0/None)."""
    if not code:
        return ""
    return errno.errorcode.get(code, f"errno {code}")


#: States a socket can only be in after its application called close() or shutdown().
_CLOSED_BY_APP = (TcpState.FIN_WAIT_1, TcpState.FIN_WAIT_2, TcpState.CLOSING,
                  TcpState.LAST_ACK, TcpState.TIME_WAIT)


@dataclass(frozen=True)
class KernelSocket:
    """One row of the kernel's TCP table, as ``/proc/net/tcp`` or ``ss`` shows it."""

    local: tuple[str, int]
    remote: tuple[str, int]
    code: int                       # the kernel's state code (st)
    kind: str = "full"              # "full", "request" or "timewait" (see the module doc)
    timer: int = 0                  # 0 none, 1 retransmission, 2 keepalive, 3 TIME-WAIT, 4 probe
    expires: float = 0.0            # seconds until the timer fires
    retransmits: int = 0
    rx_queue: int = 0
    tx_queue: int = 0
    uid: int = 0
    inode: int = 0
    source: str = "sock_diag"       # "sock_diag" or "/proc/net/tcp"
    raw: str = field(default="", compare=False)

    @property
    def state(self) -> TcpState | None:
        """The RFC state (a request sock counts as SYN-RECEIVED); None for unknown codes."""
        code = TcpState.SYN_RECEIVED.linux if self.code == TCP_NEW_SYN_RECV else self.code
        try:
            return TcpState.from_linux(code)
        except ValueError:
            return None

    @property
    def orphan(self) -> bool:
        """A full socket the application has closed: no file descriptor refers to it any more
        and the kernel finishes the connection on its own."""
        return self.kind == "full" and self.inode == 0 and self.state in _CLOSED_BY_APP

    @property
    def unaccepted(self) -> bool:
        """A full socket still waiting in a listener's accept queue (no descriptor yet)."""
        return self.kind == "full" and self.inode == 0 and self.state in (
            TcpState.SYN_RECEIVED, TcpState.ESTABLISHED, TcpState.CLOSE_WAIT)

    @property
    def timer_name(self) -> str:
        return TIMER_NAMES.get(self.timer, f"timer {self.timer}")

    def what(self) -> str:
        """``"TIME-WAIT (mini-socket, 59.2 s left)"`` -- state, kind of object and timer."""
        state = self.state.rfc if self.state else f"code {self.code}"
        bits = []
        timer = self.timer_name
        if self.kind == "request":
            bits.append("request sock")
        elif self.kind == "timewait" and self.state is TcpState.FIN_WAIT_2:
            bits.append("orphan, now a TIME-WAIT mini-socket")
            timer = "tcp_fin_timeout"
        elif self.kind == "timewait":
            bits.append("mini-socket")
        elif self.orphan:
            bits.append("orphan")
        elif self.unaccepted:
            bits.append("in the accept queue")
        if self.timer:
            bits.append(f"{timer} timer: {self.expires:.1f} s left")
        return state + (f" ({', '.join(bits)})" if bits else "")

    def __str__(self) -> str:
        return (f"{self.local[0]}:{self.local[1]} -> {self.remote[0]}:{self.remote[1]} "
                f"{self.what()}")


# ---------------------------------------------------------------------- /proc/net/tcp

def _proc_addr(text: str) -> tuple[str, int]:
    """``0100007F:1F90`` -> ``("127.0.0.1", 8080)``: the kernel prints the address as the
    32-bit words of network-order bytes read in host byte order."""
    addr, port = text.split(":")
    raw = bytes.fromhex(addr)
    words = [raw[i:i + 4] for i in range(0, len(raw), 4)]
    native = b"".join(struct.pack("=I", int.from_bytes(w, "big")) for w in words)
    ip = ipaddress.ip_address(native)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


def parse_proc_line(line: str) -> KernelSocket:
    """One data line of ``/proc/net/tcp`` or ``/proc/net/tcp6``."""
    f = line.split()
    tx, rx = (int(x, 16) for x in f[4].split(":"))
    tr, when = (int(x, 16) for x in f[5].split(":"))
    code = int(f[3], 16)
    # Full sockets print 17+ columns; request socks and TIME-WAIT mini-sockets print 12.
    if len(f) >= 17:
        kind = "full"
    else:
        kind = "request" if code == TcpState.SYN_RECEIVED.linux else "timewait"
    return KernelSocket(_proc_addr(f[1]), _proc_addr(f[2]), code, kind, tr,
                        when / USER_HZ if tr else 0.0, int(f[6], 16), rx, tx, int(f[7]),
                        int(f[9]), "/proc/net/tcp", line.rstrip())


def proc_net_tcp(ports: "set[int] | None" = None, *, proc: str = "/proc/thread-self/net"
                 ) -> list[KernelSocket]:
    """Every TCP socket in ``/proc/net/tcp`` and ``tcp6`` of this thread's network namespace
    (or only those with a local or remote port in ``ports``)."""
    out = []
    for name in ("tcp", "tcp6"):
        try:
            with open(os.path.join(proc, name)) as fh:
                lines = fh.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            if not line.strip():
                continue
            ks = parse_proc_line(line)
            if ports is None or ks.local[1] in ports or ks.remote[1] in ports:
                out.append(ks)
    return out


PROC_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
               "   uid  timeout inode")


def explain_proc_line(line: "str | KernelSocket") -> str:
    """Explain a ``/proc/net/tcp`` line column by column, for a learner."""
    ks = line if isinstance(line, KernelSocket) else parse_proc_line(line)
    raw = ks.raw or "(from sock_diag)"
    f = raw.split() if ks.raw else []
    st = ks.state
    rows = [raw]
    if f:
        rows.append(f"  local_address {f[1]:<21} = {ks.local[0]}:{ks.local[1]} "
                    "(address words and port in hex)")
        rows.append(f"  rem_address   {f[2]:<21} = {ks.remote[0]}:{ks.remote[1]}")
        rows.append(f"  st            {f[3]:<21} = {ks.code} = {st.linux_macro if st else '?'}"
                    f" = {st.rfc if st else '?'}")
        rows.append(f"  tr:tm->when   {f[5]:<21} = {ks.timer_name}"
                    + (f", fires in {ks.expires:.2f} s ({int(f[5].split(':')[1], 16)} ticks of "
                       f"1/{USER_HZ} s)" if ks.timer else ""))
        rows.append(f"  inode         {f[9] if len(f) > 9 else '':<21} = "
                    + ("0: no file descriptor refers to it" if ks.inode == 0 else
                       "the socket's inode (ls -l /proc/PID/fd shows socket:[inode])"))
    rows.append(f"  kind: {ks.kind} -- " + {
        "full": "a full socket" + (" (an orphan: the application closed it)" if ks.orphan
                                   else ""),
        "request": "a request sock: the listener's half-open connection; it turns into a "
                   "full socket when the handshake's ACK arrives",
        "timewait": "a TIME-WAIT mini-socket: the full socket is gone; only the four-tuple, "
                    "sequence numbers and a timer remain"}[ks.kind])
    return "\n".join(rows)


# ---------------------------------------------------------------------- sock_diag

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 1
NLM_F_DUMP = 0x300
INET_DIAG_NOCOOKIE = 0xFFFFFFFF
_REQ = struct.Struct("=BBBxI")           # family, protocol, ext, pad, states
_SOCKID = struct.Struct("!HH16s16s")      # sport, dport, src, dst (network order)
_SOCKID_TAIL = struct.Struct("=III")     # interface, cookie[2]
_MSG = struct.Struct("=BBBB")            # family, state, timer, retrans
_MSG_TAIL = struct.Struct("=IIIII")      # expires, rqueue, wqueue, uid, inode
_NLH = struct.Struct("=IHHII")


class DiagUnavailable(OSError):
    """sock_diag netlink is not available here (not Linux, or filtered by a sandbox)."""


class Diag:
    """A ``sock_diag`` netlink socket (NETLINK_SOCK_DIAG) bound to a network namespace.

    The namespace is the one the *creating thread* is in, for the socket's whole life: make
    it inside :func:`tcplab.live.netns.in_netns` to read another namespace.
    """

    def __init__(self) -> None:
        try:
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
        except (OSError, AttributeError) as exc:
            raise DiagUnavailable(f"sock_diag netlink is not available: {exc}") from None
        self._seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Diag":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _addr(ip: str) -> tuple[int, bytes]:
        a = ipaddress.ip_address(ip)
        return (socket.AF_INET if a.version == 4 else socket.AF_INET6), a.packed.ljust(16, b"\0")

    def _request(self, family: int, states: int, sport: int, dport: int, src: bytes,
                 dst: bytes, flags: int) -> list[bytes]:
        self._seq += 1
        body = (_REQ.pack(family, socket.IPPROTO_TCP, 0, states)
                + _SOCKID.pack(sport, dport, src, dst)
                + _SOCKID_TAIL.pack(0, INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE))
        self.sock.send(_NLH.pack(_NLH.size + len(body), SOCK_DIAG_BY_FAMILY, flags,
                                 self._seq, 0) + body)
        msgs = []
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + _NLH.size <= len(data):
                length, typ, _, seq, _ = _NLH.unpack_from(data, off)
                if length < _NLH.size:
                    return msgs
                payload = data[off + _NLH.size: off + length]
                off += (length + 3) & ~3
                if seq != self._seq:
                    continue
                if typ == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", payload)[0]
                    if err in (0, errno.ENOENT):
                        return msgs
                    raise OSError(err, f"sock_diag: {os.strerror(err)}")
                if typ == NLMSG_DONE:
                    return msgs
                if typ == SOCK_DIAG_BY_FAMILY:
                    msgs.append(payload)
                    if not flags & NLM_F_DUMP:
                        return msgs

    @staticmethod
    def _parse(payload: bytes) -> KernelSocket:
        family, state, timer, retrans = _MSG.unpack_from(payload)
        sport, dport, src, dst = _SOCKID.unpack_from(payload, _MSG.size)
        off = _MSG.size + _SOCKID.size + _SOCKID_TAIL.size
        expires, rq, wq, uid, inode = _MSG_TAIL.unpack_from(payload, off)
        n = 4 if family == socket.AF_INET else 16
        sip = ipaddress.ip_address(src[:n])
        dip = ipaddress.ip_address(dst[:n])
        if timer == 3 or state == TcpState.TIME_WAIT.linux:
            kind = "timewait"
        elif state in (TcpState.SYN_RECEIVED.linux, TCP_NEW_SYN_RECV) and inode == 0:
            kind = "request"
        else:
            kind = "full"
        return KernelSocket((str(sip), sport), (str(dip), dport), state, kind, timer,
                            expires / 1000 if timer else 0.0, retrans, rq, wq, uid, inode)

    def lookup(self, local: tuple[str, int], remote: tuple[str, int]) -> KernelSocket | None:
        """The socket with exactly this four-tuple, or ``None``.  ``remote=("0.0.0.0", 0)``
        finds a listener.  (An exact lookup: a hash-table probe, not a dump.)"""
        family, src = self._addr(local[0])
        _, dst = self._addr(remote[0])
        msgs = self._request(family, 0xFFFFFFFF, local[1], remote[1], src, dst,
                             NLM_F_REQUEST)
        for m in msgs:
            ks = self._parse(m)
            # A lookup falls back to the listener on the local port: only an exact match counts.
            if ks.local[1] == local[1] and ks.remote[1] == remote[1] and (
                    remote[1] != 0 or ks.code == TcpState.LISTEN.linux):
                return ks
        return None

    def lookup_many(self, pairs: "list[tuple[tuple[str, int], tuple[str, int]]]"
                    ) -> list[KernelSocket | None]:
        return [self.lookup(local, remote) for local, remote in pairs]

    def dump(self, ports: "set[int] | None" = None, family: int = socket.AF_INET
             ) -> list[KernelSocket]:
        """Every TCP socket of one address family (as ``ss -tan`` lists them)."""
        zero = b"\0" * 16
        out = [self._parse(m) for m in self._request(family, 0xFFFFFFFF, 0, 0, zero, zero,
                                                      NLM_F_REQUEST | NLM_F_DUMP)]
        if ports is not None:
            out = [k for k in out if k.local[1] in ports or k.remote[1] in ports]
        return out


class ProcReader:
    """The same lookups as :class:`Diag`, by reading ``/proc/net/tcp`` and ``tcp6`` -- slower
    (the whole table each time), for machines where sock_diag is not available.

    ``enter`` is a context-manager factory that puts the thread into the right network
    namespace while the file is opened (``None``: this thread's namespace).
    """

    source = "/proc/net/tcp"

    def __init__(self, enter: "object | None" = None) -> None:
        self.enter = enter

    def _rows(self, ports: "set[int] | None") -> list[KernelSocket]:
        if self.enter is None:
            return proc_net_tcp(ports)
        with self.enter():                    # type: ignore[operator]
            return proc_net_tcp(ports)

    def lookup(self, local: tuple[str, int], remote: tuple[str, int]) -> KernelSocket | None:
        return self.lookup_many([(local, remote)])[0]

    def lookup_many(self, pairs: "list[tuple[tuple[str, int], tuple[str, int]]]"
                    ) -> list[KernelSocket | None]:
        """Several lookups from one reading of the table."""
        rows = self._rows({local[1] for local, _ in pairs})
        out: list[KernelSocket | None] = []
        for local, remote in pairs:
            out.append(next((ks for ks in rows if ks.local[1] == local[1] and
                             ks.remote[1] == remote[1] and _same_ip(ks.local[0], local[0])
                             and _same_ip(ks.remote[0], remote[0])), None))
        return out

    def dump(self, ports: "set[int] | None" = None, family: int = socket.AF_INET
             ) -> list[KernelSocket]:
        return self._rows(ports)

    def close(self) -> None:
        pass

    def __enter__(self) -> "ProcReader":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _same_ip(a: str, b: str) -> bool:
    return ipaddress.ip_address(a) == ipaddress.ip_address(b) or (
        ipaddress.ip_address(b).is_unspecified and ipaddress.ip_address(a).is_unspecified)


def reader(enter: "object | None" = None) -> "Diag | ProcReader":
    """A sock_diag reader if it really works here, else a ``/proc/net/tcp`` reader.

    sock_diag is checked on a throw-away listening socket: a kernel without the inet_diag
    module answers every lookup with "no such socket", which would make every socket look
    CLOSED.  ``enter`` (a context-manager factory) selects another network namespace.
    """
    from contextlib import nullcontext
    ctx = enter if enter is not None else nullcontext
    with ctx():                               # type: ignore[operator]
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", 0))
            probe.listen(1)
            try:
                diag = Diag()                 # bound to this namespace for its whole life
            except DiagUnavailable:
                return ProcReader(enter)
            try:
                if diag.lookup(probe.getsockname(), ("0.0.0.0", 0)) is not None:
                    return diag
            except OSError:
                pass
            diag.close()
            return ProcReader(enter)
        finally:
            probe.close()
