"""Property tests: random schedules of socket calls on a :class:`SocketNetwork`.

One listener (backlog 0..2, so its queues overflow) and up to four clients.  A schedule
mixes socket calls -- connect, accept, send, recv, shutdown, close, some on the wrong kind
of socket -- with wire events (deliver ANY packet in flight, drop, duplicate) and the clock
(wait).  Whatever the schedule:

1. only ``OSError`` with an errno of the table in :class:`tcplab.sockets.Socket` is ever
   raised, and a call that raises without recording a step changes nothing;
2. the listener stays in LISTEN; its accept queue never holds more than ``backlog + 1``
   connections and its SYN queue never more than ``backlog + 1`` request socks (Linux);
3. every connection's bytes arrive in order and only once: what the server's application
   read from a connection is a prefix of what that client's application sent, and the
   other way round;
4. ``replay()`` rebuilds the same run: the same steps, the same ``ss -tano`` of both hosts.

``TCPLAB_SOCKET_SCHEDULES`` sets the number of schedules (default 300).
"""

from __future__ import annotations

import errno
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcplab import Config, SocketNetwork, TcpState

S = TcpState
ALLOWED = {errno.ECONNREFUSED, errno.ECONNRESET, errno.EPIPE, errno.ETIMEDOUT,
           errno.EADDRINUSE, errno.ENOTCONN, errno.EINVAL, errno.EISCONN, errno.EALREADY,
           errno.EAGAIN, errno.EBADF, errno.ECONNABORTED}
CONFIGS = [Config.linux(syn_retries=2, synack_retries=2, retries=3, rto_max=4.0,
                        time_wait=3.0, fin_wait_2_timeout=5.0),
           Config.linux(syn_retries=2, synack_retries=2, retries=3, rto_max=4.0,
                        time_wait=3.0, fin_wait_2_timeout=5.0, mss=50, window=200,
                        rcvbuf=200)]
ACTIONS = ["connect", "accept", "send", "send", "recv", "close", "shutdown", "deliver",
           "deliver", "deliver", "drop", "duplicate", "wait", "wrong"]


def _call(net, fn, *args):
    """Call ``fn``; check invariant 1 for a refused call.  Returns the result or None."""
    before = (len(net.history), net.ss("server", timers=True), net.ss("client", timers=True))
    try:
        return fn(*args)
    except OSError as exc:
        assert exc.errno in ALLOWED, f"{fn.__name__}{args}: unexpected {exc!r}"
        if len(net.history) == before[0]:
            assert (net.ss("server", timers=True), net.ss("client", timers=True)) == \
                before[1:], f"{fn.__name__} was refused ({exc}) but changed the hosts"
        return None


def _check(net, ls, backlog, sent, read):
    assert ls.state is S.LISTEN
    lsock = net._sock("server", ls.fd)
    assert len(lsock.accept_queue) <= backlog + 1, (len(lsock.accept_queue), backlog)
    requests = [s for s in lsock.syn_queue if not s.gone and not s.cookie]
    assert len(requests) <= backlog + 1
    for key, data in read.items():
        assert sent.get(key, b"").startswith(data), (key, data, sent.get(key))


@settings(max_examples=int(os.environ.get("TCPLAB_SOCKET_SCHEDULES", "300")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_socket_schedules_keep_linuxs_rules(data):
    backlog = data.draw(st.integers(0, 2), label="backlog")
    config = data.draw(st.sampled_from(CONFIGS), label="config")
    net = SocketNetwork(config=config, seed=data.draw(st.integers(0, 99), label="seed"),
                        latency=0.05)
    ls = net.socket("server")
    ls.bind(80)
    ls.listen(backlog)
    clients = [net.socket("client") for _ in range(data.draw(st.integers(1, 4)))]
    accepted = []
    sent: dict = {}        # (direction, client port) -> bytes the application sent
    read: dict = {}        # (direction, client port) -> bytes the peer application read

    def port_of(sock):
        if sock.host == "client":
            return sock.getsockname()[1]
        return net._sock("server", sock.fd).peer[1]

    for _ in range(data.draw(st.integers(5, 60), label="length")):
        action = data.draw(st.sampled_from(ACTIONS))
        open_socks = [s for s in clients + accepted if s.fd in net._socks[s.host]]
        if action == "connect":
            c = data.draw(st.sampled_from(clients))
            if c.fd in net._socks["client"]:
                _call(net, c.connect, ("server", 80))
        elif action == "accept":
            conn = _call(net, ls.accept)
            if conn is not None:
                accepted.append(conn)
        elif action in ("send", "recv", "close", "shutdown") and open_socks:
            s = data.draw(st.sampled_from(open_socks))
            key = ("up" if s.host == "client" else "down", port_of(s) if
                   net._sock(s.host, s.fd).peer else None)
            if action == "send":
                chunk = bytes([65 + len(sent.get(key, b"")) % 26]) * data.draw(
                    st.integers(1, 400))
                n = _call(net, s.send, chunk)
                if n:
                    sent[key] = sent.get(key, b"") + chunk
            elif action == "recv":
                got = _call(net, s.recv, data.draw(st.integers(1, 500)))
                if got:
                    other = ("down" if key[0] == "up" else "up", key[1])
                    read[other] = read.get(other, b"") + got
            elif action == "close":
                _call(net, s.close)
            else:
                _call(net, s.shutdown, data.draw(st.sampled_from([0, 1, 2])))
        elif action == "wrong":
            _call(net, ls.recv, 1)
            _call(net, data.draw(st.sampled_from(clients)).accept)
        elif action in ("deliver", "drop", "duplicate") and net.in_flight:
            pkt = data.draw(st.sampled_from(net.in_flight))
            getattr(net, action)(pkt.id)
        elif action == "wait":
            net.wait(data.draw(st.sampled_from([0.05, 0.5, 2.0])))
        _check(net, ls, backlog, sent, read)
    net.run(until=net.now + 30, max_steps=20000)   # a zero window may persist for ever
    _check(net, ls, backlog, sent, read)
    again = net.replay()
    assert [s.summary() for s in again.history] == [s.summary() for s in net.history]
    for host in ("server", "client"):
        assert again.ss(host, timers=True) == net.ss(host, timers=True)
