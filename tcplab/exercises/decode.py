"""Exercise kind 2, *decode a socket table*: each line's state, and what it waits for.

A :class:`Dump` is a socket table as a tool printed it (``/proc/net/tcp`` or ``ss -tan``)
with the story of how it came about.  The truth is read by the one parser of such tables,
:func:`tcplab.procnet.parse_dump`, never written by hand; :data:`WAITING_FOR` names what a
socket in each state waits for (RFC 9293 §3.3.2's state descriptions).

>>> [s.rfc for s in DUMPS["after-load-test"].expected()][:3]
['LISTEN', 'ESTABLISHED', 'CLOSE-WAIT']
>>> waits_for("CLOSE-WAIT")
'local-close'
>>> fb = check_dump("after-load-test", ["LISTEN"] * 8)
>>> print(fb.message)                    # doctest: +NORMALIZE_WHITESPACE
the list `states` has 8 entries, but there are 9 socket lines: give exactly one entry per
socket line, e.g. ['LISTEN', 'ESTABLISHED', ...]
"""

from __future__ import annotations

from dataclasses import dataclass

from ..procnet import SocketRow, parse_dump
from ..states import TcpState
from .answers import AnswerError, describe_value, read_list, read_state
from .feedback import Feedback, malformed

__all__ = ["WAITING_FOR", "waits_for", "Dump", "DUMPS", "check_dump", "STATES_EXAMPLE"]

S = TcpState

#: What a socket in each state waits for: the keys a learner answers with.
WAITING_FOR: dict[str, str] = {
    "syn": "a SYN from any client (a connection request)",
    "syn-ack": "the peer's SYN and the ACK of its own SYN",
    "ack-of-syn": "the ACK of its own SYN (the handshake's last segment)",
    "nothing": "nothing in particular: the connection is open and data may flow both ways",
    "ack-of-fin": "the ACK of its own FIN",
    "peer-fin": "the peer's FIN: the peer's application has not closed yet",
    "local-close": "its own application to call close()",
    "timer": "only its 2*MSL timer: nobody has to do anything",
}

_WAITS: dict[TcpState, str] = {
    S.CLOSED: "nothing", S.LISTEN: "syn", S.SYN_SENT: "syn-ack", S.SYN_RECEIVED: "ack-of-syn",
    S.ESTABLISHED: "nothing", S.FIN_WAIT_1: "ack-of-fin", S.FIN_WAIT_2: "peer-fin",
    S.CLOSE_WAIT: "local-close", S.CLOSING: "ack-of-fin", S.LAST_ACK: "ack-of-fin",
    S.TIME_WAIT: "timer",
}


def waits_for(state: "TcpState | str") -> str:
    """The :data:`WAITING_FOR` key of what a socket in ``state`` waits for."""
    return _WAITS[read_state(state)]


def _read_waiting(value: object, i: int) -> str:
    keys = ", ".join(repr(k) for k in WAITING_FOR)
    if not isinstance(value, str) or not value.strip():
        raise AnswerError(f"waiting_for entry {i} is {describe_value(value)}; write one of "
                          f"the keys {keys}")
    key = "-".join(value.strip().lower().replace("_", " ").replace("-", " ").split())
    if key not in WAITING_FOR:
        raise AnswerError(f"waiting_for entry {i}: {value!r} is not one of the keys {keys}")
    return key


@dataclass(frozen=True)
class Dump:
    """A socket table as a tool printed it, with the story of how it came about."""

    name: str
    title: str
    text: str
    story: str = ""

    def rows(self) -> list[SocketRow]:
        return parse_dump(self.text)

    def expected(self) -> list[TcpState]:
        return [r.state for r in self.rows()]  # type: ignore[misc]

    def prompt(self) -> str:
        return f"{self.story}\n\n```\n{self.text.strip(chr(10))}\n```"


def _proc(sl: int, local: str, remote: str, st: str, tr: str = "00:00000000", inode: int = 0,
          uid: int = 1000, mini: bool = False) -> str:
    if mini:
        return (f"{sl:4d}: {local} {remote} {st} 00000000:00000000 {tr} 00000000 {uid:5d} "
                f"       0 0 {3 if st == '06' else 1} 0000000000000000")
    return (f"{sl:4d}: {local} {remote} {st} 00000000:00000000 {tr} 00000000 {uid:5d} "
            f"       0 {inode} 1 0000000000000000 20 4 30 10 -1")


_PROC_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
                "   uid  timeout inode")
_LO = "0100007F"

DUMPS: dict[str, Dump] = {d.name: d for d in (
    Dump("web-server", "A web server on port 8080, seen in /proc/net/tcp",
         "\n".join([
             _PROC_HEADER,
             _proc(0, "00000000:1F90", "00000000:0000", "0A", inode=40211),
             _proc(1, f"{_LO}:1F90", f"{_LO}:C350", "01", inode=40377),
             _proc(2, f"{_LO}:C350", f"{_LO}:1F90", "01", inode=40376),
             _proc(3, f"{_LO}:1F90", f"{_LO}:C351", "08", inode=40391),
             _proc(4, f"{_LO}:C351", f"{_LO}:1F90", "05", "00:00000000"),
             _proc(5, f"{_LO}:C352", f"{_LO}:1F90", "06", "03:00001283", mini=True),
             _proc(6, f"{_LO}:1F90", f"{_LO}:C353", "09", "01:0000002A"),
             _proc(7, f"{_LO}:C354", f"{_LO}:1F91", "02", "01:00000064", inode=40455),
             _proc(8, f"{_LO}:1F90", f"{_LO}:C355", "03", "01:00000032", mini=True),
         ]),
         "A test machine runs a web server on port 8080 and a few clients on the same host "
         "(127.0.0.1). One client also tries port 8081, where nothing answers. This is "
         "`cat /proc/net/tcp` (the `st` column is the state in hexadecimal)."),
    Dump("after-load-test", "A server after a load test, seen with ss -tan",
         """State      Recv-Q Send-Q    Local Address:Port     Peer Address:Port
LISTEN     0      4096            0.0.0.0:443           0.0.0.0:*
ESTAB      0      0             10.0.0.5:443          10.0.0.9:51234
CLOSE-WAIT 1      0             10.0.0.5:443          10.0.0.9:51240
CLOSE-WAIT 1      0             10.0.0.5:443          10.0.0.9:51242
LAST-ACK   1      1             10.0.0.5:443          10.0.0.9:51250
FIN-WAIT-1 0      1             10.0.0.5:443         10.0.0.12:40002
TIME-WAIT  0      0             10.0.0.5:443         10.0.0.12:40000
SYN-RECV   0      0             10.0.0.5:443         10.0.0.13:61000
CLOSING    0      1             10.0.0.5:443         10.0.0.14:33000
""",
         "A web server (10.0.0.5, port 443) has just run a load test. The operator prints "
         "its sockets with `ss -tan`."),
)}

#: An example of a decode answer, for messages and prompts.
STATES_EXAMPLE = "['LISTEN', 'ESTABLISHED', ...]"


def check_dump(dump: "str | Dump", states: object, waiting_for: object = None, *,
               reveal: bool = False, exercise_id: str | None = None) -> Feedback:
    """Check a decoding of a socket table: the state of each socket line, in order, and
    optionally what each one waits for (keys of :data:`WAITING_FOR`).

    ``states`` may also be a list of pairs ``(state, waiting_for)``.
    """
    d = DUMPS[dump] if isinstance(dump, str) else dump
    ex_id = exercise_id or f"decode/{d.name}"
    truth = d.expected()
    n = len(truth)
    try:
        items = read_list(states, "the list `states`", n, STATES_EXAMPLE, "socket line")
        if waiting_for is None and all(isinstance(it, (tuple, list)) and len(it) == 2
                                       for it in items):
            waiting_for = [it[1] for it in items]  # type: ignore[index]
            items = [it[0] for it in items]  # type: ignore[index]
        guess = [read_state(v, f"state {i}") for i, v in enumerate(items, 1)]
        waits = None
        if waiting_for is not None:
            w_items = read_list(waiting_for, "the list `waiting_for`", n,
                                "['syn', 'nothing', ...]", "socket line")
            waits = [_read_waiting(v, i) for i, v in enumerate(w_items, 1)]
    except AnswerError as exc:
        return malformed(ex_id, str(exc))
    rows, marks, right = [], [], 0
    total = n * (2 if waits is not None else 1)
    for i, (row, want, got) in enumerate(zip(d.rows(), truth, guess), 1):
        ok = got is want
        right += ok
        cells = [str(i), row.raw.split()[0],
                 f"{row.local[0]}:{row.local[1]}", f"{row.remote[0]}:{row.remote[1]}", got.rfc]
        if reveal:
            cells.append(want.rfc)
        if waits is not None:
            w_ok = waits[i - 1] == _WAITS[want]
            right += w_ok
            ok = ok and w_ok
            cells.append(waits[i - 1])
            if reveal:
                cells.append(_WAITS[want])
        rows.append(tuple(cells))
        marks.append(ok)
    cols = ["#", "sl" if d.rows()[0].source == "/proc/net/tcp" else "as printed", "local",
            "remote", "state (you)"]
    if reveal:
        cols.append("state")
    if waits is not None:
        cols.append("waits for (you)")
        if reveal:
            cols.append("waits for")
    score = right / total
    wrong = [r[0] for r, m in zip(rows, marks) if not m]
    if not wrong:
        msg = ("the socket is decoded right." if n == 1 else f"all {n} sockets decoded right.")
    else:
        msg = (f"{right} of {total} answers right; look again at "
               f"{'line' if len(wrong) == 1 else 'lines'} {', '.join(wrong)}.")
        if d.rows()[0].source == "/proc/net/tcp" and any(g is not w for g, w in
                                                          zip(guess, truth)):
            msg += (" Hint: `st` is the kernel's state code in hexadecimal "
                    "(include/net/tcp_states.h: 01 ESTABLISHED, 02 SYN_SENT, ... 0A LISTEN, "
                    "0B CLOSING): `TcpState.from_linux('0A')` decodes one.")
    return Feedback(ex_id, not wrong, score, msg, tuple(cols), tuple(rows), tuple(marks))

