"""The wire between two endpoints: packets in flight and the queue they arrive from.

A :class:`Packet` is a segment on the wire with its sender, receiver and times (virtual
seconds).  :class:`Wire` holds the packets in flight, in sending order, with an event
queue (a heap keyed by arrival time, entries invalidated lazily when a packet is
delivered, dropped or delayed), so finding the next arrival costs O(log n) whatever the
number of packets in flight.  :func:`matches` reads the flags a script names a packet by.

Built on :mod:`tcplab.segment` only; :mod:`tcplab.network` drives it.

>>> w = Wire()
>>> w.put(Packet(1, "client", "server", Segment.make("SYN", 100), 0.0, 0.1))
>>> w.put(Packet(2, "server", "client", Segment.make("RST", 5), 0.0, 0.05))
>>> w.head()
(0.05, 2)
>>> matches(w[1].segment, "SYN"), matches(w[1].segment, "SYN,ACK")
(True, False)
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from .segment import Flags, Segment

__all__ = ["Packet", "Wire", "WIRE", "matches"]

#: The actor name of steps taken by the wire itself (drop, duplicate, delay).
WIRE = "wire"


@dataclass(frozen=True)
class Packet:
    """A segment on the wire: who sent it, when, and when it will arrive (seconds)."""

    id: int
    src: str
    dst: str
    segment: Segment
    sent_at: float
    arrive_at: float
    copy_of: int | None = None       # set on a duplicate made by the wire
    retransmission: bool = False     # the sender retransmitted it after a timeout
    sport: int | None = None         # TCP ports, on a network of hosts with sockets
    dport: int | None = None         # (tcplab.sockets); None between two bare TCBs

    def __str__(self) -> str:
        return f"#{self.id} {self.src}->{self.dst} {self.segment.rfc()}"


class Wire:
    """The packets in flight (by id, in sending order) and their event queue."""

    __slots__ = ("_flight", "_queue")

    def __init__(self) -> None:
        self._flight: dict[int, Packet] = {}
        self._queue: list[tuple[float, int]] = []     # (arrive_at, id)

    def __eq__(self, other: object) -> bool:
        """Two wires are equal when the same packets are in flight (the queue follows)."""
        return isinstance(other, Wire) and self._flight == other._flight

    __hash__ = None  # type: ignore[assignment]

    def put(self, pkt: Packet) -> None:
        """Put a packet on the wire, or replace one of the same id (a delay)."""
        self._flight[pkt.id] = pkt
        heapq.heappush(self._queue, (pkt.arrive_at, pkt.id))

    def take(self, pid: int) -> Packet:
        """Take packet ``pid`` off the wire (delivered or lost)."""
        return self._flight.pop(pid)

    def get(self, pid: int) -> Packet | None:
        return self._flight.get(pid)

    def __getitem__(self, pid: int) -> Packet:
        return self._flight[pid]

    def __len__(self) -> int:
        return len(self._flight)

    def __bool__(self) -> bool:
        return bool(self._flight)

    def packets(self) -> list[Packet]:
        """The packets in flight, in the order they were sent."""
        return list(self._flight.values())

    def ids(self) -> list[int]:
        return list(self._flight)

    def head(self) -> tuple[float, int] | None:
        """(arrival time, id) of the packet due first (ties: the lower id), or None."""
        queue, flight = self._queue, self._flight
        while queue:
            t, pid = queue[0]
            pkt = flight.get(pid)
            if pkt is not None and pkt.arrive_at == t:
                return t, pid
            heapq.heappop(queue)        # delivered, dropped or delayed since: stale
        return None


def matches(seg: Segment, flags: str) -> bool:
    """Does ``seg`` have exactly the flags named (``"SYN,ACK"``; ``"DATA"``: any data; PSH
    is ignored)?"""
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
