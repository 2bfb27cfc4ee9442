"""Reading socket tables as text: ``/proc/net/tcp``, ``/proc/net/tcp6``, ``ss -tan``, ``netstat -tan``.

Pure parsing, no I/O: give it the text (a whole dump, header lines and all, or single lines)
and get one :class:`SocketRow` per socket, with its :class:`~tcplab.states.TcpState`.  The
format is recognised line by line, so a dump may mix them::

    >>> rows = parse_dump('''
    ... State  Recv-Q Send-Q Local Address:Port  Peer Address:Port
    ... LISTEN 0      128          0.0.0.0:8080       0.0.0.0:*
    ... ''')
    >>> rows[0].state, rows[0].local
    (TcpState.LISTEN, ('0.0.0.0', 8080))

``/proc/net/tcp`` lines are decoded by :func:`tcplab.live.kernel.parse_proc_line` (the live
lab's reader, so the two cannot disagree); the address words are read in this machine's byte
order, as the kernel that wrote them did (x86 and ARM Linux: little-endian).  Reading the
*live* table is the live lab's job (:func:`tcplab.live.kernel.proc_net_tcp`); the exercises
use this module on dumps printed in the assignment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .states import TcpState

__all__ = ["SocketRow", "parse_dump", "parse_line", "parse_proc_line", "parse_ss_line",
           "parse_netstat_line", "split_address"]

#: Linux's request-sock code (TCP_NEW_SYN_RECV): shown by ss as SYN-RECV.
_TCP_NEW_SYN_RECV = 12


@dataclass(frozen=True)
class SocketRow:
    """One socket of a dump: addresses, state, and what the format tells besides.

    Fields a format does not show are ``None`` (``ss -tan`` shows no inode, for instance).
    """

    local: tuple[str, int]
    remote: tuple[str, int]
    state: TcpState | None          # None only for a kernel code outside TcpState
    source: str                     # "/proc/net/tcp", "ss" or "netstat"
    code: int | None = None         # the kernel's state code (/proc/net/tcp "st" column)
    rx_queue: int | None = None
    tx_queue: int | None = None
    timer: int | None = None        # /proc/net/tcp "tr": 0 none, 1 retransmit, 3 TIME-WAIT ...
    expires: float | None = None    # seconds until that timer fires
    inode: int | None = None        # 0 = no file descriptor (an orphan or a mini-socket)
    kind: str | None = None         # "full", "request" or "timewait" (see tcplab.live.kernel)
    raw: str = field(default="", compare=False)

    @property
    def listening(self) -> bool:
        return self.state is TcpState.LISTEN

    def __str__(self) -> str:
        st = self.state.rfc if self.state else f"code {self.code}"
        return f"{self.local[0]}:{self.local[1]} -> {self.remote[0]}:{self.remote[1]} {st}"


# ---------------------------------------------------------------------------- addresses --

def split_address(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8080"``, ``"[::1]:22"``, ``"*:*"``, ``"127.0.0.53%lo:53"``, ``":::22"``
    -> ``(host, port)``; a ``*`` port is 0."""
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


# ---------------------------------------------------------------------------- one line --

_PROC_RE = re.compile(r"^\s*\d+:\s+[0-9A-Fa-f]{8,32}:[0-9A-Fa-f]{4}\s")


def parse_proc_line(line: str) -> SocketRow:
    """One data line of ``/proc/net/tcp`` or ``/proc/net/tcp6``."""
    from .live.kernel import parse_proc_line as _kernel_parse

    if not _PROC_RE.match(line):
        raise ValueError(f"not a /proc/net/tcp data line: {line.strip()!r} (expected "
                         "'  sl: LOCAL_HEX:PORT REMOTE_HEX:PORT ST ...')")
    try:
        ks = _kernel_parse(line)
    except (IndexError, ValueError) as exc:
        raise ValueError(f"cannot read /proc/net/tcp line {line.strip()!r}: {exc}") from None
    code = ks.code
    state = _linux_state(code)
    return SocketRow(ks.local, ks.remote, state, "/proc/net/tcp", code, ks.rx_queue,
                     ks.tx_queue, ks.timer, ks.expires, ks.inode, ks.kind, line.rstrip())


def _linux_state(code: int) -> TcpState | None:
    if code == _TCP_NEW_SYN_RECV:
        return TcpState.SYN_RECEIVED
    try:
        return TcpState.from_linux(code)
    except ValueError:
        return None


def _state_word(word: str, what: str) -> TcpState:
    try:
        return TcpState.parse(word)
    except ValueError:
        raise ValueError(f"{what}: {word!r} is not a TCP state name") from None


def parse_ss_line(line: str) -> SocketRow:
    """One line of ``ss -tan`` (also ``ss -an`` with a leading ``tcp`` Netid column)."""
    f = line.split()
    if f and f[0].lower() in ("tcp", "tcp6"):
        f = f[1:]
    if len(f) < 5:
        raise ValueError(f"not an ss line: {line.strip()!r} (expected 'STATE RECV-Q SEND-Q "
                         "LOCAL:PORT PEER:PORT')")
    state = _state_word(f[0], "ss line")
    if not (f[1].isdigit() and f[2].isdigit()):
        raise ValueError(f"ss line {line.strip()!r}: Recv-Q and Send-Q must be numbers")
    kind = {TcpState.TIME_WAIT: "timewait", TcpState.SYN_RECEIVED: "request"}.get(state, "full")
    return SocketRow(split_address(f[3]), split_address(f[4]), state, "ss", state.linux,
                     int(f[1]), int(f[2]), kind=kind, raw=line.rstrip())


def parse_netstat_line(line: str) -> SocketRow:
    """One line of ``netstat -tan`` (``tcp 0 0 LOCAL FOREIGN STATE``)."""
    f = line.split()
    if len(f) < 6 or not f[0].lower().startswith("tcp"):
        raise ValueError(f"not a netstat line: {line.strip()!r} (expected 'tcp RECV-Q SEND-Q "
                         "LOCAL FOREIGN STATE')")
    state = _state_word(f[5], "netstat line")
    return SocketRow(split_address(f[3]), split_address(f[4]), state, "netstat", state.linux,
                     int(f[1]), int(f[2]), raw=line.rstrip())


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
    first = line.split()[0].lower()
    if first.startswith("tcp") and len(line.split()) >= 6 and \
            line.split()[1].isdigit() and not line.split()[5].isdigit():
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
