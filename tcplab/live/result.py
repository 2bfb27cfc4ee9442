"""The record of a live run: the same script on the kernel and on the model.

:class:`LiveRun` holds what both sides did, line by line (:class:`LineResult`), the
sampler's timeline of kernel states, the real segments (namespace lab), and the model's
:class:`~tcplab.network.Network`; it answers questions about them (each side's state
sequence, how long each state lasted, what the timers will do, the differences, explained)
and can look a socket up again after the run.  The comparison is
:mod:`tcplab.live.comparison`; the tables are :mod:`tcplab.live.reports`.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ..network import Network
from ..procnet import SocketRow
from ..segment import Segment
from ..states import TcpState
from . import comparison, reports
from .arguments import actor as actor_name, flag, seconds as check_seconds
from .comparison import Difference, dedup
from .kernel import reader
from .lines import Line, LiveUnsupported
from .delay import WireSegment
from .sampler import actor_states

if TYPE_CHECKING:                       # pragma: no cover - for the type hints only
    from ..sockets import SocketNetwork
    from .lab import Lab
    from .sockets import Side

__all__ = ["LineResult", "LiveRun"]

S = TcpState


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
    #: Each side's sockets at the end of the line as ``ss -tan`` rows: the kernel's (its
    #: listener and its connection, as the sampler found them) and the model's socket view
    #: (:class:`tcplab.live.socket_view.SocketView`), listener first.
    kernel_rows: dict[str, tuple[SocketRow, ...]] = field(default_factory=dict)
    model_rows: dict[str, tuple[SocketRow, ...]] = field(default_factory=dict)
    socket_result: str = ""      # the call's result in the model's socket view

    @property
    def outcome(self) -> str:
        """The call's result and what the applications saw during the line."""
        return "; ".join(x for x in (self.result, *self.events) if x)


class LiveRun:
    """The result of :func:`run`: the same script on the kernel and on the model."""

    def __init__(self, *, name: str, lines: list[Line], results: list[LineResult],
                 mode: str, delay: float, net: Network, timeline: list, segments: list,
                 sides: "dict[str, Side]", final: dict[str, SocketRow | None],
                 listener_final: dict[str, SocketRow | None], fin_timeout: float,
                 samples: int, duration: float, model_errors: dict[str, list[str]],
                 model_received: dict[str, bytes], proc_lines: list[str],
                 t0: float = 0.0, reader: str = "sock_diag",
                 sockets: "SocketNetwork | None" = None) -> None:
        self.name = name
        #: The model's socket view of the run (listener, accepted connection, their queues).
        self.sockets = sockets
        self.t0_wall = t0              # time.monotonic() at the run's time 0
        self._lab: "Lab | None" = None
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
        self.differences = comparison.compare(self)

    # -- sequences ---------------------------------------------------------------------
    def sequence(self, actor: str, source: str = "kernel") -> list[TcpState]:
        """The actor's states in order (repeats collapsed), starting from CLOSED.

        ``source`` is ``"kernel"`` (every state the sampler saw) or ``"model"``.
        """
        actor_name("actor", actor, self.names)
        if source == "kernel":
            states = [s for _, s, _ in actor_states(self.timeline, actor)]
        elif source == "model":
            states = [s for r in self.results for s in r.model_path[actor]]
        else:
            raise ValueError("source is 'kernel' or 'model'")
        return dedup([S.CLOSED, *states])

    def checkpoints(self, actor: str, source: str = "kernel") -> list[TcpState]:
        """The actor's state at the end of every script line (``source``: ``"kernel"`` or
        ``"model"``)."""
        actor_name("actor", actor, self.names)
        if source not in ("kernel", "model"):
            raise ValueError(f"source is 'kernel' or 'model', not {source!r}")
        return [(r.kernel if source == "kernel" else r.model)[actor] for r in self.results]

    def kernel_states(self, actor: str) -> list[tuple[float, TcpState, SocketRow | None]]:
        """``(seconds since the start, state, kernel row)`` for every state change seen."""
        actor_name("actor", actor, self.names)
        return actor_states(self.timeline, actor)

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
        """The differences no documented Linux behaviour explains."""
        return [d for d in self.differences if not d.explained]

    @property
    def agrees(self) -> bool:
        """True if every difference between kernel and model is a documented one."""
        return not self.unexplained


    def _fin_wait_2_timer(self, actor: str) -> float | None:
        """The timer an orphaned FIN-WAIT-2 mini-socket started with (seconds), if any."""
        return comparison.fin_wait_2_timer(self, actor)

    # -- after the run -----------------------------------------------------------------
    def lookup(self, actor: str) -> SocketRow | None:
        """Look ``actor``'s connection up in the kernel *now* (after the run).

        On loopback the kernel's table is this machine's, so TIME-WAIT and orphaned
        FIN-WAIT-2 mini-sockets can be watched after the run; the namespace lab's table
        exists only while its lab is open (pass ``lab=`` to :func:`run`).
        """
        actor_name("actor", actor, self.names)
        local = self.ports[actor]
        remote = self.ports[self.model.peer(actor)]
        lab = self._lab
        if self.mode != "loopback":
            if lab is None or lab.closed:
                raise LiveUnsupported("the namespaces of this run are gone; keep a lab open "
                                      "(with live.NamespaceLab() as lab: live.run(..., lab)) "
                                      "to look at its sockets afterwards")
            return lab.lookup(actor, local, remote)
        with reader() as table:
            return table.lookup(local, remote)

    def watch(self, actor: str = "client", seconds: float = 3.0, every: float = 1.0,
              until_gone: bool = False, out: "Callable[[str], None] | None" = print
              ) -> list[tuple[float, SocketRow | None]]:
        """Print ``actor``'s kernel state and timer every ``every`` s for ``seconds`` s
        (or, with ``until_gone``, until the socket has left the table, at most 70 s).
        Returns ``(seconds since the call, row or None)`` for every look; ``out`` prints (None:
        quiet)."""
        actor_name("actor", actor, self.names)
        seconds = check_seconds("seconds", seconds, high=3600)
        every = check_seconds("every", every, high=3600, positive=True)
        flag("until_gone", until_gone)
        if out is not None and not callable(out):
            raise TypeError(f"out is a function that prints a line (such as print) or None, "
                            f"not {type(out).__name__}")
        t0 = time.monotonic()
        seen: list[tuple[float, SocketRow | None]] = []
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
        """``(time sent, sender, segment)`` for every segment the model's endpoints sent, in
        order (from each step's typed ``sent`` field; times in the model's seconds)."""
        return [(st.time, st.actor, seg) for st in self.model.history
                if st.actor in self.names for seg in st.sent]

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

    def rows(self, actor: str, source: str = "kernel", line: int = -1
             ) -> tuple[SocketRow, ...]:
        """``actor``'s sockets as ``ss -tan`` rows at the end of script line ``line`` (default:
        the last), listener first: the kernel's (``source="kernel"``) or the model's socket
        view (``"model"``, a :class:`~tcplab.sockets.SocketNetwork` played alongside)."""
        actor_name("actor", actor, self.names)
        if source not in ("kernel", "model"):
            raise ValueError(f"source is 'kernel' or 'model', not {source!r}")
        if isinstance(line, bool) or not isinstance(line, int) or \
                not -len(self.results) <= line < len(self.results):
            raise ValueError(f"line is a script line's index, -{len(self.results)}.."
                             f"{len(self.results) - 1}, not {line!r}")
        r = self.results[line]
        return (r.kernel_rows if source == "kernel" else r.model_rows).get(actor, ())

    def ss(self, actor: str, source: str = "kernel", line: int = -1) -> str:
        """:meth:`rows` as ``ss -tan`` prints them (State, Recv-Q, Send-Q, addresses)."""
        return reports.ss_text(self.rows(actor, source, line))

    # -- presentation ------------------------------------------------------------------
    def wire(self) -> str:
        """The real segments next to the model's, aligned, with notes on the differences
        (namespace lab only: on loopback the lab does not see the segments)."""
        return reports.wire(self)

    def table(self) -> str:
        """The script, the socket calls and both sides' states, line by line (plain text)."""
        return reports.table(self)

    def why(self) -> dict[str, str]:
        """The general explanation of each kind of difference in this run."""
        return reports.why(self)

    def title(self) -> str:
        """One line: the scenario, the kernel, the lab, the verdict and the sampling."""
        return reports.title(self)

    def timeline_text(self) -> str:
        """Every state change the sampler saw, and every segment on the wire, in time order."""
        return reports.timeline_text(self)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<LiveRun {self.title()}>"

    def _repr_html_(self) -> str:
        return reports.html_table(self)
