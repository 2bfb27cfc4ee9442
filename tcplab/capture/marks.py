"""What a capture shows and the RFC explains: marks on the packets of an inference.

Built on :mod:`tcplab.capture.infer` (the states the model inferred) and on the sequence
numbers of the capture itself, unwrapped per direction so a conversation that crosses
2**32 is read correctly.  The marks, in the words of RFC 9293 (and of Wireshark's
analysis flags where they agree):

* ``retransmission`` -- the sender sent bytes (or a SYN/FIN) it had sent before (§3.8.1;
  the timer of RFC 6298, or Linux's tail loss probe of RFC 8985); ``duplicate`` -- an
  exact copy seen again within 1 ms (the network, or the capture, saw it twice);
  ``duplicate ACK`` (RFC 5681 §2);
* ``gap`` -- bytes before the segment are missing from the capture;
* ``out of window`` -- not acceptable to its receiver (§3.10.7.4's four cases), answered
  with an ACK and dropped;
* RSTs and why: refused (no listener, §3.10.7.1), data after close or close with unread
  data (RFC 2525 §2.17, Linux), abort (§3.10.5), reset received (§3.10.7.4);
* the TIME-WAIT side, a half-close, simultaneous open and close (figures 7 and 13);
* anomalies the model cannot explain.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..segment import Flags
from ..states import TcpState

if TYPE_CHECKING:
    from .infer import Inference

__all__ = ["mark_packets"]

S = TcpState


def mark_packets(inf: "Inference", unwrapped: list[tuple[int, int]]) -> None:
    """Add ``marks`` (and some ``uncertain`` notes) to every packet of ``inf``, in place."""
    max_end: dict[str, int | None] = {"client": None, "server": None}
    first: dict[str, int] = {}
    last: dict[str, object] = {"client": None, "server": None}
    last_pure_ack: dict[str, tuple[int, int] | None] = {"client": None, "server": None}
    got_data = {"client": False, "server": False}
    fin_sent = {"client": False, "server": False}
    told: set[str] = set()
    for k, ps in enumerate(inf.packets):
        p, src, dst, seg = ps.packet, ps.src, ps.dst, ps.segment
        seq, end = unwrapped[ps.number - 1]
        marks: list[str] = []
        uncertain = list(ps.uncertain)
        occupies = end > seq
        prev = last[src]
        retx = False
        if occupies and max_end[src] is not None:
            if first[src] <= seq and end <= max_end[src]:  # type: ignore[operator]
                same = prev is not None and (prev.flags, prev.seq, prev.ack, prev.length) == \
                    (p.flags, p.seq, p.ack, p.length)     # type: ignore[attr-defined]
                if same and p.time - prev.time < 1e-3:   # type: ignore[attr-defined]
                    marks.append("duplicate: an exact copy of the segment before it (the "
                                 "network or the capture saw it twice)")
                else:
                    retx = True
                    what = ("SYN" if seg.syn else "FIN" if seg.fin and not seg.data
                            else f"{len(seg.data)} bytes")
                    marks.append(f"retransmission: the {src} sends {what} it sent before "
                                 f"(RFC 9293 §3.8.1: its retransmission timer, RFC 6298, "
                                 f"or a tail loss probe, RFC 8985)")
                    uncertain.append("the earlier copy may have been lost after the capture "
                                     "point; the inference assumes it arrived")
            elif seq > max_end[src] and not p.flags & Flags.SYN:   # type: ignore[operator]
                gap = seq - max_end[src]                            # type: ignore[operator]
                text = f"{gap} bytes before this segment are missing from the capture"
                if not any(text in u for u in uncertain):
                    uncertain.append(text + " (lost before the capture point, or not captured)")
        if occupies:
            first.setdefault(src, seq)
            max_end[src] = end if max_end[src] is None else max(max_end[src], end)  # type: ignore
        pure = not (p.flags & (Flags.SYN | Flags.FIN | Flags.RST)) and not p.length
        if pure and p.flags & Flags.ACK:
            if last_pure_ack[src] == (p.ack, p.window) and prev is not None and \
                    prev.length == 0:                                   # type: ignore[attr-defined]
                marks.append("duplicate ACK: the same ACK again, no data, same window "
                             "(RFC 5681 §2: the receiver is missing a segment, or a copy)")
            last_pure_ack[src] = (p.ack, p.window)
        if ps.acceptable is False:
            where = ps.receiver[0]
            if ps.old:
                marks.append(f"already received: every byte of it is before the {dst}'s "
                             f"RCV.NXT, so it is not acceptable (RFC 9293 §3.10.7.4); the "
                             f"{dst} answers with an ACK and drops it")
            elif where is S.ESTABLISHED:
                marks.append(f"out of window: not acceptable to the {dst} (RFC 9293 "
                             f"§3.10.7.4); it answers with an ACK and drops it")
            else:
                marks.append(f"anomaly: this segment is not acceptable in {where} "
                             f"(RFC 9293 §3.10.7.4); the {dst} answers with an ACK and drops it")
        if seg.rst:
            marks.append(_rst_reason(ps, got_data, fin_sent))
        if ps.error:
            marks.append(f"the {dst}'s application is told: {ps.error}")
        if p.length and src != dst:
            got_data[dst] = True
        if seg.fin:
            fin_sent[src] = True
        b, a = ps.receiver
        if a is S.TIME_WAIT and b is not S.TIME_WAIT:
            marks.append(f"TIME-WAIT is on the {dst}'s side: it closed first, and keeps the "
                         f"four-tuple for 2 MSL (Linux: 60 s) (RFC 9293 §3.10.7.4)")
        if a is S.CLOSING and b is not S.CLOSING and "simultaneous close" not in told:
            told.add("simultaneous close")
            marks.append("simultaneous close: the two FINs crossed in the network "
                         "(RFC 9293 figure 13)")
        if b is S.SYN_SENT and a is S.SYN_RECEIVED:
            marks.append("simultaneous open: the two SYNs crossed (RFC 9293 figure 7)")
        if p.length and b in (S.FIN_WAIT_1, S.FIN_WAIT_2) and "half-close" not in told:
            told.add("half-close")
            marks.append(f"half-close: the {dst} has sent its FIN (shutdown(SHUT_WR)) and "
                         f"still receives data (RFC 9293 §3.10.4)")
        explained = ps.predicted or ps.call or retx or any(m.startswith("duplicate")
                                                           for m in marks)
        if not explained and (seg.syn or seg.fin or seg.rst or seg.data):
            marks.append(f"anomaly: the model cannot explain why the {src} sent "
                         f"{seg.label()} in {ps.sender[0]}")
        inf.packets[k] = replace(ps, marks=tuple(marks), uncertain=tuple(uncertain),
                                 retransmission=retx)
        last[src] = p


def _rst_reason(ps: object, got_data: dict, fin_sent: dict) -> str:
    src = ps.src                                  # type: ignore[attr-defined]
    before = ps.sender[0]                         # type: ignore[attr-defined]
    if before in (S.CLOSED, S.LISTEN) and ps.receiver[0] is S.SYN_SENT:  # type: ignore
        return ("RST: refused -- nothing listens on that port, so the SYN is answered "
                "with a RST (RFC 9293 §3.10.7.1); connect() fails with ECONNREFUSED")
    if before is S.FIN_WAIT_2 and ps.call is not None:   # type: ignore[attr-defined]
        return (f"RST: the {src} was in FIN-WAIT-2, closed by its application: its "
                f"orphaned socket most likely timed out (Linux: tcp_fin_timeout), so the "
                f"segment found no connection and is answered with a RST (RFC 9293 "
                f"§3.10.7.1); an abort would look the same")
    if ps.call is not None:                       # type: ignore[attr-defined]
        if got_data[src] and not fin_sent[src]:
            return (f"RST: the {src} closed with unread data (Linux sends RST, not FIN, when "
                    f"close() leaves received data unread: RFC 2525 §2.17), or aborted "
                    f"(SO_LINGER 0, RFC 9293 §3.10.5)")
        return (f"RST: the {src} aborted (SO_LINGER 0 then close(), or the process died; "
                f"RFC 9293 §3.10.5)")
    if ps.predicted and before is S.CLOSED and fin_sent[src]:  # type: ignore[attr-defined]
        return (f"RST: the {src} no longer has this connection (it closed, and its "
                f"FIN-WAIT-2 or TIME-WAIT timed out): {ps.why_sent}")  # type: ignore
    if ps.predicted and ps.why_sent:              # type: ignore[attr-defined]
        return f"RST: {ps.why_sent}"              # type: ignore[attr-defined]
    if fin_sent[src]:
        return (f"RST: data reached the {src} after it closed: the socket is gone, so it "
                f"answers with a RST (RFC 2525 §2.17, Linux)")
    return f"RST from the {src} in {before}"
