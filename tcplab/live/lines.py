"""A script as the live lab plays it: the lines, how each is made on the kernel, and the
model's half of the run.

A script is the model's own script language (:mod:`tcplab.scenarios`, parsed by
:func:`tcplab.scenarios.parse_script`), one line each::

    server listen        client connect       client send hello
    client close         client shutdown      client abort        client recv
    settle               run                  wait SECONDS        until server CLOSE-WAIT

Each call is the sockets API's, on both sides, as written: ``close`` is ``close()``
(:meth:`tcplab.network.Network.close`: with unread data it resets the connection, data
arriving later is answered with RST, an orphaned FIN-WAIT-2 times out), ``shutdown`` is
``shutdown(SHUT_WR)`` (:meth:`~tcplab.network.Network.shutdown`, the RFC's CLOSE), ``recv``
is ``recv()`` (:meth:`~tcplab.network.Network.recv`) -- the only line that reads.  Nothing
is rewritten: where a script closes with unread data, the kernel and the model both answer
with RST, and that is the lesson.

``settle`` waits until nothing is in flight and no state has changed for a moment; ``run``
does the same (the long timers, TIME-WAIT's 60 s, are not waited for: the last row of the
comparison, *eventually*, says what each timer will do).  ``wait SECONDS`` lets real time
pass (at most ``max_wait``).  ``until SIDE STATE`` lets things happen until that side is in
that state -- and not a moment longer, so the next call comes right after (the model runs
until the same moment).  The lines that steer single segments or timers
(:data:`tcplab.scenarios.WIRE_COMMANDS`) exist only in the model: :func:`parse_script`
refuses them with :class:`LiveUnsupported`.

Builds on the model only (:mod:`tcplab.scenarios`, :class:`tcplab.network.Network`); the
kernel's half is :mod:`tcplab.live.sockets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .. import scenarios as model_scenarios
from ..endpoint import Config
from ..network import Network
from ..states import TcpState
from ..steps import TcpError
from .kernel import MODEL_ERRORS

__all__ = ["LiveUnsupported", "Line", "LIVE_KINDS", "parse_script", "run_model",
           "model_config", "play_on_model", "MODEL_CALLS", "model_path", "before_until"]


class LiveUnsupported(ValueError):
    """A script line the real kernel cannot perform (e.g. dropping one chosen segment)."""


#: What a line can be, in the model's words (:class:`tcplab.scenarios.Command` ``kind``):
#: everything the model's script language has except :data:`~tcplab.scenarios.WIRE_COMMANDS`.
LIVE_KINDS = ("call", "settle", "run", "wait", "until")


@dataclass(frozen=True)
class Line:
    """One script line the kernel can play: the model's own parsed command
    (:class:`tcplab.scenarios.Command`), and whether the runner added it (the final settle).

    ``kind``, ``actor``, ``call`` (one of :data:`tcplab.scenarios.SCRIPT_CALLS`), ``data``,
    ``seconds`` and ``state`` are the command's, so the live lab and the model name every line
    alike.
    """

    command: model_scenarios.Command
    implicit: bool = False

    @property
    def text(self) -> str:
        return self.command.text

    @property
    def kind(self) -> str:
        return self.command.kind

    @property
    def actor(self) -> str:
        return self.command.actor

    @property
    def call(self) -> str:
        return self.command.call

    @property
    def data(self) -> bytes:
        return self.command.data

    @property
    def seconds(self) -> float:
        return self.command.seconds

    @property
    def state(self) -> TcpState | None:
        return self.command.state


def parse_script(script: object, names: Sequence[str] = ("client", "server")) -> list[Line]:
    """Parse a script with the model's parser (:func:`tcplab.scenarios.parse_script`: one
    language for the model and the kernel) into the lines the kernel can play, ending with a
    settle.

    Raises ``ValueError`` naming the line for a line the language does not have, and
    :class:`LiveUnsupported` for one that steers a single segment or timer.
    """
    if not (isinstance(script, str) or hasattr(script, "script") or (
            isinstance(script, (list, tuple)) and all(isinstance(x, str) for x in script))):
        raise TypeError("script is a scenario name, script text, a list of script lines or a "
                        f"scenario (anything with .script), not {type(script).__name__}")
    out: list[Line] = []
    for cmd in model_scenarios.parse_script(script, names):
        if cmd.kind not in LIVE_KINDS:
            raise LiveUnsupported(
                f"script line {cmd.number} {cmd.text!r}: '{cmd.kind}' steers a single segment "
                "or timer; that exists only in the model (the live lab runs the calls "
                f"{', '.join(model_scenarios.SCRIPT_CALLS)} and {', '.join(LIVE_KINDS[1:])})")
        out.append(Line(cmd))
    if not out or out[-1].kind not in ("settle", "run"):
        out.append(Line(model_scenarios.Command("settle", "settle"), implicit=True))
    return out


# ---------------------------------------------------------------------- the model

def model_config(fin_timeout: float) -> Config:
    """The model's configuration for a live run: Linux's timers (:meth:`Config.linux`)
    with the lab's ``tcp_fin_timeout`` (seconds)."""
    return Config.linux(fin_wait_2_timeout=float(fin_timeout))


def run_model(script: object, *, latency: float = 0.0, settle_each: bool = True,
              fin_timeout: float = 60.0, names: Sequence[str] = ("client", "server"),
              ) -> tuple[Network, list[tuple[int, int]]]:
    """Play ``script`` on the model; return the network and each line's (start, end) steps."""
    lines = parse_script(script, names)
    net = Network(tuple(names), latency=latency, config=model_config(fin_timeout))
    spans = []
    for i, line in enumerate(lines):
        start = len(net.history)
        play_on_model(net, line, settle_each and not before_until(lines, i))
        spans.append((start, len(net.history)))
    return net, spans


#: Each script call as the model's :class:`~tcplab.network.Network` method of the sockets API.
MODEL_CALLS = {"listen": "listen", "connect": "connect", "close": "close",
               "shutdown": "shutdown", "abort": "abort"}


def before_until(lines: Sequence[Line], i: int) -> bool:
    """Is line ``i`` followed by an ``until``?  Then it is not settled on loopback either."""
    return i + 1 < len(lines) and lines[i + 1].kind == "until"


def play_on_model(net: Network, line: Line, settle_each: bool) -> str:
    """Apply one line to the model; return the result text (or the model's error).

    The calls are the sockets API's (:data:`MODEL_CALLS`): ``close`` is ``close()``,
    ``shutdown`` is ``shutdown(SHUT_WR)``, ``recv`` reads what has arrived.  ``settle_each``
    settles the model after a call, as the loopback lab's kernel is.  ``run`` settles
    without letting the long timers run out, as on the kernel (the run's *eventually* row
    tells what they will do).
    """
    result = "ok"
    if line.kind == "call":
        try:
            if line.call == "recv":
                result = repr(net.recv(line.actor))
            elif line.call == "send":
                net.send(line.actor, line.data)
            else:
                step = getattr(net, MODEL_CALLS[line.call])(line.actor)
                if step.error:
                    result = MODEL_ERRORS.get(step.error, step.error)
        except TcpError as exc:
            result = f"error: {exc.message}"
        if settle_each:
            net.settle()
    elif line.kind in ("settle", "run"):
        net.settle()
    elif line.kind == "wait":
        net.wait(line.seconds)
    elif line.kind == "until":
        net.run(stop=lambda n: n.state(line.actor) is line.state)
        if net.state(line.actor) is not line.state:
            result = f"{line.actor} never reaches {line.state}"
    return result


def model_path(net: Network, actor: str, start: int, end: int) -> list[TcpState]:
    """The states ``actor`` entered in the model's steps ``start..end`` (from the steps'
    typed ``transitions``), in order."""
    path = []
    for st in net.history[start:end]:
        if st.actor == actor:
            path.extend(t.target for t in st.transitions)
    return path

