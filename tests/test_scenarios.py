"""Each named scenario tells the story the RFC tells: checked state by state, segment by segment."""

import pytest

from tcplab import Config, TcpState as S, scenarios
from tcplab.network import WIRE

RFC_ISN = {"client": 100, "server": 300}


def path(net, name):
    """The sequence of distinct states an endpoint went through (starting at CLOSED)."""
    states = [S.CLOSED]
    for st in net.history:
        if st.actor == name and st.after is not states[-1]:
            states.append(st.after)
    return states


def segments(net, src=None):
    """(src, flags-label, seq, ack) of every packet sent, in sending order."""
    out = []
    for st in net.history:
        if st.actor in (WIRE,) or (src and st.actor != src):
            continue
        for seg in st.sent:
            out.append((st.actor, seg.flags.rfc(), seg.seq, seg.ack))
    return out


def run(name, **kw):
    return scenarios.get(name).run(isn=RFC_ISN, **kw)


# Expected state paths, written from RFC 9293 figures 6, 7, 12, 13 and §3.10 -- not from the code.
EXPECTED_PATHS = {
    "handshake": ([S.CLOSED, S.SYN_SENT, S.ESTABLISHED],
                  [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED]),
    "teardown-client-first": (
        [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT, S.CLOSED],
        [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]),
    "teardown-server-first": (
        [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED],
        [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2,
         S.TIME_WAIT, S.CLOSED]),
    "half-close": (
        [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT, S.CLOSED],
        [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]),
    "simultaneous-open": ([S.CLOSED, S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED],) * 2,
    "simultaneous-close": (
        [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.CLOSING, S.TIME_WAIT, S.CLOSED],
        [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.CLOSING,
         S.TIME_WAIT, S.CLOSED]),
    "fin-wait-1-fin-ack": (
        [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.TIME_WAIT, S.CLOSED],
        [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]),
    "lost-final-ack": (
        [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT, S.CLOSED],
        [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]),
    "connection-refused": ([S.CLOSED, S.SYN_SENT, S.CLOSED], [S.CLOSED]),
    "abort": ([S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.CLOSED],
              [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSED]),
    "syn-lost": ([S.CLOSED, S.SYN_SENT, S.ESTABLISHED],
                 [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED]),
    "close-wait-leak": ([S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2],
                        [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT]),
    "old-duplicate": (
        [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT, S.CLOSED],
        [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]),
}


def test_every_scenario_has_an_expected_path():
    # the socket-level stories are checked call by call in tests/test_sockets_script.py
    assert set(EXPECTED_PATHS) == {n for n in scenarios.names() if not scenarios.get(n).sockets}


@pytest.mark.parametrize("name", sorted(EXPECTED_PATHS))
def test_state_paths_follow_the_rfc(name):
    net = run(name)
    client, server = EXPECTED_PATHS[name]
    assert path(net, "client") == client
    assert path(net, "server") == server
    sc = scenarios.get(name)
    assert net.states() == {**net.states(), **sc.expect}


@pytest.mark.parametrize("name", scenarios.names())
def test_scenarios_are_documented(name):
    sc = scenarios.get(name)
    assert sc.title and len(sc.summary) > 40 and sc.rfc.startswith("RFC")
    calls = " ".join(code for _, code in sc.socket_calls)
    assert any(word in calls for word in ("connect", "listen", "close", "send", "shutdown"))
    assert {side for side, _ in sc.socket_calls} <= {"client", "server"}


def test_handshake_segments_are_figure_6():
    assert segments(run("handshake")) == [
        ("client", "SYN", 100, 0), ("server", "SYN,ACK", 300, 101), ("client", "ACK", 101, 301)]


def test_handshake_with_random_isns_acks_isn_plus_one():
    net = scenarios.get("handshake").run(seed=7)
    (_, _, c_iss, _), (_, _, s_iss, s_ack), (_, _, _, c_ack) = segments(net)
    assert s_ack == (c_iss + 1) % 2**32 and c_ack == (s_iss + 1) % 2**32
    assert c_iss != 100 and net["client"].iss == c_iss


def test_simultaneous_open_is_figure_7():
    # two SYNs cross, then two SYN,ACKs cross; no third ACK is needed
    assert sorted(segments(run("simultaneous-open"))) == sorted([
        ("client", "SYN", 100, 0), ("server", "SYN", 300, 0),
        ("server", "SYN,ACK", 300, 101), ("client", "SYN,ACK", 100, 301)])


def test_simultaneous_close_is_figure_13():
    segs = segments(run("simultaneous-close"))[3:]
    assert sorted(segs) == sorted([
        ("client", "FIN,ACK", 101, 301), ("server", "FIN,ACK", 301, 101),
        ("client", "ACK", 102, 302), ("server", "ACK", 302, 102)])


def test_fin_wait_1_to_time_wait_uses_note_2_edge():
    net = run("fin-wait-1-fin-ack")
    keys = [t.key for st in net.history for t in st.transitions if st.actor == "client"]
    assert "fin-wait-1-rcv-fin-ack" in keys and "fin-wait-1-rcv-ack" not in keys


def test_lost_final_ack_retransmits_fin_and_restarts_time_wait():
    net = run("lost-final-ack")
    retx = [st for st in net.history if st.kind == "timer" and st.actor == "server"
            and st.event == "retransmission timeout"]
    assert len(retx) == 1 and retx[0].sent[0].fin
    rcv = [st for st in net.history if st.actor == "client" and st.transition
           and st.transition.key == "time-wait-rcv-fin"]
    assert len(rcv) == 1
    # TIME-WAIT ends 2*MSL after the *second* FIN, not the first
    end = [st for st in net.history if st.actor == "client" and st.after is S.CLOSED][-1]
    assert end.time == pytest.approx(rcv[0].time + 240.0)


def test_old_duplicate_is_not_delivered_to_the_application():
    net = run("old-duplicate")
    delivered = b"".join(st.delivered for st in net.history if st.actor == "client")
    assert delivered == b"balance=100"  # once, although the segment arrived twice
    dup = [st for st in net.history if st.actor == "client" and st.kind == "segment"
           and st.before is S.TIME_WAIT and st.received.data]
    assert len(dup) == 1 and dup[0].sent[0].flags.rfc() == "ACK"


def test_old_duplicate_with_rfc1337_keeps_time_wait():
    net = scenarios.get("old-duplicate").run(isn=RFC_ISN, config=Config(rfc1337=True))
    end = [st for st in net.history if st.actor == "client" and st.after is S.CLOSED][-1]
    assert end.kind == "timer"  # TIME-WAIT ran its full 2*MSL; the RST was ignored


def test_refused_and_abort_report_errors():
    net = run("connection-refused")
    assert net["client"].reason == "connection refused"
    rst = [s for st in net.history if st.actor == "server" for s in st.sent]
    assert rst[0].flags.rfc() == "RST,ACK" and rst[0].seq == 0 and rst[0].ack == 101
    net = run("abort")
    assert net["server"].reason == "connection reset"


def test_syn_lost_is_retransmitted_after_rto():
    net = run("syn-lost")
    retx = [st for st in net.history if st.kind == "timer"]
    assert len(retx) == 1 and retx[0].time == pytest.approx(1.0)
    assert retx[0].sent[0].flags.rfc() == "SYN" and retx[0].sent[0].seq == 100


def test_close_wait_leak_lasts_and_linux_orphan_times_out():
    net = run("close-wait-leak")
    assert net.now >= 3600 and net.states() == {"client": S.FIN_WAIT_2, "server": S.CLOSE_WAIT}
    net = scenarios.get("close-wait-leak").run(isn=RFC_ISN, config=Config.linux())
    assert net.state("client") is S.CLOSED and net.state("server") is S.CLOSE_WAIT
    # the server finally closes: its FIN meets a socket that no longer exists -> RST
    net.close("server")
    net.settle()
    last = net.history[-1]
    assert last.actor == "server" and last.received.rst
    assert last.transition.key == "last-ack-rcv-rst"  # no user signal: it already closed


def test_unknown_scenario_and_bad_script_lines_are_clear():
    with pytest.raises(ValueError, match="no scenario 'nope'.*handshake"):
        scenarios.get("nope")
    net = scenarios.get("handshake").network()
    with pytest.raises(ValueError, match="script line 1 'client fly'"):
        scenarios.run_script(net, ["client fly"])
    with pytest.raises(ValueError, match="no packet in flight"):
        scenarios.run_script(net, ["drop client SYN"])
    with pytest.raises(ValueError, match="unknown command"):
        scenarios.run_script(net, ["teleport"])


def test_linux_fin_wait_2_timeout_only_for_orphans():
    """Linux times out FIN-WAIT-2 only after close(); after shutdown(SHUT_WR) the socket is
    still the application's and waits for the peer's FIN (tcp(7): tcp_fin_timeout)."""
    linux = Config.linux()
    net = scenarios.get("half-close").run(isn=RFC_ISN, config=linux, upto=5)
    net.wait(600)
    assert net.state("client") is S.FIN_WAIT_2         # shutdown: no timeout
    net = scenarios.get("close-wait-leak").run(isn=RFC_ISN, config=linux)
    gone = [st for st in net.history if st.transition and st.transition.key == "fin-wait-2-timeout"]
    assert len(gone) == 1 and net.state("client") is S.CLOSED   # close(): orphan times out


def test_invalid_acks_are_rate_limited_so_desynchronised_ends_fall_silent():
    """Two ends that disagree on sequence numbers must not ACK each other forever
    (RFC 5961 §7; Linux tcp_invalid_ratelimit)."""
    from tcplab import Network
    net = Network(isn=RFC_ISN)
    net.listen("server"); net.connect("client"); net.settle()
    # desynchronise them, as when a 4-tuple is reused too early: the server now expects
    # sequence numbers far beyond anything the client will send
    net["server"].rcv_nxt = (net["server"].rcv_nxt + 100_000) % 2**32
    net.send("client", "x")
    net.run(max_steps=500)                     # raises if the ACK ping-pong never stopped
    assert not net.in_flight
    acks = [st for st in net.history if st.kind == "segment" and st.sent]
    silent = [st for st in net.history if "rate limit" in st.explanation]
    assert silent, "an ACK should have been suppressed"
    assert len(acks) < 40


def test_one_script_language_for_model_and_kernel():
    """The model and the live lab share one parser: same commands, same clear errors."""
    from tcplab import Network
    from tcplab.live import runner
    for bad, msg in [(["wait"], "wait needs a number"), (["client close now"], "takes no arguments"),
                     (["wait soon"], "number of seconds"), (["until client NOWHERE"], "unknown TCP state"),
                     (["drop mallory SYN"], "no side 'mallory'")]:
        with pytest.raises(ValueError, match=msg):
            scenarios.run_script(Network(), bad)
        with pytest.raises(ValueError, match=msg):
            runner.parse_script(bad)
    # until and recv work on the model too
    net = Network(isn=RFC_ISN)
    scenarios.run_script(net, ["server listen", "client connect", "until server ESTABLISHED",
                               "client send hi", "settle", "server recv"])
    assert net.state("server") is S.ESTABLISHED and net["server"].received == bytearray()
    with pytest.raises(ValueError, match="never reaches"):
        scenarios.run_script(Network(), ["client connect", "until client ESTABLISHED"])
