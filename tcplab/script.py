"""The scenario script language: one user call or wire action per line; parse and run.

Built on :mod:`tcplab.network` (what a line does) and :mod:`tcplab.states`.  The live lab
(:mod:`tcplab.live`) plays the same scripts on real sockets, except the lines that steer a
single segment or timer (:data:`WIRE_COMMANDS`).

Script lines::

    server listen            client connect          client send hello
    client close             client shutdown         server abort
    client recv              settle                  run
    wait SECONDS             until SIDE STATE
    deliver [SIDE [FLAGS]]   drop SIDE FLAGS         duplicate SIDE FLAGS [+SECONDS]
    delay SIDE FLAGS SECONDS timer SIDE [NAME]

``FLAGS`` names a packet in flight from ``SIDE`` by its flags (``SYN``, ``SYN,ACK``,
``ACK``, ``FIN,ACK``, ``DATA``); the earliest such packet is meant.  ``settle`` delivers
everything in flight (and what that triggers); ``run`` also lets timers fire until the
network is quiet; ``until`` lets events happen until a side reaches a state.  ``#`` starts
a comment.  Seconds are virtual seconds, finite and >= 0.

>>> [c.kind for c in parse_script(["server listen", "client connect", "settle"])]
['call', 'call', 'settle']
>>> parse_script("settle now")
Traceback (most recent call last):
ValueError: script line 1 'settle now': settle takes no arguments, got 'now'
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Iterable

from .endpoint import CALLS
from .network import Network
from .segment import Flags
from .states import TcpState
from .steps import Step

__all__ = ["Command", "SCRIPT_CALLS", "WIRE_COMMANDS", "TIMERS", "parse_script", "run_script",
           "script_lines"]


#: Calls a script can make on a side: the RFC's user calls, shutdown(SHUT_WR), and recv().
SCRIPT_CALLS = (*CALLS, "shutdown", "recv")
#: Commands that steer single segments or timers: only the model can do them.
WIRE_COMMANDS = ("deliver", "drop", "duplicate", "delay", "timer")
#: The timers an endpoint runs (RFC 9293 §3.8; fin-wait-2 is Linux's tcp_fin_timeout).
TIMERS = ("retransmission", "persist", "time-wait", "fin-wait-2")
_COMMANDS = ("<side> <call>", *WIRE_COMMANDS, "settle", "run", "wait", "until")


@dataclass(frozen=True)
class Command:
    """One parsed script line (see the module docstring for the language)."""

    text: str                   # the line, without its comment
    kind: str                   # "call", "settle", "run", "wait", "until", or a WIRE_COMMAND
    number: int = 0             # line number in the script, from 1
    actor: str = ""             # the side: who calls, whose packet, whose timer, who waits
    call: str = ""              # for "call": one of SCRIPT_CALLS
    data: bytes = b""           # for "send"
    flags: str | None = None    # for wire commands: which packet ("SYN,ACK", "DATA", ...)
    seconds: float = 0.0        # for "wait", "delay", "duplicate"
    timer: str | None = None    # for "timer"
    state: TcpState | None = None  # for "until"


def script_lines(script: object) -> list[str]:
    """The lines of a script given as text, a list of lines, or anything with ``.script``.
    Raises ``TypeError`` for anything else (a line must be text)."""
    if isinstance(script, str):
        return script.splitlines()
    lines = getattr(script, "script", script)
    if isinstance(lines, str):
        return lines.splitlines()
    if not isinstance(lines, (list, tuple)) or not all(isinstance(x, str) for x in lines):
        raise TypeError(f"a script is text, a list of lines (str) or a Scenario, "
                        f"got {script!r:.80}")
    return list(lines)


def parse_script(script: object, names: Iterable[str] = ("client", "server")) -> list[Command]:
    """Parse a script into commands; a bad line is a ``ValueError`` naming it."""
    names = tuple(names)
    out = []
    for n, raw in enumerate(script_lines(script), 1):
        text = raw.split("#", 1)[0].strip()
        if text:
            try:
                out.append(_parse_line(text, n, names))
            except ValueError as exc:
                raise ValueError(f"script line {n} {text!r}: {exc}") from None
    return out


def _seconds(word: str, what: str) -> float:
    try:
        value = float(word.lstrip("+"))
    except ValueError:
        raise ValueError(f"{what} must be a number of seconds, not {word!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} takes a finite number of seconds >= 0, not {word!r}")
    return value


def _flags(word: str, head: str) -> str:
    """A FLAGS word, checked now so that a typo is reported at parse time."""
    if word.upper() != "DATA":
        try:
            for part in word.upper().split(","):
                if part != "DATA":
                    Flags.parse(part)
        except ValueError:
            raise ValueError(f"{head}: {word!r} is not a packet's flags; use SYN, SYN,ACK, ACK, "
                             "FIN,ACK, RST, DATA or DATA,ACK") from None
    return word


def _no_more(head: str, extra: list[str]) -> None:
    if extra:
        raise ValueError(f"{head} takes no more arguments, got {' '.join(extra)!r}")


def _parse_line(text: str, n: int, names: tuple[str, ...]) -> Command:
    words = shlex.split(text)
    head, rest = words[0], words[1:]
    if head in names:
        if not rest or rest[0] not in SCRIPT_CALLS:
            raise ValueError(f"after {head!r} comes a call: {', '.join(SCRIPT_CALLS)}")
        call, args = rest[0], rest[1:]
        if call == "send":
            if not args:
                raise ValueError(f"send needs the data to send, e.g. '{head} send hello'")
            return Command(text, "call", n, head, call, " ".join(args).encode())
        if args:
            raise ValueError(f"{call} takes no arguments, got {' '.join(args)!r}")
        return Command(text, "call", n, head, call)
    if head in WIRE_COMMANDS:
        side = rest[0] if rest else None
        if side is not None and side not in names:
            raise ValueError(f"{head}: no side {side!r}; the sides are {', '.join(names)}")
        if head == "deliver":
            _no_more(head, rest[2:])
            return Command(text, head, n, side or "",
                           flags=_flags(rest[1], head) if len(rest) > 1 else None)
        if head == "timer":
            if side is None:
                raise ValueError(f"timer needs a side, e.g. 'timer {names[0]}'")
            _no_more(head, rest[2:])
            if len(rest) > 1 and rest[1] not in TIMERS:
                raise ValueError(f"timer: no timer {rest[1]!r}; the timers are "
                                 f"{', '.join(TIMERS)}")
            return Command(text, head, n, side, timer=rest[1] if len(rest) > 1 else None)
        if len(rest) < 2:
            raise ValueError(f"{head} needs SIDE and FLAGS, e.g. '{head} {names[0]} SYN'")
        if head == "delay" and len(rest) < 3:
            raise ValueError(f"delay needs SECONDS, e.g. 'delay {names[1]} ACK 0.5'")
        _no_more(head, rest[2:] if head == "drop" else rest[3:])
        secs = _seconds(rest[2], head) if len(rest) > 2 else 0.0
        return Command(text, head, n, side or "", flags=_flags(rest[1], head), seconds=secs)
    if head in ("settle", "run"):
        if rest:
            raise ValueError(f"{head} takes no arguments, got {' '.join(rest)!r}")
        return Command(text, head, n)
    if head == "wait":
        if len(rest) != 1:
            raise ValueError("wait needs a number of seconds, e.g. 'wait 1.5'")
        return Command(text, head, n, seconds=_seconds(rest[0], "wait"))
    if head == "until":
        if len(rest) != 2 or rest[0] not in names:
            raise ValueError(f"until needs a side and a state, e.g. 'until {names[1]} "
                             "CLOSE-WAIT'")
        return Command(text, head, n, rest[0], state=TcpState.parse(rest[1]))
    raise ValueError(f"unknown command {head!r}; commands: {', '.join(_COMMANDS)}")


def run_script(net: Network, script: object) -> list[Step]:
    """Execute a script (see the module docstring) on ``net``; return the new steps."""
    start = len(net.history)
    for cmd in parse_script(script, net.names):
        try:
            _execute(net, cmd)
        except (KeyError, ValueError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            raise ValueError(f"script line {cmd.number} {cmd.text!r}: {msg}") from None
    return net.history[start:]


def _execute(net: Network, cmd: Command) -> None:
    kind = cmd.kind
    if kind == "call":
        if cmd.call == "shutdown":
            net.shutdown(cmd.actor)
        elif cmd.call == "recv":
            net.recv(cmd.actor)
        elif cmd.call == "send":
            net.send(cmd.actor, cmd.data)
        elif cmd.call == "close":
            net.close(cmd.actor)                 # the sockets API's close()
        else:
            net.call(cmd.actor, cmd.call)
    elif kind == "deliver":
        net.deliver(net.find(cmd.actor, cmd.flags).id if cmd.actor else None)
    elif kind == "drop":
        net.drop(net.find(cmd.actor, cmd.flags).id)
    elif kind == "duplicate":
        net.duplicate(net.find(cmd.actor, cmd.flags).id, cmd.seconds)
    elif kind == "delay":
        net.delay(net.find(cmd.actor, cmd.flags).id, cmd.seconds)
    elif kind == "timer":
        net.fire_timer(cmd.actor, cmd.timer)
    elif kind == "settle":
        net.settle()
    elif kind == "run":
        net.run()
    elif kind == "wait":
        net.wait(cmd.seconds)
    elif kind == "until":
        net.run(stop=lambda n: n.state(cmd.actor) is cmd.state)
        if net.state(cmd.actor) is not cmd.state:
            raise ValueError(f"the {cmd.actor} never reaches {cmd.state}")
