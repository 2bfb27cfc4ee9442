"""One TCP endpoint (one TCB), following RFC 9293 §3.10 "Event Processing".

Sans-I/O, like h11: you feed it events -- user calls, arriving segments, timer firings --
and it returns a :class:`~tcplab.steps.Step` telling what it did: its state before and
after, the segments it wants sent, and an explanation for a learner.  It never touches a
socket, a thread or the wall clock; time comes from a :class:`Clock` you advance.

Every state change goes through :mod:`tcplab.transitions`, so the state diagram shows
exactly the edges this code can take.

The receive window is the free space of the receive buffer (``Config.rcvbuf`` bytes, at
most ``Config.window``):
bytes delivered but not yet read by the application (``recv()``) close it, reading opens
it again with a window update (RFC 9293 §3.8.6.2.2), and a sender facing a zero window
probes it on the persist timer (§3.8.6.1; Linux's probe, ``<SEQ=SND.UNA-1><CTL=ACK>``).

Simplifications (documented, never silent): no urgent data, no options (MSS is fixed by
:class:`Config`), no congestion control, no delayed ACKs, no silly-window-syndrome avoidance (a sender
fills whatever window is offered, §3.8.6.2), retransmission of the oldest
unacknowledged segment only (RFC 6298 §5.4).  RFC 5961's challenge ACKs *are*
implemented, as in RFC 9293 and Linux.
"""

from __future__ import annotations

import random
import math
from collections import deque
from dataclasses import dataclass, fields, replace

from .segment import Flags, Segment, seq_add, seq_ge, seq_gt, seq_in_window, seq_le, seq_lt, \
    seq_sub
from .states import TcpState
from .steps import Step, TcpError
from .transitions import ABORT, BY_KEY, RCV_RST, TIMEOUT, Transition
from .transitions import Key as K

__all__ = ["Endpoint", "Config", "Clock", "CALLS", "SOCKET_CALLS"]

S = TcpState

#: The user calls, in the order the widgets show them.
CALLS = ("listen", "connect", "send", "close", "abort")

#: What a sockets programmer writes to make each RFC user call (RFC 9293 §3.9.1).
SOCKET_CALLS = {
    "listen": "bind(); listen(); accept()",
    "connect": "connect()",
    "send": "send()",
    "close": "shutdown(SHUT_WR) or close()",
    "abort": "SO_LINGER 0, then close()",
}


@dataclass
class Clock:
    """Virtual time in seconds, shared by the endpoints of one network."""

    now: float = 0.0


@dataclass(frozen=True)
class Config:
    """Tunables.  Defaults follow the RFCs; :meth:`linux` gives Linux's numbers."""

    rto: float = 1.0                  # initial retransmission timeout (RFC 6298 §2.1)
    rto_max: float = 60.0             # upper bound on the backed-off RTO (RFC 6298 §2.5)
    rto_min: float = 1.0              # lower bound on the RTO (RFC 6298 §2.4); Linux: 200 ms
    #                                   on the variance term (TCP_RTO_MIN), see rto_estimator
    rto_estimator: str = "rfc6298"    # "rfc6298": RTO = max(rto_min, SRTT + max(G, 4*RTTVAR));
    #                                   "linux": RTO = SRTT + max(rto_min, 4*RTTVAR) (tcp_input.c)
    clock_granularity: float = 0.001  # G of RFC 6298 §2, seconds
    syn_retries: int = 7              # retransmissions of SYN before giving up (R2 for SYN):
    #                                   1+2+4+8+16+32+60+60 = 183 s >= 3 min (RFC 9293 MUST-23)
    syn_linear_timeouts: int = 0      # Linux 6.x tcp_syn_linear_timeouts: the first this many
    #                                   SYN retransmissions keep the initial RTO, and add as
    #                                   many retransmissions to syn_retries
    synack_retries: int | None = None  # SYN,ACK retransmissions of a passive open (Linux
    #                                   tcp_synack_retries = 5); None: syn_retries
    retries: int = 15                 # retransmissions of data/FIN before giving up (R2)
    msl: float = 120.0                # Maximum Segment Lifetime: 2 minutes (RFC 9293 §3.4.2)
    time_wait: float | None = None    # TIME-WAIT duration; None means 2*MSL
    fin_wait_2_timeout: float | None = None  # Linux tcp_fin_timeout; the RFC has none
    mss: int = 536                    # the RFC's default send MSS (RFC 9293 §3.7.1)
    window: int = 65535               # largest window we advertise, bytes (no window scaling)
    rcvbuf: int = 131072              # receive buffer, bytes (Linux tcp_rmem's default);
    #                                   RCV.WND = min(window, rcvbuf - bytes not yet read)
    rfc1337: bool = False             # ignore RST in TIME-WAIT (Linux net.ipv4.tcp_rfc1337=1)
    # At most one ACK per this many seconds in answer to unacceptable segments and for
    # challenge ACKs (RFC 5961 §7; Linux net.ipv4.tcp_invalid_ratelimit = 500 ms).  Without
    # it two ends that disagree on sequence numbers would answer each other's ACKs forever.
    invalid_ack_interval: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("time_wait", "fin_wait_2_timeout", "synack_retries") and value is None:
                continue
            if f.name == "rto_estimator":
                if value not in ("rfc6298", "linux"):
                    raise ValueError(f"Config(rto_estimator={value!r}): 'rfc6298' or 'linux'")
                continue
            if f.name == "rfc1337":
                if type(value) is not bool:
                    raise TypeError(f"Config(rfc1337=...) takes True or False, got {value!r}")
                continue
            integer = f.name in ("syn_retries", "retries", "mss", "window", "rcvbuf",
                                 "syn_linear_timeouts", "synack_retries")
            if integer:
                if type(value) is not int:
                    raise TypeError(f"Config({f.name}=...) takes a whole number, got {value!r}")
            elif type(value) not in (int, float):
                raise TypeError(f"Config({f.name}=...) takes a number of seconds, got {value!r}")
            low = {"mss": 1, "window": 1, "rcvbuf": 1, "rto": 1e-6, "rto_min": 1e-6,
                   "clock_granularity": 1e-9, "rto_max": 1e-6, "msl": 1e-6,
                   "fin_wait_2_timeout": 1e-6}.get(f.name, 0)
            if not (math.isfinite(value) and value >= low) or (integer and value > 2 ** 30 - 1):
                what = {"mss": "at least 1 byte", "syn_retries": "0 or more",
                        "syn_linear_timeouts": "0 or more", "synack_retries": "0 or more",
                        "rcvbuf": "at least 1 byte and less than 2**30",
                        "retries": "0 or more",
                        "window": "at least 1 byte and less than 2**30 (to see a zero window, "
                                  "let the application not read: the window is the free space "
                                  "of the receive buffer)"}.get(
                    f.name, "a positive finite number of seconds" if low else
                    "a finite number of seconds >= 0")
                raise ValueError(f"Config({f.name}={value!r}): {f.name} must be {what}")
        if self.rto_max < self.rto_min:
            raise ValueError(f"Config(rto_max={self.rto_max!r}) is smaller than "
                             f"rto_min={self.rto_min!r}")
        if self.rto_max < self.rto:
            raise ValueError(f"Config(rto_max={self.rto_max!r}) is smaller than rto={self.rto!r}: "
                             "the backed-off RTO is bounded by rto_max, so rto_max >= rto")

    @property
    def time_wait_duration(self) -> float:
        return 2 * self.msl if self.time_wait is None else self.time_wait

    @property
    def synack_limit(self) -> int:
        """SYN,ACK retransmissions of a passive open before the half-open connection is
        dropped."""
        return self.syn_retries if self.synack_retries is None else self.synack_retries

    @classmethod
    def linux(cls, **overrides: object) -> "Config":
        """Linux's values, as a 6.x kernel has them (measured here on 6.18):

        * TIME-WAIT a fixed 60 s (``TCP_TIMEWAIT_LEN``); an orphaned FIN-WAIT-2 ends after
          ``tcp_fin_timeout`` = 60 s;
        * RTO from 1 s (``TCP_TIMEOUT_INIT``), SRTT + max(200 ms, 4*RTTVAR), at most 120 s;
        * SYN: ``tcp_syn_retries`` = 6 and ``tcp_syn_linear_timeouts`` = 4: 11 SYNs at 0, 1,
          2, 3, 4, 5, 7, 11, 19, 35, 67 s, ``ETIMEDOUT`` at 131 s (the kernel here: 135 s,
          with its timer slack).  Kernels before the linear timeouts:
          ``Config.linux(syn_linear_timeouts=0)``, 7 SYNs and 127 s;
        * SYN,ACK: ``tcp_synack_retries`` = 5: 6 SYN,ACKs, the request dropped after 63 s.
        """
        base = dict(rto=1.0, rto_max=120.0, rto_min=0.2, rto_estimator="linux",
                    syn_retries=6, syn_linear_timeouts=4, synack_retries=5, retries=15,
                    msl=30.0, time_wait=60.0, fin_wait_2_timeout=60.0)
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]


class _Out:
    """What one event produced, collected while it is processed."""

    __slots__ = ("sent", "taken", "delivered", "notes", "error", "need_ack", "call",
                 "socket_call", "timer", "retransmission")

    def __init__(self) -> None:         # (a plain class: this is built for every event)
        self.sent: list[Segment] = []
        self.taken: list[Transition] = []
        self.delivered = bytearray()
        self.notes: list[str] = []
        self.error: str | None = None
        self.need_ack = False
        self.call: str | None = None          # the user call this event is, if any
        self.socket_call: str | None = None   # ... as a sockets programmer writes it
        self.timer: str | None = None         # the timer that fired, if any
        self.retransmission = False           # a segment was sent again after a timeout


# States in which queued data (and a FIN behind it) may still be sent: a FIN that waits
# behind data leaves the state at FIN-WAIT-1, CLOSING or LAST-ACK while the data drains.
_SENDING_STATES = (S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK)
_AFTER_CLOSE = (S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSING, S.LAST_ACK, S.TIME_WAIT)  # CLOSE done
_RFC_REF: dict[str, str] = {}       # "§3.10.4" -> "RFC 9293 §3.10.4", built once each

# Flag combinations the endpoint sends, computed once (IntFlag arithmetic is slow).
_ACK = Flags.ACK
_PSH_ACK = Flags.PSH | Flags.ACK
_FIN_ACK = Flags.FIN | Flags.ACK
_SYN_ACK = Flags.SYN | Flags.ACK

_LABELS: dict[tuple[int, int], str] = {}


def _label(seg: Segment) -> str:
    """``seg.label()``, which depends only on the flags and the payload length: cached."""
    key = (int(seg.flags), len(seg.data))
    label = _LABELS.get(key)
    if label is None:
        label = _LABELS[key] = seg.label()
    return label


class Endpoint:
    """A TCP endpoint: its state, its TCB variables and its reaction to events.

    >>> a = Endpoint("A", iss=100)
    >>> a.connect().sent[0].rfc()
    '<SEQ=100><CTL=SYN>'
    """

    def __init__(self, name: str = "A", *, iss: int | None = None, config: Config | None = None,
                 clock: Clock | None = None, rng: random.Random | None = None) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"an Endpoint's name is non-empty text, got {name!r}")
        if iss is not None and (isinstance(iss, bool) or not isinstance(iss, int)
                                or not 0 <= iss < 2 ** 32):
            raise ValueError(f"Endpoint(iss=...) takes a sequence number in 0..2**32-1, "
                             f"got {iss!r}")
        if config is not None and not isinstance(config, Config):
            raise TypeError(f"Endpoint(config=...) takes a tcplab Config, got {config!r}")
        self.name = name
        self.config = config or Config()
        self.clock = clock or Clock()
        self._rng = rng or random.Random(0)
        self._fixed_iss = iss
        self.state = S.CLOSED
        self.received = bytearray()      # delivered to the application, not yet read
        self.reason: str | None = None   # why the connection ended, if it ended badly
        self._network = None             # weakref to the Network it belongs to, if any
        self._isn_offset: int | None = None  # F() of the ISN generator, drawn once
        self._reset_tcb()

    # ------------------------------------------------------------------ TCB and read-outs --
    def _reset_tcb(self) -> None:
        self.iss = 0
        self.irs = 0
        self.snd_una = 0
        self.snd_nxt = 0
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.rcv_nxt = 0
        self._rcv_adv = 0                 # right edge last advertised: RCV.NXT + RCV.WND
        self.send_buffer = bytearray()   # written by the application, not yet segmentized
        self._rtx: deque[Segment] = deque()  # retransmission queue, oldest first
        self._probes = 0                  # zero-window probes since the peer last ACKed
        self._held: dict[int, Segment] = {}  # out-of-order segments (RFC 9293 SHLD-31)
        self._fin_seq: int | None = None  # sequence number of our FIN once sent
        self._close_requested = False     # CLOSE issued, FIN not yet sent
        self._passive = False             # reached SYN-RECEIVED from LISTEN
        self._orphan = False              # close()d: the application has given the socket up
        self._shut_rd = False             # shutdown(SHUT_RD): the application reads no more
        self._shut_wr = False             # shutdown(SHUT_WR): FIN sent, the socket still held
        self._last_invalid_ack = float("-inf")
        self._peer_fin = False            # the peer's FIN has been received
        self.timers: dict[str, float] = {}
        self._rto = self.config.rto       # RTO, seconds (RFC 6298)
        self.srtt: float | None = None    # smoothed round-trip time, seconds (RFC 6298 §2)
        self.rttvar: float | None = None  # round-trip time variation, seconds
        self._timing: tuple[int, float] | None = None  # (sequence end, sent at) timed now
        self._syn_timed_out = False       # a SYN or SYN,ACK was retransmitted (RFC 6298 5.7)
        self._first_sent: float | None = None  # when our first segment (SYN) went out
        self._retries = 0

    @property
    def now(self) -> float:
        return self.clock.now

    @property
    def rcv_wnd(self) -> int:
        """RCV.WND, bytes: the free space of the receive buffer (``Config.rcvbuf`` minus the
        bytes delivered but not yet read by the application), at most ``Config.window``."""
        free = self.config.rcvbuf - len(self.received)
        window = self.config.window
        return window if free >= window else free if free > 0 else 0

    @property
    def orphan(self) -> bool:
        """True once the application gave the socket up with ``close()``: an *orphan* the
        kernel finishes alone (Linux: counted in ``tcp_orphan_count``)."""
        return self._orphan

    @property
    def shut_wr(self) -> bool:
        """True after ``shutdown(SHUT_WR)`` (the RFC's CLOSE) while the application still
        holds the socket: one ``close()`` remains possible, to give it up."""
        return self._shut_wr

    @property
    def fin_acked(self) -> bool:
        """True once our FIN has been sent and acknowledged."""
        return self._fin_seq is not None and seq_gt(self.snd_una, self._fin_seq)

    @property
    def retransmission_queue(self) -> tuple[Segment, ...]:
        return tuple(self._rtx)

    def tcb(self) -> dict[str, object]:
        """The RFC's variables, for display: SND.UNA, SND.NXT, RCV.NXT, ISS, IRS, ..."""
        return {"state": self.state.rfc, "ISS": self.iss, "IRS": self.irs,
                "SND.UNA": self.snd_una, "SND.NXT": self.snd_nxt, "SND.WND": self.snd_wnd,
                "RCV.NXT": self.rcv_nxt, "RCV.WND": self.rcv_wnd,
                "send buffer": bytes(self.send_buffer), "received": bytes(self.received),
                "timers": dict(self.timers)}

    def recv(self, n: int | None = None) -> bytes:
        """``recv(n)``: read (and remove) up to ``n`` bytes (default: all) the peer sent;
        ``b""`` if none yet.  On an endpoint of a :class:`~tcplab.network.Network` the read
        is recorded in the network's history, and a window update it causes is sent.

        Raises ``TypeError``/``ValueError`` unless ``n`` is ``None`` or a whole number >= 0.
        """
        network = self._network() if self._network is not None else None
        if network is not None:
            return network.recv(self.name, n)
        return self.read(n).read

    def read(self, n: int | None = None) -> Step:
        """The application reads up to ``n`` bytes (default: all): RECEIVE (RFC 9293
        §3.10.3).  The step's ``read`` holds the bytes; reading frees receive buffer, and
        when the window opens by at least min(buffer/2, MSS) beyond the right edge last
        advertised, a window update is sent (receiver SWS avoidance, §3.8.6.2.2)."""
        if n is not None and (type(n) is not int or n < 0):
            raise (TypeError if type(n) is not int else ValueError)(
                f"recv() takes a number of bytes >= 0 (or nothing, for all), got {n!r}")
        out = self._begin("recv", "recv()")
        before = self.state
        n = len(self.received) if n is None else n
        data = bytes(self.received[:n])
        del self.received[:n]
        text = (f"recv(): the application reads {len(data)} bytes" if data else
                "recv(): nothing to read yet" if not self._peer_fin else
                "recv() returns b'': the peer has closed its direction (end of file)")
        if data:
            text += f"; {len(self.received)} bytes stay unread, RCV.WND is {self.rcv_wnd}."
        else:
            text += "."
        if data and self.state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2):
            edge = seq_add(self.rcv_nxt, self.rcv_wnd)
            if seq_sub(edge, self._rcv_adv) >= min(self.config.rcvbuf // 2, self.config.mss):
                self._send_now(out, self._ack_segment())
                text += (f" The window opened by {seq_sub(edge, self._rcv_adv)} bytes: send a "
                         "window update so that the peer may send again.")
        step = self._step(out, before, "call", f"RECEIVE {len(data)} bytes  (recv())", text,
                          "§3.10.3")
        step.read = data
        return step

    def next_deadline(self) -> float | None:
        """When the next timer fires, or ``None`` if no timer runs."""
        return min(self.timers.values(), default=None)

    def __repr__(self) -> str:
        return f"<Endpoint {self.name} {self.state}>"

    # ------------------------------------------------------------------ possible calls -----
    def allowed_calls(self) -> dict[str, str | None]:
        """For each user call: ``None`` if possible now, else why not (for tooltips)."""
        return {call: (None if err is None else err.message)
                for call, err in ((c, self._refusal(c)) for c in CALLS)}

    def possible_calls(self) -> list[str]:
        """The user calls that are possible in the current state."""
        return [c for c, why in self.allowed_calls().items() if why is None]

    def _refusal(self, call: str) -> TcpError | None:
        why = self._why_not(call)
        if why is None:
            return None
        msg, rfc, hint = why
        allowed = [c for c in CALLS if c != call and self._why_not(c) is None]
        return TcpError(call, self.state, msg, rfc, allowed, self.name, hint)

    def _why_not(self, call: str) -> tuple[str, str, str] | None:
        """(RFC error message, RFC section, hint) if ``call`` is refused now, else None."""
        st = self.state
        msg = rfc = hint = None
        if call in ("listen", "connect"):
            if call == "listen" and st is not S.CLOSED:
                msg, rfc = "connection already exists", "§3.10.1"
            elif call == "connect" and st not in (S.CLOSED, S.LISTEN):
                msg, rfc = "connection already exists", "§3.10.1"
        elif call in ("send", "close"):
            section = "§3.10.2" if call == "send" else "§3.10.4"
            if st is S.CLOSED:
                msg, rfc = "connection does not exist", section
            elif st in _AFTER_CLOSE or self._close_requested:
                msg, rfc = "connection closing", section
                hint = ("This side has already called close(): it has promised to send "
                        "nothing more.")
        elif call == "abort":
            if st is S.CLOSED:
                msg, rfc = "connection does not exist", "§3.10.5"
        else:
            raise ValueError(f"unknown user call {call!r}; the calls are {', '.join(CALLS)}")
        if msg is None:
            return None
        return msg, rfc or "", hint or ""

    def _check(self, call: str) -> None:
        err = self._refusal(call)
        if err is not None:
            raise err

    # ------------------------------------------------------------------ user calls ---------
    def listen(self) -> Step:
        """Passive OPEN (``listen()``): wait for a SYN (RFC 9293 §3.10.1)."""
        self._check("listen")
        out = self._begin("listen", "listen()")
        before = self.state
        self._reset_tcb()
        self.reason = None
        self._go(out, K.PASSIVE_OPEN)
        return self._step(out, before, "call", "passive OPEN  (listen())",
                          "listen(): the TCB is created and waits in LISTEN for a SYN from "
                          "any remote TCP. Nothing is sent.", "§3.10.1")

    def connect(self) -> Step:
        """Active OPEN (``connect()``): choose an ISS and send SYN (RFC 9293 §3.10.1)."""
        self._check("connect")
        out = self._begin("connect", "connect()")
        before = self.state
        if before is S.CLOSED:
            self._reset_tcb()
            self.reason = None
        self.iss = self._choose_iss()
        self.snd_una, self.snd_nxt = self.iss, seq_add(self.iss, 1)
        self._go(out, K.ACTIVE_OPEN if before is S.CLOSED else K.LISTEN_CONNECT)
        self._emit(out, Segment(Flags.SYN, self.iss, 0, self.rcv_wnd), rtx=True)
        return self._step(out, before, "call", "active OPEN  (connect())",
                          f"connect(): choose the initial sequence number ISS={self.iss} and "
                          f"send SYN. SND.UNA={self.iss}, SND.NXT={self.snd_nxt} (the SYN "
                          "occupies one sequence number).", "§3.10.1")

    def send(self, data: bytes | str) -> Step:
        """SEND (``send()``): queue data and segmentize what the state allows (§3.10.2)."""
        if isinstance(data, str):
            data = data.encode()
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise ValueError("send() needs at least one byte of data (bytes or str)")
        self._check("send")
        out = self._begin("send", "send()")
        before = self.state
        self.send_buffer += data
        if before is S.LISTEN:
            self.iss = self._choose_iss()
            self.snd_una, self.snd_nxt = self.iss, seq_add(self.iss, 1)
            self._go(out, K.LISTEN_SEND)
            self._emit(out, Segment(Flags.SYN, self.iss, 0, self.rcv_wnd), rtx=True)
            text = (f"SEND on a listening connection makes it active: send SYN with "
                    f"ISS={self.iss}; the {len(data)} bytes wait until ESTABLISHED.")
        elif before in (S.SYN_SENT, S.SYN_RECEIVED):
            text = (f"{len(data)} bytes queued: data is sent only once the connection is "
                    "ESTABLISHED.")
        else:
            n = self._push(out)
            text = (f"send(): {n} new bytes go out in {len(out.sent)} segment(s), each "
                    f"acknowledging RCV.NXT={self.rcv_nxt}. SND.NXT is now {self.snd_nxt}.")
            if self.send_buffer:
                text += f" {len(self.send_buffer)} bytes wait for the peer's window to open."
        return self._step(out, before, "call", f"SEND {len(data)} bytes  (send())", text,
                          "§3.10.2")

    def close(self, orphan: bool = False) -> Step:
        """CLOSE: "I have nothing more to send" (RFC 9293 §3.10.4).

        ``close()`` (``orphan=False``) is the RFC's CLOSE, which the sockets API spells
        ``shutdown(SHUT_WR)``: our direction ends, the application keeps receiving.
        ``close(orphan=True)`` is the sockets API's ``close()``: the application also gives
        the socket up, so (RFC 9293 §3.6.1 SHLD-2, RFC 1122 §4.2.2.13, as Linux does) unread
        received data makes it send RST instead of FIN, data arriving later is answered with
        RST, and Linux's FIN-WAIT-2 timeout (``tcp_fin_timeout``) applies.  After a
        ``shutdown(SHUT_WR)``, one ``close(orphan=True)`` gives the socket up.

        Raises :class:`TcpError` where the state refuses it (nothing changes).
        """
        if type(orphan) is not bool:
            raise TypeError(f"close(orphan=...) takes True (close()) or False "
                            f"(shutdown(SHUT_WR)), got {orphan!r}")
        if not (orphan and self._shut_wr):
            self._check("close")
        out = self._begin("close", "close()" if orphan else "shutdown(SHUT_WR)")
        before = self.state
        event = "CLOSE  (close())" if orphan else "CLOSE  (shutdown(SHUT_WR))"
        if self._shut_wr:                      # shutdown(SHUT_WR) earlier: this gives it up
            return self._step(out, before, "call", "close()  (after shutdown)",
                              self._close_after_shutdown(out), "§3.10.4, Linux tcp(7)")
        if orphan and self.received and before in (S.SYN_RECEIVED, S.ESTABLISHED,
                                                   S.CLOSE_WAIT):
            return self._step(out, before, "call", event, self._reset_unread(out),
                              "§3.6.1 (SHLD-2)")
        self._orphan = orphan
        shutdown = not orphan
        self._shut_wr = shutdown and before not in (S.LISTEN, S.SYN_SENT)
        if before is S.LISTEN:
            self._go(out, K.LISTEN_CLOSE)
            text = "Closing a listening socket: there is no peer, so the TCB is just deleted."
        elif before is S.SYN_SENT:
            self._go(out, K.SYN_SENT_CLOSE)
            text = ("CLOSE before the handshake finished: the TCB is deleted and nothing is "
                    "sent. (Queued sends get \"connection closing\".)")
        elif before is S.SYN_RECEIVED and self.send_buffer:
            self._close_requested = True
            text = ("CLOSE with data still queued: the FIN must wait until the connection is "
                    "ESTABLISHED and the data has been sent (RFC 9293 §3.10.4).")
        else:
            key = {S.SYN_RECEIVED: K.SYN_RECEIVED_CLOSE, S.ESTABLISHED: K.ESTABLISHED_CLOSE,
                   S.CLOSE_WAIT: K.CLOSE_WAIT_CLOSE}[before]
            self._close_requested = True
            self._go(out, key)
            self._push(out)
            if before is S.CLOSE_WAIT:
                text = (f"Our application closes too. The peer's FIN came earlier, so this is "
                        f"the passive close: send our FIN (SEQ={self._fin_seq}) and wait in "
                        "LAST-ACK for its acknowledgment.")
            else:
                text = (f"Active close: we have nothing more to send, so send FIN "
                        f"(SEQ={self._fin_seq})." if self._fin_seq is not None else
                        "Active close: the FIN is queued behind the data still to send.")
                text += (" shutdown(SHUT_WR): the application keeps the socket and can still "
                         "read until the peer closes too." if shutdown else
                         " close() gives the socket up: the kernel finishes the close alone, "
                         "and data arriving from now on is answered with RST.")
        return self._step(out, before, "call", event, text, "§3.10.4")

    def _close_after_shutdown(self, out: _Out) -> str:
        """close() on a socket already shut down for writing: the FIN went out (or is
        queued) already, so nothing is sent; the socket becomes an orphan."""
        self._shut_wr = False
        self._orphan = True
        if self.received:           # unread data is lost in any state: Linux resets
            return self._reset_unread(out)
        text = ("close() after shutdown(SHUT_WR): our FIN was already sent, so nothing is sent "
                "now. The application gives the socket up; it is an orphan that the kernel "
                "finishes alone.")
        if self.state is S.FIN_WAIT_2 and self.config.fin_wait_2_timeout is not None:
            self._arm_fin_wait_2()
            text += (f" Linux now starts the FIN-WAIT-2 timer: tcp_fin_timeout = "
                     f"{self.config.fin_wait_2_timeout:g} s.")
        return text

    def _reset_unread(self, out: _Out) -> str:
        """close() while received data is unread: that data is lost, so reset instead of
        closing gracefully (RFC 9293 §3.6.1 SHLD-2, RFC 1122 §4.2.2.13; Linux does it)."""
        before, unread = self.state, len(self.received)
        # Linux's tcp_close() sends this RST in every synchronized state (TCPAbortOnClose),
        # also where the RFC's ABORT sends none (CLOSING, LAST-ACK, TIME-WAIT).
        self._send_now(out, Segment(Flags.RST | Flags.ACK, self.snd_nxt, self.rcv_nxt, 0))
        seq, ack = self.snd_nxt, self.rcv_nxt
        self.received.clear()
        self._go(out, ABORT[before])
        return (f"close() with {unread} received bytes the application never read: that data "
                f"is lost, so instead of a FIN the connection is reset: send "
                f"<SEQ={seq}><ACK={ack}><CTL=RST,ACK> and delete the TCB. The peer's next "
                "recv() or send() fails with ECONNRESET (\"connection reset\"). Read "
                "everything before close() (RFC 9293 §3.6.1 SHLD-2; Linux).")

    def abort(self) -> Step:
        """ABORT (``SO_LINGER`` 0 then ``close()``): send RST if synchronized (§3.10.5)."""
        self._check("abort")
        out = self._begin("abort", "SO_LINGER 0 + close()")
        before = self.state
        if before in (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
            self._send_now(out, Segment(Flags.RST, self.snd_nxt, 0, 0))
            text = (f"ABORT: send RST (SEQ=SND.NXT={self.snd_nxt}), throw away all queued "
                    "data and delete the TCB. The peer will see \"connection reset\".")
        else:
            text = ("ABORT: the TCB is deleted. No RST is needed in "
                    f"{before}" + (" (the peer knows nothing of us yet)." if before in
                                   (S.LISTEN, S.SYN_SENT) else " (our side is already done)."))
        self._go(out, ABORT[before])
        return self._step(out, before, "call", "ABORT  (SO_LINGER 0 + close())", text,
                          "§3.10.5")

    # ------------------------------------------------------------------ timers -------------
    def fire_timer(self, name: str | None = None) -> Step:
        """Fire the timer ``name`` (default: the earliest) at the current clock time."""
        if not self.timers:
            raise TcpError("fire_timer", self.state, "no timer is running", "§3.8",
                           self.possible_calls(), self.name)
        if name is None:
            name = min(self.timers, key=self.timers.__getitem__)
        if not isinstance(name, str) or name not in self.timers:
            raise ValueError(f"{self.name} has no {name!r} timer running; running: "
                             f"{', '.join(self.timers)}")
        out = self._begin()
        out.timer = name
        before = self.state
        del self.timers[name]
        if name == "time-wait":
            self._go(out, K.TIME_WAIT_TIMEOUT)
            return self._step(out, before, "timer", "timeout = 2*MSL",
                              f"The TIME-WAIT timer ({self.config.time_wait_duration:g} s) "
                              "expired: any old duplicate of this connection has died, so the "
                              "TCB is deleted.", "§3.10.8")
        if name == "fin-wait-2":
            self._go(out, K.FIN_WAIT_2_TIMEOUT)
            self.reason = "FIN-WAIT-2 timed out"
            return self._step(out, before, "timer", "tcp_fin_timeout",
                              "Linux deletes an orphaned FIN-WAIT-2 socket after "
                              f"tcp_fin_timeout ({self.config.fin_wait_2_timeout:g} s). The RFC "
                              "would wait for the peer's FIN forever. A FIN arriving later is "
                              "answered with RST.", "Linux tcp(7)")
        if name == "persist":
            return self._persist(out, before)
        # retransmission timeout
        if not self._rtx:
            return self._step(out, before, "timer", "retransmission timeout",
                              "The retransmission timer fired with nothing left to "
                              "retransmit.", "§3.8.1")
        cfg = self.config
        passive_syn = before is S.SYN_RECEIVED and self._passive
        if before is S.SYN_SENT:
            limit = cfg.syn_retries + cfg.syn_linear_timeouts
        elif passive_syn:
            limit = cfg.synack_limit
        elif before is S.SYN_RECEIVED:
            limit = cfg.syn_retries
        else:
            limit = cfg.retries
        if self._retries >= limit:
            if passive_syn:
                return self._drop_half_open(out, before)
            if before in (S.SYN_SENT, S.SYN_RECEIVED):
                what = "SYN" if before is S.SYN_SENT else "SYN,ACK"
                told = (f"{1 + self._retries} {what}s, the first "
                        f"{self.now - (self._first_sent or 0.0):g} s ago, went unanswered")
            else:
                told = (f"{self._retries} retransmissions of {self._rtx[0].label()} "
                        f"(SEQ={self._rtx[0].seq}) went unanswered")
            self._go(out, TIMEOUT[before])
            self.reason = out.error = "connection timed out"
            return self._step(out, before, "timer", "retransmission timeout: give up",
                              f"{told}: give up. The application gets \"connection timed "
                              "out\" (ETIMEDOUT).",
                              "§3.8.3")
        self._retries += 1
        linear = before is S.SYN_SENT and self._retries <= cfg.syn_linear_timeouts
        if not linear:
            self._rto = min(self._rto * 2, cfg.rto_max)        # back off (RFC 6298 5.5)
        self._timing = None               # Karn: a retransmitted segment is not timed
        if before in (S.SYN_SENT, S.SYN_RECEIVED):
            self._syn_timed_out = True
        seg = self._refresh(self._rtx[0])
        self._send_now(out, seg)
        out.retransmission = True
        self.timers["retransmission"] = self.now + self._rto
        how = (f"keep the timeout at {self._rto:g} s (Linux tcp_syn_linear_timeouts: the "
               f"first {cfg.syn_linear_timeouts} SYN retries do not back off)" if linear else
               f"double the timeout to {self._rto:g} s" + (" (its upper bound, rto_max)" if
                                                          self._rto == cfg.rto_max else ""))
        return self._step(out, before, "timer", "retransmission timeout",
                          f"No acknowledgment for {seg.label()} (SEQ={seg.seq}) in time: "
                          f"retransmit it (retry {self._retries} of {limit}) and {how}.",
                          "§3.8.1, RFC 6298 §5")

    def _drop_half_open(self, out: _Out, before: TcpState) -> Step:
        """A passive open's SYN,ACKs went unanswered: the half-open connection (Linux: a
        request sock) is dropped and the listener stays in LISTEN; no application hears."""
        n = self._retries
        self._go(out, K.SYN_RECEIVED_SYNACK_TIMEOUT)
        self._reset_tcb()
        return self._step(out, before, "timer", "SYN,ACK retries given up",
                          f"{1 + n} SYN,ACKs ({n} retransmissions) went unanswered: the "
                          "half-open connection is dropped (Linux: the request sock leaves "
                          "the SYN queue, tcp_synack_retries) and the listener stays in "
                          "LISTEN. No application hears of it: accept() never returned it.",
                          "Linux tcp(7), RFC 9293 §3.8.3")

    def _persist(self, out: _Out, before: TcpState) -> Step:
        """The persist timer fired: probe the peer's zero window (RFC 9293 §3.8.6.1)."""
        if self._probes >= self.config.retries:
            self._go(out, TIMEOUT[before])
            self.reason = out.error = "connection timed out"
            return self._step(out, before, "timer", "persist timeout: give up",
                              f"{self._probes} zero-window probes went unanswered: give up "
                              "(\"connection timed out\", ETIMEDOUT; Linux does the same after "
                              "tcp_retries2 unanswered probes).", "§3.8.6.1")
        self._probes += 1
        # Linux's probe (tcp_xmit_probe_skb): an ACK with SEG.SEQ=SND.UNA-1, which the peer
        # must answer with an ACK carrying its current window; it consumes no sequence space.
        self._send_now(out, Segment(_ACK, seq_add(self.snd_una, -1), self.rcv_nxt,
                                    self.rcv_wnd))
        self._rto = min(self._rto * 2, self.config.rto_max)
        self.timers["persist"] = self.now + self._rto
        return self._step(out, before, "timer", "persist timeout: window probe",
                          f"The peer's window is closed (SND.WND={self.snd_wnd}) and "
                          f"{len(self.send_buffer)} bytes wait: probe it with an ACK at "
                          f"SEQ=SND.UNA-1={seq_add(self.snd_una, -1)}, which the peer must "
                          f"answer with its window (probe {self._probes}; next in "
                          f"{self._rto:g} s).", "§3.8.6.1")

    # ------------------------------------------------------------------ segment arrival ----
    def receive(self, seg: Segment) -> Step:
        """SEGMENT ARRIVES (RFC 9293 §3.10.7): process one incoming segment."""
        if not isinstance(seg, Segment):
            raise TypeError(f"receive() takes a Segment, not {type(seg).__name__}")
        out = self._begin()
        before = self.state
        if before is S.CLOSED:
            text, rfc = self._arrive_closed(seg, out)
        elif before is S.LISTEN:
            text, rfc = self._arrive_listen(seg, out)
        elif before is S.SYN_SENT:
            text, rfc = self._arrive_syn_sent(seg, out)
        else:
            text, rfc = self._arrive_synchronized(seg, out)
        if out.notes:
            text = " ".join(t for t in [text, *out.notes] if t)
        return self._step(out, before, "segment", "rcv " + _label(seg), text, rfc, seg)

    def _arrive_closed(self, seg: Segment, out: _Out) -> tuple[str, str]:
        rfc = "§3.10.7.1"
        if seg.rst:
            return "A RST for a connection that does not exist is simply discarded.", rfc
        if seg.has_ack:
            self._send_now(out, Segment(Flags.RST, seg.ack, 0, 0))
        else:
            self._send_now(out, Segment(Flags.RST | Flags.ACK, 0, seq_add(seg.seq, seg.len), 0))
        what = "connection refused" if seg.syn and not seg.has_ack else "no such connection"
        return (f"No TCB exists here (CLOSED), so every segment except a RST is answered with "
                f"RST ({what}).", rfc)

    def _arrive_listen(self, seg: Segment, out: _Out) -> tuple[str, str]:
        rfc = "§3.10.7.2"
        if seg.rst:
            return "A RST reaching a listener is ignored.", rfc
        if seg.has_ack:
            self._send_now(out, Segment(Flags.RST, seg.ack, 0, 0))
            return ("An ACK reaching a listener cannot belong to any connection it knows: "
                    "answer with RST <SEQ=SEG.ACK>.", rfc)
        if not seg.syn:
            return "A segment without SYN, ACK or RST reaching a listener is dropped.", rfc
        self.irs = seg.seq
        self.rcv_nxt = seq_add(seg.seq, 1)
        self.iss = self._choose_iss()
        self.snd_una, self.snd_nxt = self.iss, seq_add(self.iss, 1)
        self.snd_wnd = seg.window
        self._passive = True
        if seg.data or seg.fin:  # text on a SYN: keep it for after ESTABLISHED
            self._held[self.rcv_nxt] = Segment(seg.flags & (Flags.FIN | Flags.PSH),
                                               self.rcv_nxt, 0, seg.window, seg.data)
        self._go(out, K.LISTEN_RCV_SYN)
        self._emit(out, Segment(_SYN_ACK, self.iss, self.rcv_nxt, self.rcv_wnd),
                   rtx=True)
        return (f"A SYN arrives (IRS={self.irs}). Remember it (RCV.NXT={self.rcv_nxt}), choose "
                f"our own ISS={self.iss} and answer SYN,ACK: our SYN plus the ACK of theirs.",
                rfc)

    def _arrive_syn_sent(self, seg: Segment, out: _Out) -> tuple[str, str]:
        rfc = "§3.10.7.3"
        ack_ok = False
        if seg.has_ack:
            if seq_le(seg.ack, self.iss) or seq_gt(seg.ack, self.snd_nxt):
                if seg.rst:
                    return "A RST whose ACK does not match our SYN is dropped.", rfc
                self._send_now(out, Segment(Flags.RST, seg.ack, 0, 0))
                return (f"Its ACK={seg.ack} does not acknowledge our SYN (ISS={self.iss}): an "
                        "old duplicate. Answer RST <SEQ=SEG.ACK> and keep waiting.", rfc)
            ack_ok = seq_lt(self.snd_una, seg.ack)
        if seg.rst:
            if not ack_ok:
                return "A RST without an acceptable ACK is dropped in SYN-SENT.", rfc
            self._go(out, K.SYN_SENT_RCV_RST)
            self.reason = out.error = "connection refused"
            return ("RST with an ACK of our SYN: nobody is listening on that port. The "
                    "application gets \"connection refused\" (ECONNREFUSED; the RFC says "
                    "\"connection reset\").", rfc)
        if not seg.syn:
            return "Neither SYN nor RST: drop the segment.", rfc
        self.irs = seg.seq
        self.rcv_nxt = seq_add(seg.seq, 1)
        self.snd_wnd, self.snd_wl1, self.snd_wl2 = seg.window, seg.seq, seg.ack
        if ack_ok:
            self._ack_advance(seg.ack)
            self._go(out, K.SYN_SENT_RCV_SYN_ACK)
            out.need_ack = True
            text = (f"SYN,ACK: the peer acknowledges our SYN (ACK={seg.ack}) and sends its own "
                    f"(IRS={self.irs}). Send the final ACK={self.rcv_nxt} of the three-way "
                    "handshake: the connection is ESTABLISHED.")
            self._after_established(out)
            body = Segment(seg.flags & ~Flags.SYN, self.rcv_nxt, seg.ack, seg.window, seg.data) \
                if (seg.data or seg.fin) else None
            if body is not None:
                self._text_and_fin(body, out)
            self._flush_ack(out)
            return text, rfc
        self._go(out, K.SYN_SENT_RCV_SYN)
        self._emit(out, Segment(_SYN_ACK, self.iss, self.rcv_nxt, self.rcv_wnd),
                   replace_rtx=True)
        return (f"A bare SYN (IRS={self.irs}) crosses our own: simultaneous open. Acknowledge "
                f"it with SYN,ACK <SEQ=ISS={self.iss}><ACK={self.rcv_nxt}> and wait for the "
                "ACK of our SYN in SYN-RECEIVED.", rfc)

    def _acceptable(self, seg: Segment) -> bool:
        """The four-case sequence-number acceptability test (RFC 9293 §3.10.7.4)."""
        wnd = self.rcv_wnd
        if seg.len == 0:
            return seg.seq == self.rcv_nxt if wnd == 0 else \
                seq_in_window(seg.seq, self.rcv_nxt, wnd)
        if wnd == 0:
            # Not acceptable as data, but "special allowance should be made to accept valid
            # ACKs, URGs, and RSTs" (§3.10.7.4): at RCV.NXT it is processed for its control
            # fields and its text is dropped (trimmed to the zero window) -- Linux's
            # tcp_sequence() accepts it and counts the dropped text as TCPZeroWindowDrop.
            return seg.seq == self.rcv_nxt
        return (seq_in_window(seg.seq, self.rcv_nxt, wnd)
                or seq_in_window(seg.last_seq, self.rcv_nxt, wnd))

    def _arrive_synchronized(self, seg: Segment, out: _Out) -> tuple[str, str]:
        rfc = "§3.10.7.4"
        st = self.state
        # TIME-WAIT: "the only thing that can arrive is a retransmission of the remote FIN".
        if st is S.TIME_WAIT and seg.fin and not seg.rst and \
                seq_add(seg.seq, len(seg.data) + 1) == self.rcv_nxt:
            self._go(out, K.TIME_WAIT_RCV_FIN)
            self._send_now(out, self._ack_segment())
            self.timers["time-wait"] = self.now + self.config.time_wait_duration
            return ("The peer's FIN again: a retransmission (the peer has not seen our last "
                    "ACK yet: lost, or still on the way) or a copy made by the network. ACK it "
                    f"again and restart the 2*MSL timer ({self.config.time_wait_duration:g} s). "
                    "If our last ACK was lost, this ACK lets the peer close: the first reason "
                    "TIME-WAIT exists.", rfc)
        # A new SYN in TIME-WAIT above the old sequence numbers may reopen the connection
        # (RFC 9293 §3.6.1 MAY-2, RFC 6191; Linux hands it to the listener, TCP_TW_SYN).
        if st is S.TIME_WAIT and seg.syn and not seg.has_ack and not seg.rst and \
                self._passive and seq_gt(seg.seq, self.rcv_nxt):
            return self._reopen_from_time_wait(seg, out), "§3.6.1"
        # Simultaneous open (RFC 9293 figure 7; Linux does the same): in SYN-RECEIVED a
        # repeat of the peer's SYN that now acknowledges our SYN completes the handshake.
        if st is S.SYN_RECEIVED and seg.syn and seg.has_ack and not seg.rst and \
                seg.seq == self.irs and seq_lt(self.snd_una, seg.ack) and \
                seq_le(seg.ack, self.snd_nxt):
            self._ack_advance(seg.ack)
            self.snd_wnd, self.snd_wl1, self.snd_wl2 = seg.window, seg.seq, seg.ack
            self._go(out, K.SYN_RECEIVED_RCV_ACK)
            self._after_established(out)
            self._flush_ack(out)
            return ("SYN,ACK repeats the peer's SYN and acknowledges ours "
                    f"(ACK={seg.ack}): both SYNs are acknowledged, the simultaneous open is "
                    "complete (RFC 9293 figure 7).", rfc)
        # First: sequence number check.
        if not self._acceptable(seg):
            if seg.rst:
                return "A RST outside the receive window is dropped.", rfc
            why = ("an old duplicate" if seq_lt(seg.last_seq, self.rcv_nxt)
                   else "beyond the receive window")
            if not self._invalid_ack(out):
                return (f"SEQ={seg.seq} is not acceptable (RCV.NXT={self.rcv_nxt}): {why}. "
                        "Drop it; an ACK was sent for such a segment less than "
                        f"{self.config.invalid_ack_interval:g} s ago, so none now "
                        "(rate limit, RFC 5961 §7).", rfc)
            return (f"SEQ={seg.seq} is not acceptable (RCV.NXT={self.rcv_nxt}): {why}. Send an "
                    "ACK with our current numbers and drop the segment.", rfc)
        # Second: RST (with RFC 5961's exact-match rule, as RFC 9293 recommends).
        if seg.rst and st is S.TIME_WAIT and self.config.rfc1337:
            return ("A RST in TIME-WAIT is ignored (RFC 1337's protection against "
                    "TIME-WAIT assassination, Linux net.ipv4.tcp_rfc1337=1).", "RFC 1337")
        if seg.rst:
            if seg.seq != self.rcv_nxt:
                sent = self._invalid_ack(out)
                return (f"A RST inside the window but not at RCV.NXT={self.rcv_nxt}: "
                        + ("send a challenge ACK instead of resetting (RFC 5961)." if sent else
                           "ignore it (a challenge ACK was sent very recently; RFC 5961 §7)."),
                        rfc)
            return self._reset_by_peer(out), rfc
        # Fourth: SYN.
        if seg.syn:
            if st is S.SYN_RECEIVED and self._passive:
                close_pending = self._close_requested
                self._go(out, K.SYN_RECEIVED_RCV_SYN)
                self._reset_tcb()
                self._passive = False
                return ("A new SYN inside the window after a passive OPEN: forget this "
                        "half-open connection and return to LISTEN."
                        + self._pending_close_in_listen(out, close_pending), rfc)
            if not self._invalid_ack(out):
                return ("A SYN in a synchronized state is dropped (a challenge ACK was sent "
                        "very recently; RFC 5961 §7).", rfc)
            return ("A SYN in a synchronized state: send a challenge ACK and drop it "
                    "(RFC 5961). If the peer really restarted, our ACK makes it send RST.", rfc)
        # Fifth: ACK.
        if not seg.has_ack:
            return "A segment without ACK in a synchronized state is dropped.", rfc
        text = self._process_ack(seg, out)
        if text is None:          # processing stopped
            return out.notes.pop(0) if out.notes else "Dropped.", rfc
        if (self._orphan or self._shut_rd) and seg.data and \
                self.state in (S.FIN_WAIT_1, S.FIN_WAIT_2) and \
                seq_gt(seq_add(seg.seq, len(seg.data)), self.rcv_nxt):
            # Nobody will ever read it: RFC 9293 §3.6.1 (SHLD-2), Linux's TCPAbortOnData.
            st = self.state
            self._send_now(out, Segment(Flags.RST, seg.ack, 0, 0))
            self._go(out, ABORT[st])
            return (f"{len(seg.data)} bytes of data arrive after our application called "
                    f"{'close()' if self._orphan else 'shutdown(SHUT_RDWR)'}: nobody will ever read them, so answer with RST "
                    f"<SEQ=SEG.ACK={seg.ack}> and delete the TCB (RFC 9293 §3.6.1 SHLD-2; "
                    "Linux counts it as TCPAbortOnData). The peer gets ECONNRESET.", rfc)
        # Seventh and eighth: text and FIN (held if out of order).
        if self.state is not S.CLOSED:
            self._text_and_fin(seg, out)
        self._flush_ack(out)
        return text, rfc

    def _reopen_from_time_wait(self, seg: Segment, out: _Out) -> str:
        old_nxt, old_rcv = self.snd_nxt, self.rcv_nxt
        self._go(out, K.TIME_WAIT_RCV_SYN)
        self._reset_tcb()
        self._passive = True
        self.irs, self.rcv_nxt = seg.seq, seq_add(seg.seq, 1)
        iss = self._choose_iss()
        if not seq_gt(iss, old_nxt):      # condition (1) of MAY-2: above the old SND.NXT
            iss = seq_add(old_nxt, 64_000)
        self.iss = iss
        self.snd_una, self.snd_nxt = iss, seq_add(iss, 1)
        self.snd_wnd = seg.window
        self._emit(out, Segment(_SYN_ACK, self.iss, self.rcv_nxt, self.rcv_wnd), rtx=True)
        return (f"A new SYN (SEQ={seg.seq}) above the old connection's sequence numbers "
                f"(RCV.NXT={old_rcv}): the peer opens a new connection on the same ports. "
                "TIME-WAIT may accept it (RFC 9293 §3.6.1 MAY-2; Linux gives it to the "
                f"listener): answer SYN,ACK with ISS={iss}, above the old SND.NXT={old_nxt}, "
                "so no old duplicate can be taken for new data.")

    def _reset_by_peer(self, out: _Out) -> str:
        st = self.state
        if st is S.SYN_RECEIVED:
            if self._passive:
                close_pending = self._close_requested
                self._go(out, K.SYN_RECEIVED_RCV_RST)
                self._reset_tcb()
                text = ("RST in SYN-RECEIVED after a passive OPEN: the half-open connection is "
                        "dropped and the listener goes back to LISTEN (figure 5, note 1). The "
                        "application never hears of it.")
                return text + self._pending_close_in_listen(out, close_pending)
            self._go(out, K.SYN_RECEIVED_RCV_RST_ACTIVE)
            self.reason = out.error = "connection refused"
            return "RST in SYN-RECEIVED after an active OPEN: \"connection refused\"."
        self._go(out, RCV_RST[st])
        if st in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
            self.reason = out.error = "connection reset"
            return ("RST at exactly RCV.NXT: the peer reset the connection. Queued data is "
                    "thrown away; the application gets \"connection reset\" (ECONNRESET).")
        return f"A RST in {st}: the TCB is deleted at once."

    def _pending_close_in_listen(self, out: _Out, close_pending: bool) -> str:
        """Back in LISTEN with a CLOSE queued in SYN-RECEIVED (§3.10.4): process it now."""
        if not close_pending:
            return ""
        self._go(out, K.LISTEN_CLOSE)
        return (" The application had already called CLOSE (queued until ESTABLISHED), so "
                "it is processed now: closing a listening TCB deletes it (RFC 9293 §3.10.4).")

    def _process_ack(self, seg: Segment, out: _Out) -> str | None:
        """Fifth step of §3.10.7.4.  Returns an explanation, or None if processing stops."""
        st = self.state
        ack = seg.ack
        if st is S.SYN_RECEIVED:
            if not (seq_lt(self.snd_una, ack) and seq_le(ack, self.snd_nxt)):
                self._send_now(out, Segment(Flags.RST, ack, 0, 0))
                out.notes.append(f"ACK={ack} does not acknowledge our SYN: answer RST "
                                 "<SEQ=SEG.ACK> and drop the segment.")
                return None
            self.snd_wnd, self.snd_wl1, self.snd_wl2 = seg.window, seg.seq, ack
            self._ack_advance(ack)
            self._go(out, K.SYN_RECEIVED_RCV_ACK)
            text = (f"The ACK of our SYN (ACK={ack}): both sequence numbers are synchronised "
                    "and the connection is ESTABLISHED. (A listening server's accept() "
                    "returns now.)")
            self._after_established(out)
            return text
        if seq_gt(ack, self.snd_nxt):
            if self._invalid_ack(out):
                out.notes.append(f"ACK={ack} acknowledges something not yet sent "
                                 f"(SND.NXT={self.snd_nxt}): send an ACK and drop the segment.")
            else:
                out.notes.append(f"ACK={ack} acknowledges something not yet sent "
                                 f"(SND.NXT={self.snd_nxt}): drop it, without an ACK this time "
                                 "(rate limit, RFC 5961 §7).")
            return None
        advanced = seq_lt(self.snd_una, ack)
        if advanced:
            self._ack_advance(ack)
        # "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated" (an older
        # ACK carries a stale window, whatever its SEG.SEQ).
        if seq_le(self.snd_una, ack) and (
                seq_lt(self.snd_wl1, seg.seq) or (self.snd_wl1 == seg.seq and
                                                  seq_le(self.snd_wl2, ack))):
            self.snd_wnd, self.snd_wl1, self.snd_wl2 = seg.window, seg.seq, ack
        self._probes = 0           # the peer answers: a zero window is no reason to give up
        if "persist" in self.timers and self.snd_wnd > seq_sub(self.snd_nxt, self.snd_una):
            del self.timers["persist"]      # the window opened: _push sends again
        if advanced and self.fin_acked:
            text = f"ACK={ack} acknowledges our FIN."
        elif advanced:
            text = f"ACK={ack} acknowledges new data: SND.UNA advances to {self.snd_una}."
        elif seg.len:
            text = ""          # the text and FIN steps explain this segment
        else:
            text = f"A duplicate ACK (ACK={ack}, SND.UNA={self.snd_una}) changes nothing."
        # Will this segment's FIN be processed right now (everything before it is here)?
        fin_in_order = seg.fin and not self._peer_fin and seq_le(seg.seq, self.rcv_nxt)
        if st is S.FIN_WAIT_1 and self.fin_acked:
            if fin_in_order:
                return text   # note 2: the FIN step below goes straight to TIME-WAIT
            self._go(out, K.FIN_WAIT_1_RCV_ACK)
            self._arm_fin_wait_2()
            return (f"ACK={ack} acknowledges our FIN: our direction is finished. Wait in "
                    "FIN-WAIT-2 for the peer to close.")
        if st is S.CLOSING:
            if self.fin_acked:
                self._go(out, K.CLOSING_RCV_ACK)
                self._enter_time_wait()
                return (f"ACK={ack} acknowledges our FIN after the simultaneous close: enter "
                        f"TIME-WAIT for 2*MSL ({self.config.time_wait_duration:g} s).")
            return text          # queued data (and our FIN) go out after the text step
        if st is S.LAST_ACK:
            if self.fin_acked:
                self._go(out, K.LAST_ACK_RCV_ACK)
                return (f"The last ACK (ACK={ack}) acknowledges our FIN: the passive closer is "
                        "done and deletes its TCB. It does not need TIME-WAIT.")
            return text          # queued data (and our FIN) go out after the text step
        # If the window opened, queued data goes out in _flush_ack, *after* the text of this
        # segment: it then carries the ACK of that text too (§3.10.7.4 seventh step: the
        # acknowledgment "should be piggybacked"; MUST-58), not a stale one plus a bare ACK.
        return text

    def _text_and_fin(self, seg: Segment, out: _Out) -> None:
        """Seventh and eighth steps: deliver in-order text, process FIN, hold the rest."""
        if self._peer_fin or self.state not in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2,
                                                S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK):
            if seg.data and self._peer_fin:
                out.notes.append("Data after the peer's FIN is ignored.")
            return
        if not seg.data and not seg.fin:
            return
        if seq_gt(seg.seq, self.rcv_nxt):
            self._held[seg.seq] = seg
            out.need_ack = True
            out.notes.append(f"It starts at SEQ={seg.seq}, beyond RCV.NXT={self.rcv_nxt}: a "
                             "segment before it is missing. Hold it and send a duplicate ACK.")
            return
        self._consume(seg, out)
        while self._held and not self._peer_fin:
            ready = sorted((s for s in self._held if seq_le(s, self.rcv_nxt)),
                           key=lambda s: seq_sub(s, self.rcv_nxt))
            if not ready:
                break
            for s in ready:
                if s in self._held:
                    self._consume(self._held.pop(s), out, from_queue=True)

    def _consume(self, seg: Segment, out: _Out, from_queue: bool = False) -> None:
        skip = seq_sub(self.rcv_nxt, seg.seq)
        if skip < 0:
            return
        new = seg.data[skip:]
        if new and self.state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2):
            room = self.rcv_wnd
            trimmed = len(new) > room
            if trimmed and not room:
                out.notes.append(f"The receive window is zero: its {len(new)} bytes are "
                                 "dropped (the peer sends them again), but its ACK was "
                                 "processed (RFC 9293 §3.10.7.4: special allowance for "
                                 "ACKs, URGs and RSTs; Linux TCPZeroWindowDrop).")
            elif trimmed:        # beyond the window: keep what fits, the peer resends the rest
                out.notes.append(f"Only {room} of its {len(new)} new bytes fit the receive "
                                 "window; the rest is trimmed (RFC 9293 §3.10.7.4).")
            if trimmed:
                new = new[:room]
            if new:
                self.received += new
                out.delivered += new
                self.rcv_nxt = seq_add(self.rcv_nxt, len(new))
                out.notes.append(f"{len(new)} bytes delivered to the application"
                                 + (" from the out-of-order queue" if from_queue else "")
                                 + f"; RCV.NXT={self.rcv_nxt}.")
            out.need_ack = True
            if trimmed:
                return           # a FIN behind trimmed bytes is not reached yet
        fin_at = seq_add(seg.seq, len(seg.data))
        if seg.fin and fin_at == self.rcv_nxt:
            self._process_fin(out)

    def _process_fin(self, out: _Out) -> None:
        """Eighth step: the peer has finished sending (RFC 9293 §3.10.7.4)."""
        self.rcv_nxt = seq_add(self.rcv_nxt, 1)
        self._peer_fin = True
        self._held.clear()
        out.need_ack = True
        st = self.state
        if st is S.ESTABLISHED:
            self._go(out, K.ESTABLISHED_RCV_FIN)
            out.notes.append("The FIN says the peer will send nothing more (recv() returns "
                             "b''): ACK it. Our application may still send; the connection "
                             "waits in CLOSE-WAIT for it to call close().")
        elif st is S.FIN_WAIT_1 and self.fin_acked:
            self._go(out, K.FIN_WAIT_1_RCV_FIN_ACK)
            self._enter_time_wait()
            out.notes.append("Its FIN arrives together with the ACK of our FIN: ACK the FIN "
                             "and go straight to TIME-WAIT (figure 5, note 2).")
        elif st is S.FIN_WAIT_1:
            self._go(out, K.FIN_WAIT_1_RCV_FIN)
            out.notes.append("The peer's FIN arrives before the ACK of our own: both sides "
                             "closed at once. ACK it and wait in CLOSING for our ACK.")
        elif st is S.FIN_WAIT_2:
            self._go(out, K.FIN_WAIT_2_RCV_FIN)
            self.timers.pop("fin-wait-2", None)
            self._enter_time_wait()
            out.notes.append("The peer's FIN: ACK it and enter TIME-WAIT for 2*MSL "
                             f"({self.config.time_wait_duration:g} s). We closed first, so we "
                             "are the one who waits.")

    # ------------------------------------------------------------------ sending -----------
    def _push(self, out: _Out) -> int:
        """Segmentize queued data the peer's window allows, then the FIN once CLOSE was
        called and every byte before it has gone out (RFC 9293 §3.10.4: "queue this until
        all preceding SENDs have been segmentized").  Works in every state that still has
        something queued: ESTABLISHED and CLOSE-WAIT, and FIN-WAIT-1, CLOSING and LAST-ACK
        while the FIN waits behind data.  A zero usable window starts the persist timer."""
        if not self.send_buffer and (not self._close_requested or self._fin_seq is not None):
            return 0                 # nothing to send (the common case: skip the arithmetic)
        if self.state not in _SENDING_STATES:
            return 0
        sent = 0
        usable = self.snd_wnd - seq_sub(self.snd_nxt, self.snd_una)
        buf = self.send_buffer
        while buf and usable > 0:
            n = min(len(buf), self.config.mss, usable)
            chunk = bytes(buf[:n])
            del buf[:n]
            flags = _ACK if buf else _PSH_ACK
            self._emit(out, Segment(flags, self.snd_nxt, self.rcv_nxt, self.rcv_wnd, chunk),
                       rtx=True)
            sent += n
            usable -= n
        if self._close_requested and not buf and self._fin_seq is None and usable > 0:
            self._fin_seq = self.snd_nxt
            self._emit(out, Segment(_FIN_ACK, self.snd_nxt, self.rcv_nxt,
                                    self.rcv_wnd), rtx=True)
        if usable <= 0 and not self._rtx and "persist" not in self.timers:
            # Nothing in flight to be ACKed, yet something waits for the window: without
            # probing, a lost window update would deadlock both ends (§3.8.6.1).
            self.timers["persist"] = self.now + self._rto
        return sent

    def _emit(self, out: _Out, seg: Segment, rtx: bool = False,
              replace_rtx: bool = False) -> None:
        """Send a segment that occupies sequence space; keep it for retransmission."""
        if replace_rtx:
            self._rtx = deque((seg,))
        elif rtx:
            self._rtx.append(seg)
            end = seq_add(seg.seq, seg.len)
            if seq_gt(end, self.snd_nxt):
                self.snd_nxt = end
            if self._timing is None:          # time one segment at a time (RFC 6298 §3)
                self._timing = (end, self.now)
            if self._first_sent is None:
                self._first_sent = self.now
        if seg.has_ack:
            out.need_ack = False     # this segment carries the ACK (RFC 9293 MUST-58)
            self._rcv_adv = seq_add(seg.ack, seg.window)
        out.sent.append(seg)
        if "retransmission" not in self.timers:
            self.timers["retransmission"] = self.now + self._rto

    def _send_now(self, out: _Out, seg: Segment) -> None:
        """Send a segment that needs no retransmission (ACK, RST)."""
        if seg.has_ack and not seg.rst:
            out.need_ack = False
            self._rcv_adv = seq_add(seg.ack, seg.window)
        out.sent.append(seg)

    def _invalid_ack(self, out: _Out) -> bool:
        """Send an ACK for an unacceptable segment unless one went out very recently."""
        if self.now - self._last_invalid_ack < self.config.invalid_ack_interval:
            return False
        self._last_invalid_ack = self.now
        self._send_now(out, self._ack_segment())
        return True

    def _ack_segment(self) -> Segment:
        return Segment(_ACK, self.snd_nxt, self.rcv_nxt, self.rcv_wnd)

    def _flush_ack(self, out: _Out) -> None:
        self._push(out)
        if out.need_ack and self.state is not S.CLOSED:
            self._send_now(out, self._ack_segment())

    def _refresh(self, seg: Segment) -> Segment:
        """A retransmission carries our current acknowledgment of the peer's data."""
        if self.state is S.SYN_SENT:
            return seg
        flags = seg.flags | Flags.ACK
        return replace(seg, flags=flags, ack=self.rcv_nxt)

    def _ack_advance(self, ack: int) -> None:
        """SND.UNA <- SEG.ACK; drop what is acknowledged; restart or stop the timer."""
        self.snd_una = ack
        rtx = self._rtx               # oldest first: pop what is wholly acknowledged
        while rtx and not seq_gt(seq_add(rtx[0].seq, rtx[0].len), ack):
            rtx.popleft()
        self._retries = 0
        timing = self._timing
        if timing is not None and seq_ge(ack, timing[0]):
            self._rtt_sample(self.now - timing[1])
            self._timing = None
        self._rto = self._computed_rto()
        self.timers.pop("retransmission", None)   # restart (5.3) or stop (5.2) the timer
        if self._rtx:
            self.timers["retransmission"] = self.now + self._rto

    def _rtt_sample(self, r: float) -> None:
        """RFC 6298 §2.2 and §2.3: fold one round-trip measurement R (seconds) in."""
        if self.srtt is None:
            self.srtt, self.rttvar = r, r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)  # type: ignore[operator]
            self.srtt = 0.875 * self.srtt + 0.125 * r

    def _computed_rto(self) -> float:
        """The RTO from SRTT and RTTVAR (RFC 6298 §2; Linux's variant), the initial RTO
        before any measurement -- or 3 s after a SYN timed out (RFC 6298 5.7)."""
        cfg = self.config
        if self.srtt is None:
            return max(cfg.rto, 3.0) if self._syn_timed_out else cfg.rto
        var = 4 * self.rttvar  # type: ignore[operator]
        if cfg.rto_estimator == "linux":
            rto = self.srtt + max(cfg.rto_min, var)
        else:
            rto = max(cfg.rto_min, self.srtt + max(cfg.clock_granularity, var))
        return min(rto, cfg.rto_max)

    @property
    def rto(self) -> float:
        """The current retransmission timeout, seconds (backed off after timeouts)."""
        return self._rto

    def _after_established(self, out: _Out) -> None:
        """On entering ESTABLISHED: a pending CLOSE, then held text (data: see below)."""
        if self._close_requested and self._fin_seq is None and self.state is S.ESTABLISHED:
            self._close_requested = False
            self._push(out)
            self._close_requested = True
            self._go(out, K.ESTABLISHED_CLOSE)
        if self._held:
            first = min(self._held, key=lambda s: seq_sub(s, self.rcv_nxt))
            self._text_and_fin(self._held.pop(first), out)
        # Queued data is sent by the caller's _flush_ack, after the arriving segment's own
        # text: one segment then carries data and the ACK of that text.

    def _enter_time_wait(self) -> None:
        self.timers.pop("retransmission", None)
        self.timers.pop("persist", None)
        self.timers.pop("fin-wait-2", None)
        self._rtx.clear()
        self.timers["time-wait"] = self.now + self.config.time_wait_duration

    def _arm_fin_wait_2(self) -> None:
        if self.config.fin_wait_2_timeout is not None and self._orphan:
            self.timers["fin-wait-2"] = self.now + self.config.fin_wait_2_timeout

    def _choose_iss(self) -> int:
        """The ISN: fixed if one was given, else RFC 9293 §3.4.1's clock-driven generator,
        ISN = M + F(), M a 4-microsecond timer (250,000 per second) and F() a random offset
        drawn once per endpoint -- so a later incarnation starts above an earlier one."""
        if self._fixed_iss is not None:
            return self._fixed_iss % 2 ** 32
        if self._isn_offset is None:
            self._isn_offset = self._rng.randrange(2 ** 32)
        return (self._isn_offset + int(self.now * 250_000)) % 2 ** 32

    # ------------------------------------------------------------------ bookkeeping --------
    def _begin(self, call: str | None = None, socket_call: str | None = None) -> _Out:
        out = _Out()
        if call is not None:
            out.call, out.socket_call = call, socket_call
        return out

    def _go(self, out: _Out, key: str) -> None:
        """Take the transition ``key`` from the table -- the only way state changes."""
        t = BY_KEY[key]
        if t.source is not self.state:
            raise AssertionError(f"{self.name}: transition {key} starts in {t.source}, "
                                 f"but the endpoint is in {self.state}")
        self.state = t.target
        out.taken.append(t)
        if t.target is S.CLOSED:
            keep_reason = self.reason
            self._reset_tcb()
            self.reason = keep_reason

    def _step(self, out: _Out, before: TcpState, kind: str, event: str, text: str, rfc: str,
              received: Segment | None = None) -> Step:
        if out.error:
            text += f" [signal to the application: \"{out.error}\"]"
        ref = _RFC_REF.get(rfc)
        if ref is None:
            ref = _RFC_REF[rfc] = f"RFC 9293 {rfc}" if rfc.startswith("§") else rfc
        step = Step(self.clock.now, self.name, kind, event, before, self.state, text, ref,
                    tuple(out.sent), received, tuple(out.taken), bytes(out.delivered),
                    out.error)
        step.call, step.socket_call = out.call, out.socket_call
        step.timer, step.retransmission = out.timer, out.retransmission
        return step
