"""The simulated wire's rules (issue 19): time order, duplicates, replay and the
retransmission mark, checked with the numbers the RFCs give (RFC 9293 §3.8.1, RFC 6298
§5; Network's latency of 0.1 s, RTO 1 s).

A wire that gets these wrong shows learners a run no real network could make: a timer
firing after a segment that arrived later, a copy arriving before its original left, a
replay that forgets the configuration, or a retransmission drawn as a new segment.
"""

from __future__ import annotations

import pytest

from tcplab.endpoint import Config
from tcplab.network import Network
from tcplab.states import TcpState as S


def test_deliver_fires_the_timers_that_fall_due_before_the_arrival_first():
    # The client's SYN is held 5 s on the wire; its retransmission timer (RTO = 1 s,
    # RFC 6298 §2.1) falls due at t=1, then at t=3 (backed off, §5.5): delivering the held
    # SYN at t=5.1 first fires both, in time order, then delivers it.
    net = Network(isn={"client": 100, "server": 300})
    net.listen("server")
    syn = net.connect("client").packets[0]
    net.delay(syn, 5.0)
    before = len(net.history)
    step = net.deliver(syn)
    fired = net.history[before:-1]
    assert [(s.timer, s.time) for s in fired] == [("retransmission", 1.0),
                                                  ("retransmission", 3.0)]
    assert all(s.retransmission for s in fired)
    assert step.time == pytest.approx(5.1) and net.now == pytest.approx(5.1)
    assert net.state("server") is S.SYN_RECEIVED


def test_a_packet_due_with_a_timer_arrives_before_the_timer_fires():
    # With a one-way latency of 0.5 s the SYN,ACK reaches the client at t=1.0, exactly when
    # its retransmission timer (RTO = 1 s from t=0, RFC 6298 §2.1) falls due.  The packet
    # comes first: its ACK stops the timer (§5.2), so no SYN is sent again.
    net = Network(isn={"client": 100, "server": 300}, latency=0.5)
    net.listen("server")
    net.connect("client")
    assert net["client"].timers == {"retransmission": 1.0}
    net.run()
    assert [s.timer for s in net.history if s.timer] == []
    assert [p.segment.rfc() for p, _ in net.delivered] == [
        "<SEQ=100><CTL=SYN>", "<SEQ=300><ACK=101><CTL=SYN,ACK>", "<SEQ=101><ACK=301><CTL=ACK>"]
    assert net.states() == {"client": S.ESTABLISHED, "server": S.ESTABLISHED}


@pytest.mark.parametrize("extra", [0.0, 0.25])
def test_a_duplicate_leaves_with_its_original_and_never_arrives_before_it(extra):
    net = Network(isn={"client": 100, "server": 300}, latency=0.5)
    net.listen("server")
    net.connect("client")
    net.clock.now = 0.2
    original = net.packet(net.in_flight[0].id)
    step = net.duplicate(original.id, extra_delay=extra)
    copy = net.packet(step.packets[0])
    assert copy.copy_of == original.id and copy.segment == original.segment
    assert copy.sent_at == original.sent_at == 0.0
    assert copy.arrive_at == pytest.approx(original.arrive_at + extra)
    assert copy.arrive_at >= original.arrive_at
    net.run()
    # the copy arrives as an old duplicate SYN in SYN-RECEIVED/ESTABLISHED: nothing breaks
    assert net.states() == {"client": S.ESTABLISHED, "server": S.ESTABLISHED}


def test_replay_keeps_the_per_endpoint_configs_and_isns():
    net = Network(configs={"server": Config(window=1000, rcvbuf=1000)},
                  isn={"client": 7, "server": 4_000_000_000}, latency=0.3, seed=5)
    net.listen("server")
    net.connect("client")
    net.run()
    net.send("client", b"x" * 1500)
    net.run(until=net.now + 0.1)
    again = net.replay()
    assert again.configs == net.configs and again.isn == net.isn
    assert again["server"].config.window == 1000 and again["client"].config == Config()
    assert (again["client"].iss, again["server"].iss) == (7, 4_000_000_000)
    assert again.latency == 0.3 and again.now == net.now
    assert again["client"].tcb() == net["client"].tcb()
    assert again["server"].tcb() == net["server"].tcb()
    assert [p.segment for p in again.in_flight] == [p.segment for p in net.in_flight]


def test_every_retransmission_is_marked_on_its_packet():
    # RFC 6298 §5.4: on a timeout, retransmit the earliest unacknowledged segment; the
    # ladder draws it as a retransmission, so the Packet says so -- each time, and only
    # then.
    net = Network(isn={"client": 100, "server": 300})
    net.listen("server")
    first = net.packet(net.connect("client").packets[0])
    assert first.retransmission is False
    net.drop(first.id)
    again = [net.packet(net.fire_timer("client").packets[0]) for _ in range(1)]
    net.drop(again[0].id)
    again.append(net.packet(net.fire_timer("client").packets[0]))
    assert [(p.segment.rfc(), p.retransmission, p.sent_at) for p in again] == [
        ("<SEQ=100><CTL=SYN>", True, 1.0), ("<SEQ=100><CTL=SYN>", True, 3.0)]
    net.run()
    data = net.packet(net.send("client", b"hello").packets[0])
    assert data.retransmission is False
    net.drop(data.id)
    rto = net.fire_timer("client")
    assert rto.retransmission and net.packet(rto.packets[0]).retransmission
    assert net.packet(rto.packets[0]).segment.data == b"hello"
    net.run()
    assert not any(p.retransmission for p, _ in net.delivered
                   if p.segment.syn and p.segment.has_ack)
    assert bytes(net["server"].received) == b"hello"
