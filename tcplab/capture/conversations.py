"""The TCP conversations of a capture, each with a one-line story.

One streaming pass over :func:`tcplab.capture.reader.read_tcp`: per four-tuple a small
running summary (packets, bytes each way, first and last time, and the few events the
story needs: who sent the first SYN, the SYN-ACK, the first FIN, a RST and when).  Memory
grows with the number of conversations, not the number of packets; ``max_conversations``
bounds it for untrusted input.

The story is told from the summary alone, in the words of Wireshark's conversation list
and Zeek's connection states, but naming RFC 9293's events: "handshake, 2.0 KB each way,
client closes first", "refused" (Zeek's REJ), "no answer to SYN" (S0), "reset by server
after a reply", "capture starts mid-connection".

>>> c = Conversation(1, ("10.0.0.1", 40000), ("10.0.0.2", 80))
>>> c.client, c.server
(('10.0.0.1', 40000), ('10.0.0.2', 80))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO, Iterable

from ..segment import Flags
from .reader import CaptureError, ReadStats, TcpPacket, read_tcp

__all__ = ["Conversation", "conversations", "conversation_packets", "format_table"]

Addr = tuple[str, int]


@dataclass
class Conversation:
    """One TCP conversation (a four-tuple) and what the capture shows of it.

    ``client`` is the end that sent the first SYN; without one (the capture starts
    mid-connection) it is a guess: the end with the higher port (servers listen on low,
    well-known ports) -- ``client_guessed`` says so.  ``bytes_from[end]`` counts payload
    bytes on the wire, ``packets`` all segments, ``start``/``end`` are capture times (s).
    """

    number: int
    a: Addr
    b: Addr
    packets: int = 0
    start: float = 0.0
    end: float = 0.0
    first_flags: Flags = Flags.NONE
    first_from: Addr | None = None
    syn_from: Addr | None = None
    synack_from: Addr | None = None
    syn_count: int = 0
    syn_senders: set = field(default_factory=set)
    fins: list[tuple[Addr, float, int, int]] = field(default_factory=list)  # src, t, FIN seq, ack
    rst_from: Addr | None = None
    rst_time: float | None = None
    data_before_rst: dict = field(default_factory=dict)
    bytes_from: dict = field(default_factory=dict)
    packets_from: dict = field(default_factory=dict)

    @property
    def client(self) -> Addr:
        if self.syn_from is not None:
            return self.syn_from
        if self.synack_from is not None:
            return self.b if self.synack_from == self.a else self.a
        return self.a if self.a[1] > self.b[1] else self.b

    @property
    def server(self) -> Addr:
        return self.b if self.client == self.a else self.a

    @property
    def client_guessed(self) -> bool:
        return self.syn_from is None and self.synack_from is None

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_from.values())

    def side(self, addr: Addr) -> str:
        """``"client"`` or ``"server"``."""
        return "client" if addr == self.client else "server"

    def add(self, p: TcpPacket) -> None:
        src = (p.src, p.sport)
        if not self.packets:
            self.start, self.first_flags, self.first_from = p.time, p.flags, src
        self.packets += 1
        self.end = max(self.end, p.time)
        self.packets_from[src] = self.packets_from.get(src, 0) + 1
        self.bytes_from[src] = self.bytes_from.get(src, 0) + p.length
        f = p.flags
        if f & Flags.SYN:
            if f & Flags.ACK:
                if self.synack_from is None:
                    self.synack_from = src
            else:
                self.syn_count += 1
                self.syn_senders.add(src)
                if self.syn_from is None and self.packets == 1 or \
                        self.syn_from is None and self.synack_from is None:
                    self.syn_from = src
        if f & Flags.FIN and not any(fin[0] == src for fin in self.fins):
            fin_seq = (p.seq + p.length + (1 if f & Flags.SYN else 0)) % 2 ** 32
            self.fins.append((src, p.time, fin_seq, p.ack if f & Flags.ACK else -1))
        if f & Flags.RST and self.rst_from is None:
            self.rst_from, self.rst_time = src, p.time
            self.data_before_rst = dict(self.bytes_from)

    # -- the story -------------------------------------------------------------------------
    def story(self) -> str:
        """One line: how the conversation went, as far as the capture shows."""
        c, s = self.client, self.server
        words: list[str] = []
        mid = not (self.first_flags & Flags.SYN)
        if mid:
            words.append("capture starts mid-connection")
        elif self.synack_from is None:
            if self.rst_from == s:
                return "refused (the server answered the SYN with a RST: no listener)"
            tries = f" ({self.syn_count} SYNs)" if self.syn_count > 1 else ""
            return f"no answer to SYN{tries}"
        elif len(self.syn_senders) == 2:
            words.append("simultaneous open (the SYNs crossed)")
        else:
            words.append("handshake")
        words.append(self._bytes_text())
        if self.rst_from is not None:
            who = self.side(self.rst_from)
            other = s if self.rst_from == c else c
            if self.data_before_rst.get(self.rst_from, 0) and not who == "client":
                after = "after a reply"
            elif self.data_before_rst.get(other, 0):
                after = "after data from the " + self.side(other)
            else:
                after = ""
            words.append(f"reset by {who}" + (f" {after}" if after else ""))
        elif len(self.fins) == 2:
            (first, _, fin_seq, _), (_, _, _, ack2) = self.fins
            if ack2 != (fin_seq + 1) % 2 ** 32:    # the second FIN had not seen the first
                words.append("both close at once (simultaneous close)")
            else:
                words.append(f"{self.side(first)} closes first")
        elif len(self.fins) == 1:
            words.append(f"{self.side(self.fins[0][0])} closes, the other end does not "
                         f"(half-close, or the capture ends)")
        else:
            words.append("still open at the end of the capture")
        return ", ".join(w for w in words if w)

    def _bytes_text(self) -> str:
        c = self.bytes_from.get(self.client, 0)
        s = self.bytes_from.get(self.server, 0)
        if not c and not s:
            return "no data"
        if c and s and max(c, s) <= 1.25 * min(c, s):
            return f"{_size(c)} each way" if _size(c) == _size(s) else \
                f"{_size(c)} up, {_size(s)} down"
        return f"{_size(c)} up, {_size(s)} down"

    def cells(self) -> tuple[str, str, str, str, str, str]:
        """The row of the conversation list: number, client (``?`` if guessed), server,
        packets, bytes, duration (s) and story."""
        guess = "?" if self.client_guessed else ""
        return (str(self.number), _addr(self.client) + guess, _addr(self.server),
                str(self.packets), _size(self.total_bytes), f"{self.duration:.3f}",
                self.story())  # type: ignore[return-value]


def _addr(a: Addr) -> str:
    host, port = a
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} KB"
    return f"{n / 1_000_000:.1f} MB"


def conversations(source: "str | os.PathLike[str] | BinaryIO", *,
                  stats: ReadStats | None = None,
                  max_conversations: int = 100_000) -> list[Conversation]:
    """The TCP conversations of a capture, numbered 1, 2, ... in order of first packet.

    Streams the file once.  Raises :class:`~tcplab.capture.reader.CaptureError` for a file
    that is not a capture, or if it holds more than ``max_conversations`` four-tuples.

    A capture with no TCP gives an empty list (``stats`` tells what it held instead).
    """
    if isinstance(max_conversations, bool) or not isinstance(max_conversations, int) or \
            max_conversations < 1:
        raise CaptureError(f"max_conversations takes a whole number >= 1, "
                           f"got {max_conversations!r}")
    found: dict[tuple[Addr, Addr], Conversation] = {}
    for p in read_tcp(source, stats):
        conv = found.get(p.key)
        if conv is None:
            if len(found) >= max_conversations:
                raise CaptureError(f"the capture holds more than max_conversations="
                                   f"{max_conversations} TCP conversations; pass a larger "
                                   f"max_conversations or filter the capture first "
                                   f"(tcpdump -r in.pcap -w out.pcap 'port 80')")
            conv = found[p.key] = Conversation(len(found) + 1, *p.key)
        conv.add(p)
    return list(found.values())


def conversation_packets(source: "str | os.PathLike[str] | BinaryIO", conv: Conversation,
                         *, max_packets: int = 50_000,
                         max_bytes: int = 64 << 20) -> list[TcpPacket]:
    """The packets of one conversation, in capture order (a second streaming pass).

    Raises :class:`CaptureError` if it has more than ``max_packets`` packets or
    ``max_bytes`` captured payload bytes (inference and pictures of one conversation are
    for people to read: cut the capture first)."""
    key = (conv.a, conv.b)
    out: list[TcpPacket] = []
    held = 0
    for p in read_tcp(source):
        if p.key == key:
            held += len(p.payload)
            if len(out) >= max_packets or held > max_bytes:
                limit = (f"max_packets={max_packets} packets" if len(out) >= max_packets
                         else f"max_bytes={max_bytes} payload bytes")
                raise CaptureError(f"conversation {conv.number} holds more than {limit}; "
                                   f"cut the capture first (editcap -r in.pcap out.pcap "
                                   f"1-10000, or tcpdump -r in.pcap -w out.pcap -c 10000)")
            out.append(p)
    return out


def format_table(convs: Iterable[Conversation]) -> str:
    """The conversation list as text, one conversation a line, columns aligned.

    >>> c = Conversation(1, ("10.0.0.1", 40000), ("10.0.0.2", 80), packets=1,
    ...                  first_flags=Flags.SYN, syn_from=("10.0.0.1", 40000), syn_count=1)
    >>> print(format_table([c]))
    #  client          server       packets  bytes  seconds  story
    1  10.0.0.1:40000  10.0.0.2:80        1    0 B    0.000  no answer to SYN
    """
    convs = list(convs)
    if not convs:
        return "no TCP conversations in this capture"
    head = ("#", "client", "server", "packets", "bytes", "seconds", "story")
    rows = [head, *(c.cells() for c in convs)]
    width = [max(len(r[k]) for r in rows) for k in range(6)]
    right = (True, False, False, True, True, True)
    lines = []
    for r in rows:
        cols = [r[k].rjust(width[k]) if right[k] else r[k].ljust(width[k]) for k in range(6)]
        lines.append("  ".join([*cols, r[6]]).rstrip())
    return "\n".join(lines)
