"""Hosts that hold sockets, as learners meet them on Linux: a listening socket that stays in
LISTEN with its SYN queue and accept queue, ``accept()``, the ``listen()`` backlog, and the
socket calls with their errno results.

A :class:`SocketNetwork` is a :class:`~tcplab.network.Network` of two *hosts* (default
``client`` at 10.0.0.1 and ``server`` at 10.0.0.2).  A host holds sockets; each connected
socket has its own TCB (an :class:`~tcplab.endpoint.Endpoint`, RFC 9293 §3.10), named by
its addresses (``"server:80"`` for a listener, ``"server:80-client:40000"`` for a
connection).  The RFC view and the socket view are two views of one run: every step is
an RFC step of one TCB (``step.socket`` names it, ``step.actor`` is the host, the lane of
a ladder), and :meth:`SocketNetwork.ss` shows the host as ``ss -tan`` does.

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
* :meth:`SocketNetwork.nstat` counts the drops and cookies as ``nstat`` shows Linux's.
* A segment for no socket at all is answered as by a CLOSED TCB (§3.10.7.1): a SYN gets
  RST,ACK and the connecting application ``ECONNREFUSED``.
* The errno results of the calls are Linux's: see :class:`Socket`.

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
import os
import random
import socket as _socket
import struct
from typing import Sequence

from .actions import Action, Deliver, Inject, SocketCall
from .endpoint import Config, Endpoint
from .network import Network, _seconds
from .procnet import SocketRow
from .segment import Flags, Segment
from .states import TcpState
from .steps import Step, TcpError
from .wire import WIRE, Packet

S = TcpState

__all__ = ["SocketNetwork", "Socket", "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "SO_LINGER",
           "SO_REUSEADDR", "SO_ERROR", "SOL_SOCKET", "SOMAXCONN", "EPHEMERAL_PORT",
           "NSTAT_COUNTERS"]

SHUT_RD, SHUT_WR, SHUT_RDWR = _socket.SHUT_RD, _socket.SHUT_WR, _socket.SHUT_RDWR
SOL_SOCKET = _socket.SOL_SOCKET
SO_LINGER, SO_REUSEADDR, SO_ERROR = _socket.SO_LINGER, _socket.SO_REUSEADDR, _socket.SO_ERROR
_OPTIONS = {SO_LINGER: "SO_LINGER", SO_REUSEADDR: "SO_REUSEADDR", SO_ERROR: "SO_ERROR"}
_SHUT_NAMES = {SHUT_RD: "SHUT_RD", SHUT_WR: "SHUT_WR", SHUT_RDWR: "SHUT_RDWR"}

#: ``net.core.somaxconn``: Linux caps every backlog at this (4096 since Linux 5.4).
SOMAXCONN = 4096
#: The first ephemeral port the model hands out.  Linux picks ports at random in
#: ``ip_local_port_range`` (32768-60999); the model counts up from here so runs repeat.
EPHEMERAL_PORT = 40000
_FIRST_FD = 3                      # 0, 1, 2 are stdin, stdout, stderr
#: The counters :meth:`SocketNetwork.nstat` keeps (``TcpExt`` + name in ``nstat``), as
#: Linux counts them (``net/ipv4/tcp_ipv4.c``, ``tcp_input.c`` ``tcp_conn_request()``,
#: ``syncookies.c``): a SYN or handshake ACK dropped because the accept queue is full
#: (``ListenOverflows``, also counted in ``ListenDrops``), a SYN answered with a cookie
#: because the SYN queue is full (``TCPReqQFullDoCookies``; ``SyncookiesSent`` once the
#: cookie SYN,ACK is sent), a SYN dropped then with syncookies off (``TCPReqQFullDrop``),
#: a valid cookie coming back (``SyncookiesRecv``).
NSTAT_COUNTERS = ("ListenOverflows", "ListenDrops", "TCPReqQFullDoCookies", "TCPReqQFullDrop",
                  "SyncookiesSent", "SyncookiesRecv")

_ERRNO_OF_REASON = {"connection reset": errno.ECONNRESET,
                    "connection refused": errno.ECONNREFUSED,
                    "connection timed out": errno.ETIMEDOUT}
_EXCEPTIONS = {errno.ECONNRESET: ConnectionResetError, errno.ECONNREFUSED:
               ConnectionRefusedError, errno.ETIMEDOUT: TimeoutError,
               errno.EPIPE: BrokenPipeError, errno.EAGAIN: BlockingIOError,
               errno.ECONNABORTED: ConnectionAbortedError}

_SS_WORDS = {S.LISTEN: "LISTEN", S.SYN_SENT: "SYN-SENT", S.SYN_RECEIVED: "SYN-RECV",
             S.ESTABLISHED: "ESTAB", S.FIN_WAIT_1: "FIN-WAIT-1", S.FIN_WAIT_2: "FIN-WAIT-2",
             S.CLOSE_WAIT: "CLOSE-WAIT", S.CLOSING: "CLOSING", S.LAST_ACK: "LAST-ACK",
             S.TIME_WAIT: "TIME-WAIT"}


def _oserror(code: int, text: str) -> OSError:
    """The exception Python's socket module raises for ``code``, with tcplab's text."""
    return _EXCEPTIONS.get(code, OSError)(code, f"[{errno.errorcode[code]}] {text}")


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


class _Sock:
    """One socket of a host: the kernel's side of a file descriptor (or of none: a request
    sock, a connection waiting in the accept queue, an orphan)."""

    __slots__ = ("host", "fd", "port", "peer", "reuseaddr", "linger", "backlog", "ep",
                 "parent", "syn_queue", "accept_queue", "cookie", "acked", "error",
                 "shut_rd", "shut_wr", "connecting", "connected", "gone", "bound_any",
                 "eof_read", "done", "serial")

    def __init__(self, host: str, fd: int | None) -> None:
        self.host = host
        self.fd = fd                        # None: no descriptor (request sock, orphan, ...)
        self.port: int | None = None        # local port once bound
        self.bound_any = True               # bound to 0.0.0.0 (listeners show 0.0.0.0:port)
        self.peer: tuple[str, int] | None = None
        self.reuseaddr = False
        self.linger: tuple[int, int] | None = None
        self.backlog: int | None = None     # a listener's backlog
        self.ep: Endpoint | None = None     # the TCB, once there is one
        self.parent: _Sock | None = None    # the listener a passive connection came from
        self.syn_queue: list[_Sock] = []
        self.accept_queue: list[_Sock] = []
        self.cookie = False                 # answered with a SYN cookie: no request sock
        self.acked = False                  # its last ACK was dropped: accept queue full
        self.error: int | None = None       # pending error (Linux sk_err), reported once
        self.shut_rd = False
        self.shut_wr = False
        self.connecting = False             # SS_CONNECTING: connect() not yet reported back
        self.connected = False              # SS_CONNECTED: reported, or accept()ed
        self.eof_read = False               # a recv() has reached the peer's FIN
        self.done = False                   # the peer's FIN arrived (Linux SOCK_DONE)
        self.serial: int | None = None      # which descriptor-holding socket it is (Socket)
        self.gone = False                   # nothing of it is left in the kernel

    @property
    def state(self) -> TcpState:
        return self.ep.state if self.ep is not None else S.CLOSED

    @property
    def listening(self) -> bool:
        return self.backlog is not None and self.state is S.LISTEN

    @property
    def name(self) -> str:
        if self.ep is not None:
            return self.ep.name
        return f"{self.host}:{self.port if self.port is not None else '*'}"


class Socket:
    """A file descriptor of a host of a :class:`SocketNetwork`: the sockets API.

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
        :data:`SOMAXCONN`.  An unbound socket gets an ephemeral
        port.  ``EINVAL`` on a connected socket; on a listener it changes the backlog."""
        self._net._socket_call(self.host, self.fd, "listen", (backlog,), self._serial)

    def accept(self) -> "Socket":
        """``accept()``: the first connection of the accept queue, as a new :class:`Socket`
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


class SocketNetwork(Network):
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
                    _socket.inet_aton(addr)
                    ok = isinstance(addr, str) and addr.count(".") == 3
                except (OSError, TypeError):
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

    def _blank(self) -> "SocketNetwork":
        return SocketNetwork(self.names, addresses=self.addresses, syncookies=self.syncookies,
                             latency=self.latency, seed=self.seed, config=self.config,
                             configs=self.configs, isn=self.isn)

    # ---------------------------------------------------------------- read-outs ---------
    def socket(self, host: str) -> Socket:
        """``socket(AF_INET, SOCK_STREAM)`` on ``host``: a new :class:`Socket` (the lowest
        free descriptor, from 3).  Recorded as a step."""
        self._host(host)
        return self._socket_call(host, None, "socket", ())  # type: ignore[return-value]

    def address(self, host: str) -> str:
        """The IPv4 address of ``host``."""
        return self.addresses[self._host(host)]

    def sockets(self, host: str) -> list[Socket]:
        """The open file descriptors of ``host``, as :class:`Socket` handles."""
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
        (``TcpExtListenOverflows``, ...; see :data:`NSTAT_COUNTERS`): what Linux counts when
        a listener's queues overflow.

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
            line = [_SS_WORDS[r.state], str(r.rx_queue), str(r.tx_queue),  # type: ignore
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

    # ---------------------------------------------------------------- the socket calls --
    def _socket_call(self, host: str, fd: int | None, call: str, args: tuple,
                     serial: int | None = None) -> object:
        start = self.now
        if fd is not None:
            try:
                self._sock(host, fd, serial)   # EBADF before anything else
            except OSError:
                if call == "close" and serial is not None:
                    return None            # Python: closing a closed socket does nothing
                raise
        step, result = self._perform(host, fd, call, args)
        if step is not None:
            self._record(SocketCall(host, fd, call, tuple(args)), step, start)
        if isinstance(result, BaseException):
            raise result
        return result

    def _perform(self, host: str, fd: int | None, call: str, args: tuple
                 ) -> tuple[Step | None, object]:
        """Do one socket call: (the step to record or None, the result or the exception)."""
        sock = None if fd is None else self._sock(host, fd)
        method = getattr(self, f"_call_{call}", None)
        if method is None:
            raise ValueError(f"unknown socket call {call!r}")
        return method(host, sock, *args)

    def _call_step(self, host: str, sock: _Sock | None, event: str, text: str,
                   source: str = "", result: str | None = None, call: str | None = None,
                   ) -> Step:
        state = sock.state if sock is not None else S.CLOSED
        step = Step(self.now, sock.name if sock is not None else host, "call", event, state,
                    state, text, source)
        step.call = call
        step.socket_call = event
        step.result = result
        return step

    def _refuse(self, code: int, call: str, sock: _Sock, why: str) -> tuple[None, OSError]:
        return None, _oserror(code, f"{call}() on {sock.host} fd {sock.fd} ({sock.name}, "
                              f"{sock.state}): {why}")

    def _call_socket(self, host: str, sock: None) -> tuple[Step, Socket]:
        fd = self._next_fd[host]
        while fd in self._socks[host]:
            fd += 1
        new = _Sock(host, fd)
        new.serial = self._serial = self._serial + 1
        self._socks[host][fd] = new
        self._all.append(new)
        self._next_fd[host] = _FIRST_FD
        step = self._call_step(host, new, "socket()", f"socket(AF_INET, SOCK_STREAM): a new "
                               f"TCP socket, file descriptor {fd}. It has no TCB yet (CLOSED): "
                               "bind() gives it a port, listen() or connect() a TCB.",
                               "socket(2)", f"fd {fd}")
        return step, Socket(self, host, fd, new.serial)

    def _port_arg(self, host: str, address: object) -> tuple[bool, int]:
        if isinstance(address, tuple) and len(address) == 2:
            addr, port = address
            if addr in ("", "0.0.0.0"):
                any_addr = True
            elif addr in (host, self.addresses[host]):
                any_addr = False
            else:
                raise _oserror(errno.EADDRNOTAVAIL, f"bind(): {addr!r} is not an address of "
                               f"{host} ({self.addresses[host]}); use '' or '0.0.0.0' for any")
        else:
            any_addr, port = True, address
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(f"bind() takes a port number or (address, port), got {address!r}")
        if not 0 <= port <= 65535:
            raise ValueError(f"bind(): a port is 0..65535, got {port!r}")
        return any_addr, port

    def _conflict(self, sock: _Sock, port: int) -> _Sock | None:
        """The socket that keeps ``sock`` from binding ``port`` (Linux inet_bind_conflict:
        allowed only if both set SO_REUSEADDR and the other does not listen)."""
        for other in self._holders(sock.host, port):
            if other is sock or (other.cookie and other.state is S.SYN_RECEIVED):
                continue
            if other.ep is not None and other.state is S.SYN_RECEIVED and \
                    other.parent is not None:
                continue                       # a request sock holds no port of its own
            if not (sock.reuseaddr and other.reuseaddr and not other.listening):
                return other
        return None

    def _call_bind(self, host: str, sock: _Sock, address: object) -> tuple:
        any_addr, port = self._port_arg(host, address)
        if sock.port is not None:
            return self._refuse(errno.EINVAL, "bind", sock, f"already bound to port "
                                f"{sock.port}; a socket is bound once")
        if port == 0:
            port = self._ephemeral(host)
        other = self._conflict(sock, port)
        if other is not None:
            what = (f"a listening socket ({other.name})" if other.listening else
                    f"{other.name} in {other.state}")
            hint = (" SO_REUSEADDR on both sockets would allow it, as the other does not "
                    "listen." if not other.listening and not (sock.reuseaddr and
                                                             other.reuseaddr) else
                    " Not even SO_REUSEADDR shares a port with a listener.")
            return self._refuse(errno.EADDRINUSE, "bind", sock, f"port {port} is held by "
                                f"{what}.{hint}")
        sock.port, sock.bound_any = port, any_addr
        step = self._call_step(host, sock, f"bind({port})", f"bind(): the socket takes port "
                               f"{port}" + (" on every address of the host (0.0.0.0)." if
                                            any_addr else f" on {self.addresses[host]}."),
                               "bind(2)", "0")
        return step, None

    def _call_listen(self, host: str, sock: _Sock, backlog: object) -> tuple:
        if isinstance(backlog, bool) or not isinstance(backlog, int):
            raise TypeError(f"listen() takes a whole number (the backlog), got {backlog!r}")
        capped = backlog if 0 <= backlog <= SOMAXCONN else SOMAXCONN
        if sock.listening:
            sock.backlog = capped
            return self._call_step(host, sock, f"listen({backlog})", f"listen() again: the "
                                   f"backlog is now {capped}.", "listen(2)", "0",
                                   call="listen"), None
        if sock.ep is not None and sock.state is not S.CLOSED or sock.peer is not None:
            return self._refuse(errno.EINVAL, "listen", sock, "only an unconnected socket "
                                "can listen")
        if sock.port is None:
            sock.port = self._ephemeral(host)
        other = self._conflict(sock, sock.port)
        if other is not None:
            return self._refuse(errno.EADDRINUSE, "listen", sock, f"port {sock.port} is held "
                                f"by {other.name}")
        sock.backlog = capped
        ep = self._new_ep(sock, f"{host}:{sock.port}", connection=False)
        step = ep.listen()
        step.socket_call = f"listen({backlog})"
        step.result = "0"
        step.explanation += (f" The listening socket stays in LISTEN: each SYN makes a new "
                             f"connection (a request sock in the SYN queue); completed "
                             f"handshakes wait in the accept queue for accept(), at most "
                             f"{capped + 1} of them (backlog {capped}"
                             + (f", capped at somaxconn {SOMAXCONN}" if capped != backlog
                                else "") + ").")
        return step, None

    def _call_accept(self, host: str, sock: _Sock) -> tuple:
        if not sock.listening:
            return self._refuse(errno.EINVAL, "accept", sock, "the socket is not listening; "
                                "call listen() first")
        if not sock.accept_queue:
            pending = len([s for s in sock.syn_queue if not s.gone])
            return self._refuse(errno.EAGAIN, "accept", sock, "the accept queue is empty (no "
                                "completed handshake yet" + (f"; {pending} in the SYN queue"
                                                             if pending else "") +
                                "): run the network and accept() again")
        child = sock.accept_queue.pop(0)
        fd = _FIRST_FD
        while fd in self._socks[host]:
            fd += 1
        child.fd = fd
        child.connected = True
        child.serial = self._serial = self._serial + 1
        self._socks[host][fd] = child
        state = child.state
        peer = f"{self.address(child.peer[0])}:{child.peer[1]}"  # type: ignore[index]
        text = (f"accept(): the first connection in the accept queue (from {peer}, "
                f"{state}) becomes file descriptor {fd}. The listener stays in LISTEN; its "
                f"accept queue now holds {len(sock.accept_queue)} (Recv-Q in ss).")
        if state is S.CLOSE_WAIT:
            text += " The peer has already sent its FIN: recv() will return b''."
        if child.error:
            text += (f" It was reset while it waited: the first recv() or send() gets "
                     f"{errno.errorcode[child.error]}.")
        step = self._call_step(host, child, "accept()", text, "accept(2)", f"fd {fd}",
                               call="accept")
        return step, Socket(self, host, fd, child.serial)

    def _call_connect(self, host: str, sock: _Sock, address: object) -> tuple:
        if not (isinstance(address, tuple) and len(address) == 2 and
                isinstance(address[1], int) and not isinstance(address[1], bool)):
            raise TypeError(f"connect() takes (host, port), e.g. ('server', 80), got "
                            f"{address!r}")
        if not 1 <= address[1] <= 65535:
            raise ValueError(f"connect(): a port is 1..65535, got {address[1]!r}")
        dst = self._resolve(address[0])
        if sock.listening:
            return self._refuse(errno.EISCONN, "connect", sock, "a listening socket cannot "
                                "connect")
        call = f"connect(('{address[0]}', {address[1]}))"
        if sock.connected:                              # SS_CONNECTED
            return self._refuse(errno.EISCONN, "connect", sock, "already connected")
        if sock.connecting:                             # SS_CONNECTING (af_inet.c)
            if sock.state in (S.SYN_SENT, S.SYN_RECEIVED):
                return self._refuse(errno.EALREADY, "connect", sock, "a connect() is already "
                                    "in progress; run the network and look at sock.state")
            sock.connecting = False
            if sock.state is not S.CLOSED:
                # The handshake has completed: this connect() reports it (returns 0).
                sock.connected = True
                return self._call_step(host, sock, call, "connect() again after the "
                                       "handshake: it reports success (0); the socket is "
                                       "connected (a further connect() gets EISCONN).",
                                       "connect(2)", "0", call="connect"), None
            # A connect that failed: Linux reports the error to this connect() and leaves
            # the socket unconnected, so that a further connect() tries again.
            code = sock.error or errno.ECONNABORTED
            sock.error = None
            assert sock.ep is not None
            self.endpoints.pop(sock.ep.name, None)
            sock.ep, sock.peer, sock.done, sock.eof_read = None, None, False, False
            step = self._call_step(host, sock, call, f"connect() on a socket whose connection "
                                   f"failed: it reports {errno.errorcode[code]} and leaves the "
                                   f"socket unconnected; another connect() tries again.",
                                   "connect(2)", errno.errorcode[code], call="connect")
            return step, _oserror(code, f"connect(): the earlier attempt ended with "
                                  f"{errno.errorcode[code]}")
        if sock.state is not S.CLOSED or sock.ep is not None:
            return self._refuse(errno.EISCONN, "connect", sock, "already connected")
        if sock.port is None:
            sock.port = self._ephemeral(host)
        sock.peer = (dst, address[1])
        sock.bound_any = False
        name = self._conn_name(host, sock.port, sock.peer)
        if name in self.endpoints:
            sock.peer = None
            return self._refuse(errno.EADDRNOTAVAIL, "connect", sock, f"the four-tuple "
                                f"{name} is in use (TIME-WAIT?)")
        ep = self._new_ep(sock, name)
        step = ep.connect()
        sock.connecting = True
        step.socket_call = call
        step.result = "EINPROGRESS"
        step.explanation += (f" The socket is {self.address(host)}:{sock.port}; connect() "
                             "returns at once and the outcome comes with the answer.")
        return step, None

    def _pending(self, sock: _Sock, call: str) -> tuple[Step, OSError] | None:
        """Report and clear the pending error, as Linux's sock_error() does."""
        if not sock.error:
            return None
        code, sock.error = sock.error, None
        name = errno.errorcode[code]
        step = self._call_step(sock.host, sock, f"{call}()", f"{call}() reports the pending "
                               f"error {name} ({os.strerror(code).lower()}) and clears it."
                               + (" The next recv() returns b''." if call == "recv" else
                                  " The next send() gets EPIPE." if call == "send" else ""),
                               "tcp(7)", name, call=call)
        return step, _oserror(code, f"{call}(): {os.strerror(code).lower()} ({sock.name})")

    def _call_send(self, host: str, sock: _Sock, data: object) -> tuple:
        if isinstance(data, str):
            data = data.encode()
        elif isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes):
            raise TypeError(f"send() takes bytes or str, got {type(data).__name__}")
        state = sock.state
        if sock.listening:
            return self._refuse(errno.EPIPE, "send", sock, "a listening socket sends nothing")
        if sock.shut_wr or (sock.ep is not None and sock.ep._close_requested or
                            sock.ep is not None and sock.ep._fin_seq is not None):
            pend = self._pending(sock, "send")
            return pend or self._refuse(errno.EPIPE, "send", sock, "this side has shut down "
                                        "writing (shutdown(SHUT_WR) or the FIN is sent)")
        if state not in (S.ESTABLISHED, S.CLOSE_WAIT):
            pend = self._pending(sock, "send")
            if pend:
                return pend
            if state in (S.SYN_SENT, S.SYN_RECEIVED):
                return self._refuse(errno.EAGAIN, "send", sock, "the handshake is not done "
                                    "yet; run the network and send() again")
            return self._refuse(errno.EPIPE, "send", sock, "not connected" if sock.ep is None
                                else "the connection is over")
        pend = self._pending(sock, "send")
        if pend:
            return pend
        step = sock.ep.send(data)  # type: ignore[union-attr]
        step.socket_call = f"send({len(data)} bytes)"
        step.result = str(len(data))
        return step, len(data)

    def _call_recv(self, host: str, sock: _Sock, n: object = 65536) -> tuple:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise (TypeError if not isinstance(n, int) or isinstance(n, bool) else
                   ValueError)(f"recv() takes a number of bytes >= 0, got {n!r}")
        ep = sock.ep
        if sock.listening or ep is None:
            return self._refuse(errno.ENOTCONN, "recv", sock, "a listening socket receives "
                                "nothing; accept() a connection" if sock.listening else
                                "the socket is not connected")
        if ep.received:
            step = ep.read(n)
            step.socket_call = f"recv({n})"
            step.result = f"{len(step.read)} bytes"
            if ep._peer_fin and not ep.received:
                # the FIN behind unread data shares its buffer (tcp_try_coalesce): reading
                # the last byte passes it too, Recv-Q 0 (measured on 6.18)
                sock.eof_read = True
            return step, step.read
        # Linux tcp_recvmsg(): once the peer's FIN has arrived (SOCK_DONE) recv() returns 0
        # before it looks at a pending error (a RST in CLOSE-WAIT); send() reports it.
        pend = None if sock.done else self._pending(sock, "recv")
        if pend:
            return pend
        if sock.done or sock.shut_rd or ep.state is S.CLOSED:
            sock.eof_read = sock.eof_read or sock.done
            step = ep.read(n)
            step.socket_call = f"recv({n})"
            step.result = "b''"
            if ep.state is S.CLOSED or sock.shut_rd and not ep._peer_fin:
                step.explanation = ("recv() returns b'': " + (
                    "the connection is over." if ep.state is S.CLOSED else
                    "this side has shut down reading (SHUT_RD)."))
            return step, b""
        if ep.state is S.CLOSED and sock.peer is None:
            return self._refuse(errno.ENOTCONN, "recv", sock, "the socket is not connected")
        return self._refuse(errno.EAGAIN, "recv", sock, "nothing has arrived yet; run the "
                            "network and recv() again")

    def _call_shutdown(self, host: str, sock: _Sock, how: object) -> tuple:
        if how not in _SHUT_NAMES or isinstance(how, bool):
            raise ValueError(f"shutdown() takes SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2), "
                             f"got {how!r}")
        state = sock.state
        word = _SHUT_NAMES[how]  # type: ignore[index]
        if sock.listening:
            if how == SHUT_WR:
                return self._call_step(host, sock, f"shutdown({word})", "shutdown(SHUT_WR) "
                                       "on a listener does nothing.", "af_inet.c", "0",
                                       call="shutdown"), None
            return self._close_listener(host, sock, f"shutdown({word})", keep_fd=True)
        if state in (S.CLOSED,) or sock.ep is None:
            return self._refuse(errno.ENOTCONN, "shutdown", sock, "the socket is not connected")
        if sock.connecting and state not in (S.SYN_SENT, S.SYN_RECEIVED):
            sock.connecting, sock.connected = False, True     # inet_shutdown(): SS_CONNECTED
        if how in (SHUT_RD, SHUT_RDWR):
            sock.shut_rd = True
            sock.ep._shut_rd = True     # data arriving in FIN-WAIT-1/2 now gets RST (Linux)
        if how in (SHUT_WR, SHUT_RDWR) and not sock.shut_wr and \
                state in (S.ESTABLISHED, S.SYN_SENT, S.SYN_RECEIVED, S.CLOSE_WAIT):
            sock.shut_wr = True
            step = sock.ep.close()
            step.socket_call = f"shutdown({word})"
            step.result = "0"
            if how == SHUT_RDWR:
                step.explanation += " Reading is shut down too: recv() returns b''."
            return step, None
        if how in (SHUT_WR, SHUT_RDWR):
            sock.shut_wr = True
        text = ("shutdown(SHUT_RD): nothing is sent (TCP has no way to say it); recv() "
                "returns what is queued, then b''." if how == SHUT_RD else
                f"shutdown({word}): writing was already shut down; nothing more is sent.")
        return self._call_step(host, sock, f"shutdown({word})", text, "shutdown(2)", "0",
                               call="shutdown"), None

    def _close_listener(self, host: str, sock: _Sock, event: str, keep_fd: bool = False
                        ) -> tuple:
        ep = sock.ep
        assert ep is not None
        waiting = list(sock.accept_queue)
        requests = [s for s in sock.syn_queue if not s.gone]
        step = ep.abort()
        step.socket_call = event
        step.result = "0"
        sent = list(step.sent)
        routes = [sock] * len(sent)
        for child in waiting:
            if child.ep is not None and child.state is not S.CLOSED:
                sub = child.ep.abort()
                sent += sub.sent
                routes += [child] * len(sub.sent)
            child.gone = True
            self.endpoints.pop(child.name, None)
        for req in requests:
            req.gone = True
            if req.ep is not None:
                self.endpoints.pop(req.ep.name, None)
        sock.accept_queue, sock.syn_queue = [], []
        sock.backlog = None
        self.endpoints.pop(ep.name, None)
        step.sent = tuple(sent)
        # Routes for this step's segments only: a step that sends nothing never reaches
        # _put_sent, and must not leave routes behind for the next step's segments.
        self._routes = routes if sent else None
        step.explanation = (f"{event} on the listener: it stops listening and its TCB is "
                            "deleted." + (f" The {len(waiting)} connection(s) waiting in its "
                                          "accept queue are reset (RST): their clients get "
                                          "ECONNRESET." if waiting else "") +
                            (f" Its {len(requests)} request sock(s) are dropped." if requests
                             else "") + " (Linux inet_csk_listen_stop.)")
        if not keep_fd:
            self._free_fd(sock)
        return step, None

    def _free_fd(self, sock: _Sock) -> None:
        if sock.fd is not None:
            self._socks[sock.host].pop(sock.fd, None)
            sock.fd = None
        if sock.ep is None or sock.state is S.CLOSED:
            sock.gone = True

    def _call_close(self, host: str, sock: _Sock) -> tuple:
        if sock.listening:
            return self._close_listener(host, sock, "close()")
        ep = sock.ep
        if ep is None or ep.state is S.CLOSED:
            self._free_fd(sock)
            step = self._call_step(host, sock, "close()", "close(): the descriptor is freed; "
                                   "there is no connection to end.", "close(2)", "0",
                                   call="close")
            if ep is not None:
                self.endpoints.pop(ep.name, None)
            sock.gone = True
            return step, None
        if sock.linger == (1, 0) or (sock.linger and sock.linger[0] and not sock.linger[1]):
            step = ep.abort()
            step.socket_call = "close() with SO_LINGER {1, 0}"
        else:
            step = ep.close(orphan=True)
            step.socket_call = "close()"
        step.result = "0"
        self._free_fd(sock)
        return step, None

    def _option(self, args: tuple, want_value: bool) -> tuple[int, object]:
        if len(args) == (3 if want_value else 2) and args[0] == SOL_SOCKET:
            args = args[1:]
        if len(args) != (2 if want_value else 1) or args[0] not in _OPTIONS:
            raise ValueError(f"{'set' if want_value else 'get'}sockopt() takes "
                             f"[SOL_SOCKET,] {'SO_REUSEADDR or SO_LINGER, value' if want_value else 'SO_ERROR or SO_REUSEADDR'}; "
                             f"got {args!r}")
        return args[0], (args[1] if want_value else None)

    def _call_setsockopt(self, host: str, sock: _Sock, *args: object) -> tuple:
        opt, value = self._option(args, True)
        if opt == SO_REUSEADDR:
            if isinstance(value, bool):
                value = int(value)
            if not isinstance(value, int):
                raise TypeError(f"SO_REUSEADDR takes 0 or 1, got {value!r}")
            sock.reuseaddr = bool(value)
            text = (f"setsockopt(SO_REUSEADDR, {int(bool(value))}): bind() may share a port "
                    "with connections that do not listen (TIME-WAIT ones, say)." if value else
                    "setsockopt(SO_REUSEADDR, 0).")
        elif opt == SO_LINGER:
            if isinstance(value, (bytes, bytearray)) and len(value) == 8:
                value = struct.unpack("ii", bytes(value))
            if not (isinstance(value, tuple) and len(value) == 2 and
                    all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                        for v in value)):
                raise TypeError(f"SO_LINGER takes (onoff, seconds) or struct.pack('ii', "
                                f"onoff, seconds), got {value!r}")
            sock.linger = (int(bool(value[0])), value[1])
            text = (f"setsockopt(SO_LINGER, {{{sock.linger[0]}, {value[1]}}}): " +
                    ("close() will ABORT: RST instead of FIN, queued data thrown away."
                     if sock.linger == (1, 0) else "close() closes normally."))
        else:
            raise ValueError("SO_ERROR can only be read (getsockopt)")
        return self._call_step(host, sock, f"setsockopt({_OPTIONS[opt]})", text,
                               "socket(7)", "0", call="setsockopt"), None

    def _call_getsockopt(self, host: str, sock: _Sock, *args: object) -> tuple:
        opt, _ = self._option(args, False)
        if opt == SO_REUSEADDR:
            return None, int(sock.reuseaddr)
        if opt != SO_ERROR:
            raise ValueError("getsockopt() reads SO_ERROR or SO_REUSEADDR")
        code = sock.error or 0
        if not code:
            return None, 0
        sock.error = None
        step = self._call_step(host, sock, "getsockopt(SO_ERROR)", f"getsockopt(SO_ERROR) "
                               f"reads the pending error {errno.errorcode[code]} and clears it.",
                               "socket(7)", errno.errorcode[code], call="getsockopt")
        return step, code

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


_SS_TIMER_WORD = {1: "on", 2: "keepalive", 3: "timewait", 4: "persist"}
