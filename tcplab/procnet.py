"""Reading socket tables as text: ``/proc/net/tcp`` and ``tcp6``, ``ss -tan``, ``netstat -tan``.

``ss``'s extra columns are read too: ``-o``'s timer, ``-p``'s process and ``-e``'s inode.

The one parser and the one record for a row of the kernel's TCP table.  Pure parsing, no I/O:
give it the text (a whole dump, header lines and all, or single lines) and get one
:class:`SocketRow` per socket, with its :class:`~tcplab.states.TcpState`.  The format is
recognised line by line, so a dump may mix them::

    >>> rows = parse_dump('''
    ... State  Recv-Q Send-Q Local Address:Port  Peer Address:Port
    ... LISTEN 0      128          0.0.0.0:8080       0.0.0.0:*
    ... ''')
    >>> rows[0].state, rows[0].local
    (TcpState.LISTEN, ('0.0.0.0', 8080))

A ``/proc/net/tcp`` line tells more: the timer, and which kind of kernel object the row is::

    >>> row = parse_line("   1: 0100007F:A854 0100007F:1F90 06 00000000:00000000 "
    ...                  "03:000016A8 00000000     0        0 0 3 0000000000000000")
    >>> row.what()
    'TIME-WAIT (mini-socket, TIME-WAIT timer: 58.0 s left)'

Three kinds of kernel object show up, and a learner should know which one they see:

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

Hand-written on purpose: psutil and friends show neither the timer column nor the kind of
mini-socket, and those are what the lessons teach.  The formats are the kernel's
(``net/ipv4/tcp_ipv4.c``: ``get_tcp4_sock``, ``get_openreq4``, ``get_timewait4_sock``; proc(5))
and iproute2's / net-tools'.  Reading the *live* table is the live lab's job
(:func:`tcplab.live.kernel.proc_net_tcp`, and its ``sock_diag`` reader, which builds the same
record); the exercises use this module on dumps printed in the assignment.
"""

from __future__ import annotations

import ipaddress
import os
import re
import struct
from dataclasses import dataclass, field

from .states import TcpState

__all__ = ["SocketRow", "parse_dump", "parse_line", "parse_proc_line", "parse_ss_line",
           "parse_netstat_line", "ss_duration", "SS_TIMERS", "split_address", "linux_state", "explain_proc_line",
           "PROC_HEADER", "TIMER_NAMES", "USER_HZ", "TCP_NEW_SYN_RECV"]

#: ``/proc/net/tcp`` reports ``tm->when`` in clock ticks of USER_HZ (100 on Linux).
USER_HZ: int = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

#: The ``tr`` column of ``/proc/net/tcp`` (``idiag_timer`` in sock_diag).
TIMER_NAMES = {0: "no timer", 1: "retransmission", 2: "keepalive", 3: "TIME-WAIT",
               4: "zero-window probe"}

#: Linux's request-sock code (``TCP_NEW_SYN_RECV``, include/net/tcp_states.h): ss shows
#: it as SYN-RECV.
TCP_NEW_SYN_RECV = 12

#: The header line of ``/proc/net/tcp``.
PROC_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
               "   uid  timeout inode")

#: States a socket can only be in after its application called close() or shutdown().
_CLOSED_BY_APP = (TcpState.FIN_WAIT_1, TcpState.FIN_WAIT_2, TcpState.CLOSING,
                  TcpState.LAST_ACK, TcpState.TIME_WAIT)


def linux_state(code: int) -> TcpState | None:
    """The RFC state of a kernel state code (a request sock counts as SYN-RECEIVED);
    ``None`` for a code outside :class:`~tcplab.states.TcpState`.

    >>> linux_state(6), linux_state(12), linux_state(99)
    (TcpState.TIME_WAIT, TcpState.SYN_RECEIVED, None)
    """
    return _BY_LINUX_CODE.get(code)


#: The highest kernel state code (``TCP_BOUND_INACTIVE``, Linux 6.6+: a socket bound but
#: not listening or connected; ``ss`` shows it only when asked for ``state bound-inactive``).
TCP_BOUND_INACTIVE = 13

#: Kernel code -> state, once (the live lab's sampler reads thousands of rows a second).
_BY_LINUX_CODE = {**{s.linux: s for s in TcpState}, TCP_NEW_SYN_RECV: TcpState.SYN_RECEIVED}


@dataclass(frozen=True)
class SocketRow:
    """One socket of the kernel's TCP table: addresses, state, and what the source tells besides.

    ``local`` and ``remote`` are ``(host, port)``; ``expires`` is in seconds.  Fields a
    source does not show are ``None`` (``ss -tan`` shows no inode, for instance).  ``source``
    is ``"/proc/net/tcp"``, ``"sock_diag"``, ``"ss"`` or ``"netstat"``.
    """

    local: tuple[str, int]
    remote: tuple[str, int]
    state: TcpState | None          # None only for a kernel code outside TcpState
    source: str
    code: int | None = None         # the kernel's state code (/proc/net/tcp "st" column)
    rx_queue: int | None = None
    tx_queue: int | None = None
    timer: int | None = None        # "tr": 0 none, 1 retransmit, 2 keepalive, 3 TIME-WAIT, 4 probe
    expires: float | None = None    # seconds until that timer fires
    inode: int | None = None        # 0 = no file descriptor (an orphan or a mini-socket)
    kind: str | None = None         # "full", "request" or "timewait" (see the module doc)
    retransmits: int | None = None
    uid: int | None = None
    raw: str = field(default="", compare=False)
    process: str | None = None      # ss -p: the users:((...)) column, e.g. '"nginx",pid=7,fd=6'

    @property
    def listening(self) -> bool:
        """Is this a listening socket (LISTEN)?"""
        return self.state is TcpState.LISTEN

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
        """The running timer in words (``"TIME-WAIT"``, ``"retransmission"``)."""
        return TIMER_NAMES.get(self.timer or 0, f"timer {self.timer}")

    def what(self) -> str:
        """``"TIME-WAIT (mini-socket, TIME-WAIT timer: 59.2 s left)"`` -- state, kind of
        object and timer."""
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
        if self.timer and self.expires is not None:
            bits.append(f"{timer} timer: {self.expires:.1f} s left")
        return state + (f" ({', '.join(bits)})" if bits else "")

    def __str__(self) -> str:
        return (f"{self.local[0]}:{self.local[1]} -> {self.remote[0]}:{self.remote[1]} "
                f"{self.what()}")


# ---------------------------------------------------------------------------- addresses --

def split_address(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8080"``, ``"[::1]:22"``, ``"*:*"``, ``"127.0.0.53%lo:53"``, ``":::22"``
    -> ``(host, port)``; a ``*`` port is 0.

    >>> split_address("[::ffff:10.0.0.5]:22"), split_address("*:*")
    (('10.0.0.5', 22), ('*', 0))
    """
    text = text.strip()
    if ":" not in text:
        raise ValueError(f"{text!r} is not ADDRESS:PORT")
    host, port = text.rsplit(":", 1)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.split("%", 1)[0] or "::"
    if host.startswith("::ffff:") and "." in host:
        host = host[len("::ffff:"):]
    if port == "*":
        return host, 0
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r}: the port must be a number 0..65535 or *")
    return host, int(port)


def _proc_address(text: str) -> tuple[str, int]:
    """``0100007F:1F90`` -> ``("127.0.0.1", 8080)``: the kernel prints the address as the
    32-bit words of network-order bytes, read in its own byte order (x86 and ARM Linux:
    little-endian, as this machine's)."""
    addr, port = text.split(":")
    raw = bytes.fromhex(addr)
    if len(raw) not in (4, 16):
        raise ValueError(f"{text!r}: an address is 8 or 32 hex digits")
    words = [raw[i:i + 4] for i in range(0, len(raw), 4)]
    native = b"".join(struct.pack("=I", int.from_bytes(w, "big")) for w in words)
    ip = ipaddress.ip_address(native)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


# ---------------------------------------------------------------------------- one line --

_PROC_RE = re.compile(r"^\s*\d+:\s+[0-9A-Fa-f]{8,32}:[0-9A-Fa-f]{4}\s")


def parse_proc_line(line: str) -> SocketRow:
    """One data line of ``/proc/net/tcp`` or ``/proc/net/tcp6``; ``ValueError`` if it is not one.

    Full sockets print 17 or more columns; request socks and TIME-WAIT mini-sockets print 12
    (``get_openreq4()``, ``get_timewait4_sock()``), which is how ``kind`` is told.
    """
    if not _PROC_RE.match(line):
        raise ValueError(f"not a /proc/net/tcp data line: {line.strip()!r} (expected "
                         "'  sl: LOCAL_HEX:PORT REMOTE_HEX:PORT ST ...')")
    f = line.split()
    try:
        tx, rx = (int(x, 16) for x in f[4].split(":"))
        tr, when = (int(x, 16) for x in f[5].split(":"))
        code = int(f[3], 16)
        local, remote = _proc_address(f[1]), _proc_address(f[2])
        retransmits, uid, inode = int(f[6], 16), int(f[7]), int(f[9])
    except (IndexError, ValueError) as exc:
        raise ValueError(f"cannot read /proc/net/tcp line {line.strip()!r}: {exc}") from None
    if not 1 <= code <= TCP_BOUND_INACTIVE:
        raise ValueError(f"/proc/net/tcp line {line.strip()!r}: state code {f[3]} is no "
                         f"kernel TCP state (include/net/tcp_states.h: 01 ESTABLISHED .. "
                         f"0B CLOSING, 0C NEW_SYN_RECV, 0D BOUND_INACTIVE)")
    if len(f) >= 17:
        kind = "full"
    else:
        kind = "request" if code in (TcpState.SYN_RECEIVED.linux, TCP_NEW_SYN_RECV) \
            else "timewait"
    return SocketRow(local, remote, linux_state(code), "/proc/net/tcp", code=code,
                     rx_queue=rx, tx_queue=tx, timer=tr, expires=when / USER_HZ if tr else 0.0,
                     inode=inode, kind=kind, retransmits=retransmits, uid=uid,
                     raw=line.rstrip())


def _state_word(word: str, what: str) -> TcpState:
    state = _STATE_WORDS.get(word)
    if state is None:
        try:
            state = TcpState.parse(word)
        except ValueError:
            raise ValueError(f"{what}: {word!r} is not a TCP state name") from None
        if len(_STATE_WORDS) < 256:
            _STATE_WORDS[word] = state
    return state


#: State words already read (a table repeats a dozen words thousands of times).
_STATE_WORDS: dict[str, TcpState] = {}


#: ss's names for the timer (``tmr_name[]`` in iproute2's misc/ss.c) -> the ``tr`` code.
SS_TIMERS = {"off": 0, "on": 1, "keepalive": 2, "timewait": 3, "persist": 4}

_SS_TIMER_RE = re.compile(r"\btimer:\((\w+),([0-9a-z.]*),(\d+)\)")
_SS_TIME_RE = re.compile(r"^(?:(\d+)min)?(?:(\d+)(sec|\.))?(?:(\d+)ms)?$")
_SS_USERS_RE = re.compile(r"\busers:\(\((.*?)\)\)(?=\s|$)")
_SS_INO_RE = re.compile(r"\bino:(\d+)\b")
_SS_UID_RE = re.compile(r"\buid:(\d+)\b")


def ss_duration(text: str) -> float:
    """Seconds in a time as ``ss -o`` prints it (``print_ms_timer()`` in iproute2's
    misc/ss.c): ``"59sec"``, ``"1min59sec"``, ``"200ms"``, ``"1.500ms"`` (1.5 s: ss writes
    seconds, a dot, then milliseconds), ``""`` (0).

    >>> ss_duration("1min59sec"), ss_duration("1.500ms"), ss_duration("332ms")
    (119.0, 1.5, 0.332)
    """
    m = _SS_TIME_RE.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not a time as ss -o prints it (e.g. 59sec, 1min2sec, "
                         "200ms, 1.500ms)")
    minutes, secs, _, ms = m.groups()
    return int(minutes or 0) * 60 + int(secs or 0) + int(ms or 0) / 1000


def parse_ss_line(line: str) -> SocketRow:
    """One line of ``ss -tan`` (also ``ss -an`` with a leading ``tcp`` Netid column).

    The columns ``ss`` adds after the peer address are read too: ``-o``'s
    ``timer:(NAME,TIME,RETRANSMITS)`` (``timer``, ``expires``, ``retransmits``), ``-p``'s
    ``users:((...))`` (``process``) and ``-e``'s ``uid:`` and ``ino:`` (``inode``).  A
    FIN-WAIT-2 row with a ``timewait`` timer is an orphan turned into a TIME-WAIT
    mini-socket (``kind == "timewait"``).

    >>> row = parse_ss_line("TIME-WAIT 0 0 127.0.0.1:46952 127.0.0.1:8081 "
    ...                     "timer:(timewait,58sec,0)")
    >>> row.state, row.timer_name, row.expires, row.kind
    (TcpState.TIME_WAIT, 'TIME-WAIT', 58.0, 'timewait')
    """
    f = line.split()
    if f and f[0].lower() in ("tcp", "tcp6"):
        f = f[1:]
    if len(f) < 5:
        raise ValueError(f"not an ss line: {line.strip()!r} (expected 'STATE RECV-Q SEND-Q "
                         "LOCAL:PORT PEER:PORT')")
    state = _state_word(f[0], "ss line")
    if not (f[1].isdigit() and f[2].isdigit()):
        raise ValueError(f"ss line {line.strip()!r}: Recv-Q and Send-Q must be numbers")
    rest = " ".join(f[5:])
    timer = expires = retransmits = None
    m = _SS_TIMER_RE.search(rest) if rest else None
    if m:
        if m.group(1) not in SS_TIMERS:
            raise ValueError(f"ss line {line.strip()!r}: unknown timer {m.group(1)!r} (ss -o "
                             f"names {', '.join(SS_TIMERS)})")
        timer, expires, retransmits = (SS_TIMERS[m.group(1)], ss_duration(m.group(2)),
                                       int(m.group(3)))
    users = _SS_USERS_RE.search(rest) if rest else None
    ino, uid = (_SS_INO_RE.search(rest), _SS_UID_RE.search(rest)) if rest else (None, None)
    kind = {TcpState.TIME_WAIT: "timewait", TcpState.SYN_RECEIVED: "request"}.get(state, "full")
    if state is TcpState.FIN_WAIT_2 and timer == SS_TIMERS["timewait"]:
        kind = "timewait"
    return SocketRow(split_address(f[3]), split_address(f[4]), state, "ss", code=state.linux,
                     rx_queue=int(f[1]), tx_queue=int(f[2]), timer=timer, expires=expires,
                     inode=int(ino.group(1)) if ino else None, kind=kind,
                     retransmits=retransmits, uid=int(uid.group(1)) if uid else None,
                     raw=line.rstrip(), process=users.group(1) if users else None)


def parse_netstat_line(line: str) -> SocketRow:
    """One line of ``netstat -tan`` (``tcp 0 0 LOCAL FOREIGN STATE``)."""
    f = line.split()
    if len(f) < 6 or not f[0].lower().startswith("tcp"):
        raise ValueError(f"not a netstat line: {line.strip()!r} (expected 'tcp RECV-Q SEND-Q "
                         "LOCAL FOREIGN STATE')")
    state = _state_word(f[5], "netstat line")
    if not (f[1].isdigit() and f[2].isdigit()):
        raise ValueError(f"netstat line {line.strip()!r}: Recv-Q and Send-Q must be numbers")
    return SocketRow(split_address(f[3]), split_address(f[4]), state, "netstat",
                     code=state.linux, rx_queue=int(f[1]), tx_queue=int(f[2]),
                     raw=line.rstrip())


def _is_header(line: str) -> bool:
    words = line.split()
    return bool(words) and words[0] in ("sl", "State", "Netid", "Proto", "Active")


def parse_line(line: str) -> SocketRow | None:
    """One line of any supported format; ``None`` for a header or a blank line."""
    if not isinstance(line, str):
        raise TypeError(f"parse_line() takes a line of text, not {type(line).__name__}")
    if not line.strip() or _is_header(line):
        return None
    if _PROC_RE.match(line):
        return parse_proc_line(line)
    words = line.split()
    if words[0].lower().startswith("tcp") and len(words) >= 6 and words[1].isdigit() \
            and not words[5].isdigit():
        return parse_netstat_line(line)
    return parse_ss_line(line)


def parse_dump(text: str) -> list[SocketRow]:
    """Every socket in a dump of ``/proc/net/tcp{,6}``, ``ss -tan`` or ``netstat -tan``.

    A line that cannot be read raises ``ValueError`` naming the line number and the line.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_dump() takes the dump as text (str), not {type(text).__name__}")
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            row = parse_line(line)
        except ValueError as exc:
            raise ValueError(f"line {n}: {exc}") from None
        if row is not None:
            rows.append(row)
    return rows


# ---------------------------------------------------------------------------- explained --

def explain_proc_line(line: "str | SocketRow") -> str:
    """Explain a ``/proc/net/tcp`` line column by column, for a learner (proc(5)).

    ``line`` is the text of one data line, or a row (a ``sock_diag`` row has no text: only
    its kind is explained).
    """
    if isinstance(line, str):
        row = parse_proc_line(line)
    elif isinstance(line, SocketRow):
        row = line
    else:
        raise TypeError(f"explain_proc_line() takes a /proc/net/tcp line or a SocketRow, "
                        f"not {type(line).__name__}")
    f = row.raw.split() if row.raw and _PROC_RE.match(row.raw) else []
    st = row.state
    rows = [row.raw or f"(from {row.source})"]
    if f:
        rows.append(f"  local_address {f[1]:<21} = {row.local[0]}:{row.local[1]} "
                    "(address words and port in hex)")
        rows.append(f"  rem_address   {f[2]:<21} = {row.remote[0]}:{row.remote[1]}")
        rows.append(f"  st            {f[3]:<21} = {row.code} = {st.linux_macro if st else '?'}"
                    f" = {st.rfc if st else '?'}")
        rows.append(f"  tr:tm->when   {f[5]:<21} = {row.timer_name}"
                    + (f", fires in {row.expires:.2f} s ({int(f[5].split(':')[1], 16)} ticks of "
                       f"1/{USER_HZ} s)" if row.timer else ""))
        rows.append(f"  inode         {f[9] if len(f) > 9 else '':<21} = "
                    + ("0: no file descriptor refers to it" if row.inode == 0 else
                       "the socket's inode (ls -l /proc/PID/fd shows socket:[inode])"))
    if row.kind is not None:
        rows.append(f"  kind: {row.kind} -- " + {
            "full": "a full socket" + (" (an orphan: the application closed it)" if row.orphan
                                       else ""),
            "request": "a request sock: the listener's half-open connection; it turns into a "
                       "full socket when the handshake's ACK arrives",
            "timewait": "a TIME-WAIT mini-socket: the full socket is gone; only the "
                        "four-tuple, sequence numbers and a timer remain"}[row.kind])
    return "\n".join(rows)
