"""The actions that drive a :class:`~tcplab.network.Network`: typed, frozen records.

A run is a pure function of its seed, its configuration and its list of actions: the
network records every action that changes anything (a user call, a read by the
application, a packet delivered, dropped, duplicated, delayed or injected, a timer
firing), and :meth:`Network.replay` rebuilds the run by applying them again.  Times
(``at``, ``extra_delay``, ``seconds``) are virtual seconds; ``packet`` is a packet id
(``Packet.id``).

Built on :mod:`tcplab.segment` only.

>>> Call("client", "connect")
Call(actor='client', call='connect', args=())
>>> Deliver(3, at=0.1).packet
3
"""

from __future__ import annotations

from dataclasses import dataclass

from .segment import Segment

__all__ = ["Action", "Call", "Recv", "Deliver", "FireTimer", "Drop", "Duplicate", "Delay",
           "Inject", "SocketCall"]


@dataclass(frozen=True, slots=True)
class Call:
    """A user call on ``actor``: one of :data:`tcplab.endpoint.CALLS` with its arguments
    (``send`` takes the bytes, ``close`` takes ``shutdown=True`` for ``shutdown(SHUT_WR)``)."""

    actor: str
    call: str
    args: tuple = ()


@dataclass(frozen=True, slots=True)
class Recv:
    """The application on ``actor`` reads up to ``n`` bytes (``None``: all)."""

    actor: str
    n: int | None = None


@dataclass(frozen=True, slots=True)
class Deliver:
    """Packet ``packet`` reaches its destination at time ``at`` (seconds)."""

    packet: int
    at: float


@dataclass(frozen=True, slots=True)
class FireTimer:
    """``actor``'s timer ``timer`` fires at time ``at`` (seconds)."""

    actor: str
    timer: str
    at: float


@dataclass(frozen=True, slots=True)
class Drop:
    """The wire loses packet ``packet``."""

    packet: int


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The wire copies packet ``packet``; the copy arrives ``extra_delay`` s after it."""

    packet: int
    extra_delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Delay:
    """The wire holds packet ``packet`` ``seconds`` longer."""

    packet: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Inject:
    """A hand-made ``segment`` put on the wire from ``src`` towards ``dst``."""

    src: str
    dst: str
    segment: Segment
    sport: int | None = None          # ports, on a network of hosts (tcplab.sockets)
    dport: int | None = None


@dataclass(frozen=True, slots=True)
class SocketCall:
    """A sockets-API call on host ``host``'s file descriptor ``fd`` (``None`` for
    ``socket()``, which makes one): ``call`` is ``"bind"``, ``"listen"``, ``"accept"``,
    ``"connect"``, ``"send"``, ``"recv"``, ``"shutdown"``, ``"close"``, ``"setsockopt"`` or
    ``"getsockopt"``, with its arguments (see :class:`tcplab.sockets.Socket`)."""

    host: str
    fd: int | None
    call: str
    args: tuple = ()


Action = Call | Recv | Deliver | FireTimer | Drop | Duplicate | Delay | Inject | SocketCall
