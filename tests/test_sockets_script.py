"""The script language at the socket level (tcplab.script) and the socket-level scenarios.

The expected values are Linux's, worked out from the kernel's rules (and measured on 6.18 in a
network namespace where noted), not read off the model: ISNs are fixed to 100 (client) and
300 (server) for each host's first connection, the latency is 100 ms.
"""

from __future__ import annotations

import pytest

from tcplab import Config, Network, TcpState as S, scenarios
from tcplab.explain import diagnose
from tcplab.script import Command, parse_script, play_script, run_script, uses_sockets
from tcplab.sockets import SocketNetwork

RFC_ISN = {"client": 100, "server": 300}
SOCKET_SCENARIOS = ["accept-queue", "backlog-overflow", "econnrefused", "close-unread-rst",
                    "time-wait-eaddrinuse"]


def net_() -> SocketNetwork:
    return SocketNetwork(isn=RFC_ISN, config=Config.linux())


def play(script: str, net: SocketNetwork | None = None):
    net = net or net_()
    return net, play_script(net, script)


def results(outcomes) -> list[tuple[str, str, str]]:
    return [(o.command.actor, o.command.code(), o.result) for o in outcomes
            if o.command.kind == "socket"]


def sent(net, socket=None) -> list[tuple[float, str, str]]:
    return [(round(st.time, 3), st.socket, seg.rfc()) for st in net.history for seg in st.sent
            if socket is None or st.socket == socket]


# ------------------------------------------------------------------ the grammar ----------

def test_each_socket_line_is_the_python_call_it_stands_for():
    script = """
        server s = socket
        server setsockopt s SO_REUSEADDR 1
        server bind s 80
        server bind s 10.0.0.2:80 -> EINVAL
        server listen s
        server listen s 1
        client c = socket
        client connect c server:80
        client connect c 10.0.0.2:80 -> EALREADY
        server conn = accept s -> EAGAIN
        client send c GET / HTTP/1.0
        client recv c
        client recv c 10 -> EAGAIN
        client shutdown c SHUT_WR
        client setsockopt c SO_LINGER 1 0
        client getsockopt c SO_ERROR
        client getsockopt c SOL_SOCKET SO_REUSEADDR
        client close c
    """
    assert [c.code() for c in parse_script(script)] == [
        "s = socket(AF_INET, SOCK_STREAM)",
        "s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)",
        "s.bind(('', 80))",
        "s.bind(('10.0.0.2', 80))",
        "s.listen()",
        "s.listen(1)",
        "c = socket(AF_INET, SOCK_STREAM)",
        "c.connect(('server', 80))",
        "c.connect(('10.0.0.2', 80))",
        "conn, _ = s.accept()",
        "c.send(b'GET / HTTP/1.0')",
        "c.recv(65536)",
        "c.recv(10)",
        "c.shutdown(SHUT_WR)",
        "c.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0))",
        "c.getsockopt(SOL_SOCKET, SO_ERROR)",
        "c.getsockopt(SOL_SOCKET, SO_REUSEADDR)",
        "c.close()"]
    cmds = parse_script(script)
    assert cmds[3].expect == "EINVAL" and cmds[3].args == (("10.0.0.2", 80),)
    assert cmds[13].args == (1,) and cmds[14].args[2] == (1, 0)
    assert {c.kind for c in cmds} == {"socket"}


def test_a_script_is_socket_level_when_it_names_a_socket_or_looks_at_ss():
    assert uses_sockets("server s = socket")
    assert uses_sockets("ss")
    assert uses_sockets("server bind s 80")
    assert not uses_sockets(["server listen", "client connect", "settle"])
    assert [c.kind for c in parse_script("server listen\nclient connect")] == ["call", "call"]
    # the same words are socket calls on a socket-level script
    assert [c.kind for c in parse_script("server listen s", sockets=True, known=[("server", "s")])
            ] == ["socket"]


@pytest.mark.parametrize("line, message", [
    ("server socket", "socket returns a new socket: name it, e.g. 'server s = socket'"),
    ("server accept s", "accept returns a new socket: name it, e.g. 'server conn = accept s'"),
    ("server x = bind s 80", "only socket and accept return a socket to name"),
    ("server listen t 1", "server has no socket 't' (its sockets: s); make one first: "
                          "'server t = socket'"),
    ("client listen s 1", "client has no socket 's'; make one first: 'client s = socket'"),
    ("server listen s one", "listen's backlog is a whole number, not 'one'"),
    ("server shutdown s", "shutdown takes SHUT_RD, SHUT_WR or SHUT_RDWR"),
    ("server shutdown s SHUT_WRITE", "shutdown takes SHUT_RD, SHUT_WR or SHUT_RDWR"),
    ("server setsockopt s SO_LINGER 1", "setsockopt sets SO_REUSEADDR 0|1 or SO_LINGER ONOFF "
                                        "SECONDS"),
    ("server setsockopt s SO_REUSEADDR 2", "setsockopt sets SO_REUSEADDR 0|1"),
    ("server getsockopt s SO_LINGER", "getsockopt reads SO_ERROR or SO_REUSEADDR"),
    ("server bind s http", "bind's port is a whole number, not 'http'"),
    ("server connect s server", "connect takes HOST:PORT, e.g. 'server:80', not 'server'"),
    ("server abort", "after 'server' comes a socket call: socket, bind, listen, accept, "
                     "connect, send, recv, shutdown, close, setsockopt, getsockopt (abort with "
                     "sockets: 'setsockopt s SO_LINGER 1 0', then 'close s')"),
    ("server listen", "listen needs the socket it is made on, e.g. 'server listen s'"),
    ("server send s", "send needs the data to send, e.g. 'server send s hello'"),
    ("server recv s -> ", "'->' needs the result the call must give"),
    ("settle -> 0", "'-> RESULT' follows a socket call"),
    ("ss router", "ss takes a host (client, server) or none (every host), and -o"),
    ("until server ESTABLISHED", "until needs a host, a socket and a state, e.g. 'until "
                                 "client c ESTABLISHED'"),
    ("timer server", "timer needs a host and a socket"),
    ("server socket = socket", "'socket' cannot name a socket"),
])
def test_a_bad_line_is_one_error_naming_it_and_what_is_allowed(line, message):
    with pytest.raises(ValueError) as err:
        parse_script(f"server s = socket\n{line}")
    assert str(err.value).startswith(f"script line 2 {line.split('#')[0].strip()!r}: ")
    assert message in str(err.value)


def test_a_socket_call_on_a_bare_tcb_script_points_to_the_socket_level():
    with pytest.raises(ValueError, match=r"script line 1 'server listen s 1': listen takes no "
                       r"arguments"):
        parse_script("server listen s 1")
    with pytest.raises(ValueError, match="a socket-level script names its sockets"):
        parse_script("server close s # no socket made")
    with pytest.raises(ValueError, match=r"script line 1 'server s = socket': a socket-level "
                       r"line runs on hosts that hold sockets: tcplab.sockets.SocketNetwork"):
        run_script(Network(), "server s = socket")


# ------------------------------------------------------------------ running --------------

def test_results_are_shown_and_an_expected_errno_is_asserted():
    net, out = play("""
        server s = socket
        server bind s 80
        server listen s 5
        client c = socket
        client connect c server:80
        client send c early -> EAGAIN      # the handshake is not done yet
        settle
        server conn = accept s
        client send c GET /
        settle
        server recv conn 3
        server recv conn -> b" /"
        server recv conn -> EAGAIN
        client getsockopt c SO_ERROR -> 0
        client getsockopt c SO_REUSEADDR
    """)
    assert results(out) == [
        ("server", "s = socket(AF_INET, SOCK_STREAM)", "fd 3"),
        ("server", "s.bind(('', 80))", "0"),
        ("server", "s.listen(5)", "0"),
        ("client", "c = socket(AF_INET, SOCK_STREAM)", "fd 3"),
        ("client", "c.connect(('server', 80))", "EINPROGRESS"),
        ("client", "c.send(b'early')", "EAGAIN"),
        ("server", "conn, _ = s.accept()", "fd 4"),
        ("client", "c.send(b'GET /')", "5"),
        ("server", "conn.recv(3)", "b'GET'"),
        ("server", "conn.recv(65536)", "b' /'"),
        ("server", "conn.recv(65536)", "EAGAIN"),
        ("client", "c.getsockopt(SOL_SOCKET, SO_ERROR)", "0"),
        ("client", "c.getsockopt(SOL_SOCKET, SO_REUSEADDR)", "0")]
    eagain = out[5]
    assert eagain.error.startswith("[Errno 11] [EAGAIN] send()") and eagain.steps == ()
    assert [o.time for o in out if o.command.kind == "socket"][-1] == pytest.approx(0.5)
    # the accept() line's step is the socket call itself
    (step,) = out[7].steps
    assert (step.socket, step.socket_call, step.result) == \
        ("server:80-client:40000", "accept()", "fd 4")


def test_an_error_nobody_expected_stops_the_script_and_says_how_to_expect_it():
    with pytest.raises(ValueError) as err:
        play("server s = socket\nserver conn = accept s")
    assert str(err.value) == (
        "script line 2 'server conn = accept s': conn, _ = s.accept() failed with EINVAL: "
        "[Errno 22] [EINVAL] accept() on server fd 3 (server:*, CLOSED): the socket is not "
        "listening; call listen() first. If the scenario expects it, end the line with "
        "'-> EINVAL'")


def test_a_wrong_result_is_an_error_naming_both():
    with pytest.raises(ValueError, match=r"script line 3 'server listen s 1 -> EINVAL': "
                       r"s.listen\(1\) gave 0, not EINVAL$"):
        play("server s = socket\nserver bind s 80\nserver listen s 1 -> EINVAL")
    with pytest.raises(ValueError, match=r"s.bind\(\('', 80\)\) gave EINVAL, not 0 "
                       r"\(\[Errno 22\] \[EINVAL\] bind\(\) on server fd 3"):
        play("server s = socket\nserver bind s 80\nserver bind s 80 -> 0")


def test_a_closed_socket_gives_ebadf_even_when_its_number_is_used_again():
    # Python's socket object: EBADF for every call but close(), which does nothing
    net, out = play("""
        client c = socket
        client close c
        client d = socket
        client connect c server:80 -> EBADF
        client close c                     # as in Python: nothing happens
    """)
    assert results(out)[2:] == [("client", "d = socket(AF_INET, SOCK_STREAM)", "fd 3"),
                                ("client", "c.connect(('server', 80))", "EBADF"),
                                ("client", "c.close()", "0")]
    assert out[3].error == "[Errno 9] [EBADF] client's socket c is closed"
    assert out[4].steps == ()
    assert [s.fd for s in net.sockets("client")] == [3]       # d's descriptor is untouched


def test_names_stay_with_the_network_so_a_script_may_go_on_later():
    net = net_()
    run_script(net, "server s = socket\nserver bind s 80\nserver listen s 1")
    run_script(net, "client c = socket\nclient connect c server:80\nsettle")
    steps = run_script(net, "server conn = accept s")
    assert [st.result for st in steps] == ["fd 4"]
    with pytest.raises(ValueError, match="server has no socket 'c'"):
        run_script(net, "server recv c")           # c is the client's
    other = net_()                                 # another network knows none of them
    with pytest.raises(ValueError, match="server has no socket 's'"):
        run_script(other, "server listen s 1")


def test_until_and_timer_follow_a_socket_after_close():
    # the client closes first: after close() it has no descriptor, but its connection lives
    # on (FIN-WAIT-2, then TIME-WAIT for Linux's 60 s)
    net, out = play("""
        server s = socket
        server bind s 80
        server listen s 5
        client c = socket
        client connect c server:80
        settle
        server conn = accept s
        client close c
        until server conn CLOSE-WAIT
        server close conn
        until client c TIME-WAIT
        timer client c time-wait
        until client c CLOSED
    """)
    assert out[-2].steps[-1].timer == "time-wait"
    assert out[-2].steps[-1].socket == "client:40000-server:80"
    # entered TIME-WAIT when the server's FIN arrived (0.3 + 0.1 + 0.1), left 60 s later
    assert out[-2].steps[-1].time == pytest.approx(60.5)
    assert net.ss_rows("client") == []
    with pytest.raises(ValueError, match=r"client's socket c never reaches SYN-SENT \(it is "
                       r"CLOSED and the network is quiet\)"):
        run_script(net, "until client c SYN-SENT")


def test_wire_commands_pick_a_hosts_packet():
    net, out = play("""
        server s = socket
        server bind s 80
        server listen s 5
        client c = socket
        client connect c server:80
        drop client SYN
        run
    """)
    assert sent(net) == [
        (0.0, "client:40000-server:80", "<SEQ=100><CTL=SYN>"),
        (1.0, "client:40000-server:80", "<SEQ=100><CTL=SYN>"),             # RTO 1 s
        (1.1, "server:80-client:40000", "<SEQ=300><ACK=101><CTL=SYN,ACK>"),
        (1.2, "client:40000-server:80", "<SEQ=101><ACK=301><CTL=ACK>")]
    assert out[5].steps[0].wire == "drop"


def test_ss_lines_record_the_table_of_that_moment():
    net, out = play("""
        server s = socket
        server bind s 80
        server listen s 1
        client c = socket
        client connect c server:80
        ss client -o
        settle
        ss
    """)
    assert out[5].ss == (
        "State     Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
        "SYN-SENT  0      1      10.0.0.1:40000     10.0.0.2:80       timer:(on,1sec,0)")
    assert out[7].ss == (
        "client$ ss -tan\n"
        "State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
        "ESTAB  0      0      10.0.0.1:40000     10.0.0.2:80\n"
        "server$ ss -tan\n"
        "State   Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
        "LISTEN  1      1      0.0.0.0:80         0.0.0.0:*\n"
        "ESTAB   0      0      10.0.0.2:80        10.0.0.1:40000")
    assert out[5].steps == () and str(out[5]).startswith("   0.000  ss client -o\nState")


def test_a_played_script_replays_to_any_step():
    net, out = scenarios.get("backlog-overflow").play(isn=RFC_ISN)
    again = net.replay()
    assert [st.summary() for st in again.history] == [st.summary() for st in net.history]
    assert again.ss("server", timers=True) == net.ss("server", timers=True)
    # each 'ss' line saw what a replay up to that moment shows
    done = 0
    for o in out:
        done += len(o.steps)
        if o.command.kind == "ss" and o.command.actor:
            timers = o.command.args[0]
            assert net.replay(done).ss(o.command.actor, timers=timers) == o.ss, o.command.text


def test_rfc_level_scripts_run_as_before():
    net = Network(isn=RFC_ISN)
    out = play_script(net, "server listen\nclient connect\nsettle")
    assert [o.command.kind for o in out] == ["call", "call", "settle"]
    assert [o.result for o in out] == [None] * 3
    assert net.states() == {"client": S.ESTABLISHED, "server": S.ESTABLISHED}
    assert parse_script("client send hello")[0] == Command("client send hello", "call", 1,
                                                            "client", "send", b"hello")


# ------------------------------------------------------------------ the scenarios --------

def test_the_socket_scenarios_are_socket_level_and_documented():
    level = {n: sc.sockets for n, sc in scenarios.SCENARIOS.items()}
    assert [n for n, s in level.items() if s] == SOCKET_SCENARIOS
    for name in SOCKET_SCENARIOS:
        sc = scenarios.get(name)
        assert sc.linux and sc.rfc and len(sc.summary) > 200
        net = sc.network()
        assert isinstance(net, SocketNetwork) and net.config.time_wait == 60.0
        # the socket code is the script's own calls
        calls = [code for _, code in sc.socket_calls]
        assert calls[0].endswith("= socket(AF_INET, SOCK_STREAM)") and len(calls) >= 9


@pytest.mark.parametrize("name", SOCKET_SCENARIOS)
def test_every_socket_scenario_ends_as_it_expects(name):
    sc = scenarios.get(name)
    net = sc.run(isn=RFC_ISN)
    assert net.states() == sc.expect
    assert net.replay().states() == sc.expect


def test_accept_queue():
    net, out = scenarios.get("accept-queue").play(isn=RFC_ISN)
    # the listener never leaves LISTEN
    assert {st.after for st in net.history if st.socket == "server:80"} == {S.CLOSED, S.LISTEN}
    before = next(o for o in out if o.command.kind == "ss")
    assert before.ss == (
        "State   Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
        "LISTEN  2      5      0.0.0.0:80         0.0.0.0:*\n"
        "ESTAB   5      0      10.0.0.2:80        10.0.0.1:40000\n"
        "ESTAB   6      0      10.0.0.2:80        10.0.0.1:40001")
    assert results(out)[-5:] == [
        ("server", "conn1, _ = s.accept()", "fd 4"),
        ("server", "conn2, _ = s.accept()", "fd 5"),
        ("server", "conn3, _ = s.accept()", "EAGAIN"),
        ("server", "conn1.recv(65536)", "b'first'"),
        ("server", "conn2.recv(65536)", "b'second'")]
    accepted = [st.socket for st in net.history if st.socket_call == "accept()"]
    assert accepted == ["server:80-client:40000", "server:80-client:40001"]   # oldest first
    assert out[-1].ss.splitlines()[1] == "LISTEN  0      5      0.0.0.0:80         0.0.0.0:*"


def test_backlog_overflow_drops_as_linux_does():
    net, out = scenarios.get("backlog-overflow").play(isn=RFC_ISN)
    dropped = [(round(st.time, 3), st.socket, st.event, st.discard) for st in net.history
               if st.discard]
    assert dropped == [
        # c's final ACK: the queue holds a and b (backlog + 1); c stays a request sock
        (0.6, "server:80-client:40002", "rcv ACK (dropped)", "accept queue full"),
        # d's SYN, and its first retransmission: the queue is full again (b, c)
        (0.7, "server:80", "rcv SYN (dropped)", "accept queue full"),
        (1.7, "server:80", "rcv SYN (dropped)", "accept queue full")]
    first_ss = [o.ss for o in out if o.command.kind == "ss"][:2]
    assert first_ss == [
        "State     Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
        "LISTEN    2      1      0.0.0.0:80         0.0.0.0:*\n"
        "ESTAB     0      0      10.0.0.2:80        10.0.0.1:40000\n"
        "ESTAB     0      0      10.0.0.2:80        10.0.0.1:40001\n"
        "SYN-RECV  0      0      10.0.0.2:80        10.0.0.1:40002    timer:(on,800ms,0)",
        # the client believes all three are connected
        "State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
        "ESTAB  0      0      10.0.0.1:40000     10.0.0.2:80\n"
        "ESTAB  0      0      10.0.0.1:40001     10.0.0.2:80\n"
        "ESTAB  0      0      10.0.0.1:40002     10.0.0.2:80"]
    # c: the request sock sends its SYN,ACK again after 1 s; the client ACKs again, and the
    # ACK now fits (accept() made room at 0.7)
    c_server = [(t, seg) for t, sock, seg in sent(net) if sock == "server:80-client:40002"]
    assert [t for t, _ in c_server] == [0.4, 1.4]
    assert [st.after for st in net.history if st.socket == "server:80-client:40002"][-1] \
        is S.ESTABLISHED
    # d: SYNs at 0.6, 1.6, 2.6 (Linux's linear SYN timeouts); the third gets in
    assert [t for t, sock, seg in sent(net) if sock == "client:40003-server:80"
            and "SYN" in seg] == [0.6, 1.6, 2.6]
    assert results(out)[-4:] == [("server", f"conn_{x}, _ = s.accept()", f"fd {fd}")
                                 for x, fd in zip("abcd", (4, 5, 6, 7))][-4:]
    assert [st.socket for st in net.history if st.socket_call == "accept()"] == \
        [f"server:80-client:{p}" for p in range(40000, 40004)]


def test_econnrefused():
    net, out = scenarios.get("econnrefused").play(isn=RFC_ISN)
    assert sent(net)[:2] == [
        (0.0, "client:40000-server:8080", "<SEQ=100><CTL=SYN>"),
        # no socket on 8080: RFC 9293 §3.10.7.1, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        (0.1, "server:8080 (no socket)", "<SEQ=0><ACK=101><CTL=RST,ACK>")]
    assert results(out)[5:8] == [
        ("client", "c.getsockopt(SOL_SOCKET, SO_ERROR)", "111 (ECONNREFUSED)"),
        ("client", "c.send(b'hello')", "EPIPE"),       # the error was read: sk_stream_wait_connect
        ("client", "c.close()", "0")]
    ss = next(o for o in out if o.command.kind == "ss").ss
    assert ss == ("client$ ss -tan\n"
                  "State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
                  "server$ ss -tan\n"
                  "State   Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
                  "LISTEN  0      5      0.0.0.0:80         0.0.0.0:*")


def test_close_unread_rst():
    net, out = scenarios.get("close-unread-rst").play(isn=RFC_ISN)
    # the request (5 bytes) was never read: RST,ACK with SEQ = SND.NXT, ACK = RCV.NXT
    assert sent(net, "server:80-client:40000")[-1] == \
        (0.5, "server:80-client:40000", "<SEQ=301><ACK=106><CTL=RST,ACK>")
    assert not any(seg.fin for st in net.history for seg in st.sent)
    assert S.TIME_WAIT not in {st.after for st in net.history}
    assert results(out)[-3:] == [("client", "c.recv(65536)", "ECONNRESET"),
                                 ("client", "c.recv(65536)", "b''"),
                                 ("client", "c.send(b'more')", "EPIPE")]
    unread = next(o for o in out if o.command.kind == "ss").ss
    assert unread.splitlines()[-1] == \
        "ESTAB   5      0      10.0.0.2:80        10.0.0.1:40000"


def test_time_wait_eaddrinuse():
    net, out = scenarios.get("time-wait-eaddrinuse").play(isn=RFC_ISN)
    res = results(out)
    binds = [(round(o.time, 3), o.command.code(), o.result) for o in out
             if o.command.call == "bind"]
    # measured on Linux 6.18: bind() over a TIME-WAIT socket needs SO_REUSEADDR on both
    assert binds == [(0.0, "s.bind(('', 80))", "0"),
                     (0.7, "s2.bind(('', 80))", "EADDRINUSE"),
                     (0.7, "s2.bind(('', 80))", "EADDRINUSE"),
                     (60.6, "s2.bind(('', 80))", "0"),      # TIME-WAIT from 0.6 s, for 60 s
                     # the client's ACK of conn2's FIN arrives (61.1) before its own FIN
                     (61.3, "s3.bind(('', 80))", "0")]
    assert ("server", "s3.listen(5)", "0") == res[-1]
    tw = [o.ss for o in out if o.command.kind == "ss"]
    assert tw[0] == ("State      Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
                     "TIME-WAIT  0      0      10.0.0.2:80        10.0.0.1:40000    "
                     "timer:(timewait,59sec,0)")
    assert tw[-1] == ("State      Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
                      "LISTEN     0      5      0.0.0.0:80         0.0.0.0:*\n"
                      "TIME-WAIT  0      0      10.0.0.2:80        10.0.0.1:40001")
    assert "SO_REUSEADDR" in out[next(i for i, o in enumerate(out)
                                      if o.result == "EADDRINUSE")].error


@pytest.mark.parametrize("name, host, at, listener, findings", [
    ("backlog-overflow", "server", 20, "Recv-Q 2  Send-Q 1", ["full accept queue"]),
    ("accept-queue", "server", None, "Recv-Q 0  Send-Q 5", []),
    ("time-wait-eaddrinuse", "server", None, "Recv-Q 0  Send-Q 5", []),
])
def test_explain_reads_the_models_own_ss(name, host, at, listener, findings):
    net = scenarios.get(name).run(isn=RFC_ISN)
    view = net.replay(at) if at is not None else net
    for timers in (False, True):
        report = diagnose(view.ss(host, timers=timers))
        rows = view.ss_rows(host)
        assert [n.row.state for n in report.notes] == [r.state for r in rows]
        assert [n.row.local for n in report.notes] == [r.local for r in rows]
        listen = next(n for n in report.notes if n.row.state is S.LISTEN)
        assert listen.row.rx_queue == rows[0].rx_queue and listen.row.tx_queue == rows[0].tx_queue
        assert [f.symptom for f in report.findings] == findings
        text = str(report)
        assert listener in text and "accept queue" in text
        if timers:
            assert [n.row.timer for n in report.notes] == [r.timer for r in rows]
