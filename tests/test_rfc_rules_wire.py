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
from tcplab.network import WIRE, Network
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


# ============================================== the wire's controls, value by value =====

def handshake(**kw) -> Network:
    net = Network(isn={"client": 100, "server": 300}, **kw)
    net.listen("server")
    net.connect("client")
    return net


def test_find_picks_the_earliest_matching_packet_and_matches_flags_exactly():
    net = handshake()
    net.run()
    net.send("client", b"one")
    net.clock.now += 0.05
    net.send("client", b"two")
    net.close("server")
    first, second, fin = net.in_flight
    assert net.find("client", "DATA") == first
    assert net.find("client", "DATA", packets=[second]) == second
    assert net.find(flags="FIN,ACK") == fin and net.find("server") == fin
    assert net.find("client", "ACK,DATA") == first         # PSH is ignored, DATA needs data
    with pytest.raises(KeyError, match="no packet in flight from client matching ACK"):
        net.find("client", "ACK")                           # a data segment is not "ACK"
    with pytest.raises(TypeError, match="find"):
        net.find(flags=1)
    with pytest.raises(TypeError, match="Packets"):
        net.find(packets=[1])


def test_timers_are_listed_earliest_first_and_quiet_means_nothing_left():
    net = handshake()
    assert net.timers() == [("client", "retransmission", 1.0)] and not net.quiet()
    net.run(until=0.15)                                     # SYN arrived: SYN,ACK sent
    assert net.timers() == [("client", "retransmission", 1.0),
                            ("server", "retransmission", 1.1)]
    net.run()
    assert net.timers() == [] and net.in_flight == [] and net.quiet()


def test_next_timer_fires_the_earliest_and_leaves_packets_on_the_wire():
    net = handshake()
    syn = net.in_flight[0]
    step = net.next_timer()
    assert (step.actor, step.timer, step.time, net.now) == ("client", "retransmission", 1.0, 1.0)
    assert net.in_flight[0] == syn and len(net.in_flight) == 2   # the SYN waits, late


def test_fire_timer_fires_earlier_timers_of_others_first():
    net = handshake(latency=0.05)
    net.run(until=0.06)                   # server in SYN-RECEIVED, timer at 1.05
    net.drop(net.find("server", "SYN,ACK").id)
    step = net.fire_timer("server")
    fired = [(s.actor, s.time) for s in net.history if s.timer]
    assert fired == [("client", 1.0), ("server", 1.05)] and step.actor == "server"


def test_run_until_stops_the_clock_there_and_wait_moves_it_exactly():
    net = handshake()
    steps = net.run(until=0.25)
    assert [s.time for s in steps] == [0.1, 0.2] and net.now == 0.25
    assert [p.arrive_at for p in net.in_flight] == [pytest.approx(0.3)]
    net.run()
    before = net.now
    net.wait(2.5)
    assert net.now == pytest.approx(before + 2.5)
    assert net.run(stop=lambda n: True) == []


def test_run_reports_when_max_steps_is_not_enough():
    net = handshake()
    with pytest.raises(RuntimeError, match=r"max_steps=1 steps.*max_steps=10"):
        net.run(max_steps=1)
    assert len(net.history) == 3          # listen, connect, and the one step taken


def test_delay_moves_the_arrival_and_reorders():
    net = handshake()
    net.run()
    first = net.packet(net.send("client", b"a").packets[0])
    second = net.packet(net.send("client", b"b").packets[0])
    net.delay(first.id, 0.5)
    assert net.packet(first.id).arrive_at == pytest.approx(first.arrive_at + 0.5)
    assert net.step().packet == second.id          # "b" first: held, duplicate ACK
    net.run()
    assert [p.id for p, _ in net.delivered if p.dst == "server"][-2:] == [second.id, first.id]
    assert bytes(net["server"].received) == b"ab"


def test_history_limit_keeps_the_last_steps_only():
    net = handshake(history_limit=4)
    net.run()
    for i in range(6):
        net.send("client", b"x")
        net.run()
    kept = [s.index for s in net.history]
    assert 4 <= len(kept) <= 8 and kept == list(range(kept[0], kept[0] + len(kept)))
    assert kept[-1] == net._count - 1
    with pytest.raises(ValueError, match="history_limit=4"):
        net.replay()


def test_replay_bounds_and_rewind():
    net = handshake()
    net.run()
    total = len(net.history)
    assert net.replay(0).history == [] and net.replay(0).now == 0.0
    assert net.replay(total).states() == net.states()
    for bad in (-1, total + 1):
        with pytest.raises(ValueError, match=f"0..{total}"):
            net.replay(bad)
    with pytest.raises(TypeError, match=f"whole number of steps 0..{total}"):
        net.replay(True)
    net.rewind(2)                              # after listen and connect
    assert net.states() == {"client": S.SYN_SENT, "server": S.LISTEN}
    assert len(net.in_flight) == 1 and net.now == 0.0
    net.run()
    assert net.states() == {"client": S.ESTABLISHED, "server": S.ESTABLISHED}


def test_peer_and_endpoint_lookup():
    net = Network(("a", "b"))
    assert (net.peer("a"), net.peer("b")) == ("b", "a")
    with pytest.raises(KeyError, match="no endpoint 'c'; the endpoints are a, b"):
        net.peer("c")
    assert net["a"] is net.endpoints["a"] and net.state("b") is S.CLOSED


def test_abort_inject_and_next_timer_through_the_network():
    net = handshake()
    net.run()
    step = net.abort("client")                  # §3.10.5: RST <SEQ=SND.NXT>
    assert step.call == "abort" and [s.rfc() for s in step.sent] == ["<SEQ=101><CTL=RST>"]
    pkt = net.packet(step.packets[0])
    assert (pkt.src, pkt.dst) == ("client", "server")
    net.run()
    assert net.states() == {"client": S.CLOSED, "server": S.CLOSED}
    injected = net.packet(net.inject("server", pkt.segment).packets[0])
    assert (injected.src, injected.dst, injected.arrive_at) == ("client", "server",
                                                                 pytest.approx(net.now + 0.1))
    from tcplab.steps import TcpError
    net.run()
    with pytest.raises(TcpError) as err:
        net.next_timer()
    assert (err.value.call, err.value.rfc, err.value.endpoint) == ("next_timer", "§3.8", WIRE)
    assert err.value.message == "no timer is running"


def test_timers_at_the_same_deadline_are_ordered_by_endpoint_name():
    net = Network(("zed", "amy"), isn={"zed": 1, "amy": 2})
    net.connect("zed")
    net.connect("amy")                            # both SYNs at t=0: both timers at 1.0
    assert net.timers() == [("amy", "retransmission", 1.0), ("zed", "retransmission", 1.0)]


def test_recv_on_an_endpoint_of_a_network_reads_n_and_is_recorded():
    net = handshake()
    net.run()
    net.send("server", b"abcdef")
    net.run()
    assert net["client"].recv(2) == b"ab" and net.history[-1].call == "recv"
    assert net.history[-1].read == b"ab" and net["client"].recv() == b"cdef"


def test_deliver_with_nothing_in_flight_is_a_wire_error():
    from tcplab.steps import TcpError
    net = Network()
    with pytest.raises(TcpError) as err:
        net.deliver()
    assert (err.value.endpoint, err.value.allowed, err.value.message) == (
        WIRE, (), "nothing is in flight")


def test_network_arguments_at_their_limits():
    assert Network(isn={"client": 0}).connect("client").sent[0].seq == 0
    with pytest.raises(ValueError, match="history_limit"):
        Network(history_limit=0)
    net = handshake()
    net.run()
    with pytest.raises(TypeError, match="close"):
        net.call("client", "close", "yes")
    assert net.state("client") is S.ESTABLISHED


def test_wire_errors_name_the_call_and_a_bad_timer_is_refused():
    from tcplab.steps import TcpError
    net = Network()
    with pytest.raises(TcpError) as err:
        net.deliver()
    assert (err.value.call, err.value.rfc) == ("deliver", "§3.10.7")
    with pytest.raises(TcpError) as err:
        net.fire_timer("client")
    assert (err.value.call, err.value.state, err.value.rfc, err.value.endpoint) == (
        "fire_timer", S.CLOSED, "§3.8", "client")
    net.connect("client")
    with pytest.raises(ValueError, match="no 'nope' timer"):
        net.fire_timer("client", "nope")
    with pytest.raises(TypeError, match="close"):
        net.call("client", "close", True, False)
    with pytest.raises(ValueError, match=r"Network\(isn=\.\.\.\)"):
        Network(isn={"client": "7"})
    assert repr(Network()) == "<Network t=0s client=CLOSED, server=CLOSED, 0 in flight, 0 steps>"


def test_send_takes_bytes_like_data_and_replay_keeps_names_and_reads():
    net = Network(("a", "b"), isn={"a": 1, "b": 2})
    net.listen("b")
    net.connect("a")
    net.run()
    net.send("a", bytearray(b"xyz"))
    net.run()
    assert net.recv("b", 2) == b"xy"
    again = net.replay()
    assert again.names == ("a", "b") and bytes(again["b"].received) == b"z"


# ======================================= segments put on the wire: what they accept ======

def test_segment_flags_and_data_are_normalised_or_refused():
    from tcplab.segment import Flags, Segment
    seg = Segment(0x12, 1)
    assert type(seg.flags) is Flags and seg.flags == Flags.SYN | Flags.ACK and seg.syn
    with pytest.raises(TypeError, match="Segment flags"):
        Segment(0x20, 1)
    with pytest.raises(TypeError, match="Segment flags"):
        Segment(True, 1)
    for data in (bytearray(b"ab"), memoryview(b"ab"), "ab"):
        assert type(Segment(Flags.ACK, 1, data=data).data) is bytes
        assert Segment(Flags.ACK, 1, data=data).data == b"ab"
    with pytest.raises(TypeError, match=r"Segment.make\(seq=\.\.\.\)"):
        Segment.make("SYN", "5")
    with pytest.raises(TypeError, match=r"Segment.make\(seq=\.\.\.\)"):
        Segment.make("SYN", True)
    with pytest.raises(TypeError, match=r"Segment.make\(window=\.\.\.\)"):
        Segment.make("SYN", 1, window=1.0)


def test_network_refuses_bad_names_seeds_and_limits():
    for names in ({"a", "b"}, (1, 2), ("a", " ")):
        with pytest.raises(ValueError, match="two endpoints"):
            Network(names)
    for seed in (1.5, "x", True):
        with pytest.raises(TypeError, match="seed"):
            Network(seed=seed)
    assert Network(history_limit=1).history_limit == 1
    from tcplab.segment import Flags, Segment
    assert Segment(0, 1).flags == Flags.NONE


def test_timer_errors_and_busy_runs_with_until_or_settle():
    from tcplab.steps import TcpError
    net = Network()
    net.listen("server")
    with pytest.raises(TcpError) as err:
        net.next_timer()
    assert err.value.state is S.CLOSED               # the first endpoint's state
    with pytest.raises(TcpError, match="no timer is running") as err:
        net.fire_timer("client")
    assert err.value.message == "no timer is running"
    net.connect("client")
    with pytest.raises(RuntimeError, match="max_steps=1 "):
        net.run(max_steps=1, until=10.0)
    with pytest.raises(RuntimeError, match="max_steps=1 "):
        net.settle(max_steps=1)


def test_replaying_a_replay_gives_the_same_run():
    net = handshake()
    net.run()
    net.send("client", b"hi")
    net.wait(0.05)
    again = net.replay().replay()
    assert again.now == net.now and again.states() == net.states()
    assert [p.segment for p in again.in_flight] == [p.segment for p in net.in_flight]


def test_packet_ids_count_up_by_one_and_inject_records_when_it_was_sent():
    net = handshake()
    syn = net.in_flight[0]
    copy = net.packet(net.duplicate(syn.id).packets[0])
    assert copy.id == syn.id + 1
    net.clock.now = 0.05
    injected = net.packet(net.inject("server", syn.segment).packets[0])
    assert injected.id == copy.id + 1 and injected.sent_at == 0.05


def test_a_history_limit_trims_back_to_the_limit():
    net = handshake(history_limit=2)
    lengths = []
    for _ in range(6):
        net.step()
        lengths.append(len(net.history))
    assert max(lengths) == 4 and lengths[lengths.index(4) + 1] == 2
