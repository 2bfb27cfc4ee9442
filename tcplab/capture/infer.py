"""Both ends' RFC 9293 states after every captured packet, inferred by the model.

The captured segments of one conversation are fed to a :class:`tcplab.network.Network`
whose two endpoints stand for the two hosts (``client`` = the end that sent the first SYN):

* **ISNs, MSS and windows from the capture**: ``Network(isn=...)`` takes each end's ISN
  from its SYN; each end's send MSS is what its peer announced (or the largest segment it
  sent), windows are the advertised ones scaled by the SYNs' window-scale options
  (RFC 7323 §2); timers are Linux's (:meth:`tcplab.endpoint.Config.linux`).
* **User calls from the segments**: a segment the model would not have sent by itself is
  explained by the call that makes it: a SYN by ``connect()``, new data by ``send()``, a FIN
  by ``close()`` (or ``shutdown(SHUT_WR)`` if the end keeps receiving data after it), an
  unexplained RST by an abort.  A server whose SYN-ACK is in the capture was listening.
* **The capture point**: a state changes when a segment *reaches* an end, not when the
  capture sees it.  The handshake tells where the capture was taken: the SYN to SYN-ACK gap
  is twice the one-way delay from the capture point to the server, the SYN-ACK to ACK gap
  twice that to the client (the same reasoning as Wireshark's "iRTT" and tcptrace's).
  Each packet is sent at ``t - d(sender)`` and arrives at ``t + d(receiver)``, and a
  segment that acknowledges another is never sent before that other one arrived.
* **Matching**: when the model itself sent a segment equal to the captured one (flags,
  SEQ, ACK, length), that model packet is delivered -- the model explains the packet.
  Otherwise the captured segment is put on the wire by hand (``Network.inject``) and
  delivered: retransmissions by the real stack, duplicates, out-of-window segments.

Where the model cannot know, the inference says so (``PacketState.uncertain``): a capture
that starts mid-connection (both ends are assumed ESTABLISHED, after a handshake the
capture did not see), bytes missing from the capture, and the timing of the far end.

Memory and time are bounded: at most ``max_packets`` packets and ``max_bytes`` payload
bytes per conversation (:class:`~tcplab.capture.reader.CaptureError` beyond), and the
model's receive buffers are read (``recv()``) whenever they hold more than 1 MB.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..network import WIRE, Network
from ..segment import Flags, Segment, seq_add, seq_in_window, seq_sub
from ..states import TcpState
from ..steps import Step, TcpError
from .conversations import Conversation
from .marks import mark_packets
from .plan import Plan
from .point import CapturePoint, capture_point
from .reader import CaptureError, TcpPacket
from .records import Inference, PacketState

__all__ = ["infer", "acceptable", "PacketState", "Inference", "CapturePoint", "capture_point"]

S = TcpState
_NO_PSH = ~Flags.PSH & 0x1F
_SYNCHRONIZED = (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING,
                 S.LAST_ACK, S.TIME_WAIT)
_READ_ABOVE = 1 << 20
_MAX_FIRINGS = 1000
_HUGE = 2 ** 30 - 1


def infer(conv: Conversation, packets: list[TcpPacket], *, max_packets: int = 50_000,
          max_bytes: int = 64 << 20) -> Inference:
    """Infer both ends' states after every packet of ``conv`` (see the module docstring).

    ``packets`` are the conversation's packets in capture order
    (:func:`~tcplab.capture.conversations.conversation_packets`).

    >>> import io
    >>> from tcplab.capture import conversations, read_tcp
    >>> from tcplab.capture.write import Frame, write_capture
    >>> buf = io.BytesIO()
    >>> write_capture(buf, [Frame(0.0, "c", "S", 100), Frame(0.02, "s", "RA", 0, 101)])
    >>> [conv] = conversations(io.BytesIO(buf.getvalue()))
    >>> conv.story()
    'refused (the server answered the SYN with a RST: no listener)'
    >>> inf = infer(conv, list(read_tcp(io.BytesIO(buf.getvalue()))))
    >>> inf.sequence("client")
    [TcpState.CLOSED, TcpState.SYN_SENT, TcpState.CLOSED]

    Raises
    :class:`~tcplab.capture.reader.CaptureError` for an empty conversation, packets of
    another conversation, or more than ``max_packets`` packets / ``max_bytes`` payload.
    """
    if not isinstance(conv, Conversation):
        raise CaptureError(f"infer() takes a Conversation (from conversations() or "
                           f"Capture(...).conversation(n)), got {type(conv).__name__}")
    if not isinstance(packets, (list, tuple)) or \
            not all(isinstance(p, TcpPacket) for p in packets):
        raise CaptureError("infer() takes the conversation's packets as a list of TcpPacket "
                           "(conversation_packets(file, conv) or Capture(...).packets(n))")
    if not packets:
        raise CaptureError(f"conversation {conv.number} has no packets to infer states from")
    if len(packets) > max_packets:
        raise CaptureError(f"conversation {conv.number} has {len(packets)} packets, more than "
                           f"max_packets={max_packets}; cut the capture first")
    total = sum(p.length for p in packets)
    if total > max_bytes:
        raise CaptureError(f"conversation {conv.number} carries {total} payload bytes, more "
                           f"than max_bytes={max_bytes}; cut the capture first")
    key = (conv.a, conv.b)
    for p in packets:
        if p.key != key:
            raise CaptureError(f"packet {p.index} ({p.describe()}) is not part of "
                               f"conversation {conv.number}")
    return _Inferrer(conv, packets).run()


class _Inferrer(Plan):
    """The model run on a :class:`~tcplab.capture.plan.Plan`."""

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> Inference:
        sends, arrives = self.times()
        net = self.net = Network(("client", "server"), latency=self.point.latency,
                                 configs=self.configs, isn=self.isn)
        self.index: dict[tuple, list[int]] = {}
        self.seen = 0
        self.injected: set[int] = set()
        self.refused: list[str] = []
        self.origin: dict[int, str] = {}
        first_step = 0
        if self.mid:
            self._assumed_handshake()
            first_step = len(net.history)
        elif self._server_listened():
            net.listen("server")
        self._index_new()
        events = sorted([(t, i, 0) for i, t in enumerate(sends)] +
                        [(t, i, 1) for i, t in enumerate(arrives)])
        pending: dict[int, _Sent] = {}
        out: list[PacketState | None] = [None] * len(self.pk)
        for t, i, kind in events:
            self._until(t)
            if kind == 0:
                pending[i] = self._send(i)
            else:
                out[i] = self._arrive(i, pending.pop(i), sends[i], arrives[i])
        result = Inference(self.conv, net, [p for p in out if p is not None], self.point,
                           self.base, self.notes, first_step)
        mark_packets(result, self.unwrapped)
        return result

    def _server_listened(self) -> bool:
        """The server listened before the capture began: it answered a SYN with a SYN-ACK,
        and sent no SYN of its own (as it would in a simultaneous open)."""
        sent = [p.flags for p, s in zip(self.pk, self.side) if s == "server"]
        return any(f & Flags.SYN and f & Flags.ACK for f in sent) and \
            not any(f & Flags.SYN and not f & Flags.ACK for f in sent)

    def _segment(self, i: int) -> Segment:
        """Packet ``i`` as the model's Segment, its window scaled (RFC 7323 §2.3: never in
        a SYN)."""
        p = self.pk[i]
        shift = 0 if p.flags & Flags.SYN else self.shift[self.side[i]]
        return p.segment(window=min(p.window << shift, _HUGE))

    def _assumed_handshake(self) -> None:
        net = self.net
        net.listen("server")
        net.connect("client")
        self._index_new()
        for _ in range(3):
            if not net.in_flight:
                break
            net.deliver(net.in_flight[0].id)
        for p in list(net.in_flight):   # nothing of the assumed handshake stays in flight
            net.drop(p.id)
        self._index_new()
        self.index.clear()

    def _until(self, t: float) -> None:
        """Let the model's timers due before ``t`` fire, then move the clock to ``t``.

        At most ``_MAX_FIRINGS`` firings per gap between packets: a capture's timestamps
        are untrusted, and a zero window probed for a (claimed) year would never end."""
        net = self.net
        for _ in range(_MAX_FIRINGS):
            timers = net.timers()
            if not timers or timers[0][2] >= t:
                break
            net.fire_timer(timers[0][0], timers[0][1])
            self._index_new()
        else:
            if net.timers() and net.timers()[0][2] < t:
                self.notes.append(f"the model's timers fired {_MAX_FIRINGS} times in one gap "
                                  f"between packets (up to {t:.3f} s); the rest were skipped")
        if t > net.clock.now:
            net.clock.now = t

    def _index_new(self) -> None:
        """Index the packets the model put on the wire since the last look."""
        hist = self.net.history
        for step in hist[self.seen:]:
            if step.actor != WIRE:
                for pid, seg in zip(step.packets, step.sent):
                    self.index.setdefault(_key(step.actor, seg), []).append(pid)
                    self.origin[pid] = step.explanation
        self.seen = len(hist)

    def _match(self, src: str, seg: Segment) -> int | None:
        pid = self._match_key(_key(src, seg))
        if pid is None and seg.rst:
            # RFC 9293's RST is <SEQ=SND.NXT><CTL=RST>; Linux's also carries an ACK
            pid = self._match_key((src, int(Flags.RST), seg.seq, 0, 0))
        return pid

    def _match_key(self, key: tuple) -> int | None:
        pids = self.index.get(key)
        while pids:
            pid = pids.pop(0)
            try:
                self.net.packet(pid)            # still in flight?
            except KeyError:
                continue
            return pid
        return None

    def _send(self, i: int) -> "_Sent":
        """Packet ``i`` leaves its sender: the model's own segment, if the model sent it (by
        itself, or after the user call that explains it), else the captured one, injected."""
        src = self.side[i]
        dst = "server" if src == "client" else "client"
        net, ep = self.net, self.net[src]
        seg = self._segment(i)
        before = ep.state
        uncertain: list[str] = []
        call = None
        trans: tuple = ()
        extra: list[int] = []
        self._acked_unseen(src, dst, seg, uncertain)
        pid = self._match(src, seg)
        if pid is None:
            mark = len(net.history)
            step, more, gap = self._call_for(i, src, seg)
            uncertain += more + self.refused
            self.refused.clear()
            if step is not None:
                call, trans = step.socket_call, step.transitions
                if step.call == "abort" and ep.received:
                    # Linux's close() with received data still unread sends RST, not FIN
                    call = "close() with unread data, or abort"
                self._index_new()
                pid = self._match(src, seg)
                if pid is None and gap:
                    pid, extra = self._gap_packets(src, seg, mark)
        predicted = pid is not None and not extra and not uncertain
        if pid is None:
            net.inject(dst, seg, src=src)
            pid = net.history[-1].packets[0]
            self.injected.add(pid)
            self._index_new()
        return _Sent(pid, call, (before, ep.state), predicted, uncertain, trans, extra)

    def _acked_unseen(self, src: str, dst: str, seg: Segment, uncertain: list[str]) -> None:
        """``seg`` acknowledges bytes ``dst`` sent that the capture did not see: they must have
        been sent and received before ``src`` sent it.  Send and deliver them on the model."""
        net, peer = self.net, self.net[dst]
        if not seg.has_ack or peer.state not in (S.ESTABLISHED, S.CLOSE_WAIT):
            return
        ahead = seq_sub(seg.ack, peer.snd_nxt)
        if not 0 < ahead < 2 ** 30:
            return
        mark = len(net.history)
        if self._call(dst, "send", bytes(ahead)) is None:
            uncertain += self.refused
            self.refused.clear()
            return
        self._index_new()
        for step in net.history[mark:]:
            if step.actor == dst:
                for pid in step.packets:
                    net.deliver(pid)
        self._index_new()
        uncertain.append(f"it acknowledges {ahead} bytes from the {dst} that are missing from "
                         f"the capture; assumed sent and received before it")

    def _gap_packets(self, src: str, seg: Segment, mark: int) -> tuple[int | None, list[int]]:
        """After bytes missing from the capture were sent on the model: the model's packet
        that ends where the captured segment ends, and the ones before it (the gap)."""
        sent: list[tuple[int, Segment]] = []
        for step in self.net.history[mark:]:
            if step.actor == src:
                sent += list(zip(step.packets, step.sent))
        end = seq_add(seg.seq, seg.len)
        for k, (pid, mseg) in enumerate(sent):
            if seq_add(mseg.seq, mseg.len) == end and mseg.fin == seg.fin:
                return pid, [q for q, _ in sent[:k]]
        return None, []

    def _call_for(self, i: int, src: str, seg: Segment) -> tuple[Step | None, list[str], bool]:
        """The user call that makes ``src`` send ``seg``, made on the model (or None); the
        notes of uncertainty; whether bytes missing from the capture were assumed sent."""
        ep = self.net[src]
        st = ep.state
        if seg.rst:
            if st in _SYNCHRONIZED or st in (S.SYN_SENT, S.SYN_RECEIVED):
                return self._call(src, "abort"), [], False
            return None, [], False
        if seg.syn:
            if not seg.has_ack and st is S.CLOSED:
                return self._call(src, "connect"), [], False
            return None, [], False
        uncertain: list[str] = []
        step = None
        gap = False
        if (seg.data or seg.fin) and st in (S.ESTABLISHED, S.CLOSE_WAIT, S.SYN_RECEIVED,
                                            S.SYN_SENT):
            ahead = seq_sub(seg.seq, ep.snd_nxt)
            if 0 <= ahead < 2 ** 30 and (seg.data or ahead):
                data = seg.data
                if ahead:
                    gap = True
                    data = bytes(ahead) + data
                    uncertain.append(f"{ahead} bytes before this segment are missing from the "
                                     f"capture (lost before the capture point, or not "
                                     f"captured); assumed sent and received")
                step = self._call(src, "send", data)
        if seg.fin and ep.state in (S.ESTABLISHED, S.CLOSE_WAIT, S.SYN_RECEIVED):
            shut = self._keeps_reading(i, src)
            if ep.received:        # a FIN, not a RST: the application had read what came
                self.net.recv(src)
            # shutdown(SHUT_WR) is the RFC's CLOSE (no argument); close() gives the socket
            # up (orphan=True), so data arriving later would be answered with RST
            step = self._call(src, "close", *(() if shut else (True,))) or step
        return step, uncertain, gap

    def _call(self, src: str, call: str, *args: object) -> Step | None:
        """Make a user call on the model; None (and a note) if the model refuses it here."""
        try:
            return self.net.call(src, call, *args)
        except TcpError as exc:
            self.refused.append(f"the model refuses {call}() for the {src} in "
                                f"{exc.state}: {exc.message} (RFC 9293 {exc.rfc})")
            return None

    def _keeps_reading(self, i: int, src: str) -> bool:
        """After its FIN, does ``src`` acknowledge new data from its peer (a half-close)?"""
        peer_data_after = False
        for p, s in zip(self.pk[i + 1:], self.side[i + 1:]):
            if s != src and p.length:
                peer_data_after = True
            elif s == src and p.flags & Flags.RST:
                return False
            elif s == src and peer_data_after and p.flags & Flags.ACK:
                return True
        return False

    def _arrive(self, i: int, sent: "_Sent", sent_at: float, arrives_at: float) -> PacketState:
        """Packet ``i`` reaches its receiver: deliver it on the model, and say what happened."""
        pid, call, sender, predicted = sent.pid, sent.call, sent.sender, sent.predicted
        uncertain, strans, extra = sent.uncertain, sent.transitions, sent.gap
        p, src = self.pk[i], self.side[i]
        dst = "server" if src == "client" else "client"
        net = self.net
        ep = net[dst]
        for gap_pid in extra:                 # the bytes the capture missed arrive first
            net.deliver(gap_pid)
            self._index_new()
        seg = net.packet(pid).segment
        ok = acceptable(seg, ep.rcv_nxt, ep.rcv_wnd) if ep.state in _SYNCHRONIZED or \
            ep.state is S.SYN_RECEIVED else None
        old = ok is False and seg.len > 0 and seq_sub(seq_add(seg.seq, seg.len), ep.rcv_nxt) <= 0
        step = net.deliver(pid)
        self._index_new()
        if len(ep.received) > _READ_ABOVE:
            net.recv(dst)
            self._index_new()
        seg = self._segment(i)
        return PacketState(
            number=i + 1, packet=p, src=src, dst=dst, segment=seg, sent_at=sent_at,
            arrives_at=max(arrives_at, sent_at), call=call, sender=sender,
            receiver=(step.before, step.after), states=dict(step.states),
            explanation=step.explanation, rfc=step.rfc, predicted=predicted,
            uncertain=tuple(uncertain), transitions=step.transitions,
            sender_transitions=strans, acceptable=ok, old=old, error=step.error,
            timers=step.timers,
            why_sent=self.origin.pop(pid, "") if predicted else "")


@dataclass
class _Sent:
    """A packet between its two events: what leaving its sender found out."""

    pid: int                          # the model's packet that stands for it
    call: str | None                  # the socket call that made it, if any
    sender: tuple                     # the sender's (before, after) states
    predicted: bool                   # the model sent it by itself
    uncertain: list                   # what the inference cannot know about it
    transitions: tuple                # the sender's transitions, if a call made it
    gap: list                         # model packets for bytes the capture missed


def _key(src: str, seg: Segment) -> tuple:
    return (src, int(seg.flags) & _NO_PSH, seg.seq, seg.ack if seg.has_ack else 0, len(seg.data))


def acceptable(seg: Segment, rcv_nxt: int, rcv_wnd: int) -> bool:
    """RFC 9293 §3.10.7.4's four-case acceptability test."""
    if seg.len == 0:
        return seg.seq == rcv_nxt if rcv_wnd == 0 else seq_in_window(seg.seq, rcv_nxt, rcv_wnd)
    if rcv_wnd == 0:
        return False
    return seq_in_window(seg.seq, rcv_nxt, rcv_wnd) or \
        seq_in_window(seq_add(seg.seq, seg.len - 1), rcv_nxt, rcv_wnd)
