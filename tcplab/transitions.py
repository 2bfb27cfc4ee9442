"""The transition table: every state change a TCP endpoint can make (RFC 9293 §3.3.2).

This table is the single source of truth.  The endpoint (:mod:`tcplab.endpoint`) takes a
transition *by looking it up here* -- it cannot change state any other way -- and the
state diagram draws exactly these edges.  So the picture and the machine cannot disagree.

Layers:

``figure5``  the edges of RFC 9293 figure 5, including ``LISTEN --SEND--> SYN-SENT`` and
             note 1's ``SYN-RECEIVED --rcv RST--> LISTEN``.
``note2``    note 2: FIN-WAIT-1 receiving a FIN that also acknowledges our FIN goes straight
             to TIME-WAIT.
``loop``     state-preserving events worth drawing: TIME-WAIT re-acknowledging a
             retransmitted FIN and restarting its 2*MSL timer.
``text``     in the RFC's event processing (§3.10) but not drawn in figure 5: an active
             OPEN on a listening connection; a new SYN in SYN-RECEIVED after a passive OPEN.
``reset``    receiving RST (note 3 of figure 5: "omitted from the diagram for legibility").
``abort``    the user's ABORT (SO_LINGER 0 then close()).
``timeout``  retransmission given up: "connection timed out" (RFC 9293 §3.8.3, R2); and
             Linux's orphaned FIN-WAIT-2 timeout (``tcp_fin_timeout``, not in the RFC).
"""

from __future__ import annotations

from dataclasses import dataclass

from .states import TcpState as S

__all__ = ["Transition", "TRANSITIONS", "BY_KEY", "Key", "ABORT", "RCV_RST", "TIMEOUT", "LAYERS", "DEFAULT_LAYERS",
           "transition", "edges_from", "edges_between"]

LAYERS = ("figure5", "note2", "loop", "text", "reset", "abort", "timeout")
DEFAULT_LAYERS = frozenset({"figure5", "note2", "loop"})


@dataclass(frozen=True)
class Transition:
    """One edge of the state diagram: ``source --event / action--> target``."""

    key: str
    source: S
    target: S
    event: str        # what causes it, in the RFC's words ("rcv SYN", "CLOSE")
    action: str       # what the endpoint does ("snd SYN,ACK"; "x" = nothing)
    layer: str
    rfc: str          # the RFC 9293 section that specifies it
    summary: str      # one sentence for a learner

    @property
    def label(self) -> str:
        """``event / action`` as on the diagram."""
        return f"{self.event} / {self.action}"

    def __str__(self) -> str:
        return f"{self.source} --{self.label}--> {self.target}"


def _t(key: str, source: S, target: S, event: str, action: str, layer: str, rfc: str,
       summary: str) -> Transition:
    return Transition(key, source, target, event, action, layer, rfc, summary)


_SYNCHRONIZED_RESET = (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT)
_CLOSING_RESET = (S.CLOSING, S.LAST_ACK, S.TIME_WAIT)
_ABORT_WITH_RST = (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT)
_ABORT_NO_RST = (S.LISTEN, S.SYN_SENT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT)
_RETRANSMITTING = (S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.CLOSE_WAIT,
                   S.CLOSING, S.LAST_ACK)


def _slug(state: S) -> str:
    return state.rfc.lower()


TRANSITIONS: tuple[Transition, ...] = (
    # --- opening ------------------------------------------------------------------------------
    _t("passive-open", S.CLOSED, S.LISTEN, "passive OPEN", "create TCB", "figure5",
       "§3.10.1", "listen(): the server creates a TCB and waits for a SYN."),
    _t("active-open", S.CLOSED, S.SYN_SENT, "active OPEN", "create TCB, snd SYN", "figure5",
       "§3.10.1", "connect(): choose an ISS and send SYN."),
    _t("listen-close", S.LISTEN, S.CLOSED, "CLOSE", "delete TCB", "figure5", "§3.10.4",
       "Closing a listening socket just deletes the TCB."),
    _t("listen-send", S.LISTEN, S.SYN_SENT, "SEND", "snd SYN", "figure5", "§3.10.2",
       "A SEND on a listening connection turns it active: send SYN."),
    _t("listen-rcv-syn", S.LISTEN, S.SYN_RECEIVED, "rcv SYN", "snd SYN,ACK", "figure5",
       "§3.10.7.2", "A SYN arrives at the listener: answer with our own SYN and ACK theirs."),
    _t("syn-sent-rcv-syn", S.SYN_SENT, S.SYN_RECEIVED, "rcv SYN", "snd SYN,ACK", "figure5",
       "§3.10.7.3", "Simultaneous open: a bare SYN crosses ours; acknowledge it, "
       "repeating our SYN."),
    _t("syn-sent-rcv-syn-ack", S.SYN_SENT, S.ESTABLISHED, "rcv SYN,ACK", "snd ACK",
       "figure5", "§3.10.7.3", "The peer's SYN acknowledges ours: send the final ACK of "
       "the three-way handshake."),
    _t("syn-sent-close", S.SYN_SENT, S.CLOSED, "CLOSE", "delete TCB", "figure5", "§3.10.4",
       "Closing before the handshake completes just deletes the TCB."),
    _t("syn-received-rcv-ack", S.SYN_RECEIVED, S.ESTABLISHED, "rcv ACK of SYN", "x",
       "figure5", "§3.10.7.4", "The peer acknowledges our SYN: both sides are "
       "synchronised."),
    _t("syn-received-rcv-rst", S.SYN_RECEIVED, S.LISTEN, "rcv RST", "x", "figure5",
       "§3.10.7.4", "Note 1: after a passive OPEN, a RST returns the connection to LISTEN."),
    _t("syn-received-close", S.SYN_RECEIVED, S.FIN_WAIT_1, "CLOSE", "snd FIN", "figure5",
       "§3.10.4", "Closing in SYN-RECEIVED with nothing queued sends FIN at once."),
    # --- closing ------------------------------------------------------------------------------
    _t("established-close", S.ESTABLISHED, S.FIN_WAIT_1, "CLOSE", "snd FIN", "figure5",
       "§3.10.4", "Active close: we have nothing more to send, so send FIN."),
    _t("established-rcv-fin", S.ESTABLISHED, S.CLOSE_WAIT, "rcv FIN", "snd ACK", "figure5",
       "§3.10.7.4", "Passive close: the peer has finished sending; ACK its FIN and wait "
       "for our application to close."),
    _t("fin-wait-1-rcv-ack", S.FIN_WAIT_1, S.FIN_WAIT_2, "rcv ACK of FIN", "x", "figure5",
       "§3.10.7.4", "Our FIN is acknowledged; now wait for the peer's FIN."),
    _t("fin-wait-1-rcv-fin", S.FIN_WAIT_1, S.CLOSING, "rcv FIN", "snd ACK", "figure5",
       "§3.10.7.4", "Simultaneous close: the peer's FIN arrives before the ACK of ours."),
    _t("fin-wait-1-rcv-fin-ack", S.FIN_WAIT_1, S.TIME_WAIT, "rcv FIN + ACK of FIN",
       "snd ACK", "note2", "§3.10.7.4",
       "Note 2: a FIN that also acknowledges our FIN takes us straight to TIME-WAIT."),
    _t("fin-wait-2-rcv-fin", S.FIN_WAIT_2, S.TIME_WAIT, "rcv FIN", "snd ACK", "figure5",
       "§3.10.7.4", "The peer closes too: ACK its FIN and start the 2*MSL timer."),
    _t("close-wait-close", S.CLOSE_WAIT, S.LAST_ACK, "CLOSE", "snd FIN", "figure5",
       "§3.10.4", "Our application closes as well: send our FIN."),
    _t("closing-rcv-ack", S.CLOSING, S.TIME_WAIT, "rcv ACK of FIN", "x", "figure5",
       "§3.10.7.4", "Our FIN is acknowledged after a simultaneous close: enter TIME-WAIT."),
    _t("last-ack-rcv-ack", S.LAST_ACK, S.CLOSED, "rcv ACK of FIN", "delete TCB", "figure5",
       "§3.10.7.4", "The last ACK arrives: the connection is gone."),
    _t("time-wait-timeout", S.TIME_WAIT, S.CLOSED, "timeout=2MSL", "delete TCB", "figure5",
       "§3.10.8", "2*MSL have passed: old duplicates are dead, delete the TCB."),
    _t("time-wait-rcv-fin", S.TIME_WAIT, S.TIME_WAIT, "rcv FIN", "snd ACK, restart 2MSL",
       "loop", "§3.10.7.4", "The peer's FIN again (retransmitted because it has not seen "
       "our last ACK, or a network copy): ACK again and restart the 2*MSL timer."),
    # --- resets ---------------------------------------------------------------------------------
    _t("syn-sent-rcv-rst", S.SYN_SENT, S.CLOSED, "rcv RST,ACK of SYN", "x", "reset",
       "§3.10.7.3", "Nobody listens on that port: \"connection refused\"."),
    _t("syn-received-rcv-rst-active", S.SYN_RECEIVED, S.CLOSED, "rcv RST", "x", "reset",
       "§3.10.7.4", "After an active OPEN, a RST in SYN-RECEIVED means \"connection "
       "refused\"."),
    _t("listen-connect", S.LISTEN, S.SYN_SENT, "active OPEN", "snd SYN", "text", "§3.10.1",
       "An active OPEN on a listening connection makes it active: send SYN."),
    _t("syn-received-rcv-syn", S.SYN_RECEIVED, S.LISTEN, "rcv SYN", "x", "text",
       "§3.10.7.4", "A new SYN in the window after a passive OPEN: forget this attempt and "
       "return to LISTEN."),
    *(_t(f"{_slug(s)}-rcv-rst", s, S.CLOSED, "rcv RST", "x", "reset", "§3.10.7.4",
         "The peer reset the connection: \"connection reset\".")
      for s in _SYNCHRONIZED_RESET),
    *(_t(f"{_slug(s)}-rcv-rst", s, S.CLOSED, "rcv RST", "delete TCB", "reset", "§3.10.7.4",
         "A RST ends the connection at once.") for s in _CLOSING_RESET),
    # --- abort -----------------------------------------------------------------------------------
    *(_t(f"{_slug(s)}-abort", s, S.CLOSED, "ABORT", "snd RST", "abort", "§3.10.5",
         "ABORT: send RST, flush everything, delete the TCB.") for s in _ABORT_WITH_RST),
    *(_t(f"{_slug(s)}-abort", s, S.CLOSED, "ABORT", "delete TCB", "abort", "§3.10.5",
         "ABORT here needs no RST: just delete the TCB.") for s in _ABORT_NO_RST),
    # --- retransmission timeout ------------------------------------------------------------------
    *(_t(f"{_slug(s)}-timeout", s, S.CLOSED, "retransmission timeout (R2)", "delete TCB",
         "timeout", "§3.8.3", "Retransmissions went unanswered too often: \"connection "
         "timed out\".") for s in _RETRANSMITTING),
    _t("time-wait-rcv-syn", S.TIME_WAIT, S.SYN_RECEIVED, "rcv SYN (SEG.SEQ > RCV.NXT)",
       "snd SYN,ACK", "text", "§3.6.1 (MAY-2)", "A new SYN above the old connection's "
       "sequence numbers reopens the connection straight from TIME-WAIT, with an ISS above "
       "the old SND.NXT (RFC 9293 §3.6.1 MAY-2, RFC 6191; Linux does it for its listener)."),
    _t("syn-received-synack-timeout", S.SYN_RECEIVED, S.LISTEN, "SYN,ACK retries given up",
       "x", "timeout", "Linux tcp(7)", "A passive open whose SYN,ACKs all went unanswered: "
       "the half-open connection (Linux: a request sock) is dropped and the listener stays "
       "in LISTEN; no application hears of it (tcp_synack_retries)."),
    _t("fin-wait-2-timeout", S.FIN_WAIT_2, S.CLOSED, "tcp_fin_timeout (Linux)", "delete TCB",
       "timeout", "Linux tcp(7)", "Linux only: an orphaned FIN-WAIT-2 socket is deleted "
       "after tcp_fin_timeout (60 s); RFC 9293 lets it wait forever."),
)

BY_KEY: dict[str, Transition] = {t.key: t for t in TRANSITIONS}
assert len(BY_KEY) == len(TRANSITIONS), "duplicate transition keys"


class Key:
    """Every transition key as a constant: the endpoint takes edges by these names, never by
    a string it builds.  The families of per-state edges are in :data:`ABORT`,
    :data:`RCV_RST` and :data:`TIMEOUT`."""

    PASSIVE_OPEN = "passive-open"
    ACTIVE_OPEN = "active-open"
    LISTEN_CLOSE = "listen-close"
    LISTEN_SEND = "listen-send"
    LISTEN_RCV_SYN = "listen-rcv-syn"
    SYN_SENT_RCV_SYN = "syn-sent-rcv-syn"
    SYN_SENT_RCV_SYN_ACK = "syn-sent-rcv-syn-ack"
    SYN_SENT_CLOSE = "syn-sent-close"
    SYN_RECEIVED_RCV_ACK = "syn-received-rcv-ack"
    SYN_RECEIVED_RCV_RST = "syn-received-rcv-rst"
    SYN_RECEIVED_CLOSE = "syn-received-close"
    ESTABLISHED_CLOSE = "established-close"
    ESTABLISHED_RCV_FIN = "established-rcv-fin"
    FIN_WAIT_1_RCV_ACK = "fin-wait-1-rcv-ack"
    FIN_WAIT_1_RCV_FIN = "fin-wait-1-rcv-fin"
    FIN_WAIT_1_RCV_FIN_ACK = "fin-wait-1-rcv-fin-ack"
    FIN_WAIT_2_RCV_FIN = "fin-wait-2-rcv-fin"
    CLOSE_WAIT_CLOSE = "close-wait-close"
    CLOSING_RCV_ACK = "closing-rcv-ack"
    LAST_ACK_RCV_ACK = "last-ack-rcv-ack"
    TIME_WAIT_TIMEOUT = "time-wait-timeout"
    TIME_WAIT_RCV_FIN = "time-wait-rcv-fin"
    SYN_SENT_RCV_RST = "syn-sent-rcv-rst"
    SYN_RECEIVED_RCV_RST_ACTIVE = "syn-received-rcv-rst-active"
    LISTEN_CONNECT = "listen-connect"
    SYN_RECEIVED_RCV_SYN = "syn-received-rcv-syn"
    ESTABLISHED_RCV_RST = "established-rcv-rst"
    FIN_WAIT_1_RCV_RST = "fin-wait-1-rcv-rst"
    FIN_WAIT_2_RCV_RST = "fin-wait-2-rcv-rst"
    CLOSE_WAIT_RCV_RST = "close-wait-rcv-rst"
    CLOSING_RCV_RST = "closing-rcv-rst"
    LAST_ACK_RCV_RST = "last-ack-rcv-rst"
    TIME_WAIT_RCV_RST = "time-wait-rcv-rst"
    SYN_RECEIVED_ABORT = "syn-received-abort"
    ESTABLISHED_ABORT = "established-abort"
    FIN_WAIT_1_ABORT = "fin-wait-1-abort"
    FIN_WAIT_2_ABORT = "fin-wait-2-abort"
    CLOSE_WAIT_ABORT = "close-wait-abort"
    LISTEN_ABORT = "listen-abort"
    SYN_SENT_ABORT = "syn-sent-abort"
    CLOSING_ABORT = "closing-abort"
    LAST_ACK_ABORT = "last-ack-abort"
    TIME_WAIT_ABORT = "time-wait-abort"
    SYN_SENT_TIMEOUT = "syn-sent-timeout"
    SYN_RECEIVED_TIMEOUT = "syn-received-timeout"
    ESTABLISHED_TIMEOUT = "established-timeout"
    FIN_WAIT_1_TIMEOUT = "fin-wait-1-timeout"
    CLOSE_WAIT_TIMEOUT = "close-wait-timeout"
    CLOSING_TIMEOUT = "closing-timeout"
    LAST_ACK_TIMEOUT = "last-ack-timeout"
    SYN_RECEIVED_SYNACK_TIMEOUT = "syn-received-synack-timeout"
    TIME_WAIT_RCV_SYN = "time-wait-rcv-syn"
    FIN_WAIT_2_TIMEOUT = "fin-wait-2-timeout"


#: ABORT in each state that allows it (§3.10.5), by state.
ABORT: dict[S, str] = {t.source: t.key for t in TRANSITIONS if t.layer == "abort"}
#: An acceptable RST at RCV.NXT in a synchronized state (§3.10.7.4, second step), by state.
RCV_RST: dict[S, str] = {t.source: t.key for t in TRANSITIONS
                         if t.layer == "reset" and t.key == f"{_slug(t.source)}-rcv-rst"}
#: Retransmissions (or zero-window probes) given up (§3.8.3, R2), by state.
TIMEOUT: dict[S, str] = {t.source: t.key for t in TRANSITIONS
                         if t.layer == "timeout" and t.target is S.CLOSED and
                         t.source is not S.FIN_WAIT_2}


def transition(key: str) -> Transition:
    """The transition with this key (a ``KeyError`` names the known keys)."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"no transition {key!r}; known: {', '.join(BY_KEY)}") from None


def edges_from(state: S, layers: "frozenset[str] | set[str] | None" = None) -> list[Transition]:
    """Transitions leaving ``state`` (optionally only those in ``layers``)."""
    return [t for t in TRANSITIONS
            if t.source is state and (layers is None or t.layer in layers)]


def edges_between(source: S, target: S) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source is source and t.target is target]
