"""Exercise kind 1, *predict the states*: both endpoints' states after each event of a schedule.

A :class:`Schedule` is a setup and a list of events in the script language of
:mod:`tcplab.scenarios`; the learner writes down both states after every event, and
:func:`check_schedule` grades each one with :func:`tcplab.exercises.checks.check_prediction`
(the check the stepper's predict mode uses) against the model's own step records.

>>> fb = check_schedule("simultaneous-open", [("SYN-SENT", "CLOSED")] * 6)
>>> fb.ok, fb.score
(False, 0.3333333333333333)
>>> print(fb.message)                    # doctest: +NORMALIZE_WHITESPACE
4 of 12 states right. Look again at events 2, 3, 4, 5, 6. First, at event 2 (`server
connect`): the server is not where you said. Hint: RFC 9293 §3.10.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..endpoint import Config
from ..network import Network
from ..scenarios import run_script
from ..states import TcpState
from ..steps import Step
from .answers import AnswerError, describe_value, read_list, read_state
from .checks import check_prediction
from .feedback import Feedback, malformed
from .setups import HANDSHAKE, ISN

__all__ = ["Schedule", "SCHEDULES", "check_schedule", "PAIR_EXAMPLE"]


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
        setup=HANDSHAKE,
        story="The connection is open. Both applications call close() before either FIN "
              "arrives, so the two FINs cross on the wire (RFC 9293 figure 13)."),
    Schedule(
        "lost-final-ack", "The last ACK is lost",
        ("client close", "deliver client FIN,ACK", "deliver server ACK", "server close",
         "deliver server FIN,ACK", "drop client ACK", "timer server", "deliver server FIN,ACK",
         "deliver client ACK", "timer client"),
        setup=HANDSHAKE,
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

#: An example of a predict answer, for messages and prompts.
PAIR_EXAMPLE = "[('SYN-SENT', 'LISTEN'), ('SYN-SENT', 'SYN-RECEIVED'), ...]"


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
    raise AnswerError(f"{what} is {describe_value(item, 60)}; give a pair (client state, "
                      "server state), e.g. ('SYN-SENT', 'LISTEN')")


def check_schedule(schedule: "str | Schedule", answer: object, *, reveal: bool = False,
                   exercise_id: str | None = None) -> Feedback:
    """Check predictions of both endpoints' states after each event of a schedule.

    ``answer`` has one entry per event: a pair ``(client_state, server_state)``, a dict
    ``{"client": ..., "server": ...}`` or a string ``"FIN-WAIT-1, ESTABLISHED"``.  Each state
    is checked by :func:`tcplab.exercises.checks.check_prediction` against the model's step record.
    With ``reveal`` the table shows the expected states and the explanation.
    """
    sch = SCHEDULES[schedule] if isinstance(schedule, str) else schedule
    ex_id = exercise_id or f"predict/{sch.name}"
    try:
        items = read_list(answer, "the answer", len(sch.events), PAIR_EXAMPLE)
        pairs = [_read_pair(item, i) for i, item in enumerate(items, 1)]
        for i, pair in enumerate(pairs, 1):
            for who, value in pair.items():
                read_state(value, f"prediction {i} ({who})")
    except AnswerError as exc:
        return malformed(ex_id, str(exc))
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
        msg = ("the prediction is right." if len(sch.events) == 1 else
               f"all {len(sch.events)} predictions are right.")
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

