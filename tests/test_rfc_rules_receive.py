"""More RFC 9293 rules nothing checked before issue 19 (see ``test_rfc_rules.py``): RECEIVE
and the receive window (§3.10.3, §3.8.6.2.2), one-byte and zero windows and their probes
(§3.10.7.4, §3.8.6.1), a FIN queued behind data (§3.10.4), a simultaneous open running a
queued SEND and CLOSE (figure 7), challenge-ACK rate limiting (RFC 5961 §7), timers fired
by name or not, and the endpoint's own arguments.  Same harness: A (ISS=100), B (ISS=300).
"""

from __future__ import annotations

import pytest

from tcplab.endpoint import Config, Endpoint
from tcplab.segment import Segment
from tcplab.states import TcpState as S
from test_endpoint_rfc import Pair, established, keys, rfc
from test_rfc_rules import zero_window_pair


# ================================================== RECEIVE and the receive window =======

def test_recv_reads_n_bytes_on_a_lone_endpoint_and_refuses_bad_counts():
    # RECEIVE (§3.10.3) hands over at most the bytes asked for; the rest stays queued.
    p = established()
    p.call("B", "send", b"abcdef")
    p.settle()
    assert p.A.recv(2) == b"ab" and p.A.recv() == b"cdef" and p.A.recv() == b""
    with pytest.raises(ValueError, match="recv"):
        p.A.recv(-1)
    with pytest.raises(TypeError, match="recv"):
        p.A.recv(1.5)


def test_reading_sends_a_window_update_only_past_the_sws_threshold():
    # §3.8.6.2.2 (receiver SWS avoidance): the right edge moves only when it can move by
    # min(Fr * RCV.BUFF, Eff.snd.MSS) with Fr = 1/2.  RCV.BUFF = 600, MSS = 536: 300 bytes.
    p = established(b_config=Config(rcvbuf=600))
    p.call("A", "send", b"w" * 600)
    p.settle()
    assert p.B.rcv_wnd == 0
    assert p.B.read(299).sent == ()                   # the window could open by 299 < 300
    step = p.B.read(1)                                # now by 300: tell the peer
    assert rfc(step) == ["<SEQ=301><ACK=701><CTL=ACK>"] and step.sent[0].window == 300
    assert p.B.read(1).sent == ()                     # 1 byte beyond the edge just sent


def test_text_and_fin_that_exactly_fill_the_window_are_both_taken():
    # §3.10.7.4: a segment whose text fits RCV.WND exactly is not trimmed, so the FIN
    # right behind it is processed too (the FIN takes sequence space, not buffer space).
    p = established(b_config=Config(rcvbuf=5))
    step = p.inject("B", Segment.make("FIN,PSH,ACK", 101, 301, data=b"hello"))
    assert step.delivered == b"hello" and p.B.state is S.CLOSE_WAIT and p.B.rcv_nxt == 107
    assert rfc(step) == ["<SEQ=301><ACK=107><CTL=ACK>"] and step.sent[0].window == 0


def test_next_deadline_is_the_earliest_timer():
    ep = Endpoint("A", iss=100)
    assert ep.next_deadline() is None
    ep.connect()
    assert ep.next_deadline() == 1.0


def test_firing_a_timer_that_is_not_running_names_the_endpoint():
    from tcplab.steps import TcpError
    with pytest.raises(TcpError) as err:
        Endpoint("A").fire_timer()
    assert err.value.endpoint == "A" and err.value.message == "no timer is running"
    assert (err.value.call, err.value.state, err.value.rfc) == ("fire_timer", S.CLOSED, "§3.8")


def test_simultaneous_open_runs_the_queued_send_and_close():
    # §3.10.4: CLOSE in SYN-RECEIVED with data queued waits for ESTABLISHED; a simultaneous
    # open (RFC 9293 figure 7) reaches ESTABLISHED by the peer's repeated SYN,ACK, and then
    # the data goes out, the FIN behind it, and the endpoint is in FIN-WAIT-1.
    p = Pair()
    p.call("A", "connect")
    p.call("B", "connect")
    p.deliver("B", "SYN")                       # A: SYN-SENT -> SYN-RECEIVED
    p.call("A", "send", b"late")
    p.call("A", "close")
    assert p.A.state is S.SYN_RECEIVED
    p.deliver("A", "SYN")                       # B: SYN-RECEIVED too, answers SYN,ACK
    step = p.deliver("B", "SYN,ACK")            # A: both SYNs acknowledged
    assert keys(step) == ["syn-received-rcv-ack", "established-close"]
    assert rfc(step) == ["<SEQ=101><ACK=301><CTL=PSH,ACK><DATA=4>",
                         "<SEQ=105><ACK=301><CTL=FIN,ACK>"]
    assert p.A.state is S.FIN_WAIT_1


def test_a_zero_window_in_the_syn_ack_is_probed_retries_times():
    # §3.8.6.1: a peer may open with a zero window; the sender probes it on the persist
    # timer (RTO 1 s, backing off) and gives up after Config.retries unanswered probes.
    p = Pair(Config(retries=2))
    p.call("A", "connect")
    p.flight.clear()
    p.inject("A", Segment.make("SYN,ACK", 300, 101, window=0))
    assert p.A.state is S.ESTABLISHED and p.A.snd_wnd == 0
    p.flight.clear()
    assert p.call("A", "send", b"data").sent == () and p.A.timers == {"persist": 1.0}
    fired = [p.fire("A", "persist") for _ in range(3)]
    assert [(s.time, rfc(s)) for s in fired] == [
        (1.0, ["<SEQ=100><ACK=301><CTL=ACK>"]), (3.0, ["<SEQ=100><ACK=301><CTL=ACK>"]),
        (7.0, [])]
    assert fired[-1].error == "connection timed out" and p.A.state is S.CLOSED


def test_endpoints_are_reproducible_and_check_their_iss():
    # Without a seed an endpoint still draws the same ISS (random.Random(0)), so a lesson
    # run twice shows the same numbers; ISS 0 is a valid sequence number (§3.4.1).
    assert Endpoint("A").connect().sent[0].seq == Endpoint("B").connect().sent[0].seq
    assert Endpoint("A", iss=0).connect().sent[0].seq == 0
    with pytest.raises(ValueError, match="iss"):
        Endpoint("A", iss=2 ** 32)



def test_a_window_of_one_byte_takes_one_byte():
    # §3.10.7.4: RCV.WND = 1, SEG.LEN = 1 at RCV.NXT is acceptable; the sender, facing a
    # 1-byte window, sends 1 byte (no sender SWS avoidance in this model, §3.8.6.2.1).
    p = established(b_config=Config(rcvbuf=10))
    p.call("A", "send", b"123456789")
    p.settle()
    assert p.B.rcv_wnd == 1 and p.A.snd_wnd == 1
    step = p.call("A", "send", b"ab")
    assert rfc(step) == ["<SEQ=110><ACK=301><CTL=ACK><DATA=1>"]
    step = p.deliver("A")
    assert step.delivered == b"a" and p.B.rcv_nxt == 111 and p.B.rcv_wnd == 0


def test_no_persist_timer_when_nothing_waits_for_the_window():
    # §3.8.6.1: zero-window probes are for data (or a FIN) waiting to be sent.
    p = established()
    p.inject("A", Segment.make("ACK", 301, 101, window=0))
    assert p.A.snd_wnd == 0 and p.A.timers == {}


def test_a_fin_queued_behind_data_follows_it_when_the_window_opens():
    # §3.10.4: CLOSE queues the FIN behind the data; a window of 10 takes the 3 bytes and
    # the FIN (which takes no window), both carrying RCV.WND = 1000 (Config.window).
    p = established(Config(window=1000))
    p.inject("A", Segment.make("ACK", 301, 101, window=0))
    p.call("A", "send", b"abc")
    p.call("A", "close")
    assert p.A.state is S.FIN_WAIT_1 and p.A.timers == {"persist": 1.0}
    step = p.inject("A", Segment.make("ACK", 301, 101, window=10))
    assert rfc(step) == ["<SEQ=101><ACK=301><CTL=PSH,ACK><DATA=3>",
                         "<SEQ=104><ACK=301><CTL=FIN,ACK>"]
    assert [s.window for s in step.sent] == [1000, 1000] and p.A.timers == {"retransmission": 1.0}


def test_zero_window_probes_back_off_even_when_answered():
    # §3.8.6.1: the interval between successive probes SHOULD increase exponentially:
    # answered or not, the probes go out at 1, 3 and 7 s (RTO 1 s doubling).
    p = zero_window_pair()
    probe = p.fire("A", "persist")
    assert probe.time == 1.0
    p.deliver("A")
    p.clock.now = 1.4
    p.deliver("B")                                   # the answer: still a zero window
    assert p.A.timers == {"persist": 3.0}
    assert p.fire("A", "persist").time == 3.0 and p.A.timers == {"persist": 7.0}


def test_challenge_acks_are_limited_to_one_per_half_second():
    # RFC 5961 §7 (Linux tcp_invalid_ratelimit = 500 ms): at most one ACK per 0.5 s
    # for unacceptable segments; at exactly 0.5 s the next one may go.
    p = established()
    old = Segment.make("PSH,ACK", 250, 101, data=b"old")       # below RCV.NXT=301
    assert rfc(p.inject("A", old)) == ["<SEQ=101><ACK=301><CTL=ACK>"]
    p.clock.now = 0.25
    assert p.inject("A", old).sent == ()
    p.clock.now = 0.5
    assert rfc(p.inject("A", old)) == ["<SEQ=101><ACK=301><CTL=ACK>"]


def test_fire_timer_without_a_name_fires_the_running_one():
    ep = Endpoint("A", iss=100)
    ep.connect()
    step = ep.fire_timer()
    assert step.timer == "retransmission" and [s.rfc() for s in step.sent] == [
        "<SEQ=100><CTL=SYN>"]


def test_a_fin_waits_for_a_window_too():
    # The FIN occupies one sequence number: with a zero send window it waits, and the
    # persist timer probes the window (§3.8.6.1), as for data.
    p = established()
    p.inject("A", Segment.make("ACK", 301, 101, window=0))
    step = p.call("A", "close")
    assert step.sent == () and p.A.state is S.FIN_WAIT_1 and p.A.timers == {"persist": 1.0}


def test_a_syn_sent_by_send_on_a_listener_is_retransmitted():
    # §3.10.2: SEND in LISTEN turns the connection active; its SYN is retransmitted like
    # connect()'s (RFC 6298 §5.4).
    p = Pair()
    p.call("B", "listen")
    syn = p.call("B", "send", b"x").sent[0]
    p.flight.clear()
    step = p.fire("B")
    assert step.sent == (syn,) and step.retransmission and p.B.timers == {"retransmission": 3.0}
