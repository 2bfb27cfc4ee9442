"""Hosts that hold sockets, as learners meet them on Linux: a listening socket that stays in
LISTEN with its SYN queue and accept queue, ``accept()``, the ``listen()`` backlog, and the
socket calls with their errno results.

A :class:`~tcplab.SocketNetwork` is a :class:`~tcplab.network.Network` of two *hosts* (default
``client`` at 10.0.0.1 and ``server`` at 10.0.0.2).  A host holds sockets; each connected
socket has its own TCB (an :class:`~tcplab.endpoint.Endpoint`, RFC 9293 §3.10), named by
its addresses (``"server:80"`` for a listener, ``"server:80-client:40000"`` for a
connection).  The RFC view and the socket view are two views of one run: every step is
an RFC step of one TCB (``step.socket`` names it, ``step.actor`` is the host, the lane of
a ladder), and :meth:`~tcplab.SocketNetwork.ss` shows the host as ``ss -tan`` does.

What Linux does and the model follows (``net/ipv4/tcp_ipv4.c``, ``inet_connection_sock.c``,
``tcp_minisocks.c``; ``listen(2)``, ``tcp(7)``; measured on the kernel of this machine):

* ``listen(backlog)``: the listener stays in LISTEN.  Each SYN makes a *request sock* in
  SYN-RECEIVED (the SYN queue, ``ss`` shows it as SYN-RECV); the handshake's last ACK makes
  it a full socket in ESTABLISHED that waits in the *accept queue* until ``accept()``.  The
  listener's ``ss`` line shows the accept queue in Recv-Q and the backlog in Send-Q.
* The accept queue is full when it holds more than ``backlog`` connections (Linux's
  ``sk_acceptq_is_full``: ``backlog + 1`` fit).  A SYN that arrives then is dropped
  (``ListenOverflows``, ``ListenDrops``); with ``tcp_abort_on_overflow = 0`` (the default) a
  handshake's last ACK that arrives then is dropped too, and the request sock stays, sending
  SYN,ACKs again until the application makes room or ``tcp_synack_retries`` runs out.  The
  client meanwhile believes it is ESTABLISHED.
* The SYN queue is full when it holds more than ``backlog`` request socks
  (``inet_csk_reqsk_queue_is_full``: ``backlog + 1`` fit, measured); a further SYN is then
  answered with a SYN cookie (``tcp_syncookies = 1``): a SYN,ACK is sent but no request
  sock is kept, so it is never retransmitted and ``ss`` shows nothing until the ACK comes
  back -- and is let in only if the accept queue has room.
* :meth:`~tcplab.SocketNetwork.nstat` counts the drops and cookies as ``nstat`` shows Linux's.
* A segment for no socket at all is answered as by a CLOSED TCB (§3.10.7.1): a SYN gets
  RST,ACK and the connecting application ``ECONNREFUSED``.
* The errno results of the calls are Linux's: see :class:`~tcplab.Socket`.

The calls are *non-blocking*: each is one step, and what the network does in between
happens with :meth:`~tcplab.network.Network.run`, ``settle`` and ``wait``.  A call that
would block raises ``BlockingIOError`` (``EAGAIN``); ``connect()`` returns at once (its
result arrives later: ``sock.error``, or the next call raises it), as a non-blocking
``connect()`` does.

Hand-written: this is the model itself.  Built on :mod:`tcplab.network`,
:mod:`tcplab.endpoint`, :mod:`tcplab.procnet` (the ``ss`` rows) and the standard library's
:mod:`errno` and :mod:`socket` constants.

>>> net = SocketNetwork(isn={"client": 100, "server": 300})
>>> lsock = net.socket("server"); lsock.bind(80); lsock.listen(1)
>>> c = net.socket("client"); c.connect(("server", 80))
>>> _ = net.run()
>>> print(net.ss("server"))
State   Recv-Q Send-Q Local Address:Port Peer Address:Port
LISTEN  1      1      0.0.0.0:80         0.0.0.0:*
ESTAB   0      0      10.0.0.2:80        10.0.0.1:40000
>>> conn = lsock.accept(); conn.fd, conn.state
(4, TcpState.ESTABLISHED)
"""

from __future__ import annotations

import errno
import ipaddress
import random
from typing import Sequence

from .actions import Action, Deliver, Inject, SocketCall
from .endpoint import Endpoint
from .network import Network
from .segment import Segment
from .socket_calls import (EPHEMERAL_PORT, SHUT_RD, SHUT_RDWR, SHUT_WR,  # noqa: F401
                           SO_ERROR, SO_LINGER, SO_REUSEADDR, SOL_SOCKET, SOMAXCONN,
                           SocketCalls, _ERRNO_OF_REASON, _FIRST_FD, _oserror, _Sock)
from .ss_view import NSTAT_COUNTERS, SsView, ss_time
from .states import TcpState
from .steps import Step
from .wire import WIRE, Packet

S = TcpState

__all__ = ["SocketNetwork", "Socket", "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "SO_LINGER",
           "SO_REUSEADDR", "SO_ERROR", "SOL_SOCKET", "SOMAXCONN", "EPHEMERAL_PORT",
           "NSTAT_COUNTERS", "ss_time"]

class Socket:
    """A file descriptor of a host of a :class:`~tcplab.SocketNetwork`: the sockets API.

    Every call is one recorded step (replayable), or raises without changing anything.
    The errno results follow Linux (``tcp(7)``, ``socket(7)``, ``net/ipv4/af_inet.c`` and
    ``tcp.c``), as Python's :mod:`socket` raises them:

    ==================  ==================================================================
    ``ECONNREFUSED``    the SYN was answered with RST: nobody listens on that port
                        (``ConnectionRefusedError``, from the next call or ``sock.error``)
    ``ECONNRESET``      the peer reset the connection (``ConnectionResetError``): reported
                        once, by the next ``recv()``/``send()``; then ``recv()`` gives ``b""``
    ``EPIPE``           ``send()`` after ``shutdown(SHUT_WR)``, after a reset was reported,
                        or on a socket never connected (``BrokenPipeError``); also the
                        pending error of a reset that came in CLOSE-WAIT (Linux
                        ``tcp_reset()``), which only ``send()`` reports: after the peer's
                        FIN, ``recv()`` gives ``b""`` first
    ``ETIMEDOUT``       the SYN (or data) retransmissions ran out (``TimeoutError``)
    ``EADDRINUSE``      ``bind()`` to a port another socket holds (``SO_REUSEADDR`` lets a
                        socket share a port with connections that do not listen)
    ``ENOTCONN``        ``recv()``/``shutdown()`` on a socket that is not connected
    ``EINVAL``          ``accept()`` on a socket that does not listen; ``bind()`` twice;
                        ``listen()`` on a connected socket
    ``EISCONN``         ``connect()`` on a connected or listening socket
    ``EALREADY``        ``connect()`` while a connect is in progress
    ``EAGAIN``          the call would block: nothing to ``accept()`` or ``recv()`` yet
                        (``BlockingIOError``)
    ``EBADF``           a call on a socket already ``close()``\\ d (its ``close()`` does
                        nothing), even when a new socket got the same descriptor number
    ==================  ==================================================================
    """

    __slots__ = ("_net", "host", "fd", "_serial")

    def __init__(self, net: "SocketNetwork", host: str, fd: int, serial: int | None = None
                 ) -> None:
        # ``serial`` names the one socket this handle is for: once it is closed, a new socket
        # that gets the same descriptor number is not reached through this handle (as a
        # closed Python socket object stays closed).
        self._net, self.host, self.fd, self._serial = net, host, fd, serial

    def __repr__(self) -> str:
        try:
            sock = self._net._sock(self.host, self.fd, self._serial)
        except OSError:
            return f"<Socket {self.host} fd={self.fd} closed>"
        return f"<Socket {self.host} fd={self.fd} {sock.name} {sock.state}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Socket) and \
            (other._net, other.host, other.fd, other._serial) == \
            (self._net, self.host, self.fd, self._serial)

    def __hash__(self) -> int:
        return hash((self.host, self.fd, self._serial))

    # ---------------------------------------------------------------- read-outs ---------
    @property
    def state(self) -> TcpState:
        """The TCP state of the socket (CLOSED before ``listen()``/``connect()``)."""
        return self._net._sock(self.host, self.fd, self._serial).state

    @property
    def error(self) -> str | None:
        """The pending error as an errno name (``"ECONNREFUSED"``), without clearing it;
        ``None`` if there is none.  ``getsockopt(SO_ERROR)`` reads and clears it."""
        code = self._net._sock(self.host, self.fd, self._serial).error
        return errno.errorcode[code] if code else None

    @property
    def name(self) -> str:
        """The TCB's name in the run (``"server:80-client:40000"``)."""
        return self._net._sock(self.host, self.fd, self._serial).name

    @property
    def endpoint(self) -> Endpoint | None:
        """The TCB of this socket (the RFC view), or ``None`` before there is one."""
        return self._net._sock(self.host, self.fd, self._serial).ep

    def getsockname(self) -> tuple[str, int]:
        """``(address, port)`` this socket is bound to; ``("0.0.0.0", 0)`` if unbound."""
        return self._net._local_address(self._net._sock(self.host, self.fd, self._serial))

    def getpeername(self) -> tuple[str, int]:
        """``(address, port)`` of the peer; ``ENOTCONN`` when not connected -- in SYN-SENT
        too (Linux ``inet_getname()``: the peer is not known to answer yet)."""
        sock = self._net._sock(self.host, self.fd, self._serial)
        if sock.peer is None or sock.state in (S.CLOSED, S.LISTEN, S.SYN_SENT):
            raise _oserror(errno.ENOTCONN, f"getpeername(): {self.host} fd {self.fd} is not "
                           f"connected (state {sock.state})")
        return self._net.address(sock.peer[0]), sock.peer[1]

    # ---------------------------------------------------------------- calls -------------
    def bind(self, address: "int | tuple[str, int]") -> None:
        """``bind((addr, port))`` or ``bind(port)``: take a local port (0: an ephemeral one).
        ``EADDRINUSE`` if another socket holds it (Linux's bind-conflict rule: allowed only
        when both sockets set ``SO_REUSEADDR`` and the other does not listen); ``EINVAL`` if
        already bound; ``EADDRNOTAVAIL`` for an address not of this host."""
        self._net._socket_call(self.host, self.fd, "bind", (address,), self._serial)

    def listen(self, backlog: int = 128) -> None:
        """``listen(backlog)``: become a listening socket (passive OPEN, §3.10.1) that stays
        in LISTEN.  ``backlog`` bounds the accept queue (``backlog + 1`` connections) and the
        SYN queue (``backlog + 1`` request socks, then SYN cookies); Linux caps it at
        :data:`~tcplab.sockets.SOMAXCONN`.  An unbound socket gets an ephemeral
        port.  ``EINVAL`` on a connected socket; on a listener it changes the backlog."""
        self._net._socket_call(self.host, self.fd, "listen", (backlog,), self._serial)

    def accept(self) -> "Socket":
        """``accept()``: the first connection of the accept queue, as a new :class:`~tcplab.Socket`
        (a new file descriptor).  ``BlockingIOError`` (``EAGAIN``) if the queue is empty;
        ``EINVAL`` if this socket does not listen."""
        return self._net._socket_call(  # type: ignore[return-value]
            self.host, self.fd, "accept", (), self._serial)

    def connect(self, address: tuple[str, int]) -> None:
        """``connect((host, port))``: active OPEN (§3.10.1), the SYN leaves now.  ``host``
        is a host name or its address.  Returns at once: the outcome comes with the
        SYN,ACK (ESTABLISHED) or a RST (``ECONNREFUSED``) or after the SYN retries
        (``ETIMEDOUT``), reported by the next call or :attr:`error`."""
        self._net._socket_call(self.host, self.fd, "connect", (address,), self._serial)

    def send(self, data: bytes | str) -> int:
        """``send(data)``: queue ``data`` (bytes, or str as UTF-8) and send what the window
        allows (SEND, §3.10.2); returns the number of bytes taken.  ``EPIPE``/``ECONNRESET``
        as in the table above; ``EAGAIN`` while the connection is still being set up."""
        return self._net._socket_call(  # type: ignore[return-value]
            self.host, self.fd, "send", (data,), self._serial)

    sendall = send

    def recv(self, n: int = 65536) -> bytes:
        """``recv(n)``: up to ``n`` bytes that arrived (RECEIVE, §3.10.3); ``b""`` at the end
        of the stream (the peer's FIN, or after ``shutdown(SHUT_RD)``).  ``EAGAIN`` if
        nothing has arrived yet; ``ECONNRESET`` once after a reset; ``ENOTCONN`` on a
        socket never connected or a listener."""
        return self._net._socket_call(  # type: ignore[return-value]
            self.host, self.fd, "recv", (n,), self._serial)

    def shutdown(self, how: int) -> None:
        """``shutdown(SHUT_RD | SHUT_WR | SHUT_RDWR)``.  ``SHUT_WR`` is the RFC's CLOSE: a
        FIN once the queued data has left, and the socket is kept to read.  ``SHUT_RD``
        sends nothing: ``recv()`` then returns what is queued, then ``b""``.  ``ENOTCONN``
        if not connected."""
        self._net._socket_call(self.host, self.fd, "shutdown", (how,), self._serial)

    def close(self) -> None:
        """``close()``: give the descriptor up.  A connection is closed (FIN), or reset if
        received data is unread (§3.6.1 SHLD-2, Linux) or ``SO_LINGER`` is on with time 0
        (ABORT, §3.10.5); the kernel then finishes it alone (an *orphan*).  Closing a
        listener resets the connections waiting in its accept queue and drops its request
        socks.  Closing a closed socket does nothing, as in Python's :mod:`socket` (its
        other calls raise ``EBADF``)."""
        self._net._socket_call(self.host, self.fd, "close", (), self._serial)

    def setsockopt(self, *args: object) -> None:
        """``setsockopt(SOL_SOCKET, option, value)`` (the level may be left out):
        ``SO_REUSEADDR`` (0/1) or ``SO_LINGER`` (``(onoff, seconds)`` or
        ``struct.pack("ii", onoff, seconds)``).  ``SO_LINGER`` on with 0 s makes ``close()``
        an ABORT (RST); with more seconds a real ``close()`` would block until the FIN is
        acknowledged, which this non-blocking model does not: it closes normally."""
        self._net._socket_call(self.host, self.fd, "setsockopt", args, self._serial)

    def getsockopt(self, *args: object) -> int:
        """``getsockopt(SOL_SOCKET, SO_ERROR)``: the pending error number (0 if none), which
        it clears; ``SO_REUSEADDR``: 0 or 1."""
        return self._net._socket_call(  # type: ignore[return-value]
            self.host, self.fd, "getsockopt", args, self._serial)


class SocketNetwork(SocketCalls, SsView, Network):
    """Two hosts (default ``client`` at 10.0.0.1 and ``server`` at 10.0.0.2) holding sockets,
    the wire between them and one virtual clock.

    Arguments as :class:`~tcplab.network.Network` (``isn`` fixes the ISS of a host's *first*
    connection; later ones are drawn from ``seed`` and the clock), plus ``addresses`` (host
    name -> IPv4 address text) and ``syncookies`` (Linux ``tcp_syncookies``: 1, cookies
    when a SYN queue overflows; 0, drop the SYN instead).

    Make sockets with :meth:`socket`; read a host with :meth:`ss` (``ss -tan`` text) or
    :meth:`ss_rows`.  The RFC-level calls stay available on each TCB by its name
    (``net.call("server:80-client:40000", "close")``).
    """

    def __init__(self, names: Sequence[str] = ("client", "server"), *,
                 addresses: dict[str, str] | None = None, syncookies: int = 1,
                 **kwargs: object) -> None:
        super().__init__(names, **kwargs)  # type: ignore[arg-type]
        default = {n: f"10.0.0.{i + 1}" for i, n in enumerate(self.names)}
        if addresses is not None:
            if not isinstance(addresses, dict) or set(addresses) - set(self.names):
                raise ValueError(f"SocketNetwork(addresses=...) takes a dict from host name "
                                 f"({', '.join(self.names)}) to an IPv4 address, got "
                                 f"{addresses!r}")
            for host, addr in addresses.items():
                try:
                    ok = isinstance(addr, str) and \
                        str(ipaddress.IPv4Address(addr)) == addr
                except ValueError:
                    ok = False
                if not ok:
                    raise ValueError(f"SocketNetwork(addresses=...): {host!r} needs an IPv4 "
                                     f"address such as '10.0.0.9', got {addr!r}")
            default.update(addresses)
        if len(set(default.values())) != len(default):
            raise ValueError(f"SocketNetwork(addresses=...): two hosts share an address: "
                             f"{default}")
        if syncookies not in (0, 1) or isinstance(syncookies, bool):
            raise ValueError(f"SocketNetwork(syncookies=...) takes 0 or 1 (Linux "
                             f"net.ipv4.tcp_syncookies), got {syncookies!r}")
        self.addresses = dict(default)
        self.syncookies = syncookies
        self.endpoints = {}                       # TCBs appear with connections
        self._socks: dict[str, dict[int, _Sock]] = {h: {} for h in self.names}
        self._all: list[_Sock] = []              # every socket ever, for lookups
        self._next_fd = {h: _FIRST_FD for h in self.names}
        self._serial = 0                         # descriptor-holding sockets made so far
        self._nstat = {h: dict.fromkeys(NSTAT_COUNTERS, 0) for h in self.names}
        self._next_port = {h: EPHEMERAL_PORT for h in self.names}
        self._first_isn = dict(self.isn)         # used by each host's first connection
        self._by_ep: dict[str, _Sock] = {}
        self._rngs = random.Random(self.seed + 1)
        self._replies: dict[str, tuple[str, int | None, str, int | None]] = {}
        self._routes: list[_Sock] | None = None   # per segment, when one step sends for
        #                                           several sockets (a listener closing)

    def _handle(self, host: str, fd: int, serial: int | None) -> Socket:
        """The :class:`~tcplab.Socket` for ``host``'s descriptor ``fd`` (used by the calls)."""
        return Socket(self, host, fd, serial)

    def rewind(self, n: int) -> None:
        """Go back in place to the state after the first ``n`` steps (Undo).  As after
        :meth:`replay`, the TCBs are the sockets': reads go through ``Socket.recv``."""
        super().rewind(n)
        for ep in self.endpoints.values():
            ep._network = None

    def _blank(self) -> "SocketNetwork":
        return SocketNetwork(self.names, addresses=self.addresses, syncookies=self.syncookies,
                             latency=self.latency, seed=self.seed, config=self.config,
                             configs=self.configs, isn=self.isn)

    # ---------------------------------------------------------------- read-outs ---------
    def socket(self, host: str) -> Socket:
        """``socket(AF_INET, SOCK_STREAM)`` on ``host``: a new :class:`~tcplab.Socket` (the lowest
        free descriptor, from 3).  Recorded as a step."""
        self._host(host)
        return self._socket_call(host, None, "socket", ())  # type: ignore[return-value]

    def address(self, host: str) -> str:
        """The IPv4 address of ``host``."""
        return self.addresses[self._host(host)]

    def sockets(self, host: str) -> list[Socket]:
        """The open file descriptors of ``host``, as :class:`~tcplab.Socket` handles."""
        self._host(host)
        return [Socket(self, host, fd, self._socks[host][fd].serial)
                for fd in sorted(self._socks[host])]

    def state(self, name: str) -> TcpState:
        """The state of TCB ``name``; for a host name, that of its first connection (else its
        listener, else CLOSED)."""
        if name in self.names:
            socks = [s for s in self._all if s.host == name and not s.gone and s.ep]
            conns = [s for s in socks if not s.listening]
            pick = (conns or socks)
            return pick[0].state if pick else S.CLOSED
        return self[name].state

    def peer(self, name: str) -> str:
        """The other host (of a host, or of a TCB's host)."""
        host = name if name in self.names else self._sock_of(name).host
        return self.names[1] if host == self.names[0] else self.names[0]

    def __getitem__(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except (KeyError, TypeError):
            raise KeyError(f"no TCB {name!r}; the TCBs now are "
                           f"{', '.join(self.endpoints) or 'none'} (hosts hold sockets: "
                           f"net.sockets(host), net.ss(host))") from None

    # ---------------------------------------------------------------- lookups -----------
    def _host(self, host: object) -> str:
        if not isinstance(host, str) or host not in self._socks:
            raise KeyError(f"no host {host!r}; the hosts are " + ", ".join(
                f"{h} ({a})" for h, a in self.addresses.items()))
        return host

    def _sock(self, host: str, fd: object, serial: int | None = None) -> _Sock:
        table = self._socks[self._host(host)]
        if isinstance(fd, bool) or not isinstance(fd, int) or fd not in table or \
                serial is not None and table[fd].serial != serial:
            open_fds = ", ".join(str(f) for f in sorted(table)) or "none"
            raise _oserror(errno.EBADF, f"{host} has no open file descriptor {fd!r} (open: "
                           f"{open_fds}); was it close()d?")
        return table[fd]

    def _sock_of(self, ep_name: str) -> _Sock:
        sock = self._by_ep.get(ep_name)
        if sock is None:
            raise KeyError(f"no TCB {ep_name!r}")
        return sock

    def _resolve(self, host: object) -> str:
        """A host name or address -> the host name."""
        if isinstance(host, str):
            if host in self._socks:
                return host
            for name, addr in self.addresses.items():
                if addr == host:
                    return name
        raise _oserror(errno.EHOSTUNREACH, f"no host {host!r} on this network; the hosts "
                       "are " + ", ".join(f"{h} ({a})" for h, a in self.addresses.items()))

    def _holders(self, host: str, port: int) -> list[_Sock]:
        return [s for s in self._all if s.host == host and not s.gone and s.port == port]

    def _ephemeral(self, host: str) -> int:
        port = self._next_port[host]
        while self._holders(host, port):
            port += 1
        self._next_port[host] = port + 1
        return port

    def _new_ep(self, sock: _Sock, name: str, *, connection: bool = True) -> Endpoint:
        iss = self._first_isn.pop(sock.host, None) if connection else None
        ep = Endpoint(name, iss=iss, config=self.configs.get(sock.host, self.config),
                      clock=self.clock, rng=random.Random(
                          self._rngs.randrange(2 ** 32)))
        ep._network = None                 # the socket calls record; not Endpoint.recv
        sock.ep = ep
        self.endpoints[name] = ep
        self._by_ep[name] = sock
        return ep

    def _conn_name(self, host: str, port: int, peer: tuple[str, int]) -> str:
        return f"{host}:{port}-{peer[0]}:{peer[1]}"

    def _lookup(self, host: str, dport: int | None, src: str, sport: int | None
                ) -> tuple[_Sock | None, _Sock | None]:
        """(the connection socket, the listener) a segment to ``host:dport`` from
        ``src:sport`` is for; either may be None."""
        conn = listener = None
        for s in self._all:
            if s.gone or s.host != host or s.port != dport or s.ep is None:
                continue
            if s.peer == (src, sport) and not s.listening and s.state is not S.CLOSED:
                conn = s
            elif s.listening:
                listener = s
        return conn, listener

    # ---------------------------------------------------------------- the wire ----------
    def inject(self, dst: str, segment: Segment, *, src: str | None = None,
               sport: int = EPHEMERAL_PORT, dport: int = 80) -> Step:
        """Put a hand-made ``segment`` on the wire towards host ``dst``, port ``dport``, as
        if from ``src`` (default: the other host) port ``sport``."""
        self._host(dst)
        if not isinstance(segment, Segment):
            raise TypeError(f"inject() takes a Segment, not {type(segment).__name__}; "
                            "make one with Segment.make('SYN', 90)")
        for what, port in (("sport", sport), ("dport", dport)):
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"inject({what}=...) takes a port 1..65535, got {port!r}")
        if src is not None:
            self._host(src)
        return self._do(Inject(src or self.peer(dst), dst, segment, sport, dport))

    def _put(self, sock: _Sock, seg: Segment, step: Step) -> None:
        assert sock.peer is not None and sock.port is not None
        pkt = Packet(self._next_id, sock.host, sock.peer[0], seg, self.now,
                     self.now + self.latency, retransmission=step.retransmission,
                     sport=sock.port, dport=sock.peer[1])
        self._next_id += 1
        self._wire.put(pkt)
        step.packets = step.packets + (pkt.id,)

    def _put_sent(self, step: Step) -> None:
        if self._routes is not None:
            routes, self._routes = self._routes, None
            for seg, sock in zip(step.sent, routes):
                self._put(sock, seg, step)
            return
        sock = self._by_ep.get(step.actor)
        if sock is None:                   # a host answering for no socket
            reply = self._replies.pop(step.actor)
            for seg in step.sent:
                pkt = Packet(self._next_id, reply[0], reply[2], seg, self.now,
                             self.now + self.latency, sport=reply[1], dport=reply[3])
                self._next_id += 1
                self._wire.put(pkt)
                step.packets = step.packets + (pkt.id,)
            return
        for seg in step.sent:
            self._put(sock, seg, step)

    def _apply(self, action: Action, start: float) -> Step:
        match action:
            case Deliver(pid, at):
                pkt = self.packet(pid)
                self.clock.now = at
                self._wire.take(pid)
                self._keep(self.delivered, (pkt, at))
                step = self._arrive(pkt)
                step.packet = pid
                return self._record(action, step, start)
            case SocketCall(host, fd, call, args):
                step, _ = self._perform(host, fd, call, args)
                assert step is not None, f"replayed {action} recorded no step"
                return self._record(action, step, start)
        return super()._apply(action, start)

    def _arrive(self, pkt: Packet) -> Step:
        """Demultiplex a segment at its host (RFC 9293 §3.10.7; Linux tcp_v4_rcv)."""
        host, seg = pkt.dst, pkt.segment
        conn, listener = self._lookup(host, pkt.dport, pkt.src, pkt.sport)
        if conn is not None:
            ep = conn.ep
            assert ep is not None
            if conn.parent is not None and ep.state is S.SYN_RECEIVED and seg.has_ack and \
                    not seg.rst and not seg.syn and seg.ack == (ep.iss + 1) % 2 ** 32 and \
                    self._acceptq_full(conn.parent):
                return self._overflow_ack(conn, pkt)
            if ep.state is S.TIME_WAIT and seg.syn and not seg.has_ack and not seg.rst and \
                    conn.parent is not None:
                return self._time_wait_syn(conn, pkt)
            return ep.receive(seg)
        if listener is not None:
            if seg.syn and not seg.has_ack and not seg.rst:
                return self._syn_to_listener(listener, pkt)
            step = listener.ep.receive(seg)  # type: ignore[union-attr]
            if step.sent:                    # its answer (RST) goes back to the sender
                stub = _Sock(host, None)
                stub.port, stub.peer = pkt.dport, (pkt.src, pkt.sport)
                self._routes = [stub] * len(step.sent)
            return step
        return self._no_socket(pkt)

    def _acceptq_full(self, listener: _Sock) -> bool:
        return len(listener.accept_queue) > (listener.backlog or 0)   # sk_acceptq_is_full

    def _syn_to_listener(self, listener: _Sock, pkt: Packet) -> Step:
        host, seg = pkt.dst, pkt.segment
        backlog = listener.backlog or 0
        requests = [s for s in listener.syn_queue if not s.gone and not s.cookie]
        cookie = False
        if len(requests) > backlog:                  # inet_csk_reqsk_queue_is_full
            if not self.syncookies:
                self._count_nstat(host, "TCPReqQFullDrop", "ListenDrops")
                return self._drop_step(listener, pkt, f"the SYN queue is full ({len(requests)} "
                                       f"request socks, backlog {backlog}) and syncookies are "
                                       "off: the SYN is dropped (TcpExtListenDrops). The "
                                       "client will send it again after its RTO.", "SYN queue full")
            cookie = True
            self._count_nstat(host, "TCPReqQFullDoCookies")
        if self._acceptq_full(listener):
            self._count_nstat(host, "ListenOverflows", "ListenDrops")
            return self._drop_step(listener, pkt, f"the accept queue is full "
                                   f"({len(listener.accept_queue)} connections waiting for "
                                   f"accept(), backlog {backlog}): the SYN is dropped "
                                   "(TcpExtListenOverflows, TcpExtListenDrops). The client "
                                   "will send it again after its RTO; accept() makes room.",
                                   "accept queue full")
        child = _Sock(host, None)
        child.port, child.peer, child.parent = listener.port, (pkt.src, pkt.sport), listener
        child.reuseaddr, child.bound_any = listener.reuseaddr, False
        child.cookie = cookie
        self._all.append(child)
        ep = self._new_ep(child, self._conn_name(host, child.port, child.peer))  # type: ignore
        ep.listen()
        step = ep.receive(seg)
        if cookie:
            self._count_nstat(host, "SyncookiesSent")
            ep.timers.pop("retransmission", None)
            # Linux frees the request sock (tcp_conn_request): no TCB is kept, so none is
            # listed in the steps' states; the returning ACK brings it back (see _after)
            self.endpoints.pop(ep.name, None)
            step.explanation += (" SYN cookie: the SYN queue is full, so Linux keeps no "
                                 "request sock; the SYN,ACK carries a cookie and is never "
                                 "sent again (tcp_syncookies = 1). ss shows nothing until "
                                 "the ACK returns.")
        else:
            listener.syn_queue.append(child)
            step.explanation += (f" The listener stays in LISTEN: this connection is a new "
                                 f"request sock in its SYN queue ({len(requests) + 1} now; ss "
                                 f"shows it as SYN-RECV).")
        return step

    def _drop_step(self, sock: _Sock, pkt: Packet, why: str, discard: str) -> Step:
        state = sock.state
        step = Step(self.now, sock.name, "segment", f"rcv {pkt.segment.label()} (dropped)",
                    state, state, f"{pkt.segment.label()} from {self.address(pkt.src)}:"
                    f"{pkt.sport} arrives at {sock.name}: {why}", "Linux tcp_conn_request",
                    received=pkt.segment)
        step.discard = discard
        return step

    def _overflow_ack(self, conn: _Sock, pkt: Packet) -> Step:
        conn.acked = True
        parent = conn.parent
        assert parent is not None
        if conn.cookie:
            self._count_nstat(conn.host, "SyncookiesRecv", "ListenOverflows", "ListenDrops")
            return self._drop_step(conn, pkt, f"the ACK carries a valid SYN cookie, but the "
                                   f"listener's accept queue is full ({len(parent.accept_queue)} "
                                   f"waiting, backlog {parent.backlog}). With "
                                   "tcp_abort_on_overflow = 0 Linux drops it, and as a SYN "
                                   "cookie keeps no request sock, nothing is kept and no SYN,ACK "
                                   "is sent again: the server has no socket for this connection "
                                   "while the client believes it is ESTABLISHED. The client's "
                                   "next segment (its data, say) carries the cookie again and "
                                   "makes the connection once accept() has made room.",
                                   "accept queue full")
        self._count_nstat(conn.host, "ListenOverflows", "ListenDrops")
        return self._drop_step(conn, pkt, f"the handshake is complete, but the listener's "
                               f"accept queue is full ({len(parent.accept_queue)} waiting, "
                               f"backlog {parent.backlog}). With tcp_abort_on_overflow = 0 "
                               "Linux drops this ACK and keeps the request sock: it sends "
                               "its SYN,ACK again later, and the client answers with the ACK "
                               "again; once accept() has made room, that ACK completes the "
                               "connection. The client already believes it is ESTABLISHED.",
                               "accept queue full")

    def _time_wait_syn(self, conn: _Sock, pkt: Packet) -> Step:
        parent = conn.parent
        assert conn.ep is not None and parent is not None
        if not parent.listening or parent.gone:
            return conn.ep.receive(pkt.segment)
        step = conn.ep.receive(pkt.segment)
        if conn.ep.state is S.SYN_RECEIVED:        # a new incarnation: a new request sock
            new = _Sock(conn.host, None)
            new.port, new.peer, new.parent = conn.port, conn.peer, parent
            new.reuseaddr, new.bound_any, new.ep = conn.reuseaddr, False, conn.ep
            self._by_ep[conn.ep.name] = new
            conn.ep, conn.gone = None, True
            self._all.append(new)
            parent.syn_queue.append(new)
        return step

    def _no_socket(self, pkt: Packet) -> Step:
        """No socket: the host answers as a CLOSED TCB would (§3.10.7.1)."""
        name = f"{pkt.dst}:{pkt.dport} (no socket)"
        ep = Endpoint(name, config=self.config, clock=self.clock)
        step = ep.receive(pkt.segment)
        self._replies[name] = (pkt.dst, pkt.dport, pkt.src, pkt.sport)
        step.explanation = (f"No socket of {pkt.dst} has port {pkt.dport}" +
                            (" listening" if pkt.segment.syn else "") + ": " +
                            step.explanation)
        return step

    # ---------------------------------------------------------------- bookkeeping -------
    def _after(self, step: Step) -> None:
        """Keep the sockets in step with their TCBs; the step's actor becomes the host."""
        name = step.actor
        if name == WIRE:
            return
        sock = self._by_ep.get(name)
        if sock is None:
            if name in self.names:
                return
            host = name.split(":", 1)[0]
            step.socket = name
            step.actor = host
            return
        step.socket = name
        step.actor = sock.host
        ep = sock.ep
        if ep is None:
            return
        state = ep.state
        if ep._peer_fin:
            sock.done = True
        parent = sock.parent
        if parent is not None and sock in parent.syn_queue and state is not S.SYN_RECEIVED:
            parent.syn_queue.remove(sock)
            if state in (S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_1) and sock.fd is None:
                parent.accept_queue.append(sock)
                step.explanation += (f" The connection is complete and waits in the accept "
                                     f"queue of {parent.name} ({len(parent.accept_queue)} "
                                     "waiting; Recv-Q in ss) until accept().")
        elif parent is not None and sock.cookie and state is S.ESTABLISHED and \
                sock.fd is None and sock not in parent.accept_queue:
            sock.cookie = False
            self.endpoints[name] = ep
            self._count_nstat(sock.host, "SyncookiesRecv")
            parent.accept_queue.append(sock)
            step.explanation += (" The ACK carries a valid SYN cookie: the connection is "
                                 "made now and waits in the accept queue.")
        if state is S.LISTEN and parent is not None:
            # a request sock given up (SYN,ACK retries ran out, or RST): it just vanishes
            sock.gone = True
            if sock in parent.syn_queue:
                parent.syn_queue.remove(sock)
            self.endpoints.pop(name, None)
            if "no application hears" not in step.explanation.lower():
                step.explanation += (" For this request sock that means it is dropped: "
                                     f"the listener {parent.name} itself never left LISTEN, "
                                     "and no application hears of it.")
            return
        if state is S.CLOSED:
            if ep.reason in _ERRNO_OF_REASON and not sock.gone and \
                    step.before is not S.CLOSED:
                # Linux tcp_reset: a RST in CLOSE-WAIT is reported as EPIPE
                sock.error = errno.EPIPE if step.before is S.CLOSE_WAIT and \
                    ep.reason == "connection reset" else _ERRNO_OF_REASON[ep.reason]
            if sock.shut_rd and step.before in (S.FIN_WAIT_1, S.FIN_WAIT_2) and \
                    any(seg.rst for seg in step.sent):
                sock.error = errno.ECONNRESET   # Linux: tcp_reset() on itself (AbortOnData)
            self.endpoints.pop(name, None)
            if sock.fd is None and (parent is None or sock not in parent.accept_queue):
                sock.gone = True

    def __repr__(self) -> str:
        socks = [f"{s.name}={s.state}" for s in self._all if not s.gone and s.ep is not None
                 and s.state is not S.CLOSED]
        return (f"<SocketNetwork t={self.now:g}s {', '.join(socks) or 'no TCB'}, "
                f"{len(self._wire)} in flight, {self._count} steps>")


