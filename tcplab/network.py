"""Two endpoints joined by a simulated wire, on one virtual clock.

The wire holds the segments in flight in each direction.  You can let time run
(:meth:`Network.step`, :meth:`Network.run`) or take control of each segment --
deliver it now, drop it, duplicate it, delay it -- to make segments cross, as in
simultaneous open and close (RFC 9293 figures 7 and 13).

Every action appends one :class:`~tcplab.steps.Step` to :attr:`Network.history`, and
:meth:`Network.replay` rebuilds the network as it was after any earlier step: the run is
a pure function of its seed, its configuration and the list of actions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Sequence

from .endpoint import CALLS, Clock, Config, Endpoint
from .segment import Flags, Segment
from .states import TcpState
from .steps import Step, TcpError

__all__ = ["Network", "Packet", "WIRE"]

#: The actor name of steps taken by the wire itself (drop, duplicate, delay).
WIRE = "wire"


@dataclass(frozen=True)
class Packet:
    """A segment on the wire: who sent it, when, and when it will arrive."""

    id: int
    src: str
    dst: str
    segment: Segment
    sent_at: float
    arrive_at: float
    copy_of: int | None = None       # set on a duplicate made by the wire
    retransmission: bool = False     # the sender retransmitted it after a timeout

    def __str__(self) -> str:
        return f"#{self.id} {self.src}->{self.dst} {self.segment.rfc()}"


class Network:
    """Two endpoints (default ``client`` and ``server``) and the wire between them.

    >>> net = Network(isn={"client": 100, "server": 300})
    >>> _ = net.listen("server"); _ = net.connect("client")
    >>> _ = net.run()
    >>> net.state("client"), net.state("server")
    (TcpState.ESTABLISHED, TcpState.ESTABLISHED)
    """

    def __init__(self, names: Sequence[str] = ("client", "server"), *, latency: float = 0.1,
                 seed: int = 0, config: Config | None = None,
                 configs: dict[str, Config] | None = None,
                 isn: dict[str, int] | None = None) -> None:
        if len(names) != 2 or names[0] == names[1] or WIRE in names:
            raise ValueError(f"a Network joins two endpoints with different names (not "
                             f"{WIRE!r}), got {tuple(names)!r}")
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {latency!r}")
        unknown = set(isn or {}) | set(configs or {})
        if unknown - set(names):
            raise ValueError(f"isn/configs name unknown endpoints {sorted(unknown - set(names))}; "
                             f"the endpoints are {list(names)}")
        self.names = tuple(names)
        self.latency = latency
        self.seed = seed
        self.config = config or Config()
        self.configs = dict(configs or {})
        self.isn = dict(isn or {})
        self.clock = Clock()
        rng = random.Random(seed)
        self.endpoints = {
            n: Endpoint(n, iss=self.isn.get(n), config=self.configs.get(n, self.config),
                        clock=self.clock, rng=random.Random(rng.randrange(2 ** 32)))
            for n in self.names}
        self.in_flight: list[Packet] = []
        self.lost: list[Packet] = []
        self.delivered: list[tuple[Packet, float]] = []
        self.history: list[Step] = []
        self.actions: list[tuple] = []
        self._next_id = 1

    # ------------------------------------------------------------------ read-outs ----------
    def __getitem__(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except KeyError:
            raise KeyError(f"no endpoint {name!r}; the endpoints are "
                           f"{', '.join(self.names)}") from None

    @property
    def now(self) -> float:
        return self.clock.now

    def state(self, name: str) -> TcpState:
        return self[name].state

    def states(self) -> dict[str, TcpState]:
        return {n: e.state for n, e in self.endpoints.items()}

    def peer(self, name: str) -> str:
        self[name]
        return self.names[1] if name == self.names[0] else self.names[0]

    def packet(self, pid: int) -> Packet:
        for p in self.in_flight:
            if p.id == pid:
                return p
        ids = ", ".join(f"#{p.id}" for p in self.in_flight) or "none"
        raise KeyError(f"no packet #{pid} in flight; in flight: {ids}")

    def timers(self) -> list[tuple[str, str, float]]:
        """All running timers as ``(endpoint, timer, deadline)``, earliest first."""
        return sorted(((n, t, d) for n, e in self.endpoints.items() for t, d in e.timers.items()),
                      key=lambda x: (x[2], x[0], x[1]))

    def quiet(self) -> bool:
        """True when nothing is in flight and no timer runs."""
        return not self.in_flight and not self.timers()

    # ------------------------------------------------------------------ user calls ---------
    def call(self, name: str, call: str, *args: object) -> Step:
        """Make user call ``call`` (listen, connect, send, close, abort) on endpoint ``name``."""
        ep = self[name]
        if call not in CALLS:
            raise ValueError(f"unknown user call {call!r}; the calls are {', '.join(CALLS)}")
        if call == "send" and isinstance(args[0] if args else None, str):
            args = (args[0].encode(),)  # type: ignore[union-attr]
        step = getattr(ep, call)(*args)
        return self._record(("call", name, call, *args), step)

    def listen(self, name: str) -> Step:
        return self.call(name, "listen")

    def connect(self, name: str) -> Step:
        return self.call(name, "connect")

    def send(self, name: str, data: bytes | str) -> Step:
        return self.call(name, "send", data)

    def close(self, name: str) -> Step:
        return self.call(name, "close")

    def shutdown(self, name: str) -> Step:
        """``shutdown(SHUT_WR)``: CLOSE, but the application keeps the socket to read."""
        return self.call(name, "close", True)

    def abort(self, name: str) -> Step:
        return self.call(name, "abort")

    # ------------------------------------------------------------------ the wire -----------
    def deliver(self, pid: int | None = None) -> Step:
        """Deliver packet ``pid`` (default: the one due first) to its destination.

        The clock moves to the packet's arrival time if that is later than now; timers
        due before then fire first, as they would in reality.  Delivering a packet whose
        arrival time has passed -- because you held it -- delivers it *now*: a reorder.
        """
        if pid is None:
            if not self.in_flight:
                raise TcpError("deliver", self.state(self.names[0]), "nothing is in flight",
                               "§3.10.7", [], WIRE)
            pid = min(self.in_flight, key=lambda p: (p.arrive_at, p.id)).id
        pkt = self.packet(pid)
        self._fire_timers_until(pkt.arrive_at, strictly_before=True)
        return self._do(("deliver", pid, max(self.now, pkt.arrive_at)))

    def drop(self, pid: int) -> Step:
        """Lose packet ``pid``: it never arrives."""
        self.packet(pid)
        return self._do(("drop", pid))

    def duplicate(self, pid: int, extra_delay: float = 0.0) -> Step:
        """Put a copy of packet ``pid`` on the wire (arriving ``extra_delay`` s after it)."""
        self.packet(pid)
        return self._do(("duplicate", pid, float(extra_delay)))

    def delay(self, pid: int, seconds: float) -> Step:
        """Make packet ``pid`` arrive ``seconds`` later than planned (reordering it)."""
        if seconds < 0:
            raise ValueError("delay() takes a non-negative number of seconds")
        self.packet(pid)
        return self._do(("delay", pid, float(seconds)))

    def inject(self, dst: str, segment: Segment, *, src: str | None = None) -> Step:
        """Put a hand-made ``segment`` on the wire towards ``dst`` (arriving after the latency).

        For experiments the applications cannot cause: an old duplicate SYN (RFC 9293
        figure 8), a forged RST, a segment from an earlier incarnation.
        """
        self[dst]
        if not isinstance(segment, Segment):
            raise TypeError(f"inject() takes a Segment, not {type(segment).__name__}; "
                            "make one with Segment.make('SYN', 90)")
        return self._do(("inject", src or self.peer(dst), dst, segment))

    def fire_timer(self, name: str, timer: str | None = None) -> Step:
        """Advance the clock to endpoint ``name``'s next timer (or ``timer``) and fire it."""
        ep = self[name]
        if not ep.timers:
            raise TcpError("fire_timer", ep.state, "no timer is running", "§3.8",
                           ep.possible_calls(), name)
        timer = timer or min(ep.timers, key=ep.timers.__getitem__)
        if timer not in ep.timers:
            raise ValueError(f"{name} has no {timer!r} timer; running: {', '.join(ep.timers)}")
        deadline = ep.timers[timer]
        self._fire_timers_until(deadline, strictly_before=True, skip=(name, timer))
        return self._do(("timer", name, timer, max(self.now, deadline)))

    def next_timer(self) -> Step:
        """Advance the clock to the earliest running timer (any endpoint) and fire it.

        Packets due before that deadline are *not* delivered: they stay on the wire, as if
        held up -- use :meth:`step` to let everything happen in time order instead.
        """
        timers = self.timers()
        if not timers:
            raise TcpError("next_timer", self.state(self.names[0]), "no timer is running",
                           "§3.8", [], WIRE)
        name, timer, deadline = timers[0]
        return self._do(("timer", name, timer, max(self.now, deadline)))

    def next_event(self) -> tuple[float, str, object] | None:
        """The next thing that would happen on its own: ``(time, "packet"|"timer", ref)``."""
        events: list[tuple[float, int, object]] = []
        events += [(p.arrive_at, 0, p) for p in self.in_flight]
        events += [(d, 1, (n, t)) for n, t, d in self.timers()]
        if not events:
            return None
        t, kind, ref = min(events, key=lambda e: (e[0], e[1],
                                                  e[2].id if isinstance(e[2], Packet) else 0))
        return t, ("packet" if kind == 0 else "timer"), ref

    def step(self) -> Step | None:
        """Let the next event happen (a packet arrives or a timer fires); None if quiet."""
        ev = self.next_event()
        if ev is None:
            return None
        t, kind, ref = ev
        if kind == "packet":
            return self._do(("deliver", ref.id, max(self.now, t)))  # type: ignore[union-attr]
        name, timer = ref  # type: ignore[misc]
        return self._do(("timer", name, timer, max(self.now, t)))

    def run(self, max_steps: int = 10_000, until: float | None = None,
            stop: Callable[["Network"], bool] | None = None) -> list[Step]:
        """Let events happen in time order until quiet (or time ``until``, or ``stop``)."""
        steps: list[Step] = []
        for _ in range(max_steps):
            if stop is not None and stop(self):
                break
            ev = self.next_event()
            if ev is None or (until is not None and ev[0] > until):
                break
            steps.append(self.step())  # type: ignore[arg-type]
        else:
            raise RuntimeError(f"run() did not become quiet within {max_steps} steps")
        if until is not None and until > self.now:
            self.clock.now = until
        return steps

    def settle(self, max_steps: int = 10_000) -> list[Step]:
        """Deliver everything in flight (and what it triggers) but leave long timers alone."""
        return self.run(max_steps=max_steps, stop=lambda net: not net.in_flight)

    def wait(self, seconds: float) -> list[Step]:
        """Let ``seconds`` of virtual time pass, processing whatever happens meanwhile."""
        if seconds < 0:
            raise ValueError("wait() takes a non-negative number of seconds")
        return self.run(until=self.now + seconds)

    # ------------------------------------------------------------------ history ------------
    def replay(self, n: int | None = None) -> "Network":
        """A new network in the state it had after the first ``n`` steps of this one."""
        n = len(self.actions) if n is None else n
        if not 0 <= n <= len(self.actions):
            raise ValueError(f"replay() takes 0..{len(self.actions)} steps, got {n}")
        net = Network(self.names, latency=self.latency, seed=self.seed, config=self.config,
                      configs=self.configs, isn=self.isn)
        for action in self.actions[:n]:
            net._apply(action)
        return net

    def rewind(self, n: int) -> None:
        """Go back in place to the state after the first ``n`` steps (Undo)."""
        self.__dict__.update(self.replay(n).__dict__)

    # ------------------------------------------------------------------ machinery ----------
    def _fire_timers_until(self, t: float, strictly_before: bool,
                           skip: tuple[str, str] | None = None) -> None:
        while True:
            due = [(d, n, tm) for n, tm, d in self.timers()
                   if (d < t if strictly_before else d <= t) and (n, tm) != skip]
            if not due:
                return
            d, n, tm = min(due)
            self._do(("timer", n, tm, max(self.now, d)))

    def _do(self, action: tuple) -> Step:
        return self._apply(action)

    def _apply(self, action: tuple) -> Step:
        kind = action[0]
        if kind == "call":
            _, name, call, *args = action
            step = getattr(self.endpoints[name], call)(*args)
            return self._record(action, step)
        if kind == "deliver":
            _, pid, t = action
            pkt = self.packet(pid)
            self.clock.now = t
            self.in_flight.remove(pkt)
            self.delivered.append((pkt, t))
            step = self.endpoints[pkt.dst].receive(pkt.segment)
            step.packet = pid
            return self._record(action, step)
        if kind == "timer":
            _, name, timer, t = action
            self.clock.now = t
            step = self.endpoints[name].fire_timer(timer)
            return self._record(action, step)
        if kind == "inject":
            _, src, dst, seg = action
            pkt = Packet(self._next_id, src, dst, seg, self.now, self.now + self.latency)
            self._next_id += 1
            self.in_flight.append(pkt)
            return self._record(action, self._wire_step(
                "inject", f"inject #{pkt.id}", f"A hand-made segment {seg.rfc()} is put on the wire "
                f"towards {dst}, as if from {src}.", pkt.id, packets=(pkt.id,)))
        pid = action[1]
        pkt = self.packet(pid)
        if kind == "drop":
            self.in_flight.remove(pkt)
            self.lost.append(pkt)
            return self._record(action, self._wire_step(
                "drop", f"drop #{pid}", f"Packet #{pid} ({pkt.segment.label()} from {pkt.src}) is lost: "
                f"it will never reach {pkt.dst}.", pid))
        if kind == "duplicate":
            extra = action[2]
            copy = replace(pkt, id=self._next_id, copy_of=pid,
                           arrive_at=pkt.arrive_at + extra)
            self._next_id += 1
            self.in_flight.append(copy)
            return self._record(action, self._wire_step(
                "duplicate", f"duplicate #{pid}", f"The network duplicates packet #{pid} "
                f"({pkt.segment.label()}): copy #{copy.id} will arrive too.", pid,
                packets=(copy.id,)))
        if kind == "delay":
            seconds = action[2]
            i = self.in_flight.index(pkt)
            self.in_flight[i] = replace(pkt, arrive_at=pkt.arrive_at + seconds)
            return self._record(action, self._wire_step(
                "delay", f"delay #{pid}", f"Packet #{pid} ({pkt.segment.label()}) is held up "
                f"{seconds:g} s longer on the wire.", pid))
        raise ValueError(f"unknown action {action!r}")

    def _wire_step(self, wire: str, event: str, text: str, pid: int,
                   packets: tuple[int, ...] = ()) -> Step:
        return Step(time=self.now, actor=WIRE, kind="wire", event=event, before=None,
                    after=None, explanation=text, rfc="", packet=pid, packets=packets,
                    wire=wire)

    def _record(self, action: tuple, step: Step) -> Step:
        ids = []
        if step.actor != WIRE:
            dst = self.peer(step.actor)
            retrans = step.retransmission
            for seg in step.sent:
                pkt = Packet(self._next_id, step.actor, dst, seg, self.now,
                             self.now + self.latency, retransmission=retrans)
                self._next_id += 1
                self.in_flight.append(pkt)
                ids.append(pkt.id)
        step.index = len(self.history)
        step.packets = step.packets + tuple(ids)
        step.timers = tuple(self.timers())
        step.states = tuple((n, e.state) for n, e in self.endpoints.items())
        self.history.append(step)
        self.actions.append(action)
        return step

    def __repr__(self) -> str:
        states = ", ".join(f"{n}={e.state}" for n, e in self.endpoints.items())
        return (f"<Network t={self.now:g}s {states}, {len(self.in_flight)} in flight, "
                f"{len(self.history)} steps>")

    # ------------------------------------------------------------------ selection helpers --
    def find(self, src: str | None = None, flags: str | None = None,
             packets: Iterable[Packet] | None = None) -> Packet:
        """The earliest in-flight packet from ``src`` whose flags match ``flags`` exactly
        (``"SYN"``, ``"SYN,ACK"``, ``"FIN,ACK"``, ``"ACK"``, ``"DATA"`` for any data)."""
        cands = list(self.in_flight if packets is None else packets)
        if src is not None:
            self[src]
            cands = [p for p in cands if p.src == src]
        if flags is not None:
            cands = [p for p in cands if _matches(p.segment, flags)]
        if not cands:
            have = ", ".join(f"#{p.id} {p.src} {p.segment.label()}" for p in self.in_flight)
            raise KeyError(f"no packet in flight from {src or 'anyone'} matching "
                           f"{flags or 'anything'}; in flight: {have or 'nothing'}")
        return min(cands, key=lambda p: (p.arrive_at, p.id))


def _matches(seg: Segment, flags: str) -> bool:
    want = flags.upper().replace(" ", "")
    if want == "DATA":
        return bool(seg.data)
    names = set(want.split(","))
    data = "DATA" in names
    names.discard("DATA")
    parsed = Flags.NONE
    for n in names:
        parsed |= Flags.parse(n)
    return (seg.flags & ~Flags.PSH) == parsed and bool(seg.data) == data
