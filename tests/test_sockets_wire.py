"""Hosts with sockets on the wire: finding a host's packet in flight (what the script's
``deliver``/``drop``/``duplicate``/``delay`` lines use), and what a host says when it drops a
segment at a full listen queue (Linux ``tcp_conn_request``, ``tcp_check_req``)."""

from __future__ import annotations

import pytest

from tcplab import TcpState as S
from tcplab.sockets import SocketNetwork

RFC_ISN = {"client": 100, "server": 300}


def server_with(backlog: int) -> tuple[SocketNetwork, object]:
    net = SocketNetwork(isn=RFC_ISN)
    lsock = net.socket("server")
    lsock.bind(80)
    lsock.listen(backlog)
    return net, lsock


def test_find_takes_a_host_of_a_socket_network():
    net, _ = server_with(5)
    net.socket("client").connect(("server", 80))
    syn = net.find("client", "SYN")
    assert (syn.src, syn.dst, syn.sport, syn.dport) == ("client", "server", 40000, 80)
    with pytest.raises(KeyError, match="no packet in flight from server"):
        net.find("server", "SYN,ACK")
    with pytest.raises(KeyError, match="no TCB 'router'"):
        net.find("router", "SYN")


def test_a_cookie_whose_ack_meets_a_full_accept_queue_leaves_nothing_behind():
    # listen(0): the accept queue takes one connection and the SYN queue one request sock
    # (backlog + 1, measured on Linux 6.18); the second SYN gets a cookie; its ACK finds the
    # accept queue full and is dropped, and as a cookie keeps nothing, nothing comes again.
    net, lsock = server_with(0)
    a, b = net.socket("client"), net.socket("client")
    a.connect(("server", 80))
    b.connect(("server", 80))
    net.settle()
    dropped = [st for st in net.history if st.discard == "accept queue full"]
    assert len(dropped) == 1 and dropped[0].socket == "server:80-client:40001"
    assert "no SYN,ACK is sent again" in dropped[0].explanation
    assert "sends its SYN,ACK again" not in dropped[0].explanation
    assert [r.state for r in net.ss_rows("server")] == [S.LISTEN, S.ESTABLISHED]
    assert [r.state for r in net.ss_rows("client")] == [S.ESTABLISHED, S.ESTABLISHED]
    net.wait(10)                          # nothing is retransmitted: no request sock
    assert [st for st in net.history if st.retransmission] == []


def test_a_request_socks_ack_dropped_at_a_full_queue_is_answered_again():
    # listen(1): a and b fill the accept queue; c's SYN came in while there was room, so c
    # is a request sock whose ACK is dropped; its SYN,ACK comes again after 1 s
    net, lsock = server_with(1)
    net.socket("client").connect(("server", 80))
    net.settle()
    b, c = net.socket("client"), net.socket("client")
    b.connect(("server", 80))
    c.connect(("server", 80))
    net.settle()
    (dropped,) = [st for st in net.history if st.discard == "accept queue full"]
    assert dropped.socket == "server:80-client:40002"
    assert "keeps the request sock: it sends its SYN,ACK again" in dropped.explanation
    net.wait(1.1)
    again = [st for st in net.history if st.retransmission and st.socket == dropped.socket]
    assert [s.flags.rfc() for st in again for s in st.sent] == ["SYN,ACK"]
