"""Writing small captures: TCP segments to a pcap or pcapng file, in any link type read here.

For test data, lessons and benchmarks: a conversation written as a list of
:class:`Frame` (time, direction, flags, SEQ, ACK, payload) becomes a real capture file,
built with dpkt's packet classes and its ``pcap.Writer`` / ``pcapng.Writer`` -- the
same library that reads them back (:mod:`tcplab.capture.reader`), no hand-made bytes.

>>> import io
>>> from tcplab.capture.reader import read_tcp
>>> buf = io.BytesIO()
>>> write_capture(buf, [Frame(0.0, "c", "S", 100), Frame(0.01, "s", "SA", 300, 101)],
...               link="sll2", ipv6=True)
>>> [(p.src, p.flags.tcpdump()) for p in read_tcp(io.BytesIO(buf.getvalue()))]
[('fd00::1', 'S'), ('fd00::2', 'S.')]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO, Iterable

from ..segment import Flags
from .reader import CaptureError, require_dpkt

__all__ = ["Frame", "write_capture", "LINKS", "frame_bytes"]

#: Link type names accepted by :func:`write_capture` -> LINKTYPE number.
LINKS = {"ethernet": 1, "sll": 113, "sll2": 276, "raw": 101, "ipv4": 228, "ipv6": 229,
         "null": 0}


@dataclass(frozen=True)
class Frame:
    """One segment to write: ``time`` (s), ``src`` ``"c"`` (client) or ``"s"`` (server),
    ``flags`` (``"SA"``, ``"FA"``... see :meth:`tcplab.segment.Flags.parse`), SEQ, ACK,
    ``data`` (bytes, or an int: that many zero bytes), ``window``, and SYN options
    ``mss``/``wscale``."""

    time: float
    src: str
    flags: str
    seq: int
    ack: int = 0
    data: "bytes | int" = b""
    window: int = 65535
    mss: int | None = None
    wscale: int | None = None


def frame_bytes(f: Frame, *, link: str = "ethernet", ipv6: bool = False,
                client: tuple[str, int] | None = None,
                server: tuple[str, int] | None = None) -> bytes:
    """The bytes of one frame on link type ``link`` (see :data:`LINKS`)."""
    dpkt = require_dpkt()
    if f.src not in ("c", "s"):
        raise CaptureError(f"Frame.src is 'c' (client) or 's' (server), got {f.src!r}")
    if link not in LINKS:
        raise CaptureError(f"link is one of {', '.join(LINKS)}, got {link!r}")
    client = client or (("fd00::1" if ipv6 else "10.0.0.1"), 40000)
    server = server or (("fd00::2" if ipv6 else "10.0.0.2"), 80)
    a, b = (client, server) if f.src == "c" else (server, client)
    flags = int(Flags.parse(f.flags)) if f.flags else 0
    data = bytes(f.data) if isinstance(f.data, int) else f.data
    opts = b""
    if f.mss is not None:
        opts += dpkt.tcp.TCP_OPT_MSS.to_bytes(1, "big") + b"\x04" + f.mss.to_bytes(2, "big")
    if f.wscale is not None:
        opts += b"\x01\x03\x03" + bytes([f.wscale])
    while len(opts) % 4:
        opts += b"\x00"
    tcp = dpkt.tcp.TCP(sport=a[1], dport=b[1], seq=f.seq, ack=f.ack, flags=flags,
                       win=f.window, opts=opts, data=data)
    tcp.off = (20 + len(opts)) // 4
    if ipv6:
        import ipaddress
        ip = dpkt.ip6.IP6(src=ipaddress.ip_address(a[0]).packed,
                          dst=ipaddress.ip_address(b[0]).packed, nxt=6, hlim=64, data=tcp,
                          plen=len(tcp))
        ethertype = 0x86DD
    else:
        import ipaddress
        ip = dpkt.ip.IP(src=ipaddress.ip_address(a[0]).packed,
                        dst=ipaddress.ip_address(b[0]).packed, p=6, ttl=64, data=tcp)
        ip.len = len(ip)
        ethertype = 0x0800
    body = bytes(ip)
    if link == "ethernet":
        return bytes(dpkt.ethernet.Ethernet(src=b"\x02\x00\x00\x00\x00\x01",
                                            dst=b"\x02\x00\x00\x00\x00\x02",
                                            type=ethertype, data=body))
    if link == "sll":
        return bytes(dpkt.sll.SLL(type=4 if f.src == "c" else 0, hrd=1, hlen=6,
                                  hdr=b"\x02\x00\x00\x00\x00\x01\x00\x00", ethtype=ethertype,
                                  data=body))
    if link == "sll2":
        return bytes(dpkt.sll2.SLL2(ethtype=ethertype, intindex=1, hrd=1,
                                    type=4 if f.src == "c" else 0, hlen=6,
                                    hdr=b"\x02\x00\x00\x00\x00\x01\x00\x00", data=body))
    if link == "null":                   # BSD loopback: the address family, host order
        return (30 if ipv6 else 2).to_bytes(4, "little") + body
    return body


def write_capture(target: "str | os.PathLike[str] | BinaryIO", frames: Iterable[Frame], *,
                  link: str = "ethernet", fmt: str = "pcap", ipv6: bool = False,
                  client: tuple[str, int] | None = None,
                  server: tuple[str, int] | None = None, snaplen: int = 262144) -> None:
    """Write ``frames`` as a capture: ``fmt`` ``"pcap"`` or ``"pcapng"``, link type ``link``.

    ``client``/``server`` are (address, port); the defaults are 10.0.0.1:40000 and
    10.0.0.2:80 (fd00::1 and fd00::2 with ``ipv6``).  ``snaplen`` cuts each frame, as
    ``tcpdump -s`` does.  Raises :class:`CaptureError` for an unknown ``link`` or ``fmt``.
    """
    dpkt = require_dpkt()
    if fmt not in ("pcap", "pcapng"):
        raise CaptureError(f"fmt is 'pcap' or 'pcapng', got {fmt!r}")
    if link not in LINKS:
        raise CaptureError(f"link is one of {', '.join(LINKS)}, got {link!r}")
    own = isinstance(target, (str, os.PathLike))
    f = open(target, "wb") if own else target
    try:
        make = dpkt.pcap.Writer if fmt == "pcap" else dpkt.pcapng.Writer
        w = make(f, snaplen=snaplen, linktype=LINKS[link])
        for fr in frames:
            if not isinstance(fr, Frame):
                raise CaptureError(f"write_capture() takes Frame objects, got {fr!r}")
            if not 0 <= fr.time < 2 ** 32:
                raise CaptureError(f"Frame.time is seconds since the epoch, 0 <= time < 2**32 "
                                   f"(pcap's range), got {fr.time!r}")
            buf = frame_bytes(fr, link=link, ipv6=ipv6, client=client, server=server)
            w.writepkt(buf[:snaplen], ts=fr.time)
    finally:
        if own:
            f.close()  # type: ignore[union-attr]
