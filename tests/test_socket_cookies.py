"""A SYN cookie keeps no socket (Linux tcp_conn_request frees the request sock when it
answers with a cookie): the run's record of every TCB's state (``Step.states``, what the
pictures highlight as "now") agrees with ``ss``, which shows nothing until the ACK returns."""

from __future__ import annotations

from tcplab import Config
from tcplab.sockets import SocketNetwork
from tcplab.states import TcpState as S


def _backlog_one(clients: int) -> tuple[SocketNetwork, object]:
    net = SocketNetwork(isn={"client": 100, "server": 300}, config=Config.linux())
    ls = net.socket("server"); ls.bind(80); ls.listen(1)
    for _ in range(clients):
        net.socket("client").connect(("server", 80))
    return net, ls


def test_a_syn_answered_with_a_cookie_leaves_no_tcb_in_the_states():
    net, _ = _backlog_one(3)
    net.run(until=0.1)                     # the three SYNs have arrived; no ACK yet
    arrivals = [s for s in net.history if s.kind == "segment"]
    assert [s.socket for s in arrivals] == [f"server:80-client:{p}" for p in (40000, 40001,
                                                                               40002)]
    # backlog 1: two request socks fit in the SYN queue, the third SYN gets a cookie
    assert ["SYN cookie" in s.explanation for s in arrivals] == [False, False, True]
    assert dict(arrivals[-1].states) == {
        "server:80": S.LISTEN,
        "server:80-client:40000": S.SYN_RECEIVED, "server:80-client:40001": S.SYN_RECEIVED,
        "client:40000-server:80": S.SYN_SENT, "client:40001-server:80": S.SYN_SENT,
        "client:40002-server:80": S.SYN_SENT}
    assert [(r.state, r.remote[1]) for r in net.ss_rows("server")] == [
        (S.LISTEN, 0), (S.SYN_RECEIVED, 40000), (S.SYN_RECEIVED, 40001)]


def test_the_cookie_ack_makes_the_connection_and_then_it_is_a_tcb():
    net, ls = _backlog_one(3)
    net.run(until=0.2)                     # the clients' ACKs are on the wire
    late = next(p for p in net.in_flight if p.sport == 40002)
    net.delay(late.id, 1.0)                # the cookie's ACK comes a second later
    net.run(until=0.35)                    # the two request socks: accept queue full (2)
    ls.accept()                            # room for one more
    net.settle()                           # the cookie's ACK
    last = net.history[-1]
    assert (last.socket, last.before, last.after) == ("server:80-client:40002",
                                                      S.SYN_RECEIVED, S.ESTABLISHED)
    assert dict(last.states)["server:80-client:40002"] is S.ESTABLISHED
    assert [r.remote[1] for r in net.ss_rows("server")] == [0, 40000, 40001, 40002]


def test_a_cookie_ack_dropped_on_a_full_accept_queue_leaves_no_tcb():
    net, ls = _backlog_one(3)              # accept queue: 2 fit (backlog + 1)
    net.settle()
    assert [(s.socket, s.discard) for s in net.history if s.discard] == [
        ("server:80-client:40002", "accept queue full")]
    servers = {n for n, _ in net.history[-1].states if n.startswith("server")}
    assert servers == {"server:80", "server:80-client:40000", "server:80-client:40001"}
    ls.accept()
    assert "server:80-client:40002" not in dict(net.history[-1].states)
