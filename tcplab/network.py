"""Two endpoints joined by a simulated wire, on one virtual clock.

The wire holds the segments in flight in each direction.  You can let time run
(:meth:`Network.step`, :meth:`Network.run`) or take control of each segment --
deliver it now, drop it, duplicate it, delay it -- to make segments cross, as in
simultaneous open and close (RFC 9293 figures 7 and 13).

Every action (:mod:`tcplab.actions`) appends one :class:`~tcplab.steps.Step` to
:attr:`Network.history`, and :meth:`Network.replay` rebuilds the network as it was after
any earlier step: the run is a pure function of its seed, its configuration, its list of
actions and the clock's moves between them (``wait()``).

The packets in flight wait in an event queue (a heap ordered by arrival time), so a step
costs the same whatever the number of segments in flight.  For long transfers,
``Network(history_limit=N)`` keeps only the last N steps (and packets), so memory does not
grow with the bytes transferred; such a network cannot be replayed.
"""

from __future__ import annotations

import math
import random
import weakref
from dataclasses import replace
from typing import Callable, Iterable, Sequence

from .actions import Action, Call, Delay, Deliver, Drop, Duplicate, FireTimer, Inject, Recv
from .endpoint import CALLS, Clock, Config, Endpoint
from .segment import Segment
from .states import TcpState
from .steps import Step, TcpError
from .wire import WIRE, Packet, Wire, matches

_matches = matches        # the name layers used before it was public


#: The virtual clock stops at this many seconds (about 31 years): far beyond any lesson,
#: and small enough that adding a latency of a microsecond still changes the time.
MAX_SECONDS = 1e9


def _seconds(what: str, value: object, *, positive: bool = False) -> float:
    """``value`` as a finite number of seconds (>= 0, or > 0, at most :data:`MAX_SECONDS`),
    else a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} takes a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0) or \
            value > MAX_SECONDS:
        raise ValueError(f"{what} takes a finite number of seconds "
                         f"{'> 0' if positive else '>= 0'}, at most {MAX_SECONDS:g}, "
                         f"got {value!r}")
    return float(value)


def _timer_order(timer: tuple[str, str, float]) -> tuple[float, str, str]:
    return timer[2], timer[0], timer[1]


def _packet_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a packet is named by its id, a whole number (Packet.id), "
                        f"got {value!r}")
    return value

__all__ = ["Network", "Packet", "WIRE", "matches"]

class Network:
    """Two endpoints (default ``client`` and ``server``) and the wire between them.

    ``latency`` is the one-way delay in seconds; ``seed`` picks the random ISNs; ``isn``
    fixes an endpoint's ISN (a sequence number, 0..2**32-1); ``config`` applies to both
    ends, ``configs`` to one.  ``history_limit=None`` keeps every step (replayable); a
    whole number N keeps the last N steps and packets only (bounded memory, no replay).

    Raises ``TypeError``/``ValueError`` naming the argument for anything else.

    >>> net = Network(isn={"client": 100, "server": 300})
    >>> _ = net.listen("server"); _ = net.connect("client")
    >>> _ = net.run()
    >>> net.state("client"), net.state("server")
    (TcpState.ESTABLISHED, TcpState.ESTABLISHED)
    """

    def __init__(self, names: Sequence[str] = ("client", "server"), *, latency: float = 0.1,
                 seed: int = 0, config: Config | None = None,
                 configs: dict[str, Config] | None = None,
                 isn: dict[str, int] | None = None,
                 history_limit: int | None = None) -> None:
        if isinstance(names, str) or not isinstance(names, (tuple, list)) or \
                len(names) != 2 or not all(isinstance(n, str) and n.strip() for n in names) \
                or names[0] == names[1] or WIRE in names:
            raise ValueError(f"a Network joins two endpoints with different non-empty names "
                             f"(not {WIRE!r}), such as ('client', 'server'); got {names!r}")
        latency = _seconds("Network(latency=...)", latency)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"Network(seed=...) takes a whole number, got {seed!r}")
        for what, value in (("config", config), *(("configs", c) for c in (configs or {})
                                                   .values())):
            if value is not None and not isinstance(value, Config):
                raise TypeError(f"Network({what}=...) takes a tcplab Config, got {value!r}")
        for label, table in (("isn", isn), ("configs", configs)):
            if table is not None and not isinstance(table, dict):
                raise TypeError(f"Network({label}=...) takes a dict by endpoint name, "
                                f"got {table!r}")
        for name, value in (isn or {}).items():
            if isinstance(value, bool) or not isinstance(value, int) or \
                    not 0 <= value < 2 ** 32:
                raise ValueError(f"Network(isn=...): the ISN of {name!r} must be a sequence "
                                 f"number, a whole number in 0..2**32-1; got {value!r}")
        unknown = set(isn or {}) | set(configs or {})
        if unknown - set(names):
            raise ValueError(f"isn/configs name unknown endpoints {sorted(unknown - set(names))}; "
                             f"the endpoints are {list(names)}")
        if history_limit is not None and (isinstance(history_limit, bool) or
                                          not isinstance(history_limit, int) or
                                          history_limit < 1):
            raise ValueError(f"Network(history_limit=...) takes None (keep every step) or a "
                             f"whole number >= 1, got {history_limit!r}")
        self.names = tuple(names)
        self.latency = latency
        self.seed = seed
        self.config = config or Config()
        self.configs = dict(configs or {})
        self.isn = dict(isn or {})
        self.history_limit = history_limit
        self.clock = Clock()
        rng = random.Random(seed)
        self.endpoints = {
            n: Endpoint(n, iss=self.isn.get(n), config=self.configs.get(n, self.config),
                        clock=self.clock, rng=random.Random(rng.randrange(2 ** 32)))
            for n in self.names}
        for ep in self.endpoints.values():
            ep._network = weakref.ref(self)
        self._wire = Wire()                           # in flight, with the event queue
        self.lost: list[Packet] = []
        self.delivered: list[tuple[Packet, float]] = []
        self.history: list[Step] = []
        self.actions: list[Action] = []
        self._starts: list[float] = []    # the clock when each action began
        self._count = 0                   # steps taken (history may keep fewer)
        self._next_id = 1

    # ------------------------------------------------------------------ read-outs ----------
    def __getitem__(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except (KeyError, TypeError):
            raise KeyError(f"no endpoint {name!r}; the endpoints are "
                           f"{', '.join(self.names)}") from None

    @property
    def now(self) -> float:
        """The virtual clock, seconds."""
        return self.clock.now

    @property
    def in_flight(self) -> list[Packet]:
        """The packets on the wire, in the order they were sent."""
        return self._wire.packets()

    def state(self, name: str) -> TcpState:
        return self[name].state

    def states(self) -> dict[str, TcpState]:
        return {n: e.state for n, e in self.endpoints.items()}

    def peer(self, name: str) -> str:
        self[name]
        return self.names[1] if name == self.names[0] else self.names[0]

    def packet(self, pid: int) -> Packet:
        """The packet in flight with id ``pid``; ``KeyError`` naming those in flight."""
        pkt = self._wire.get(_packet_id(pid))
        if pkt is None:
            ids = ", ".join(f"#{p}" for p in self._wire.ids()) or "none"
            raise KeyError(f"no packet #{pid} in flight; in flight: {ids}")
        return pkt

    def timers(self) -> list[tuple[str, str, float]]:
        """All running timers as ``(endpoint, timer, deadline)``, earliest first."""
        found = [(n, t, d) for n, e in self.endpoints.items() for t, d in e.timers.items()]
        if len(found) > 1:
            found.sort(key=_timer_order)
        return found

    def quiet(self) -> bool:
        """True when nothing is in flight and no timer runs."""
        return not self._wire and not any(e.timers for e in self.endpoints.values())

    # ------------------------------------------------------------------ user calls ---------
    def call(self, name: str, call: str, *args: object) -> Step:
        """Make user call ``call`` (listen, connect, send, close, abort) on endpoint ``name``.

        Raises :class:`TcpError` if the state does not allow it (nothing changes), and
        ``KeyError``/``ValueError``/``TypeError`` for an unknown endpoint, call or argument.
        """
        ep = self[name]
        if call not in CALLS:
            raise ValueError(f"unknown user call {call!r}; the calls are {', '.join(CALLS)}")
        if call == "send":
            if len(args) != 1:
                raise TypeError("send() takes the data to send: bytes or str")
            if isinstance(args[0], str):
                args = (args[0].encode(),)
            elif isinstance(args[0], (bytearray, memoryview)):
                args = (bytes(args[0]),)
        elif call == "close":
            if len(args) > 1 or (args and type(args[0]) is not bool):
                raise TypeError("close takes no argument (the RFC's CLOSE) or orphan=True/False")
        elif args:
            raise TypeError(f"{call}() takes no argument, got {args!r}")
        start = self.now
        step = getattr(ep, call)(*args)
        return self._record(Call(name, call, tuple(args)), step, start)

    def listen(self, name: str) -> Step:
        """``listen()``: passive OPEN (RFC 9293 §3.10.1)."""
        return self.call(name, "listen")

    def connect(self, name: str) -> Step:
        """``connect()``: active OPEN, sends SYN (RFC 9293 §3.10.1)."""
        return self.call(name, "connect")

    def send(self, name: str, data: bytes | str) -> Step:
        """``send(data)``: SEND (RFC 9293 §3.10.2); data is bytes or str (UTF-8)."""
        return self.call(name, "send", data)

    def close(self, name: str) -> Step:
        """The sockets API's ``close()``: CLOSE (RFC 9293 §3.10.4) and the socket given up.
        With received data unread, it resets the connection instead (§3.6.1 SHLD-2, Linux);
        data arriving later is answered with RST.  After :meth:`shutdown` it gives the
        socket up without sending anything.  (``call(name, "close")`` is the RFC's CLOSE.)"""
        return self.call(name, "close", True)

    def shutdown(self, name: str) -> Step:
        """``shutdown(SHUT_WR)``: the RFC's CLOSE; the application keeps the socket to read."""
        return self.call(name, "close")

    def abort(self, name: str) -> Step:
        """ABORT (``SO_LINGER`` 0 then ``close()``): RST if synchronized (§3.10.5)."""
        return self.call(name, "abort")

    def recv(self, name: str, n: int | None = None) -> bytes:
        """``recv(n)``: the application on ``name`` reads up to ``n`` bytes (default: all)
        of what its peer sent; returns them (``b""`` if nothing is there).  Recorded as a
        step; reading opens the receive window and may send a window update."""
        ep = self[name]
        start = self.now
        step = ep.read(n)
        self._record(Recv(name, n), step, start)
        return step.read

    # ------------------------------------------------------------------ the wire -----------
    def deliver(self, pid: int | None = None) -> Step:
        """Deliver packet ``pid`` (default: the one due first) to its destination.

        The clock moves to the packet's arrival time if that is later than now; timers
        due before then fire first, as they would in reality.  Delivering a packet whose
        arrival time has passed -- because you held it -- delivers it *now*: a reorder.
        """
        if pid is None:
            head = self._wire.head()
            if head is None:
                raise TcpError("deliver", self.state(self.names[0]), "nothing is in flight",
                               "§3.10.7", [], WIRE)
            pid = head[1]
        pkt = self.packet(pid)
        self._fire_timers_until(pkt.arrive_at)
        return self._do(Deliver(pkt.id, max(self.now, pkt.arrive_at)))

    def drop(self, pid: int) -> Step:
        """Lose packet ``pid``: it never arrives."""
        self.packet(pid)
        return self._do(Drop(pid))

    def duplicate(self, pid: int, extra_delay: float = 0.0) -> Step:
        """Put a copy of packet ``pid`` on the wire (arriving ``extra_delay`` s after it)."""
        extra = _seconds("duplicate(extra_delay=...)", extra_delay)
        self.packet(pid)
        return self._do(Duplicate(pid, extra))

    def delay(self, pid: int, seconds: float) -> Step:
        """Make packet ``pid`` arrive ``seconds`` later than planned (reordering it)."""
        seconds = _seconds("delay()", seconds)
        self.packet(pid)
        return self._do(Delay(pid, seconds))

    def inject(self, dst: str, segment: Segment, *, src: str | None = None) -> Step:
        """Put a hand-made ``segment`` on the wire towards ``dst`` (arriving after the latency).

        For experiments the applications cannot cause: an old duplicate SYN (RFC 9293
        figure 8), a forged RST, a segment from an earlier incarnation.
        """
        self[dst]
        if not isinstance(segment, Segment):
            raise TypeError(f"inject() takes a Segment, not {type(segment).__name__}; "
                            "make one with Segment.make('SYN', 90)")
        if src is not None:
            self[src]
        return self._do(Inject(src or self.peer(dst), dst, segment))

    def fire_timer(self, name: str, timer: str | None = None) -> Step:
        """Advance the clock to endpoint ``name``'s next timer (or ``timer``) and fire it."""
        ep = self[name]
        if not ep.timers:
            raise TcpError("fire_timer", ep.state, "no timer is running", "§3.8",
                           ep.possible_calls(), name)
        timer = timer or min(ep.timers, key=ep.timers.__getitem__)
        if not isinstance(timer, str) or timer not in ep.timers:
            raise ValueError(f"{name} has no {timer!r} timer; running: {', '.join(ep.timers)}")
        deadline = ep.timers[timer]
        self._fire_timers_until(deadline, skip=(name, timer))
        return self._do(FireTimer(name, timer, max(self.now, deadline)))

    def next_timer(self) -> Step:
        """Advance the clock to the earliest running timer (any endpoint) and fire it.

        Packets due before that deadline are *not* delivered: they stay on the wire, as if
        held up -- use :meth:`step` to let everything happen in time order instead.
        """
        timer = self._next_timer()
        if timer is None:
            raise TcpError("next_timer", self.state(self.names[0]), "no timer is running",
                           "§3.8", [], WIRE)
        deadline, name, which = timer
        return self._do(FireTimer(name, which, max(self.now, deadline)))

    def next_event(self) -> tuple[float, str, object] | None:
        """The next thing that would happen on its own: ``(time, "packet"|"timer", ref)``
        where ``ref`` is the :class:`Packet` or ``(endpoint, timer)``.  A packet due at the
        same time as a timer comes first."""
        head = self._wire.head()
        timer = self._next_timer()
        if head is None and timer is None:
            return None
        if timer is None or (head is not None and head[0] <= timer[0]):
            return head[0], "packet", self._wire[head[1]]  # type: ignore[index]
        return timer[0], "timer", (timer[1], timer[2])

    def step(self) -> Step | None:
        """Let the next event happen (a packet arrives or a timer fires); None if quiet."""
        ev = self.next_event()
        if ev is None:
            return None
        return self._take(ev)

    def _take(self, ev: tuple[float, str, object]) -> Step:
        t, kind, ref = ev
        if kind == "packet":
            return self._do(Deliver(ref.id, max(self.now, t)))  # type: ignore[union-attr]
        name, timer = ref  # type: ignore[misc]
        return self._do(FireTimer(name, timer, max(self.now, t)))

    def run(self, max_steps: int = 100_000, until: float | None = None,
            stop: Callable[["Network"], bool] | None = None) -> list[Step]:
        """Let events happen in time order until quiet (or time ``until``, in seconds, or
        until ``stop(network)`` is true).  Returns the steps taken (with a
        ``history_limit``, the last ones kept).

        Raises ``RuntimeError`` if the network is still busy after ``max_steps`` steps (those
        steps have happened; call again to go on).
        """
        if isinstance(max_steps, bool) or not isinstance(max_steps, int):
            raise TypeError(f"run(max_steps=...) takes a whole number >= 1, got {max_steps!r}")
        if max_steps < 1:
            raise ValueError(f"run(max_steps=...) takes a whole number >= 1, got {max_steps!r}")
        if until is not None:
            until = _seconds("run(until=...)", until)
        if stop is not None and not callable(stop):
            raise TypeError(f"run(stop=...) takes a function of the network, got {stop!r}")
        first = self._count
        for _ in range(max_steps):
            if stop is not None and stop(self):
                break
            ev = self.next_event()
            if ev is None or (until is not None and ev[0] > until):
                break
            self._take(ev)
        else:
            if not (stop is not None and stop(self)) and self.next_event() is not None and \
                    (until is None or self.next_event()[0] <= until):  # type: ignore[index]
                raise RuntimeError(self._busy(max_steps))
        if until is not None and until > self.now:
            self.clock.now = until
        taken = self._count - first
        return list(self.history[-taken:]) if taken else []

    def _busy(self, max_steps: int) -> str:
        pkts = self._wire.packets()
        data = sum(len(p.segment.data) for p in pkts)
        queued = sum(len(e.send_buffer) for e in self.endpoints.values())
        timers = ", ".join(f"{n} {t}" for n, t, _ in self.timers()) or "none"
        stalled = [n for n, e in self.endpoints.items()
                   if "persist" in e.timers and e.send_buffer]
        why = "".join(f" The {self.peer(n)}'s application is not reading: its receive "
                      f"buffer is full, so the {n} probes a zero window for ever; call "
                      f"recv({self.peer(n)!r}) to let the data flow." for n in stalled)
        return (f"run() stopped after max_steps={max_steps} steps and the network is still "
                f"busy: {len(pkts)} segments ({data} bytes of data) in flight, {queued} bytes "
                f"queued to send, timers running: {timers}.{why} Those steps have happened; "
                f"call run() again to go on, or pass max_steps={max_steps * 10}.")

    def settle(self, max_steps: int = 100_000) -> list[Step]:
        """Deliver everything in flight (and what it triggers) but leave long timers alone."""
        return self.run(max_steps=max_steps, stop=lambda net: not net._wire)

    def wait(self, seconds: float) -> list[Step]:
        """Let ``seconds`` of virtual time pass, processing whatever happens meanwhile.
        The clock's move is part of the run: :meth:`replay` and :meth:`rewind` keep it."""
        seconds = _seconds("wait()", seconds)
        if self.now + seconds > MAX_SECONDS:
            raise ValueError(f"wait({seconds:g}) would take the clock past {MAX_SECONDS:g} s "
                             f"(it is at {self.now:g} s)")
        return self.run(until=self.now + seconds)

    # ------------------------------------------------------------------ history ------------
    def replay(self, n: int | None = None) -> "Network":
        """A new network in the state this one had after its first ``n`` steps (default:
        all), at the time it had just before its step ``n + 1`` (so a ``wait()`` after step
        ``n`` is kept).  Raises ``ValueError`` for an ``n`` outside ``0..len(history)``, or
        for a network made with a ``history_limit`` (it kept too little to replay)."""
        if self.history_limit is not None:
            raise ValueError(f"this network keeps only its last {self.history_limit} steps "
                             f"(history_limit={self.history_limit}), too little to replay; "
                             "make it with history_limit=None to replay or rewind")
        total = len(self.actions)
        if n is None:
            n = total
        elif isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"replay() takes a whole number of steps 0..{total}, got {n!r}")
        elif not 0 <= n <= total:
            raise ValueError(f"replay() takes 0..{total} steps, got {n!r}")
        net = self._blank()
        for action, start in zip(self.actions[:n], self._starts[:n]):
            net.clock.now = start
            net._apply(action, start)
        net.clock.now = self._starts[n] if n < total else self.now
        return net

    def _blank(self) -> "Network":
        """A new network made as this one was, before any action."""
        return Network(self.names, latency=self.latency, seed=self.seed, config=self.config,
                       configs=self.configs, isn=self.isn)

    def rewind(self, n: int) -> None:
        """Go back in place to the state after the first ``n`` steps (Undo)."""
        other = self.replay(n)
        self.__dict__.update(other.__dict__)
        for ep in self.endpoints.values():
            ep._network = weakref.ref(self)

    # ------------------------------------------------------------------ machinery ----------
    def _next_timer(self) -> tuple[float, str, str] | None:
        best = None
        for name, ep in self.endpoints.items():
            for timer, deadline in ep.timers.items():
                key = (deadline, name, timer)
                if best is None or key < best:
                    best = key
        return best

    def _fire_timers_until(self, t: float, skip: tuple[str, str] | None = None) -> None:
        """Fire, in time order, every timer due strictly before ``t`` (but ``skip``)."""
        while True:
            due = None
            for name, ep in self.endpoints.items():
                for timer, deadline in ep.timers.items():
                    if deadline < t and (name, timer) != skip and \
                            (due is None or (deadline, name, timer) < due):
                        due = (deadline, name, timer)
            if due is None:
                return
            d, name, timer = due
            self._do(FireTimer(name, timer, max(self.now, d)))

    def _do(self, action: Action) -> Step:
        return self._apply(action, self.now)

    def _apply(self, action: Action, start: float) -> Step:
        match action:                  # the most frequent first: arrivals, then timers
            case Deliver(pid, at):
                pkt = self.packet(pid)
                self.clock.now = at
                self._wire.take(pid)
                self._keep(self.delivered, (pkt, at))
                step = self.endpoints[pkt.dst].receive(pkt.segment)
                step.packet = pid
                return self._record(action, step, start)
            case Call(actor, call, args):
                return self._record(action, getattr(self.endpoints[actor], call)(*args), start)
            case Recv(actor, n):
                return self._record(action, self.endpoints[actor].read(n), start)
            case FireTimer(actor, timer, at):
                self.clock.now = at
                return self._record(action, self.endpoints[actor].fire_timer(timer), start)
            case Inject(src, dst, seg, sport, dport):
                pkt = Packet(self._next_id, src, dst, seg, self.now, self.now + self.latency,
                             sport=sport, dport=dport)
                self._next_id += 1
                self._wire.put(pkt)
                return self._record(action, self._wire_step(
                    "inject", f"inject #{pkt.id}", f"A hand-made segment {seg.rfc()} is put "
                    f"on the wire towards {dst}, as if from {src}.", pkt.id,
                    packets=(pkt.id,)), start)
            case Drop(pid):
                pkt = self.packet(pid)
                self._wire.take(pid)
                self._keep(self.lost, pkt)
                return self._record(action, self._wire_step(
                    "drop", f"drop #{pid}", f"Packet #{pid} ({pkt.segment.label()} from "
                    f"{pkt.src}) is lost: it will never reach {pkt.dst}.", pid), start)
            case Duplicate(pid, extra):
                pkt = self.packet(pid)
                # a copy leaves with its original: never before the original was sent
                copy = replace(pkt, id=self._next_id, copy_of=pid,
                               arrive_at=pkt.arrive_at + extra)
                self._next_id += 1
                self._wire.put(copy)
                return self._record(action, self._wire_step(
                    "duplicate", f"duplicate #{pid}", f"The network duplicates packet #{pid} "
                    f"({pkt.segment.label()}): copy #{copy.id} will arrive too.", pid,
                    packets=(copy.id,)), start)
            case Delay(pid, seconds):
                pkt = self.packet(pid)
                self._wire.put(replace(pkt, arrive_at=pkt.arrive_at + seconds))
                return self._record(action, self._wire_step(
                    "delay", f"delay #{pid}", f"Packet #{pid} ({pkt.segment.label()}) is held "
                    f"up {seconds:g} s longer on the wire.", pid), start)
        raise ValueError(f"unknown action {action!r}")

    def _keep(self, log: list, item: object) -> None:
        """Append to a packet log; with a history_limit, keep only about the last ones."""
        log.append(item)
        limit = self.history_limit
        if limit is not None and len(log) > 2 * limit:
            del log[:-limit]

    def _wire_step(self, wire: str, event: str, text: str, pid: int,
                   packets: tuple[int, ...] = ()) -> Step:
        return Step(time=self.now, actor=WIRE, kind="wire", event=event, before=None,
                    after=None, explanation=text, rfc="", packet=pid, packets=packets,
                    wire=wire)

    def _record(self, action: Action, step: Step, start: float) -> Step:
        if step.actor != WIRE and step.sent:
            self._put_sent(step)
        self._after(step)
        step.index = self._count
        self._count += 1
        step.timers = tuple(self.timers())
        step.states = tuple([(n, e.state) for n, e in self.endpoints.items()])
        limit = self.history_limit
        if limit is None:
            self.history.append(step)
            self.actions.append(action)
            self._starts.append(start)
        else:
            self._keep(self.history, step)
        return step

    def _put_sent(self, step: Step) -> None:
        """Put the segments ``step`` sent on the wire, towards the sender's peer."""
        dst = self.peer(step.actor)
        retrans = step.retransmission
        now, arrive = self.now, self.now + self.latency
        ids = []
        for seg in step.sent:
            pkt = Packet(self._next_id, step.actor, dst, seg, now, arrive,
                         retransmission=retrans)
            self._next_id += 1
            self._wire.put(pkt)
            ids.append(pkt.id)
        step.packets = step.packets + tuple(ids)

    def _after(self, step: Step) -> None:
        """Bookkeeping after each step, before it is recorded (hosts with sockets use it)."""

    def __repr__(self) -> str:
        states = ", ".join(f"{n}={e.state}" for n, e in self.endpoints.items())
        return (f"<Network t={self.now:g}s {states}, {len(self._wire)} in flight, "
                f"{self._count} steps>")

    # ------------------------------------------------------------------ selection helpers --
    def find(self, src: str | None = None, flags: str | None = None,
             packets: Iterable[Packet] | None = None) -> Packet:
        """The earliest in-flight packet from ``src`` whose flags match ``flags`` exactly
        (``"SYN"``, ``"SYN,ACK"``, ``"FIN,ACK"``, ``"ACK"``, ``"DATA"`` for any data)."""
        if flags is not None and not isinstance(flags, str):
            raise TypeError(f"find(flags=...) takes text such as 'SYN,ACK' or 'DATA', "
                            f"got {flags!r}")
        if packets is None:
            cands = self.in_flight
        else:
            try:
                cands = list(packets)
            except TypeError:
                raise TypeError(f"find(packets=...) takes Packets, got {packets!r}") from None
            if not all(isinstance(p, Packet) for p in cands):
                raise TypeError(f"find(packets=...) takes Packets, got {packets!r:.80}")
        if src is not None:
            if src not in self.names:      # a host of a SocketNetwork is no endpoint
                self[src]                  # a KeyError names the endpoints
            cands = [p for p in cands if p.src == src]
        if flags is not None:
            cands = [p for p in cands if matches(p.segment, flags)]
        if not cands:
            have = ", ".join(f"#{p.id} {p.src} {p.segment.label()}" for p in self.in_flight)
            raise KeyError(f"no packet in flight from {src or 'anyone'} matching "
                           f"{flags or 'anything'}; in flight: {have or 'nothing'}")
        return min(cands, key=lambda p: (p.arrive_at, p.id))
