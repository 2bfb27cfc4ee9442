"""Netlink message framing: the one place that packs and unpacks ``struct nlmsghdr``.

The live lab speaks two netlink protocols, both from pure Python: ``NETLINK_SOCK_DIAG``
(:class:`tcplab.live.kernel.Diag`, looking up one socket by its four-tuple, as ``ss`` does)
and ``NETLINK_NETFILTER``'s queue subsystem (:class:`tcplab.live.netns.NfQueue`, the delay
line).  Both put their messages in the same frame, described in netlink(7) and
``include/uapi/linux/netlink.h``::

    struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }   -- host byte order
    payload, padded to 4 bytes; inside it, attributes (struct nlattr { u16 len; u16 type; })

Built on :mod:`struct` only: pyroute2 would do this too, but it is a large dependency for
three helpers, and the lab must run on a bare Python (Binder, CI) -- so it is hand-written,
once, here.

>>> frame = message(20, REQUEST, 7, b"abcd")
>>> [(m.type, m.seq, m.payload) for m in messages(frame)]
[(20, 7, b'abcd')]
>>> list(attributes(attribute(1, b"xy") + attribute(10, b"")))
[(1, b'xy'), (10, b'')]
"""

from __future__ import annotations

import struct
from typing import Iterator, NamedTuple

__all__ = ["HEADER", "NLMSG_ERROR", "NLMSG_DONE", "REQUEST", "ACK", "DUMP", "Message",
           "message", "messages", "error_code", "attribute", "attributes"]

#: ``struct nlmsghdr``: length, type, flags, sequence number, port id (host byte order).
HEADER = struct.Struct("=IHHII")
NLMSG_ERROR = 2
NLMSG_DONE = 3
#: Header flags (``NLM_F_REQUEST``, ``NLM_F_ACK``, ``NLM_F_DUMP`` = ROOT | MATCH).
REQUEST = 0x1
ACK = 0x4
DUMP = 0x300
_ATTR = struct.Struct("=HH")
_ATTR_TYPE_MASK = 0x3FFF       # without NLA_F_NESTED / NLA_F_NET_BYTEORDER


class Message(NamedTuple):
    """One netlink message: its header fields and its payload (without the header)."""

    type: int
    flags: int
    seq: int
    payload: bytes


def _align(n: int) -> int:
    return (n + 3) & ~3


def message(msg_type: int, flags: int, seq: int, payload: bytes) -> bytes:
    """One framed message: the header, then ``payload``."""
    return HEADER.pack(HEADER.size + len(payload), msg_type, flags, seq, 0) + payload


def messages(data: bytes) -> Iterator[Message]:
    """The messages in one datagram received from a netlink socket, in order.

    A truncated or malformed frame ends the iteration (the kernel never sends one).
    """
    off = 0
    while off + HEADER.size <= len(data):
        length, typ, flags, seq, _ = HEADER.unpack_from(data, off)
        if length < HEADER.size or off + length > len(data):
            return
        yield Message(typ, flags, seq, data[off + HEADER.size:off + length])
        off += _align(length)


def error_code(payload: bytes) -> int:
    """The errno of an ``NLMSG_ERROR`` message (``struct nlmsgerr``): 0 is an ACK."""
    return -struct.unpack_from("=i", payload)[0]


def attribute(kind: int, data: bytes) -> bytes:
    """One attribute (``struct nlattr`` and its data, padded to 4 bytes)."""
    length = _ATTR.size + len(data)
    return _ATTR.pack(length, kind) + data + b"\0" * (-length % 4)


def attributes(data: bytes, offset: int = 0) -> Iterator[tuple[int, bytes]]:
    """``(type, data)`` for each attribute in ``data`` from ``offset`` on."""
    a = offset
    while a + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, a)
        if length < _ATTR.size:
            return
        yield kind & _ATTR_TYPE_MASK, data[a + _ATTR.size:a + length]
        a += _align(length)
