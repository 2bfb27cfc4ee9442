"""Network namespaces, a veth pair, and a user-space delay line built on NFQUEUE.

Everything here needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN).  Nothing touches the host's
own network: the two namespaces are new and empty, the veth pair lives only inside them,
and the iptables rules are added *inside* the namespaces -- they vanish with them.

The delay line
--------------
The netem qdisc (``tc qdisc add dev veth0 root netem delay 300ms``) is the usual way to
delay packets, but it is a kernel module (``CONFIG_NET_SCH_NETEM``) that many kernels --
including small cloud and CI VMs -- do not have.  Instead, in each namespace one rule ::

    iptables -A OUTPUT -o veth-... -p tcp -j NFQUEUE --queue-num 7 --queue-bypass

hands every TCP segment the namespace sends to user space, through the ``nfnetlink_queue``
netlink protocol, *before* it leaves.  :class:`NfQueue` speaks that protocol directly over a
raw netlink socket (pure Python, no C library); :class:`Delayer` keeps each segment's id for
``delay`` seconds and then gives the verdict ACCEPT, and the kernel sends the segment on --
unchanged, in order.  That makes a one-way delay in each direction, so every transient
state lives for a visible time, and two SYNs (or two FINs) sent at the same moment really
cross on the wire.  ``--queue-bypass`` means: if the delay line is not running, packets pass
undelayed rather than being dropped.  As a bonus the delay line sees every segment, so a run
also records the real segments (flags, sequence and acknowledgment numbers).

Cleanup
-------
Namespaces are named ``tcplab-<pid>-<n>-<actor>``.  They are deleted on every exit path:
``with``-block exit, exceptions and Ctrl-C (``KeyboardInterrupt`` runs the ``finally``),
interpreter exit (:mod:`atexit`) and SIGTERM/SIGHUP (turned into ``SystemExit`` while a lab
is open).  Deleting a namespace removes its veth end and its iptables rules with it.  Only a
SIGKILL can leave one behind; :func:`cleanup_stale` (called whenever a lab is opened)
removes namespaces whose process no longer exists.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import errno
import heapq
import itertools
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from ..segment import Flags, Segment
from . import netlink

__all__ = ["LabError", "in_netns", "NetNamespace", "NfQueue", "Delayer", "WireSegment",
           "cleanup_stale", "list_lab_namespaces", "privilege_problem", "NS_PREFIX",
           "RULE_COMMENT"]

CLONE_NEWNET = 0x40000000
NS_PREFIX = "tcplab-"
NETNS_DIR = "/run/netns"
#: Every iptables rule the lab adds carries this comment (so a test can look for leftovers).
RULE_COMMENT = "tcplab-live"


class LabError(RuntimeError):
    """The privileged lab cannot be set up (and why)."""


# ---------------------------------------------------------------------- setns

_libc = None


def _setns(fd: int) -> None:
    if hasattr(os, "setns"):                       # Python 3.12+
        os.setns(fd, CLONE_NEWNET)
        return
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextmanager
def in_netns(path: str) -> Iterator[None]:
    """Run the body with *this thread* inside the network namespace at ``path``.

    Sockets created inside stay in that namespace for their whole life; the thread
    returns to its own namespace afterwards, whatever happens.
    """
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(path, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


def _run(*cmd: str, ns: str | None = None, check: bool = True,
         timeout: float = 10) -> subprocess.CompletedProcess:
    argv = list(cmd)
    if ns is not None:
        argv = ["ip", "netns", "exec", ns, *argv]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed (exit {proc.returncode}): "
                       f"{(proc.stderr or proc.stdout).strip()}")
    return proc


def privilege_problem() -> str | None:
    """Why the privileged lab cannot run here, or ``None`` if it should."""
    if not hasattr(os, "geteuid") or not os.path.exists("/proc/self/ns/net"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return ("network namespaces, veth pairs and iptables need root "
                "(run as root, e.g. in CI or on your own Linux machine)")
    for prog, pkg in (("ip", "iproute2"), ("iptables", "iptables")):
        if shutil.which(prog) is None:
            return f"`{prog}` is not installed (Debian package {pkg})"
    return None


# ---------------------------------------------------------------------- namespaces

_counter = itertools.count(1)


def list_lab_namespaces() -> list[str]:
    """Names of the lab's network namespaces that exist now (any process)."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(NS_PREFIX))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_stale() -> list[str]:
    """Delete lab namespaces left behind by processes that no longer exist; return them."""
    removed = []
    for name in list_lab_namespaces():
        m = re.match(re.escape(NS_PREFIX) + r"(\d+)-", name)
        if m and not _pid_alive(int(m.group(1))):
            if _run("ip", "netns", "del", name, check=False).returncode == 0:
                removed.append(name)
    return removed


class NetNamespace:
    """A named network namespace of the lab (``ip netns add``)."""

    def __init__(self, label: str) -> None:
        self.name = f"{NS_PREFIX}{os.getpid()}-{next(_counter)}-{label}"
        if len(self.name) > 60:
            raise LabError(f"namespace name too long: {self.name}")
        _run("ip", "netns", "add", self.name)
        self.alive = True

    @property
    def path(self) -> str:
        return os.path.join(NETNS_DIR, self.name)

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return _run(*cmd, ns=self.name, check=check)

    def sysctl(self, key: str, value: object | None = None) -> str:
        """Read (or set) a per-namespace sysctl such as ``net.ipv4.tcp_fin_timeout``."""
        path = "/proc/sys/" + key.replace(".", "/")
        with in_netns(self.path):
            if value is not None:
                with open(path, "w") as fh:
                    fh.write(str(value))
            with open(path) as fh:
                return fh.read().strip()

    def socket(self, *args: int) -> socket.socket:
        """A socket created inside this namespace."""
        with in_netns(self.path):
            return socket.socket(*args)

    def delete(self) -> None:
        if self.alive:
            self.alive = False
            _run("ip", "netns", "del", self.name, check=False)

    def __repr__(self) -> str:
        return f"<NetNamespace {self.name}>"


# ---------------------------------------------------------------------- cleanup registry

_open_things: "weakref.WeakSet" = weakref.WeakSet()
_registry_lock = threading.Lock()
_old_handlers: dict[int, object] = {}


def _close_all() -> None:
    for thing in list(_open_things):
        try:
            thing.close()
        except Exception:   # pragma: no cover - best effort at exit
            pass


atexit.register(_close_all)


def _on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)          # unwinds through every ``finally``, then atexit


def register(thing: object) -> None:
    """Close ``thing`` (anything with ``close()``) at exit and on SIGTERM/SIGHUP."""
    with _registry_lock:
        _open_things.add(thing)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                if sig not in _old_handlers and signal.getsignal(sig) in (signal.SIG_DFL,
                                                                          None):
                    _old_handlers[sig] = signal.signal(sig, _on_signal)


def unregister(thing: object) -> None:
    with _registry_lock:
        _open_things.discard(thing)
        if not _open_things and threading.current_thread() is threading.main_thread():
            for sig, old in list(_old_handlers.items()):
                if signal.getsignal(sig) is _on_signal:
                    signal.signal(sig, old)  # type: ignore[arg-type]
                del _old_handlers[sig]


# ---------------------------------------------------------------------- NFQUEUE

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_PAYLOAD = 10
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_PACKET = 2
NF_DROP = 0
NF_ACCEPT = 1
_NFGEN = struct.Struct("!BBH")           # struct nfgenmsg: family, version, resource id


class NfQueue:
    """One netfilter queue, bound in one namespace, spoken to over raw netlink."""

    def __init__(self, ns: NetNamespace, num: int, copy: int = 2048) -> None:
        self.num = num
        self.ns = ns
        self.sock = ns.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            self.sock.bind((0, 0))
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self._seq = 0
            self._config(netlink.attribute(NFQA_CFG_CMD, struct.pack(
                "!BxH", NFQNL_CFG_CMD_BIND, socket.AF_INET)))
            self._config(netlink.attribute(NFQA_CFG_PARAMS, struct.pack(
                "!IB", copy, NFQNL_COPY_PACKET)))
        except BaseException:
            self.sock.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def _send(self, msg_type: int, flags: int, body: bytes) -> int:
        self._seq += 1
        payload = _NFGEN.pack(socket.AF_UNSPEC, 0, self.num) + body
        self.sock.send(netlink.message((NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, self._seq,
                                       payload))
        return self._seq

    def _config(self, body: bytes) -> None:
        seq = self._send(NFQNL_MSG_CONFIG, netlink.REQUEST | netlink.ACK, body)
        self.sock.settimeout(2)
        try:
            while True:
                for msg in netlink.messages(self.sock.recv(65536)):
                    if msg.type == netlink.NLMSG_ERROR and msg.seq == seq:
                        err = netlink.error_code(msg.payload)          # 0: the ACK
                        if err:
                            raise LabError(f"NFQUEUE configuration failed: {os.strerror(err)} "
                                           "(is nfnetlink_queue available in this kernel?)")
                        return
        finally:
            self.sock.settimeout(None)

    def receive(self) -> list[tuple[int, bytes]]:
        """Queued packets waiting now: ``(packet id, IP packet)``."""
        out: list[tuple[int, bytes]] = []
        try:
            data = self.sock.recv(262144, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return out
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:   # the kernel dropped queue messages: go on
                return out
            raise
        for msg in netlink.messages(data):
            if msg.type != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                continue
            pid, payload = None, b""
            for kind, value in netlink.attributes(msg.payload, _NFGEN.size):
                if kind == NFQA_PACKET_HDR:
                    pid = struct.unpack_from("!I", value)[0]
                elif kind == NFQA_PAYLOAD:
                    payload = value
            if pid is not None:
                out.append((pid, payload))
        return out

    def verdict(self, packet_id: int, accept: bool = True) -> None:
        verdict = struct.pack("!II", NF_ACCEPT if accept else NF_DROP, packet_id)
        self._send(NFQNL_MSG_VERDICT, netlink.REQUEST,
                   netlink.attribute(NFQA_VERDICT_HDR, verdict))

    def close(self) -> None:
        self.sock.close()


@dataclass(frozen=True)
class WireSegment:
    """A real segment the delay line saw: who sent it, when it left and arrived."""

    src: str
    dst: str
    sent: float            # seconds since the run's start: queued by the sender's kernel
    arrived: float         # released to the wire (it reaches the peer microseconds later)
    segment: Segment
    sport: int
    dport: int
    dropped: bool = False

    def __str__(self) -> str:
        what = "DROPPED " if self.dropped else ""
        return (f"{self.sent:7.3f}s {self.src} -> {self.dst}: {what}"
                f"{self.segment.tcpdump()}")


def parse_ipv4_tcp(packet: bytes) -> tuple[tuple[str, int], tuple[str, int], Segment] | None:
    """``((src ip, port), (dst ip, port), Segment)`` from an IPv4 packet, or None."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != socket.IPPROTO_TCP:
        return None
    ihl = (packet[0] & 15) * 4
    total = struct.unpack_from("!H", packet, 2)[0]
    if len(packet) < ihl + 20:
        return None
    sport, dport, seq, ack, off_flags, window = struct.unpack_from("!HHIIHH", packet, ihl)
    doff = (off_flags >> 12) * 4
    flags = Flags(off_flags & 0x1F)
    data = packet[ihl + doff:total]
    if not Flags.ACK & flags:
        ack = 0
    src = socket.inet_ntoa(packet[12:16])
    dst = socket.inet_ntoa(packet[16:20])
    return (src, sport), (dst, dport), Segment(flags, seq, ack, window, bytes(data))


class Delayer:
    """The delay line: holds each queued segment ``delay`` seconds, then lets it go.

    ``queues`` maps a queue to the name of the actor whose namespace it serves.  One thread
    waits on all of them with ``select`` and releases segments in order.  ``drop`` is a
    predicate: a segment it returns True for is dropped instead of delayed (once).
    """

    def __init__(self, queues: dict[NfQueue, str], names: dict[str, str], delay: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.queues = queues
        self.names = names                 # ip -> actor name
        self.delay = float(delay)
        self.clock = clock
        self.t0 = clock()
        self.segments: list[WireSegment] = []
        self.last_activity = self.t0
        self.errors: list[BaseException] = []
        self._held: list[tuple[float, int, NfQueue, int, int | None]] = []
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._stop = False
        self.drop_rules: list[Callable[[str, Segment], bool]] = []
        self._thread = threading.Thread(target=self._loop, name="tcplab-delay", daemon=True)
        self._thread.start()

    # -- read-outs --------------------------------------------------------------------
    def in_flight(self) -> int:
        with self._lock:
            return len(self._held)

    def quiet_for(self) -> float:
        """Seconds since a segment was last queued or released (0 while any is held)."""
        with self._lock:
            if self._held:
                return 0.0
            return self.clock() - self.last_activity

    def mark(self) -> None:
        """Start the segment log (and its clock) afresh."""
        with self._lock:
            self.t0 = self.clock()
            self.segments = []

    # -- the thread -------------------------------------------------------------------
    def _loop(self) -> None:
        fds = [*self.queues, self._wake_r]
        try:
            while not self._stop:
                now = self.clock()
                self._release(now)
                with self._lock:
                    timeout = max(0.0, self._held[0][0] - now) if self._held else 0.5
                ready, _, _ = select.select(fds, [], [], timeout)
                for q in ready:
                    if q == self._wake_r:
                        os.read(self._wake_r, 4096)
                        continue
                    for pid, packet in q.receive():
                        self._queued(q, pid, packet)
        except BaseException as exc:  # pragma: no cover - reported by close()
            self.errors.append(exc)
        finally:
            self._release(float("inf"))

    def _queued(self, q: NfQueue, pid: int, packet: bytes) -> None:
        now = self.clock()
        parsed = parse_ipv4_tcp(packet)
        src = self.queues[q]
        with self._lock:
            self.last_activity = now
            index = None
            if parsed is not None:
                (sip, sport), (dip, dport), seg = parsed
                dst = self.names.get(dip, dip)
                drop = any(rule(src, seg) for rule in self.drop_rules)
                self.segments.append(WireSegment(src, dst, now - self.t0,
                                                 now - self.t0 + (0 if drop else self.delay),
                                                 seg, sport, dport, drop))
                if drop:
                    q.verdict(pid, accept=False)
                    return
            heapq.heappush(self._held, (now + self.delay, next(self._ids), q, pid, index))

    def _release(self, until: float) -> None:
        while True:
            with self._lock:
                if not self._held or self._held[0][0] > until:
                    return
                _, _, q, pid, _ = heapq.heappop(self._held)
                self.last_activity = self.clock()
            try:
                q.verdict(pid)
            except OSError:
                pass            # the queue is closing

    def close(self) -> None:
        """Release everything still held and stop the thread."""
        self._stop = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        self._thread.join(timeout=5)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
