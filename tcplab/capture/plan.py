"""What a capture tells before the model runs: the plan of an inference.

For one conversation: which end sent each packet, where the capture was taken
(:mod:`tcplab.capture.point`), each end's ISN, MSS and window scale (RFC 9293 §3.7.1,
RFC 7323 §2) and so the endpoints' :class:`~tcplab.endpoint.Config` (Linux's timers), an
orphaned FIN-WAIT-2 that must have timed out, and each packet's send and arrival times --
with causality: a segment that acknowledges bytes is never sent before they arrived.

Built on the model's :class:`~tcplab.endpoint.Config` and sequence arithmetic, and on the
capture's packets.  :mod:`tcplab.capture.infer` runs the model on this plan.
"""

from __future__ import annotations

import bisect

from ..endpoint import Config
from ..segment import Flags
from .conversations import Conversation
from .point import Unwrap, capture_point
from .reader import TcpPacket

__all__ = ["Plan"]

_HUGE = 2 ** 30 - 1


class Plan:
    """What the capture of one conversation tells before the model runs: each packet's side,
    the capture point, ISNs, MSS and window scale, the endpoints' configurations, and (from
    :meth:`times`) when each packet left its sender and reached its receiver."""

    def __init__(self, conv: Conversation, packets: list[TcpPacket]) -> None:
        self.conv = conv
        self.pk = packets
        self.client = conv.client
        self.side = ["client" if (p.src, p.sport) == self.client else "server" for p in packets]
        self.point = capture_point(packets, self.client)
        self.notes: list[str] = [self.point.describe()]
        far = max(("client", self.point.to_client), ("server", self.point.to_server),
                  key=lambda e: e[1])
        if self.point.known and far[1] >= 1e-3:
            self.notes.append(
                f"the {far[0]}'s state changes are placed {far[1] * 1e3:.3g} ms after the "
                f"capture saw each segment (half the handshake's round trip); its processing "
                f"time and any jitter are not in the capture")
        self.mid = not (packets[0].flags & Flags.SYN)
        self._options()

    # -- what the capture tells before the run ---------------------------------------------
    def _options(self) -> None:
        pk, side = self.pk, self.side
        mss = {"client": None, "server": None}
        wscale = {"client": None, "server": None}
        isn: dict[str, int] = {}
        biggest = {"client": 1, "server": 1}
        for p, s in zip(pk, side):
            if p.flags & Flags.SYN:
                isn.setdefault(s, p.seq)
                mss[s] = mss[s] or p.mss
                wscale[s] = p.wscale if wscale[s] is None else wscale[s]
            biggest[s] = max(biggest[s], p.length)
        if self.mid:
            for p, s in zip(pk, side):
                other = "server" if s == "client" else "client"
                isn.setdefault(s, (p.seq - 1) % 2 ** 32)
                if p.flags & Flags.ACK:
                    isn.setdefault(other, (p.ack - 1) % 2 ** 32)
            self.notes.append("the capture starts mid-connection: before its first packet "
                              "both ends are assumed ESTABLISHED, after a handshake the "
                              "capture did not see (a FIN may have passed before it)")
            if self.conv.client_guessed:
                self.notes.append(f"no SYN: the client is taken to be "
                                  f"{self.client[0]}:{self.client[1]} (the higher port)")
        scaled = wscale["client"] is not None and wscale["server"] is not None
        self.shift = {s: (wscale[s] or 0) if scaled else 0 for s in ("client", "server")}
        largest = {"client": 1, "server": 1}
        for p, s in zip(pk, side):
            shift = 0 if p.flags & Flags.SYN else self.shift[s]
            largest[s] = max(largest[s], min(p.window << shift, _HUGE))
        configs = {}
        for s in ("client", "server"):
            other = "server" if s == "client" else "client"
            send_mss = max(mss[other] or 0, biggest[s], 1)
            extra = {}
            timed_out = self._fin_wait_2_timed_out(s)
            if timed_out is not None:
                extra["fin_wait_2_timeout"] = timed_out
            configs[s] = Config.linux(mss=send_mss, window=largest[s], rcvbuf=_HUGE, **extra)
        self.configs = configs
        self.isn = isn

    def _fin_wait_2_timed_out(self, end: str) -> float | None:
        """If ``end`` answers a segment with RFC 9293 §3.10.7.1's reply of a closed port
        (``<SEQ=SEG.ACK><CTL=RST>``) after its FIN was acknowledged, its orphaned FIN-WAIT-2
        ran out in between (Linux's tcp_fin_timeout): a timeout that ends in that gap (s)."""
        fin_acked_at = None
        fin_end = None
        last_peer = None
        for p, s in zip(self.pk, self.side):
            if s == end:
                if p.flags & Flags.FIN and fin_end is None:
                    fin_end = (p.seq + p.length + 1) % 2 ** 32
                elif p.flags == Flags.RST and last_peer is not None and \
                        fin_acked_at is not None and last_peer.flags & Flags.ACK and \
                        p.seq == last_peer.ack and last_peer.time > fin_acked_at:
                    gap = last_peer.time - fin_acked_at
                    if gap < 2e-3:           # too short for any FIN-WAIT-2 timer
                        return None
                    self.notes.append(
                        f"the {end}'s orphaned FIN-WAIT-2 ended without a segment, between "
                        f"{fin_acked_at - self.pk[0].time:.3f} s and "
                        f"{last_peer.time - self.pk[0].time:.3f} s (Linux's tcp_fin_timeout): "
                        f"the {end} then answers as a closed port does; how long the timer "
                        f"was is not in the capture")
                    return gap / 2
            else:
                last_peer = p
                if fin_end is not None and fin_acked_at is None and p.flags & Flags.ACK \
                        and p.ack == fin_end:
                    fin_acked_at = p.time
        return None

    def times(self) -> tuple[list[float], list[float]]:
        """Send and arrival time of every packet, with causality enforced: a segment that
        acknowledges bytes is sent after the segment carrying them arrived."""
        pt, pk, side = self.point, self.pk, self.side
        d = {"client": pt.to_client, "server": pt.to_server}
        self.base = pk[0].time - pt.latency
        sends, arrives = [], []
        ends: dict[str, list[tuple[int, float]]] = {"client": [], "server": []}
        unwrap = {s: Unwrap(self.isn.get(s, 0)) for s in ("client", "server")}
        acks = {s: Unwrap(self.isn.get("server" if s == "client" else "client", 0))
                for s in ("client", "server")}
        self.unwrapped: list[tuple[int, int]] = []
        for p, s in zip(pk, side):
            other = "server" if s == "client" else "client"
            t = p.time - self.base
            sent = t - d[s]
            if p.flags & Flags.ACK:
                acked = acks[s](p.ack)
                # the latest arrival among the peer's segments ending at or before SEG.ACK
                lst = ends[other]
                i = bisect.bisect_right(lst, (acked, float("inf")))
                if i:
                    sent = max(sent, max(a for _, a in lst[max(0, i - 8):i]))
            arrive = max(t + d[other], sent)
            seq = unwrap[s](p.seq)
            end = seq + p.length + bool(p.flags & Flags.SYN) + bool(p.flags & Flags.FIN)
            self.unwrapped.append((seq, end))
            if end > seq:
                bisect.insort(ends[s], (end, arrive))
                if len(ends[s]) > 64:
                    del ends[s][:-64]
            sends.append(sent)
            arrives.append(arrive)
        return sends, arrives
