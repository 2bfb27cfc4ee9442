"""RFC 9293 rules the rest of the suite did not check (issue 19), one test per kind of
wrong behaviour that mutation testing (``scripts/mutation.sh``) showed slipping through:

- windows: the SND.WL1/SND.WL2 rule for window updates on pure ACKs, the acceptability
  table at a zero receive window, and the window a SYN and a SYN,ACK advertise
  (§3.10.7.4, §3.10.7.2, §3.10.7.3, §3.8.6);
- text and a FIN carried on a SYN or a SYN,ACK (§3.10.7.2, §3.10.7.3 "continue processing
  at the sixth step");
- the retransmission timer (RFC 6298 §5.1, §5.2, §5.3);
- a CLOSE queued in SYN-RECEIVED that survives a return to LISTEN (§3.10.4, §3.10.7.4);
- no extra segment: no bare ACK behind a segment that already carried it (MUST-58), a
  repeated FIN processed once, no stale passive-open flag (§3.10.7.4 second step).

The wire's rules are in ``test_rfc_rules_wire.py``.  Every expectation is a value the RFC
gives; the harness is ``test_endpoint_rfc.py``'s: two endpoints A (ISS=100) and B (ISS=300)
passing each other the segments they really emitted.
"""

from __future__ import annotations

import pytest

from tcplab.endpoint import Config, Endpoint
from tcplab.segment import Segment
from tcplab.states import TcpState as S
from test_endpoint_rfc import Pair, ack_now, established, keys, rfc


# ================================================================= windows ==============

def test_a_pure_ack_updates_the_send_window_by_the_wl1_wl2_rule():
    # §3.10.7.4 fifth step: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be
    # updated.  If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set
    # SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK."
    p = established()
    assert (p.A.snd_wnd, p.A.snd_wl1, p.A.snd_wl2) == (65535, 300, 101)   # from the SYN,ACK
    # SND.WL1 (300) < SEG.SEQ (301): a pure ACK that acknowledges nothing new still updates.
    step = p.inject("A", Segment.make("ACK", 301, 101, window=1000))
    assert (p.A.snd_wnd, p.A.snd_wl1, p.A.snd_wl2) == (1000, 301, 101) and step.sent == ()
    # SND.WL1 = SEG.SEQ and SND.WL2 = SEG.ACK: updates too (the window may shrink).
    p.inject("A", Segment.make("ACK", 301, 101, window=10))
    assert (p.A.snd_wnd, p.A.snd_wl1, p.A.snd_wl2) == (10, 301, 101)
    step = p.call("A", "send", b"x" * 25)
    assert [len(s.data) for s in step.sent] == [10] and len(p.A.send_buffer) == 15
    # B acknowledges the 10 bytes and opens its window: SND.WL2 < SEG.ACK = 111.
    step = p.inject("A", Segment.make("ACK", 301, 111, window=2000))
    assert (p.A.snd_una, p.A.snd_wnd, p.A.snd_wl1, p.A.snd_wl2) == (111, 2000, 301, 111)
    assert [s.rfc() for s in step.sent] == ["<SEQ=111><ACK=301><CTL=PSH,ACK><DATA=15>"]


def test_a_reordered_older_segment_does_not_shrink_the_send_window():
    # B sends 5 bytes (SEQ=301, ACK=101, WND=65535), then acknowledges A's 10 bytes with a
    # smaller window (SEQ=306, ACK=111, WND=500).  The ACK overtakes the data: when the
    # data arrives, SND.WL1 = 306 > SEG.SEQ = 301, so its window is old news (§3.10.7.4).
    p = established()
    p.call("A", "send", b"a" * 10)
    p.flight.clear()
    p.inject("A", Segment.make("ACK", 306, 111, window=500))
    assert (p.A.snd_una, p.A.snd_wnd, p.A.snd_wl1, p.A.snd_wl2) == (111, 500, 306, 111)
    step = p.inject("A", Segment.make("PSH,ACK", 301, 101, window=65535, data=b"hello"))
    assert (p.A.snd_wnd, p.A.snd_wl1, p.A.snd_wl2) == (500, 306, 111)
    # the text itself is fine (it is next in sequence) and is acknowledged
    assert step.delivered == b"hello" and rfc(step) == ["<SEQ=111><ACK=306><CTL=ACK>"]


def zero_window_pair() -> Pair:
    """A and B established; B's application never reads and A has filled B's 1,000-byte
    receive buffer: B's RCV.WND is 0 (RCV.NXT=1101) and A holds 200 more bytes."""
    p = established(b_config=Config(rcvbuf=1000))
    step = p.call("A", "send", b"d" * 1200)
    assert [len(s.data) for s in step.sent] == [536, 464]    # B's SYN,ACK said WND=1000
    p.settle()
    assert (p.B.rcv_nxt, p.B.rcv_wnd, len(p.B.received)) == (1101, 0, 1000)
    assert (p.A.snd_una, p.A.snd_wnd, len(p.A.send_buffer)) == (1101, 0, 200)
    assert p.A.timers == {"persist": 1.0}       # nothing in flight, data waiting: probe
    return p


def test_at_a_zero_window_an_empty_segment_at_rcv_nxt_is_acceptable():
    # §3.10.7.4 acceptability: SEG.LEN = 0, RCV.WND = 0 -> acceptable iff SEG.SEQ = RCV.NXT.
    p = zero_window_pair()
    p.call("B", "send", b"reply")
    p.settle()                       # A acknowledges B's data with a pure ACK at RCV.NXT
    assert p.B.snd_una == 306 and p.B.timers == {} and p.flight == []


def test_at_a_zero_window_an_empty_segment_off_rcv_nxt_is_answered_with_an_ack():
    # SEG.LEN = 0, RCV.WND = 0, SEG.SEQ != RCV.NXT: not acceptable -> <SEQ=SND.NXT>
    # <ACK=RCV.NXT><CTL=ACK> and drop.  The persist timer's probe (SEQ=SND.UNA-1) is such
    # a segment, and the answer carries the window, still 0 (§3.8.6.1).
    p = zero_window_pair()
    step = p.fire("A", "persist")
    assert rfc(step) == ["<SEQ=1100><ACK=301><CTL=ACK>"] and p.A.timers == {"persist": 3.0}
    step = p.deliver("A")
    assert rfc(step) == ["<SEQ=301><ACK=1101><CTL=ACK>"] and step.sent[0].window == 0
    assert p.B.rcv_nxt == 1101 and step.delivered == b""


def test_at_a_zero_window_a_segment_with_data_is_dropped_but_its_ack_is_processed():
    # SEG.LEN > 0, RCV.WND = 0: not acceptable as data, but "special allowance should be
    # made to accept valid ACKs, URGs, and RSTs" (§3.10.7.4); Linux's tcp_sequence() takes
    # it at RCV.NXT, processes the ACK and drops the text (TCPZeroWindowDrop).
    p = zero_window_pair()
    p.call("B", "send", b"reply")            # B's 5 bytes: SND.NXT=306
    p.flight.clear()                          # its segment is lost
    step = p.inject("B", Segment.make("PSH,ACK", 1101, 306, data=b"more"))
    assert p.B.snd_una == 306                 # the ACK field was processed
    assert step.delivered == b"" and p.B.rcv_nxt == 1101
    assert rfc(step)[-1] == ack_now(p.B) and step.sent[-1].window == 0
    assert "special allowance" in step.explanation


def test_at_a_zero_window_a_segment_with_data_is_not_acceptable():
    # SEG.LEN > 0, RCV.WND = 0: "not acceptable" -- ACK with the current numbers, drop it.
    p = zero_window_pair()
    p.clock.now = 5.0                 # past RFC 5961's rate limit for such ACKs
    step = p.inject("B", Segment.make("PSH,ACK", 1101, 301, data=b"more"))
    assert rfc(step) == [ack_now(p.B)] and step.sent[0].window == 0
    assert step.delivered == b"" and p.B.rcv_nxt == 1101 and len(p.B.received) == 1000
    # reading opens the window again: RCV.WND = rcvbuf - unread bytes
    p.B.read(600)
    assert p.B.rcv_wnd == 600


@pytest.mark.parametrize("window, rcvbuf, advertised", [
    (1000, 131072, 1000),     # Config.window bounds the window
    (65535, 700, 700),        # a small receive buffer bounds it (RCV.WND = free buffer)
])
def test_syn_and_syn_ack_advertise_the_receive_window(window, rcvbuf, advertised):
    # §3.10.7.2/3: the SYN,ACK and the SYN carry <WND=RCV.WND>; the peer takes it as its
    # SND.WND (SND.WL1 = SEG.SEQ, SND.WL2 = SEG.ACK) and sends no more than that.
    config = Config(window=window, rcvbuf=rcvbuf)
    p = Pair(config)
    p.call("B", "listen")
    syn = p.call("A", "connect").sent[0]
    assert syn.window == advertised
    synack_step = p.deliver("A", "SYN")
    assert synack_step.sent[0].window == advertised and p.B.snd_wnd == advertised
    p.settle()
    assert p.A.snd_wnd == advertised and (p.A.snd_wl1, p.A.snd_wl2) == (300, 101)
    assert p.B.snd_wnd == advertised
    step = p.call("A", "send", b"z" * 2000)
    assert sum(len(s.data) for s in step.sent) == advertised


def test_simultaneous_open_syn_ack_advertises_the_receive_window():
    # §3.10.7.3: a bare SYN in SYN-SENT is answered with <SEQ=ISS><ACK=RCV.NXT>
    # <CTL=SYN,ACK> carrying our window.
    p = Pair(Config(window=4000))
    p.call("A", "connect")
    p.call("B", "connect")
    step = p.deliver("A", "SYN")
    assert rfc(step) == ["<SEQ=300><ACK=101><CTL=SYN,ACK>"] and step.sent[0].window == 4000
    p.deliver("B", "SYN")
    p.settle()
    assert (p.A.state, p.B.state) == (S.ESTABLISHED, S.ESTABLISHED)
    assert (p.A.snd_wnd, p.B.snd_wnd) == (4000, 4000)


# ====================================================== text and FIN on SYNs =============

@pytest.mark.parametrize("data, fin", [(b"hello", False), (b"hello", True), (b"", True)],
                         ids=["data", "data+FIN", "FIN"])
def test_text_on_a_syn_waits_for_established(data, fin):
    # §3.10.7.2: text on a SYN "should be queued for processing later"; the SYN,ACK
    # acknowledges the SYN only (ACK = IRS+1); once ESTABLISHED the text is delivered, and
    # a FIN on it is processed then (CLOSE-WAIT), never before and never without one.
    p = Pair()
    p.call("B", "listen")
    syn = p.call("A", "connect").sent[0]
    p.flight.clear()
    flags = "SYN,FIN" if fin else "SYN"
    step = p.inject("B", Segment.make(flags, syn.seq, window=syn.window, data=data))
    assert rfc(step) == ["<SEQ=300><ACK=101><CTL=SYN,ACK>"] and p.B.state is S.SYN_RECEIVED
    assert step.delivered == b"" and p.B.rcv_nxt == 101
    p.deliver("B", "SYN,ACK")                   # A: ESTABLISHED, ACK=301
    step = p.deliver("A", "ACK")
    assert step.delivered == data and bytes(p.B.received) == data
    if fin:
        ack = 101 + len(data) + 1
        assert keys(step) == ["syn-received-rcv-ack", "established-rcv-fin"]
        assert p.B.rcv_nxt == ack and rfc(step) == [f"<SEQ=301><ACK={ack}><CTL=ACK>"]
    else:
        assert keys(step) == ["syn-received-rcv-ack"] and p.B.state is S.ESTABLISHED
        assert p.B.rcv_nxt == 106 and rfc(step) == ["<SEQ=301><ACK=106><CTL=ACK>"]


@pytest.mark.parametrize("data, fin", [(b"hello", False), (b"hello", True), (b"", True)],
                         ids=["data", "data+FIN", "FIN"])
def test_text_on_a_syn_ack_is_delivered_at_once(data, fin):
    # §3.10.7.3: after a SYN,ACK moves SYN-SENT to ESTABLISHED, "continue processing at the
    # sixth step ... where the URG bit is checked"; text and FIN are processed then, and
    # the one ACK acknowledges SYN, text and FIN: ACK = IRS + 1 + 5 (+ 1).
    p = Pair()
    p.call("B", "listen")
    p.call("A", "connect")
    p.deliver("A", "SYN")
    synack = p.take("B", "SYN,ACK")
    flags = "SYN,FIN,ACK" if fin else "SYN,ACK"
    step = p.inject("A", Segment.make(flags, synack.seq, synack.ack, data=data))
    assert step.delivered == data
    if fin:
        ack = 301 + len(data) + 1
        assert keys(step) == ["syn-sent-rcv-syn-ack", "established-rcv-fin"]
        assert rfc(step) == [f"<SEQ=101><ACK={ack}><CTL=ACK>"] and p.A.state is S.CLOSE_WAIT
    else:
        assert keys(step) == ["syn-sent-rcv-syn-ack"] and p.A.state is S.ESTABLISHED
        assert rfc(step) == ["<SEQ=101><ACK=306><CTL=ACK>"]


def test_a_syn_ack_without_text_or_fin_delivers_nothing():
    p = Pair()
    p.call("B", "listen")
    p.call("A", "connect")
    p.deliver("A", "SYN")
    step = p.deliver("B", "SYN,ACK")
    assert step.delivered == b"" and p.A.state is S.ESTABLISHED and p.A.rcv_nxt == 301
    assert rfc(step) == ["<SEQ=101><ACK=301><CTL=ACK>"]


# ================================================================= timers ===============

def test_the_retransmission_timer_is_started_only_if_it_is_not_running():
    # RFC 6298 §5.1: "Every time a packet containing data is sent (including a
    # retransmission), if the timer is not running, start it running so that it will
    # expire after RTO seconds."  A second send must not push the deadline back.
    p = established()
    p.call("A", "send", b"first")
    assert p.A.timers == {"retransmission": 1.0}
    p.clock.now = 0.4
    p.call("A", "send", b"second")
    assert p.A.timers == {"retransmission": 1.0}
    # §5.3: an ACK of new data restarts it at now + RTO; §5.2: all acknowledged stops it.
    p.clock.now = 0.6
    p.deliver("A")                              # "first" arrives; B acknowledges it
    p.deliver("B", "ACK")
    assert p.A.snd_una == 106 and p.A.timers == {"retransmission": 1.6}
    p.settle()
    assert p.A.snd_una == 112 and p.A.timers == {}


def test_a_retransmission_backs_off_and_is_the_oldest_segment():
    # RFC 6298 §5.4: retransmit the earliest segment not acknowledged; §5.5: RTO <- RTO*2.
    p = established()
    p.call("A", "send", b"one")
    p.call("A", "send", b"two")
    p.flight.clear()                            # both lost
    step = p.fire("A")
    assert rfc(step) == ["<SEQ=101><ACK=301><CTL=PSH,ACK><DATA=3>"] and step.retransmission
    assert p.A.timers == {"retransmission": 3.0}


# =============================================================== queued CLOSE ===========

def test_a_close_queued_in_syn_received_survives_a_return_to_listen_by_syn():
    # §3.10.4: in SYN-RECEIVED with sends queued, CLOSE is queued until ESTABLISHED.  An
    # in-window SYN sends a passively opened connection back to LISTEN (§3.10.7.4 fourth
    # step); the queued CLOSE then applies to LISTEN: the TCB is deleted, nothing is sent.
    p = Pair()
    p.call("B", "listen")
    syn = p.call("A", "connect").sent[0]
    p.deliver("A", "SYN")
    p.call("B", "send", b"queued")
    step = p.call("B", "close")
    assert step.after is S.SYN_RECEIVED and step.sent == ()
    p.flight.clear()
    p.clock.now = 5.0
    step = p.inject("B", Segment.make("SYN", syn.seq + 10, window=65535))
    assert keys(step) == ["syn-received-rcv-syn", "listen-close"]
    assert step.after is S.CLOSED and step.sent == () and p.B.timers == {}
    assert p.B.send_buffer == b""


def test_without_a_queued_close_an_in_window_syn_returns_to_listen_only():
    p = Pair()
    p.call("B", "listen")
    syn = p.call("A", "connect").sent[0]
    p.deliver("A", "SYN")
    p.call("B", "send", b"queued")
    step = p.inject("B", Segment.make("SYN", syn.seq + 10, window=65535))
    assert keys(step) == ["syn-received-rcv-syn"] and p.B.state is S.LISTEN
    assert step.sent == () and p.B.timers == {}


# ============================================================ no extra segments ==========

def test_no_bare_ack_after_a_data_segment_that_carried_the_ack():
    # MUST-58 / §3.10.7.4 seventh step: the acknowledgment is piggybacked on the data the
    # arriving window update lets out; no separate ACK for the same RCV.NXT.
    p = established()
    p.inject("A", Segment.make("ACK", 301, 101, window=0))
    p.call("A", "send", b"waiting")
    step = p.inject("A", Segment.make("PSH,ACK", 301, 101, window=1000, data=b"hi"))
    assert step.delivered == b"hi"
    assert rfc(step) == ["<SEQ=101><ACK=303><CTL=PSH,ACK><DATA=7>"]


def test_queued_data_leaves_with_the_ack_of_the_handshake_segments_text():
    # The ACK completing a passive open carries text while B has data queued from
    # SYN-RECEIVED: one segment carries B's data and the ACK of that text (ACK=103).
    p = Pair()
    p.call("B", "listen")
    p.call("A", "connect")
    p.deliver("A", "SYN")
    p.call("B", "send", b"queued")
    synack = p.take("B", "SYN,ACK")
    p.inject("A", synack)
    p.flight.clear()                            # A's bare ACK is replaced by one with text
    step = p.inject("B", Segment.make("PSH,ACK", 101, 301, data=b"hi"))
    assert step.delivered == b"hi" and p.B.state is S.ESTABLISHED
    assert rfc(step) == ["<SEQ=301><ACK=103><CTL=PSH,ACK><DATA=6>"]


def test_data_queued_in_syn_sent_leaves_with_the_ack_of_the_syn_acks_text():
    # §3.10.7.3: data queued in SYN-SENT is sent once ESTABLISHED, acknowledging the text
    # the SYN,ACK carried (ACK = IRS+1+2 = 303), in one segment.
    p = Pair()
    p.call("B", "listen")
    p.call("A", "connect")
    p.call("A", "send", b"early")
    p.deliver("A", "SYN")
    synack = p.take("B", "SYN,ACK")
    step = p.inject("A", Segment.make("SYN,ACK", synack.seq, synack.ack, data=b"hi"))
    assert step.delivered == b"hi"
    assert rfc(step) == ["<SEQ=101><ACK=303><CTL=PSH,ACK><DATA=5>"]


def test_a_repeated_fin_is_processed_once():
    # A FIN at or below RCV.NXT is a duplicate: the acceptability test fails (SEG.SEQ+LEN-1
    # < RCV.NXT), so it is ACKed and dropped; RCV.NXT does not move twice (§3.10.7.4).
    p = established()
    fin = p.call("A", "close").sent[0]
    p.deliver("A", "FIN,ACK")
    assert p.B.state is S.CLOSE_WAIT and p.B.rcv_nxt == 102
    p.clock.now = 5.0
    step = p.inject("B", fin)
    assert rfc(step) == ["<SEQ=301><ACK=102><CTL=ACK>"] and step.transitions == ()
    assert p.B.state is S.CLOSE_WAIT and p.B.rcv_nxt == 102


def test_a_second_fin_beyond_the_first_is_not_processed():
    # After the peer's FIN nothing more can come from it: §3.10.7.4 seventh step in
    # CLOSE-WAIT "should not occur ... ignore the segment text", and the FIN was processed
    # once.  A (buggy or forged) FIN at the new RCV.NXT does not move RCV.NXT again.
    p = established()
    p.call("A", "close")
    p.deliver("A", "FIN,ACK")
    assert p.B.state is S.CLOSE_WAIT and p.B.rcv_nxt == 102
    for data in (b"", b"late"):
        step = p.inject("B", Segment.make("FIN,ACK", 102, 301, data=data))
        assert step.transitions == () and step.delivered == b""
        assert p.B.state is S.CLOSE_WAIT and p.B.rcv_nxt == 102 and p.B.received == b""


def test_a_fin_retransmitted_to_time_wait_restarts_the_timer_once():
    # FIN-WAIT-2: the peer's FIN arrives twice in a row; the second is a retransmission
    # answered with an ACK, TIME-WAIT's 2*MSL restarted (§3.10.7.4, TIME-WAIT).
    p = established()
    p.call("A", "close")
    p.deliver("A", "FIN,ACK")
    p.deliver("B", "ACK")
    fin = p.call("B", "close").sent[0]
    step = p.deliver("B", "FIN,ACK")
    assert p.A.state is S.TIME_WAIT and p.A.rcv_nxt == 302
    assert p.A.timers == {"time-wait": 240.0}
    p.clock.now = 10.0
    step = p.inject("A", fin)
    assert keys(step) == ["time-wait-rcv-fin"] and p.A.rcv_nxt == 302
    assert rfc(step) == ["<SEQ=102><ACK=302><CTL=ACK>"] and p.A.timers == {"time-wait": 250.0}


def test_an_active_open_reset_in_syn_received_is_refused_even_after_a_passive_one():
    # The passive-open flag belongs to one connection attempt: an endpoint that once
    # accepted a connection and later opens actively, meets a simultaneous open and is
    # reset, reports "connection refused" and goes to CLOSED, not LISTEN (§3.10.7.4
    # second step: only a connection "initiated with a passive OPEN" returns to LISTEN).
    p = established()
    p.call("A", "abort")                        # B learns of it by RST: B CLOSED
    p.deliver("A", "RST")
    assert p.B.state is S.CLOSED
    p.A = Endpoint("A", iss=900, clock=p.clock)
    p.call("A", "connect")
    p.call("B", "connect")                      # simultaneous open, B now the active one
    p.deliver("A", "SYN")
    assert p.B.state is S.SYN_RECEIVED
    p.flight.clear()
    step = p.inject("B", Segment.make("RST", p.B.rcv_nxt))
    assert keys(step) == ["syn-received-rcv-rst-active"] and step.after is S.CLOSED
    assert step.error == "connection refused"


# ============================================== control segments, field by field ========

def _syn_received() -> Pair:
    p = Pair()
    p.call("B", "listen")
    p.call("A", "connect")
    p.deliver("A", "SYN")
    return p


@pytest.mark.parametrize("case", ["connect", "listen-send", "abort", "closed-ack", "closed-syn",
                                  "listen-ack", "syn-sent-bad-ack", "syn-received-bad-ack"])
def test_control_segments_carry_the_rfc_fields_and_zero_elsewhere(case):
    # The RFC writes each control segment with the fields it sets: <SEQ=ISS><CTL=SYN>,
    # <SEQ=SEG.ACK><CTL=RST>, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (§3.10.7.1-4,
    # §3.10.5).  A field the RFC leaves out is zero (as Linux sends it), and a SYN carries
    # the receive window (§3.10.7.2).
    p = Pair()
    if case == "connect":
        sent, want = p.call("A", "connect").sent, Segment.make("SYN", 100, 0, window=65535)
    elif case == "listen-send":
        p = Pair(Config(window=1000))
        p.call("B", "listen")
        sent, want = p.call("B", "send", "é").sent, Segment.make("SYN", 300, 0, window=1000)
        assert p.B.send_buffer == "é".encode()          # text is sent as UTF-8
    elif case == "abort":
        p = established()
        sent, want = p.call("A", "abort").sent, Segment.make("RST", 101, 0, window=0)
    elif case == "closed-ack":
        sent = p.inject("B", Segment.make("ACK", 5, 77)).sent
        want = Segment.make("RST", 77, 0, window=0)
    elif case == "closed-syn":
        sent = p.inject("B", Segment.make("SYN", 5, data=b"ab")).sent
        want = Segment.make("RST,ACK", 0, 8, window=0)
    elif case == "listen-ack":
        p.call("B", "listen")
        sent = p.inject("B", Segment.make("ACK", 5, 77)).sent
        want = Segment.make("RST", 77, 0, window=0)
    elif case == "syn-sent-bad-ack":
        p.call("A", "connect")
        sent = p.inject("A", Segment.make("SYN,ACK", 300, 100)).sent   # ACK =< ISS
        want = Segment.make("RST", 100, 0, window=0)
    else:
        p = _syn_received()
        sent = p.inject("B", Segment.make("ACK", 101, 999)).sent       # ACK > SND.NXT
        want = Segment.make("RST", 999, 0, window=0)
    assert sent == (want,)
