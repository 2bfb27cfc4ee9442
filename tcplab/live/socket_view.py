"""The model's socket view of a live run: the same script on a host-with-sockets model, for
the ``ss -tan`` rows shown beside the kernel's.

The live lab compares state sequences with the RFC model (:class:`tcplab.network.Network`:
one TCB per side).  ``ss`` shows more than one TCB, though: the server's listener stays in
LISTEN with its accept queue in Recv-Q and its backlog in Send-Q, and the accepted
connection is a second row.  :class:`SocketView` plays every script line with the sockets
API on a :class:`tcplab.sockets.SocketNetwork`, exactly as :class:`tcplab.live.sockets.KernelRun`
plays it on real sockets: each side's socket bound at once to the kernel's port with
``SO_REUSEADDR``, ``listen(8)``, a non-blocking ``connect()``, ``accept()`` between the
lines (an event loop that does not read), ``recv()`` until it would block, ``close()``,
``shutdown(SHUT_WR)``, an abort (``SO_LINGER`` {1, 0}, then ``close()``).  Its rows
(:meth:`SocketView.rows`) are :class:`tcplab.procnet.SocketRow` records, as the kernel's.

Builds on the model (:mod:`tcplab.sockets`) and the live lab's script lines
(:mod:`tcplab.live.lines`); no I/O.
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass
from typing import Callable, Sequence

from ..endpoint import Config
from ..procnet import SocketRow
from ..sockets import SHUT_WR, SO_LINGER, SO_REUSEADDR, SOL_SOCKET, Socket, SocketNetwork
from ..states import TcpState
from .lines import Line

__all__ = ["SocketView", "BACKLOG"]

S = TcpState

#: The backlog both the lab's listener and the model's get (``listen(8)``).
BACKLOG = 8


@dataclass
class _Side:
    name: str
    port: int
    sock: Socket | None = None          # bound at the start: the listener or the connector
    conn: Socket | None = None          # the connection (accepted, or sock after connect)
    listening: bool = False


class SocketView:
    """The script on a :class:`~tcplab.sockets.SocketNetwork` whose hosts are the lab's
    sides, each socket on the port the kernel's has (``ports``: side -> port).  ``latency``
    (seconds) and ``config`` are the RFC model's of the same run.

    >>> from tcplab import Config
    >>> from tcplab.live.lines import parse_script
    >>> view = SocketView(("client", "server"), {"client": 40001, "server": 8080},
    ...                   latency=0.0, config=Config.linux())
    >>> for line in parse_script(["server listen", "client connect", "settle"]):
    ...     _ = view.play(line, settle_each=True)
    >>> print(view.net.ss("server"))
    State   Recv-Q Send-Q Local Address:Port Peer Address:Port
    LISTEN  0      8      10.0.0.2:8080      0.0.0.0:*
    ESTAB   0      0      10.0.0.2:8080      10.0.0.1:40001
    """

    def __init__(self, names: Sequence[str], ports: dict[str, int], *, latency: float,
                 config: Config) -> None:
        self.net = SocketNetwork(tuple(names), latency=latency, config=config)
        self.sides = {n: _Side(n, ports[n]) for n in names}
        for side in self.sides.values():
            self._bind(side)

    def _bind(self, side: _Side) -> None:
        sock = self.net.socket(side.name)
        sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        sock.bind((side.name, side.port))      # the host's address, as the lab binds
        side.sock = sock

    def peer(self, name: str) -> str:
        return self.net.peer(name)

    # ------------------------------------------------------------------ the lines ------
    def play(self, line: Line, settle_each: bool) -> str:
        """Play one script line; return the call's result as the kernel's half words it
        (``"ok"``, ``"5 bytes"``, ``"b'...'"``, an errno name), ``""`` for other lines."""
        result = ""
        if line.kind == "call":
            result = self._call(line)
            self.service()
            if settle_each:
                self.net.settle()
                self.service()
        elif line.kind in ("settle", "run"):
            self._settle()
        elif line.kind == "wait":
            self.net.wait(line.seconds)
            self.service()
        elif line.kind == "until":
            self.net.run(stop=self._reached(line.actor, line.state))
        return result

    def _reached(self, actor: str, state: "TcpState | None"
                 ) -> "Callable[[SocketNetwork], bool]":
        def stop(net: SocketNetwork) -> bool:
            self.service()
            return self.state(actor) is state
        return stop

    def _settle(self) -> None:
        self.service()
        self.net.settle()
        self.service()

    def service(self) -> None:
        """What the lab's event loop does between calls: accept a waiting connection on a
        listening side that has none."""
        for side in self.sides.values():
            if side.listening and side.conn is None and side.sock is not None:
                try:
                    side.conn = side.sock.accept()
                except OSError:
                    pass

    def _call(self, line: Line) -> str:
        side = self.sides[line.actor]
        peer = self.sides[self.peer(line.actor)]
        try:
            if line.call == "listen":
                if side.sock is None:
                    self._bind(side)
                side.sock.listen(BACKLOG)             # type: ignore[union-attr]
                side.listening = True
                return "ok"
            if line.call == "connect":
                if side.sock is None:
                    self._bind(side)
                side.conn = side.sock
                side.sock.connect((peer.name, peer.port))   # type: ignore[union-attr]
                return "EINPROGRESS"
            target = side.conn if side.conn is not None else side.sock
            if line.call == "send":
                if side.conn is None:
                    return "no connection (the model refuses too)"
                return f"{side.conn.send(line.data)} bytes"
            if line.call == "recv":
                return self._recv(side)
            if line.call == "shutdown":
                if side.conn is None:
                    return "no connection (the model refuses too)"
                side.conn.shutdown(SHUT_WR)
                return "ok"
            if line.call in ("close", "abort"):
                if target is None:
                    return "already closed"
                if line.call == "abort":
                    target.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 0))
                target.close()
                if target == side.sock:
                    side.sock, side.listening = None, False
                if target == side.conn:
                    side.conn = None
                return "ok"
        except OSError as exc:
            return errno.errorcode.get(exc.errno or 0, str(exc.errno))
        raise ValueError(f"unknown call {line.call!r}")

    def _recv(self, side: _Side) -> str:
        self.service()
        c = side.conn
        if c is None:
            return "no connection (the model refuses too)"
        data = bytearray()
        while True:
            try:
                chunk = c.recv(65536)
            except BlockingIOError:
                break
            except OSError as exc:
                name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
                return f"{bytes(data)!r}, then {name}" if data else name
            if not chunk:
                return f"{bytes(data)!r}, then b'' (EOF)" if data else "b'' (EOF)"
            data += chunk
        return repr(bytes(data))

    # ------------------------------------------------------------------ read-outs ------
    def state(self, name: str) -> TcpState:
        """The side's state as the lab's sampler sees it: its connection if it has one,
        else its listener, else CLOSED."""
        side = self.sides[name]
        for sock in (side.conn, side.sock):
            if sock is None:
                continue
            try:
                state = sock.state
            except OSError:
                continue
            if state is not S.CLOSED:
                return state
        return S.CLOSED

    def rows(self, name: str) -> tuple[SocketRow, ...]:
        """The side's sockets as ``ss -tan`` lists them now (the listener first)."""
        return tuple(self.net.ss_rows(name))
