"""The sockets-API calls of a host, one method each, as Linux answers them.

What each call does to the host's sockets and their TCBs, and its result or errno, as
Linux gives it (``net/ipv4/af_inet.c`` ``inet_stream_connect``/``inet_shutdown``/
``inet_accept``, ``tcp.c`` ``tcp_sendmsg``/``tcp_recvmsg``, ``inet_connection_sock.c``
bind conflicts; ``socket(7)``, ``tcp(7)``), checked call by call against the kernel in
``tests/test_sockets_kernel.py``.  Also the record of one socket (:class:`_Sock`: the
kernel's side of a file descriptor, or of a request sock, an orphan, a connection waiting
in an accept queue), the socket constants and the errno tables.

:class:`SocketCalls` is a mixin of :class:`tcplab.SocketNetwork`, which holds the
hosts, the wire and the bookkeeping; the calls change TCBs only through
:class:`~tcplab.endpoint.Endpoint`'s own calls (listen, connect, send, read, close, abort).
Built on :mod:`tcplab.endpoint`, :mod:`tcplab.steps` and the standard library's
:mod:`errno` and :mod:`socket` constants.
"""

from __future__ import annotations

import errno
import os
import socket as _socket
import struct
from dataclasses import replace

from .actions import SocketCall
from .endpoint import Endpoint
from .segment import Flags
from .states import TcpState
from .steps import Step

S = TcpState

# The platform's values, so that code passing socket.SO_REUSEADDR works on any system; the
# Linux values (asm-generic/socket.h) where the socket module has none (Pyodide, in a page).
SHUT_RD, SHUT_WR, SHUT_RDWR = (getattr(_socket, n, v) for n, v in
                               (("SHUT_RD", 0), ("SHUT_WR", 1), ("SHUT_RDWR", 2)))
SOL_SOCKET = getattr(_socket, "SOL_SOCKET", 1)
SO_LINGER, SO_REUSEADDR, SO_ERROR = (getattr(_socket, n, v) for n, v in
                                     (("SO_LINGER", 13), ("SO_REUSEADDR", 2), ("SO_ERROR", 4)))
_OPTIONS = {SO_LINGER: "SO_LINGER", SO_REUSEADDR: "SO_REUSEADDR", SO_ERROR: "SO_ERROR"}
_SHUT_NAMES = {SHUT_RD: "SHUT_RD", SHUT_WR: "SHUT_WR", SHUT_RDWR: "SHUT_RDWR"}

#: ``net.core.somaxconn``: Linux caps every backlog at this (4096 since Linux 5.4).
SOMAXCONN = 4096
#: The first ephemeral port the model hands out.  Linux picks ports at random in
#: ``ip_local_port_range`` (32768-60999); the model counts up from here so runs repeat.
EPHEMERAL_PORT = 40000
_FIRST_FD = 3                      # 0, 1, 2 are stdin, stdout, stderr
_ERRNO_OF_REASON = {"connection reset": errno.ECONNRESET,
                    "connection refused": errno.ECONNREFUSED,
                    "connection timed out": errno.ETIMEDOUT}
_EXCEPTIONS = {errno.ECONNRESET: ConnectionResetError, errno.ECONNREFUSED:
               ConnectionRefusedError, errno.ETIMEDOUT: TimeoutError,
               errno.EPIPE: BrokenPipeError, errno.EAGAIN: BlockingIOError,
               errno.ECONNABORTED: ConnectionAbortedError}

def _oserror(code: int, text: str) -> OSError:
    """The exception Python's socket module raises for ``code``, with tcplab's text."""
    return _EXCEPTIONS.get(code, OSError)(code, f"[{errno.errorcode[code]}] {text}")


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



class SocketCalls:
    """The socket calls of :class:`tcplab.SocketNetwork` (a mixin): each
    ``_call_NAME`` returns ``(the step to record or None, the result or the exception)``."""

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

    def _call_socket(self, host: str, sock: None) -> tuple[Step, object]:
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
        return step, self._handle(host, fd, new.serial)

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
        return step, self._handle(host, fd, child.serial)

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
                sub = self._linux_abort(child.ep)
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

    def _linux_abort(self, ep: Endpoint) -> Step:
        """ABORT (§3.10.5) as Linux sends it from a socket: its RST carries the ACK of
        RCV.NXT (``tcp_send_active_reset``: ``TCPHDR_ACK | TCPHDR_RST``; measured on 6.18)."""
        rcv_nxt = ep.rcv_nxt
        step = ep.abort()
        if any(seg.rst and not seg.has_ack for seg in step.sent):
            step.sent = tuple(replace(seg, flags=seg.flags | Flags.ACK, ack=rcv_nxt)
                              if seg.rst and not seg.has_ack else seg for seg in step.sent)
            step.explanation += (f" Linux sends it as RST,ACK (ACK={rcv_nxt}: "
                                 "tcp_send_active_reset).")
        return step

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
            step = self._linux_abort(ep)
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

