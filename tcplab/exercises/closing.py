"""Exercise kind 4, *implement the closing states*: a learner's function against the reference.

The learner writes ``next_state(state, event)`` for the closing half of RFC 9293's state
diagram (figure 5).  The states and events come from the transition table
(:data:`tcplab.transitions.TRANSITIONS`), and the right answers from running the reference
:class:`~tcplab.endpoint.Endpoint` itself: each closing state is reached by a script
(:data:`_REACH`), the event is made to happen as a real peer or user would, and the state
it ends in is the answer -- no hand-written table to drift from the model.

>>> CLOSING_EVENTS
('CLOSE', 'rcv FIN', 'rcv ACK of FIN', 'rcv FIN + ACK of FIN', 'timeout=2MSL')
>>> reference_next_state("FIN-WAIT-1", "rcv FIN").rfc
'CLOSING'
>>> check_closing_states(reference_next_state).message
'all 35 (state, event) pairs match the reference endpoint.'
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from ..endpoint import Endpoint
from ..network import Network
from ..render.theme import COLORS
from ..scenarios import run_script
from ..segment import Flags, Segment
from ..states import TcpState
from ..steps import Step, TcpError
from ..transitions import DEFAULT_LAYERS, TRANSITIONS
from .answers import STATE_NAMES, describe_value, read_state
from .feedback import Feedback, malformed
from .setups import HANDSHAKE, ISN

__all__ = ["CLOSING_STATES", "CLOSING_EVENTS", "EXTENDED_EVENTS", "closing_transitions",
           "reference_next_state", "check_closing_states"]

S = TcpState
_HANDSHAKE = HANDSHAKE

#: The states of the closing part of the state machine (RFC 9293 figure 5, lower half).
CLOSING_STATES = (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING,
                  S.LAST_ACK, S.TIME_WAIT)


def closing_transitions(layers: Iterable[str] = DEFAULT_LAYERS) -> list:
    """The edges of :data:`~tcplab.transitions.TRANSITIONS` that leave a closing state."""
    layers = set(layers)
    return [t for t in TRANSITIONS if t.source in CLOSING_STATES and t.layer in layers]


def _events(layers: Iterable[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for t in closing_transitions(layers):
        if t.event not in seen:
            seen.append(t.event)
    return tuple(seen)


#: The events of the closing part, in the table's order: CLOSE, rcv FIN, rcv ACK of FIN,
#: rcv FIN + ACK of FIN, timeout=2MSL.
CLOSING_EVENTS: tuple[str, ...] = _events(DEFAULT_LAYERS)
#: ... plus the reset and abort layers: rcv RST and ABORT.
EXTENDED_EVENTS: tuple[str, ...] = _events(set(DEFAULT_LAYERS) | {"reset", "abort"})

#: A network script that leaves one endpoint (client or server) in each closing state.
_REACH: dict[TcpState, tuple[str, tuple[str, ...]]] = {
    S.ESTABLISHED: ("client", _HANDSHAKE),
    S.FIN_WAIT_1: ("client", _HANDSHAKE + ("client close",)),
    S.FIN_WAIT_2: ("client", _HANDSHAKE + ("client close", "deliver client FIN,ACK",
                                            "deliver server ACK")),
    S.CLOSE_WAIT: ("server", _HANDSHAKE + ("client close", "deliver client FIN,ACK")),
    S.CLOSING: ("server", _HANDSHAKE + ("client close", "server close",
                                         "deliver client FIN,ACK")),
    S.LAST_ACK: ("server", _HANDSHAKE + ("client close", "deliver client FIN,ACK",
                                          "server close")),
    S.TIME_WAIT: ("client", _HANDSHAKE + ("client close", "deliver client FIN,ACK",
                                           "deliver server ACK", "server close",
                                           "deliver server FIN,ACK")),
}
_PEER_FIN_RECEIVED = (S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT)


def _stimulus(ep: Endpoint, state: TcpState, event: str) -> Step | None:
    """Make ``event`` happen to ``ep`` (in ``state``) as a real peer or user would."""
    fin_seq = (ep.rcv_nxt - 1) % 2 ** 32 if state in _PEER_FIN_RECEIVED else ep.rcv_nxt
    try:
        if event == "CLOSE":
            return ep.close()
        if event == "ABORT":
            return ep.abort()
        if event == "rcv FIN":
            return ep.receive(Segment(Flags.FIN | Flags.ACK, fin_seq, ep.snd_una))
        if event == "rcv ACK of FIN":
            return ep.receive(Segment(Flags.ACK, ep.rcv_nxt, ep.snd_nxt))
        if event == "rcv FIN + ACK of FIN":
            return ep.receive(Segment(Flags.FIN | Flags.ACK, fin_seq, ep.snd_nxt))
        if event == "rcv RST":
            return ep.receive(Segment(Flags.RST, ep.rcv_nxt))
        if event == "timeout=2MSL":
            return ep.fire_timer("time-wait") if "time-wait" in ep.timers else None
    except TcpError:
        return None
    raise ValueError(f"no stimulus for event {event!r}")


@lru_cache(maxsize=None)
def _reference(state: TcpState, event: str) -> tuple[TcpState, str]:
    who, script = _REACH[state]
    net = Network(isn=ISN)
    run_script(net, script)
    ep = net[who]
    assert ep.state is state, (state, ep.state)
    step = _stimulus(ep, state, event)
    if step is None:
        why = ("the 2*MSL timer runs only in TIME-WAIT" if event == "timeout=2MSL" else
               f"{event} is refused in {state.rfc}: \"connection closing\" (RFC 9293 §3.10.4)")
        return ep.state, why
    return ep.state, step.explanation


def reference_next_state(state: "TcpState | str", event: str) -> TcpState:
    """What the reference endpoint does: the state after ``event`` in ``state``.

    Events (as in the transition table): ``CLOSE`` -- the application calls close();
    ``rcv FIN`` -- the peer's FIN arrives without acknowledging our FIN (where the peer's
    FIN has arrived before, this is a retransmission of it); ``rcv ACK of FIN`` -- an ACK of
    everything we sent, our FIN included if we sent one; ``rcv FIN + ACK of FIN`` -- the
    peer's FIN (or its retransmission) acknowledging everything we sent; ``timeout=2MSL``
    -- the 2*MSL timer expires; ``rcv RST`` -- a RST at exactly RCV.NXT; ``ABORT``.
    """
    state = read_state(state, "state")
    if state not in CLOSING_STATES:
        raise ValueError(f"{state} is not a closing state; they are "
                         + ", ".join(s.rfc for s in CLOSING_STATES))
    if event not in EXTENDED_EVENTS:
        raise ValueError(f"unknown event {event!r}; the events are {', '.join(EXTENDED_EVENTS)}")
    return _reference(state, event)[0]


def _call_impl(impl: object, state: TcpState, event: str) -> tuple[TcpState | None, str]:
    """Ask the learner's implementation; (state or None, problem)."""
    try:
        if isinstance(impl, Mapping):
            got = next((v for (k, e), v in impl.items()
                        if e == event and _is_state_name(k) and TcpState.parse(k) is state),
                       None)
        elif hasattr(impl, "next_state") and callable(getattr(impl, "next_state")):
            got = impl.next_state(state, event)  # type: ignore[union-attr]
        else:
            got = impl(state, event)  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
        return None, f"raised {type(exc).__name__}: {exc}"
    if got is None:
        return state, ""          # None means "no change"
    if isinstance(got, TcpState):
        return got, ""
    if isinstance(got, str):
        try:
            return TcpState.parse(got), ""
        except ValueError:
            return None, f"returned {got!r}: not a state name"
    return None, f"returned {describe_value(got, 30)}, not a state"


def check_closing_states(impl: object, *, extended: bool = False,
                         exercise_id: str | None = None) -> Feedback:
    """Check a learner's closing-state machine against the reference endpoint.

    ``impl`` is a function ``next_state(state, event)`` (``state`` a :class:`TcpState`,
    ``event`` one of :data:`CLOSING_EVENTS`) returning the next state (a TcpState or a
    name; ``None`` or the same state for "no change"), an object with such a
    ``next_state`` method, or a dict ``{(state, event): next_state}``.  Every pair of
    :data:`CLOSING_STATES` x events is checked; the feedback holds a diff table (text) and
    a grid (HTML) of expected vs got.
    """
    ex_id = exercise_id or ("implement/closing-states-extended" if extended
                            else "implement/closing-states")
    if impl is None or impl is ... or not (callable(impl) or isinstance(impl, Mapping)
                                           or callable(getattr(impl, "next_state", None))):
        return malformed(ex_id, f"the answer is {describe_value(impl)}; give your function "
                         "itself, e.g. check(..., next_state) with def next_state(state, "
                         "event): ... returning a TcpState or a state name (not a call's "
                         "result)")
    events = EXTENDED_EVENTS if extended else CLOSING_EVENTS
    if isinstance(impl, Mapping):
        bad = [k for k in impl if not (isinstance(k, tuple) and len(k) == 2
                                       and k[1] in EXTENDED_EVENTS
                                       and _is_state_name(k[0]))]
        if not impl or bad:
            return malformed(ex_id, "a dict answer maps (state, event) pairs to states, e.g. "
                             "{(TcpState.ESTABLISHED, 'CLOSE'): 'FIN-WAIT-1'}; "
                             + (f"these keys are not such pairs: {bad[:3]!r}" if bad
                                else "this one is empty")
                             + f" (the events: {', '.join(events)})")
    cells: dict[tuple[TcpState, str], tuple[TcpState, TcpState | None, str, str]] = {}
    rows, marks, right = [], [], 0
    for state in CLOSING_STATES:
        for event in events:
            want, why = _reference(state, event)
            got, problem = _call_impl(impl, state, event)
            cells[(state, event)] = (want, got, problem, why)
            if got is want:
                right += 1
            else:
                rows.append((state.rfc, event, want.rfc,
                             got.rfc if got is not None else f"({problem})", _short(why)))
                marks.append(False)
    total = len(CLOSING_STATES) * len(events)
    ok = right == total
    msg = (f"all {total} (state, event) pairs match the reference endpoint." if ok else
           f"{right} of {total} (state, event) pairs match the reference endpoint; "
           f"{total - right} differ (table below: expected = what the reference endpoint "
           "does, got = your answer).")
    if any(c[1] is None for c in cells.values()):
        msg += (" Your function must return a TcpState or a state name (" + STATE_NAMES
                + "), or None for no change, and must not raise.")
    return Feedback(ex_id, ok, right / total, msg,
                    ("state", "event", "expected", "got", "why (reference endpoint)"),
                    tuple(rows), tuple(marks), "", _grid_html(cells, events))


def _is_state_name(value: object) -> bool:
    if isinstance(value, TcpState):
        return True
    try:
        TcpState.parse(value)  # type: ignore[arg-type]
        return True
    except (TypeError, ValueError):
        return False


def _short(text: str, n: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"


def _grid_html(cells: Mapping[tuple[TcpState, str], tuple[TcpState, TcpState | None, str, str]],
               events: Sequence[str]) -> str:
    head = "<th>state \\ event</th>" + "".join(f"<th><code>{html.escape(e)}</code></th>"
                                              for e in events)
    body = []
    for state in CLOSING_STATES:
        tds = [f"<th>{state.rfc}</th>"]
        for event in events:
            want, got, problem, why = cells[(state, event)]
            tip = html.escape(" ".join(why.split()), quote=True)
            if got is want:
                text = "·" if want is state else want.rfc
                tds.append(f'<td style="background:{COLORS["right-fill"]}" title="{tip}">{text}</td>')
            else:
                shown = got.rfc if got is not None else html.escape(problem)
                tds.append(f'<td style="background:{COLORS["wrong-fill"]}" title="{tip}">✗ got {shown}<br>'
                           f'<b>expected {want.rfc}</b></td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return ('<table class="t-closing-grid"><thead><tr>' + head + "</tr></thead><tbody>"
            + "".join(body) + "</tbody></table><p><small>· = no change. Hover a cell for "
            "the reference endpoint's explanation.</small></p>")

