"""Hosts that hold sockets (tcplab.sockets), checked against RFC 9293 and Linux.

The values are the RFC's and the kernel's: the RST a close() with unread data sends
(§3.6.1 SHLD-2, Linux tcp_close), the listener that stays in LISTEN with its SYN and
accept queues (Linux inet_csk_*), the errno results of the calls (tcp(7), af_inet.c),
the SYN,ACK and SYN retry schedules of Config.linux() (tcp_synack_retries = 5,
tcp_syn_retries = 6 with tcp_syn_linear_timeouts = 4).
"""

from __future__ import annotations

import errno

import pytest

from tcplab import Config, Segment, SocketNetwork, TcpState
from tcplab.procnet import parse_ss_line
from tcplab.sockets import SHUT_RD, SHUT_WR, SO_ERROR, SO_LINGER, SO_REUSEADDR, SOL_SOCKET

S = TcpState


def server(backlog: int = 5, **kw):
    net = SocketNetwork(isn={"client": 100, "server": 300}, config=Config.linux(), **kw)
    ls = net.socket("server")
    ls.bind(80)
    ls.listen(backlog)
    return net, ls


def connected(**kw):
    net, ls = server(**kw)
    c = net.socket("client")
    c.connect(("server", 80))
    net.settle()
    conn = ls.accept()
    return net, ls, c, conn


def rows(net, host):
    return [(r.state, r.rx_queue, r.tx_queue, r.local, r.remote) for r in net.ss_rows(host)]


def raises(code, call, *args):
    with pytest.raises(OSError) as info:
        call(*args)
    assert info.value.errno == code, (errno.errorcode[info.value.errno], str(info.value))
    return info.value


# ------------------------------------------------------------------ the listener ----------

def test_the_listener_stays_in_listen_and_each_syn_makes_a_request_sock():
    net, ls = server()
    c1, c2 = net.socket("client"), net.socket("client")
    c1.connect(("server", 80))
    c2.connect(("server", 80))
    net.run(until=0.15)                      # the SYNs have arrived, the ACKs not yet
    assert ls.state is S.LISTEN
    assert rows(net, "server") == [
        (S.LISTEN, 0, 5, ("0.0.0.0", 80), ("0.0.0.0", 0)),
        (S.SYN_RECEIVED, 0, 0, ("10.0.0.2", 80), ("10.0.0.1", 40000)),
        (S.SYN_RECEIVED, 0, 0, ("10.0.0.2", 80), ("10.0.0.1", 40001))]
    assert [r.kind for r in net.ss_rows("server")] == ["full", "request", "request"]
    net.settle()
    # both handshakes done: two connections wait in the accept queue (Recv-Q 2)
    assert rows(net, "server")[0] == (S.LISTEN, 2, 5, ("0.0.0.0", 80), ("0.0.0.0", 0))
    a, b = ls.accept(), ls.accept()
    assert (a.fd, b.fd) == (4, 5)
    assert (a.getpeername(), b.getpeername()) == (("10.0.0.1", 40000), ("10.0.0.1", 40001))
    assert rows(net, "server")[0][1] == 0 and ls.state is S.LISTEN
    raises(errno.EAGAIN, ls.accept)


def test_the_first_connection_uses_the_fixed_isn_and_the_handshake_is_rfc_9293s():
    net, ls, c, conn = connected()
    sent = [(s.actor, s.socket, [x.rfc() for x in s.sent]) for s in net.history if s.sent]
    assert sent == [
        ("client", "client:40000-server:80", ["<SEQ=100><CTL=SYN>"]),
        ("server", "server:80-client:40000", ["<SEQ=300><ACK=101><CTL=SYN,ACK>"]),
        ("client", "client:40000-server:80", ["<SEQ=101><ACK=301><CTL=ACK>"])]
    assert net.history[-1].result == "fd 4"


def test_ss_text_is_what_ss_prints_and_reads_back():
    net, ls, c, conn = connected()
    c.send(b"hello")
    net.settle()
    text = net.ss("server")
    lines = text.splitlines()
    assert lines[0].split() == ["State", "Recv-Q", "Send-Q", "Local", "Address:Port", "Peer",
                                "Address:Port"]
    back = [parse_ss_line(line) for line in lines[1:]]
    assert [(r.state, r.rx_queue, r.tx_queue, r.local, r.remote[0]) for r in back] == [
        (S.LISTEN, 0, 5, ("0.0.0.0", 80), "0.0.0.0"),
        (S.ESTABLISHED, 5, 0, ("10.0.0.2", 80), "10.0.0.1")]
    c.send(b"more")                         # in flight: 4 bytes unacknowledged
    assert net.ss_rows("client")[0].tx_queue == 4
    timer = net.ss("client", timers=True).splitlines()[1]
    assert timer.endswith("timer:(on," + timer.split("timer:(on,")[1])
    assert parse_ss_line(timer).timer == 1     # retransmission ("on")


# ------------------------------------------------------------------ backlog ----------------

def test_syn_queue_and_accept_queue_limits_without_syncookies():
    net, ls = server(backlog=1, syncookies=0)
    clients = [net.socket("client") for _ in range(3)]
    for c in clients:
        c.connect(("server", 80))
    net.settle()
    # backlog 1: the SYN queue is full above 1 request sock (Linux's
    # inet_csk_reqsk_queue_is_full), and without syncookies the third SYN is dropped
    assert [s.discard for s in net.history if s.discard] == ["SYN queue full"]
    # the two handshakes completed: the accept queue holds backlog + 1 = 2
    assert rows(net, "server")[0][:3] == (S.LISTEN, 2, 1)
    assert [c.state for c in clients] == [S.ESTABLISHED, S.ESTABLISHED, S.SYN_SENT]
    net.run(until=1.5)                       # the third SYN again after 1 s: queue full
    assert [s.discard for s in net.history if s.discard] == ["SYN queue full",
                                                              "accept queue full"]
    assert clients[2].state is S.SYN_SENT
    ls.accept()
    net.run(until=2.5)                       # and again at 2 s: now there is room
    assert clients[2].state is S.ESTABLISHED
    assert rows(net, "server")[0][:2] == (S.LISTEN, 2)


def test_with_syncookies_an_overflowing_syn_gets_a_cookie_and_no_request_sock():
    net, ls = server(backlog=1)
    clients = [net.socket("client") for _ in range(3)]
    for c in clients:
        c.connect(("server", 80))
    net.run(until=0.15)
    # two request socks; the third SYN was answered with a cookie: nothing kept
    assert [r.state for r in net.ss_rows("server")] == [S.LISTEN, S.SYN_RECEIVED,
                                                         S.SYN_RECEIVED]
    assert "SYN cookie" in net.history[-1].explanation
    net.settle()
    # the cookie's ACK finds the accept queue full (2 = backlog + 1): dropped
    assert [s.discard for s in net.history if s.discard] == ["accept queue full"]
    assert clients[2].state is S.ESTABLISHED
    assert [r.state for r in net.ss_rows("server")] == [S.LISTEN, S.ESTABLISHED,
                                                         S.ESTABLISHED]


def test_a_final_ack_dropped_on_overflow_leaves_a_request_sock_that_resends_its_synack():
    # as measured on Linux 6.18: client ESTAB while the server shows SYN-RECV
    net, ls = server(backlog=1)
    a, b, c = (net.socket("client") for _ in range(3))
    a.connect(("server", 80))
    net.settle()                             # a waits in the accept queue
    b.connect(("server", 80))
    c.connect(("server", 80))
    net.settle()
    assert [s.discard for s in net.history if s.discard] == ["accept queue full"]
    assert c.state is S.ESTABLISHED          # the client believes it is connected
    assert [(r.state, r.remote[1]) for r in net.ss_rows("server")] == [
        (S.LISTEN, 0), (S.ESTABLISHED, 40000), (S.ESTABLISHED, 40001),
        (S.SYN_RECEIVED, 40002)]
    synack = [r for r in net.ss_rows("server") if r.state is S.SYN_RECEIVED][0]
    assert synack.timer == 1 and synack.kind == "request"
    c.send(b"hi")                            # data from the client is dropped too
    net.settle()
    assert [s.discard for s in net.history if s.discard] == ["accept queue full"] * 2
    net.run(until=1.5)            # the SYN,ACK again at 1.4 s: the ACK is dropped again
    synacks = [round(s.time, 3) for s in net.history if s.sent and s.sent[0].syn and
               s.sent[0].has_ack and s.socket == "server:80-client:40002"]
    assert synacks == [0.4, 1.4]
    assert [r.state for r in net.ss_rows("server")][-1] is S.SYN_RECEIVED
    ls.accept()                   # room: the next retransmission of c completes it
    net.run(until=5)
    assert [r.rx_queue for r in net.ss_rows("server") if r.remote[1] == 40002] == [2]


def test_half_open_request_sock_synack_retries_as_linux_and_the_listener_stays():
    # the input: a SYN is injected, every SYN,ACK is dropped
    net, ls = server()
    net.inject("server", Segment.make("SYN", 90))
    synacks = []
    while (ev := net.next_event()) is not None:
        if ev[1] == "packet" and ev[2].src == "server":
            synacks.append(round(ev[2].sent_at, 3))
            net.drop(ev[2].id)
        else:
            net.step()
    assert synacks == [0.1, 1.1, 3.1, 7.1, 15.1, 31.1]    # 6 SYN,ACKs: tcp_synack_retries=5
    assert net.now == pytest.approx(63.1)
    assert ls.state is S.LISTEN and ls.error is None
    assert rows(net, "server") == [(S.LISTEN, 0, 5, ("0.0.0.0", 80), ("0.0.0.0", 0))]
    raises(errno.EAGAIN, ls.accept)
    assert "no application hears of it" in net.history[-1].explanation.lower()
    assert net.history[-1].explanation.lower().count("no application hears") == 1


# ------------------------------------------------------------------ close() and errors -----

def test_close_with_unread_data_resets_and_the_peer_gets_econnreset_then_eof_then_epipe():
    net, ls, c, conn = connected()
    c.send("GET /")
    net.settle()
    conn.close()
    assert [x.rfc() for x in net.history[-1].sent] == ["<SEQ=301><ACK=106><CTL=RST,ACK>"]
    net.settle()
    assert c.state is S.CLOSED and c.error == "ECONNRESET"
    raises(errno.ECONNRESET, c.recv, 100)
    assert c.recv(100) == b""
    raises(errno.EPIPE, c.send, b"x")
    raises(errno.EBADF, conn.recv, 1)


def test_send_after_a_reset_reports_econnreset_once_then_epipe():
    net, ls, c, conn = connected()
    c.send("GET /")
    net.settle()
    conn.close()
    net.settle()
    raises(errno.ECONNRESET, c.send, b"x")
    raises(errno.EPIPE, c.send, b"x")
    assert c.getsockopt(SOL_SOCKET, SO_ERROR) == 0


def test_connection_refused_then_econnaborted_then_a_new_attempt():
    net = SocketNetwork(isn={"client": 100})
    c = net.socket("client")
    c.connect(("server", 8080))
    net.run()
    rst = [s for s in net.history if s.actor == "server"][0]
    assert [x.rfc() for x in rst.sent] == ["<SEQ=0><ACK=101><CTL=RST,ACK>"]
    assert rst.socket == "server:8080 (no socket)"
    assert c.state is S.CLOSED and c.error == "ECONNREFUSED"
    assert c.getsockopt(SO_ERROR) == errno.ECONNREFUSED and c.error is None
    raises(errno.ECONNABORTED, c.connect, ("server", 8080))
    c.connect(("10.0.0.2", 8080))              # by address; a third connect tries again
    assert c.state is S.SYN_SENT


def test_connect_times_out_after_linuxs_syn_schedule():
    net = SocketNetwork(config=Config.linux())
    c = net.socket("client")
    c.connect(("server", 80))
    syns = []
    while (ev := net.next_event()) is not None:
        if ev[1] == "packet":
            syns.append(round(ev[2].sent_at))
            net.drop(ev[2].id)
        else:
            net.step()
    assert syns == [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]
    assert net.now == pytest.approx(131)
    raises(errno.ETIMEDOUT, c.recv, 1)


def test_linger_zero_close_is_an_abort():
    net, ls, c, conn = connected()
    c.setsockopt(SOL_SOCKET, SO_LINGER, (1, 0))
    c.close()
    # Linux: tcp_send_active_reset sends RST,ACK (captured on 6.18), at SND.NXT
    assert [x.rfc() for x in net.history[-1].sent] == ["<SEQ=101><ACK=301><CTL=RST,ACK>"]
    net.settle()
    raises(errno.ECONNRESET, conn.recv, 1)


def test_shutdown_then_close_is_accepted_and_leaves_an_orphan_with_the_fin_wait_2_timer():
    net, ls, c, conn = connected()
    c.shutdown(SHUT_WR)
    net.settle()
    assert c.state is S.FIN_WAIT_2
    n = len(net.history)
    c.close()
    assert len(net.history) == n + 1 and net.history[-1].sent == ()
    row = net.ss_rows("client")[0]
    assert row.state is S.FIN_WAIT_2 and row.expires == pytest.approx(60)
    assert "timer:(timewait,1min," in net.ss("client", timers=True)
    raises(errno.EBADF, c.send, b"x")
    assert conn.recv(10) == b""                 # the server read the FIN: end of file


def test_shut_rd_returns_what_is_queued_then_eof_and_sends_nothing():
    net, ls, c, conn = connected()
    c.send(b"abc")
    net.settle()
    n = len(net.in_flight)
    conn.shutdown(SHUT_RD)
    assert len(net.in_flight) == n
    assert conn.recv(10) == b"abc"
    assert conn.recv(10) == b""


def test_calls_on_the_wrong_kind_of_socket_give_linuxs_errnos_and_change_nothing():
    net, ls = server()
    fresh = net.socket("client")
    before = (len(net.history), net.ss("server"), net.ss("client"))
    raises(errno.ENOTCONN, fresh.recv, 1)
    raises(errno.EPIPE, fresh.send, b"x")
    raises(errno.ENOTCONN, fresh.shutdown, SHUT_WR)
    raises(errno.EINVAL, fresh.accept)
    raises(errno.ENOTCONN, ls.recv, 1)
    raises(errno.EISCONN, ls.connect, ("client", 80))
    raises(errno.EINVAL, ls.bind, 81)
    raises(errno.EADDRNOTAVAIL, fresh.bind, ("10.9.9.9", 80))
    raises(errno.EHOSTUNREACH, fresh.connect, ("nowhere", 80))
    assert (len(net.history), net.ss("server"), net.ss("client")) == before
    with pytest.raises(ValueError, match="SHUT_RD"):
        fresh.shutdown(7)
    with pytest.raises(TypeError, match="port"):
        fresh.bind("80")
    with pytest.raises(KeyError, match="client .10.0.0.1."):
        net.socket("router")


def test_bind_conflicts_follow_linux_and_so_reuseaddr():
    net, ls = server()
    other = net.socket("server")
    raises(errno.EADDRINUSE, other.bind, 80)
    other.setsockopt(SO_REUSEADDR, 1)
    ls_reuse = raises(errno.EADDRINUSE, other.bind, 80)   # never beside a listener
    assert "listen" in str(ls_reuse)


def test_a_server_restart_meets_time_wait_and_so_reuseaddr_lets_it_bind():
    def restart(reuse: bool):
        net = SocketNetwork(config=Config.linux())
        ls = net.socket("server")
        if reuse:
            ls.setsockopt(SO_REUSEADDR, 1)
        ls.bind(80)
        ls.listen(5)
        c = net.socket("client")
        c.connect(("server", 80))
        net.settle()
        conn = ls.accept()
        conn.close()                      # the server closes first: its side ends in TIME-WAIT
        net.settle()
        c.close()
        net.settle()
        ls.close()
        assert [r.state for r in net.ss_rows("server")] == [S.TIME_WAIT]
        new = net.socket("server")
        if reuse:
            new.setsockopt(SO_REUSEADDR, 1)
        return net, new

    net, new = restart(False)
    raises(errno.EADDRINUSE, new.bind, 80)
    net.wait(60)                          # Linux TIME-WAIT: 60 s
    new.bind(80)
    net, new = restart(True)
    new.bind(80)
    new.listen(5)
    assert new.state is S.LISTEN


def test_closing_a_listener_resets_the_connections_waiting_in_its_accept_queue():
    net, ls = server()
    c = net.socket("client")
    c.connect(("server", 80))
    net.settle()
    ls.close()
    step = net.history[-1]
    assert [x.flags.rfc() for x in step.sent] == ["RST,ACK"]
    net.settle()
    assert c.state is S.CLOSED and c.error == "ECONNRESET"
    assert net.ss_rows("server") == []


def test_time_wait_accepts_a_new_syn_through_the_listener():
    net, ls = server()
    c = net.socket("client")
    c.bind(40000)
    c.connect(("server", 80))
    net.settle()
    conn = ls.accept()
    conn.close()                          # server first: the server's side is in TIME-WAIT
    net.settle()
    c.close()
    net.settle()
    again = net.socket("client")
    again.setsockopt(SO_REUSEADDR, 1)
    net.wait(61)                          # the client's side is gone (it was LAST-ACK)
    again.bind(40000)
    assert [r.state for r in net.ss_rows("server")] == [S.LISTEN]   # TIME-WAIT over too


def test_a_run_of_socket_calls_replays_exactly():
    net, ls = server(backlog=1)
    for _ in range(3):
        net.socket("client").connect(("server", 80))
    net.settle()
    ls.accept()
    net.wait(2)
    try:
        ls.accept()
    except BlockingIOError:
        pass
    again = net.replay()
    assert [s.summary() for s in again.history] == [s.summary() for s in net.history]
    assert again.ss("server", timers=True) == net.ss("server", timers=True)
    assert again.ss("client", timers=True) == net.ss("client", timers=True)
    mid = net.replay(9)
    assert len(mid.history) == 9
    net.rewind(4)
    assert [r.state for r in net.ss_rows("server")] == [S.LISTEN]
    assert [s.fd for s in net.sockets("client")] == [3]


def test_connect_again_reports_success_once_then_eisconn_as_linux_non_blocking():
    net, ls, c, conn = connected()
    c.connect(("server", 80))                 # SS_CONNECTING -> reports 0
    assert net.history[-1].result == "0"
    raises(errno.EISCONN, c.connect, ("server", 80))
    raises(errno.EISCONN, conn.connect, ("client", 40000))   # accepted: SS_CONNECTED


def test_a_peer_that_closed_answers_data_with_rst_reported_as_epipe_in_close_wait():
    net, ls, c, conn = connected()
    conn.close()                              # nothing unread: FIN; an orphan
    net.settle()
    assert c.state is S.CLOSE_WAIT
    # Linux counts the unread FIN in Recv-Q until recv() has returned b"" for it
    assert rows(net, "client")[0][:2] == (S.CLOSE_WAIT, 1)
    assert c.recv(10) == b""
    assert rows(net, "client")[0][:2] == (S.CLOSE_WAIT, 0)
    assert c.send(b"x") == 1                  # accepted: the peer's FIN said nothing of reading
    net.settle()                              # the orphan answers the data with RST
    assert c.state is S.CLOSED and c.error == "EPIPE"     # tcp_reset in CLOSE-WAIT
    raises(errno.EPIPE, c.send, b"x")
    assert c.recv(10) == b""


def test_data_after_shutdown_rdwr_is_answered_with_rst():
    net, ls, c, conn = connected()
    c.shutdown(2)                             # SHUT_RDWR
    net.settle()
    raises(errno.EPIPE, c.send, b"x")
    assert c.recv(5) == b""
    conn.send(b"late")
    net.settle()
    assert c.state is S.CLOSED and [x.flags.rfc() for x in net.history[-2].sent] == ["RST"]
    raises(errno.ECONNRESET, c.recv, 5)       # Linux resets its own side too
    assert c.recv(5) == b""
    raises(errno.EPIPE, conn.send, b"x")      # the RST reached it in CLOSE-WAIT


def test_two_connections_from_one_host_are_kept_apart_by_their_ports():
    net, ls = server()
    a, b = net.socket("client"), net.socket("client")
    a.connect(("server", 80))
    b.connect(("server", 80))
    net.settle()
    a.send(b"from a")
    b.send(b"from b, longer")
    net.settle()
    first, second = ls.accept(), ls.accept()
    assert (first.recv(100), second.recv(100)) == (b"from a", b"from b, longer")
    second.send(b"to b")
    net.settle()
    raises(errno.EAGAIN, a.recv, 10)
    assert b.recv(10) == b"to b"


@pytest.mark.parametrize("call, args, error, words", [
    ("bind", ("80",), TypeError, "port number"),
    ("bind", (70000,), ValueError, "0..65535"),
    ("listen", ("5",), TypeError, "backlog"),
    ("connect", ("server:80",), TypeError, r"\(host, port\)"),
    ("connect", (("server", 0),), ValueError, "1..65535"),
    ("send", (123,), TypeError, "bytes or str"),
    ("recv", (-1,), ValueError, ">= 0"),
    ("shutdown", ("SHUT_WR",), ValueError, "SHUT_RD"),
    ("setsockopt", (SOL_SOCKET, SO_LINGER, "on"), TypeError, "onoff"),
    ("setsockopt", (12345, 1), ValueError, "SO_REUSEADDR or SO_LINGER"),
    ("getsockopt", (SO_LINGER,), ValueError, "SO_ERROR"),
])
def test_bad_arguments_get_a_clear_error_and_change_nothing(call, args, error, words):
    net, ls = server()
    s = net.socket("client")
    before = (len(net.history), net.ss("client"), net.ss("server"), s.state)
    with pytest.raises(error, match=words):
        getattr(s, call)(*args)
    assert (len(net.history), net.ss("client"), net.ss("server"), s.state) == before


def test_undo_keeps_the_tcbs_reads_going_through_the_sockets():
    net, ls, c, conn = connected()
    c.send(b"hi")
    net.settle()
    net.rewind(len(net.history))
    n = len(net.history)
    assert net[conn.name].recv() == b"hi"      # a TCB-level read: not a socket call
    assert len(net.history) == n
