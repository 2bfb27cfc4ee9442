"""Step records: what happened at one event, told for a learner.

Every user call, segment arrival, timer firing and wire action returns a :class:`Step`.
Diagrams, the ladder, the widgets and the notebooks are all drawn from these records.
"""

from __future__ import annotations

from dataclasses import dataclass

from .segment import Segment
from .states import TcpState
from .transitions import Transition

__all__ = ["Step", "TcpError", "RFC_CALLS"]

#: The RFC 9293 §3.9.1 name of each user call.
RFC_CALLS = {"listen": "passive OPEN", "connect": "active OPEN", "send": "SEND",
             "close": "CLOSE", "abort": "ABORT", "recv": "RECEIVE"}


@dataclass(slots=True)
class Step:
    """One event and its consequences (a record: treat it as read-only).

    ``kind`` is ``"call"`` (a user call such as CLOSE), ``"segment"`` (a segment arrived),
    ``"timer"`` (a timer fired) or ``"wire"`` (the network dropped, duplicated or delayed a
    segment).  ``before``/``after`` are the actor's states (``None`` for the wire).

    ``event`` is display text only.  What happened is in the typed fields, never to be
    parsed back out of ``event``: ``call`` (one of :data:`~tcplab.endpoint.CALLS`, for a
    ``"call"`` step) and ``socket_call`` (the same as a sockets programmer writes it,
    ``"close()"`` or ``"shutdown(SHUT_WR)"``); ``timer`` (``"retransmission"``,
    ``"time-wait"``, ``"fin-wait-2"``, ``"persist"``, for a ``"timer"`` step);
    ``wire`` (``"drop"``, ``"duplicate"``, ``"delay"``, ``"inject"``, for a ``"wire"``
    step); ``retransmission`` (a segment was sent again after a timeout).
    """

    time: float
    actor: str
    kind: str
    event: str
    before: TcpState | None
    after: TcpState | None
    explanation: str
    rfc: str
    sent: tuple[Segment, ...] = ()
    received: Segment | None = None
    transitions: tuple[Transition, ...] = ()
    delivered: bytes = b""
    error: str | None = None          # a signal to the user: "connection reset", ...
    index: int = -1                   # position in the network's history
    packets: tuple[int, ...] = ()     # ids of the packets this step put on the wire
    packet: int | None = None         # id of the packet this step consumed/acted on
    timers: tuple[tuple[str, str, float], ...] = ()  # (endpoint, timer, deadline) afterwards
    states: tuple[tuple[str, TcpState], ...] = ()    # every endpoint's state afterwards
    call: str | None = None           # "listen", "connect", "send", "close", "abort", "recv"
    socket_call: str | None = None    # "listen()", "close()", "shutdown(SHUT_WR)", ...
    timer: str | None = None          # "retransmission", "time-wait", "fin-wait-2", "persist"
    wire: str | None = None           # "drop", "duplicate", "delay", "inject"
    retransmission: bool = False      # a segment was sent again after a timeout
    read: bytes = b""                 # what the application read, for a "recv" call
    socket: str | None = None         # on a network of hosts: the socket ("server:80")
    result: str | None = None         # a socket call's result: "fd 4", "ECONNRESET", ...
    discard: str | None = None        # why the host dropped the arriving segment unprocessed:
    #                                   "accept queue full", "SYN queue full" (Linux)

    @property
    def transition(self) -> Transition | None:
        """The (last) diagram edge this step took, if any."""
        return self.transitions[-1] if self.transitions else None

    @property
    def rfc_call(self) -> str | None:
        """The RFC's name of the user call (``"passive OPEN"``, ``"CLOSE"``), if any."""
        return RFC_CALLS.get(self.call) if self.call else None

    @property
    def changed_state(self) -> bool:
        return self.before is not self.after

    def summary(self) -> str:
        """``0.100 client SYN-SENT -> ESTABLISHED: rcv SYN,ACK``"""
        arrow = (f"{self.before} -> {self.after}" if self.changed_state
                 else f"{self.after}" if self.after else "")
        return f"{self.time:8.3f} {self.actor:>8} {arrow}: {self.event}"


class TcpError(Exception):
    """A user call that is not possible now.  Nothing was changed.

    ``message`` is the RFC's wording where it has one ("connection already exists"),
    ``state`` the state the endpoint was in, ``allowed`` the calls possible instead.
    """

    def __init__(self, call: str, state: TcpState, message: str, rfc: str,
                 allowed: "list[str] | tuple[str, ...]", endpoint: str = "",
                 hint: str = "") -> None:
        self.call = call
        self.state = state
        self.message = message
        self.rfc = rfc
        self.allowed = tuple(allowed)
        self.endpoint = endpoint
        self.hint = hint
        who = f"{endpoint}: " if endpoint else ""
        possible = ", ".join(f"{c}()" for c in self.allowed) or "none (wait for the peer or a timer)"
        text = (f"{who}{call}() is not possible in state {state}: "
                f"error: {message} (RFC 9293 {rfc}). Possible now: {possible}.")
        if hint:
            text += " " + hint
        super().__init__(text)
