"""The model's ``ss`` queues against the kernel, measured on Linux 6.18 in a network namespace
(``ss -tan`` after each call), not read off the code.

The peer sends ``b"hi"`` and shuts down writing; the server's socket, in CLOSE-WAIT, shows
Recv-Q 3 (``rcv_nxt - copied_seq``: two bytes and the FIN).  A ``recv(100)`` -- or
``recv(2)``, or a ``recv(1)`` that takes the last byte -- returns the data and Recv-Q is 0 at
once: a FIN that arrives behind unread data is merged into that data's buffer
(``tcp_try_coalesce`` ORs the flags), and ``tcp_recvmsg`` passes it with the last byte; the
next ``recv()`` returns ``b""``.  Measured with the FIN in the data's segment and in a
segment of its own alike.  A ``recv(1)`` that leaves a byte leaves the FIN counted: Recv-Q 2.
"""

from __future__ import annotations

from tcplab import TcpState as S
from tcplab.sockets import SHUT_WR, SocketNetwork


def close_wait_with(data: bytes):
    net = SocketNetwork(isn={"client": 100, "server": 300})
    lsock = net.socket("server")
    lsock.bind(80)
    lsock.listen(5)
    c = net.socket("client")
    c.connect(("server", 80))
    net.settle()
    conn = lsock.accept()
    c.send(data)
    c.shutdown(SHUT_WR)
    net.settle()
    return net, conn


def recv_q(net: SocketNetwork) -> int:
    (row,) = [r for r in net.ss_rows("server") if r.state is S.CLOSE_WAIT]
    return row.rx_queue


def test_a_recv_that_reads_all_the_data_reads_the_fin_too():
    net, conn = close_wait_with(b"hi")
    assert recv_q(net) == 3
    assert conn.recv(100) == b"hi"
    assert recv_q(net) == 0
    assert conn.recv(100) == b""
    assert recv_q(net) == 0


def test_a_recv_that_stops_inside_the_data_leaves_the_fin_counted():
    net, conn = close_wait_with(b"hi")
    assert conn.recv(1) == b"h"
    assert recv_q(net) == 2
    assert conn.recv(1) == b"i"
    assert recv_q(net) == 0
