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
