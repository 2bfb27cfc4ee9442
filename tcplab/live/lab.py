"""Where the real sockets live: the lab interface, and the lab on loopback.

:class:`Lab` is what a run needs from a lab: sockets in each side's network, lookups in each
side's TCP table, the segments in flight, and a cleanup that leaves nothing behind.

:class:`LoopbackLab` needs no privileges (it works on Binder): both sides use 127.0.0.1.
Segments on loopback are delivered *inside* the system call that sends them, so a state
that only waits for the peer's answer (SYN-SENT, SYN-RECEIVED, FIN-WAIT-1, LAST-ACK,
CLOSING) lasts microseconds and is rarely caught between two samples.

:class:`tcplab.live.namespace_lab.NamespaceLab` (root) puts each side in its own network
namespace, with a delay on the wire between them.  Builds on :mod:`tcplab.live.kernel`
(reading the tables) and :mod:`tcplab.live.netns` (entering namespaces, cleanup).
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass

from .delay import WireSegment
from .kernel import Diag, KernelSocket, ProcReader, proc_net_tcp, reader
from .netns import NetNamespace, cleanup_stale, in_netns, register, unregister

__all__ = ["Lab", "LoopbackLab", "Host", "close_quietly", "LINGER_ABORT"]

#: ``struct linger {l_onoff = 1, l_linger = 0}``: close() then aborts the connection (RST).
LINGER_ABORT = struct.pack("ii", 1, 0)


def close_quietly(s: socket.socket) -> None:
    """Close a socket without leaving anything behind in the kernel.

    A socket that still carries a connection is aborted (SO_LINGER 0: RST), so the peer's
    half goes away too instead of lingering in CLOSE-WAIT or FIN-WAIT-2; others are just
    closed.  TIME-WAIT mini-sockets a scenario made belong to the kernel and expire on
    their own (after 60 s).
    """
    if s.fileno() == -1:
        return
    try:
        state = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
        alive = state not in (7, 10)            # TCP_CLOSE, TCP_LISTEN
    except OSError:
        alive = False
    if alive:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ABORT)
        except OSError:
            pass
    try:
        s.close()
    except OSError:
        pass


@dataclass
class Host:
    """One side of the lab: its name, address and (for the namespace lab) namespace."""

    name: str
    ip: str
    ns: NetNamespace | None = None


class Lab:
    """Common interface of the two labs (used by :mod:`tcplab.live.runner`)."""

    mode = "?"
    privileged = False
    delay = 0.0

    def __init__(self, names: tuple[str, str] = ("client", "server")) -> None:
        if isinstance(names, str) or len(tuple(names)) != 2 or len(set(names)) != 2 or not all(
                isinstance(n, str) and n.isidentifier() for n in names):
            raise ValueError(f"names are the two sides' names, two different words such as "
                             f"('client', 'server'), not {names!r}")
        self.names = tuple(names)
        #: Namespaces of dead processes (a SIGKILLed lab) removed when this lab opened.
        self.swept: list[str] = cleanup_stale()
        self.hosts: dict[str, Host] = {}
        self._diags: dict[str, Diag | ProcReader] = {}
        self.force_proc = False      # read /proc/net/tcp even where sock_diag works
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.closed = False

    # -- sockets -----------------------------------------------------------------------
    def socket(self, actor: str) -> socket.socket:
        """A new non-blocking TCP socket in ``actor``'s network (tracked for cleanup)."""
        host = self.hosts[actor]
        if host.ns is not None:
            s = host.ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        self.track(s)
        return s

    def track(self, s: socket.socket) -> socket.socket:
        """Close ``s`` with the lab (an accepted socket, for instance); return it."""
        with self._lock:
            self._sockets = [x for x in self._sockets if x.fileno() != -1]
            self._sockets.append(s)
        return s

    def open_sockets(self) -> list[socket.socket]:
        """The lab's sockets that still have a file descriptor."""
        with self._lock:
            return [s for s in self._sockets if s.fileno() != -1]

    # -- reading the kernel ------------------------------------------------------------
    def _diag(self, actor: str) -> "Diag | ProcReader":
        d = self._diags.get(actor)
        if d is None:
            host = self.hosts[actor]
            enter = None if host.ns is None else (lambda: in_netns(host.ns.path))
            d = ProcReader(enter) if self.force_proc else reader(enter)
            self._diags[actor] = d
        return d

    def reader_name(self, actor: str | None = None) -> str:
        """How the lab reads the kernel's table: ``"sock_diag"`` or ``"/proc/net/tcp"``."""
        with self._lock:
            d = self._diag(actor or self.names[0])
        return "/proc/net/tcp" if isinstance(d, ProcReader) else "sock_diag"

    def lookup(self, actor: str, local: tuple[str, int],
               remote: tuple[str, int]) -> KernelSocket | None:
        """The socket with this four-tuple in ``actor``'s network namespace."""
        with self._lock:
            return self._diag(actor).lookup(local, remote)

    def lookup_many(self, actor: str, pairs: "list[tuple[tuple[str, int], tuple[str, int]]]"
                    ) -> list[KernelSocket | None]:
        """Several four-tuples in ``actor``'s namespace (one table read for /proc)."""
        with self._lock:
            return self._diag(actor).lookup_many(pairs)

    def proc_net_tcp(self, actor: str, ports: "set[int] | None" = None) -> list[KernelSocket]:
        """``/proc/net/tcp`` (+tcp6) of ``actor``'s namespace, parsed."""
        host = self.hosts[actor]
        if host.ns is None:
            return proc_net_tcp(ports)
        with in_netns(host.ns.path):
            return proc_net_tcp(ports)

    def sysctl(self, actor: str, key: str) -> str:
        """A sysctl (``"net.ipv4.tcp_fin_timeout"``) where ``actor`` lives, as text."""
        host = self.hosts[actor]
        if host.ns is not None:
            return host.ns.sysctl(key)
        with open("/proc/sys/" + key.replace(".", "/")) as fh:
            return fh.read().strip()

    def fin_timeout(self, actor: str) -> float:
        """``net.ipv4.tcp_fin_timeout`` where ``actor`` lives (seconds)."""
        return float(self.sysctl(actor, "net.ipv4.tcp_fin_timeout"))

    # -- the wire ----------------------------------------------------------------------
    def in_flight(self) -> int:
        """Segments held on the wire now (only the namespace lab holds any)."""
        return 0

    def quiet_for(self) -> float:
        """Seconds since a segment was last seen on the wire (loopback: for ever)."""
        return float("inf")

    def mark(self) -> None:
        """A run starts: restart the segment log."""

    @property
    def segments(self) -> list[WireSegment]:
        """The real segments seen since :meth:`mark` (only the namespace lab sees them)."""
        return []

    # -- life --------------------------------------------------------------------------
    def close_sockets(self) -> None:
        """Close every socket of the lab, aborting live connections."""
        for s in self.open_sockets():
            close_quietly(s)

    def close(self) -> None:
        """Close the lab's sockets and readers; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        try:
            self.close_sockets()
            for d in self._diags.values():
                d.close()
            self._diags.clear()
        finally:
            unregister(self)

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        hosts = ", ".join(f"{h.name}={h.ip}" + (f" in {h.ns.name}" if h.ns else "")
                          for h in self.hosts.values())
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {state}: {hosts}>"


class LoopbackLab(Lab):
    """Both sides on 127.0.0.1 of this machine's own network namespace.  No privileges.

    Opening it (as opening any lab) also removes the namespaces a SIGKILLed privileged lab
    left behind, if this process may (root): :func:`tcplab.live.netns.cleanup_stale`.
    """

    mode = "loopback"

    def __init__(self, names: tuple[str, str] = ("client", "server")) -> None:
        super().__init__(names)
        self.hosts = {n: Host(n, "127.0.0.1") for n in self.names}
        register(self)
