"""The run as the ladder sees it: packets with their send, arrival and loss, from the history.

Builds on the model only (:class:`~tcplab.network.Network`, :class:`~tcplab.steps.Step`
and its typed fields ``wire``, ``retransmission`` and ``discard``; never ``Step.event``)
and :mod:`..socket_names` (which host holds which TCB, on a network of hosts with
sockets).  Pure.

>>> from tcplab import scenarios
>>> run = collect(scenarios.get("lost-final-ack").run(), None, None, None)
>>> run.names, [p.segment.label() for p in run.packets.values() if p.lost_step is not None]
(('client', 'server'), ['ACK'])
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

from ...network import WIRE, Network, Packet
from ...segment import Segment
from ...steps import Step
from ..socket_names import SocketNames, socket_names

__all__ = ["Pkt", "Run", "collect"]


@dataclass
class Pkt:
    """A packet as the ladder sees it, reconstructed from the history."""

    id: int
    src: str
    dst: str
    segment: Segment
    sent_at: float
    sent_step: int
    copy_of: int | None = None
    retransmission: bool = False
    arrive_at: float | None = None       # planned arrival (the wire's promise)
    delivered_at: float | None = None
    delivered_step: int | None = None
    lost_step: int | None = None
    delayed: bool = False
    discard: str | None = None           # the receiving host dropped it: why (Step.discard)
    injected: bool = False               # hand-made, put on the wire by Network.inject()
    sport: int | None = None             # its source port (hosts with sockets), if known

    @property
    def planned(self) -> float:
        if self.delivered_at is not None:
            return self.delivered_at
        return self.arrive_at if self.arrive_at is not None else self.sent_at

    def status(self, k: int) -> str:
        """``delivered``, ``discarded`` (it arrived and the host dropped it unprocessed:
        a full accept or SYN queue), ``lost`` or ``in-flight`` after step ``k``."""
        if self.delivered_step is not None and self.delivered_step <= k:
            return "discarded" if self.discard else "delivered"
        if self.lost_step is not None and self.lost_step <= k:
            return "lost"
        return "in-flight"


@dataclass
class Run:
    """What a ladder draws: the history, the two endpoints, the latency, the packets."""

    history: list[Step]
    names: tuple[str, str]
    latency: float
    packets: dict[int, Pkt]
    now: float                           # the clock at the end of the whole run
    real: dict[float, float] | None = None  # zero latency: row time -> the real time
    source: list[Step] = field(default_factory=list)   # the steps as given (memo keys)
    sockets: SocketNames = field(default_factory=SocketNames)  # hosts with sockets: TCBs


def _rows_for_zero_latency(run: Run) -> Run:
    """With zero latency everything happens at one instant: give every step its own row
    (0.1 "s" apart) so the ladder stays readable; the time axis still shows real times."""
    unit = 0.1
    hist = [replace(s, time=i * unit) for i, s in enumerate(run.history)]
    real = {round(i * unit, 9): s.time for i, s in enumerate(run.history)}
    for p in run.packets.values():
        if p.copy_of is None:
            p.sent_at = p.sent_step * unit
    for p in run.packets.values():
        if p.copy_of is not None:
            p.sent_at = run.packets[p.copy_of].sent_at
        if p.delivered_step is not None:
            p.delivered_at = p.delivered_step * unit
        p.arrive_at = p.sent_at + unit
    now = (len(hist) - 1) * unit if hist else 0.0
    return Run(hist, run.names, unit, run.packets, now, real, run.source, run.sockets)


def collect(source: Any, packets: Iterable[Packet] | None, names: Sequence[str] | None,
            latency: float | None) -> Run:
    """The :class:`Run` of ``source``: a :class:`~tcplab.network.Network` or its history
    (a list of Steps; ``packets``, ``names`` and ``latency`` complete what steps do not say).

    Raises :class:`TypeError` for anything else, :class:`ValueError` unless there are
    exactly two endpoints.
    """
    net: Network | None = None
    if isinstance(source, Network) or hasattr(source, "history") and hasattr(source, "names"):
        net = source
        history = list(source.history)
    else:
        history = list(source)
        if history and not all(isinstance(s, Step) for s in history):
            raise TypeError("ladder() takes a Network or a list of Steps (its history)")
    known: dict[int, Packet] = {}
    if net is not None:
        for p in list(net.lost) + list(net.in_flight) + [p for p, _ in net.delivered]:
            known[p.id] = p
    for p in packets or ():
        known[p.id] = p
    if names is None:
        if net is not None:
            names = tuple(net.names)
        elif history and history[0].states:
            names = tuple(n for n, _ in history[0].states)
        else:
            actors = []
            for s in history:
                if s.actor != WIRE and s.actor not in actors:
                    actors.append(s.actor)
            if set(actors) == {"client", "server"}:
                actors = ["client", "server"]    # the default order, whoever acted first
            names = tuple((actors + ["client", "server"])[:2]) if len(actors) < 2 \
                else tuple(actors[:2])
    names = tuple(names)
    if len(names) != 2:
        raise ValueError(f"a ladder has two endpoints, got {names!r}")

    pk: dict[int, Pkt] = {}
    for i, s in enumerate(history):
        if s.actor != WIRE:
            peer = names[1] if s.actor == names[0] else names[0]
            retx = s.retransmission
            for pid, seg in zip(s.packets, s.sent):
                p = known.get(pid)
                pk[pid] = Pkt(pid, s.actor, peer, seg, s.time, i,
                               retransmission=p.retransmission if p else retx,
                               arrive_at=p.arrive_at if p else None,
                               sport=getattr(p, "sport", None))
            if s.kind == "segment" and s.packet in pk:
                pk[s.packet].delivered_at = s.time
                pk[s.packet].delivered_step = i
                pk[s.packet].discard = s.discard
        else:
            orig = pk.get(s.packet) if s.packet is not None else None
            if s.wire == "drop" and orig:
                orig.lost_step = i
            elif s.wire == "delay" and orig:
                orig.delayed = True
            elif s.wire == "inject":             # drawn when the packet itself is known
                for pid in s.packets:
                    p = known.get(pid)
                    if p is not None:
                        pk[pid] = Pkt(pid, p.src, p.dst, p.segment, s.time, i,
                                      arrive_at=p.arrive_at, injected=True,
                                      sport=getattr(p, "sport", None))
            elif s.wire == "duplicate" and orig:
                for cid in s.packets:
                    p = known.get(cid)
                    pk[cid] = Pkt(cid, orig.src, orig.dst, orig.segment, orig.sent_at, i,
                                   copy_of=orig.id, retransmission=orig.retransmission,
                                   arrive_at=p.arrive_at if p else orig.arrive_at)
    if latency is None:
        if net is not None:
            latency = net.latency
        else:
            lat = sorted(p.planned - p.sent_at for p in pk.values()
                         if p.delivered_at is not None and p.copy_of is None and not p.delayed)
            latency = lat[len(lat) // 2] if lat else 0.1
    for p in pk.values():
        if p.arrive_at is None:
            p.arrive_at = p.sent_at + latency
    now = history[-1].time if history else 0.0
    if net is not None:
        now = max(now, net.now)
    run = Run(history, names, float(latency), pk, now,  # type: ignore[arg-type]
              source=history, sockets=socket_names(history))
    return _rows_for_zero_latency(run) if latency <= 0 and history else run
