"""A host's sockets as ``ss -tan`` (and ``nstat``) show them: the model's side of the
tools learners read on Linux.

:class:`SsView` (a mixin of :class:`tcplab.SocketNetwork`) turns each socket into a
:class:`~tcplab.procnet.SocketRow` with the kernel's numbers -- Recv-Q/Send-Q as
``tcp_diag`` reports them (for a listener: the accept queue and the backlog), the timer
column of ``ss -o`` -- and prints them as iproute2's ``ss`` (``misc/ss.c``) does, so that
``tcplab explain`` and :func:`tcplab.procnet.parse_ss_line` read them back.  Measured
against the kernel in ``tests/test_sockets_kernel.py``.  Built on :mod:`tcplab.procnet`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .procnet import SS_TIMERS, SocketRow
from .states import TcpState

if TYPE_CHECKING:
    from .socket_calls import _Sock

S = TcpState

#: The counters :meth:`~tcplab.SocketNetwork.nstat` keeps (``TcpExt`` + name in ``nstat``), as
#: Linux counts them (``net/ipv4/tcp_ipv4.c``, ``tcp_input.c`` ``tcp_conn_request()``,
#: ``syncookies.c``): a SYN or handshake ACK dropped because the accept queue is full
#: (``ListenOverflows``, also counted in ``ListenDrops``), a SYN answered with a cookie
#: because the SYN queue is full (``TCPReqQFullDoCookies``; ``SyncookiesSent`` once the
#: cookie SYN,ACK is sent), a SYN dropped then with syncookies off (``TCPReqQFullDrop``),
#: a valid cookie coming back (``SyncookiesRecv``).
NSTAT_COUNTERS = ("ListenOverflows", "ListenDrops", "TCPReqQFullDoCookies", "TCPReqQFullDrop",
                  "SyncookiesSent", "SyncookiesRecv")

#: ``ss -o``'s timer words by /proc/net/tcp code, from procnet's one table of them.
_SS_TIMER_WORD = {code: word for word, code in SS_TIMERS.items()}


def ss_time(seconds: float) -> str:
    """A time as ``ss -o`` prints it (``misc/ss.c`` print_ms_timer): ``"200ms"``,
    ``"1.500ms"`` (1.5 s), ``"59sec"``, ``"1min2sec"``.

    >>> ss_time(0.2), ss_time(1.5), ss_time(59), ss_time(62), ss_time(0)
    ('200ms', '1.500ms', '59sec', '1min2sec', '0ms')
    """
    ms = max(0, int(round(seconds * 1000)))
    secs, msecs = divmod(ms, 1000)
    minutes, secs = divmod(secs, 60)
    out = ""
    if minutes:
        msecs = 0
        out = f"{minutes}min"
        if minutes > 9:
            secs = 0
    if secs:
        if secs > 9:
            msecs = 0
        out += f"{secs}{'.' if msecs else 'sec'}"
    if msecs:
        out += f"{msecs:03d}ms" if secs else f"{msecs}ms"
    return out or "0ms"



class SsView:
    """``ss`` and ``nstat`` of a host (a mixin of :class:`tcplab.SocketNetwork`)."""

    def ss_rows(self, host: str) -> list[SocketRow]:
        """Every socket of ``host`` as ``ss -tan`` lists it, as
        :class:`~tcplab.procnet.SocketRow` (source ``"model"``): listeners first, then by
        local and peer port.  Recv-Q/Send-Q are bytes (unread; unacknowledged plus unsent),
        for a listener the accept queue and the backlog; ``expires`` is seconds."""
        self._host(host)
        rows = []
        for sock in self._all:
            if sock.host != host or sock.gone or sock.ep is None or sock.state is S.CLOSED:
                continue
            if sock.cookie and sock.state is S.SYN_RECEIVED:
                continue                       # a SYN cookie keeps no socket
            rows.append((not sock.listening, sock.port or 0,
                         sock.peer[1] if sock.peer else 0, self._row(sock)))
        rows.sort(key=lambda r: r[:3])
        return [r[3] for r in rows]

    def nstat(self, host: str) -> dict[str, int]:
        """The listen-queue counters of ``host`` since the start, as ``nstat -az`` names them
        (``TcpExtListenOverflows``, ...; see :data:`~tcplab.sockets.NSTAT_COUNTERS`): what Linux counts when
        a listener's queues overflow.

        >>> from tcplab import SocketNetwork
        >>> net = SocketNetwork(latency=0.001)
        >>> lsock = net.socket("server"); lsock.bind(80); lsock.listen(0)
        >>> for _ in range(2):
        ...     net.socket("client").connect(("server", 80)); _ = net.settle()
        >>> net.nstat("server")["TcpExtListenOverflows"]     # the second SYN: queue full
        1
        """
        self._host(host)
        return {f"TcpExt{k}": v for k, v in self._nstat[host].items()}

    def _count_nstat(self, host: str, *names: str) -> None:
        for name in names:
            self._nstat[host][name] += 1

    def ss(self, host: str, *, timers: bool = False) -> str:
        """``ss -tan`` (``timers=True``: ``ss -tano``) of ``host`` now, as text."""
        rows = self.ss_rows(host)
        head = ["State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"]
        table = []
        for r in rows:
            line = [r.state.ss, str(r.rx_queue), str(r.tx_queue),  # type: ignore
                    f"{r.local[0]}:{r.local[1]}",
                    f"{r.remote[0]}:{r.remote[1] if r.remote[1] else '*'}"]
            if timers and r.timer:
                line.append(f"timer:({_SS_TIMER_WORD[r.timer]},"
                            f"{ss_time(r.expires or 0.0)},{r.retransmits or 0})")
            table.append(line)
        widths = [max(len(x[i]) for x in [head] + table) for i in range(len(head))]
        out = []
        for line in [head] + table:
            cells = [c.ljust(widths[i] + (1 if i == 0 else 0)) if i < len(head) else c
                     for i, c in enumerate(line)]
            out.append(" ".join(cells).rstrip())
        return "\n".join(out)

    def _row(self, sock: _Sock) -> SocketRow:
        ep = sock.ep
        assert ep is not None
        state = ep.state
        local = self._local_address(sock)
        remote = (self.address(sock.peer[0]), sock.peer[1]) if sock.peer and \
            not sock.listening else ("0.0.0.0", 0)
        kind = ("request" if state is S.SYN_RECEIVED and sock.parent is not None else
                "timewait" if state is S.TIME_WAIT or
                (state is S.FIN_WAIT_2 and sock.fd is None and ep.timers) else "full")
        if sock.listening:
            rx, tx = len(sock.accept_queue), sock.backlog
        elif kind != "full":
            rx = tx = 0                        # request and TIME-WAIT socks keep no queues
        else:
            # Linux tcp_diag: rcv_nxt - copied_seq and write_seq - snd_una, in sequence
            # numbers: a SYN or FIN not yet acknowledged counts one in Send-Q (a FIN waiting
            # to be sent too), and the peer's FIN one in Recv-Q until a recv() reaches it.
            rx = len(ep.received) + (1 if sock.done and not sock.eof_read else 0)
            tx = (ep.snd_nxt - ep.snd_una) % 2 ** 32 + len(ep.send_buffer) + \
                (1 if ep._close_requested and ep._fin_seq is None else 0)
        timer = expires = retransmits = None
        if ep.timers:
            which, deadline = min(ep.timers.items(), key=lambda kv: kv[1])
            timer = {"retransmission": 1, "time-wait": 3, "fin-wait-2": 3,
                     "persist": 4}.get(which, 1)
            expires = max(0.0, deadline - self.now)
            retransmits = ep._retries if which == "retransmission" else 0
        inode = None if kind != "full" else (0 if sock.fd is None else 1)
        return SocketRow(local, remote, state, "model", code=state.linux, rx_queue=rx,
                         tx_queue=tx, timer=timer, expires=expires, inode=inode, kind=kind,
                         retransmits=retransmits)

    def _local_address(self, sock: _Sock) -> tuple[str, int]:
        if sock.port is None:
            return "0.0.0.0", 0
        if sock.bound_any and (sock.listening or sock.peer is None):
            return "0.0.0.0", sock.port
        return self.address(sock.host), sock.port

