"""Questions computed from the model: the answer is what really happens when the run is played.

Each generator runs a scenario (or reads the transition table the endpoint itself uses) and
returns a :class:`QuestionSpec` -- question, choices, answer, explanation -- so a question
can never drift away from the model.  State questions are graded by
:func:`tcplab.exercises.checks.check_prediction`, the check the stepper's predict mode
uses, so a quiz and the stepper never disagree.  Plain Python: a spec becomes a widget only
when displayed (:func:`tcplab.ui.quiz`), the one place that imports the widget layer, and
only then.

Steps are found and told from their typed fields (:class:`~tcplab.steps.Step`: ``call``,
``received``, ``timer``, ``wire``), never by reading ``Step.event`` back.

>>> from tcplab import scenarios
>>> spec = state_after("handshake", "server rcv SYN")
>>> spec.answer, spec.choices
('SYN-RECEIVED', ('CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED'))
>>> ack_number("handshake", "server", "SYN,ACK", isn={"client": 100, "server": 300}).answer
'101'
>>> net = scenarios.get("teardown-client-first").run()
>>> describe_step(find_step(net, "client CLOSE")), describe_step(net.history[-1])
('the client calls close()', "the client's time-wait timer fires")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..endpoint import Config
from ..network import WIRE, Network, matches as _matches
from ..scenarios import Scenario, get as get_scenario
from ..segment import Flags
from ..states import TcpState
from ..steps import Step
from ..transitions import DEFAULT_LAYERS, edges_from
from .answers import an, plural
from .checks import check_prediction, expected_states, prediction_choices

__all__ = ["QuestionSpec", "state_after", "next_state", "ack_number", "who_ends_in",
           "segment_count", "time_wait_duration", "find_step", "describe_step", "step_label"]


@dataclass(frozen=True)
class QuestionSpec:
    """A question computed from the model: text, choices, the answer, and why.

    Display it (it renders as its :meth:`widget`, a :class:`tcplab.ui.quiz.Quiz`) or pass
    it to :func:`tcplab.ui.self_check`.
    """

    question: str
    choices: tuple[str, ...]
    answer: str
    explain: str
    hints: tuple[tuple[str, str], ...] = ()

    def widget(self) -> Any:
        """The question as a :class:`~tcplab.ui.quiz.Quiz` widget (imports ipywidgets)."""
        from ..ui.quiz import quiz      # a display hook: the one upward import, made lazily
        return quiz(self.question, self.choices, self.answer, self.explain,
                    hints=dict(self.hints))

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        return self.widget()._repr_mimebundle_(**kwargs)


def _scenario_net(scenario: "str | Scenario | Network", **run_kwargs: object
                  ) -> tuple[str, Network]:
    if isinstance(scenario, Network):
        return "this run", scenario
    sc = get_scenario(scenario)
    return f"the `{sc.name}` scenario", sc.run(**run_kwargs)


# ------------------------------------------------------------------------ telling steps --

def step_label(step: Step) -> str:
    """A short name of what happened, from the step's typed fields: ``"rcv FIN,ACK"``,
    ``"CLOSE"`` (the RFC's name of the call), ``"time-wait timer"``, ``"drop #3"``."""
    if step.received is not None and step.kind == "segment":
        return f"rcv {step.received.label()}"
    if step.kind == "call" and step.call:
        return step.rfc_call or step.call
    if step.kind == "timer" and step.timer:
        return f"{step.timer} timer"
    if step.kind == "wire" and step.wire:
        return f"{step.wire} #{step.packet}" if step.packet is not None else step.wire
    return step.event           # a kind this module does not know yet: its display text


def _names(step: Step) -> list[str]:
    """Every name :func:`find_step` accepts for ``step`` (after the actor)."""
    names = [step_label(step)]
    if step.kind == "call" and step.call:
        names += [step.call, f"{step.call}()", step.socket_call or ""]
    if step.kind == "timer" and step.timer:
        names += [step.timer, f"timer {step.timer}"]
        if step.transition is not None:
            names.append(step.transition.event)      # the table's "timeout=2MSL"
    return [n for n in names if n]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def describe_step(step: Step, subject: str | None = None) -> str:
    """A short phrase for a step: 'the client receives FIN,ACK', 'the server calls close()',
    "the client's time-wait timer fires".  ``subject`` replaces 'the client' (e.g. ``"it"``)."""
    who = subject or f"the {step.actor}"
    if step.kind == "segment" and step.received is not None:
        return f"{who} receives {step.received.label()}"
    if step.kind == "call" and step.call:
        return f"{who} calls {step.socket_call or step.call + '()'}"
    if step.kind == "timer" and step.timer:
        owner = "its" if subject == "it" else f"{who}'s"
        return f"{owner} {step.timer} timer fires"
    return step.explanation


def find_step(net: Network, event: "str | int", occurrence: int = 1) -> Step:
    """The step of ``net`` matching ``event``: a history index, or text such as
    ``"client rcv FIN,ACK"``, ``"server CLOSE"`` (or ``"server close()"``),
    ``"client time-wait timer"``: the actor, then the start of the step's name
    (:func:`step_label`); case and extra spaces do not matter.  ``occurrence`` counts
    matches from 1.  Raises ``ValueError`` listing the steps if there is no such match."""
    if isinstance(event, int):
        return net.history[event]
    want = _norm(event)
    hits = [st for st in net.history
            if any(_norm(f"{st.actor} {name}").startswith(want) for name in _names(st))]
    if len(hits) < occurrence:
        seen = "; ".join(f"{st.actor} {step_label(st)}" for st in net.history
                         if st.actor != WIRE)
        raise ValueError(f"no step #{occurrence} matching {event!r}; the steps are: {seen}")
    return hits[occurrence - 1]


# --------------------------------------------------------------------------- the questions --

_STATE_ORDER = sorted(TcpState, key=lambda s: s.mib)


def _state_choices(answer: TcpState, near: Iterable[TcpState], n: int = 4) -> tuple[str, ...]:
    """The answer plus plausible distractors, shown in the RFC's (MIB) order."""
    picked = [answer]
    for s in near:
        if s not in picked and len(picked) < n:
            picked.append(s)
    i = _STATE_ORDER.index(answer)
    for d in (1, -1, 2, -2, 3, -3, 4, -4, 5, -5):
        if len(picked) >= n:
            break
        j = i + d
        if 0 <= j < len(_STATE_ORDER) and _STATE_ORDER[j] not in picked:
            picked.append(_STATE_ORDER[j])
    return tuple(s.rfc for s in sorted(picked, key=_STATE_ORDER.index))


def state_after(scenario: "str | Scenario | Network", event: "str | int", who: str | None = None,
                *, occurrence: int = 1, question: str | None = None, **run_kwargs: object
                ) -> QuestionSpec:
    """"Right after EVENT, what state is WHO in?" -- answered by running the scenario.

    ``event`` picks a step (see :func:`find_step`); ``who`` defaults to the step's actor.
    ``run_kwargs`` (``isn=``, ``config=``, ...) go to :meth:`Scenario.run`.

    Grading has one source of truth, :func:`tcplab.exercises.checks.check_prediction` (the stepper's
    "predict" mode uses it too): the right choice is the one it accepts, and its message is
    the explanation.  For the acting endpoint the choices are
    :func:`tcplab.exercises.checks.prediction_choices`: the states one transition away.
    """
    where, net = _scenario_net(scenario, **run_kwargs)
    step = find_step(net, event, occurrence)
    who = who or step.actor
    net[who]  # a KeyError names the endpoints
    before = next((s for st in reversed(net.history[:step.index])
                   for n, s in st.states if n == who), TcpState.CLOSED)
    if who == step.actor and step.after is not None:
        options = prediction_choices(step)
        if len(options) > 6:   # keep the question readable: the nearest six, answer included
            keep = _state_choices(step.after, [before, *options], n=6)
            options = [s for s in options if s.rfc in keep]
    else:
        near = [before] + [t.target for t in edges_from(before, DEFAULT_LAYERS)]
        options = [TcpState.parse(c) for c in _state_choices(expected_states(step)[who], near)]
    verdicts = {s: check_prediction(step, {who: s}) for s in options}
    right = [s for s, (ok, _) in verdicts.items() if ok]
    if len(right) != 1:  # pragma: no cover - check_prediction and the record disagree
        raise AssertionError(f"expected one right choice among {options}, got {right}")
    answer = right[0]
    if who == step.actor:
        message = verdicts[answer][1]
        message = message[len("Right: "):] if message.startswith("Right: ") else message
        explain = message[:1].upper() + message[1:]
        if step.explanation and step.explanation not in explain:
            explain += f" In this run: {step.explanation}"
    else:
        explain = (f"The {who} stays in {answer.rfc}: this event happens at the "
                   f"{step.actor}, and the {who} learns of it only when a segment from the "
                   f"{step.actor} arrives. ({answer.description})")
    what = describe_step(step, "it" if step.actor == who else None)
    q = question or (f"In {where}, the {who} is in {before.rfc} when {what}. "
                     f"What state is the {who} in right after that?")
    hints = []
    if before is not answer and before in options:
        hints.append((before.rfc, f"That is where the {who} was before; this event moves it "
                                  "on."))
    return QuestionSpec(q, tuple(s.rfc for s in options), answer.rfc, explain, tuple(hints))


def next_state(state: "TcpState | str", event: str, *, layers: Iterable[str] | None = None
               ) -> QuestionSpec:
    """"An endpoint in STATE gets EVENT: where does it go?" -- from the transition table,
    the very table the endpoint uses to change state.  ``event`` is matched against the
    table's event text (``"rcv FIN"``, ``"CLOSE"``, ``"rcv SYN"``)."""
    state = TcpState.parse(state)
    edges = [t for t in edges_from(state, set(layers) if layers else None)
             if t.event.lower() == event.lower()]
    if not edges:
        have = sorted({t.event for t in edges_from(state)})
        raise ValueError(f"no transition from {state} on {event!r}; events there: {have}")
    t = edges[0]
    near = [state] + [e.target for e in edges_from(state, DEFAULT_LAYERS)]
    choices = _state_choices(t.target, near)
    q = f"An endpoint in {state.rfc} gets the event `{t.event}`. Which state does it go to?"
    explain = (f"{t.source} → {t.target}, doing `{t.action}` (RFC 9293 {t.rfc}). {t.summary}")
    return QuestionSpec(q, choices, t.target.rfc, explain)


def ack_number(scenario: "str | Scenario | Network", src: str, flags: str, *,
               answering: str | None = None, occurrence: int = 1, **run_kwargs: object
               ) -> QuestionSpec:
    """"SRC receives <SEQ=x>...; what ACK number does its FLAGS carry?" -- read off the
    segment the model really sent.

    ``flags`` picks SRC's segment (``"SYN,ACK"``, ``"ACK"``, ``"FIN,ACK"``, ``"DATA,ACK"``);
    ``answering="FIN"`` keeps only segments sent in answer to a received segment carrying
    those flags (e.g. the ACK of a FIN); ``occurrence`` counts what is left.
    """
    where, net = _scenario_net(scenario, **run_kwargs)
    need = Flags.parse(answering) if answering else Flags.NONE
    hits = [(st, seg) for st in net.history if st.actor == src for seg in st.sent
            if _matches(seg, flags)
            and (not answering or (st.received is not None and need in st.received.flags))]
    if len(hits) < occurrence:
        what = f" answering a {answering}" if answering else ""
        raise ValueError(f"{src} sends no {flags}{what} #{occurrence} in {where}")
    step, seg = hits[occurrence - 1]
    trigger = step.received
    if trigger is None:
        trigger = next((st.received for st in reversed(net.history[:step.index])
                        if st.actor == src and st.received is not None), None)
    if trigger is None:
        raise ValueError(f"{src} received nothing before its {flags}: there is no ACK to ask "
                         "about")
    answer = seg.ack
    ln = trigger.len
    wrong = [trigger.seq, (trigger.seq + ln + 1) % 2 ** 32,
             (trigger.seq + len(trigger.data)) % 2 ** 32]
    if trigger.has_ack:
        wrong.append(trigger.ack)
    picked = [answer]
    for x in wrong:
        if x not in picked and len(picked) < 4:
            picked.append(x)
    choices = tuple(str(x) for x in sorted(picked))
    parts = []
    if trigger.syn:
        parts.append("the SYN counts as one sequence number")
    if trigger.data:
        parts.append(f"{len(trigger.data)} data bytes")
    if trigger.fin:
        parts.append("the FIN counts as one sequence number")
    counted = " + ".join(parts) or "nothing new"
    if step.received is not None:
        q = (f"In {where}, the {src} receives `{trigger.rfc()}` and answers with "
             f"{an(flags)} segment. What acknowledgment number does that {flags} carry?")
    else:
        q = (f"In {where}, the last segment the {src} received was `{trigger.rfc()}`. Now "
             f"{describe_step(step, 'it')} and sends {an(flags)} segment. What "
             f"acknowledgment number does that {flags} carry?")
    explain = (f"ACK = the next sequence number the {src} expects = SEQ + SEG.LEN = "
               f"{trigger.seq} + {ln} = {answer} ({counted}). The segment sent was "
               f"`{seg.rfc()}`.")
    hints = ((str(trigger.seq), "That is the sequence number just received; an ACK names the "
              "next one expected."),)
    hints = tuple(h for h in hints if h[0] in choices and h[0] != str(answer))
    return QuestionSpec(q, choices, str(answer), explain, hints)


def who_ends_in(scenario: "str | Scenario | Network", state: "TcpState | str" = TcpState.TIME_WAIT,
                **run_kwargs: object) -> QuestionSpec:
    """"Which side passes through STATE?" -- client, server, both or neither, by running it."""
    state = TcpState.parse(state)
    where, net = _scenario_net(scenario, **run_kwargs)
    seen = [n for n in net.names if any(dict(st.states).get(n) is state for st in net.history)]
    a, b = net.names
    answer = {0: "neither", 1: seen[0] if seen else "", 2: "both"}[len(seen)]
    choices = (a, b, "both", "neither")
    q = f"In {where}, which side goes through {state.rfc}?"
    if len(seen) == 2:
        why = f"Both {a} and {b} enter {state.rfc}."
    elif seen:
        why = f"Only the {seen[0]} enters {state.rfc}."
    else:
        why = f"Neither side ever enters {state.rfc}."
    if state is TcpState.TIME_WAIT and seen:
        why += (" TIME-WAIT is for the active closer: a side that sent its FIN before it "
                "received the peer's (in a simultaneous close, both sides do).")
    return QuestionSpec(q, choices, answer, f"{why} {state.description}")


def segment_count(scenario: "str | Scenario | Network", **run_kwargs: object) -> QuestionSpec:
    """"How many segments go on the wire?" -- counted in the run (retransmissions count)."""
    where, net = _scenario_net(scenario, **run_kwargs)
    segs = [(st.actor, seg) for st in net.history if st.actor != WIRE for seg in st.sent]
    n = len(segs)
    picked = sorted({n, max(n - 1, 1), n + 1, n + 2})
    if len(picked) < 4:
        picked = sorted(set(picked) | {n + 3})
    q = f"How many segments are sent in {where}?"
    listing = ", ".join(f"{a}: {s.label()}" for a, s in segs)
    return QuestionSpec(q, tuple(str(x) for x in picked), str(n),
                        f"{plural(n, 'segment')}: {listing}.")


def time_wait_duration(config: Config | None = None, name: str = "the RFC's") -> QuestionSpec:
    """"How long does TIME-WAIT last?" -- from the :class:`Config` the endpoint uses."""
    config = config or Config()
    ans = config.time_wait_duration
    options = sorted({30.0, 60.0, 120.0, 240.0, ans})
    if len(options) > 4:
        options = sorted(sorted(options, key=lambda x: (x != ans, abs(x - ans)))[:4])

    def fmt(x: float) -> str:
        return f"{x:g} s" + (f" ({x / 60:g} min)" if x >= 60 else "")

    if config.time_wait is None:
        q = f"With {name} settings (MSL = {config.msl:g} s), how long does TIME-WAIT last?"
    else:
        q = f"With {name} settings, how long does TIME-WAIT last?"
    if config.time_wait is None:
        why = f"TIME-WAIT lasts 2 × MSL = 2 × {config.msl:g} s = {fmt(ans)}."
    else:
        why = (f"This configuration fixes TIME-WAIT at {fmt(ans)}, whatever the MSL "
               "(Linux: TCP_TIMEWAIT_LEN = 60 s).")
    return QuestionSpec(q, tuple(fmt(x) for x in options), fmt(ans), why)

