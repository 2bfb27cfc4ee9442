"""Exercises with automatic checking -- for graded assignments and for self-study alike.

Every checker here takes a learner's answer and returns a :class:`Feedback`: right or not, a
score between 0 and 1, a message in plain words and, where it helps, a table of what was
expected and what was given.  The graded assignments (``assignments/``, built with
otter-grader) call these checkers in their tests, and the lesson notebooks call the same
checkers for instant feedback, so a course and a self-learner can never be told different
things.  Predictions are checked by :func:`tcplab.checks.check_prediction`, the code the
stepping widget's predict mode uses.

A malformed answer -- wrong type, unknown state name, empty, ``None`` -- never raises: it
gets a :class:`Feedback` with ``malformed=True`` and a message naming what is accepted.

The kinds of exercise::

    check("predict/simultaneous-close", [("FIN-WAIT-1", "ESTABLISHED"), ...])
    check("decode/web-server", ["LISTEN", "ESTABLISHED", ...], waiting_for=["syn", ...])
    check("steer/both-closing", ["deliver client FIN,ACK", "deliver server FIN,ACK"])
    check("implement/closing-states", next_state)        # a function (state, event) -> state
    check("find-bug/acme", choice="C", scenario=["server listen", ...])

:func:`practice` makes a small widget (answer box, Check button, feedback) for a lesson
notebook; :data:`EXERCISES` lists every exercise with its prompt.
"""

from __future__ import annotations

import html
import shlex
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Sequence

from .checks import check_prediction
from ..endpoint import Config, Endpoint
from ..network import WIRE, Network
from ..procnet import SocketRow, parse_dump
from ..scenarios import run_script
from ..segment import Flags, Segment, seq_add
from ..states import TcpState
from ..steps import Step, TcpError
from ..transitions import DEFAULT_LAYERS, TRANSITIONS

__all__ = [
    "Feedback", "Exercise", "EXERCISES", "exercise", "check", "practice",
    "Schedule", "SCHEDULES", "check_schedule",
    "Dump", "DUMPS", "WAITING_FOR", "waits_for", "check_dump",
    "Target", "TARGETS", "check_target",
    "CLOSING_STATES", "CLOSING_EVENTS", "EXTENDED_EVENTS", "closing_transitions",
    "reference_next_state", "check_closing_states",
    "BUGS", "SUSPECTS", "AcmeTCP", "BorealTCP", "CobaltTCP", "DuneTCP", "suspect_network",
    "check_bug",
]

S = TcpState
#: Initial sequence numbers of every exercise run: the RFC's figures use 100 and 300.
ISN = {"client": 100, "server": 300}
_STATE_NAMES = ", ".join(s.rfc for s in TcpState)


# =============================================================================== feedback ==

@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer.

    ``ok`` -- entirely right; ``score`` -- the fraction right (0..1); ``message`` -- what to
    tell the learner; ``columns``/``rows`` -- a table (``marks`` says per row: True right,
    False wrong, None neither); ``detail`` -- preformatted text such as a trace;
    ``malformed`` -- the answer could not be read (``message`` says what is accepted).

    Shows as HTML in a notebook and as text elsewhere.  :meth:`require` turns it into an
    assertion for a grader's test.
    """

    exercise: str
    ok: bool
    score: float
    message: str
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    marks: tuple["bool | None", ...] = ()
    detail: str = ""
    grid_html: str = ""
    malformed: bool = False

    def __bool__(self) -> bool:
        return self.ok

    @property
    def verdict(self) -> str:
        if self.malformed:
            return "Cannot check this answer"
        if self.ok:
            return "Right"
        return "Not yet right" if self.score == 0 else f"Partly right ({self.score:.0%})"

    def text(self) -> str:
        """Plain text: verdict, message, table (as aligned columns) and detail."""
        sym = "?" if self.malformed else ("✓" if self.ok else "✗")
        out = [f"{sym} {self.verdict} [{self.exercise}]: {self.message}"]
        if self.rows:
            sign = {True: "✓", False: "✗"}
            table = [list(self.columns) + [""]]
            for k, r in enumerate(self.rows):
                m = self.marks[k] if k < len(self.marks) else None
                table.append([str(c) for c in r] + [sign.get(m, "")])  # type: ignore[arg-type]
            widths = [max(len(r[i]) for r in table if i < len(r)) for i in range(len(table[0]))]
            out.append("")
            for n, r in enumerate(table):
                out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
                if n == 0:
                    out.append("  ".join("-" * w for w in widths).rstrip())
        if self.detail:
            out += ["", self.detail]
        return "\n".join(out)

    def html(self) -> str:
        colour = "#b8860b" if self.malformed else ("#009e73" if self.ok else "#d55e00")
        sym = "?" if self.malformed else ("✓" if self.ok else "✗")
        parts = [f'<div class="t-feedback" style="border-left:4px solid {colour};'
                 f'padding:2px 0 4px 10px;margin:6px 0">',
                 f'<p><b style="color:{colour}">{sym} {html.escape(self.verdict)}</b> '
                 f'{_md(self.message)}</p>']
        if self.grid_html:
            parts.append(self.grid_html)
        elif self.rows:
            head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns) + "<th></th>"
            body = []
            for k, r in enumerate(self.rows):
                m = self.marks[k] if k < len(self.marks) else None
                bg = {True: "#e6f5ef", False: "#fbe9e0"}.get(m, "")
                cells = "".join(f"<td>{html.escape(str(c))}</td>" for c in r)
                sign = {True: "✓", False: "✗"}.get(m, "")
                body.append(f'<tr style="background:{bg}">{cells}<td>{sign}</td></tr>')
            parts.append('<table class="t-feedback-table"><thead><tr>' + head
                         + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>")
        if self.detail:
            parts.append(f"<pre>{html.escape(self.detail)}</pre>")
        parts.append("</div>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.html()

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__

    def require(self, at_least: float = 1.0) -> None:
        """Raise ``AssertionError`` (with the whole feedback) unless the answer is readable
        and scores at least ``at_least``; otherwise print nothing and return ``None``.

        This is what the assignments' otter tests call, so a failing test shows the learner
        the same feedback the lesson notebooks give.
        """
        if self.malformed or self.score + 1e-9 < at_least:
            raise AssertionError("\n" + self.text())

    def require_readable(self) -> None:
        """Raise ``AssertionError`` only if the answer could not be read (a format check)."""
        if self.malformed:
            raise AssertionError("\n" + self.text())


def _md(text: str) -> str:
    """Escape, then ``code`` -> <code>."""
    from ..ui.quiz import markup
    return markup(text)


def _malformed(exercise: str, message: str) -> Feedback:
    return Feedback(exercise, False, 0.0, message, malformed=True)


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


class AnswerError(ValueError):
    """An answer that cannot be read; the message names what is accepted."""


# ======================================================================== reading answers ==

def read_state(value: object, what: str = "the answer") -> TcpState:
    """A state from a learner: a :class:`TcpState` or any spelling ``TcpState.parse`` reads."""
    if isinstance(value, TcpState):
        return value
    if value is None or (isinstance(value, str) and not value.strip()) or value is ...:
        raise AnswerError(f"{what} is empty; write a state name such as 'TIME-WAIT' "
                          f"(the states: {_STATE_NAMES})")
    if isinstance(value, bool) or isinstance(value, (int, float)):
        raise AnswerError(f"{what} is the number {value!r}; write a state name such as "
                          "'TIME-WAIT' instead (numbers differ between tools: to decode one, "
                          "use TcpState.from_linux(), from_mib() or from_windows())")
    if not isinstance(value, str):
        raise AnswerError(f"{what} is {_a(type(value).__name__)} ({value!r:.60}); write a state "
                          f"name (a str such as 'TIME-WAIT') or a TcpState")
    try:
        return TcpState.parse(value)
    except ValueError:
        raise AnswerError(f"{what}: {value!r} is not a TCP state name; the states are "
                          f"{_STATE_NAMES} (the netstat/ss spellings such as TIME_WAIT, "
                          "ESTAB or SYN-RECV work too)") from None


def read_lines(value: object, what: str = "the answer") -> list[str]:
    """Script lines from a learner: a list of strings, or one string with a line each."""
    if value is None or value is ...:
        raise AnswerError(f"{what} is empty; give a list of lines such as "
                          "['deliver client SYN', 'drop server SYN,ACK']")
    if isinstance(value, str):
        lines = value.splitlines()
    elif isinstance(value, (list, tuple)):
        lines = []
        for i, item in enumerate(value, 1):
            if not isinstance(item, str):
                raise AnswerError(f"{what}: item {i} is {_a(type(item).__name__)} ({item!r:.40}); "
                                  "each line must be a string such as 'deliver client SYN'")
            lines.append(item)
    else:
        raise AnswerError(f"{what} is {_a(type(value).__name__)}; give a list of strings such "
                          "as ['deliver client SYN', 'drop server SYN,ACK'] (or one string "
                          "with one command per line)")
    lines = [ln.split("#", 1)[0].strip() for ln in lines]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise AnswerError(f"{what} has no commands; give a list of lines such as "
                          "['deliver client SYN', 'drop server SYN,ACK']")
    return lines


def _read_list(value: object, what: str, n: int, example: str) -> list[object]:
    if value is None or value is ...:
        raise AnswerError(f"{what} is empty; give a list with one entry per row ({n} "
                          f"entries), e.g. {example}")
    if isinstance(value, str):
        items: list[object] = [ln.strip() for ln in value.splitlines() if ln.strip()]
    elif isinstance(value, Mapping):
        raise AnswerError(f"{what} is a dict; give a list with one entry per row ({n} "
                          f"entries), e.g. {example}")
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise AnswerError(f"{what} is {_a(type(value).__name__)}; give a list with one entry "
                          f"per row ({n} entries), e.g. {example}")
    if not items:
        raise AnswerError(f"{what} is an empty list; give {n} entries, e.g. {example}")
    if len(items) != n:
        raise AnswerError(f"{what} has {len(items)} entries, but there are {n} rows: give "
                          f"exactly one entry per row, e.g. {example}")
    return items


# ====================================================================== the exercise list ==

@dataclass(frozen=True)
class Exercise:
    """One exercise: an id, its kind, a prompt for the learner and its checker."""

    id: str
    kind: str            # predict, decode, steer, implement, find-bug
    title: str
    prompt: str          # Markdown
    checker: Callable[..., Feedback] = field(repr=False)
    answer_help: str = ""

    def check(self, answer: object = None, **kwargs: Any) -> Feedback:
        return self.checker(answer, **kwargs)

    def _repr_markdown_(self) -> str:
        return f"**{self.title}** (`{self.id}`)\n\n{self.prompt}\n\n*Answer:* {self.answer_help}"


EXERCISES: dict[str, Exercise] = {}


def _register(ex: Exercise) -> Exercise:
    assert ex.id not in EXERCISES, ex.id
    EXERCISES[ex.id] = ex
    return ex


def exercise(exercise_id: "str | Exercise") -> Exercise:
    """The exercise called ``exercise_id`` (a ``KeyError`` lists them all)."""
    if isinstance(exercise_id, Exercise):
        return exercise_id
    try:
        return EXERCISES[exercise_id]
    except (KeyError, TypeError):
        raise KeyError(f"no exercise {exercise_id!r}; the exercises are: "
                       + ", ".join(EXERCISES)) from None


def check(exercise_id: "str | Exercise", answer: object = None, **kwargs: Any) -> Feedback:
    """Check ``answer`` to the exercise ``exercise_id``: the entry point for notebooks and
    for the assignments' tests.  Never raises because of the answer."""
    ex = exercise(exercise_id)
    try:
        return ex.check(answer, **kwargs)
    except AnswerError as exc:
        return _malformed(ex.id, str(exc))


# ================================================================ 1. predict the states ==

@dataclass(frozen=True)
class Schedule:
    """A schedule of events (script lines, see :mod:`tcplab.scenarios`) after a setup.

    The learner predicts both endpoints' states after each event.
    """

    name: str
    title: str
    events: tuple[str, ...]
    setup: tuple[str, ...] = ()
    story: str = ""
    config: Config | None = None

    def network(self) -> Network:
        """A fresh network after the setup lines."""
        net = Network(isn=ISN, config=self.config)
        run_script(net, self.setup)
        return net

    def run(self) -> tuple[Network, list[Step | None]]:
        """The network after all events, and the last step each event produced."""
        net = self.network()
        last: list[Step | None] = []
        for line in self.events:
            steps = run_script(net, [line])
            last.append(steps[-1] if steps else None)
        return net, last

    def expected(self) -> list[dict[str, TcpState]]:
        """Both endpoints' states after each event (from the model)."""
        _, last = self.run()
        return [dict(st.states) for st in last]  # type: ignore[union-attr]

    def start_states(self) -> dict[str, TcpState]:
        return self.network().states()

    def prompt(self) -> str:
        start = self.start_states()
        lines = [self.story, "",
                 f"At the start: client {start['client'].rfc}, server {start['server'].rfc}."
                 if self.setup else "At the start both endpoints are CLOSED.", "",
                 "| # | event |", "|---|---|"]
        lines += [f"| {i} | `{ev}` |" for i, ev in enumerate(self.events, 1)]
        return "\n".join(lines).strip()


_HANDSHAKE = ("server listen", "client connect", "settle")

SCHEDULES: dict[str, Schedule] = {s.name: s for s in (
    Schedule(
        "open-and-close", "A whole connection, one segment at a time",
        ("server listen", "client connect", "deliver client SYN", "deliver server SYN,ACK",
         "deliver client ACK", "client close", "deliver client FIN,ACK", "deliver server ACK",
         "server close", "deliver server FIN,ACK", "deliver client ACK", "timer client"),
        story="A client opens a connection to a server, then closes it first. Each event is "
              "one user call, one segment delivered, or one timer firing."),
    Schedule(
        "simultaneous-close", "Both sides close at once",
        ("client close", "server close", "deliver client FIN,ACK", "deliver server FIN,ACK",
         "deliver server ACK", "deliver client ACK", "timer client", "timer server"),
        setup=_HANDSHAKE,
        story="The connection is open. Both applications call close() before either FIN "
              "arrives, so the two FINs cross on the wire (RFC 9293 figure 13)."),
    Schedule(
        "lost-final-ack", "The last ACK is lost",
        ("client close", "deliver client FIN,ACK", "deliver server ACK", "server close",
         "deliver server FIN,ACK", "drop client ACK", "timer server", "deliver server FIN,ACK",
         "deliver client ACK", "timer client"),
        setup=_HANDSHAKE,
        story="The connection is open. The client closes first, then the server. The "
              "client's final ACK is lost on the wire; `timer server` is the server's "
              "retransmission timer."),
    Schedule(
        "simultaneous-open", "Two SYNs cross",
        ("client connect", "server connect", "deliver client SYN", "deliver server SYN",
         "deliver server SYN,ACK", "deliver client SYN,ACK"),
        story="Both sides call connect() to each other at the same moment; there is no "
              "listener (RFC 9293 figure 7)."),
)}

_PAIR_EXAMPLE = "[('SYN-SENT', 'LISTEN'), ('SYN-SENT', 'SYN-RECEIVED'), ...]"


def _read_pair(item: object, i: int) -> dict[str, object]:
    what = f"prediction {i}"
    if isinstance(item, Mapping):
        keys = set(map(str, item))
        if keys != {"client", "server"}:
            raise AnswerError(f"{what} is a dict with keys {sorted(keys)}; use exactly "
                              "'client' and 'server', e.g. {'client': 'SYN-SENT', "
                              "'server': 'LISTEN'}")
        return {"client": item["client"], "server": item["server"]}
    if isinstance(item, str):
        parts = [p for p in item.replace(",", " ").replace("/", " ").split() if p]
        if len(parts) == 2:
            return {"client": parts[0], "server": parts[1]}
        raise AnswerError(f"{what} is the text {item!r}; give two states, the client's then "
                          "the server's, e.g. ('SYN-SENT', 'LISTEN') or 'SYN-SENT, LISTEN'")
    if isinstance(item, (list, tuple)) and len(item) == 2:
        return {"client": item[0], "server": item[1]}
    raise AnswerError(f"{what} is {item!r:.60}; give a pair (client state, server state), "
                      "e.g. ('SYN-SENT', 'LISTEN')")


def check_schedule(schedule: "str | Schedule", answer: object, *, reveal: bool = False,
                   exercise_id: str | None = None) -> Feedback:
    """Check predictions of both endpoints' states after each event of a schedule.

    ``answer`` has one entry per event: a pair ``(client_state, server_state)``, a dict
    ``{"client": ..., "server": ...}`` or a string ``"FIN-WAIT-1, ESTABLISHED"``.  Each state
    is checked by :func:`tcplab.checks.check_prediction` against the model's step record.
    With ``reveal`` the table shows the expected states and the explanation.
    """
    sch = SCHEDULES[schedule] if isinstance(schedule, str) else schedule
    ex_id = exercise_id or f"predict/{sch.name}"
    try:
        items = _read_list(answer, "the answer", len(sch.events), _PAIR_EXAMPLE)
        pairs = [_read_pair(item, i) for i, item in enumerate(items, 1)]
        for i, pair in enumerate(pairs, 1):
            for who, value in pair.items():
                read_state(value, f"prediction {i} ({who})")
    except AnswerError as exc:
        return _malformed(ex_id, str(exc))
    _, last = sch.run()
    rows, marks, right, first_wrong = [], [], 0, None
    for i, (event, step, pair) in enumerate(zip(sch.events, last, pairs), 1):
        assert step is not None
        guess = {w: read_state(v) for w, v in pair.items()}
        ok, message = check_prediction(step, guess)
        truth = dict(step.states)
        n_right = sum(truth[w] is guess[w] for w in guess)
        right += n_right
        row = [str(i), event, guess["client"].rfc, guess["server"].rfc]
        if reveal:
            row += [truth["client"].rfc, truth["server"].rfc]
        rows.append(tuple(row))
        marks.append(ok)
        if not ok and first_wrong is None:
            first_wrong = (i, event, step, message, guess, truth)
    total = 2 * len(sch.events)
    score = right / total
    cols = ["#", "event", "client (you)", "server (you)"]
    if reveal:
        cols += ["client", "server"]
    if first_wrong is None:
        msg = f"all {len(sch.events)} predictions are right."
        detail = ""
    else:
        i, event, step, message, guess, truth = first_wrong
        wrong_rows = [r[0] for r, m in zip(rows, marks) if not m]
        sides = [w for w in ("client", "server") if guess[w] is not truth[w]]
        where = (f"Look again at event {i} (`{event}`): " if len(wrong_rows) == 1 else
                 f"Look again at events {', '.join(wrong_rows)}. First, at event {i} "
                 f"(`{event}`): ")
        msg = (f"{right} of {total} states right. {where}the {' and the '.join(sides)} "
               f"{'are' if len(sides) > 1 else 'is'} not where you said.")
        if step.rfc:
            msg += f" Hint: {step.rfc}."
        detail = message if reveal else ""
    return Feedback(ex_id, first_wrong is None, score, msg, tuple(cols), tuple(rows),
                    tuple(marks), detail)


# ====================================================================== 2. decode a dump ==

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
        raise AnswerError(f"waiting_for entry {i} is {value!r:.40}; write one of the keys "
                          f"{keys}")
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

_STATES_EXAMPLE = "['LISTEN', 'ESTABLISHED', ...]"


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
        items = _read_list(states, "the states", n, _STATES_EXAMPLE)
        if waiting_for is None and all(isinstance(it, (tuple, list)) and len(it) == 2
                                       for it in items):
            waiting_for = [it[1] for it in items]  # type: ignore[index]
            items = [it[0] for it in items]  # type: ignore[index]
        guess = [read_state(v, f"state {i}") for i, v in enumerate(items, 1)]
        waits = None
        if waiting_for is not None:
            w_items = _read_list(waiting_for, "waiting_for", n, "['syn', 'nothing', ...]")
            waits = [_read_waiting(v, i) for i, v in enumerate(w_items, 1)]
    except AnswerError as exc:
        return _malformed(ex_id, str(exc))
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
        msg = f"all {n} sockets decoded right."
    else:
        msg = (f"{right} of {total} answers right; look again at line"
               f"{'s' if len(wrong) > 1 else ''} {', '.join(wrong)}.")
        if d.rows()[0].source == "/proc/net/tcp" and any(g is not w for g, w in
                                                          zip(guess, truth)):
            msg += (" Hint: `st` is the kernel's state code in hexadecimal "
                    "(include/net/tcp_states.h: 01 ESTABLISHED, 02 SYN_SENT, ... 0A LISTEN, "
                    "0B CLOSING): `TcpState.from_linux('0A')` decodes one.")
    return Feedback(ex_id, not wrong, score, msg, tuple(cols), tuple(rows), tuple(marks))


# ==================================================================== 3. steer the wire ==

WIRE_COMMANDS = ("deliver", "drop", "duplicate", "delay")


@dataclass(frozen=True)
class Target:
    """Reach a pair of states by choosing what the wire does with each segment."""

    name: str
    title: str
    setup: tuple[str, ...]
    target: tuple[TcpState, TcpState]          # (client, server)
    story: str = ""
    max_actions: int | None = None
    allowed: tuple[str, ...] = WIRE_COMMANDS

    def network(self) -> Network:
        net = Network(isn=ISN)
        run_script(net, self.setup)
        return net

    def prompt(self) -> str:
        net = self.network()
        flight = "; ".join(f"{p.src} → {p.dst}: {p.segment.label()}" for p in net.in_flight)
        limit = (f" Use at most {self.max_actions} commands." if self.max_actions else "")
        return (f"{self.story}\n\nAfter the setup (`{'`, `'.join(self.setup)}`) the client is "
                f"{net.state('client').rfc} and the server {net.state('server').rfc}; in "
                f"flight: {flight or 'nothing'}.\n\n**Goal:** client "
                f"{self.target[0].rfc}, server {self.target[1].rfc}.{limit} Commands: "
                + ", ".join(f"`{c}`" for c in self.allowed) + ".")


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("both-closing", "Both in CLOSING", _HANDSHAKE + ("client close", "server close"),
           (S.CLOSING, S.CLOSING),
           "Both applications have called close(); both FINs are on the wire.",
           max_actions=3),
    Target("half-open", "A half-open handshake", ("server listen", "client connect"),
           (S.ESTABLISHED, S.SYN_RECEIVED),
           "The client has sent its SYN to a listening server. Make the client believe the "
           "connection is open while the server still waits for the handshake to finish.",
           max_actions=4),
    Target("fin-wait-2", "Half-closed", _HANDSHAKE + ("client close",),
           (S.FIN_WAIT_2, S.CLOSE_WAIT),
           "The client has called close(); its FIN is on the wire. Bring the connection to "
           "the half-closed pair of states where the server may still send data.",
           max_actions=3),
    Target("time-wait-last-ack", "TIME-WAIT facing LAST-ACK",
           _HANDSHAKE + ("client close", "deliver client FIN,ACK", "server close"),
           (S.TIME_WAIT, S.LAST_ACK),
           "The client closed first; the server has ACKed the client's FIN and closed too, so "
           "its ACK and its FIN are both on the wire. Leave the server waiting for its last "
           "ACK while the client has finished.", max_actions=3),
    Target("both-syn-received", "Both in SYN-RECEIVED", ("client connect", "server connect"),
           (S.SYN_RECEIVED, S.SYN_RECEIVED),
           "Both sides have called connect() to each other; both SYNs are on the wire.",
           max_actions=3),
)}


def _in_flight(net: Network) -> str:
    return ", ".join(f"{p.src} {p.segment.label()}" for p in net.in_flight) or "nothing"


def check_target(target: "str | Target", actions: object, *,
                 exercise_id: str | None = None) -> Feedback:
    """Run the learner's wire commands after the target's setup and check the final states.

    ``actions`` are script lines (a list of strings or one string, one command per line):
    ``deliver SIDE FLAGS``, ``drop SIDE FLAGS``, ``duplicate SIDE FLAGS``,
    ``delay SIDE FLAGS SECONDS`` -- the model decides what happens.
    """
    t = TARGETS[target] if isinstance(target, str) else target
    ex_id = exercise_id or f"steer/{t.name}"
    try:
        lines = read_lines(actions, "the commands")
    except AnswerError as exc:
        return _malformed(ex_id, str(exc))
    allowed = ", ".join(t.allowed)
    for i, line in enumerate(lines, 1):
        try:
            head = shlex.split(line)[0]
        except ValueError:
            head = line.split()[0]
        if head not in t.allowed:
            return _malformed(ex_id, f"command {i} {line!r}: only the wire may act here; the "
                              f"commands are {allowed} (e.g. 'deliver client FIN,ACK', "
                              "'drop server ACK')")
    if t.max_actions is not None and len(lines) > t.max_actions:
        return _malformed(ex_id, f"{len(lines)} commands; this exercise allows at most "
                          f"{t.max_actions}")
    net = t.network()
    rows, marks = [], []
    for i, line in enumerate(lines, 1):
        before = len(net.history)
        try:
            run_script(net, [line])
        except (ValueError, KeyError, TcpError, RuntimeError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            msg = str(msg).replace(f"script line 1 {line!r}: ", "")
            if "in flight" not in msg:
                msg += f". In flight at that point: {_in_flight(net)}"
            return Feedback(ex_id, False, 0.0, f"command {i} {line!r} cannot be done: {msg}.",
                            ("#", "command", "client", "server"), tuple(rows), tuple(marks),
                            malformed=True)
        what = "; ".join(st.summary().split(": ", 1)[-1] if st.actor == WIRE else
                         f"{st.actor}: {st.before}→{st.after}" if st.changed_state else
                         f"{st.actor} stays {st.after}" for st in net.history[before:])
        rows.append((str(i), line, net.state("client").rfc, net.state("server").rfc, what))
        marks.append(None)
    got = (net.state("client"), net.state("server"))
    ok = got == t.target
    right = sum(g is w for g, w in zip(got, t.target))
    from ..render.text import trace
    if ok:
        msg = f"client {got[0].rfc}, server {got[1].rfc}: goal reached in {len(lines)} commands."
    else:
        msg = (f"after your commands the client is {got[0].rfc} and the server {got[1].rfc}; "
               f"the goal is client {t.target[0].rfc}, server {t.target[1].rfc}. Still in "
               f"flight: {_in_flight(net)}.")
    marks[-1] = ok
    return Feedback(ex_id, ok, right / 2, msg, ("#", "command", "client", "server", "what happened"),
                    tuple(rows), tuple(marks), trace(net, times=False))


# ================================================================= 4. the closing states ==

#: The states of the closing part of the state machine (RFC 9293 figure 5, lower half).
CLOSING_STATES = (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING,
                  S.LAST_ACK, S.TIME_WAIT)


def closing_transitions(layers: Iterable[str] = DEFAULT_LAYERS) -> list:
    """The edges of :data:`~tcplab.transitions.TRANSITIONS` that leave a closing state."""
    layers = set(layers)
    return [t for t in TRANSITIONS if t.source in CLOSING_STATES and t.layer in layers]


def _events(layers: Iterable[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for t in closing_transitions(layers):
        if t.event not in seen:
            seen.append(t.event)
    return tuple(seen)


#: The events of the closing part, in the table's order: CLOSE, rcv FIN, rcv ACK of FIN,
#: rcv FIN + ACK of FIN, timeout=2MSL.
CLOSING_EVENTS: tuple[str, ...] = _events(DEFAULT_LAYERS)
#: ... plus the reset and abort layers: rcv RST and ABORT.
EXTENDED_EVENTS: tuple[str, ...] = _events(set(DEFAULT_LAYERS) | {"reset", "abort"})

#: A network script that leaves one endpoint (client or server) in each closing state.
_REACH: dict[TcpState, tuple[str, tuple[str, ...]]] = {
    S.ESTABLISHED: ("client", _HANDSHAKE),
    S.FIN_WAIT_1: ("client", _HANDSHAKE + ("client close",)),
    S.FIN_WAIT_2: ("client", _HANDSHAKE + ("client close", "deliver client FIN,ACK",
                                            "deliver server ACK")),
    S.CLOSE_WAIT: ("server", _HANDSHAKE + ("client close", "deliver client FIN,ACK")),
    S.CLOSING: ("server", _HANDSHAKE + ("client close", "server close",
                                         "deliver client FIN,ACK")),
    S.LAST_ACK: ("server", _HANDSHAKE + ("client close", "deliver client FIN,ACK",
                                          "server close")),
    S.TIME_WAIT: ("client", _HANDSHAKE + ("client close", "deliver client FIN,ACK",
                                           "deliver server ACK", "server close",
                                           "deliver server FIN,ACK")),
}
_PEER_FIN_RECEIVED = (S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT)


def _stimulus(ep: Endpoint, state: TcpState, event: str) -> Step | None:
    """Make ``event`` happen to ``ep`` (in ``state``) as a real peer or user would."""
    fin_seq = (ep.rcv_nxt - 1) % 2 ** 32 if state in _PEER_FIN_RECEIVED else ep.rcv_nxt
    try:
        if event == "CLOSE":
            return ep.close()
        if event == "ABORT":
            return ep.abort()
        if event == "rcv FIN":
            return ep.receive(Segment(Flags.FIN | Flags.ACK, fin_seq, ep.snd_una))
        if event == "rcv ACK of FIN":
            return ep.receive(Segment(Flags.ACK, ep.rcv_nxt, ep.snd_nxt))
        if event == "rcv FIN + ACK of FIN":
            return ep.receive(Segment(Flags.FIN | Flags.ACK, fin_seq, ep.snd_nxt))
        if event == "rcv RST":
            return ep.receive(Segment(Flags.RST, ep.rcv_nxt))
        if event == "timeout=2MSL":
            return ep.fire_timer("time-wait") if "time-wait" in ep.timers else None
    except TcpError:
        return None
    raise ValueError(f"no stimulus for event {event!r}")


@lru_cache(maxsize=None)
def _reference(state: TcpState, event: str) -> tuple[TcpState, str]:
    who, script = _REACH[state]
    net = Network(isn=ISN)
    run_script(net, script)
    ep = net[who]
    assert ep.state is state, (state, ep.state)
    step = _stimulus(ep, state, event)
    if step is None:
        why = ("the 2*MSL timer runs only in TIME-WAIT" if event == "timeout=2MSL" else
               f"{event} is refused in {state.rfc}: \"connection closing\" (RFC 9293 §3.10.4)")
        return ep.state, why
    return ep.state, step.explanation


def reference_next_state(state: "TcpState | str", event: str) -> TcpState:
    """What the reference endpoint does: the state after ``event`` in ``state``.

    Events (as in the transition table): ``CLOSE`` -- the application calls close();
    ``rcv FIN`` -- the peer's FIN arrives without acknowledging our FIN (where the peer's
    FIN has arrived before, this is a retransmission of it); ``rcv ACK of FIN`` -- an ACK of
    everything we sent, our FIN included if we sent one; ``rcv FIN + ACK of FIN`` -- the
    peer's FIN (or its retransmission) acknowledging everything we sent; ``timeout=2MSL``
    -- the 2*MSL timer expires; ``rcv RST`` -- a RST at exactly RCV.NXT; ``ABORT``.
    """
    state = read_state(state, "state")
    if state not in CLOSING_STATES:
        raise ValueError(f"{state} is not a closing state; they are "
                         + ", ".join(s.rfc for s in CLOSING_STATES))
    if event not in EXTENDED_EVENTS:
        raise ValueError(f"unknown event {event!r}; the events are {', '.join(EXTENDED_EVENTS)}")
    return _reference(state, event)[0]


def _call_impl(impl: object, state: TcpState, event: str) -> tuple[TcpState | None, str]:
    """Ask the learner's implementation; (state or None, problem)."""
    try:
        if isinstance(impl, Mapping):
            got = next((v for (k, e), v in impl.items()
                        if e == event and _is_state_name(k) and TcpState.parse(k) is state),
                       None)
        elif hasattr(impl, "next_state") and callable(getattr(impl, "next_state")):
            got = impl.next_state(state, event)  # type: ignore[union-attr]
        else:
            got = impl(state, event)  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
        return None, f"raised {type(exc).__name__}: {exc}"
    if got is None:
        return state, ""          # None means "no change"
    if isinstance(got, TcpState):
        return got, ""
    if isinstance(got, str):
        try:
            return TcpState.parse(got), ""
        except ValueError:
            return None, f"returned {got!r}: not a state name"
    return None, f"returned {got!r:.30}: {_a(type(got).__name__)}, not a state"


def check_closing_states(impl: object, *, extended: bool = False,
                         exercise_id: str | None = None) -> Feedback:
    """Check a learner's closing-state machine against the reference endpoint.

    ``impl`` is a function ``next_state(state, event)`` (``state`` a :class:`TcpState`,
    ``event`` one of :data:`CLOSING_EVENTS`) returning the next state (a TcpState or a
    name; ``None`` or the same state for "no change"), an object with such a
    ``next_state`` method, or a dict ``{(state, event): next_state}``.  Every pair of
    :data:`CLOSING_STATES` x events is checked; the feedback holds a diff table (text) and
    a grid (HTML) of expected vs got.
    """
    ex_id = exercise_id or ("implement/closing-states-extended" if extended
                            else "implement/closing-states")
    if impl is None or impl is ... or not (callable(impl) or isinstance(impl, Mapping)
                                           or callable(getattr(impl, "next_state", None))):
        return _malformed(ex_id, f"the answer is {type(impl).__name__ if impl is not ... else 'Ellipsis'}"
                          f" ({impl!r:.40}); give your function itself, e.g. "
                          "check(..., next_state) with def next_state(state, event): ... "
                          "returning a TcpState or a state name (not a call's result)")
    events = EXTENDED_EVENTS if extended else CLOSING_EVENTS
    if isinstance(impl, Mapping):
        bad = [k for k in impl if not (isinstance(k, tuple) and len(k) == 2
                                       and k[1] in EXTENDED_EVENTS
                                       and _is_state_name(k[0]))]
        if not impl or bad:
            return _malformed(ex_id, f"a dict answer maps (state, event) pairs to states, e.g. "
                              "{(TcpState.ESTABLISHED, 'CLOSE'): 'FIN-WAIT-1'}; "
                              + (f"these keys are not such pairs: {bad[:3]!r}" if bad
                                 else "this one is empty")
                              + f" (the events: {', '.join(events)})")
    cells: dict[tuple[TcpState, str], tuple[TcpState, TcpState | None, str, str]] = {}
    rows, marks, right = [], [], 0
    for state in CLOSING_STATES:
        for event in events:
            want, why = _reference(state, event)
            got, problem = _call_impl(impl, state, event)
            cells[(state, event)] = (want, got, problem, why)
            if got is want:
                right += 1
            else:
                rows.append((state.rfc, event, want.rfc,
                             got.rfc if got is not None else f"({problem})", _short(why)))
                marks.append(False)
    total = len(CLOSING_STATES) * len(events)
    ok = right == total
    msg = (f"all {total} (state, event) pairs match the reference endpoint." if ok else
           f"{right} of {total} (state, event) pairs match the reference endpoint; "
           f"{total - right} differ (table below: expected = what the reference endpoint "
           "does, got = your answer).")
    if any(c[1] is None for c in cells.values()):
        msg += (" Your function must return a TcpState or a state name (" + _STATE_NAMES
                + "), or None for no change, and must not raise.")
    return Feedback(ex_id, ok, right / total, msg,
                    ("state", "event", "expected", "got", "why (reference endpoint)"),
                    tuple(rows), tuple(marks), "", _grid_html(cells, events))


def _is_state_name(value: object) -> bool:
    if isinstance(value, TcpState):
        return True
    try:
        TcpState.parse(value)  # type: ignore[arg-type]
        return True
    except (TypeError, ValueError):
        return False


def _short(text: str, n: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"


def _grid_html(cells: Mapping[tuple[TcpState, str], tuple[TcpState, TcpState | None, str, str]],
               events: Sequence[str]) -> str:
    head = "<th>state \\ event</th>" + "".join(f"<th><code>{html.escape(e)}</code></th>"
                                              for e in events)
    body = []
    for state in CLOSING_STATES:
        tds = [f"<th>{state.rfc}</th>"]
        for event in events:
            want, got, problem, why = cells[(state, event)]
            tip = html.escape(" ".join(why.split()), quote=True)
            if got is want:
                text = "·" if want is state else want.rfc
                tds.append(f'<td style="background:#e6f5ef" title="{tip}">{text}</td>')
            else:
                shown = got.rfc if got is not None else html.escape(problem)
                tds.append(f'<td style="background:#fbe9e0" title="{tip}">✗ got {shown}<br>'
                           f'<b>expected {want.rfc}</b></td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return ('<table class="t-closing-grid"><thead><tr>' + head + "</tr></thead><tbody>"
            + "".join(body) + "</tbody></table><p><small>· = no change. Hover a cell for "
            "the reference endpoint's explanation.</small></p>")


# ====================================================================== 5. find the bug ==
# Four TCP stacks, each with one bug.  Their names say nothing about the bug; the learner
# finds it by running scenarios with them (suspect_network) and comparing with the
# reference Endpoint.

class AcmeTCP(Endpoint):
    """A TCP stack from Acme."""

    def _process_fin(self, out: Any) -> None:
        if self.state is S.FIN_WAIT_1 and self.fin_acked:
            self.rcv_nxt = seq_add(self.rcv_nxt, 1)
            self._peer_fin = True
            self._held.clear()
            out.need_ack = True
            self._go(out, "fin-wait-1-rcv-fin")
            out.notes.append("The peer's FIN arrives: ACK it and wait in CLOSING.")
            return
        super()._process_fin(out)


class BorealTCP(Endpoint):
    """A TCP stack from Boreal."""

    def _arrive_synchronized(self, seg: Segment, out: Any) -> tuple[str, str]:
        deadline = self.timers.get("time-wait")
        result = super()._arrive_synchronized(seg, out)
        if deadline is not None and self.state is S.TIME_WAIT and "time-wait" in self.timers:
            self.timers["time-wait"] = deadline
        return result


class CobaltTCP(Endpoint):
    """A TCP stack from Cobalt."""

    def _arrive_closed(self, seg: Segment, out: Any) -> tuple[str, str]:
        if seg.rst:
            if seg.has_ack:
                self._send_now(out, Segment(Flags.RST, seg.ack, 0, 0))
            else:
                self._send_now(out, Segment(Flags.RST | Flags.ACK, 0,
                                            seq_add(seg.seq, seg.len), 0))
            return ("No TCB exists here (CLOSED), so the segment is answered with RST.",
                    "§3.10.7.1")
        return super()._arrive_closed(seg, out)


class DuneTCP(Endpoint):
    """A TCP stack from Dune."""

    def _process_fin(self, out: Any) -> None:
        if self.state is S.FIN_WAIT_2:
            self.rcv_nxt = seq_add(self.rcv_nxt, 1)
            self._send_now(out, self._ack_segment())
            self._go(out, "fin-wait-2-timeout")
            out.notes.append("The peer's FIN: ACK it. Both directions are finished.")
            return
        super()._process_fin(out)


#: The bug catalogue a learner chooses from: (letter, key, description).  Four are real
#: (one per suspect), four are distractors.
BUGS: tuple[tuple[str, str, str], ...] = (
    ("A", "passive-time-wait", "The passive closer waits in TIME-WAIT after the last ACK "
          "instead of deleting its TCB."),
    ("B", "rst-answers-rst", "A RST that reaches a closed port is answered with a RST."),
    ("C", "time-wait-not-restarted", "A retransmitted FIN in TIME-WAIT is acknowledged, "
          "but the 2*MSL timer is not restarted."),
    ("D", "listen-rejects-syn", "A listener answers a SYN with RST."),
    ("E", "note-2-ignored", "In FIN-WAIT-1, a FIN that also acknowledges our FIN leads to "
          "CLOSING instead of TIME-WAIT."),
    ("F", "fin-wait-2-drops-data", "Data that arrives in FIN-WAIT-2 is not delivered to "
          "the application."),
    ("G", "skips-time-wait", "The active closer skips TIME-WAIT: FIN-WAIT-2 goes straight "
          "to CLOSED when the peer's FIN arrives."),
    ("H", "close-wait-no-fin", "close() in CLOSE-WAIT does not send a FIN."),
)

SUSPECTS: dict[str, type[Endpoint]] = {"acme": AcmeTCP, "boreal": BorealTCP,
                                        "cobalt": CobaltTCP, "dune": DuneTCP}
_ANSWER_KEY = {"acme": "note-2-ignored", "boreal": "time-wait-not-restarted",
               "cobalt": "rst-answers-rst", "dune": "skips-time-wait"}


def _suspect_key(suspect: "str | type[Endpoint]") -> str:
    if isinstance(suspect, type):
        for k, cls in SUSPECTS.items():
            if cls is suspect:
                return k
    key = str(suspect).lower().removesuffix("tcp")
    if key not in SUSPECTS:
        raise KeyError(f"no suspect {suspect!r}; the suspects are "
                       + ", ".join(c.__name__ for c in SUSPECTS.values()))
    return key


def suspect_network(suspect: "str | type[Endpoint] | None", **kwargs: Any) -> Network:
    """A network whose two hosts both run the suspect stack (``None``: the reference).

    ``kwargs`` go to :class:`~tcplab.network.Network` (default ISNs 100 and 300).
    """
    kwargs.setdefault("isn", ISN)
    net = Network(**kwargs)
    if suspect is not None:
        cls = SUSPECTS[_suspect_key(suspect)]
        for ep in net.endpoints.values():
            ep.__class__ = cls      # same TCB, same random generator: only the code differs
    return net


def _read_choice(value: object) -> str:
    letters = ", ".join(f"{letter} ({key})" for letter, key, _ in BUGS)
    if not isinstance(value, str) or not value.strip():
        raise AnswerError(f"the choice is {value!r:.40}; write one letter from the bug list "
                          f"({letters})")
    v = value.strip().strip("().").strip()
    for letter, key, _ in BUGS:
        if v.upper() == letter or v.lower() == key:
            return key
    raise AnswerError(f"the choice {value!r} is not in the bug list; write one of the "
                      f"letters {letters}")


def _observe(step: Step) -> tuple:
    return (step.actor, step.kind, step.event, step.before, step.after,
            tuple(s.rfc() for s in step.sent), tuple((n, t, round(d, 6)) for n, t, d in
                                                      step.timers), round(step.time, 6))


def _describe(step: Step) -> str:
    if step.actor == WIRE:
        return f"{step.time:.3f} s wire: {step.event}"
    move = (f"{step.before} → {step.after}" if step.changed_state else f"stays {step.after}")
    sent = (", sends " + " ".join(s.rfc() for s in step.sent)) if step.sent else ""
    timers = "; ".join(f"{n} {t} timer at {d:g} s" for n, t, d in step.timers)
    return (f"{step.time:.3f} s {step.actor} {step.event.split('  ')[0]}: {move}{sent}"
            + (f" [timers: {timers}]" if timers else " [no timers]"))


#: At most this many steps per ``run``/``settle``/``wait`` in a find-the-bug scenario: a
#: stack that answers RST with RST never goes quiet, and that should not take seconds to see.
_MAX_STEPS = 500


def _play(suspect: "str | None", lines: Sequence[str]) -> tuple[Network, list[int], str | None]:
    """Run lines; the history length after each line, and the error that stopped it."""
    net = suspect_network(suspect)

    def capped_run(max_steps: int = _MAX_STEPS, until: float | None = None,
                   stop: Any = None) -> list[Step]:
        return Network.run(net, min(max_steps, _MAX_STEPS), until, stop)

    net.run = capped_run  # type: ignore[method-assign]
    ends = []
    for i, line in enumerate(lines, 1):
        try:
            run_script(net, [line])
        except (ValueError, KeyError, TcpError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            return net, ends, f"line {i} {line!r}: {str(msg).replace('script line 1 ', '')}"
        except RuntimeError:
            return net, ends, (f"line {i} {line!r}: the network never became quiet (segments "
                               "kept bouncing back and forth)")
        ends.append(len(net.history))
    return net, ends, None


def check_bug(suspect: "str | type[Endpoint]", choice: object = None, scenario: object = None,
              *, max_lines: int | None = None, exercise_id: str | None = None) -> Feedback:
    """Check a learner's diagnosis of a suspect stack.

    ``choice`` -- the letter (or key) of the bug in :data:`BUGS`; ``scenario`` -- script
    lines (both hosts run the suspect stack) whose run differs from the reference
    endpoint's.  Give either or both; each is half the score when both are asked for.
    """
    try:
        key = _suspect_key(suspect)
    except KeyError as exc:
        return _malformed(str(exercise_id or "find-bug"), str(exc.args[0]))
    ex_id = exercise_id or f"find-bug/{key}"
    name = SUSPECTS[key].__name__
    if choice is None and scenario is None:
        return _malformed(ex_id, "give choice= (a letter from the bug list) and/or scenario= "
                          "(script lines whose run exposes the bug)")
    parts: list[tuple[bool, str]] = []
    rows: list[tuple[str, ...]] = []
    marks: list[bool | None] = []
    detail = ""
    try:
        picked = _read_choice(choice) if choice is not None else None
        lines = read_lines(scenario, "the scenario") if scenario is not None else None
    except AnswerError as exc:
        return _malformed(ex_id, str(exc))
    if picked is not None:
        ok = picked == _ANSWER_KEY[key]
        letter = next(b[0] for b in BUGS if b[1] == picked)
        parts.append((ok, f"bug {letter} is {'right' if ok else 'not what is wrong with ' + name}"))
    if lines is not None:
        if max_lines is not None and len(lines) > max_lines:
            return _malformed(ex_id, f"the scenario has {len(lines)} lines; at most "
                              f"{max_lines} are allowed: keep only what exposes the bug")
        ref, ref_ends, ref_err = _play(None, lines)
        if ref_err:
            return _malformed(ex_id, f"the scenario does not run with the reference endpoint: "
                              f"{ref_err}")
        bad, bad_ends, bad_err = _play(key, lines)
        diverge = _divergence(ref.history, bad.history)
        line_of = (lambda k: next((i for i, end in enumerate(ref_ends, 1) if k < end),
                                  len(lines)))
        if diverge is not None:
            k = diverge
            r = _describe(ref.history[k]) if k < len(ref.history) else "(nothing more happens)"
            b = _describe(bad.history[k]) if k < len(bad.history) else (
                "(nothing more happens)" if not bad_err else f"stopped: {bad_err}")
            rows = [("reference Endpoint", r), (name, b)]
            marks = [None, None]
            parts.append((True, f"your scenario exposes {name}: the runs part at line "
                          f"{line_of(k)} ({lines[line_of(k) - 1]!r}), step {k}"))
        elif bad_err:
            rows = [("reference Endpoint", "runs every line"), (name, bad_err)]
            marks = [None, None]
            parts.append((True, f"your scenario exposes {name}: {bad_err}"))
        else:
            parts.append((False, f"in your scenario {name} behaves exactly like the reference "
                          "endpoint (same states, segments, timers and times): it does not "
                          "reach the bug. Try a scenario that ends with 'run' so timers fire"))
        from ..render.text import trace
        detail = ("reference Endpoint:\n" + trace(ref, times=True) + f"\n\n{name}:\n"
                  + trace(bad, times=True))
    score = sum(ok for ok, _ in parts) / len(parts)
    ok = all(ok for ok, _ in parts)
    msg = "; ".join(text for _, text in parts) + "."
    return Feedback(ex_id, ok, score, msg, ("run", "first difference"), tuple(rows),
                    tuple(marks), detail)


def _divergence(a: Sequence[Step], b: Sequence[Step]) -> int | None:
    for k, (x, y) in enumerate(zip(a, b)):
        if _observe(x) != _observe(y):
            return k
    return None if len(a) == len(b) else min(len(a), len(b))


def bug_list() -> str:
    """The bug catalogue as Markdown, for prompts."""
    return "\n".join(f"- **{letter}** {text}" for letter, _, text in BUGS)


# =========================================================================== registration ==

def _predict_checker(name: str) -> Callable[..., Feedback]:
    def checker(answer: object = None, *, reveal: bool = False) -> Feedback:
        return check_schedule(name, answer, reveal=reveal)
    return checker


def _decode_checker(name: str) -> Callable[..., Feedback]:
    def checker(answer: object = None, *, waiting_for: object = None,
                reveal: bool = False) -> Feedback:
        return check_dump(name, answer, waiting_for, reveal=reveal)
    return checker


def _steer_checker(name: str) -> Callable[..., Feedback]:
    def checker(answer: object = None) -> Feedback:
        return check_target(name, answer)
    return checker


def _bug_checker(key: str) -> Callable[..., Feedback]:
    def checker(answer: object = None, *, choice: object = None, scenario: object = None,
                max_lines: int | None = None) -> Feedback:
        if answer is not None and choice is None and scenario is None:
            if isinstance(answer, Mapping):
                choice, scenario = answer.get("choice"), answer.get("scenario")
            elif isinstance(answer, str) and "\n" not in answer.strip() and \
                    len(answer.strip()) <= 2:
                choice = answer
            else:
                scenario = answer
        return check_bug(key, choice, scenario, max_lines=max_lines)
    return checker


for _s in SCHEDULES.values():
    _register(Exercise(f"predict/{_s.name}", "predict", _s.title, _s.prompt(),
                       _predict_checker(_s.name),
                       "one (client state, server state) pair per event, e.g. "
                       + _PAIR_EXAMPLE))
for _d in DUMPS.values():
    _register(Exercise(f"decode/{_d.name}", "decode", _d.title, _d.prompt(),
                       _decode_checker(_d.name),
                       "the state of each socket line, in order, e.g. " + _STATES_EXAMPLE
                       + "; with waiting_for=[...] also what each one waits for, one of "
                       + ", ".join(f"'{k}'" for k in WAITING_FOR)))
for _t in TARGETS.values():
    _register(Exercise(f"steer/{_t.name}", "steer", _t.title, _t.prompt(),
                       _steer_checker(_t.name),
                       "wire commands, one per line, e.g. ['deliver client FIN,ACK', "
                       "'drop server ACK']"))
_CLOSING_PROMPT = (
    "Write `next_state(state, event)` for the closing part of the state machine: `state` is "
    "one of " + ", ".join(s.rfc for s in CLOSING_STATES) + " (a `TcpState`), `event` one "
    "of " + ", ".join(f"`{e}`" for e in CLOSING_EVENTS) + ". Return the state after the "
    "event, or the same state (or `None`) if nothing changes. A segment that repeats "
    "something already received is an old duplicate: it is acknowledged and dropped.")
_register(Exercise("implement/closing-states", "implement", "Implement the closing states",
                   _CLOSING_PROMPT,
                   lambda answer=None: check_closing_states(answer),
                   "your function next_state itself (not a call)"))
_register(Exercise("implement/closing-states-extended", "implement",
                   "Implement the closing states, with RST and ABORT",
                   _CLOSING_PROMPT + " Also handle `rcv RST` and `ABORT`.",
                   lambda answer=None: check_closing_states(answer, extended=True),
                   "your function next_state itself (not a call)"))
for _k, _cls in SUSPECTS.items():
    _register(Exercise(f"find-bug/{_k}", "find-bug", f"Find the bug in {_cls.__name__}",
                       f"Both hosts run `{_cls.__name__}` "
                       f"(`suspect_network('{_k}')`). It has exactly one of these bugs:\n\n"
                       + bug_list(), _bug_checker(_k),
                       "choice='X' (a letter) and scenario=[script lines] that expose it"))


# ============================================================================ self-study ==

def practice(exercise_id: "str | Exercise", *, reveal: bool = False) -> Any:
    """A widget for a lesson notebook: the prompt, an answer box, a Check button and the
    feedback -- from the same checker the graded assignments use.

    Answers are typed as text, one entry per line: ``FIN-WAIT-1, ESTABLISHED`` (predict),
    ``LISTEN`` or ``LISTEN, syn`` (decode), ``deliver client FIN,ACK`` (steer), or a letter
    followed by scenario lines (find the bug).  The implement exercises take a function, so
    call :func:`check` with it instead.
    """
    import ipywidgets as widgets

    ex = exercise(exercise_id)
    if ex.kind == "implement":
        raise ValueError(f"{ex.id} takes a Python function: write it in a cell and call "
                         f"check({ex.id!r}, next_state)")
    from ..ui.quiz import markup
    prompt = widgets.HTML(f"<p><b>{markup(ex.title)}</b></p><p>{markup(ex.answer_help)}</p>")
    box = widgets.Textarea(placeholder="one entry per line",
                           layout=widgets.Layout(width="100%", height="8em"))
    button = widgets.Button(description="Check", button_style="primary")
    out = widgets.HTML("")

    def run(_: object = None) -> None:
        out.value = _check_text(ex, box.value, reveal).html()

    button.on_click(run)
    ui = widgets.VBox([prompt, box, button, out])
    ui.add_class("t-practice")
    ui.check = run  # type: ignore[attr-defined]
    ui.answer = box  # type: ignore[attr-defined]
    ui.feedback = out  # type: ignore[attr-defined]
    return ui


def _check_text(ex: Exercise, text: str, reveal: bool = False) -> Feedback:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if ex.kind == "predict":
        return check(ex, lines, reveal=reveal)
    if ex.kind == "decode":
        pairs = [[p.strip() for p in ln.split(",")] for ln in lines]
        if pairs and all(len(p) == 2 for p in pairs):
            return check(ex, [p[0] for p in pairs], waiting_for=[p[1] for p in pairs],
                         reveal=reveal)
        return check(ex, lines, reveal=reveal)
    if ex.kind == "find-bug":
        if lines and len(lines[0]) <= 2:
            return check(ex, choice=lines[0], scenario=lines[1:] or None)
        return check(ex, scenario=lines)
    return check(ex, lines)
