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
from typing import Any, Callable, TypeVar

from ..states import TcpState
from .reader import CaptureError, require_dpkt

__all__ = ["record", "record_namespaces", "Recording", "compare_sequences", "capture_loopback"]

T = TypeVar("T")

_ETH_P_ALL = 0x0003
_PACKET_OUTGOING = 4
_SO_TIMESTAMPNS = 35
_MAX_FRAMES = 100_000
_MAX_BYTES = 64 << 20
_FRAME_BUFFER = 262144          # a loopback frame with GSO can exceed 64 KB
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
    Linux differences (:data:`tcplab.live.LINUX_DIFFERENCES`).

    The kernel's sequence must be a subsequence of the inferred one, and every inferred
    state the kernel did not report must be one the sampler cannot see on loopback
    (:data:`tcplab.live.TRANSIENT_STATES`: a segment is delivered inside the system call
    that sends it) or the final CLOSED (the socket is gone, so no row is left to sample).
    """
    from ..live import TRANSIENT_STATES
    k = 0
    for n, state in enumerate(inferred):
        if k < len(kernel) and state is kernel[k]:
            k += 1
        elif state in TRANSIENT_STATES or (state is S.CLOSED and n == len(inferred) - 1):
            continue
        else:
            return False
    return k == len(kernel)


def _frames(sock: socket.socket, stop: threading.Event, out: list,
            skip_outgoing: bool) -> None:
    """Read frames until ``stop``: TCP over IPv4/IPv6 only, at most ``_MAX_FRAMES`` frames
    and ``_MAX_BYTES`` bytes (other traffic on the interface shares the capture)."""
    held = 0
    while not stop.is_set():
        try:
            data, anc, _, addr = sock.recvmsg(_FRAME_BUFFER, socket.CMSG_SPACE(16))
        except socket.timeout:
            continue
        except OSError:
            return
        if skip_outgoing and addr[2] == _PACKET_OUTGOING:
            continue
        ethertype = data[12:14]
        if not (ethertype == b"\x08\x00" and len(data) > 23 and data[23] == 6 or
                ethertype == b"\x86\xdd" and len(data) > 20 and data[20] == 6):
            continue
        ts = time.time()
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(value) >= 16:
                sec, nsec = struct.unpack("qq", value[:16])
                ts = sec + nsec / 1e9
        if len(out) < _MAX_FRAMES and held + len(data) <= _MAX_BYTES:
            held += len(data)
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


def capture_loopback(path: "str | os.PathLike[str]", during: Callable[[], T],
                     keep: Callable[[], set[frozenset]]) -> tuple[T, int, int]:
    """Capture loopback frames to ``path`` while ``during()`` runs; return its result, the
    number of frames written and the number the kernel dropped.

    ``keep()`` (called after ``during``) gives the four-tuples to keep, each a frozenset of
    two (address, port) pairs; other loopback traffic is left out.  Raises
    :class:`CaptureError` without ``CAP_NET_RAW``, or if no frame was kept.
    """
    return _capture(path, during, keep, "lo", None)


def _packet_socket(make: Callable[..., socket.socket] | None) -> socket.socket:
    args = (socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
    try:
        return make(*args) if make is not None else socket.socket(*args)
    except (PermissionError, AttributeError, OSError) as exc:
        raise CaptureError(f"capturing needs a Linux packet socket and CAP_NET_RAW (root): "
                           f"{exc}; use a shipped capture instead") from None


def _capture(path: "str | os.PathLike[str]", during: Callable[[], T],
             keep: Callable[[], set[frozenset]], device: str,
             make: Callable[..., socket.socket] | None) -> tuple[T, int, int]:
    dpkt = require_dpkt()
    sock = _packet_socket(make)
    frames: list[tuple[float, bytes]] = []
    stop = threading.Event()
    dropped = 0
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        # other traffic shares the buffer: make it large, and count drops below
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.bind((device, 0))
        sock.settimeout(0.05)
        # on loopback each frame is seen going out and coming in: keep one copy
        reader = threading.Thread(target=_frames, args=(sock, stop, frames, device == "lo"),
                                  daemon=True, name="tcplab-capture")
        reader.start()
        result = during()
        time.sleep(0.05)
        stop.set()
        reader.join(2)
        _, dropped = struct.unpack("II", sock.getsockopt(_SOL_PACKET, _PACKET_STATISTICS, 8))
    finally:
        stop.set()
        sock.close()
    wanted = keep()
    kept = [(ts, f) for ts, f in frames if _endpoints(f, dpkt) in wanted]
    if not kept:
        raise CaptureError(f"no frame of the connections {sorted(map(sorted, wanted))} in "
                           f"the capture ({len(frames)} frames seen on {device})")
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f, snaplen=262144, linktype=dpkt.pcap.DLT_EN10MB, nano=True)
        for ts, frame in kept:
            w.writepkt(frame, ts=ts)
    return result, len(kept), dropped


def record_namespaces(scenario: str, path: "str | os.PathLike[str]", *,
                      delay: float | None = None, side: str = "client") -> Recording:
    """Run live scenario ``scenario`` in the namespace lab (root; a real one-way ``delay`` on
    the wire, default the scenario's or 0.25 s) and capture on ``side``'s virtual
    Ethernet interface.  The delay line holds each segment in its *sender's* namespace, so
    this capture sees ``side``'s own segments ``delay`` seconds after they were sent.

    Raises :class:`CaptureError` if the namespace lab cannot be built here.
    """
    from .. import live
    sc = live.LIVE_SCENARIOS.get(scenario)
    delay = delay if delay is not None else (getattr(sc, "delay", None) or 0.25)
    fin_timeout = getattr(sc, "fin_timeout", None)
    try:
        lab = live.open_lab(privileged=True, delay=delay, fin_timeout=fin_timeout)
    except Exception as exc:                    # no root, no namespaces, no NFQUEUE
        raise CaptureError(f"the namespace lab is not available here: {exc}") from None
    with lab:
        try:
            host, device = lab.hosts[side], lab.devices[side]   # type: ignore[attr-defined]
        except (AttributeError, KeyError):
            raise CaptureError(f"the namespace lab has no side {side!r} to capture on "
                               f"(sides: {', '.join(getattr(lab, 'names', ()))})") from None
        holder: list[Any] = []

        def during() -> Any:
            holder.append(live.run(scenario, lab, delay=delay))
            return holder[0]

        run, frames, dropped = _capture(path, during, lambda: _tuples(holder[0]), device,
                                        host.ns.socket)
    return Recording(Path(path), run, frames, dropped)


def record(scenario: str, path: "str | os.PathLike[str]", **run_kwargs: Any) -> Recording:
    """Run live scenario ``scenario`` on loopback and capture its segments to ``path``.

    ``run_kwargs`` go to :func:`tcplab.live.run` (``privileged`` is forced off: the packet
    socket listens on loopback).  Raises :class:`CaptureError` without ``CAP_NET_RAW``, or if
    the run's connections left no frame in the capture.
    """
    from .. import live
    run_kwargs["privileged"] = False
    holder: list[Any] = []

    def during() -> Any:
        holder.append(live.run(scenario, **run_kwargs))
        return holder[0]

    run, frames, dropped = capture_loopback(path, during, lambda: _tuples(holder[0]))
    return Recording(Path(path), run, frames, dropped)
