"""Your own capture: open a pcap or pcapng file and see both ends' TCP states, packet by packet.

A layer on the model, like :mod:`tcplab.render` and :mod:`tcplab.live`::

    from tcplab import capture
    cap = capture.open_capture(capture.example("http-reset"))
    print(cap.table())                  # the conversations, each with a one-line story
    inf = cap.infer(1)                  # both ends' states after every packet
    print(inf.text())                   # ... with retransmissions, RSTs and why, TIME-WAIT
    capture.ladder(inf)                 # the ladder, real times, states on the lanes
    print(capture.trace(inf))           # the RFC-figure trace
    capture.diagram(inf)                # the state diagram with both paths
    # from tcplab.ui import stepper; stepper(inf.network)

Modules, in reading order: :mod:`~tcplab.capture.reader` (dpkt streams the file),
:mod:`~tcplab.capture.conversations` (four-tuples and stories),
:mod:`~tcplab.capture.point` (where the capture was taken), :mod:`~tcplab.capture.plan`
(ISNs, MSS, windows, timings: what the capture tells before the model runs),
:mod:`~tcplab.capture.infer` (the model fed with the captured segments),
:mod:`~tcplab.capture.records` (what it returns), :mod:`~tcplab.capture.marks` (what the
RFC explains), :mod:`~tcplab.capture.show` (pictures through :mod:`tcplab.render`),
:mod:`~tcplab.capture.record` (captures made here with the live lab, on loopback or in its
namespaces), :mod:`~tcplab.capture.write` (small captures written from a list of
segments); the command line is ``python -m tcplab capture`` (:mod:`tcplab.cli`).

dpkt is the ``capture`` extra (``pip install tcplab[capture]``); it is imported when a file
is read, so ``import tcplab.capture`` works without it.

>>> from tcplab.capture import Capture
>>> Capture("no-such-file.pcap")
Traceback (most recent call last):
...
tcplab.capture.reader.CaptureError: no such capture file: 'no-such-file.pcap'
"""

from __future__ import annotations

import os
from pathlib import Path

from .conversations import Conversation, conversation_packets, conversations, format_table
from .infer import CapturePoint, Inference, PacketState, infer
from .reader import LINK_TYPES, CaptureError, ReadStats, TcpPacket, read_tcp
from .show import CaptureRun, diagram, ladder, save_ladder, trace

__all__ = ["Capture", "open_capture", "CaptureError", "TcpPacket", "ReadStats", "read_tcp",
           "LINK_TYPES", "Conversation", "conversations", "conversation_packets",
           "format_table", "infer", "Inference", "PacketState", "CapturePoint", "CaptureRun",
           "ladder", "save_ladder", "trace", "diagram", "EXAMPLES", "example"]


class Capture:
    """A capture file and its TCP conversations (read once, streamed).

    ``path`` names a pcap or pcapng file; raises :class:`CaptureError` if it is missing or
    not a capture.  ``conversations`` are numbered from 1; :meth:`infer` reads one
    conversation's packets (a second pass) and infers both ends' states.
    """

    def __init__(self, path: "str | os.PathLike[str]", *,
                 max_conversations: int = 100_000) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise CaptureError(f"Capture() takes the path of a .pcap or .pcapng file, "
                               f"got {type(path).__name__}")
        self.path = Path(path)
        self.stats = ReadStats()
        self.conversations = conversations(self.path, stats=self.stats,
                                           max_conversations=max_conversations)

    def __len__(self) -> int:
        return len(self.conversations)

    def __repr__(self) -> str:
        return f"<Capture {self.path.name}: {self.stats.summary()}>"

    def table(self) -> str:
        """The conversation list, one line each, after a line about the file."""
        return f"{self.path.name}: {self.stats.summary()}\n{format_table(self.conversations)}"

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(self.table())}</pre>"

    def conversation(self, number: int) -> Conversation:
        """Conversation ``number`` (1-based); ``CaptureError`` naming the range otherwise."""
        n = len(self.conversations)
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= n:
            have = f"1..{n}" if n else "none: this capture holds no TCP"
            raise CaptureError(f"no conversation {number!r} in {self.path.name}; "
                               f"the conversations are {have}")
        return self.conversations[number - 1]

    def packets(self, number: int) -> list[TcpPacket]:
        """The packets of conversation ``number``, in capture order."""
        return conversation_packets(self.path, self.conversation(number))

    def infer(self, number: int = 1) -> Inference:
        """Both ends' states after every packet of conversation ``number``."""
        return infer(self.conversation(number), self.packets(number))


def open_capture(path: "str | os.PathLike[str]") -> Capture:
    """Open a pcap or pcapng file: ``Capture(path)``."""
    return Capture(path)


#: The captures shipped with tcplab (package data, made on Linux loopback by
#: ``tests/data/captures/make_captures.py``): name -> what it shows.
EXAMPLES = {
    "loopback-teardown": "the live lab's teardown-client-first: a request, a reply, the "
                         "client closes first",
    "http-reset": "an HTTP/1.1 request and reply; the server closes with a pipelined "
                  "request unread, so Linux sends RST instead of FIN",
    "http-ipv6": "an HTTP/1.1 request and reply over IPv6 (::1), the client closes first",
    "simultaneous-close": "the live lab's simultaneous-close in two network namespaces with "
                          "a 0.25 s delay each way: the FINs cross (RFC 9293 figure 13)",
}


def example(name: str) -> Path:
    """The path of a shipped capture (see :data:`EXAMPLES`).

    >>> example("http-reset").name
    'http-reset.pcap'
    """
    if name not in EXAMPLES:
        raise CaptureError(f"no example capture {name!r}; the examples are "
                           f"{', '.join(EXAMPLES)}")
    return Path(__file__).resolve().parent / "data" / f"{name}.pcap"
