"""The wire: latency, deliver/drop/duplicate/delay, timers in time order, history and replay."""

import subprocess
import sys

import pytest

from tcplab import Config, Network, Segment, TcpError, TcpState as S, scenarios


from tcplab.render import trace

ISN = {"client": 100, "server": 300}


def established():
    net = Network(isn=ISN)
    net.listen("server")
    net.connect("client")
    net.settle()
    return net


def test_latency_sets_arrival_times():
    net = Network(isn=ISN, latency=0.25)
    net.listen("server")
    step = net.connect("client")
    (pkt,) = net.in_flight
    assert pkt.id in step.packets and pkt.sent_at == 0 and pkt.arrive_at == 0.25
    d = net.deliver()
    assert d.time == 0.25 and d.packet == pkt.id and d.after is S.SYN_RECEIVED


def test_manual_delivery_can_make_fins_cross():
    net = established()
    net.close("client")
    net.close("server")
    c_fin, s_fin = net.find("client", "FIN,ACK"), net.find("server", "FIN,ACK")
    assert net.deliver(s_fin.id).after is S.CLOSING     # client: FIN-WAIT-1 -> CLOSING
    assert net.deliver(c_fin.id).after is S.CLOSING     # server too
    net.settle()
    assert net.states() == {"client": S.TIME_WAIT, "server": S.TIME_WAIT}


def test_drop_is_recorded_and_retransmission_repairs_it():
    net = established()
    net.send("client", "data")
    pkt = net.find("client", "DATA")
    step = net.drop(pkt.id)
    assert step.actor == "wire" and step.packet == pkt.id and pkt in net.lost
    net.settle()
    assert net["server"].recv() == b""
    net.run(until=5)
    assert net["server"].recv() == b"data"


def test_duplicate_is_delivered_once_to_the_application():
    net = established()
    net.send("client", "once")
    pkt = net.find("client", "DATA")
    net.duplicate(pkt.id, extra_delay=0.05)
    assert sum(p.copy_of == pkt.id for p in net.in_flight) == 1
    net.settle()
    assert net["server"].recv() == b"once"


def test_delay_reorders_and_out_of_order_data_is_held():
    net = established()
    net.send("client", "first")
    net.send("client", "second")
    first = net.find("client", "DATA")
    net.delay(first.id, 0.5)
    net.settle()
    assert net["server"].recv() == b"firstsecond"
    held = [st for st in net.history if "Hold it" in st.explanation]
    assert held, "the second segment should have been held until the first arrived"


def test_timers_fire_in_time_order_with_deliveries():
    net = Network(isn=ISN)
    net.listen("server")
    net.connect("client")
    net.drop(net.find("client", "SYN").id)
    ev = net.next_event()
    assert ev[1] == "timer" and ev[0] == 1.0
    net.run()
    times = [st.time for st in net.history]
    assert times == sorted(times)


def test_replay_reproduces_every_prefix():
    net = scenarios.get("lost-final-ack").run()
    for n in range(len(net.history) + 1):
        r = net.replay(n)
        assert len(r.history) == n
        if n:
            assert r.history[-1] == net.history[n - 1]
            assert dict(r.history[-1].states) == dict(net.history[n - 1].states)


def test_rewind_is_undo():
    net = established()
    before = (net.states(), len(net.history), net.now)
    net.close("client")
    net.rewind(len(net.history) - 1)
    assert (net.states(), len(net.history), net.now) == before
    assert not net.in_flight


def test_bad_wire_requests_are_clear():
    net = established()
    with pytest.raises(KeyError, match="no packet #99 in flight"):
        net.drop(99)
    with pytest.raises(TcpError, match="nothing is in flight"):
        net.deliver()
    with pytest.raises(KeyError, match="no endpoint 'bob'"):
        net.close("bob")
    with pytest.raises(ValueError, match="two endpoints"):
        Network(("a", "a"))
    with pytest.raises(ValueError, match="latency"):
        Network(latency=-1)
    with pytest.raises(TcpError, match="no timer is running"):
        net.fire_timer("client")


def test_refused_call_through_the_network_changes_nothing():
    net = established()
    before = (net.states(), len(net.history), list(net.in_flight), net["client"].tcb())
    with pytest.raises(TcpError, match="connection already exists"):
        net.connect("client")
    assert (net.states(), len(net.history), list(net.in_flight), net["client"].tcb()) == before


def test_seeded_runs_are_reproducible_and_seeds_differ():
    a = scenarios.get("handshake").run(seed=1)
    b = scenarios.get("handshake").run(seed=1)
    c = scenarios.get("handshake").run(seed=2)
    assert a.history == b.history
    assert a["client"].iss != c["client"].iss


def test_trace_matches_rfc_figure_6_shape():
    text = trace(scenarios.get("handshake").run(isn=ISN), times=False)
    lines = text.splitlines()
    assert lines[0].split() == ["TCP", "client", "TCP", "server"]
    assert "SYN-SENT     --> <SEQ=100><CTL=SYN>" in text and text.count("-->") >= 4
    assert "ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED" in text
    assert "ESTABLISHED  --> <SEQ=101><ACK=301><CTL=ACK>     --> ESTABLISHED" in text


def test_trace_shows_crossing_segments_with_dots():
    text = trace(scenarios.get("simultaneous-close").run(isn=ISN), times=False)
    assert "FIN-WAIT-1   --> <SEQ=101><ACK=301><CTL=FIN,ACK> ..." in text
    assert "... <SEQ=101><ACK=301><CTL=FIN,ACK> --> CLOSING" in text
    tcpdump = trace(scenarios.get("handshake").run(isn=ISN), style="tcpdump")
    assert "[S.] seq 300 ack 101" in tcpdump


def cli(*args):
    return subprocess.run([sys.executable, "-m", "tcplab", *args], capture_output=True,
                          text=True, timeout=60)


def test_cli_lists_and_runs_scenarios():
    out = cli("scenarios")
    assert out.returncode == 0
    for name in scenarios.names():
        assert name in out.stdout
    out = cli("run", "simultaneous-open", "--rfc-isn", "--no-times")
    assert out.returncode == 0
    assert "<SEQ=100><ACK=301><CTL=SYN,ACK>" in out.stdout
    assert "Final states: client ESTABLISHED, server ESTABLISHED" in out.stdout


def test_cli_unknown_scenario_is_a_clear_error():
    out = cli("run", "nope")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "no scenario 'nope'" in out.stderr and "handshake" in out.stderr


def test_import_tcplab_stays_light():
    code = ("import sys, tcplab; heavy = [m for m in ('graphviz', 'matplotlib', 'ipywidgets', "
            "'IPython') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_next_timer_fires_the_earliest_timer_of_either_side():
    net = scenarios.get("lost-final-ack").run(upto=6)   # server in LAST-ACK, FIN in flight
    net.drop(net.find("server", "FIN,ACK").id)
    step = net.next_timer()
    assert step.actor == "server" and step.event == "retransmission timeout"
    assert step.time == pytest.approx(net.history[-2].time + 1.0)
    net.settle()
    with pytest.raises(TcpError, match="no timer"):
        Network().next_timer()


def test_inject_an_old_duplicate_syn_like_rfc_figure_8():
    # RFC 9293 figure 8: an old SYN (SEQ=90) reaches the listener first; the client, whose
    # SYN is SEQ=100, sees an ACK of 91 and answers RST; the listener returns to LISTEN.
    from tcplab import Segment
    net = Network(isn=ISN)
    net.listen("server")
    net.connect("client")
    net.delay(net.find("client", "SYN").id, 0.5)
    inj = net.inject("server", Segment.make("SYN", 90))
    assert inj.actor == "wire" and inj.packets
    assert net.deliver(inj.packets[0]).after is S.SYN_RECEIVED
    synack = net.find("server", "SYN,ACK")
    assert synack.segment.ack == 91
    rst = net.deliver(synack.id).sent[0]
    assert rst.rst and rst.seq == 91                     # <SEQ=91><CTL=RST>
    assert net.deliver(net.find("client", "RST").id).after is S.LISTEN
    net.settle()
    assert net.states() == {"client": S.ESTABLISHED, "server": S.ESTABLISHED}
    assert len(net.replay().history) == len(net.history)
    with pytest.raises(TypeError, match="Segment.make"):
        net.inject("server", "SYN")


# ---------------------------------------------------------------- full windows, replay ----

def test_a_full_window_of_data_and_both_closes_lose_no_byte():
    """The core-under-load issue's input: 100,000 bytes (more than the 65,535-byte window),
    both ends close while data is still queued.  Every byte arrives, then both FINs
    (RFC 9293 §3.10.4: the FIN only after the data), and both ends end CLOSED."""
    net = Network(); net.listen("server"); net.connect("client"); net.run()
    # the RFC's CLOSE on both ends (the sockets API's shutdown(SHUT_WR)): both still receive
    net.send("client", b"x" * 100_000); net.shutdown("client"); net.shutdown("server")
    net.run()
    assert len(net["server"].received) == 100_000
    assert net.states() == {"client": S.CLOSED, "server": S.CLOSED} and net.quiet()
    fins = [p for p, _ in net.delivered if p.segment.fin and p.src == "client"]
    last_data = max(t for p, t in net.delivered if p.src == "client" and p.segment.data)
    assert fins and all(t >= last_data for p, t in net.delivered if p in fins)


def test_a_zero_window_is_probed_and_reopened_by_reading():
    """The receiver's application does not read: its 1,000-byte buffer fills, the window
    closes to zero and the sender probes it on the persist timer (§3.8.6.1, Linux's
    SND.UNA-1 probe), without giving up.  Reading opens the window with a window update
    (§3.8.6.2.2) and the rest flows."""
    cfg = Config(rcvbuf=1000, mss=100)
    net = Network(config=cfg, isn={"client": 100, "server": 300})
    net.listen("server"); net.connect("client"); net.run()
    net.send("client", b"y" * 2500)
    net.run(until=60)
    assert len(net["server"].received) == 1000 and net["server"].rcv_wnd == 0
    probes = [s for s in net.history if s.timer == "persist"]
    assert len(probes) >= 4 and all(s.sent[0].seq == net["client"].snd_una - 1 and
                                    not s.sent[0].data for s in probes)
    gaps = [b.time - a.time for a, b in zip(probes, probes[1:])]
    assert gaps == sorted(gaps) and gaps[0] >= 1.0            # backed off, from the RTO
    assert net.state("client") is S.ESTABLISHED                # answered: never gives up
    assert net.recv("server") == b"y" * 1000
    update = net.history[-1]
    assert update.call == "recv" and update.sent[0].window == 1000   # the window update
    while net["server"].received or not net.quiet():
        net.run(max_steps=50, stop=lambda n: n["server"].rcv_wnd == 0)
        net.recv("server")
        if net.quiet():
            break
    assert net["client"].snd_una == 100 + 1 + 2500 and not net["client"].send_buffer


def test_data_beyond_the_window_is_trimmed_not_delivered():
    net = Network(config=Config(rcvbuf=10), isn={"client": 100, "server": 300})
    net.listen("server"); net.connect("client"); net.run()
    net.inject("server", Segment.make("ACK", 101, 301, data=b"0123456789abcdef"))
    step = net.step()
    assert bytes(net["server"].received) == b"0123456789" and net["server"].rcv_nxt == 111
    assert "trimmed" in step.explanation


def test_replay_and_rewind_keep_waits_and_reads():
    """A run is a pure function of its actions: wait() and recv() are part of it."""
    from tcplab import scenarios
    net = scenarios.get("close-wait-leak").run()
    assert net.now == 3600.5 and net.replay().now == 3600.5
    net2 = Network(); net2.listen("server"); net2.connect("client"); net2.run()
    net2.send("client", "hello"); net2.run()
    assert net2["server"].recv() == b"hello"          # through the endpoint: recorded too
    copy = net2.replay()
    assert copy["server"].received == b"" and copy.history[-1].read == b"hello"
    n = len(net2.history)
    net2.wait(100)
    net2.close("client")
    net2.rewind(n)                                     # Undo the close: the wait stays
    assert net2.now == net2.history[n - 1].time + 100 and net2.state("client") is S.ESTABLISHED


def test_run_says_honestly_when_it_is_still_busy():
    net = Network(); net.listen("server"); net.connect("client"); net.run()
    net.send("client", b"z" * 200_000)
    with pytest.raises(RuntimeError, match=r"still busy: \d+ segments \(\d+ bytes of data\) "
                                           r"in flight.*max_steps=100"):
        net.run(max_steps=10)
    for _ in range(100):                               # and it goes on from there
        net.run(stop=lambda n: n["server"].rcv_wnd == 0)
        net.recv("server")
        if net.quiet():
            break
    assert net["client"].snd_una == net["client"].snd_nxt and not net["client"].send_buffer
