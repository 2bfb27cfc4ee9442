"""Self-check questions with immediate feedback, and questions computed from the model.

:func:`quiz` makes one multiple-choice question as an ipywidgets widget: click a choice and
the feedback appears at once.  A wrong choice is marked and disabled, with a hint when one
is given, and the learner tries again; the right choice shows the explanation and ends the
question.

The *question generators* below never hard-code an answer: they run the scenario (or read
the transition table the endpoint itself uses) and ask about what really happened, so a
question cannot drift away from the model::

    from tcplab.quiz import quiz, state_after, ack_number

    state_after("teardown-client-first", "client rcv FIN,ACK", who="client")
    ack_number("handshake", "server", "SYN,ACK")
    who_ends_in("simultaneous-close", "TIME-WAIT")

State questions are graded by :func:`tcplab.checks.check_prediction`, the check the
stepper's "predict" mode uses, so a quiz and the stepper can never disagree.

CSS classes, for styling and for browser tests: the question is a ``t-quiz`` box holding a
``t-quiz-question``, one ``t-quiz-choice`` button per choice (marked ``t-quiz-right`` or
``t-quiz-wrong`` once clicked) and a ``t-quiz-feedback`` area; a solved question also gets
``t-quiz-solved``.  :func:`self_check` groups questions in a ``t-quiz-set`` with a score.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import ipywidgets as widgets

from ..exercises.checks import check_prediction, expected_states, prediction_choices
from ..endpoint import Config
from ..network import WIRE, Network, _matches
from ..scenarios import Scenario, get as get_scenario
from ..segment import Flags
from ..states import TcpState
from ..steps import Step
from ..transitions import DEFAULT_LAYERS, edges_from

__all__ = ["Quiz", "quiz", "self_check", "QuestionSpec", "state_after", "next_state",
           "ack_number", "who_ends_in", "segment_count", "time_wait_duration", "find_step",
           "describe_step", "markup"]

_CSS = """<style>
.t-quiz {border-left: 4px solid #0072b2; padding: 4px 0 6px 12px; margin: 8px 0;}
.t-quiz-question {font-weight: 600;}
.t-quiz-choice.t-quiz-right {outline: 2px solid #009e73;}
.t-quiz-choice.t-quiz-wrong {text-decoration: line-through;}
.t-quiz-feedback {min-height: 1.5em;}
</style>"""


# ----------------------------------------------------------------------------- markup --

def markup(text: str) -> str:
    """Tiny, safe markup for question and feedback text: HTML is escaped, then
    ```code``` becomes ``<code>``, ``**bold**`` ``<b>`` and ``*italic*`` ``<i>``."""
    out = html.escape(str(text), quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<i>\1</i>", out)
    return out


# ----------------------------------------------------------------------------- the widget --

class Quiz(widgets.VBox):
    """One multiple-choice question with immediate feedback (see :func:`quiz`).

    Read-outs for tests and notebooks: :attr:`buttons`, :attr:`feedback`, :attr:`solved`,
    :attr:`attempts` (the labels clicked, in order), :attr:`first_try`.
    """

    def __init__(self, question: str, choices: Sequence[object], answer: object,
                 explain: str = "", *, hints: Mapping[object, str] | None = None) -> None:
        if not isinstance(question, str) or not question.strip():
            raise ValueError("quiz() needs a question: a non-empty string")
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
            raise TypeError("quiz() choices must be a list of answers, e.g. "
                            "['SYN-SENT', 'ESTABLISHED'], not a single string")
        labels = [str(c) for c in choices]
        if len(labels) < 2:
            raise ValueError(f"quiz() needs at least two choices, got {labels!r}")
        dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
        if dupes:
            raise ValueError(f"quiz() choices must be different; repeated: {dupes!r}")
        if any(not lab.strip() for lab in labels):
            raise ValueError("quiz() choices must not be empty strings")
        if isinstance(answer, (list, tuple, set)):
            raise TypeError("quiz() takes exactly one correct answer (one of the choices), "
                            f"not a collection: {answer!r}")
        key = str(answer)
        if key not in labels:
            raise ValueError(f"quiz() answer {key!r} is not one of the choices {labels!r}")
        hint_map = {str(k): v for k, v in (hints or {}).items()}
        unknown = sorted(set(hint_map) - set(labels))
        if unknown:
            raise ValueError(f"quiz() hints name choices that do not exist: {unknown!r}; "
                             f"the choices are {labels!r}")
        if key in hint_map:
            raise ValueError("quiz() hints are for the wrong choices; the explanation of the "
                             "right one goes in explain=")

        self.question = question
        self.choices = tuple(labels)
        self.answer = key
        self.explain = explain
        self.hints = hint_map
        self.attempts: list[str] = []

        self.question_html = widgets.HTML(f"<p>{markup(question)}</p>")
        self.question_html.add_class("t-quiz-question")
        self.buttons: list[widgets.Button] = []
        for lab in labels:
            b = widgets.Button(description=lab, tooltip=lab,
                               layout=widgets.Layout(width="auto"))
            b.add_class("t-quiz-choice")
            b.on_click(self._clicked)
            self.buttons.append(b)
        self.feedback = widgets.HTML("")
        self.feedback.add_class("t-quiz-feedback")
        super().__init__([widgets.HTML(_CSS), self.question_html,
                          widgets.HBox(self.buttons, layout=widgets.Layout(flex_flow="row wrap")),
                          self.feedback])
        self.add_class("t-quiz")
        self._listeners: list[Callable[["Quiz"], None]] = []

    # -- state ------------------------------------------------------------------------------
    @property
    def solved(self) -> bool:
        return self.answer in self.attempts

    @property
    def first_try(self) -> bool:
        return self.attempts[:1] == [self.answer]

    def on_answer(self, callback: Callable[["Quiz"], None]) -> None:
        """Call ``callback(quiz)`` after every click (used by :func:`self_check`)."""
        self._listeners.append(callback)

    # -- answering --------------------------------------------------------------------------
    def choose(self, choice: object) -> bool:
        """Answer as if ``choice`` had been clicked; True if it is right."""
        label = str(choice)
        if label not in self.choices:
            raise ValueError(f"{label!r} is not one of the choices {list(self.choices)!r}")
        self._clicked(self.buttons[self.choices.index(label)])
        return label == self.answer

    def _clicked(self, button: widgets.Button) -> None:
        label = button.description
        if self.solved or label in self.attempts:
            return
        self.attempts.append(label)
        if label == self.answer:
            button.button_style = "success"
            button.icon = "check"
            button.add_class("t-quiz-right")
            for b in self.buttons:
                b.disabled = True
            self.add_class("t-quiz-solved")
            head = "Right" + (" first time!" if self.first_try else "!")
            text = f"<b>✓ {head}</b>"
            if self.explain:
                text += f" {markup(self.explain)}"
            self.feedback.value = f'<div class="t-quiz-ok">{text}</div>'
        else:
            button.button_style = "danger"
            button.icon = "times"
            button.disabled = True
            button.add_class("t-quiz-wrong")
            hint = self.hints.get(label, "")
            text = f"<b>✗ Not {markup(label)}.</b>"
            if hint:
                text += f" {markup(hint)}"
            text += " Try again."
            self.feedback.value = f'<div class="t-quiz-no">{text}</div>'
        for cb in list(self._listeners):
            cb(self)

    def __repr__(self) -> str:
        return f"<Quiz {self.question!r} choices={list(self.choices)!r}>"


def quiz(question: str, choices: Sequence[object], answer: object, explain: str = "", *,
         hints: Mapping[object, str] | None = None) -> Quiz:
    """A multiple-choice self-check question with immediate feedback.

    ``choices`` are shown in the order given (anything with a ``str()``: text, numbers,
    :class:`~tcplab.states.TcpState`); ``answer`` must be one of them.  ``explain`` is
    shown when the right choice is clicked; ``hints`` maps wrong choices to a nudge shown
    when that choice is clicked.  Text may use ```code``` and ``**bold**``.

    Raises ``ValueError``/``TypeError`` at once for a malformed question (answer not among
    the choices, fewer than two choices, repeated choices), so a typo in a notebook fails
    when the cell runs, not when a learner clicks.
    """
    return Quiz(question, choices, answer, explain, hints=hints)


def self_check(*questions: "Quiz | QuestionSpec", title: str = "Self-check") -> widgets.VBox:
    """Several questions under one title, with a running score line."""
    qs = [q.widget() if isinstance(q, QuestionSpec) else q for q in questions]
    if not qs:
        raise ValueError("self_check() needs at least one question")
    for q in qs:
        if not isinstance(q, Quiz):
            raise TypeError(f"self_check() takes quiz() questions, not {type(q).__name__}")
    score = widgets.HTML("")
    score.add_class("t-quiz-score")

    def update(_: Quiz | None = None) -> None:
        done = sum(q.solved for q in qs)
        first = sum(q.first_try for q in qs)
        score.value = (f"<i>{done} of {len(qs)} answered"
                       + (f", {first} right first time" if done else "") + ".</i>")

    for q in qs:
        q.on_answer(update)
    update()
    box = widgets.VBox([widgets.HTML(f"<h4>{markup(title)}</h4>"), *qs, score])
    box.add_class("t-quiz-set")
    box.questions = qs  # type: ignore[attr-defined]
    return box


# ----------------------------------------------------------------------------- generators --

@dataclass(frozen=True)
class QuestionSpec:
    """A question computed from the model: text, choices, the answer, and why.

    Display it (it renders as its :meth:`widget`) or pass it to :func:`self_check`.
    """

    question: str
    choices: tuple[str, ...]
    answer: str
    explain: str
    hints: tuple[tuple[str, str], ...] = ()

    def widget(self) -> Quiz:
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


def describe_step(step: Step, subject: str | None = None) -> str:
    """A short phrase for a step: 'the client receives FIN,ACK', 'the server calls close()'.

    ``subject`` replaces 'the client' (e.g. ``"it"``)."""
    who = subject or f"the {step.actor}"
    if step.kind == "segment" and step.received is not None:
        return f"{who} receives {step.received.label()}"
    if step.kind == "call":
        word = step.event.split("  ")[0]
        code = re.search(r"\((.*)\)\s*$", step.event)
        call = code.group(1) if code else word
        return f"{who} calls {call}"
    if step.kind == "timer":
        return f"{who}'s {step.event} timer fires"
    return step.explanation


def _an(word: str) -> str:
    return ("an " if word[:1].upper() in "AEIOU" else "a ") + word


def find_step(net: Network, event: "str | int", occurrence: int = 1) -> Step:
    """The step of ``net`` matching ``event``: a history index, or text such as
    ``"client rcv FIN,ACK"``, ``"server CLOSE"``, ``"client timeout = 2*MSL"``
    (actor, then the start of the step's event; case and extra spaces do not matter)."""
    if isinstance(event, int):
        return net.history[event]
    want = " ".join(event.lower().split())
    hits = [st for st in net.history
            if " ".join(f"{st.actor} {st.event}".lower().split()).startswith(want)]
    if len(hits) < occurrence:
        seen = "; ".join(f"{st.actor} {st.event.split('  ')[0]}" for st in net.history
                         if st.actor != WIRE)
        raise ValueError(f"no step #{occurrence} matching {event!r}; the steps are: {seen}")
    return hits[occurrence - 1]


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

    Grading has one source of truth, :func:`tcplab.checks.check_prediction` (the stepper's
    "predict" mode uses it too): the right choice is the one it accepts, and its message is
    the explanation.  For the acting endpoint the choices are
    :func:`tcplab.checks.prediction_choices`: the states one transition away.
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
    wrong = [trigger.seq, (trigger.seq + ln + 1) % 2 ** 32, (trigger.seq + len(trigger.data)) % 2 ** 32]
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
             f"{_an(flags)} segment. What acknowledgment number does that {flags} carry?")
    else:
        q = (f"In {where}, the last segment the {src} received was `{trigger.rfc()}`. Now "
             f"{describe_step(step, 'it')} and sends {_an(flags)} segment. What "
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
    return QuestionSpec(q, tuple(str(x) for x in picked), str(n), f"{n} segments: {listing}.")


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

