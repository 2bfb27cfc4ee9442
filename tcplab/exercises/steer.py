"""Exercise kind 3, *steer the wire*: reach a pair of states by choosing what the wire does.

A :class:`Target` is a setup (script lines of :mod:`tcplab.scenarios`) and a goal, a
(client, server) pair of states.  The learner answers with wire commands only -- deliver,
drop, duplicate, delay a segment in flight -- and :func:`check_target` plays them on the
model and compares the states it ends in; the feedback holds the RFC-style trace of the run
(:func:`tcplab.render.text.trace`).

>>> fb = check_target("both-closing", ["deliver client FIN,ACK", "deliver server FIN,ACK"])
>>> print(fb.message)
client CLOSING, server CLOSING: goal reached in 2 commands.
>>> fb = check_target("both-closing", "drop client FIN,ACK")
>>> print(fb.message)                    # doctest: +NORMALIZE_WHITESPACE
after your command the client is FIN-WAIT-1 and the server FIN-WAIT-1; the goal is client
CLOSING, server CLOSING. Still in flight: server FIN,ACK.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ..network import Network
from ..scenarios import run_script
from ..states import TcpState
from ..steps import TcpError
from .answers import AnswerError, plural, read_lines
from .feedback import Feedback, malformed
from ..script import WIRE_COMMANDS as SCRIPT_WIRE_COMMANDS
from .setups import HANDSHAKE, ISN

__all__ = ["WIRE_COMMANDS", "Target", "TARGETS", "check_target"]

S = TcpState

#: The commands of the script language that act on the wire only (not on a timer).
WIRE_COMMANDS = tuple(c for c in SCRIPT_WIRE_COMMANDS if c != "timer")


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
        limit = (f" Use at most {plural(self.max_actions, 'command')}." if self.max_actions else "")
        return (f"{self.story}\n\nAfter the setup (`{'`, `'.join(self.setup)}`) the client is "
                f"{net.state('client').rfc} and the server {net.state('server').rfc}; in "
                f"flight: {flight or 'nothing'}.\n\n**Goal:** client "
                f"{self.target[0].rfc}, server {self.target[1].rfc}.{limit} Commands: "
                + ", ".join(f"`{c}`" for c in self.allowed) + ".")


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("both-closing", "Both in CLOSING", HANDSHAKE + ("client close", "server close"),
           (S.CLOSING, S.CLOSING),
           "Both applications have called close(); both FINs are on the wire.",
           max_actions=3),
    Target("half-open", "A half-open handshake", ("server listen", "client connect"),
           (S.ESTABLISHED, S.SYN_RECEIVED),
           "The client has sent its SYN to a listening server. Make the client believe the "
           "connection is open while the server still waits for the handshake to finish.",
           max_actions=4),
    Target("fin-wait-2", "Half-closed", HANDSHAKE + ("client close",),
           (S.FIN_WAIT_2, S.CLOSE_WAIT),
           "The client has called close(); its FIN is on the wire. Bring the connection to "
           "the half-closed pair of states where the server may still send data.",
           max_actions=3),
    Target("time-wait-last-ack", "TIME-WAIT facing LAST-ACK",
           HANDSHAKE + ("client close", "deliver client FIN,ACK", "server close"),
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
        lines = read_lines(actions, "the answer")
    except AnswerError as exc:
        return malformed(ex_id, str(exc))
    allowed = ", ".join(t.allowed)
    for i, line in enumerate(lines, 1):
        try:
            head = shlex.split(line)[0]
        except ValueError:
            head = line.split()[0]
        if head not in t.allowed:
            return malformed(ex_id, f"command {i} {line!r}: only the wire may act here; the "
                             f"commands are {allowed} (e.g. 'deliver client FIN,ACK', "
                             "'drop server ACK')")
    if t.max_actions is not None and len(lines) > t.max_actions:
        return malformed(ex_id, f"{plural(len(lines), 'command')}; this exercise allows at "
                         f"most {t.max_actions}")
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
        what = "; ".join(st.event if st.kind == "wire" else
                         f"{st.actor}: {st.before}→{st.after}" if st.changed_state else
                         f"{st.actor} stays {st.after}" for st in net.history[before:])
        rows.append((str(i), line, net.state("client").rfc, net.state("server").rfc, what))
        marks.append(None)
    got = (net.state("client"), net.state("server"))
    ok = got == t.target
    right = sum(g is w for g, w in zip(got, t.target))
    from ..render.text import trace
    if ok:
        msg = (f"client {got[0].rfc}, server {got[1].rfc}: goal reached in "
               f"{plural(len(lines), 'command')}.")
    else:
        yours = "command" if len(lines) == 1 else "commands"
        msg = (f"after your {yours} the client is {got[0].rfc} and the server {got[1].rfc}; "
               f"the goal is client {t.target[0].rfc}, server {t.target[1].rfc}. Still in "
               f"flight: {_in_flight(net)}.")
    marks[-1] = ok
    return Feedback(ex_id, ok, right / 2, msg,
                    ("#", "command", "client", "server", "what happened"),
                    tuple(rows), tuple(marks), trace(net, times=False))

