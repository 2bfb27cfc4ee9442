"""Where a capture was taken, and sequence numbers made monotonic.

A state changes when a segment *reaches* an end; a capture sees it somewhere on its way.
The handshake locates the capture point (the reasoning of Wireshark's "iRTT" and of
tcptrace): between the SYN and the SYN-ACK the capture waits a round trip to the server,
between the SYN-ACK and the client's ACK a round trip to the client, so half of each gap
is the one-way delay from the capture point to that end.

Built on :mod:`tcplab.segment` (sequence arithmetic) and the reader's packets.

>>> u = Unwrap(2**32 - 10)
>>> u(2**32 - 10), u(5)
(4294967286, 4294967301)
"""

from __future__ import annotations

from dataclasses import dataclass

from ..segment import Flags, seq_sub
from .reader import TcpPacket

__all__ = ["CapturePoint", "capture_point", "Unwrap"]


@dataclass(frozen=True)
class CapturePoint:
    """Where the capture was taken: one-way delays (s) from it to each end."""

    to_client: float
    to_server: float
    known: bool

    @property
    def latency(self) -> float:
        """The one-way delay between the two ends, seconds."""
        return self.to_client + self.to_server

    def describe(self) -> str:
        if not self.known:
            return ("capture point unknown (no handshake in the capture): each state is "
                    "taken to change when the capture saw the segment")
        c, s = self.to_client * 1e3, self.to_server * 1e3
        if c + s < 0.5:
            where = "at both ends at once (loopback, or one host)"
        elif s > 3 * c:
            where = "near the client"
        elif c > 3 * s:
            where = "near the server"
        else:
            where = "in between"
        return f"capture point {where}: {c:.3g} ms to the client, {s:.3g} ms to the server"


def capture_point(packets: list[TcpPacket], client: tuple[str, int]) -> CapturePoint:
    """The capture point from the handshake (SYN, SYN-ACK, first ACK of the SYN-ACK)."""
    syn = synack = ack = None
    for p in packets:
        src = (p.src, p.sport)
        if syn is None and p.flags & Flags.SYN and not p.flags & Flags.ACK and src == client:
            syn = p
        elif syn is not None and synack is None and p.flags & Flags.SYN and \
                p.flags & Flags.ACK and src != client:
            synack = p
        elif synack is not None and src == client and p.flags & Flags.ACK and \
                not p.flags & Flags.SYN and p.ack == (synack.seq + 1) % 2 ** 32:
            ack = p
            break
    if ack is None:
        return CapturePoint(0.0, 0.0, False)
    return CapturePoint(max(0.0, (ack.time - synack.time) / 2),
                        max(0.0, (synack.time - syn.time) / 2), True)


class Unwrap:
    """Sequence numbers of one direction made monotonic integers (wrap taken into account)."""

    def __init__(self, start: int) -> None:
        self.last = start

    def __call__(self, seq: int) -> int:
        value = self.last + seq_sub(seq, self.last % 2 ** 32)
        if value > self.last:
            self.last = value
        return value
