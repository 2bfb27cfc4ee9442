"""The delay line: every TCP segment a lab namespace sends is held ``delay`` seconds.

The netem qdisc (``tc qdisc add dev veth0 root netem delay 300ms``) is the usual way to
delay packets, but it is a kernel module (``CONFIG_NET_SCH_NETEM``) that many kernels --
including small cloud and CI VMs -- do not have.  Instead, in each namespace one rule ::

    iptables -A OUTPUT -o veth-... -p tcp -j NFQUEUE --queue-num 7 --queue-bypass

hands every TCP segment the namespace sends to user space, through the ``nfnetlink_queue``
netlink protocol, *before* it leaves.  :class:`NfQueue` speaks that protocol directly over a
raw netlink socket (framing: :mod:`tcplab.live.netlink`); :class:`Delayer` keeps each
segment's id for ``delay`` seconds and then gives the verdict ACCEPT, and the kernel sends
the segment on -- unchanged, in order.  That makes a one-way delay in each direction, so
every transient state lives for a visible time, and two SYNs (or two FINs) sent at the same
moment really cross on the wire.  ``--queue-bypass`` means: if the delay line is not
running, packets pass undelayed rather than being dropped.  As a bonus the delay line sees
every segment, so a run also records the real segments (:class:`WireSegment`).

Hand-written on purpose: the library alternative (python-netfilterqueue) needs a C build and
libnetfilter_queue; this is about 150 lines of :mod:`struct`.  The protocol is the kernel's
(``include/uapi/linux/netfilter/nfnetlink_queue.h``).  Builds on :mod:`tcplab.live.netns`
(the namespace a queue is bound in) and the model's :class:`~tcplab.segment.Segment`.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import os
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..segment import Flags, Segment
from . import netlink
from .netns import LabError, NetNamespace

__all__ = ["NfQueue", "Delayer", "WireSegment", "parse_ipv4_tcp"]

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
