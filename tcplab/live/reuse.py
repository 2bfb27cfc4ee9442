"""What ``SO_REUSEADDR`` does, tried on real sockets (loopback, no privileges needed).

The classic server-restart error: the old server closed its connections first, so they sit
in TIME-WAIT on its port, and the new server's ``bind()`` to that port fails with
``EADDRINUSE``.  ``SO_REUSEADDR`` set before ``bind()`` lets the bind succeed -- on Linux only
if the *old* sockets had it too (a TIME-WAIT socket keeps the option of the listener its
connection came from; servers set it on every listener for this reason).  It never shortens
TIME-WAIT: the TIME-WAIT socket is still there afterwards (socket(7), tcp(7)).
"""

from __future__ import annotations

import errno
import html
import socket
import time
from dataclasses import dataclass

from ..states import TcpState
from .kernel import KernelSocket, errno_name, proc_net_tcp

__all__ = ["ReuseResult", "try_reuseaddr"]

_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ReuseCase:
    """One restart: the old server had (or had not) SO_REUSEADDR; the new one tries both."""

    old_reuseaddr: bool
    port: int
    time_wait: tuple[KernelSocket, ...]   # TIME-WAIT sockets on the port before the binds
    without: str                          # new bind() without SO_REUSEADDR: "ok" or errno
    with_reuseaddr: str                   # new bind() + listen() with SO_REUSEADDR
    time_wait_after: tuple[KernelSocket, ...]


@dataclass(frozen=True)
class ReuseResult:
    """The outcome of :func:`try_reuseaddr`: one :class:`ReuseCase` per old server."""

    cases: tuple[ReuseCase, ...]

    def case(self, old_reuseaddr: bool) -> ReuseCase:
        return next(c for c in self.cases if c.old_reuseaddr is old_reuseaddr)

    def rows(self) -> list[tuple[str, str, str, str]]:
        out = []
        for c in self.cases:
            tw = c.time_wait[0]
            out.append((f"old server {'with' if c.old_reuseaddr else 'without'} SO_REUSEADDR",
                        f"TIME-WAIT {tw.local[0]}:{tw.local[1]} ↔ {tw.remote[1]} "
                        f"({tw.expires:.0f} s left)", c.without, c.with_reuseaddr))
        return out

    def __str__(self) -> str:
        head = ("the old server", "left behind", "new bind()", "new bind() + SO_REUSEADDR")
        rows = [head, *self.rows()]
        w = [max(len(r[i]) for r in rows) for i in range(4)]
        return "\n".join("  ".join(x.ljust(n) for x, n in zip(r, w)).rstrip() for r in rows)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("the old server", "left behind",
                                                  "new <code>bind()</code>",
                                                  "new <code>bind()</code> + SO_REUSEADDR"))
        body = "".join("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in r) + "</tr>"
                       for r in self.rows())
        return (f'<table class="tcplab-live"><thead><tr>{head}</tr></thead>'
                f'<tbody>{body}</tbody></table>')


def _time_wait_on(port: int) -> tuple[KernelSocket, ...]:
    return tuple(s for s in proc_net_tcp({port})
                 if s.state is TcpState.TIME_WAIT and s.local[1] == port)


def _bind(port: int, reuseaddr: bool) -> str:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if reuseaddr:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((_HOST, port))
        s.listen()
        return "ok"
    except OSError as exc:
        return errno_name(exc.errno) or str(exc)
    finally:
        s.close()


def _restart(old_reuseaddr: bool, timeout: float) -> ReuseCase:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if old_reuseaddr:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((_HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]
        client.connect((_HOST, port))
        conn, _ = listener.accept()
        conn.close()                       # the server closes first: it gets TIME-WAIT
        client.settimeout(timeout)
        client.recv(1)                     # EOF: the server's FIN has arrived
        client.close()                     # our FIN; the server moves to TIME-WAIT
        listener.close()                   # the old server is gone
        deadline = time.monotonic() + timeout
        while not (tw := _time_wait_on(port)) and time.monotonic() < deadline:
            time.sleep(0.005)
        if not tw:
            raise OSError(errno.ETIMEDOUT, "the server's socket did not reach TIME-WAIT")
        without = _bind(port, reuseaddr=False)
        with_reuse = _bind(port, reuseaddr=True)
        return ReuseCase(old_reuseaddr, port, tw, without, with_reuse, _time_wait_on(port))
    finally:
        client.close()
        listener.close()


def try_reuseaddr(timeout: float = 2.0) -> ReuseResult:
    """Restart a server whose connections are in TIME-WAIT, twice: once when the old server
    had not set ``SO_REUSEADDR`` and once when it had.  Each time, try to bind its port
    without and with ``SO_REUSEADDR``.  Takes a few milliseconds; loopback only."""
    return ReuseResult(tuple(_restart(old, timeout) for old in (False, True)))
