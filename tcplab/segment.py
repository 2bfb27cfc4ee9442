"""TCP segments and sequence-number arithmetic (RFC 9293 §3.1, §3.4).

Sequence numbers live in a 32-bit circle: every comparison is modulo 2**32, so
``seq_lt(2**32 - 1, 0)`` is true -- 0 comes *after* 4294967295.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["Flags", "Segment", "SEQ_MOD", "seq_add", "seq_sub", "seq_lt", "seq_le",
           "seq_gt", "seq_ge", "seq_in_window"]

SEQ_MOD = 2 ** 32
_HALF = 2 ** 31


def seq_add(a: int, n: int) -> int:
    """``a + n`` on the sequence-number circle."""
    return (a + n) % SEQ_MOD


def seq_sub(a: int, b: int) -> int:
    """Signed distance from ``b`` to ``a`` (``a - b``), in ``[-2**31, 2**31)``."""
    d = (a - b) % SEQ_MOD
    return d - SEQ_MOD if d >= _HALF else d


def seq_lt(a: int, b: int) -> bool:
    """``a < b`` modulo 2**32 (RFC 9293 §3.4)."""
    return (a - b) & 0xFFFFFFFF >= 0x80000000


def seq_le(a: int, b: int) -> bool:
    return a == b or (a - b) & 0xFFFFFFFF >= 0x80000000


def seq_gt(a: int, b: int) -> bool:
    return a != b and (b - a) & 0xFFFFFFFF >= 0x80000000


def seq_ge(a: int, b: int) -> bool:
    return a == b or (b - a) & 0xFFFFFFFF >= 0x80000000


def seq_in_window(x: int, start: int, size: int) -> bool:
    """``start =< x < start + size`` on the circle (the RFC's acceptability tests)."""
    return 0 <= (x - start) % SEQ_MOD < size


class Flags(enum.IntFlag):
    """TCP control bits, with their bit values from the header (RFC 9293 §3.1)."""

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10

    NONE = 0

    def rfc(self) -> str:
        """``SYN,ACK`` -- the order the RFC's figures use (ACK last)."""
        order = (Flags.SYN, Flags.FIN, Flags.RST, Flags.PSH, Flags.ACK)
        return ",".join(f.name for f in order if f in self)

    def tcpdump(self) -> str:
        """``S.`` -- tcpdump's letters (F S R P, and ``.`` for ACK) in tcpdump's order."""
        letters = ((Flags.FIN, "F"), (Flags.SYN, "S"), (Flags.RST, "R"), (Flags.PSH, "P"),
                   (Flags.ACK, "."))
        return "".join(ch for f, ch in letters if f in self) or "none"

    @classmethod
    def parse(cls, text: str) -> "Flags":
        """``"SYN,ACK"``, ``"syn+ack"``, ``"S."`` or ``"FA"`` -> Flags."""
        if not isinstance(text, str):
            raise TypeError(f"Flags.parse() takes text such as 'SYN,ACK' or 'S.', got {text!r}")
        text = text.strip()
        flags = cls.NONE
        words = [w for w in text.replace("+", ",").replace("|", ",").replace(" ", ",")
                 .upper().split(",") if w]
        if words and all(w in cls.__members__ for w in words):
            for w in words:
                flags |= cls[w]
            return flags
        letters = {"F": cls.FIN, "S": cls.SYN, "R": cls.RST, "P": cls.PSH, ".": cls.ACK,
                   "A": cls.ACK}
        if text and all(ch.upper() in letters for ch in text):
            for ch in text:
                flags |= letters[ch.upper()]
            return flags
        raise ValueError(f"cannot read TCP flags from {text!r}: use names such as "
                         "'SYN,ACK' or tcpdump letters such as 'S.' (F S R P, '.' = ACK)")


@dataclass(frozen=True)
class Segment:
    """One TCP segment: control bits, SEG.SEQ, SEG.ACK, SEG.WND and payload.

    Ports and addresses are left out: in tcplab a segment always travels between the
    two endpoints of one connection.
    """

    flags: Flags
    seq: int
    ack: int = 0
    window: int = 65535
    data: bytes = field(default=b"")
    # Derived once at construction (segments are immutable): the control bits as booleans
    # and SEG.LEN, the payload octets plus one for SYN and one for FIN (RFC 9293 §3.4).
    syn: bool = field(init=False, repr=False, compare=False)
    fin: bool = field(init=False, repr=False, compare=False)
    rst: bool = field(init=False, repr=False, compare=False)
    has_ack: bool = field(init=False, repr=False, compare=False)
    len: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.flags) is not Flags:
            flags = self.flags
            if isinstance(flags, bool) or not isinstance(flags, int) or not 0 <= flags <= 0x1F:
                raise TypeError(f"Segment flags are Flags (e.g. Flags.SYN | Flags.ACK), got "
                                f"{flags!r}; Segment.make('SYN,ACK', ...) takes them as text")
            object.__setattr__(self, "flags", Flags(flags))
        seq, ack, window = self.seq, self.ack, self.window
        if type(seq) is not int or not 0 <= seq < SEQ_MOD:
            raise ValueError(f"Segment seq must be an integer in 0..2**32-1, got {seq!r}")
        if type(ack) is not int or not 0 <= ack < SEQ_MOD:
            raise ValueError(f"Segment ack must be an integer in 0..2**32-1, got {ack!r}")
        if type(window) is not int or not 0 <= window < 2 ** 30:
            raise ValueError(f"Segment window must be a non-negative integer, got {window!r}")
        data = self.data
        if type(data) is not bytes:
            if isinstance(data, str):
                data = data.encode()
            elif isinstance(data, (bytearray, memoryview)):
                data = bytes(data)
            else:
                raise TypeError(f"Segment data is bytes or str, got {data!r:.60}")
            object.__setattr__(self, "data", data)
        bits = int(self.flags)
        setattr_ = object.__setattr__
        setattr_(self, "syn", bool(bits & 0x02))
        setattr_(self, "fin", bool(bits & 0x01))
        setattr_(self, "rst", bool(bits & 0x04))
        setattr_(self, "has_ack", bool(bits & 0x10))
        setattr_(self, "len", len(data) + (bits & 0x02 and 1) + (bits & 0x01))

    @property
    def last_seq(self) -> int:
        """SEG.SEQ + SEG.LEN - 1, the last sequence number the segment occupies."""
        return seq_add(self.seq, max(self.len, 1) - 1)

    # -- text forms ------------------------------------------------------------------------
    def rfc(self) -> str:
        """RFC 9293 figure notation: ``<SEQ=100><ACK=301><CTL=SYN,ACK>``."""
        parts = [f"<SEQ={self.seq}>"]
        if self.has_ack:
            parts.append(f"<ACK={self.ack}>")
        if self.flags:
            parts.append(f"<CTL={self.flags.rfc()}>")
        if self.data:
            parts.append(f"<DATA={len(self.data)}>")
        return "".join(parts)

    def tcpdump(self) -> str:
        """tcpdump-like short form: ``[S.] seq 100 ack 301`` or ``[P.] seq 101:106 ack 301 len 5``."""
        if self.data:
            seq = f"seq {self.seq}:{seq_add(self.seq, len(self.data))}"
        else:
            seq = f"seq {self.seq}"
        text = f"[{self.flags.tcpdump()}] {seq}"
        if self.has_ack:
            text += f" ack {self.ack}"
        if self.data:
            text += f" len {len(self.data)}"
        return text

    def label(self) -> str:
        """Very short name: ``SYN``, ``SYN,ACK``, ``ACK``, ``FIN,ACK`` or ``DATA(5),ACK``."""
        names = [f.name for f in (Flags.SYN, Flags.FIN, Flags.RST) if f in self.flags]
        if self.data:
            names.insert(0, f"DATA({len(self.data)})")
        if self.has_ack:
            names.append("ACK")
        return ",".join(names) or "(no flags)"

    def __str__(self) -> str:
        return self.rfc()

    @classmethod
    def make(cls, flags: "str | Flags", seq: int, ack: int = 0, *, window: int = 65535,
             data: "bytes | str" = b"") -> "Segment":
        """Convenience constructor taking flags as text: ``Segment.make("SYN,ACK", 300, 101)``.

        ``seq`` and ``ack`` are taken mod 2**32.  Raises ``TypeError``/``ValueError`` naming
        the argument."""
        if isinstance(flags, str):
            flags = Flags.parse(flags)
        for what, value in (("seq", seq), ("ack", ack), ("window", window)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Segment.make({what}=...) takes a whole number, got {value!r}")
        return cls(flags, seq % SEQ_MOD, ack % SEQ_MOD, window,
                   data.encode() if isinstance(data, str) else data)
