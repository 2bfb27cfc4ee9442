"""What an inference returns: one :class:`PacketState` per captured packet, and the
:class:`Inference` that holds them with the model's run behind them.

Built on the model's states, segments and network (:mod:`tcplab.network`), and on the
capture's packets (:mod:`tcplab.capture.reader`) and conversations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..network import Network
from ..segment import Segment
from ..states import TcpState
from .conversations import Conversation
from .point import CapturePoint
from .reader import TcpPacket

__all__ = ["PacketState", "Inference"]

S = TcpState


@dataclass(frozen=True)
class PacketState:
    """One captured packet and what the model says of it.

    ``number`` counts the conversation's packets from 1 (``packet.index`` is the frame in
    the file); ``src``/``dst`` are ``"client"``/``"server"``; ``sent_at``/``arrives_at``
    the estimated times (s, on the run's clock) it left its sender and reached its
    receiver; ``call`` the socket call inferred at the sender (``"close()"``), if any;
    ``sender`` and ``receiver`` are (before, after) states; ``states`` both ends' states
    once it arrived; ``predicted`` is true when the model itself sent this segment;
    ``marks`` what the capture shows and the RFC explains; ``uncertain`` what the
    inference cannot know.
    """

    number: int
    packet: TcpPacket
    src: str
    dst: str
    segment: Segment
    sent_at: float
    arrives_at: float
    call: str | None
    sender: tuple[TcpState, TcpState]
    receiver: tuple[TcpState, TcpState]
    states: dict
    explanation: str
    rfc: str
    predicted: bool
    retransmission: bool = False
    marks: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()
    transitions: tuple = ()
    sender_transitions: tuple = ()
    acceptable: bool | None = None     # RFC 9293 §3.10.7.4 test at a synchronized receiver
    old: bool = False                  # every byte of it is before the receiver's RCV.NXT
    error: str | None = None           # what the receiver's application is told ("reset")
    why_sent: str = ""                 # the model's explanation of the step that sent it
    timers: tuple = ()                 # (end, timer, deadline) running once it arrived

    def line(self) -> str:
        """One line: number, direction, segment, both ends' states once it arrived, and the
        socket call that sent it; then its marks and uncertainties, indented::

            #8   client -> server  FIN,ACK          client FIN-WAIT-1   server CLOSE-WAIT    close()
        """
        st = "  ".join(f"{n} {str(s):<12}" for n, s in self.states.items())
        text = (f"#{self.number:<4}{self.src:>6} -> {self.dst:<6}  {self.segment.label():<15}  "
                f"{st}  {self.call or ''}").rstrip()
        extra = [*self.marks, *(f"uncertain: {u}" for u in self.uncertain)]
        return text + "".join(f"\n      {e}" for e in extra)


@dataclass
class Inference:
    """The states of one conversation, packet by packet, and the model run behind them.

    ``network`` is the model's run (for :func:`tcplab.ui.stepper`); ``packets`` one
    :class:`PacketState` per captured packet; ``notes`` what holds for the whole
    conversation (capture point, mid-connection start, ...).
    """

    conversation: Conversation
    network: Network
    packets: list[PacketState]
    point: CapturePoint
    base: float
    notes: list[str] = field(default_factory=list)
    first_step: int = 0      # where the capture's own steps begin in network.history

    def sequence(self, end: str) -> list[TcpState]:
        """The states ``end`` (``"client"``/``"server"``) went through, repeats collapsed,
        from the model's run (so states that last no packet, such as SYN-SENT, count).

        It starts at CLOSED -- or, for a capture that starts mid-connection, at the state
        assumed before its first packet (ESTABLISHED), not at the assumed handshake."""
        if end not in ("client", "server"):
            raise ValueError(f"end is 'client' or 'server', got {end!r}")
        hist = self.network.history
        start = S.CLOSED
        if self.first_step:
            start = dict(hist[self.first_step - 1].states).get(end, S.CLOSED)
        out = [start]
        for step in hist[self.first_step:]:
            if step.actor == end and step.after is not None:
                if step.before is not None and step.before is not out[-1]:
                    out.append(step.before)
                if step.after is not out[-1]:
                    out.append(step.after)
        return out

    def text(self) -> str:
        """Every packet, one line each (with its marks), after the notes."""
        return "\n".join([*(f"note: {n}" for n in self.notes), *(p.line() for p in self.packets)])
