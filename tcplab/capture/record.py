"""Captures made on this machine: a live-lab run on loopback, recorded with a packet socket.

:func:`record` plays a live scenario (:func:`tcplab.live.run`) on loopback and, at the same
time, reads every frame on the ``lo`` interface from a Linux packet socket
(``AF_PACKET``, ``packet(7)``), with the kernel's receive timestamps (``SO_TIMESTAMPNS``),
as tcpdump does through libpcap.  The frames of the run's own connections (by their
four-tuples, which the lab's kernel sampler reports) are written to a pcap file with dpkt;
other loopback traffic on the machine is left out.  The result holds both the capture and
the kernel's states, so the inference from the capture can be compared with the kernel
(:meth:`Recording.compare`).

Why a packet socket and not tcpdump: the socket needs no program outside Python, and the
filtering by four-tuple needs the run's ports, known only once the run is over.  It needs
``CAP_NET_RAW`` (root); without it :func:`record` raises :class:`CaptureError` saying so.
Each frame on loopback is seen twice by a packet socket (going out and coming in); only
the incoming copy is kept (``PACKET_OUTGOING`` frames are skipped), as tcpdump shows one.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..states import TcpState
from .reader import CaptureError, require_dpkt

__all__ = ["record", "Recording", "compare_sequences"]

_ETH_P_ALL = 0x0003
_PACKET_OUTGOING = 4
_SO_TIMESTAMPNS = 35
_MAX_FRAMES = 100_000
_SOL_PACKET = 263
_PACKET_STATISTICS = 6
S = TcpState


@dataclass
class Recording:
    """A capture made here and the live run it recorded: ``path`` (the pcap file),
    ``run`` (a :class:`tcplab.live.LiveRun`), ``frames`` written."""

    path: Path
    run: Any
    frames: int
    dropped: int = 0        # frames the kernel dropped from the packet socket's buffer

    def compare(self, number: int = 1) -> dict[str, tuple[list[TcpState], list[TcpState], bool]]:
        """For each end: (kernel's states, inferred states, agree?) -- see
        :func:`compare_sequences`."""
        from . import Capture
        inf = Capture(self.path).infer(number)
        out = {}
        for end in ("client", "server"):
            kernel = self.run.sequence(end)
            inferred = inf.sequence(end)
            out[end] = (kernel, inferred, compare_sequences(kernel, inferred))
        return out


def compare_sequences(kernel: list[TcpState], inferred: list[TcpState]) -> bool:
    """True when the kernel's states agree with the inferred ones, modulo the documented
    Linux differences (:data:`tcplab.live.LINUX_DIFFERENCES`): the kernel's sampler misses
    states that last microseconds on loopback, so the kernel's sequence must be a
    subsequence of the inferred one; and a run's end (the lab closes live sockets with a
    RST, a TIME-WAIT the sampler still sees) is compared as far as the capture goes."""
    it = iter(inferred)
    return all(any(s is t for t in it) for s in kernel)


def _frames(sock: socket.socket, stop: threading.Event, out: list) -> None:
    while True:
        try:
            data, anc, _, addr = sock.recvmsg(65536, socket.CMSG_SPACE(16))
        except socket.timeout:
            if stop.is_set():
                return
            continue
        except OSError:
            return
        if addr[2] == _PACKET_OUTGOING:
            continue
        ts = time.time()
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(value) >= 16:
                sec, nsec = struct.unpack("qq", value[:16])
                ts = sec + nsec / 1e9
        if len(out) < _MAX_FRAMES:
            out.append((ts, data))


def _tuples(run: Any) -> set[frozenset]:
    """The run's four-tuple: both sides bind their (address, port) (``LiveRun.ports``)."""
    ends = [(ip, port) for ip, port in run.ports.values()]
    return {frozenset(ends)}


def _endpoints(frame: bytes, dpkt: Any) -> frozenset | None:
    try:
        eth = dpkt.ethernet.Ethernet(frame)
        ip = eth.data
        tcp = ip.data
        if not isinstance(tcp, dpkt.tcp.TCP):
            return None
        import ipaddress
        return frozenset([(str(ipaddress.ip_address(ip.src)), tcp.sport),
                          (str(ipaddress.ip_address(ip.dst)), tcp.dport)])
    except (dpkt.dpkt.Error, AttributeError, ValueError):
        return None


def record(scenario: str, path: "str | os.PathLike[str]", **run_kwargs: Any) -> Recording:
    """Run live scenario ``scenario`` on loopback and capture its segments to ``path``.

    ``run_kwargs`` go to :func:`tcplab.live.run` (``privileged`` is forced off: the packet
    socket listens on loopback).  Raises :class:`CaptureError` without ``CAP_NET_RAW``, or if
    the run's connections left no frame in the capture.
    """
    from .. import live
    dpkt = require_dpkt()
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
    except (PermissionError, AttributeError, OSError) as exc:
        raise CaptureError(f"capturing needs a Linux packet socket and CAP_NET_RAW (root): "
                           f"{exc}; use a shipped capture instead") from None
    frames: list[tuple[float, bytes]] = []
    stop = threading.Event()
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        # other loopback traffic shares the buffer: make it large, and count drops below
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.bind(("lo", 0))
        sock.settimeout(0.05)
        reader = threading.Thread(target=_frames, args=(sock, stop, frames), daemon=True,
                                  name="tcplab-capture")
        reader.start()
        run_kwargs["privileged"] = False
        run = live.run(scenario, **run_kwargs)
        time.sleep(0.05)
        stop.set()
        reader.join(2)
        _, dropped = struct.unpack("II", sock.getsockopt(_SOL_PACKET, _PACKET_STATISTICS, 8))
    finally:
        stop.set()
        sock.close()
    wanted = _tuples(run)
    kept = [(ts, f) for ts, f in frames if _endpoints(f, dpkt) in wanted]
    if not kept:
        raise CaptureError(f"the live run of {scenario!r} left no frame of its connections "
                           f"in the capture ({len(frames)} loopback frames seen)")
    path = Path(path)
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f, snaplen=262144, linktype=dpkt.pcap.DLT_EN10MB,
                                 nano=True)
        for ts, frame in kept:
            w.writepkt(frame, ts=ts)
    return Recording(path, run, len(kept), dropped)
