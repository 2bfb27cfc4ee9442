"""Checking a learner's prediction against what the model really did.

The stepping widget's "predict first" mode, quizzes and graded assignments all ask the same
question -- *which state will it be in after this step?* -- and all answer it from the
model's own step records (:class:`~tcplab.steps.Step`), never from hand-written data.
Built on the model only (states, steps, the transition table); no ipywidgets, so grading
code can import it anywhere.

>>> from tcplab import scenarios
>>> net = scenarios.get("handshake").run()
>>> step = net.history[2]                       # the server receives the SYN
>>> [s.rfc for s in prediction_choices(step)]
['CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED']
>>> check_prediction(step, "SYN-RECEIVED")[0]
True
>>> ok, message = check_prediction(step, {"server": "ESTABLISHED"})
>>> ok, message.split(",")[0]
(False, 'Not quite: you said ESTABLISHED')
"""

from __future__ import annotations

from typing import Mapping

from ..states import TcpState
from ..steps import Step
from ..transitions import edges_from

__all__ = ["check_prediction", "expected_states", "prediction_choices", "Answer"]

#: A prediction: the acting endpoint's next state (a TcpState or any spelling
#: ``TcpState.parse`` reads: ``"SYN-RECEIVED"``, ``"syn_recv"``...), or a mapping
#: endpoint name -> state for one or more endpoints.
Answer = "TcpState | str | Mapping[str, TcpState | str]"


def expected_states(step: Step) -> dict[str, TcpState]:
    """Every endpoint's state after ``step``, from the step record itself."""
    if step.states:
        return dict(step.states)
    if step.after is not None:
        return {step.actor: step.after}
    raise ValueError("this step records no states (was it taken outside a Network?)")


def _parse(value: object, who: str) -> TcpState:
    try:
        return TcpState.parse(value)  # type: ignore[arg-type]
    except (ValueError, KeyError, TypeError, AttributeError):
        names = ", ".join(s.rfc for s in TcpState)
        raise ValueError(f"{value!r} is not a TCP state (for {who}); the states are: "
                         f"{names}") from None


def _move(who: str, before: TcpState | None, after: TcpState) -> str:
    if before is None or before is after:
        return f"the {who} stays in {after.rfc}"
    return f"the {who} goes from {before.rfc} to {after.rfc}"


def check_prediction(step: Step, answer: "TcpState | str | Mapping[str, TcpState | str]"
                     ) -> tuple[bool, str]:
    """Is ``answer`` the state(s) after ``step``?  Returns ``(ok, message)``.

    ``answer`` is the acting endpoint's state after the step (for a wire step, which
    changes no state, every endpoint's state must stay as it was, so give a mapping), or a
    mapping ``{endpoint: state}`` checked for each endpoint it names.  The truth comes from
    the step record (``step.after`` and ``step.states``).  The message says what really
    happened and why, in plain words, with the RFC section.  A state name that does not
    exist, or an endpoint that is not in the run, raises ``ValueError``.
    """
    truth = expected_states(step)
    if isinstance(answer, Mapping):
        if not answer:
            raise ValueError("the prediction names no endpoint")
        unknown = [n for n in answer if n not in truth]
        if unknown:
            raise ValueError(f"no endpoint {', '.join(map(repr, unknown))} in this run; the "
                             f"endpoints are {', '.join(truth)}")
        guess = {str(n): _parse(v, str(n)) for n, v in answer.items()}
    else:
        if step.after is None:
            raise ValueError(f"step {step.index} is taken by the {step.actor}, which has no "
                             "state: predict the endpoints' states as a mapping, e.g. "
                             + repr({n: s.rfc for n, s in truth.items()}))
        guess = {step.actor: _parse(answer, step.actor)}
    wrong = {n: s for n, s in guess.items() if truth[n] is not s}
    # what really happened, told from the record
    facts = []
    for n in guess:
        before = step.before if n == step.actor else None
        facts.append(_move(n, before, truth[n]))
    if step.actor in guess:
        why = step.transition.summary if step.transition is not None else ""
        why = why or step.explanation
    else:   # the question is about an endpoint this step does not touch
        others = " and ".join(f"the {n}" for n in guess)
        why = (f"This step happens at the {step.actor}; {others} cannot change state until "
               f"something reaches {'them' if len(guess) > 1 else 'it'} (a segment, a call "
               "or a timer of its own).")
    ref = f" ({step.rfc})" if step.rfc else ""
    fact = "; ".join(facts)
    if not wrong:
        return True, f"Right: {fact}. {why}{ref}".strip()
    said = ", ".join(f"{s.rfc}" if len(guess) == 1 else f"{n} {s.rfc}" for n, s in wrong.items())
    return False, f"Not quite: you said {said}, but {fact}. {why}{ref}".strip()


def prediction_choices(step: Step) -> list[TcpState]:
    """Plausible answers for "which state after ``step``?", from the transition table.

    The acting endpoint's state before the step, every state one transition away from it
    (all layers of :data:`~tcplab.transitions.TRANSITIONS`), and -- when the step takes
    several transitions at once -- the states two transitions away, so that the right
    answer is always among the choices without standing out.  In the RFC's order.
    """
    if step.before is None or step.after is None:
        return []
    near = {step.before} | {t.target for t in edges_from(step.before)}
    if step.after not in near:
        for s in list(near):
            near |= {t.target for t in edges_from(s)}
    near.add(step.after)
    return [s for s in TcpState if s in near]
