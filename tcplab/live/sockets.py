"""The application's half of a live run: real, non-blocking sockets, one call per line.

:class:`KernelRun` binds one socket per side, then makes each script line's socket call
(:meth:`KernelRun.do`) exactly as written: ``listen()``, ``connect()``, ``send()``,
``recv()``, ``close()``, ``shutdown(SHUT_WR)``, an abort (``SO_LINGER`` 0, then ``close()``:
RST).  Nothing is rewritten and nothing is read behind the script's back: a ``close()`` with
unread data really resets the connection, data arriving after ``close()`` really gets a RST,
and the peer's next call really fails with ``ECONNRESET`` or ``EPIPE`` -- the kernel's own
answers, which the model gives too.

Between calls the application does only what an event loop does without reading
(:meth:`KernelRun.service`): a listening side accepts a waiting connection, and a
non-blocking ``connect()`` is completed the usual way (writable, then ``SO_ERROR``), so a
refused or timed-out connect is seen as the application sees it.  An error the kernel holds
for a socket the script never touches again (a RST that arrived, say) is collected at the
end of the run with ``SO_ERROR`` (:meth:`KernelRun.pending_errors`): the error its next call
would have got.  ``settle``, ``wait`` and ``until`` are :meth:`KernelRun.settle`,
:meth:`KernelRun.pump` and :meth:`KernelRun.until`, watched by a
:class:`tcplab.live.sampler.Sampler`.

On loopback every segment is delivered within the system call that sends it; in the
namespace lab, lines follow each other at once and segments really are in flight for the
lab's ``delay``.  Builds on :mod:`tcplab.live.lab` (sockets in the right namespace) and the
kernel's socket API (socket(7), tcp(7), connect(2): "poll for writing, then SO_ERROR").
"""

from __future__ import annotations

import errno
import select
import socket
import time
from dataclasses import dataclass, field

from ..states import TcpState
from .kernel import errno_name
from .lab import LINGER_ABORT, Lab, close_quietly
from .lines import Line, LiveUnsupported
from .sampler import Sampler, state_at

#: Seconds of calm that end ``settle`` once the kernel owes nothing (loopback; five times
#: as long with a delayed wire, where the delay line must first see what was sent): time
#: for a segment that leaves no trace in a ``tx_queue`` -- a RST, a pure ACK -- to be
#: handled even when the kernel defers it to its softirq thread.
CALM = 0.01

__all__ = ["Side", "KernelRun"]


@dataclass
class Side:
    """One side of the run: its sockets, and what its application saw."""

    name: str
    peer: str
    ip: str
    port: int
    var: str
    sock: socket.socket | None = None        # bound at the start: listener or connector
    conn: socket.socket | None = None        # the connection (accepted, or sock after connect)
    listening: bool = False
    connecting: bool = False                  # connect() in progress (non-blocking)
    conn_var: str = ""
    received: bytearray = field(default_factory=bytearray)
    eof: bool = False
    dead: bool = False                        # conn reset/refused/closed: stop reading
    errors: list[tuple[float, str, str]] = field(default_factory=list)
    closed_how: str = ""                      # "", "close", "shutdown", "abort"
    events: list[tuple[float, str]] = field(default_factory=list)  # what the application saw


class KernelRun:
    """One run's sockets in a lab: one :class:`Side` per actor, bound at once to fresh ports
    (the namespace lab's, or ones the kernel picks on loopback), and the sampler that watches
    their four-tuples every ``interval`` seconds.  ``quiet``, ``max_wait`` and ``max_settle``
    are in seconds (see :func:`tcplab.live.run`)."""

    def __init__(self, lab: Lab, lines: list[Line], quiet: float, max_wait: float,
                 max_settle: float, interval: float) -> None:
        self.lab = lab
        self.lines = lines
        self.quiet = quiet
        self.max_wait = max_wait
        self.max_settle = max_settle
        self.interval = interval
        self.t0 = time.monotonic()
        self.last_call = self.t0
        names = lab.names
        ports = lab.next_ports() if hasattr(lab, "next_ports") else {n: 0 for n in names}
        self.sides: dict[str, Side] = {}
        for n, var in zip(names, ("c", "s")):
            peer = names[1] if n == names[0] else names[0]
            side = Side(n, peer, lab.hosts[n].ip, ports[n], var)
            sock = lab.socket(n)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((side.ip, side.port))
            side.port = sock.getsockname()[1]
            side.sock = sock
            self.sides[n] = side
        entities = {}
        for n, side in self.sides.items():
            peer = self.sides[side.peer]
            entities[(n, "conn")] = ((side.ip, side.port), (peer.ip, peer.port))
            entities[(n, "listener")] = ((side.ip, side.port), ("0.0.0.0", 0))
        lab.mark()
        self.sampler = Sampler(lab, entities, self.t0, interval)

    def now(self) -> float:
        """Seconds since the run's start."""
        return time.monotonic() - self.t0

    # -- the application's side: accept, finish connect(), collect errors ----------------
    def service(self) -> None:
        """Do what an event loop does between the script's calls, without reading: accept a
        waiting connection on a listening side, and finish a non-blocking ``connect()``
        once the socket is writable (``SO_ERROR``: 0, ``ECONNREFUSED``, ``ETIMEDOUT``).
        Reading is the script's ``recv`` line only: unread data stays unread, as in the
        model."""
        for side in self.sides.values():
            if side.listening and side.conn is None and side.sock is not None \
                    and side.sock.fileno() != -1:
                try:
                    conn, _ = side.sock.accept()
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError as exc:
                    self._error(side, exc, "accept()")
                else:
                    conn.setblocking(False)
                    self.lab.track(conn)
                    side.conn = conn
                    side.conn_var = "conn"
                    side.dead = False
                    side.events.append((self.now(), "accept() -> conn"))
            c = side.conn
            if side.connecting and c is not None and c.fileno() != -1:
                poller = select.poll()
                poller.register(c, select.POLLOUT)
                if poller.poll(0):
                    side.connecting = False
                    err = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        side.dead = True
                        side.errors.append((self.now(), errno_name(err), "connect()"))
                        side.events.append((self.now(), f"connect(): {errno_name(err)}"))

    def pending_errors(self) -> None:
        """At the end of the run: the error the kernel still holds for each open connection
        (a RST that arrived after the script's last call on it), taken with ``SO_ERROR`` --
        what the application's next call would have failed with."""
        for side in self.sides.values():
            c = side.conn
            if c is None or c.fileno() == -1 or side.dead:
                continue
            err = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                side.dead = True
                side.errors.append((self.now(), errno_name(err), "SO_ERROR at the end"))
                side.events.append((self.now(), f"pending error: {errno_name(err)} (the next "
                                                "call would get it)"))

    def recv(self, side: Side) -> str:
        """``recv()`` until the socket has nothing more now: the bytes read, ``b''`` at EOF,
        or the error (``ECONNRESET``, ``EPIPE``, ``ENOTCONN``) as the application gets it."""
        self.service()                         # accept a connection that is waiting
        c = side.conn
        if c is None or c.fileno() == -1:
            return "no connection (the model refuses too)"
        data = bytearray()
        while True:
            try:
                chunk = c.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._error(side, exc, "recv()", event=False)
                side.dead = True
                if data:
                    side.received += data
                    return f"{bytes(data)!r}, then {errno_name(exc.errno)}"
                return errno_name(exc.errno)
            if not chunk:
                side.eof = True
                side.received += data
                return f"{bytes(data)!r}, then b'' (EOF)" if data else "b'' (EOF)"
            data += chunk
        side.received += data
        return repr(bytes(data))

    def _error(self, side: Side, exc: OSError, where: str, event: bool = True) -> None:
        """Record an error the application got; ``event``: also list it among what the
        applications saw (not for the line's own call, whose result says it already)."""
        side.errors.append((self.now(), errno_name(exc.errno), where))
        if event:
            side.events.append((self.now(), f"{where}: {errno_name(exc.errno)}"))

    # -- calls -------------------------------------------------------------------------
    def do(self, i: int, line: Line) -> tuple[str, str]:
        """Make line ``i``'s socket call; return ``(the call as Python code, result)``.

        The result is ``"ok"``, a byte count, the data read, or an errno name
        (``ECONNREFUSED``).  Raises :class:`LiveUnsupported` for a call a socket program
        cannot make (``connect()`` on a listening socket).
        """
        side = self.sides[line.actor]
        peer = self.sides[side.peer]
        v = side.conn_var or side.var
        code = {"send": f"{v}.send({line.data!r})", "recv": f"{v}.recv(65536)",
                "shutdown": f"{v}.shutdown(SHUT_WR)", "close": f"{v}.close()",
                "connect": f"{side.var}.connect(('{peer.ip}', {peer.port}))"}.get(
            line.call, f"{v}.{line.call}()")
        try:
            if line.call == "listen":
                if side.conn is not None:
                    raise LiveUnsupported("listen() on a socket that has connected")
                side.sock.listen(8)            # type: ignore[union-attr]
                side.listening = True
                return (f"{side.var}.bind(('{side.ip}', {side.port})); {side.var}.listen()",
                        "ok")
            if line.call == "connect":
                if side.listening:
                    raise LiveUnsupported("connect() on a listening socket: a socket API "
                                          "program cannot do this (the RFC allows it)")
                if side.sock is None:          # closed before: a new socket, the same port
                    sock = self.lab.socket(side.name)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((side.ip, side.port))
                    side.sock = sock
                    side.closed_how = ""
                code = f"{side.var}.connect(('{peer.ip}', {peer.port}))"
                rc = side.sock.connect_ex((peer.ip, peer.port))
                side.conn = side.sock
                side.conn_var = side.var
                side.dead = side.eof = False
                if rc and rc != errno.EINPROGRESS:
                    side.errors.append((self.now(), errno_name(rc), "connect()"))
                    side.events.append((self.now(), f"connect(): {errno_name(rc)}"))
                    side.dead = True
                else:
                    side.connecting = True
                return code, errno_name(rc) or "ok"
            if line.call == "send":
                if side.conn is None:
                    return f"{v}.send({line.data!r})", "no connection (the model refuses too)"
                n = side.conn.send(line.data)
                return f"{v}.send({line.data!r})", f"{n} bytes"
            if line.call == "recv":
                return f"{v}.recv(65536)", self.recv(side)
            if line.call == "shutdown":
                if side.conn is None or side.conn.fileno() == -1:
                    return f"{v}.shutdown(SHUT_WR)", "no connection (the model refuses too)"
                side.closed_how = "shutdown"
                side.conn.shutdown(socket.SHUT_WR)
                return f"{v}.shutdown(SHUT_WR)", "ok"
            if line.call == "close":
                target = side.conn if side.conn is not None else side.sock
                if target is None or target.fileno() == -1:
                    return f"{v}.close()", "already closed"
                side.closed_how = "close"
                target.close()                 # what the kernel does with unread data is the lesson
                self._forget(side, target)
                return f"{v}.close()", "ok"
            if line.call == "abort":
                target = side.conn if side.conn is not None else side.sock
                if target is None or target.fileno() == -1:
                    return f"{v}.close()", "already closed"
                target.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ABORT)
                target.close()
                side.closed_how = "abort"
                self._forget(side, target)
                return (f"{v}.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0)); "
                        f"{v}.close()", "ok")
        except LiveUnsupported:
            raise
        except OSError as exc:
            self._error(side, exc, line.call + "()", event=False)
            return code, errno_name(exc.errno)
        raise ValueError(f"unknown call {line.call!r}")

    @staticmethod
    def _forget(side: Side, closed: socket.socket) -> None:
        """``closed`` has been closed: a listener accepts a new connection after it, a
        connecting side makes a new socket for its next ``connect()``."""
        if closed is side.sock:
            side.sock = None
            side.listening = False
        if closed is side.conn:
            side.conn = None
            side.connecting = False

    def pump(self, until: float) -> None:
        """Serve the sockets until ``until`` (monotonic)."""
        while True:
            self.service()
            now = time.monotonic()
            if now >= until:
                return
            time.sleep(min(0.002, until - now))

    def until(self, actor: str, state: TcpState) -> str:
        """Serve the sockets until ``actor`` is in ``state`` (at most ``max_settle`` s);
        return how long it took, or why it gave up."""
        deadline = time.monotonic() + self.max_settle
        t0 = time.monotonic()
        while True:
            self.service()
            self.sampler.sample()
            if state_at(self.sampler.timeline, actor) is state:
                return f"after {time.monotonic() - t0:.3f} s"
            if time.monotonic() > deadline:
                return f"{actor} never reached {state} (gave up after {self.max_settle:g} s)"
            time.sleep(0.0005)

    def owes_nothing(self) -> bool:
        """Does the kernel owe nothing more on its own?  Every tracked connection has all it
        sent acknowledged (``tx_queue`` 0: no data, SYN or FIN outstanding) and no
        retransmission or probe timer armed, and no half-open request sock waits for its
        ACK.  Then no segment that changes a state is on its way, acknowledgements a peer
        delays included (the sender's ``tx_queue`` counts what they would acknowledge);
        only the long timers (TIME-WAIT, an orphan's FIN-WAIT-2) are left, which ``settle``
        never waited for."""
        for (_, what), row in self.sampler.current.items():
            if row is None or what == "listener" or row.kind == "timewait":
                continue
            if row.tx_queue or row.timer in (1, 4) or row.kind == "request":
                return False
        return True

    def settle(self) -> None:
        """Serve the sockets until nothing is in flight and no state has changed for
        ``quiet`` seconds (at most ``max_settle`` s) -- or, sooner, for :data:`CALM` s once
        the kernel owes nothing (:meth:`owes_nothing`) and the wire is empty."""
        deadline = time.monotonic() + self.max_settle
        calm_needed = min(self.quiet, CALM if self.lab.delay == 0 else 5 * CALM)
        while True:
            self.service()
            self.sampler.sample()
            now = time.monotonic()
            calm = now - max(self.sampler.last_change, self.last_call)
            wire_calm = self.lab.in_flight() == 0 and self.lab.quiet_for() >= calm_needed
            if (calm >= self.quiet and self.lab.in_flight() == 0
                    and self.lab.quiet_for() >= self.quiet) or now > deadline:
                return
            if calm >= calm_needed and wire_calm and self.owes_nothing():
                return
            time.sleep(0.002)

    def cleanup(self) -> None:
        """Close every socket the run opened (see :func:`tcplab.live.lab.close_quietly`)."""
        for side in self.sides.values():
            for s in (side.conn, side.sock):
                if s is not None:
                    close_quietly(s)

