"""Run one script twice -- on the model and on the real kernel -- and compare.

A script is the same text the model's scenarios use (:mod:`tcplab.scenarios`), one line
each::

    server listen        client connect       client send hello
    client close         client shutdown      client abort        client recv
    settle               run                  wait SECONDS        until server CLOSE-WAIT

``close`` is the RFC's CLOSE: "I have nothing more to send".  On the kernel it becomes
``close()`` -- unless the peer still sends data later in the script, then
``shutdown(SHUT_WR)``, because after ``close()`` Linux answers arriving data with RST.
``shutdown`` always means ``shutdown(SHUT_WR)``.  Both are the model's ``close``.

On the kernel every call is made on a real, non-blocking socket; a listening side accepts
its connection as soon as it is there, and every side reads whatever arrives (like an
application with a read loop) -- so EOF and ECONNRESET are seen as an application sees them.
Meanwhile a sampler thread looks up the states of exactly the sockets involved, by their
four-tuples, thousands of times a second (:class:`tcplab.live.kernel.Diag`).

``settle`` waits until nothing is in flight and no state has changed for a moment; ``run``
does the same (the long timers, TIME-WAIT's 60 s, are not waited for: the last row of the
comparison, *eventually*, says what each timer will do).  ``wait SECONDS`` lets real time
pass (at most ``max_wait``).  ``until SIDE STATE`` lets things happen until that side is in
that state -- and not a moment longer, so the next call comes right after (the model runs
until the same moment).  Lines that steer single segments (``deliver``, ``drop``,
``duplicate``, ``delay``, ``timer``) exist only in the model.

On loopback every segment is delivered within the system call that sends it, so the model
is settled after every line too; in the namespace lab, lines follow each other at once and
segments really are in flight for ``delay`` seconds, as in the model with ``latency=delay``.
"""

from __future__ import annotations

import errno
import html
import platform
import socket
import struct
import textwrap
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from .. import scenarios as scenario_script
from ..endpoint import Config
from ..network import Network
from ..segment import Segment
from ..states import TcpState
from ..steps import TcpError
from .kernel import MODEL_ERRORS, KernelSocket, errno_name
from .lab import Lab, LoopbackLab, close_quietly, open_lab
from .netns import WireSegment

__all__ = ["run", "run_model", "parse_script", "Line", "LiveRun", "LineResult",
           "Difference", "LiveUnsupported", "LINUX_DIFFERENCES", "TRANSIENT_STATES"]

S = TcpState

#: States that only wait for the peer's answer: microseconds on loopback.
TRANSIENT_STATES = (S.SYN_SENT, S.SYN_RECEIVED, S.FIN_WAIT_1, S.LAST_ACK, S.CLOSING)

#: Where Linux and the RFC/model differ, and why.  Keys are ``Difference.kind``.
LINUX_DIFFERENCES = {
    "transient": (
        "On loopback a segment is delivered inside the system call that sends it, so a "
        "state that only waits for the peer's answer (SYN-SENT, SYN-RECEIVED, LAST-ACK, "
        "CLOSING) lasts microseconds and usually falls between two samples. (FIN-WAIT-1 "
        "waits for an ACK that Linux often delays, so it is usually seen.) The namespace lab "
        "delays every segment, and then all of them are seen."),
    "listener": (
        "Linux keeps the listening socket in LISTEN for the whole time (it can accept more "
        "connections). The connection is a separate object: first a *request sock* "
        "(TCP_NEW_SYN_RECV, shown as SYN-RECV) made when the SYN arrives, then a full "
        "socket, created when the handshake's ACK arrives and handed out by accept(). The "
        "model, like RFC 9293, has one TCB that moves LISTEN -> SYN-RECEIVED -> ESTABLISHED."),
    "time-wait": (
        "Linux's TIME-WAIT lasts a fixed 60 s (TCP_TIMEWAIT_LEN, compiled in; no sysctl), "
        "not 2*MSL = 4 minutes as in RFC 9293. The full socket is freed at once and a small "
        "TIME-WAIT mini-socket keeps the four-tuple; /proc/net/tcp shows its timer (tr=3) "
        "counting down."),
    "orphan-fin-wait-2": (
        "After close(), a socket in FIN-WAIT-2 is an orphan (no file descriptor) and Linux "
        "does not wait for ever: it turns it into a mini-socket whose timer is "
        "net.ipv4.tcp_fin_timeout (60 s by default); then it is gone. After "
        "shutdown(SHUT_WR) the application still holds the socket and FIN-WAIT-2 has no "
        "timer. RFC 9293 has no such timeout."),
    "fin-timeout-orphans-only": (
        "A model without Network.shutdown() applies tcp_fin_timeout to every FIN-WAIT-2 "
        "endpoint (Config.linux()); Linux applies it only to orphans. This side used "
        "shutdown(SHUT_WR) and still has its socket, so the kernel keeps it in FIN-WAIT-2 "
        "with no timer. (The model now tells close() and shutdown() apart: the live lab "
        "calls Network.shutdown() where the kernel gets shutdown(SHUT_WR).)"),
    "fin-ack-together": (
        "FIN-WAIT-1 went straight to TIME-WAIT: the peer's FIN also acknowledged our FIN "
        "(RFC 9293 figure 5, note 2). Linux does not always ACK a FIN at once -- the ACK may "
        "be delayed (delayed ACK) -- and when the peer application closes within that "
        "moment, the ACK rides on its FIN. The model acknowledges every FIN immediately, so "
        "it passes through FIN-WAIT-2."),
    "rst-after-timeout": (
        "The orphaned FIN-WAIT-2 socket timed out and was deleted. The peer's FIN then "
        "reached a port with no connection and was answered with RST (RFC 9293 §3.10.7.1)."),
    "fin-timeout-floor": (
        "Linux's orphaned FIN-WAIT-2 timer is max(tcp_fin_timeout, 3.5 x RTO) (tcp_fin_time() "
        "in include/net/tcp.h): on a path with a long round trip it is longer than "
        "tcp_fin_timeout. The model uses tcp_fin_timeout alone."),
    "timer-pending": (
        "The model let a timer run out in virtual time; the kernel's timer is still running "
        "in real time (see the time left)."),
    "unexplained": "The model and the kernel disagree here, and no known Linux difference "
                   "explains it.",
}


class LiveUnsupported(ValueError):
    """A script line the real kernel cannot perform (e.g. dropping one chosen segment)."""


# ---------------------------------------------------------------------- scripts

@dataclass(frozen=True)
class Line:
    """One script line, parsed."""

    text: str
    kind: str                   # "call", "settle", "run", "wait", "until"
    actor: str = ""
    call: str = ""              # listen connect send close shutdown abort recv
    data: bytes = b""
    seconds: float = 0.0
    implicit: bool = False      # added by the runner (the final settle)
    state: TcpState | None = None  # for "until"

    @property
    def model_call(self) -> str:
        return "close" if self.call == "shutdown" else self.call


def parse_script(script: object, names: Sequence[str] = ("client", "server")) -> list[Line]:
    """Parse a script (:func:`tcplab.scenarios.parse_script`: one language for the model and
    the kernel) into the lines the kernel can play, ending with a settle."""
    out: list[Line] = []
    for cmd in scenario_script.parse_script(script, names):
        if cmd.kind in scenario_script.WIRE_COMMANDS:
            raise LiveUnsupported(
                f"script line {cmd.number} {cmd.text!r}: '{cmd.kind}' steers a single segment "
                "or timer; that exists only in the model (the live lab runs calls, settle, "
                "run, wait and until)")
        out.append(Line(cmd.text, cmd.kind, cmd.actor, cmd.call, cmd.data, cmd.seconds,
                        state=cmd.state))
    if not out or out[-1].kind not in ("settle", "run"):
        out.append(Line("settle", "settle", implicit=True))
    return out


def close_policy(lines: Sequence[Line], i: int) -> str:
    """How line ``i`` (a close) is made on the kernel: ``"close"`` or ``"shutdown"``."""
    line = lines[i]
    if line.call == "shutdown":
        return "shutdown"
    for later in lines[i + 1:]:
        if later.kind == "call" and later.actor != line.actor and later.call == "send":
            return "shutdown"
    return "close"


# ---------------------------------------------------------------------- the model

def model_config(fin_timeout: float) -> Config:
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
        _model_line(net, line, settle_each and not _before_until(lines, i),
                    shutdown=line.kind == "call" and line.model_call == "close"
                    and close_policy(lines, i) == "shutdown")
        spans.append((start, len(net.history)))
    return net, spans


def _before_until(lines: Sequence[Line], i: int) -> bool:
    """Is line ``i`` followed by an ``until``?  Then it is not settled on loopback either."""
    return i + 1 < len(lines) and lines[i + 1].kind == "until"


def _model_line(net: Network, line: Line, settle_each: bool, shutdown: bool = False) -> str:
    """Apply one line; return the result text (or the model's error).

    ``shutdown``: the kernel makes this close with ``shutdown(SHUT_WR)``; tell the model so
    (if it knows the difference), since Linux times out only an orphaned FIN-WAIT-2.
    """
    result = "ok"
    if line.kind == "call":
        try:
            if line.call == "recv":
                data = net[line.actor].recv()
                result = repr(data)
            elif line.call == "send":
                net.send(line.actor, line.data)
            else:
                if shutdown and hasattr(net, "shutdown"):
                    step = net.shutdown(line.actor)
                else:
                    step = net.call(line.actor, line.model_call)
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


def _model_path(net: Network, actor: str, start: int, end: int) -> list[TcpState]:
    path = []
    for st in net.history[start:end]:
        if st.actor == actor:
            path.extend(t.target for t in st.transitions)
    return path


# ---------------------------------------------------------------------- the kernel

@dataclass
class _Side:
    name: str
    peer: str
    ip: str
    port: int
    var: str
    sock: socket.socket | None = None        # bound at the start: listener or connector
    conn: socket.socket | None = None        # the connection (accepted, or sock after connect)
    listening: bool = False
    connected: bool = False
    conn_var: str = ""
    received: bytearray = field(default_factory=bytearray)
    eof: bool = False
    dead: bool = False                        # conn reset/refused/closed: stop reading
    errors: list[tuple[float, str, str]] = field(default_factory=list)
    closed_how: str = ""                      # "", "close", "shutdown", "abort"
    read: bool = True
    events: list[tuple[float, str]] = field(default_factory=list)  # what the application saw


class _Sampler:
    """A thread that looks up the tracked four-tuples again and again; keeps the changes."""

    def __init__(self, lab: Lab, entities: dict[tuple[str, str], tuple], t0: float,
                 interval: float) -> None:
        self.lab = lab
        self.entities = entities     # (actor, "conn"|"listener") -> (local, remote)
        self.t0 = t0
        self.interval = interval
        self.current: dict[tuple[str, str], KernelSocket | None] = {k: None for k in entities}
        self.timeline: list[tuple[float, tuple[str, str], KernelSocket | None]] = []
        self.last_change = time.monotonic()
        self.samples = 0
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tcplab-sampler", daemon=True)

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def sample(self) -> None:
        with self._lock:
            now = time.monotonic()
            found: dict[tuple[str, str], KernelSocket | None] = {}
            for actor in dict.fromkeys(k[0] for k in self.entities):
                keys = [k for k in self.entities if k[0] == actor]
                found.update(zip(keys, self.lab.lookup_many(actor, [self.entities[k]
                                                                    for k in keys])))
            for key in self.entities:
                ks = found[key]
                old = self.current[key]
                self.current[key] = ks
                if (old and (old.code, old.kind)) != (ks and (ks.code, ks.kind)):
                    self.timeline.append((now - self.t0, key, ks))
                    self.last_change = now
            self.samples += 1

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                self.sample()
                self._stop.wait(self.interval)
        except BaseException as exc:   # pragma: no cover - surfaced by stop()
            self.errors.append(exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.errors:
            raise RuntimeError(f"sampling the kernel's TCP table failed: {self.errors[0]}")


def _actor_states(timeline: list[tuple[float, tuple[str, str], KernelSocket | None]],
                  actor: str) -> list[tuple[float, TcpState, KernelSocket | None]]:
    """The actor's state over time: its connection if it exists, else its listener."""
    conn = lst = None
    conn_seen = False
    out: list[tuple[float, TcpState, KernelSocket | None]] = []
    for t, (who, what), ks in timeline:
        if who != actor:
            continue
        if what == "conn":
            conn = ks
            conn_seen = conn_seen or ks is not None
        else:
            lst = ks
        if conn is not None:
            state, src = conn.state or S.CLOSED, conn
        elif conn_seen:
            state, src = S.CLOSED, None
        elif lst is not None:
            state, src = lst.state or S.CLOSED, lst
        else:
            state, src = S.CLOSED, None
        if not out or out[-1][1] is not state:
            out.append((t, state, src))
    return out


@dataclass(frozen=True)
class LineResult:
    """One script line as it happened on both sides."""

    line: Line
    code: str                                   # the socket call(s) made ("" for settle)
    result: str                                 # kernel result: ok, EINPROGRESS, ECONNREFUSED
    model_result: str
    t_start: float
    t_end: float
    kernel: dict[str, TcpState]                 # each actor's state at the end of the line
    model: dict[str, TcpState]
    kernel_path: dict[str, tuple[TcpState, ...]]  # states entered during the line
    model_path: dict[str, tuple[TcpState, ...]]
    events: tuple[str, ...] = ()                 # what the applications saw meanwhile
    comparable: bool = True      # False on loopback for a call not settled (before "until")

    @property
    def outcome(self) -> str:
        """The call's result and what the applications saw during the line."""
        return "; ".join(x for x in (self.result, *self.events) if x)


@dataclass(frozen=True)
class Difference:
    """Where the kernel's sequence differs from the model's -- or a Linux fact worth
    knowing -- with the explanation (``kind`` is a key of :data:`LINUX_DIFFERENCES`)."""

    actor: str
    kind: str
    text: str
    model: tuple[TcpState, ...] = ()
    kernel: tuple[TcpState, ...] = ()

    @property
    def explained(self) -> bool:
        return self.kind != "unexplained"

    def __str__(self) -> str:
        mark = "explained" if self.explained else "UNEXPLAINED"
        return f"[{mark}: {self.kind}] {self.actor}: {self.text}"


def _fmt_path(path: Iterable[TcpState]) -> str:
    return " -> ".join(s.rfc for s in path) or "-"


def _dedup(path: Iterable[TcpState]) -> list[TcpState]:
    out: list[TcpState] = []
    for s in path:
        if not out or out[-1] is not s:
            out.append(s)
    return out


class LiveRun:
    """The result of :func:`run`: the same script on the kernel and on the model."""

    def __init__(self, *, name: str, lines: list[Line], results: list[LineResult],
                 mode: str, delay: float, net: Network, timeline: list, segments: list,
                 sides: dict[str, _Side], final: dict[str, KernelSocket | None],
                 listener_final: dict[str, KernelSocket | None], fin_timeout: float,
                 samples: int, duration: float, model_errors: dict[str, list[str]],
                 model_received: dict[str, bytes], proc_lines: list[str],
                 t0: float = 0.0, reader: str = "sock_diag") -> None:
        self.name = name
        self.t0_wall = t0              # time.monotonic() at the run's time 0
        self._lab: Lab | None = None
        self.lines = lines
        self.results = results
        self.mode = mode
        self.delay = delay
        self.model = net
        self.timeline = timeline
        self.segments: list[WireSegment] = segments
        self.final = final
        self.listener_final = listener_final
        self.fin_timeout = fin_timeout
        self.samples = samples
        self.duration = duration
        self.names = net.names
        self.kernel_errors = {n: [e[1] for e in s.errors] for n, s in sides.items()}
        self.kernel_received = {n: bytes(s.received) for n, s in sides.items()}
        self.model_errors = model_errors
        self.model_received = model_received
        self.closed_how = {n: s.closed_how for n, s in sides.items()}
        self.listened = {n: s.listening for n, s in sides.items()}
        self.ports = {n: (s.ip, s.port) for n, s in sides.items()}
        self.proc_lines = proc_lines
        self.kernel_version = platform.release()
        self.reader = reader
        self.differences = self._compare()

    # -- sequences ---------------------------------------------------------------------
    def sequence(self, actor: str, source: str = "kernel") -> list[TcpState]:
        """The actor's states in order (repeats collapsed), starting from CLOSED."""
        if source == "kernel":
            states = [s for _, s, _ in _actor_states(self.timeline, actor)]
        elif source == "model":
            states = [s for r in self.results for s in r.model_path[actor]]
        else:
            raise ValueError("source is 'kernel' or 'model'")
        return _dedup([S.CLOSED, *states])

    def checkpoints(self, actor: str, source: str = "kernel") -> list[TcpState]:
        """The actor's state at the end of every script line."""
        return [(r.kernel if source == "kernel" else r.model)[actor] for r in self.results]

    def kernel_states(self, actor: str) -> list[tuple[float, TcpState, KernelSocket | None]]:
        """``(seconds since the start, state, kernel row)`` for every state change seen."""
        return _actor_states(self.timeline, actor)

    def durations(self, actor: str) -> list[tuple[TcpState, float]]:
        """How long each observed state lasted (the last one: until the end of the run)."""
        ch = self.kernel_states(actor)
        out = []
        for i, (t, s, _) in enumerate(ch):
            end = ch[i + 1][0] if i + 1 < len(ch) else self.duration
            out.append((s, end - t))
        return out

    @property
    def unexplained(self) -> list[Difference]:
        return [d for d in self.differences if not d.explained]

    @property
    def agrees(self) -> bool:
        """True if every difference between kernel and model is a documented one."""
        return not self.unexplained

    # -- comparison --------------------------------------------------------------------
    def _compare(self) -> list[Difference]:
        diffs: list[Difference] = []
        for actor in self.names:
            diffs += self._compare_actor(actor)
        return diffs

    def _fin_wait_2_timer(self, actor: str) -> float | None:
        """The timer an orphaned FIN-WAIT-2 mini-socket started with (seconds), if any."""
        for t, s, ks in self.kernel_states(actor):
            if s is S.FIN_WAIT_2 and ks is not None and ks.kind == "timewait" and ks.timer:
                return ks.expires
        return None

    def _compare_actor(self, actor: str) -> list[Difference]:
        out: list[Difference] = []
        K = self.sequence(actor, "kernel")
        M = self.sequence(actor, "model")
        final = self.final.get(actor)
        if self.mode == "loopback":
            # States the model passes through but the kernel holds only for microseconds.
            missed = [s for s in M if s in TRANSIENT_STATES and s not in K]
            for state in _dedup(missed):
                out.append(Difference(actor, "transient",
                                      f"{state} not seen on the kernel: on loopback it lasts "
                                      "microseconds (the model passes through it).", (state,)))
            M = _dedup([s for s in M if s not in missed])
        fw2 = self._fin_wait_2_timer(actor)
        floor = fw2 is not None and fw2 > self.fin_timeout + 0.25
        if floor:
            out.append(Difference(actor, "fin-timeout-floor",
                                  f"the orphaned FIN-WAIT-2 timer started at {fw2:.2f} s, not "
                                  f"tcp_fin_timeout = {self.fin_timeout:g} s: Linux waits at "
                                  "least 3.5 retransmission timeouts (tcp_fin_time()). The "
                                  "model's timer uses tcp_fin_timeout alone, so from here on "
                                  "they differ.", (), (S.FIN_WAIT_2,)))
        ops = _align(M, K)
        path_diffs: list[Difference] = []
        for i, (op, state) in enumerate(ops):
            if op == "=":
                continue
            prev_k = next((s for o, s in reversed(ops[:i]) if o in "=k"), None)
            next_k = next((s for o, s in ops[i + 1:] if o in "=k"), None)
            seen = f"(kernel: {_fmt_path(K)}; model: {_fmt_path(M)})"
            if floor and (state in (S.CLOSED, S.TIME_WAIT)):
                continue                      # explained by fin-timeout-floor above
            if op == "m":          # the model passed through it, the kernel was not seen in it
                if state is S.FIN_WAIT_2 and prev_k is S.FIN_WAIT_1 and next_k is S.TIME_WAIT:
                    path_diffs.append(Difference(
                        actor, "fin-ack-together",
                        "FIN-WAIT-1 -> TIME-WAIT directly: the peer's FIN carried the ACK of "
                        "ours" + self._fin_ack_evidence(actor) + "; the model passes through "
                        "FIN-WAIT-2.", (S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT),
                        (S.FIN_WAIT_1, S.TIME_WAIT)))
                elif state is S.CLOSED and i == len(ops) - 1 and final is not None \
                        and final.timer:
                    path_diffs.append(Difference(
                        actor, "timer-pending", f"the model's timer has run out (CLOSED); the "
                        f"kernel is still in {final.what()}.", (state,),
                        (final.state,) if final.state else ()))
                elif state is S.CLOSED and i == len(ops) - 1 and final is not None and \
                        final.state is S.FIN_WAIT_2 and final.kind == "full" and \
                        not final.timer and self.closed_how.get(actor) == "shutdown":
                    path_diffs.append(Difference(
                        actor, "fin-timeout-orphans-only", "the model's FIN-WAIT-2 timer ran "
                        "out (CLOSED); the kernel stays in FIN-WAIT-2 with no timer, because "
                        "the application still holds the socket after shutdown(SHUT_WR).",
                        (state,), (S.FIN_WAIT_2,)))
                else:
                    path_diffs.append(Difference(
                        actor, "unexplained", f"the model passes through {state}, the kernel "
                        f"was never seen in it {seen}.", (state,), ()))
            else:                  # seen on the kernel, not in the model
                if state is S.FIN_WAIT_2 and i == len(ops) - 1 and \
                        self.closed_how.get(actor) == "shutdown" and final is not None and \
                        final.kind == "full" and not final.timer:
                    path_diffs.append(Difference(
                        actor, "fin-timeout-orphans-only", "the kernel stays in FIN-WAIT-2 (no "
                        "timer: the application still holds the socket after "
                        "shutdown(SHUT_WR)); the model timed it out.", (), (state,)))
                else:
                    path_diffs.append(Difference(
                        actor, "unexplained", f"the kernel was seen in {state}, the model never "
                        f"is {seen}.", (), (state,)))
        out += path_diffs
        # Same path, but not at the same time: compare the state at the end of each line.
        if not path_diffs and not floor:
            for r in self.results:
                k, m = r.kernel[actor], r.model[actor]
                if k is not m and r.comparable and \
                        not (self.mode == "loopback" and k in TRANSIENT_STATES):
                    out.append(Difference(actor, "unexplained",
                                          f"after '{r.line.text}' the kernel is in {k}, the "
                                          f"model in {m}.", (m,), (k,)))
        # Errors and data, as the application sees them.
        kerr = [e for e in self.kernel_errors[actor] if e in MODEL_ERRORS.values()]
        merr = self.model_errors[actor]
        if sorted(set(kerr)) != sorted(set(merr)):
            out.append(Difference(actor, "unexplained",
                                  f"the application got errors {kerr or 'none'} on the kernel, "
                                  f"{merr or 'none'} in the model."))
        if self.kernel_received[actor] != self.model_received[actor]:
            out.append(Difference(actor, "unexplained",
                                  f"received {self.kernel_received[actor]!r} on the kernel, "
                                  f"{self.model_received[actor]!r} in the model."))
        out += self._linux_notes(actor)
        return out

    def _fin_ack_evidence(self, actor: str) -> str:
        peer = self.model.peer(actor)
        for w in self.segments:
            if w.src == peer and w.segment.fin:
                mine = [x for x in self.segments if x.src == actor and x.segment.fin]
                if mine and w.segment.has_ack and \
                        w.segment.ack == (mine[0].segment.seq + mine[0].segment.len) % 2 ** 32:
                    return (f" (on the wire: {peer}'s FIN {w.segment.tcpdump()} acknowledges "
                            f"{actor}'s FIN {mine[0].segment.tcpdump()})")
        return " (delayed ACK)"

    def _linux_notes(self, actor: str) -> list[Difference]:
        out = []
        ch = self.kernel_states(actor)
        kinds = {(s, ks.kind) for _, s, ks in ch if ks is not None}
        if self.listened.get(actor) and any(s is not S.LISTEN for _, s, _ in ch):
            lst = self.listener_final.get(actor)
            seen_req = (S.SYN_RECEIVED, "request") in kinds
            out.append(Difference(actor, "listener",
                                  "the listening socket stayed in LISTEN"
                                  + (" (it still is)" if lst is not None else "")
                                  + "; the connection was a separate socket"
                                  + (": a request sock in SYN-RECV was seen, then the full "
                                     "socket" if seen_req else " (its request sock lived too "
                                     "briefly to be seen)") + "."))
        if (S.TIME_WAIT, "timewait") in kinds:
            final = self.final.get(actor)
            left = (f"; {final.expires:.1f} s of it are left at the end of the run"
                    if final is not None and final.state is S.TIME_WAIT else "")
            out.append(Difference(actor, "time-wait",
                                  "TIME-WAIT is a mini-socket with a fixed 60 s timer (the model "
                                  "with Config.linux() uses 60 s too; RFC 9293 says 2*MSL)"
                                  + left + "."))
        if (S.FIN_WAIT_2, "timewait") in kinds:
            out.append(Difference(actor, "orphan-fin-wait-2",
                                  f"after close() the FIN-WAIT-2 socket became a mini-socket "
                                  f"with a tcp_fin_timeout timer ({self.fin_timeout:g} s)."))
        peer = self.model.peer(actor)
        fins = [w for w in self.segments if w.src == peer and w.segment.fin]
        rsts = [w for w in self.segments if w.src == actor and w.segment.rst]
        if fins and rsts and any(r.sent >= fins[-1].arrived - 0.01 for r in rsts) and \
                any(s is S.FIN_WAIT_2 for _, s, _ in ch):
            out.append(Difference(actor, "rst-after-timeout",
                                  f"{peer}'s FIN arrived after {actor}'s FIN-WAIT-2 had timed "
                                  "out: the kernel answered RST."))
        return out

    # -- after the run -----------------------------------------------------------------
    def lookup(self, actor: str) -> KernelSocket | None:
        """Look ``actor``'s connection up in the kernel *now* (after the run).

        On loopback the kernel's table is this machine's, so TIME-WAIT and orphaned
        FIN-WAIT-2 mini-sockets can be watched after the run; the namespace lab's table
        exists only while its lab is open (pass ``lab=`` to :func:`run`).
        """
        local = self.ports[actor]
        remote = self.ports[self.model.peer(actor)]
        lab = self._lab
        if self.mode != "loopback":
            if lab is None or lab.closed:
                raise LiveUnsupported("the namespaces of this run are gone; keep a lab open "
                                      "(with live.NamespaceLab() as lab: live.run(..., lab)) "
                                      "to look at its sockets afterwards")
            return lab.lookup(actor, local, remote)
        from .kernel import Diag
        with Diag() as diag:
            return diag.lookup(local, remote)

    def watch(self, actor: str = "client", seconds: float = 3.0, every: float = 1.0,
              until_gone: bool = False, out: "Callable[[str], None] | None" = print
              ) -> list[tuple[float, KernelSocket | None]]:
        """Print ``actor``'s kernel state and timer every ``every`` s for ``seconds`` s
        (or, with ``until_gone``, until the socket has left the table, at most 70 s)."""
        t0 = time.monotonic()
        seen: list[tuple[float, KernelSocket | None]] = []
        n = int((70.0 if until_gone else seconds) / every + 1e-6)
        for i in range(n + 1):
            time.sleep(max(0.0, t0 + i * every - time.monotonic()))
            ks = self.lookup(actor)
            t = time.monotonic() - t0
            seen.append((t, ks))
            if out is not None:
                out(f"{t:5.1f} s  {actor}: " + (ks.what() if ks else "gone (CLOSED)"))
            if until_gone and ks is None:
                break
        return seen

    # -- segments ----------------------------------------------------------------------
    def model_segments(self) -> list[tuple[float, str, Segment]]:
        """``(time sent, sender, segment)`` for every segment the model sent, in order."""
        net = self.model
        pk = sorted([p for p, _ in net.delivered] + net.in_flight + net.lost,
                    key=lambda p: p.id)
        return [(p.sent_at, p.src, p.segment) for p in pk]

    def wire(self) -> str:
        """The real segments next to the model's, aligned, with notes on the differences
        (namespace lab only: on loopback the lab does not see the segments)."""
        if self.mode == "loopback":
            return ("On loopback the lab does not see the segments (run with privileged=True to "
                    "record them).")

        def label(src: str, seg: Segment) -> str:
            data = f" {len(seg.data)} bytes" if seg.data else ""
            return f"{src:>7} {seg.flags.tcpdump()}{data}"

        def order(items: list[tuple[float, str, Segment]]) -> list[str]:
            # Segments both sides send at about the same moment have no order: sort them
            # by sender within slots of half a one-way delay.
            slot = max(self.delay / 2, 1e-3)
            return [label(src, seg) for t, src, seg in
                    sorted(items, key=lambda x: (int(x[0] / slot + 0.5), x[1]))]
        k = order([(w.sent, w.src, w.segment) for w in self.segments if not w.dropped])
        m = order(self.model_segments())
        ops = _lcs(k, m)
        width = max([len(x) for x in k] + [len("kernel")]) + 2
        lines = [f"    {'kernel':<{width}}   model"]
        notes = []
        for i, (op, kx, mx) in enumerate(ops):
            mark = {"=": " ", "k": "+", "m": "-"}[op]
            lines.append(f"  {mark} {kx or '':<{width}}   {mx or ''}")
            if op != "=":
                note = _segment_note(op, kx or mx or "", ops, i)
                if note and note not in notes:
                    notes.append(note)
        lines.append("  (+ only on the kernel, - only in the model)")
        lines += [textwrap.fill(n, 100, initial_indent="  * ", subsequent_indent="    ")
                  for n in notes]
        return "\n".join(lines)

    # -- presentation ------------------------------------------------------------------
    def eventually(self) -> dict[str, tuple[str, str]]:
        """What each side's running timers will do: ``actor -> (kernel, model)`` texts."""
        future = self.model.replay()
        t0 = future.now
        future.run()
        out = {}
        for actor in self.names:
            ks = self.final.get(actor)
            state = self.results[-1].kernel[actor]
            if ks is None:
                k = str(state)
            elif ks.kind == "timewait" or (ks.orphan and ks.timer):
                k = f"{ks.state} -> CLOSED in {ks.expires:.1f} s"
            elif state is S.CLOSE_WAIT:
                k = "CLOSE-WAIT for ever (until close())"
            elif state is S.FIN_WAIT_2 and not ks.timer:
                k = "FIN-WAIT-2 until the peer's FIN (no timer: not an orphan)"
            else:
                k = f"{state}"
            last = [st for st in future.history if st.actor == actor and st.transitions]
            mstate = future.state(actor)
            before = self.results[-1].model[actor]
            if mstate is not before and last:
                m = f"{before} -> {mstate} after {last[-1].time - t0:g} s"
            else:
                m = f"{mstate}" + (" (for ever)" if mstate in (S.CLOSE_WAIT, S.FIN_WAIT_2,
                                                               S.ESTABLISHED) else "")
            out[actor] = (k, m)
        return out

    def table(self) -> str:
        """The script, the socket calls and both sides' states, line by line (plain text)."""
        a, b = self.names
        head = ("#", "script line", "socket call", "result",
                f"{a}: kernel", f"{a}: model", f"{b}: kernel", f"{b}: model")
        rows = [head]
        for i, r in enumerate(self.results, 1):
            cells = [str(i), r.line.text, r.code, r.outcome]
            for actor in self.names:
                kp = r.kernel_path[actor]
                k = _fmt_path(kp) if len(kp) > 1 else str(r.kernel[actor])
                mp = r.model_path[actor]
                m = _fmt_path(mp) if len(mp) > 1 else str(r.model[actor])
                same = r.kernel[actor] is r.model[actor] or not r.comparable
                cells += [k + ("" if same else " *"), m]
            rows.append(tuple(cells))
        ev = self.eventually()
        rows.append(("", "(eventually)", "", "", ev[a][0], ev[a][1], ev[b][0], ev[b][1]))
        width = [min(max(len(r[i]) for r in rows), 48) for i in range(len(head))]
        lines = [self.title(), ""]
        for j, r in enumerate(rows):
            lines.append("  ".join(c[:48].ljust(w) for c, w in zip(r, width)).rstrip())
            if j == 0:
                lines.append("  ".join("-" * w for w in width))
        lines.append("")
        lines.append("State sequences (every state seen, repeats collapsed):")
        for actor in self.names:
            lines.append(f"  {actor:>7} kernel: {_fmt_path(self.sequence(actor, 'kernel'))}")
            lines.append(f"  {'':>7} model:  {_fmt_path(self.sequence(actor, 'model'))}")
        lines.append("")
        lines.append("Differences and Linux facts:" if self.differences else
                     "No differences.")
        for d in self.differences:
            lines.append(f"  - {d}")
        for kind, why in self.why().items():
            lines.append("")
            lines.append(textwrap.fill(f"Why ({kind}): {why}", 100, subsequent_indent="  "))
        return "\n".join(lines)

    def why(self) -> dict[str, str]:
        """The general explanation of each kind of difference in this run."""
        kinds = dict.fromkeys(d.kind for d in self.differences)
        return {k: LINUX_DIFFERENCES[k] for k in kinds}

    def title(self) -> str:
        where = ("loopback 127.0.0.1, no privileges" if self.mode == "loopback" else
                 f"two network namespaces, {self.delay * 1000:.0f} ms one-way delay")
        verdict = "agrees with the model" if self.agrees else \
            f"{len(self.unexplained)} UNEXPLAINED difference(s)"
        return (f"{self.name}: Linux {self.kernel_version} ({where}) -- {verdict}; "
                f"{self.samples} samples ({self.reader}) in {self.duration:.2f} s")

    def timeline_text(self) -> str:
        """Every state change the sampler saw, and every segment on the wire, in time order."""
        events: list[tuple[float, int, str]] = []
        for actor in self.names:
            for t, s, ks in self.kernel_states(actor):
                what = ks.what() if ks is not None else "CLOSED (not in the table)"
                events.append((t, 1, f"{t:8.3f}s  {actor:>7} is {what}"))
        for w in self.segments:
            events.append((w.sent, 0, f"{w.sent:8.3f}s  {w.src:>7} sends {w.segment.tcpdump()}"
                           + (" -- DROPPED" if w.dropped else
                              f"  (arrives {w.arrived:.3f}s)")))
        for r in self.results:
            if r.line.kind == "call":
                events.append((r.t_start, -1, f"{r.t_start:8.3f}s  {r.line.actor:>7} calls "
                               f"{r.code} -> {r.result}"))
        return "\n".join(e[2] for e in sorted(events, key=lambda e: (e[0], e[1])))

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<LiveRun {self.title()}>"

    def _repr_html_(self) -> str:
        esc = html.escape
        a, b = self.names
        css = ("<style>.tl-live td,.tl-live th{padding:2px 8px;text-align:left;"
               "font-family:monospace;font-size:12px}.tl-live .diff{background:#fde2c8}"
               ".tl-live .trans{color:#0072b2}.tl-live th{background:#eee}</style>")
        head = "".join(f"<th>{esc(h)}</th>" for h in (
            "#", "script", "socket call", "what the applications saw", f"{a} kernel", f"{a} model",
            f"{b} kernel", f"{b} model"))
        body = []
        for i, r in enumerate(self.results, 1):
            cells = [str(i), esc(r.line.text), esc(r.code), esc(r.outcome)]
            for actor in self.names:
                same = r.kernel[actor] is r.model[actor] or not r.comparable
                kp, mp = r.kernel_path[actor], r.model_path[actor]
                k = esc(_fmt_path(kp) if len(kp) > 1 else str(r.kernel[actor]))
                m = esc(_fmt_path(mp) if len(mp) > 1 else str(r.model[actor]))
                cls = "" if same else ' class="diff"'
                cells += [f"<span{cls}>{k}</span>", m]
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        ev = self.eventually()
        body.append("<tr><td></td><td><i>eventually</i></td><td></td><td></td>" + "".join(
            f"<td>{esc(ev[x][0])}</td><td>{esc(ev[x][1])}</td>" for x in self.names) + "</tr>")
        seqs = "".join(
            f"<tr><td><b>{esc(x)}</b></td><td>kernel</td><td>"
            f"{esc(_fmt_path(self.sequence(x, 'kernel')))}</td></tr><tr><td></td><td>model"
            f"</td><td>{esc(_fmt_path(self.sequence(x, 'model')))}</td></tr>"
            for x in self.names)
        diffs = "".join(
            f"<li>{'&#10003;' if d.explained else '&#10007; <b>unexplained</b>'} "
            f"<b>{esc(d.actor)}</b> <i>{esc(d.kind)}</i>: {esc(d.text)}</li>"
            for d in self.differences)
        why = "".join(f"<li><i>{esc(k)}</i>: {esc(v)}</li>" for k, v in self.why().items())
        return (f"{css}<div class='tl-live'><p><b>{esc(self.title())}</b></p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
                f"<p>State sequences (every state seen):</p><table>{seqs}</table>"
                f"<p>Differences and Linux facts:</p><ul>{diffs or '<li>none</li>'}</ul>"
                + (f"<details><summary>Why?</summary><ul>{why}</ul></details>" if why else "")
                + "</div>")


def _lcs(kernel: list[str], model: list[str]) -> list[tuple[str, str | None, str | None]]:
    """Align two label lists: ``("=", k, m)``, ``("k", k, None)``, ``("m", None, m)``."""
    n, m = len(kernel), len(model)
    L = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            L[i][j] = L[i + 1][j + 1] + 1 if kernel[i] == model[j] else max(L[i + 1][j],
                                                                             L[i][j + 1])
    ops: list[tuple[str, str | None, str | None]] = []
    i = j = 0
    while i < n and j < m:
        if kernel[i] == model[j]:
            ops.append(("=", kernel[i], model[j]))
            i += 1
            j += 1
        elif L[i + 1][j] >= L[i][j + 1]:
            ops.append(("k", kernel[i], None))
            i += 1
        else:
            ops.append(("m", None, model[j]))
            j += 1
    ops += [("k", x, None) for x in kernel[i:]] + [("m", None, x) for x in model[j:]]
    return ops


def _segment_note(op: str, label: str, ops: list, i: int) -> str:
    flags = label.split()[1] if len(label.split()) > 1 else ""
    if flags == "R." and op == "k":
        return ("Linux's RST carries the ACK flag (tcp_send_active_reset() sends RST,ACK); "
                "RFC 9293 §3.10.5 and the model send <SEQ=SND.NXT><CTL=RST>. Either is accepted.")
    if flags == "R" and op == "m":
        return ""
    before = [x for o, x, _ in ops[:i] if o in "=k" and x]
    if flags == "." and op == "k" and before and before[-1].split()[1:2] == ["S."]:
        return ("In a simultaneous open Linux answers the peer's SYN,ACK with an ACK: the SYN "
                "in it is a sequence number already received, so the kernel acknowledges the "
                "duplicate -- and still moves to ESTABLISHED. RFC 9293 figure 7 and the model "
                "exchange four segments, not six.")
    if flags == "." and op == "m":
        return ("The model acknowledges at once; Linux delayed this ACK (delayed ACK) and let a "
                "later segment of its own carry it.")
    return ""


def _align(model: list[TcpState], kernel: list[TcpState]) -> list[tuple[str, TcpState]]:
    """Align two state sequences (longest common subsequence).

    Returns ``("=", s)`` for a state in both, ``("m", s)`` model only, ``("k", s)`` kernel only.
    """
    n, m = len(model), len(kernel)
    L = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            L[i][j] = L[i + 1][j + 1] + 1 if model[i] is kernel[j] else max(L[i + 1][j],
                                                                             L[i][j + 1])
    ops, i, j = [], 0, 0
    while i < n and j < m:
        if model[i] is kernel[j]:
            ops.append(("=", model[i]))
            i += 1
            j += 1
        elif L[i + 1][j] >= L[i][j + 1]:
            ops.append(("m", model[i]))
            i += 1
        else:
            ops.append(("k", kernel[j]))
            j += 1
    ops += [("m", s) for s in model[i:]] + [("k", s) for s in kernel[j:]]
    return ops


# ---------------------------------------------------------------------- running

_LINGER0 = struct.pack("ii", 1, 0)


class _KernelRun:
    def __init__(self, lab: Lab, lines: list[Line], quiet: float, max_wait: float,
                 max_settle: float, interval: float) -> None:
        self.lab = lab
        self.lines = lines
        self.quiet = quiet
        self.max_wait = max_wait
        self.max_settle = max_settle
        self.interval = interval
        self.t0 = time.monotonic()
        self.last_call = self.t0
        names = lab.names
        ports = lab.next_ports() if hasattr(lab, "next_ports") else {n: 0 for n in names}
        self.sides: dict[str, _Side] = {}
        for n, var in zip(names, ("c", "s")):
            peer = names[1] if n == names[0] else names[0]
            side = _Side(n, peer, lab.hosts[n].ip, ports[n], var)
            sock = lab.socket(n)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((side.ip, side.port))
            side.port = sock.getsockname()[1]
            side.sock = sock
            self.sides[n] = side
        entities = {}
        for n, side in self.sides.items():
            peer = self.sides[side.peer]
            entities[(n, "conn")] = ((side.ip, side.port), (peer.ip, peer.port))
            entities[(n, "listener")] = ((side.ip, side.port), ("0.0.0.0", 0))
        lab.mark()
        self.sampler = _Sampler(lab, entities, self.t0, interval)

    def now(self) -> float:
        return time.monotonic() - self.t0

    # -- the application's side: accept, read, collect errors ---------------------------
    def service(self) -> None:
        for side in self.sides.values():
            if side.listening and side.conn is None and side.sock is not None:
                try:
                    conn, _ = side.sock.accept()
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError as exc:
                    self._error(side, exc, "accept()")
                else:
                    conn.setblocking(False)
                    self.lab.track(conn)
                    side.conn = conn
                    side.conn_var = "conn"
                    side.events.append((self.now(), "accept() -> conn"))
            c = side.conn
            if c is None or c.fileno() == -1 or side.dead or side.eof or not side.read:
                continue
            while True:
                try:
                    data = c.recv(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    if exc.errno not in (errno.ENOTCONN,):
                        self._error(side, exc, "recv()")
                    side.dead = True
                    break
                if not data:
                    side.eof = True
                    side.events.append((self.now(), "recv() -> b'' (EOF)"))
                    break
                side.received += data
                side.events.append((self.now(), f"recv() -> {data!r}"))

    def _error(self, side: _Side, exc: OSError, where: str) -> None:
        side.errors.append((self.now(), errno_name(exc.errno), where))
        side.events.append((self.now(), f"{where}: {errno_name(exc.errno)}"))

    # -- calls -------------------------------------------------------------------------
    def do(self, i: int, line: Line) -> tuple[str, str]:
        side = self.sides[line.actor]
        peer = self.sides[side.peer]
        v = side.conn_var or side.var
        try:
            if line.call == "listen":
                if side.conn is not None:
                    raise LiveUnsupported("listen() on a socket that has connected")
                side.sock.listen(8)            # type: ignore[union-attr]
                side.listening = True
                return (f"{side.var}.bind(('{side.ip}', {side.port})); {side.var}.listen()",
                        "ok")
            if line.call == "connect":
                if side.listening:
                    raise LiveUnsupported("connect() on a listening socket: a socket API "
                                          "program cannot do this (the RFC allows it)")
                code = f"{side.var}.connect(('{peer.ip}', {peer.port}))"
                rc = side.sock.connect_ex((peer.ip, peer.port))   # type: ignore[union-attr]
                side.conn = side.sock
                side.conn_var = side.var
                if rc and rc != errno.EINPROGRESS:
                    side.errors.append((self.now(), errno_name(rc), "connect()"))
                    side.events.append((self.now(), f"connect(): {errno_name(rc)}"))
                    side.dead = True
                return code, errno_name(rc) or "ok"
            if line.call == "send":
                if side.conn is None:
                    return f"{v}.send({line.data!r})", "no connection (the model refuses too)"
                n = side.conn.send(line.data)
                return f"{v}.send({line.data!r})", f"{n} bytes"
            if line.call == "recv":
                self.service()
                return f"{v}.recv()", repr(bytes(side.received))
            if line.call in ("close", "shutdown"):
                how = close_policy(self.lines, i)
                target = side.conn if side.conn is not None else side.sock
                if target is None or target.fileno() == -1:
                    return f"{v}.close()", "already closed"
                if how == "shutdown" and side.conn is not None:
                    side.closed_how = "shutdown"
                    side.conn.shutdown(socket.SHUT_WR)
                    return f"{v}.shutdown(SHUT_WR)", "ok"
                side.closed_how = "close"
                self.service()               # read what is there: close() with unread data = RST
                target.close()
                if target is side.sock:
                    side.sock = None
                return f"{v}.close()", "ok"
            if line.call == "abort":
                target = side.conn if side.conn is not None else side.sock
                if target is None or target.fileno() == -1:
                    return f"{v}.close()", "already closed"
                target.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER0)
                target.close()
                side.closed_how = "abort"
                if target is side.sock:
                    side.sock = None
                return (f"{v}.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0)); "
                        f"{v}.close()", "ok")
        except LiveUnsupported:
            raise
        except OSError as exc:
            self._error(side, exc, line.call + "()")
            return line.call + "()", errno_name(exc.errno)
        raise ValueError(f"unknown call {line.call!r}")

    def pump(self, until: float) -> None:
        """Serve the sockets until ``until`` (monotonic)."""
        while True:
            self.service()
            now = time.monotonic()
            if now >= until:
                return
            time.sleep(min(0.002, until - now))

    def until(self, actor: str, state: TcpState) -> str:
        deadline = time.monotonic() + self.max_settle
        t0 = time.monotonic()
        while True:
            self.service()
            self.sampler.sample()
            if _state_at(self.sampler.timeline, actor) is state:
                return f"after {time.monotonic() - t0:.3f} s"
            if time.monotonic() > deadline:
                return f"{actor} never reached {state} (gave up after {self.max_settle:g} s)"
            time.sleep(0.0005)

    def settle(self) -> None:
        deadline = time.monotonic() + self.max_settle
        while True:
            self.service()
            self.sampler.sample()
            now = time.monotonic()
            calm = now - max(self.sampler.last_change, self.last_call)
            if (calm >= self.quiet and self.lab.in_flight() == 0
                    and self.lab.quiet_for() >= self.quiet) or now > deadline:
                return
            time.sleep(0.002)

    def cleanup(self) -> None:
        """Close every socket the run opened (see :func:`tcplab.live.lab.close_quietly`)."""
        for side in self.sides.values():
            for s in (side.conn, side.sock):
                if s is not None:
                    close_quietly(s)


def run(script: object, lab: Lab | None = None, *, privileged: "bool | str" = False,
        delay: float | None = None, fin_timeout: float | None = None, quiet: float | None = None,
        max_wait: float = 10.0, max_settle: float = 10.0, interval: float = 0.0002,
        name: str | None = None, keep_open: bool = False) -> LiveRun:
    """Run ``script`` on real sockets and on the model; return a :class:`LiveRun`.

    ``script`` is a scenario name (see :data:`tcplab.live.scripts.LIVE_SCENARIOS`), script
    text, a list of lines, or a scenario object with a ``.script`` (such as those of
    :mod:`tcplab.scenarios`).  Without ``lab`` a lab is opened for this run and closed after
    it: loopback, or -- if ``privileged`` (``"auto"``: when this machine allows it) -- two
    namespaces with a one-way ``delay`` (default: the scenario's, else 0.25 s).  ``fin_timeout`` (namespaces only) sets
    ``tcp_fin_timeout`` there.

    The run's sockets are closed at its end -- a live connection with a RST, so nothing is
    left behind.  With ``keep_open`` (and a ``lab`` of your own) they stay open until the lab
    closes, e.g. to watch a CLOSE-WAIT leak for a while with :meth:`LiveRun.watch`.
    """
    from .scripts import LiveScenario, get as get_scenario
    sc = None
    if isinstance(script, str) and "\n" not in script and len(script.split()) == 1:
        try:
            sc = get_scenario(script)
        except ValueError as exc:
            script = _model_scenario(script, exc)      # a name from tcplab.scenarios?
    elif isinstance(script, LiveScenario):
        sc = script
    if sc is not None:
        name = name or sc.name
        if fin_timeout is None:
            fin_timeout = sc.fin_timeout
        if delay is None:
            delay = sc.delay
    lines = parse_script(sc if sc is not None else script,
                         lab.names if lab is not None else ("client", "server"))
    if name is None:
        name = getattr(script, "name", None) or "script"
    own = lab is None
    if keep_open and own:
        raise ValueError("keep_open needs a lab you close yourself: "
                         "with live.LoopbackLab() as lab: live.run(..., lab, keep_open=True)")
    if own:
        lab = open_lab(privileged, delay=0.25 if delay is None else delay,
                       fin_timeout=fin_timeout)
    assert lab is not None
    try:
        return _run(lab, lines, name, quiet, max_wait, max_settle, interval, keep_open)
    finally:
        if own:
            lab.close()


def _model_scenario(name: str, error: ValueError) -> object:
    """The model's scenario of that name (tcplab.scenarios), if that module has one."""
    try:
        from .. import scenarios
        return scenarios.get(name)
    except (ImportError, ValueError, AttributeError):
        raise error from None


def _run(lab: Lab, lines: list[Line], name: str, quiet: float | None, max_wait: float,
         max_settle: float, interval: float, keep_open: bool = False) -> LiveRun:
    loop = isinstance(lab, LoopbackLab) or lab.delay == 0
    if quiet is None:
        quiet = 0.1 if loop else max(0.3, lab.delay)
    fin_timeout = lab.fin_timeout(lab.names[0])
    net = Network(lab.names, latency=0.0 if loop else lab.delay,
                  config=model_config(fin_timeout))
    kr = _KernelRun(lab, lines, quiet, max_wait, max_settle, interval)
    results: list[LineResult] = []
    proc_lines: list[str] = []
    try:
        kr.sampler.start()
        for i, line in enumerate(lines):
            t_start = kr.now()
            start = len(net.history)
            code, result = "", ""
            if line.kind == "call":
                kr.last_call = time.monotonic()
                code, result = kr.do(i, line)
                kr.last_call = time.monotonic()
                kr.sampler.sample()
                if loop and not _before_until(lines, i):
                    kr.settle()
                else:
                    kr.service()
            elif line.kind in ("settle", "run"):
                kr.settle()
            elif line.kind == "until":
                result = kr.until(line.actor, line.state)   # type: ignore[arg-type]
            elif line.kind == "wait":
                secs = min(line.seconds, max_wait)
                kr.pump(time.monotonic() + secs)
                kr.sampler.sample()
                if secs < line.seconds:
                    result = f"waited {secs:g} s of {line.seconds:g} s (max_wait)"
            model_result = _model_line(
                net, line, settle_each=loop and not _before_until(lines, i),
                shutdown=line.kind == "call" and line.model_call == "close"
                and kr.sides[line.actor].closed_how == "shutdown")
            t_end = kr.now()
            states = {n: _state_at(kr.sampler.timeline, n) for n in lab.names}
            kpath = {n: tuple(s for t, s, _ in _actor_states(kr.sampler.timeline, n)
                              if t_start <= t <= t_end) for n in lab.names}
            events = tuple(f"{n}: {text}" for n in lab.names for t, text in kr.sides[n].events
                           if t_start <= t <= t_end)
            results.append(LineResult(
                line, code, result, model_result, t_start, t_end, states,
                net.states(), kpath,
                {n: tuple(_model_path(net, n, start, len(net.history))) for n in lab.names},
                events, comparable=not (loop and _before_until(lines, i))))
        kr.sampler.sample()
        ports = {s.port for s in kr.sides.values()}
        segments = [w for w in lab.segments if w.sport in ports and w.dport in ports]
        final = {n: kr.sampler.current[(n, "conn")] for n in lab.names}
        listener_final = {n: kr.sampler.current[(n, "listener")] for n in lab.names}
        try:
            for n in lab.names[:1] if loop else lab.names:
                proc_lines += [k.raw for k in lab.proc_net_tcp(n, ports)]
        except OSError:
            pass
    finally:
        try:
            kr.sampler.stop()
        finally:
            if not keep_open:
                kr.cleanup()
    model_errors = {n: [MODEL_ERRORS.get(st.error, st.error) for st in net.history
                        if st.actor == n and st.error] for n in lab.names}
    model_received = {n: b"".join(st.delivered for st in net.history if st.actor == n)
                      for n in lab.names}
    result = LiveRun(name=name, lines=lines, results=results, mode=lab.mode, delay=lab.delay,
                   net=net, timeline=list(kr.sampler.timeline), segments=segments,
                   sides=kr.sides, final=final, listener_final=listener_final,
                   fin_timeout=fin_timeout, samples=kr.sampler.samples,
                   duration=kr.now(), model_errors=model_errors,
                   model_received=model_received, proc_lines=proc_lines, t0=kr.t0,
                   reader=lab.reader_name())
    result._lab = lab
    return result


def _state_at(timeline: list, actor: str) -> TcpState:
    ch = _actor_states(timeline, actor)
    return ch[-1][1] if ch else S.CLOSED
