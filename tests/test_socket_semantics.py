"""Sockets as learners meet them on Linux: close() is not CLOSE, RFC 6298 timers, Linux's
SYN and SYN,ACK retries, TIME-WAIT accepting a new SYN.  Every input named in the issue
("Sockets as learners meet them") is a test here, with the values of the RFCs and of the
kernel measured on this machine (6.18)."""

from __future__ import annotations

import pytest

from tcplab import Config, Network, Segment, TcpState as S
from tcplab.script import run_script

HANDSHAKE = ["server listen", "client connect", "settle"]


# ---------------------------------------------------------------- close() is not CLOSE --

def test_close_with_unread_data_resets_the_connection():
    """RFC 9293 §3.6.1 SHLD-2 / RFC 1122 §4.2.2.13, and Linux: the unread request is lost,
    so close() sends RST,ACK instead of FIN and the client gets ECONNRESET."""
    net = Network(isn={"client": 100, "server": 300}, config=Config.linux())
    run_script(net, [*HANDSHAKE, "client send GET /", "settle"])
    step = net.close("server")
    assert [s.rfc() for s in step.sent] == ["<SEQ=301><ACK=106><CTL=RST,ACK>"]
    assert net.state("server") is S.CLOSED and not net["server"].received
    assert "can still receive" not in step.explanation and "ECONNRESET" in step.explanation
    net.settle()
    assert net.state("client") is S.CLOSED and net["client"].reason == "connection reset"


def test_reading_first_makes_close_a_graceful_fin():
    net = Network(isn={"client": 100, "server": 300}, config=Config.linux())
    run_script(net, [*HANDSHAKE, "client send GET /", "settle", "server recv"])
    step = net.close("server")
    assert [s.rfc() for s in step.sent] == ["<SEQ=301><ACK=106><CTL=FIN,ACK>"]


def test_data_arriving_after_close_is_answered_with_rst():
    """The server closed (an orphan in FIN-WAIT-2); the client sends more: nobody will read
    it, so Linux resets (TCPAbortOnData) and the client's send() ends in ECONNRESET."""
    net = Network(isn={"client": 100, "server": 300}, config=Config.linux())
    run_script(net, [*HANDSHAKE, "server close", "settle"])
    assert net.state("server") is S.FIN_WAIT_2 and net.state("client") is S.CLOSE_WAIT
    net.send("client", "late")
    step = net.step()
    assert step.actor == "server" and [s.rfc() for s in step.sent] == ["<SEQ=302><CTL=RST>"]
    assert net.state("server") is S.CLOSED and not net["server"].received
    net.settle()
    assert net.state("client") is S.CLOSED and net["client"].reason == "connection reset"


def test_after_shutdown_the_peer_may_still_send():
    """shutdown(SHUT_WR) is the RFC's CLOSE: the application keeps reading (half-close)."""
    net = Network(isn={"client": 100, "server": 300})
    run_script(net, [*HANDSHAKE, "server shutdown", "settle", "client send more", "settle"])
    assert net.recv("server") == b"more" and net.state("server") is S.FIN_WAIT_2


def test_close_after_shutdown_sends_nothing_and_starts_linux_fin_timeout():
    net = Network(isn={"client": 100, "server": 300}, config=Config.linux())
    run_script(net, [*HANDSHAKE, "client shutdown", "settle"])
    assert net.state("client") is S.FIN_WAIT_2 and net["client"].timers == {}
    step = net.close("client")
    assert step.sent == () and step.error is None and net.state("client") is S.FIN_WAIT_2
    assert net["client"].orphan
    assert net["client"].timers == {"fin-wait-2": pytest.approx(net.now + 60)}
    assert "tcp_fin_timeout = 60 s" in step.explanation
    net.wait(61)
    assert net.state("client") is S.CLOSED and net["client"].reason == "FIN-WAIT-2 timed out"


def test_a_second_close_is_refused():
    net = Network()
    run_script(net, [*HANDSHAKE, "client close"])
    from tcplab import TcpError
    with pytest.raises(TcpError, match="connection closing"):
        net.close("client")


@pytest.mark.parametrize("name", ["teardown-client-first", "teardown-server-first",
                                  "half-close", "old-duplicate"])
def test_the_catalogue_reads_before_it_closes(name):
    from tcplab import scenarios
    net = scenarios.get(name).run()
    assert not any(s.sent and s.sent[0].rst for s in net.history if s.call == "close")
    assert any(s.call == "recv" for s in net.history)


# ---------------------------------------------------------------- RFC 6298 timers -------

def test_rto_from_measured_round_trips():
    """Latency 0.3 s: the handshake measures R = 0.6 s (SRTT 0.6, RTTVAR 0.3, RTO 1.8), the
    first data 0.6 s again (RTTVAR 0.225): RTO = 0.6 + 4 * 0.225 = 1.5 s (RFC 6298 §2)."""
    net = Network(latency=0.3)
    run_script(net, [*HANDSHAKE, "client send x", "settle", "client send y"])
    c = net["client"]
    assert c.srtt == pytest.approx(0.6) and c.rttvar == pytest.approx(0.225)
    assert c.timers["retransmission"] - net.now == pytest.approx(1.5)
    assert 1.5 <= c.rto <= 1.8


def test_rto_is_3_seconds_after_a_syn_timeout():
    """RFC 6298 (5.7): the SYN was retransmitted, Karn's algorithm takes no sample from it,
    so when data transmission begins the RTO is re-initialised to 3 s."""
    net = Network(latency=0.3)
    net.listen("server"); net.connect("client")
    net.drop(net.in_flight[0].id)
    net.wait(2); net.settle()
    assert net.state("client") is S.ESTABLISHED and net["client"].srtt is None   # Karn
    net.send("client", "x")
    assert net["client"].timers["retransmission"] - net.now == pytest.approx(3.0)


def test_rto_lower_bound_and_linux_variant():
    fast = Network(latency=0.001)
    run_script(fast, [*HANDSHAKE, "client send x", "settle"])
    assert fast["client"].rto == 1.0                        # RFC 6298 (2.4): at least 1 s
    linux = Network(latency=0.001, config=Config.linux())
    run_script(linux, [*HANDSHAKE, "client send x", "settle"])
    # Linux: SRTT + max(200 ms, 4*RTTVAR); on loopback tcpi_rto shows about 0.203 s
    assert linux["client"].rto == pytest.approx(0.202, abs=0.002)


def test_backoff_doubles_and_a_new_ack_recomputes():
    net = Network(latency=0.3)
    run_script(net, [*HANDSHAKE, "client send x", "settle", "client send y"])
    net.drop(net.in_flight[0].id)
    rto = net["client"].rto
    net.fire_timer("client")
    assert net["client"].rto == pytest.approx(2 * rto)     # RFC 6298 (5.5)
    net.settle()
    assert net["client"].rto == pytest.approx(1.5)         # Karn: no sample from the resend


# ---------------------------------------------------------------- SYN and SYN,ACK retries

def test_linux_connect_gives_up_with_etimedout_after_131_seconds():
    net = Network(config=Config.linux())
    net.connect("client")                                    # nobody answers: SYNs dropped
    syns = []
    while net.state("client") is S.SYN_SENT:
        for p in net.in_flight:
            syns.append(net.now)
            net.drop(p.id)
        if net.timers():
            net.next_timer()
    assert syns == [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]
    assert net.now == 131 and net["client"].reason == "connection timed out"


def test_an_unanswered_syn_ack_is_dropped_after_63_seconds_and_the_listener_stays():
    net = Network(config=Config.linux())
    net.listen("server")
    net.inject("server", Segment.make("SYN", 90))
    net.deliver()
    synacks = []
    while net.in_flight or net.timers():
        for p in net.in_flight:
            synacks.append(round(net.now - 0.1, 6))
            net.drop(p.id)
        if net.timers():
            net.next_timer()
    assert synacks == [0, 1, 3, 7, 15, 31]
    assert net.state("server") is S.LISTEN and net.now == pytest.approx(63.1)
    assert not [s.error for s in net.history if s.error]        # no application hears


# ---------------------------------------------------------------- TIME-WAIT reuse -------

def test_time_wait_accepts_a_new_syn_above_the_old_sequence_numbers():
    """RFC 9293 §3.6.1 MAY-2 (Linux does it): the server closed first and waits in
    TIME-WAIT; the client connects again on the same ports and both reach ESTABLISHED."""
    net = Network()
    run_script(net, [*HANDSHAKE, "server close", "settle", "client close", "settle"])
    assert net.states() == {"client": S.CLOSED, "server": S.TIME_WAIT}
    old = net["server"].snd_nxt
    net.connect("client")
    net.run(until=net.now + 5)
    assert net.states() == {"client": S.ESTABLISHED, "server": S.ESTABLISHED}
    assert not [s.error for s in net.history if s.error]
    reopen = next(s for s in net.history if s.transition and
                  s.transition.key == "time-wait-rcv-syn")
    assert "old duplicate" not in reopen.explanation.split(":")[0]
    assert net["server"].iss - old > 0                     # condition (1): above SND.NXT


def test_a_later_connection_starts_with_a_larger_isn():
    """RFC 9293 §3.4.1: the ISN generator is clock-driven (a 4-microsecond timer)."""
    net = Network()
    net.listen("server"); net.connect("client"); net.run()
    first = net["client"].iss
    net.abort("client"); net.run(); net.wait(10)
    net.connect("client")
    assert (net["client"].iss - first) % 2 ** 32 == int(net.now * 250_000)   # first at t=0
