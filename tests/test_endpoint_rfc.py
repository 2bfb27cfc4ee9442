"""The endpoint judged against RFC 9293: every edge of figure 5 (§3.3.2, notes 1-3) and the
SEGMENT ARRIVES rules of §3.10.7, plus timers (§3.8.1, §3.8.3, §3.10.8) and ABORT (§3.10.5).

Every test starts from a state reached by *real* events: two endpoints, A (the client,
ISS=100) and B (the server, ISS=300), pass each other the segments they really emitted.
A segment is built by hand only where the RFC talks about a segment no correct peer of
this connection would send (an old duplicate from an earlier incarnation, a blind attack,
a crash) -- and then its numbers are derived from the peer's real TCB.

Expected segments are written in the RFC's own notation, ``<SEQ=..><ACK=..><CTL=..>``, so
each expectation can be checked against the text of RFC 9293 line by line.
"""

from __future__ import annotations

import pytest

from tcplab.endpoint import Clock, Config, Endpoint
from tcplab.segment import Flags, Segment
from tcplab.states import TcpState as S
from tcplab.steps import Step

A_ISS, B_ISS = 100, 300


# ============================================================================ harness ===

class Pair:
    """Endpoints ``A`` and ``B`` on one virtual clock, and the wire between them.

    ``flight`` holds ``(src, segment)`` in the order they were sent; nothing moves unless a
    test says so, so every interleaving is explicit.
    """

    def __init__(self, config: Config | None = None, a_iss: int = A_ISS, b_iss: int = B_ISS,
                 b_config: Config | None = None) -> None:
        self.clock = Clock()
        self.A = Endpoint("A", iss=a_iss, config=config, clock=self.clock)
        self.B = Endpoint("B", iss=b_iss, config=b_config or config, clock=self.clock)
        self.flight: list[tuple[str, Segment]] = []

    def ep(self, name: str) -> Endpoint:
        return {"A": self.A, "B": self.B}[name]

    @staticmethod
    def peer(name: str) -> str:
        return "B" if name == "A" else "A"

    def _out(self, name: str, step: Step) -> Step:
        self.flight.extend((name, seg) for seg in step.sent)
        return step

    # -- events ----------------------------------------------------------------------
    def call(self, name: str, call: str, *args: object) -> Step:
        return self._out(name, getattr(self.ep(name), call)(*args))

    def pending(self, src: str) -> list[Segment]:
        return [seg for s, seg in self.flight if s == src]

    def take(self, src: str, flags: str | None = None) -> Segment:
        """Remove (and return) the oldest segment from ``src`` in flight (with ``flags``)."""
        for i, (s, seg) in enumerate(self.flight):
            if s == src and (flags is None or (seg.flags & ~Flags.PSH) == Flags.parse(flags)):
                del self.flight[i]
                return seg
        raise AssertionError(f"nothing from {src} matching {flags} in flight: {self.flight}")

    def deliver(self, src: str, flags: str | None = None) -> Step:
        """The oldest segment ``src`` sent arrives at its peer."""
        return self.inject(self.peer(src), self.take(src, flags))

    def drop(self, src: str, flags: str | None = None) -> Segment:
        return self.take(src, flags)

    def inject(self, dst: str, seg: Segment) -> Step:
        """``seg`` arrives at ``dst``; whatever ``dst`` answers goes on the wire."""
        return self._out(dst, self.ep(dst).receive(seg))

    def settle(self) -> None:
        """Deliver everything in flight (and what that triggers), oldest first."""
        for _ in range(1000):
            if not self.flight:
                return
            src, seg = self.flight.pop(0)
            self.inject(self.peer(src), seg)
        raise AssertionError("the wire never became quiet")

    def fire(self, name: str, timer: str = "retransmission") -> Step:
        """Let time run to ``name``'s ``timer`` deadline and fire it."""
        ep = self.ep(name)
        assert timer in ep.timers, f"{name} has no {timer} timer: {ep.timers}"
        self.clock.now = max(self.clock.now, ep.timers[timer])
        return self._out(name, ep.fire_timer(timer))


def rfc(step_or_segs) -> list[str]:
    """The segments a step sent, in RFC notation."""
    segs = step_or_segs.sent if isinstance(step_or_segs, Step) else step_or_segs
    return [s.rfc() for s in segs]


def keys(step: Step) -> list[str]:
    return [t.key for t in step.transitions]


# -- states reached by real events ----------------------------------------------------------

def established(config: Config | None = None, **kw) -> Pair:
    p = Pair(config, **kw)
    p.call("B", "listen")
    p.call("A", "connect")
    p.settle()
    assert (p.A.state, p.B.state) == (S.ESTABLISHED, S.ESTABLISHED)
    return p


def reach(state: S, config: Config | None = None) -> tuple[Pair, str]:
    """A pair with one endpoint (returned by name) in ``state``, reached by real events.

    The rest of the exchange is left exactly as it stands (segments may be in flight).
    """
    if state is S.CLOSED:
        return Pair(config), "A"
    if state is S.LISTEN:
        p = Pair(config)
        p.call("B", "listen")
        return p, "B"
    if state is S.SYN_SENT:
        p = Pair(config)
        p.call("B", "listen")
        p.call("A", "connect")
        return p, "A"
    if state is S.SYN_RECEIVED:
        p = Pair(config)
        p.call("B", "listen")
        p.call("A", "connect")
        p.deliver("A", "SYN")
        return p, "B"
    p = established(config)
    if state is S.ESTABLISHED:
        return p, "A"
    if state is S.FIN_WAIT_1:
        p.call("A", "close")
        return p, "A"
    if state is S.CLOSE_WAIT:
        p.call("A", "close")
        p.deliver("A", "FIN,ACK")
        return p, "B"
    if state is S.FIN_WAIT_2:
        p.call("A", "close")
        p.deliver("A", "FIN,ACK")
        p.deliver("B", "ACK")
        return p, "A"
    if state is S.LAST_ACK:
        p.call("A", "close")
        p.deliver("A", "FIN,ACK")
        p.call("B", "close")
        return p, "B"
    if state is S.TIME_WAIT:
        p.call("A", "close")
        p.deliver("A", "FIN,ACK")
        p.deliver("B", "ACK")
        p.call("B", "close")
        p.deliver("B", "FIN,ACK")
        return p, "A"
    if state is S.CLOSING:
        p.call("A", "close")
        p.call("B", "close")
        p.deliver("B", "FIN,ACK")       # A: FIN-WAIT-1 -> CLOSING
        return p, "A"
    raise AssertionError(state)


SYNCHRONIZED = [S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT,
                S.CLOSING, S.LAST_ACK, S.TIME_WAIT]


@pytest.mark.parametrize("state", list(S), ids=lambda s: s.rfc)
def test_every_state_is_reachable_by_real_events(state):
    p, who = reach(state)
    assert p.ep(who).state is state


def ack_now(ep: Endpoint) -> str:
    """``<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`` -- the RFC's 'send an acknowledgment'."""
    return f"<SEQ={ep.snd_nxt}><ACK={ep.rcv_nxt}><CTL=ACK>"


# ============================================================ §3.10.7.1 CLOSED =========

def test_closed_answers_a_syn_with_rst_ack_seq_zero_ack_seg_seq_plus_len():
    p = Pair()                                  # B never opened: no TCB, port closed
    p.call("A", "connect")
    step = p.deliver("A", "SYN")
    # If the ACK bit is off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SEG.LEN = 1 (SYN).
    assert rfc(step) == ["<SEQ=0><ACK=101><CTL=RST,ACK>"]
    assert p.B.state is S.CLOSED and p.B.timers == {}


def test_closed_counts_data_and_fin_in_seg_len():
    closed = Endpoint("B", iss=B_ISS)
    step = closed.receive(Segment.make("SYN,FIN", 7, data=b"abcd"))
    assert rfc(step) == ["<SEQ=0><ACK=13><CTL=RST,ACK>"]        # 7 + 1 + 4 + 1


def test_closed_answers_an_ack_bearing_segment_with_rst_seq_seg_ack():
    # B aborts; A's data crosses the RST and reaches B, which is CLOSED by then.
    p = established()
    p.call("A", "send", b"hi")
    p.call("B", "abort")
    step = p.deliver("A", "ACK")                # <SEQ=101><ACK=301><CTL=PSH,ACK><DATA=2>
    assert rfc(step) == ["<SEQ=301><CTL=RST>"]  # <SEQ=SEG.ACK><CTL=RST>
    assert p.B.state is S.CLOSED


def test_closed_ignores_rst():
    # Both sides abort at once: each RST reaches a CLOSED endpoint and is discarded.
    p = established()
    p.call("A", "abort")
    p.call("B", "abort")
    for src in ("A", "B"):
        step = p.deliver(src, "RST")
        assert step.sent == () and step.after is S.CLOSED
    assert p.flight == []


# ============================================================ §3.10.7.2 LISTEN =========

@pytest.mark.parametrize("flags", ["RST", "RST,ACK"])
def test_listen_ignores_rst(flags):
    p, b = reach(S.LISTEN)
    step = p.inject(b, Segment.make(flags, 5000, 777))
    assert step.sent == () and p.B.state is S.LISTEN and p.B.timers == {}


def test_listen_answers_any_ack_with_rst_seq_seg_ack_half_open_discovery():
    # RFC 9293 figure 11 flavour: B crashed and came back listening; A still thinks the
    # connection is up and sends data.  The listener's RST resets A.
    p = established()
    p.B = Endpoint("B", iss=B_ISS, clock=p.clock)        # the crash: all state is lost
    p.call("B", "listen")
    p.call("A", "send", b"hello")
    step = p.deliver("A")
    assert rfc(step) == ["<SEQ=301><CTL=RST>"] and p.B.state is S.LISTEN
    step = p.deliver("B", "RST")                # SEQ=301 = A's RCV.NXT: exact match
    assert step.after is S.CLOSED and step.error == "connection reset"
    assert p.A.reason == "connection reset" and p.A.timers == {}


def test_listen_syn_goes_to_syn_received_with_syn_ack():
    p, b = reach(S.LISTEN)
    p.call("A", "connect")
    step = p.deliver("A", "SYN")
    assert keys(step) == ["listen-rcv-syn"] and step.after is S.SYN_RECEIVED
    # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; IRS=SEG.SEQ, RCV.NXT=SEG.SEQ+1, SND.NXT=ISS+1
    assert rfc(step) == ["<SEQ=300><ACK=101><CTL=SYN,ACK>"]
    assert (p.B.irs, p.B.rcv_nxt, p.B.iss, p.B.snd_una, p.B.snd_nxt) == (100, 101, 300, 300, 301)
    assert p.B.timers == {"retransmission": 1.0}            # the SYN,ACK is retransmittable


def test_listen_drops_a_segment_without_syn_ack_or_rst():
    p, b = reach(S.LISTEN)
    step = p.inject(b, Segment.make("FIN", 100, data=b"x"))
    assert step.sent == () and p.B.state is S.LISTEN


# ============================================================ §3.10.7.3 SYN-SENT =======

def test_syn_sent_syn_ack_goes_established_and_acks():
    p, a = reach(S.SYN_SENT)
    assert p.A.timers == {"retransmission": 1.0}
    p.deliver("A", "SYN")
    step = p.deliver("B", "SYN,ACK")
    assert keys(step) == ["syn-sent-rcv-syn-ack"] and step.after is S.ESTABLISHED
    assert rfc(step) == ["<SEQ=101><ACK=301><CTL=ACK>"]     # <SEQ=SND.NXT><ACK=RCV.NXT>
    assert (p.A.snd_una, p.A.snd_nxt, p.A.irs, p.A.rcv_nxt) == (101, 101, 300, 301)
    assert p.A.timers == {}                                   # the SYN is acknowledged
    step = p.deliver("A", "ACK")
    assert keys(step) == ["syn-received-rcv-ack"] and step.sent == ()
    assert p.B.state is S.ESTABLISHED and p.B.timers == {}


@pytest.mark.parametrize("bad_ack", [A_ISS, A_ISS - 10, A_ISS + 2, A_ISS + 5000])
def test_syn_sent_unacceptable_ack_is_answered_with_rst_and_ignored(bad_ack):
    # RFC 9293 figure 9: an old duplicate SYN,ACK.  SEG.ACK =< ISS or SEG.ACK > SND.NXT.
    p, a = reach(S.SYN_SENT)
    step = p.inject(a, Segment.make("SYN,ACK", 900, bad_ack))
    assert rfc(step) == [f"<SEQ={bad_ack}><CTL=RST>"]
    assert p.A.state is S.SYN_SENT and p.A.timers == {"retransmission": 1.0}


def test_syn_sent_rst_with_unacceptable_ack_is_dropped():
    p, a = reach(S.SYN_SENT)
    step = p.inject(a, Segment.make("RST,ACK", 0, A_ISS + 7))
    assert step.sent == () and p.A.state is S.SYN_SENT


def test_syn_sent_rst_without_ack_is_dropped():
    p, a = reach(S.SYN_SENT)
    step = p.inject(a, Segment.make("RST", 0))
    assert step.sent == () and p.A.state is S.SYN_SENT and p.A.timers


def test_syn_sent_rst_with_acceptable_ack_is_connection_refused():
    p = Pair()                                  # nobody listens on B
    p.call("A", "connect")
    p.deliver("A", "SYN")                       # B answers <SEQ=0><ACK=101><CTL=RST,ACK>
    step = p.deliver("B", "RST,ACK")
    assert keys(step) == ["syn-sent-rcv-rst"] and step.after is S.CLOSED
    assert step.error == "connection refused" and p.A.reason == "connection refused"
    assert step.sent == () and p.A.timers == {}


def test_syn_sent_drops_segment_with_neither_syn_nor_rst():
    p, a = reach(S.SYN_SENT)
    step = p.inject(a, Segment.make("ACK", 300, 101))        # acceptable ACK, no SYN
    assert step.sent == () and p.A.state is S.SYN_SENT


def test_simultaneous_open_is_rfc_figure_7():
    p = Pair()
    p.call("A", "connect")                      # <SEQ=100><CTL=SYN>
    p.call("B", "connect")                      # <SEQ=300><CTL=SYN>
    step = p.deliver("B", "SYN")                # line 3: A gets B's SYN
    assert keys(step) == ["syn-sent-rcv-syn"] and step.after is S.SYN_RECEIVED
    assert rfc(step) == ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]  # <SEQ=ISS><ACK=RCV.NXT>
    step = p.deliver("A", "SYN")                # line 4
    assert step.after is S.SYN_RECEIVED
    assert rfc(step) == ["<SEQ=300><ACK=101><CTL=SYN,ACK>"]
    assert p.A.timers and p.B.timers            # both SYNs still unacknowledged
    step = p.deliver("B", "SYN,ACK")            # line 6
    assert step.after is S.ESTABLISHED and keys(step) == ["syn-received-rcv-ack"]
    step = p.deliver("A", "SYN,ACK")            # line 7
    assert step.after is S.ESTABLISHED
    p.settle()
    assert (p.A.state, p.B.state) == (S.ESTABLISHED, S.ESTABLISHED)
    assert (p.A.snd_nxt, p.A.rcv_nxt, p.B.snd_nxt, p.B.rcv_nxt) == (101, 301, 301, 101)
    assert p.A.timers == {} and p.B.timers == {}
    # and data flows both ways
    p.call("A", "send", b"ping")
    p.call("B", "send", b"pong")
    p.settle()
    assert (p.B.recv(), p.A.recv()) == (b"ping", b"pong")


def test_simultaneous_open_completes_even_if_one_syn_ack_is_lost():
    p = Pair()
    p.call("A", "connect")
    p.call("B", "connect")
    p.deliver("B", "SYN")
    p.deliver("A", "SYN")
    p.drop("A", "SYN,ACK")                      # A's SYN,ACK is lost
    p.deliver("B", "SYN,ACK")                   # A: ESTABLISHED
    assert (p.A.state, p.B.state) == (S.ESTABLISHED, S.SYN_RECEIVED)
    step = p.fire("B")                          # B retransmits its SYN,ACK
    assert rfc(step) == ["<SEQ=300><ACK=101><CTL=SYN,ACK>"]
    step = p.deliver("B", "SYN,ACK")            # old for A (SEG.SEQ < RCV.NXT): just ACK
    assert rfc(step) == ["<SEQ=101><ACK=301><CTL=ACK>"] and step.after is S.ESTABLISHED
    p.settle()
    assert (p.A.state, p.B.state) == (S.ESTABLISHED, S.ESTABLISHED)


# ============================================ §3.10.7.4 first: sequence number check ====

def test_old_duplicate_data_is_acked_and_not_delivered_again():
    p = established()
    p.call("A", "send", b"hello")
    data = p.pending("A")[0]
    p.settle()
    assert p.B.received == b"hello"
    step = p.inject("B", data)                  # the network duplicated it
    assert rfc(step) == ["<SEQ=301><ACK=106><CTL=ACK>"]
    assert step.delivered == b"" and p.B.received == b"hello" and p.B.state is S.ESTABLISHED


def test_old_pure_ack_is_unacceptable_and_answered():
    p = established()
    handshake_ack = Segment.make("ACK", 101, 301)
    p.call("A", "send", b"hello")
    p.settle()
    step = p.inject("B", handshake_ack)         # SEG.SEQ=101 < RCV.NXT=106, SEG.LEN=0
    assert rfc(step) == ["<SEQ=301><ACK=106><CTL=ACK>"]


def test_segment_beyond_the_window_is_acked_and_dropped():
    p = established()
    beyond = Segment.make("ACK", 101 + 65535, 301, data=b"late")
    step = p.inject("B", beyond)
    assert rfc(step) == ["<SEQ=301><ACK=101><CTL=ACK>"] and p.B.received == b""


def test_segment_straddling_the_left_edge_delivers_only_new_bytes():
    p = established()
    p.call("A", "send", b"hello")
    p.settle()
    step = p.inject("B", Segment.make("PSH,ACK", 104, 301, data=b"loWOR"))
    assert step.delivered == b"WOR" and p.B.received == b"helloWOR"
    assert rfc(step) == ["<SEQ=301><ACK=109><CTL=ACK>"]


@pytest.mark.parametrize("state", SYNCHRONIZED, ids=lambda s: s.rfc)
def test_old_duplicate_syn_in_every_synchronized_state_gets_an_ack(state):
    p, who = reach(state)
    ep = p.ep(who)
    before = (ep.state, dict(ep.timers), ep.snd_nxt, ep.rcv_nxt)
    step = p.inject(who, Segment.make("SYN", ep.irs))   # the peer's first SYN, again
    assert rfc(step) == [ack_now(ep)]                   # unacceptable: ACK and drop
    assert (ep.state, dict(ep.timers), ep.snd_nxt, ep.rcv_nxt) == before


# ==================================================== §3.10.7.4 second: RST bit ==========

@pytest.mark.parametrize("state,error", [
    (S.ESTABLISHED, "connection reset"), (S.FIN_WAIT_1, "connection reset"),
    (S.FIN_WAIT_2, "connection reset"), (S.CLOSE_WAIT, "connection reset"),
    (S.CLOSING, None), (S.LAST_ACK, None), (S.TIME_WAIT, None)],
    ids=lambda x: getattr(x, "rfc", str(x)))
def test_rst_at_exactly_rcv_nxt_closes_every_synchronized_state(state, error):
    p, who = reach(state)
    ep = p.ep(who)
    peer = p.ep(p.peer(who))
    assert ep.rcv_nxt == peer.snd_nxt           # what the peer's ABORT would carry
    step = p.inject(who, Segment.make("RST", ep.rcv_nxt))
    assert keys(step) == [f"{state.rfc.lower()}-rcv-rst"]
    assert step.after is S.CLOSED and step.sent == () and ep.timers == {}
    assert step.error == error


@pytest.mark.parametrize("state", SYNCHRONIZED, ids=lambda s: s.rfc)
def test_rst_in_window_but_not_exact_gets_a_challenge_ack(state):
    p, who = reach(state)
    ep = p.ep(who)
    before = (ep.state, dict(ep.timers))
    step = p.inject(who, Segment.make("RST", ep.rcv_nxt + 1000))
    assert rfc(step) == [ack_now(ep)] and (ep.state, dict(ep.timers)) == before


@pytest.mark.parametrize("state", SYNCHRONIZED, ids=lambda s: s.rfc)
@pytest.mark.parametrize("offset", [-1, 65535, 2 ** 31])
def test_rst_outside_the_window_is_silently_dropped(state, offset):
    p, who = reach(state)
    ep = p.ep(who)
    before = (ep.state, dict(ep.timers))
    step = p.inject(who, Segment.make("RST", ep.rcv_nxt + offset))
    assert step.sent == () and (ep.state, dict(ep.timers)) == before


def test_abort_rst_overtaking_data_is_challenged_then_accepted():
    # RFC 5961 in action with real segments: A sends data, then aborts; the RST overtakes
    # the data, so its SEQ (=A's SND.NXT) is in B's window but not at RCV.NXT.
    p = established()
    p.call("A", "send", b"hello")
    step = p.call("A", "abort")
    assert rfc(step) == ["<SEQ=106><CTL=RST>"]               # <SEQ=SND.NXT><CTL=RST>
    step = p.deliver("A", "RST")
    assert rfc(step) == ["<SEQ=301><ACK=101><CTL=ACK>"] and p.B.state is S.ESTABLISHED
    step = p.deliver("B", "ACK")                # A is CLOSED: <SEQ=SEG.ACK><CTL=RST>
    assert rfc(step) == ["<SEQ=101><CTL=RST>"]
    step = p.deliver("A", "RST")                # exactly RCV.NXT now
    assert step.after is S.CLOSED and step.error == "connection reset"


def test_syn_received_rst_returns_to_listen_after_passive_open_figure_9():
    # RFC 9293 figure 9, recovery from an old duplicate SYN.
    p = Pair()
    p.call("B", "listen")
    p.call("A", "connect")                                   # SYN 100 is delayed
    step = p.inject("B", Segment.make("SYN", 90))            # line 3: old duplicate
    assert rfc(step) == ["<SEQ=300><ACK=91><CTL=SYN,ACK>"]   # line 4
    step = p.deliver("B", "SYN,ACK")                         # A: ACK 91 =< ISS
    assert rfc(step) == ["<SEQ=91><CTL=RST>"] and p.A.state is S.SYN_SENT   # line 5
    step = p.deliver("A", "RST")
    assert keys(step) == ["syn-received-rcv-rst"] and step.after is S.LISTEN
    assert step.error is None and p.B.timers == {}           # "the user need not be informed"
    step = p.deliver("A", "SYN")                             # line 6
    assert rfc(step) == ["<SEQ=300><ACK=101><CTL=SYN,ACK>"]  # line 7
    p.settle()                                               # line 8
    assert (p.A.state, p.B.state) == (S.ESTABLISHED, S.ESTABLISHED)


def test_syn_received_rst_after_passive_open_from_client_abort_returns_to_listen():
    p, b = reach(S.SYN_RECEIVED)
    p.deliver("B", "SYN,ACK")                   # A: ESTABLISHED, its ACK is in flight
    p.drop("A", "ACK")
    p.call("A", "abort")                        # <SEQ=101><CTL=RST>
    step = p.deliver("A", "RST")
    assert step.after is S.LISTEN and p.B.timers == {}
    assert p.B.possible_calls() == ["connect", "send", "close", "abort"]


def test_close_queued_in_syn_received_is_not_forgotten_when_rst_returns_to_listen():
    # §3.10.4 SYN-RECEIVED: with data pending, CLOSE is "queued for processing after
    # entering ESTABLISHED".  If a RST sends the TCB back to LISTEN instead (note 1), the
    # queued CLOSE still applies -- and CLOSE in LISTEN deletes the TCB.  The application
    # that closed must not be left with a listening socket it no longer knows about.
    p, b = reach(S.SYN_RECEIVED)
    p.call("B", "send", b"pending")
    step = p.call("B", "close")
    assert step.after is S.SYN_RECEIVED and step.sent == ()
    p.call("A", "close")                        # A gives up: SYN-SENT -> CLOSED
    step = p.deliver("B", "SYN,ACK")            # A (CLOSED) answers <SEQ=SEG.ACK><CTL=RST>
    assert rfc(step) == ["<SEQ=101><CTL=RST>"]
    step = p.deliver("A", "RST")
    assert keys(step) == ["syn-received-rcv-rst", "listen-close"]
    assert step.after is S.CLOSED and p.B.timers == {}


def test_syn_received_rst_after_active_open_is_connection_refused():
    p = Pair()
    p.call("A", "connect")
    p.call("B", "connect")
    p.deliver("A", "SYN")
    p.deliver("B", "SYN")                       # both in SYN-RECEIVED (simultaneous open)
    p.flight.clear()
    step = p.call("B", "abort")
    assert rfc(step) == ["<SEQ=301><CTL=RST>"]
    step = p.deliver("B", "RST")
    assert keys(step) == ["syn-received-rcv-rst-active"] and step.after is S.CLOSED
    assert step.error == "connection refused" and p.A.timers == {}


# ==================================================== §3.10.7.4 fourth: SYN bit ==========

def test_syn_in_window_after_passive_open_returns_syn_received_to_listen():
    # A's first attempt is half-open at B; A reboots and connects again with another ISS
    # that falls inside B's window.
    p, b = reach(S.SYN_RECEIVED)
    p.flight.clear()
    a2 = Endpoint("A", iss=A_ISS + 50, clock=p.clock)
    p.A = a2
    p.call("A", "connect")
    step = p.deliver("A", "SYN")
    assert keys(step) == ["syn-received-rcv-syn"] and step.after is S.LISTEN
    assert step.sent == () and p.B.timers == {}
    p.fire("A")                                 # A retransmits its SYN: a fresh start
    p.settle()
    assert (p.A.state, p.B.state) == (S.ESTABLISHED, S.ESTABLISHED)
    assert p.B.irs == A_ISS + 50


def test_syn_in_window_in_established_gets_challenge_ack_half_open_discovery():
    # A crashed; the new incarnation's SYN lands in B's window.  B must not reset on it
    # (RFC 5961 §4 / RFC 9293 §3.10.7.4 fourth): challenge ACK, which makes the new A
    # answer RST <SEQ=SEG.ACK>, which *is* at B's RCV.NXT.
    p = established()
    p.A = Endpoint("A", iss=5000, clock=p.clock)
    p.call("A", "connect")
    step = p.deliver("A", "SYN")
    assert rfc(step) == ["<SEQ=301><ACK=101><CTL=ACK>"] and p.B.state is S.ESTABLISHED
    step = p.deliver("B", "ACK")                # A in SYN-SENT: ACK 101 =< ISS 5000
    assert rfc(step) == ["<SEQ=101><CTL=RST>"] and p.A.state is S.SYN_SENT
    step = p.deliver("A", "RST")
    assert step.after is S.CLOSED and step.error == "connection reset"


@pytest.mark.parametrize("state", [s for s in SYNCHRONIZED if s is not S.SYN_RECEIVED],
                         ids=lambda s: s.rfc)
def test_syn_in_window_in_synchronized_states_gets_challenge_ack(state):
    p, who = reach(state)
    ep = p.ep(who)
    before = (ep.state, dict(ep.timers), ep.rcv_nxt)
    step = p.inject(who, Segment.make("SYN", ep.rcv_nxt + 10))
    assert rfc(step) == [ack_now(ep)]
    assert (ep.state, dict(ep.timers), ep.rcv_nxt) == before


# ==================================================== §3.10.7.4 fifth: ACK field =========

def test_segment_without_ack_in_synchronized_state_is_dropped():
    p = established()
    step = p.inject("B", Segment.make("PSH", 101, data=b"noack"))
    assert step.sent == () and p.B.received == b""


def test_syn_received_unacceptable_ack_is_answered_with_rst_seq_seg_ack():
    p, b = reach(S.SYN_RECEIVED)
    for bad in (B_ISS, B_ISS + 99):             # not SND.UNA < SEG.ACK =< SND.NXT
        step = p.inject(b, Segment.make("ACK", 101, bad))
        assert rfc(step) == [f"<SEQ={bad}><CTL=RST>"] and p.B.state is S.SYN_RECEIVED


def test_syn_received_ack_with_data_establishes_and_delivers():
    # The handshake ACK is lost but A's first data segment acknowledges the SYN too.
    p, b = reach(S.SYN_RECEIVED)
    p.deliver("B", "SYN,ACK")
    p.drop("A", "ACK")
    p.call("A", "send", b"hi")
    step = p.deliver("A")
    assert keys(step) == ["syn-received-rcv-ack"] and step.delivered == b"hi"
    assert rfc(step) == ["<SEQ=301><ACK=103><CTL=ACK>"] and p.B.timers == {}


def test_ack_advances_snd_una_and_manages_the_retransmission_timer():
    p = established()
    step = p.call("A", "send", b"x" * 600)      # MSS 536: two segments
    assert rfc(step) == ["<SEQ=101><ACK=301><CTL=ACK><DATA=536>",
                         "<SEQ=637><ACK=301><CTL=PSH,ACK><DATA=64>"]
    assert (p.A.snd_una, p.A.snd_nxt) == (101, 701) and p.A.timers == {"retransmission": 1.0}
    p.clock.now = 0.5
    step = p.inject("A", Segment.make("ACK", 301, 637))      # first segment acknowledged
    assert p.A.snd_una == 637 and len(p.A.retransmission_queue) == 1
    assert p.A.timers == {"retransmission": 1.5}             # restarted (RFC 6298 §5.3)
    p.inject("A", Segment.make("ACK", 301, 701))
    assert p.A.snd_una == 701 and p.A.retransmission_queue == () and p.A.timers == {}


def test_duplicate_ack_is_ignored():
    p = established()
    p.call("A", "send", b"hello")
    p.settle()
    step = p.inject("A", Segment.make("ACK", 301, 101))      # SEG.ACK < SND.UNA
    assert step.sent == () and p.A.snd_una == 106 and p.A.state is S.ESTABLISHED


def test_ack_of_unsent_data_is_answered_with_ack_and_the_segment_dropped():
    p = established()
    step = p.inject("A", Segment.make("PSH,ACK", 301, 150, data=b"evil"))  # SND.NXT=101
    assert rfc(step) == ["<SEQ=101><ACK=301><CTL=ACK>"]
    assert step.delivered == b"" and p.A.rcv_nxt == 301 and p.A.snd_una == 101


def test_old_ack_does_not_update_the_send_window():
    # §3.10.7.4 fifth: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be
    # updated" -- an ACK below SND.UNA carries stale window information, even on a
    # segment with a newer SEG.SEQ (SND.WL1 < SEG.SEQ).
    p = established()
    p.call("A", "send", b"hello")
    p.settle()
    p.call("B", "send", b"q")
    p.settle()
    assert (p.A.snd_una, p.A.snd_wnd, p.A.snd_wl1) == (106, 65535, 301)
    p.inject("A", Segment.make("PSH,ACK", 302, 101, window=0, data=b"z"))
    assert p.A.snd_wnd == 65535
    step = p.call("A", "send", b"more")
    assert [s.data for s in step.sent] == [b"more"]


def test_window_update_uses_newest_segment():
    p = established()
    p.inject("A", Segment.make("ACK", 301, 101, window=1000))
    assert p.A.snd_wnd == 1000
    step = p.call("A", "send", b"y" * 1500)
    assert sum(len(s.data) for s in step.sent) == 1000
    assert len(p.A.send_buffer) == 500
    step = p.inject("A", Segment.make("ACK", 301, 1101, window=65535))
    assert sum(len(s.data) for s in step.sent) == 500 and p.A.send_buffer == b""


# ==================================================== §3.10.7.4 seventh: text ============

def test_data_is_delivered_in_order_and_acknowledged():
    p = established()
    p.call("A", "send", b"hello")
    step = p.deliver("A")
    assert step.delivered == b"hello" and rfc(step) == ["<SEQ=301><ACK=106><CTL=ACK>"]
    p.deliver("B", "ACK")
    assert p.A.snd_una == 106 and p.A.timers == {}
    p.call("B", "send", b"world")
    step = p.deliver("B")
    assert step.delivered == b"world" and rfc(step) == ["<SEQ=106><ACK=306><CTL=ACK>"]


def test_out_of_order_data_is_held_and_delivered_when_the_gap_fills():
    p = established()
    p.call("A", "send", b"hello")
    p.call("A", "send", b"world")
    first = p.take("A")
    step = p.deliver("A")                       # "world" (SEQ=106) arrives first
    assert step.delivered == b"" and p.B.received == b""
    assert rfc(step) == ["<SEQ=301><ACK=101><CTL=ACK>"]      # duplicate ACK for the gap
    step = p.inject("B", first)
    assert step.delivered == b"helloworld"
    assert rfc(step) == ["<SEQ=301><ACK=111><CTL=ACK>"]      # one ACK for both (MUST-58/59)


def test_three_segments_in_reverse_order():
    p = established()
    for chunk in (b"aa", b"bb", b"cc"):
        p.call("A", "send", chunk)
    segs = [p.take("A") for _ in range(3)]
    for seg in reversed(segs):
        p.inject("B", seg)
    assert p.B.received == b"aabbcc" and p.B.rcv_nxt == 107


def test_fin_held_behind_missing_data_is_processed_when_the_gap_fills():
    p = established()
    p.call("A", "send", b"hello")
    p.call("A", "close")
    data = p.take("A")
    step = p.deliver("A", "FIN,ACK")            # FIN at 106, RCV.NXT=101: hold it
    assert step.after is S.ESTABLISHED and rfc(step) == ["<SEQ=301><ACK=101><CTL=ACK>"]
    step = p.inject("B", data)
    assert step.after is S.CLOSE_WAIT and step.delivered == b"hello"
    assert rfc(step) == ["<SEQ=301><ACK=107><CTL=ACK>"]


def test_half_close_data_still_flows_to_fin_wait_2():
    p, a = reach(S.FIN_WAIT_2)
    step = p.call("B", "send", b"still here")               # B is in CLOSE-WAIT
    assert rfc(step) == ["<SEQ=301><ACK=102><CTL=PSH,ACK><DATA=10>"]
    step = p.deliver("B")
    assert step.delivered == b"still here" and p.A.state is S.FIN_WAIT_2
    assert rfc(step) == ["<SEQ=102><ACK=311><CTL=ACK>"]


def test_data_in_fin_wait_1_is_delivered():
    p, a = reach(S.FIN_WAIT_1)
    p.call("B", "send", b"crossing")
    step = p.deliver("B")
    assert step.delivered == b"crossing" and p.A.state is S.FIN_WAIT_1


# ==================================================== §3.10.7.4 eighth: FIN ==============

def test_normal_close_is_rfc_figure_12():
    p = established()
    step = p.call("A", "close")
    assert step.after is S.FIN_WAIT_1 and rfc(step) == ["<SEQ=101><ACK=301><CTL=FIN,ACK>"]
    assert p.A.timers == {"retransmission": 1.0}
    step = p.deliver("A", "FIN,ACK")
    assert keys(step) == ["established-rcv-fin"] and step.after is S.CLOSE_WAIT
    assert rfc(step) == ["<SEQ=301><ACK=102><CTL=ACK>"]
    step = p.deliver("B", "ACK")
    assert keys(step) == ["fin-wait-1-rcv-ack"] and step.after is S.FIN_WAIT_2
    assert p.A.timers == {}                     # RFC: FIN-WAIT-2 may wait forever
    step = p.call("B", "close")
    assert step.after is S.LAST_ACK and rfc(step) == ["<SEQ=301><ACK=102><CTL=FIN,ACK>"]
    step = p.deliver("B", "FIN,ACK")
    assert keys(step) == ["fin-wait-2-rcv-fin"] and step.after is S.TIME_WAIT
    assert rfc(step) == ["<SEQ=102><ACK=302><CTL=ACK>"]
    assert p.A.timers == {"time-wait": 240.0}   # 2*MSL, MSL = 2 minutes
    step = p.deliver("A", "ACK")
    assert keys(step) == ["last-ack-rcv-ack"] and step.after is S.CLOSED
    assert p.B.timers == {} and p.B.reason is None


def test_simultaneous_close_is_rfc_figure_13():
    p = established()
    p.call("A", "close")
    p.call("B", "close")
    step = p.deliver("B", "FIN,ACK")
    assert keys(step) == ["fin-wait-1-rcv-fin"] and step.after is S.CLOSING
    assert rfc(step) == ["<SEQ=102><ACK=302><CTL=ACK>"]
    step = p.deliver("A", "FIN,ACK")
    assert step.after is S.CLOSING and rfc(step) == ["<SEQ=302><ACK=102><CTL=ACK>"]
    step = p.deliver("A", "ACK")
    assert keys(step) == ["closing-rcv-ack"] and step.after is S.TIME_WAIT
    step = p.deliver("B", "ACK")
    assert step.after is S.TIME_WAIT
    assert p.A.timers == {"time-wait": 240.0} and p.B.timers == {"time-wait": 240.0}
    p.fire("A", "time-wait")
    p.fire("B", "time-wait")
    assert (p.A.state, p.B.state) == (S.CLOSED, S.CLOSED)


def test_fin_wait_1_fin_that_acks_our_fin_goes_straight_to_time_wait_note_2():
    p, a = reach(S.FIN_WAIT_1)
    p.deliver("A", "FIN,ACK")
    p.drop("B", "ACK")                          # B's ACK of our FIN is lost...
    p.call("B", "close")                        # ...but its FIN acknowledges it too
    step = p.deliver("B", "FIN,ACK")
    assert keys(step) == ["fin-wait-1-rcv-fin-ack"] and step.after is S.TIME_WAIT
    assert rfc(step) == ["<SEQ=102><ACK=302><CTL=ACK>"]
    assert p.A.timers == {"time-wait": 240.0}  # "start the time-wait timer, turn off the others"


def test_syn_received_fin_with_ack_of_syn_goes_to_close_wait():
    p, b = reach(S.SYN_RECEIVED)
    p.deliver("B", "SYN,ACK")
    p.drop("A", "ACK")
    p.call("A", "close")
    step = p.deliver("A", "FIN,ACK")
    assert keys(step) == ["syn-received-rcv-ack", "established-rcv-fin"]
    assert step.after is S.CLOSE_WAIT and rfc(step) == ["<SEQ=301><ACK=102><CTL=ACK>"]


@pytest.mark.parametrize("state", [S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK],
                         ids=lambda s: s.rfc)
def test_retransmitted_fin_in_states_that_already_have_it_is_acked(state):
    p, who = reach(state)
    ep = p.ep(who)
    fin = Segment.make("FIN,ACK", ep.rcv_nxt - 1, ep.snd_una)   # the peer's FIN, again
    step = p.inject(who, fin)
    assert rfc(step) == [ack_now(ep)] and ep.state is state


def test_retransmitted_fin_in_time_wait_is_acked_and_restarts_2msl():
    p = established()
    p.call("A", "close")
    p.deliver("A", "FIN,ACK")
    p.deliver("B", "ACK")
    p.call("B", "close")
    p.deliver("B", "FIN,ACK")
    assert p.A.state is S.TIME_WAIT and p.A.timers == {"time-wait": 240.0}
    p.drop("A", "ACK")                          # the last ACK is lost
    step = p.fire("B")                          # t=1: B retransmits its FIN
    assert rfc(step) == ["<SEQ=301><ACK=102><CTL=FIN,ACK>"] and p.clock.now == 1.0
    step = p.deliver("B", "FIN,ACK")
    assert keys(step) == ["time-wait-rcv-fin"] and step.after is S.TIME_WAIT
    assert rfc(step) == ["<SEQ=102><ACK=302><CTL=ACK>"]
    assert p.A.timers == {"time-wait": 241.0}   # the deadline moved
    p.deliver("A", "ACK")
    assert p.B.state is S.CLOSED


def test_fin_is_not_processed_in_closed_listen_or_syn_sent():
    fin = Segment.make("FIN,ACK", 300, 101)
    for state in (S.CLOSED, S.LISTEN, S.SYN_SENT):
        p, who = reach(state)
        ep = p.ep(who)
        step = p.inject(who, fin)
        assert ep.state is state and ep.rcv_nxt in (0,)
        assert all(Flags.RST in s.flags for s in step.sent)   # only RSTs, never an ACK


# ==================================================== §3.10.8 timeouts ===================

@pytest.mark.parametrize("config,duration", [
    (Config(), 240.0), (Config(msl=5), 10.0), (Config(msl=0.25), 0.5),
    (Config.linux(), 60.0)], ids=["rfc-2x120", "msl5", "msl0.25", "linux"])
def test_time_wait_lasts_2_msl_then_deletes_the_tcb(config, duration):
    p, a = reach(S.FIN_WAIT_2, config)
    p.clock.now = 3.0
    p.call("B", "close")
    p.deliver("B", "FIN,ACK")                   # TIME-WAIT entered at t=3
    assert p.A.timers == {"time-wait": 3.0 + duration}
    step = p.fire("A", "time-wait")
    assert p.clock.now == 3.0 + duration
    assert keys(step) == ["time-wait-timeout"] and step.after is S.CLOSED
    assert p.A.reason is None and p.A.timers == {} and step.sent == ()


def test_after_time_wait_a_late_fin_meets_a_closed_port():
    p, a = reach(S.TIME_WAIT)
    fin = Segment.make("FIN,ACK", 301, 102)
    p.fire("A", "time-wait")
    step = p.inject("A", fin)
    assert rfc(step) == ["<SEQ=102><CTL=RST>"]


def deadlines(p: Pair, who: str, timer: str = "retransmission", limit: int = 50):
    """Fire ``who``'s timer until it stops; return (times fired, segments re-sent, last step)."""
    times, resent, step = [], [], None
    for _ in range(limit):
        if timer not in p.ep(who).timers:
            break
        step = p.fire(who, timer)
        times.append(p.clock.now)
        resent.append(rfc(step))
        p.flight.clear()                        # the network eats everything
    return times, resent, step


def test_syn_retransmission_backs_off_1_2_4_and_gives_up_connection_timed_out():
    p = Pair(Config(syn_retries=4))
    p.call("A", "connect")
    p.flight.clear()
    times, resent, last = deadlines(p, "A")
    assert times == [1, 3, 7, 15, 31]           # intervals 1, 2, 4, 8, 16 (RFC 6298 §5.5)
    assert resent[:4] == [["<SEQ=100><CTL=SYN>"]] * 4 and resent[4] == []
    assert keys(last) == ["syn-sent-timeout"] and last.after is S.CLOSED
    assert last.error == "connection timed out" and p.A.reason == "connection timed out"
    assert p.A.timers == {}


def test_rto_back_off_is_capped_at_rto_max():
    p = Pair(Config(syn_retries=8, rto_max=10))
    p.call("A", "connect")
    p.flight.clear()
    times, _, _ = deadlines(p, "A")
    assert [b - a for a, b in zip([0] + times, times)] == [1, 2, 4, 8, 10, 10, 10, 10, 10]


def test_linux_gives_up_on_connect_after_131_seconds_with_linear_syn_timeouts():
    # Linux 6.x: tcp_syn_retries=6 and tcp_syn_linear_timeouts=4, initial RTO 1 s.  Measured
    # on this machine's kernel (6.18, loopback, SYNs dropped): 11 SYNs at 0, 1.0, 2.0, 3.1,
    # 4.1, 5.1, 7.1, 11.4, 19.6, 35.7, 69.8 s and ETIMEDOUT at 135.3 s (timer slack).
    p = Pair(Config.linux())
    p.call("A", "connect")
    p.flight.clear()
    times, resent, last = deadlines(p, "A")
    assert times == [1, 2, 3, 4, 5, 7, 11, 19, 35, 67, 131]
    assert len(resent) == 11 and last.error == "connection timed out"
    assert "11 SYNs, the first 131 s ago, went unanswered" in last.explanation


def test_older_linux_gives_up_on_connect_after_127_seconds():
    # Before the linear timeouts: tcp_syn_retries=6, 1+2+4+8+16+32+64 = 127 s (tcp(7)).
    p = Pair(Config.linux(syn_linear_timeouts=0))
    p.call("A", "connect")
    p.flight.clear()
    times, resent, last = deadlines(p, "A")
    assert times[-1] == 127 and len(times) == 7 and last.error == "connection timed out"


def test_syn_is_retransmitted_for_at_least_3_minutes_by_default_must_23():
    # RFC 9293 §3.8.3: "R2 for a SYN segment MUST be set large enough to provide
    # retransmission of the segment for at least 3 minutes (MUST-23)."  Config's defaults
    # "follow the RFCs"; Config.linux() may differ (Linux gives up after 127 s).
    p = Pair()
    p.call("A", "connect")
    p.flight.clear()
    times, _, last = deadlines(p, "A")
    assert last.error == "connection timed out"
    assert times[-1] >= 180


def test_data_retransmission_backs_off_and_gives_up():
    p = established(Config(retries=3))
    p.call("A", "send", b"hello")
    p.flight.clear()
    times, resent, last = deadlines(p, "A")
    assert times == [1, 3, 7, 15]
    assert resent[:3] == [["<SEQ=101><ACK=301><CTL=PSH,ACK><DATA=5>"]] * 3
    assert keys(last) == ["established-timeout"] and last.after is S.CLOSED
    assert last.error == "connection timed out" and last.sent == ()


def test_retransmitted_data_carries_the_current_ack():
    p = established()
    p.call("A", "send", b"hello")
    p.drop("A")
    p.call("B", "send", b"news")
    p.deliver("B")                               # A's RCV.NXT is now 305
    p.flight.clear()
    step = p.fire("A")
    assert rfc(step) == ["<SEQ=101><ACK=305><CTL=PSH,ACK><DATA=5>"]


@pytest.mark.parametrize("state", [S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK],
                         ids=lambda s: s.rfc)
def test_fin_retransmission_backs_off_and_gives_up(state):
    p, who = reach(state, Config(retries=2))
    p.clock.now = 0.0
    ep = p.ep(who)
    fin = [s for s in ep.retransmission_queue if s.fin][0]
    rcv_nxt = ep.rcv_nxt
    p.flight.clear()
    times, resent, last = deadlines(p, who)
    assert times == [1, 3, 7]
    # the same FIN, carrying the current acknowledgment
    assert resent[:2] == [[f"<SEQ={fin.seq}><ACK={rcv_nxt}><CTL=FIN,ACK>"]] * 2
    assert keys(last) == [f"{state.rfc.lower()}-timeout"] and last.after is S.CLOSED
    assert last.error == "connection timed out"


def test_syn_ack_retransmission_backs_off_and_the_listener_stays():
    p, b = reach(S.SYN_RECEIVED, Config(syn_retries=2))
    p.flight.clear()
    times, resent, last = deadlines(p, b)
    assert times == [1, 3, 7]
    assert resent[:2] == [["<SEQ=300><ACK=101><CTL=SYN,ACK>"]] * 2
    # the half-open connection of a passive open is dropped; the listener stays, silently
    assert last.after is S.LISTEN and last.error is None
    assert keys(last) == ["syn-received-synack-timeout"]


def test_linux_drops_an_unanswered_half_open_connection_after_63_seconds():
    # tcp_synack_retries=5: 6 SYN,ACKs at 0, 1, 3, 7, 15, 31 s; dropped at 63 s.
    p, b = reach(S.SYN_RECEIVED, Config.linux())
    p.flight.clear()
    times, resent, last = deadlines(p, b)
    assert times == [1, 3, 7, 15, 31, 63] and len(resent) == 6
    assert last.after is S.LISTEN and last.error is None and p.B.reason is None
    assert "6 SYN,ACKs (5 retransmissions) went unanswered" in last.explanation


def test_linux_orphaned_fin_wait_2_times_out_and_later_fin_gets_rst():
    p, a = reach(S.FIN_WAIT_2, Config.linux())          # the RFC's CLOSE: shutdown(SHUT_WR)
    assert p.A.timers == {}                              # the application still holds it
    p.call("A", "close", True)                           # close(): now it is an orphan
    assert p.A.timers == {"fin-wait-2": 60.0}
    step = p.fire("A", "fin-wait-2")
    assert keys(step) == ["fin-wait-2-timeout"] and step.after is S.CLOSED
    p.call("B", "close")
    step = p.deliver("B", "FIN,ACK")
    assert rfc(step) == ["<SEQ=102><CTL=RST>"]
    p.deliver("A", "RST")
    assert p.B.state is S.CLOSED


# ==================================================== §3.10.5 ABORT ======================

@pytest.mark.parametrize("state", [S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1,
                                   S.FIN_WAIT_2, S.CLOSE_WAIT], ids=lambda s: s.rfc)
def test_abort_sends_rst_at_snd_nxt_in_synchronized_states(state):
    p, who = reach(state)
    ep = p.ep(who)
    snd_nxt = ep.snd_nxt
    step = p.call(who, "abort")
    assert rfc(step) == [f"<SEQ={snd_nxt}><CTL=RST>"]
    assert keys(step) == [f"{state.rfc.lower()}-abort"] and step.after is S.CLOSED
    assert ep.timers == {} and ep.retransmission_queue == () and ep.send_buffer == b""


@pytest.mark.parametrize("state", [S.LISTEN, S.SYN_SENT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT],
                         ids=lambda s: s.rfc)
def test_abort_sends_nothing_in_listen_syn_sent_and_the_closing_states(state):
    p, who = reach(state)
    step = p.call(who, "abort")
    assert step.sent == () and step.after is S.CLOSED and p.ep(who).timers == {}


def test_abort_rst_resets_the_peer():
    p = established()
    p.call("B", "abort")
    step = p.deliver("B", "RST")
    assert step.after is S.CLOSED and step.error == "connection reset"


# ==================================================== sequence numbers at the wrap ======

def test_handshake_data_and_teardown_across_the_sequence_wrap():
    p = Pair(a_iss=2 ** 32 - 2, b_iss=2 ** 32 - 1)
    p.call("B", "listen")
    p.call("A", "connect")
    p.settle()
    assert (p.A.snd_nxt, p.A.rcv_nxt) == (2 ** 32 - 1, 0)
    p.call("A", "send", b"hello")               # occupies 2**32-1, 0, 1, 2, 3
    p.call("B", "send", b"back")
    p.settle()
    assert (p.B.recv(), p.A.recv()) == (b"hello", b"back")
    assert p.A.snd_una == p.A.snd_nxt == 4 and p.B.snd_una == p.B.snd_nxt == 4
    p.call("A", "close")
    p.settle()
    p.call("B", "close")
    p.settle()
    assert (p.A.state, p.B.state) == (S.TIME_WAIT, S.CLOSED)


def test_out_of_order_across_the_wrap():
    p = Pair(a_iss=2 ** 32 - 3)
    p.call("B", "listen")
    p.call("A", "connect")
    p.settle()
    for chunk in (b"ab", b"cd", b"ef"):         # 2**32-2.., 0.., 2..
        p.call("A", "send", chunk)
    segs = [p.take("A") for _ in range(3)]
    assert [s.seq for s in segs] == [2 ** 32 - 2, 0, 2]
    p.inject("B", segs[2])
    p.inject("B", segs[1])
    assert p.B.received == b""
    p.inject("B", segs[0])
    assert p.B.received == b"abcdef" and p.B.rcv_nxt == 4
