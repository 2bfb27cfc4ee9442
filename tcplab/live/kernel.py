"""Reading the kernel's TCP table: which state is *this* socket in, right now?

Two ways, the same answer, the same record (:class:`tcplab.procnet.SocketRow`, also
known here as :data:`SocketRow`):

* ``/proc/net/tcp`` and ``/proc/net/tcp6`` -- one text line per socket; the ``st`` column
  is the state as a hexadecimal kernel code (``01`` = ESTABLISHED ... ``0A`` = LISTEN), and
  ``tr:tm->when`` is the running timer and the clock ticks (1/100 s) until it fires.
  :func:`proc_net_tcp` reads the file of this thread's network namespace and parses it with
  :func:`tcplab.procnet.parse_proc_line` (the one parser; :func:`explain_proc_line` explains
  one line column by column).
* a ``sock_diag`` netlink request, as ``ss`` makes -- :class:`Diag`.  It can look up *one*
  connection by its four-tuple (local address and port, remote address and port) in a few
  microseconds, which is what the live lab uses to sample states every fraction of a
  millisecond.  The expiry time comes in milliseconds.  Hand-written on purpose (over the
  framing of :mod:`tcplab.live.netlink`): the sampler needs exact four-tuple lookups, which
  psutil does not offer, and the reader must be the same in every namespace.

Both show three kinds of kernel object -- full sockets, request socks and TIME-WAIT
mini-sockets; :mod:`tcplab.procnet` explains them.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import os
import socket
import struct
from contextlib import nullcontext
from typing import Callable, ContextManager

from ..procnet import (PROC_HEADER, TCP_NEW_SYN_RECV, TIMER_NAMES, USER_HZ, SocketRow,
                       explain_proc_line, linux_state, parse_proc_line)
from ..states import TcpState
from . import netlink
from .arguments import ports as check_ports

__all__ = ["KernelSocket", "Diag", "DiagUnavailable", "ProcReader", "reader", "proc_net_tcp",
           "explain_proc_line", "parse_proc_line", "PROC_HEADER",
           "TIMER_NAMES", "USER_HZ", "errno_name", "MODEL_ERRORS"]

#: A row of the kernel's table: the one record, :class:`tcplab.procnet.SocketRow`.
KernelSocket = SocketRow

#: What the model's ``Step.error`` strings are called by the socket API.
MODEL_ERRORS = {"connection refused": "ECONNREFUSED", "connection reset": "ECONNRESET",
                "connection timed out": "ETIMEDOUT"}


def errno_name(code: int | None) -> str:
    """``ECONNRESET`` for 104 (``""`` for 0/None)."""
    if not code:
        return ""
    return errno.errorcode.get(code, f"errno {code}")


# ---------------------------------------------------------------------- /proc/net/tcp

def proc_net_tcp(ports: "set[int] | None" = None, *, proc: str = "/proc/thread-self/net"
                 ) -> list[SocketRow]:
    """Every TCP socket in ``/proc/net/tcp`` and ``tcp6`` of this thread's network namespace
    (or only those with a local or remote port in ``ports``, a set of ints), parsed by
    :func:`tcplab.procnet.parse_proc_line`."""
    ports = check_ports(ports)
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


# ---------------------------------------------------------------------- sock_diag

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
INET_DIAG_NOCOOKIE = 0xFFFFFFFF
#: struct inet_diag_req_v2 and struct inet_diag_msg (include/uapi/linux/inet_diag.h).
_REQ = struct.Struct("=BBBxI")           # family, protocol, ext, pad, states
_SOCKID = struct.Struct("!HH16s16s")      # sport, dport, src, dst (network order)
_SOCKID_TAIL = struct.Struct("=III")     # interface, cookie[2]
_MSG = struct.Struct("=BBBB")            # family, state, timer, retrans
_MSG_TAIL = struct.Struct("=IIIII")      # expires, rqueue, wqueue, uid, inode


_TIME_WAIT = TcpState.TIME_WAIT.linux
_SYN_RECV = (TcpState.SYN_RECEIVED.linux, TCP_NEW_SYN_RECV)


@functools.lru_cache(maxsize=256)
def _ip_text(packed: bytes) -> str:
    """``b"\\x7f\\0\\0\\1"`` -> ``"127.0.0.1"`` (cached: a run sees a handful of addresses)."""
    return str(ipaddress.ip_address(packed))


class DiagUnavailable(OSError):
    """sock_diag netlink is not available here (not Linux, or filtered by a sandbox)."""


class Diag:
    """A ``sock_diag`` netlink socket (NETLINK_SOCK_DIAG, sock_diag(7)) bound to a network
    namespace.

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
    @functools.lru_cache(maxsize=256)
    def _addr(ip: str) -> tuple[int, bytes]:
        a = ipaddress.ip_address(ip)
        return (socket.AF_INET if a.version == 4 else socket.AF_INET6), a.packed.ljust(16, b"\0")

    def _request(self, family: int, states: int, sport: int, dport: int, src: bytes,
                 dst: bytes, flags: int) -> list[bytes]:
        self._seq += 1
        body = (_REQ.pack(family, socket.IPPROTO_TCP, 0, states)
                + _SOCKID.pack(sport, dport, src, dst)
                + _SOCKID_TAIL.pack(0, INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE))
        self.sock.send(netlink.message(SOCK_DIAG_BY_FAMILY, flags, self._seq, body))
        found = []
        while True:
            for msg in netlink.messages(self.sock.recv(65536)):
                if msg.seq != self._seq:
                    continue
                if msg.type == netlink.NLMSG_ERROR:
                    err = netlink.error_code(msg.payload)
                    if err in (0, errno.ENOENT):
                        return found
                    raise OSError(err, f"sock_diag: {os.strerror(err)}")
                if msg.type == netlink.NLMSG_DONE:
                    return found
                if msg.type == SOCK_DIAG_BY_FAMILY:
                    found.append(msg.payload)
                    if not flags & netlink.DUMP:
                        return found

    @staticmethod
    def _parse(payload: bytes) -> SocketRow:
        family, state, timer, retrans = _MSG.unpack_from(payload)
        sport, dport, src, dst = _SOCKID.unpack_from(payload, _MSG.size)
        off = _MSG.size + _SOCKID.size + _SOCKID_TAIL.size
        expires, rq, wq, uid, inode = _MSG_TAIL.unpack_from(payload, off)
        n = 4 if family == socket.AF_INET else 16
        if timer == 3 or state == _TIME_WAIT:
            kind = "timewait"
        elif state in _SYN_RECV and inode == 0:
            kind = "request"
        else:
            kind = "full"
        return SocketRow((_ip_text(src[:n]), sport), (_ip_text(dst[:n]), dport),
                         linux_state(state), "sock_diag",
                         code=state, rx_queue=rq, tx_queue=wq, timer=timer,
                         expires=expires / 1000 if timer else 0.0, inode=inode, kind=kind,
                         retransmits=retrans, uid=uid)

    def lookup(self, local: tuple[str, int], remote: tuple[str, int]) -> SocketRow | None:
        """The socket with exactly this four-tuple, or ``None``.  ``remote=("0.0.0.0", 0)``
        finds a listener.  (An exact lookup: a hash-table probe, not a dump.)"""
        family, src = self._addr(local[0])
        _, dst = self._addr(remote[0])
        msgs = self._request(family, 0xFFFFFFFF, local[1], remote[1], src, dst,
                             netlink.REQUEST)
        for m in msgs:
            ks = self._parse(m)
            # A lookup falls back to the listener on the local port: only an exact match counts.
            if ks.local[1] == local[1] and ks.remote[1] == remote[1] and (
                    remote[1] != 0 or ks.code == TcpState.LISTEN.linux):
                return ks
        return None

    def lookup_many(self, pairs: "list[tuple[tuple[str, int], tuple[str, int]]]"
                    ) -> list[SocketRow | None]:
        """One lookup per ``(local, remote)`` pair, in order."""
        return [self.lookup(local, remote) for local, remote in pairs]

    def dump(self, ports: "set[int] | None" = None, family: int = socket.AF_INET
             ) -> list[SocketRow]:
        """Every TCP socket of one address family (as ``ss -tan`` lists them)."""
        zero = b"\0" * 16
        out = [self._parse(m) for m in self._request(family, 0xFFFFFFFF, 0, 0, zero, zero,
                                                      netlink.REQUEST | netlink.DUMP)]
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

    def __init__(self, enter: "Callable[[], ContextManager[object]] | None" = None) -> None:
        self.enter = enter if enter is not None else nullcontext

    def _rows(self, ports: "set[int] | None") -> list[SocketRow]:
        with self.enter():
            return proc_net_tcp(ports)

    def lookup(self, local: tuple[str, int], remote: tuple[str, int]) -> SocketRow | None:
        return self.lookup_many([(local, remote)])[0]

    def lookup_many(self, pairs: "list[tuple[tuple[str, int], tuple[str, int]]]"
                    ) -> list[SocketRow | None]:
        """Several lookups from one reading of the table."""
        rows = self._rows({local[1] for local, _ in pairs})
        out: list[SocketRow | None] = []
        for local, remote in pairs:
            out.append(next((ks for ks in rows if ks.local[1] == local[1] and
                             ks.remote[1] == remote[1] and _same_ip(ks.local[0], local[0])
                             and _same_ip(ks.remote[0], remote[0])), None))
        return out

    def dump(self, ports: "set[int] | None" = None, family: int = socket.AF_INET
             ) -> list[SocketRow]:
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


def reader(enter: "Callable[[], ContextManager[object]] | None" = None) -> "Diag | ProcReader":
    """A sock_diag reader if it really works here, else a ``/proc/net/tcp`` reader.

    sock_diag is checked on a throw-away listening socket: a kernel without the inet_diag
    module answers every lookup with "no such socket", which would make every socket look
    CLOSED.  ``enter`` (a context-manager factory) selects another network namespace.
    """
    with (enter or nullcontext)():
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
