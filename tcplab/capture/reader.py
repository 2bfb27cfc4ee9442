"""Reading TCP segments out of a pcap or pcapng file, one at a time (streamed).

Built on dpkt (the ``capture`` extra: ``pip install tcplab[capture]``), a well-kept pure-Python
packet library: ``dpkt.pcap.Reader`` and ``dpkt.pcapng.Reader`` read the files (classic
pcap in micro- or nanosecond resolution, either byte order; pcapng), and dpkt's ``Ethernet``,
``SLL``, ``SLL2``, ``IP``, ``IP6`` and ``TCP`` classes decode the headers.  Nothing here
parses a file format by hand; this module only picks the decoder for the file's link type
and turns dpkt's exceptions into one clear :class:`CaptureError` or a counted, skipped packet.

Link types (``LINKTYPE_*`` numbers of the pcap spec): Ethernet (1), Linux cooked capture
SLL (113) and SLL2 (276, ``tcpdump -i any`` since libpcap 1.10), raw IP (101, and the
historical DLT values 12 and 14), raw IPv4 (228), raw IPv6 (229), BSD loopback (0, 108).

pcapng: dpkt's reader takes the link type (and timestamp resolution) of the file's first
interface for every packet; a pcapng file that mixes interfaces of different link types is
best split first (``editcap``, or ``tshark -r in.pcapng -i`` per interface).

A capture is untrusted input: the file is read as a stream (memory does not grow with the
file), a damaged or cut-short packet is counted in :class:`ReadStats` and skipped, and a
file that is not a capture raises :class:`CaptureError` naming the file and what was
expected -- never a traceback from inside dpkt.

>>> import io, dpkt
>>> buf = io.BytesIO(); w = dpkt.pcap.Writer(buf, linktype=dpkt.pcap.DLT_RAW)
>>> tcp = dpkt.tcp.TCP(sport=40000, dport=80, seq=100, flags=dpkt.tcp.TH_SYN, win=64240)
>>> ip = dpkt.ip.IP(src=bytes([10, 0, 0, 1]), dst=bytes([10, 0, 0, 2]), p=6, data=tcp)
>>> w.writepkt(bytes(ip), ts=1.5); _ = buf.seek(0)
>>> [p.describe() for p in read_tcp(buf)]
['1.500000 10.0.0.1:40000 > 10.0.0.2:80 [S] seq 100 win 64240 len 0']
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

from ..segment import Flags, Segment

__all__ = ["CaptureError", "TcpPacket", "ReadStats", "read_tcp", "LINK_TYPES",
           "require_dpkt"]

#: The link types this reader decodes: LINKTYPE number -> name.
LINK_TYPES = {1: "Ethernet", 113: "Linux cooked capture (SLL)",
              276: "Linux cooked capture v2 (SLL2)", 101: "raw IP", 12: "raw IP (DLT_RAW)",
              14: "raw IP (DLT_RAW, BSD)", 228: "raw IPv4", 229: "raw IPv6",
              0: "BSD loopback (NULL)", 108: "OpenBSD loopback (LOOP)"}

_PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
                b"\xa1\xb2\x3c\x4d"}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_MAX_RECORD = 1 << 20   # bytes: larger than any frame (snaplen is at most 262144)
_TCP_FLAGS = 0x1F       # FIN SYN RST PSH ACK: the bits the model knows (no URG, ECE, CWR)


class CaptureError(ValueError):
    """A file that cannot be read as a capture, or an argument outside what is allowed."""


def require_dpkt() -> object:
    """Import dpkt, or raise :class:`CaptureError` saying how to install it."""
    try:
        import dpkt
    except ImportError:  # pragma: no cover - depends on the environment
        raise CaptureError("reading captures needs the dpkt package: "
                           "pip install 'tcplab[capture]' (or pip install dpkt)") from None
    return dpkt


@dataclass(frozen=True, slots=True)
class TcpPacket:
    """One TCP segment as the capture saw it.

    ``index`` is the frame number in the file (1-based, as Wireshark counts), ``time`` the
    capture timestamp in seconds since the epoch, ``src``/``dst`` IP addresses as text,
    ``flags`` the control bits the model knows (URG/ECE/CWR are dropped), ``window`` the raw
    16-bit header field (not yet scaled), ``payload`` the TCP payload bytes the capture
    holds and ``length`` its length on the wire (larger when the snapshot length cut it).
    ``options`` keeps the SYN options tcplab uses: ``mss`` and ``wscale``.
    """

    index: int
    time: float
    src: str
    sport: int
    dst: str
    dport: int
    flags: Flags
    seq: int
    ack: int
    window: int
    payload: bytes
    length: int
    mss: int | None = None
    wscale: int | None = None

    @property
    def key(self) -> tuple[tuple[str, int], tuple[str, int]]:
        """The conversation key: both (address, port) pairs, the smaller first."""
        a, b = (self.src, self.sport), (self.dst, self.dport)
        return (a, b) if a <= b else (b, a)

    def segment(self, window: int | None = None) -> Segment:
        """The model's :class:`~tcplab.segment.Segment` of this packet.  The payload is the
        captured bytes, padded with zeros to its wire ``length`` if the capture cut it."""
        data = self.payload if len(self.payload) == self.length else \
            self.payload + bytes(self.length - len(self.payload))
        return Segment(self.flags, self.seq, self.ack if self.flags & Flags.ACK else 0,
                       min(self.window if window is None else window, 2 ** 30 - 1), data)

    def describe(self) -> str:
        """A tcpdump-like line: ``time src:port > dst:port [flags] seq ... len N``."""
        ack = f" ack {self.ack}" if self.flags & Flags.ACK else ""
        return (f"{self.time:.6f} {self.src}:{self.sport} > {self.dst}:{self.dport} "
                f"[{self.flags.tcpdump()}] seq {self.seq}{ack} win {self.window} "
                f"len {self.length}")


@dataclass
class ReadStats:
    """What a read met besides TCP: filled in while :func:`read_tcp` streams."""

    frames: int = 0             # records in the file
    tcp: int = 0                # TCP segments yielded
    other: int = 0              # frames that are not TCP over IPv4/IPv6 (ARP, UDP, ICMP...)
    damaged: int = 0            # frames too short or malformed to decode (skipped)
    truncated_file: bool = False  # the file ends in the middle of a record
    link_type: int | None = None
    format: str = ""            # "pcap" or "pcapng"
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        link = LINK_TYPES.get(self.link_type or -1, f"link type {self.link_type}")
        text = (f"{self.format} file, {link}: {self.frames} frames, {self.tcp} TCP segments, "
                f"{self.other} other")
        if self.damaged:
            text += f", {self.damaged} damaged frames skipped"
        if self.truncated_file:
            text += "; the file is cut short in the middle of a packet"
        return text


def _open(source: "str | os.PathLike[str] | BinaryIO") -> tuple[BinaryIO, bool, str]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise CaptureError(f"no such capture file: {str(path)!r}")
        if path.is_dir():
            raise CaptureError(f"{str(path)!r} is a folder; give a .pcap or .pcapng file")
        return open(path, "rb"), True, str(path)
    if not hasattr(source, "read"):
        raise CaptureError(f"read_tcp() takes a file name or a binary file object, "
                           f"got {type(source).__name__}")
    return source, False, getattr(source, "name", "the capture")  # type: ignore[return-value]


def _link_decoder(dpkt: object, link: int, name: str):  # noqa: ANN202 - returns a callable
    """A function frame bytes -> IP/IP6 object (or None) for this link type."""
    ip_mod, ip6_mod = dpkt.ip, dpkt.ip6  # type: ignore[attr-defined]

    def raw(buf: bytes) -> object | None:
        if not buf:
            return None
        version = buf[0] >> 4
        return ip_mod.IP(buf) if version == 4 else ip6_mod.IP6(buf) if version == 6 else None

    if link == 1:
        eth = dpkt.ethernet.Ethernet  # type: ignore[attr-defined]
        return lambda buf: eth(buf).data
    if link == 113:
        sll = dpkt.sll.SLL  # type: ignore[attr-defined]
        return lambda buf: sll(buf).data
    if link == 276:
        sll2 = dpkt.sll2.SLL2  # type: ignore[attr-defined]
        return lambda buf: sll2(buf).data
    if link in (101, 12, 14):
        return raw
    if link == 228:
        return lambda buf: ip_mod.IP(buf)
    if link == 229:
        return lambda buf: ip6_mod.IP6(buf)
    if link in (0, 108):
        return lambda buf: raw(buf[4:])          # a 4-byte address family, then IP
    known = ", ".join(f"{n} ({v})" for n, v in LINK_TYPES.items())
    raise CaptureError(f"{name}: link type {link} is not one tcplab reads; it reads {known}")


def _options(dpkt: object, tcp: object) -> tuple[int | None, int | None]:
    if not tcp.flags & 0x02:  # type: ignore[attr-defined]
        return None, None
    mss = wscale = None
    try:
        for kind, value in dpkt.tcp.parse_opts(tcp.opts):  # type: ignore[attr-defined]
            if kind == 2 and len(value) == 2:
                mss = struct.unpack("!H", value)[0]
            elif kind == 3 and len(value) == 1:
                wscale = min(value[0], 14)             # RFC 7323 §2.3: at most 14
    except Exception:  # malformed options: keep the segment, without them
        return None, None
    return mss, wscale


def read_tcp(source: "str | os.PathLike[str] | BinaryIO", stats: ReadStats | None = None,
             *, max_frames: int | None = None) -> Iterator[TcpPacket]:
    """Yield every TCP segment (over IPv4 or IPv6) in a pcap or pcapng file, in file order.

    ``source`` is a path or a binary file object.  The file is streamed: memory stays
    bounded whatever its size.  ``stats`` (a :class:`ReadStats`) is filled in as the read
    goes; ``max_frames`` stops after that many frames (a bound on time for untrusted input).

    Raises :class:`CaptureError` for a missing file, a file that is neither pcap nor pcapng
    (naming the magic number found), an unsupported link type, or a missing dpkt.
    Damaged frames are skipped and counted (``stats.damaged``); a file cut short in the
    middle of a record ends the read (``stats.truncated_file``).
    """
    if max_frames is not None and (isinstance(max_frames, bool) or
                                   not isinstance(max_frames, int) or max_frames < 1):
        raise CaptureError(f"max_frames takes None or a whole number >= 1, got {max_frames!r}")
    dpkt = require_dpkt()
    stats = stats if stats is not None else ReadStats()
    f, own, name = _open(source)
    try:
        yield from _read(dpkt, f, name, stats, max_frames)
    finally:
        if own:
            f.close()


class _Watched:
    """The file, noticing a read that returns less than asked: a record cut short."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.short = False
        self.oversized = 0

    def read(self, n: int = -1) -> bytes:
        if n is not None and n > _MAX_RECORD:     # a damaged length: never read gigabytes
            self.oversized = n
            raise ValueError(f"a record of {n} bytes")
        data = self._f.read(n)
        if n is not None and n > 0 and len(data) < n:
            self.short = True
        return data

    def __getattr__(self, name: str) -> object:
        return getattr(self._f, name)


def _read(dpkt: object, f: BinaryIO, name: str, stats: ReadStats,
          max_frames: int | None) -> Iterator[TcpPacket]:
    start = f.tell() if f.seekable() else 0
    magic = f.read(4)
    if f.seekable():
        f.seek(start)
    else:
        raise CaptureError(f"{name}: the capture must be a seekable file")
    if magic in _PCAP_MAGICS:
        stats.format, make = "pcap", dpkt.pcap.Reader  # type: ignore[attr-defined]
    elif magic == _PCAPNG_MAGIC:
        stats.format, make = "pcapng", dpkt.pcapng.Reader  # type: ignore[attr-defined]
    else:
        found = magic.hex() if magic else "an empty file"
        raise CaptureError(f"{name} is not a capture: a pcap file starts with a1b2c3d4 "
                           f"(or d4c3b2a1, a1b23c4d), a pcapng file with 0a0d0d0a; "
                           f"found {found}")
    watched = _Watched(f)
    try:
        reader = make(watched)
    except (ValueError, dpkt.dpkt.Error, struct.error) as exc:  # type: ignore[attr-defined]
        raise CaptureError(f"{name}: the {stats.format} file header is damaged ({exc})") \
            from None
    link = reader.datalink()
    stats.link_type = link
    decode = _link_decoder(dpkt, link, name)
    tcp_cls = dpkt.tcp.TCP  # type: ignore[attr-defined]
    errors = (dpkt.dpkt.Error, struct.error, ValueError, IndexError)  # type: ignore[attr-defined]
    snaplen = getattr(reader, "snaplen", 0) or 262144    # pcapng: no file-wide snaplen
    records = iter(reader)
    index = 0
    while True:
        try:
            ts, buf = next(records)
        except StopIteration:
            return
        except errors:
            if watched.oversized:
                stats.damaged += 1
                stats.notes.append(f"record {index + 1} claims {watched.oversized} bytes, more "
                                   f"than any packet: the file is damaged from there on")
            else:
                stats.truncated_file = True
                stats.notes.append(f"the file ends in the middle of record {index + 1}")
            return
        index += 1
        stats.frames = index
        if watched.short:                     # the file ended inside this record
            stats.truncated_file = True
            stats.damaged += 1
            stats.notes.append(f"the file ends in the middle of record {index}; "
                               "that record is skipped")
            return
        if max_frames is not None and index > max_frames:
            stats.frames = max_frames
            stats.notes.append(f"stopped after max_frames={max_frames} frames")
            return
        try:
            ip = decode(buf)
            tcp = getattr(ip, "data", None)
            if not isinstance(tcp, tcp_cls):
                if isinstance(tcp, bytes) and getattr(ip, "p", getattr(ip, "nxt", 0)) == 6:
                    stats.damaged += 1          # TCP, but too short to decode
                else:
                    stats.other += 1
                continue
            family = socket.AF_INET if len(ip.src) == 4 else socket.AF_INET6
            src, dst = socket.inet_ntop(family, ip.src), socket.inet_ntop(family, ip.dst)
            payload = bytes(tcp.data)
            if isinstance(ip, dpkt.ip.IP):  # type: ignore[attr-defined]
                wire = ip.len - ip.hl * 4 - tcp.off * 4
            else:
                wire = ip.plen - (len(ip) - len(ip.data) - 40) - tcp.off * 4 \
                    if ip.plen else len(payload)
            # The IP header's length counts only where the capture cut the frame (snaplen):
            # a frame captured whole is the truth, whatever its header claims.
            length = max(len(payload), min(wire, 65535)) if len(buf) >= snaplen \
                else len(payload)
            mss, wscale = _options(dpkt, tcp)
            pkt = TcpPacket(index, float(ts), src, tcp.sport, dst, tcp.dport,
                            Flags(tcp.flags & _TCP_FLAGS), tcp.seq, tcp.ack, tcp.win,
                            payload, length, mss, wscale)
        except errors:
            stats.damaged += 1
            continue
        stats.tcp += 1
        yield pkt
