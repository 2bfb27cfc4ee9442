"""The list of exercises, and :func:`check`, the one entry point that grades an answer.

Every exercise -- predict (:mod:`.predict`), decode (:mod:`.decode`), steer (:mod:`.steer`),
implement (:mod:`.closing`), find the bug (:mod:`.find_bug`) -- is registered here under an
id such as ``"predict/simultaneous-close"`` with its prompt and its checker.  The graded
assignments' otter tests and the lesson notebooks both call :func:`check`, so they are told
the same thing; an answer that cannot be read gets a :class:`~.feedback.Feedback` with
``malformed=True``, never an exception.

>>> exercise("steer/both-closing").kind
'steer'
>>> check("steer/both-closing", ["deliver client FIN,ACK", "deliver server FIN,ACK"]).ok
True
>>> check("steer/both-closing", ...).malformed
True
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .answers import AnswerError
from .closing import CLOSING_EVENTS, CLOSING_STATES, check_closing_states
from .decode import DUMPS, STATES_EXAMPLE, WAITING_FOR, check_dump
from .feedback import Feedback, malformed
from .find_bug import check_bug
from .predict import PAIR_EXAMPLE, SCHEDULES, check_schedule
from .steer import TARGETS, check_target
from .suspects import SUSPECTS, bug_list

__all__ = ["Exercise", "EXERCISES", "exercise", "check", "check_text"]


@dataclass(frozen=True)
class Exercise:
    """One exercise: an id, its kind, a prompt for the learner and its checker."""

    id: str
    kind: str            # predict, decode, steer, implement, find-bug
    title: str
    prompt: str          # Markdown
    checker: Callable[..., Feedback] = field(repr=False)
    answer_help: str = ""

    def check(self, answer: object = None, **kwargs: Any) -> Feedback:
        return self.checker(answer, **kwargs)

    def _repr_markdown_(self) -> str:
        return f"**{self.title}** (`{self.id}`)\n\n{self.prompt}\n\n*Answer:* {self.answer_help}"


EXERCISES: dict[str, Exercise] = {}


def _register(ex: Exercise) -> Exercise:
    assert ex.id not in EXERCISES, ex.id
    EXERCISES[ex.id] = ex
    return ex


def exercise(exercise_id: "str | Exercise") -> Exercise:
    """The exercise called ``exercise_id`` (a ``KeyError`` lists them all)."""
    if isinstance(exercise_id, Exercise):
        return exercise_id
    try:
        return EXERCISES[exercise_id]
    except (KeyError, TypeError):
        raise KeyError(f"no exercise {exercise_id!r}; the exercises are: "
                       + ", ".join(EXERCISES)) from None


def check(exercise_id: "str | Exercise", answer: object = None, **kwargs: Any) -> Feedback:
    """Check ``answer`` to the exercise ``exercise_id``: the entry point for notebooks and
    for the assignments' tests.  Never raises because of the answer; an unknown exercise id
    raises ``KeyError`` and an unknown keyword ``TypeError``, each naming what exists."""
    ex = exercise(exercise_id)
    try:
        inspect.signature(ex.checker).bind(answer, **kwargs)
    except TypeError:
        takes = [p for p in inspect.signature(ex.checker).parameters if p != "answer"]
        raise TypeError(f"check({ex.id!r}, answer, ...) takes the answer"
                        + (" and " + ", ".join(f"{p}=" for p in takes) if takes else " only")
                        + f"; got {', '.join(f'{k}=' for k in kwargs) or 'nothing else'}"
                        ) from None
    try:
        return ex.check(answer, **kwargs)
    except AnswerError as exc:
        return malformed(ex.id, str(exc))


# =========================================================================== registration ==

def _predict_checker(name: str) -> Callable[..., Feedback]:
    def checker(answer: object = None, *, reveal: bool = False) -> Feedback:
        return check_schedule(name, answer, reveal=reveal)
    return checker


def _decode_checker(name: str) -> Callable[..., Feedback]:
    def checker(answer: object = None, *, waiting_for: object = None,
                reveal: bool = False) -> Feedback:
        return check_dump(name, answer, waiting_for, reveal=reveal)
    return checker


def _steer_checker(name: str) -> Callable[..., Feedback]:
    def checker(answer: object = None) -> Feedback:
        return check_target(name, answer)
    return checker


def _bug_checker(suspect: str) -> Callable[..., Feedback]:
    def checker(answer: object = None, *, choice: object = None, scenario: object = None,
                max_lines: int | None = None, key: str | None = None) -> Feedback:
        if answer is not None and choice is None and scenario is None:
            if isinstance(answer, Mapping):
                choice, scenario = answer.get("choice"), answer.get("scenario")
            elif isinstance(answer, str) and "\n" not in answer.strip() and \
                    len(answer.strip()) <= 2:
                choice = answer
            else:
                scenario = answer
        return check_bug(suspect, choice, scenario, max_lines=max_lines, key=key)
    return checker


for _s in SCHEDULES.values():
    _register(Exercise(f"predict/{_s.name}", "predict", _s.title, _s.prompt(),
                       _predict_checker(_s.name),
                       "one (client state, server state) pair per event, e.g. "
                       + PAIR_EXAMPLE))
for _d in DUMPS.values():
    _register(Exercise(f"decode/{_d.name}", "decode", _d.title, _d.prompt(),
                       _decode_checker(_d.name),
                       "the state of each socket line, in order, e.g. " + STATES_EXAMPLE
                       + "; with waiting_for=[...] also what each one waits for, one of "
                       + ", ".join(f"'{k}'" for k in WAITING_FOR)))
for _t in TARGETS.values():
    _register(Exercise(f"steer/{_t.name}", "steer", _t.title, _t.prompt(),
                       _steer_checker(_t.name),
                       "wire commands, one per line, e.g. ['deliver client FIN,ACK', "
                       "'drop server ACK']"))
_CLOSING_PROMPT = (
    "Write `next_state(state, event)` for the closing part of the state machine: `state` is "
    "one of " + ", ".join(s.rfc for s in CLOSING_STATES) + " (a `TcpState`), `event` one "
    "of " + ", ".join(f"`{e}`" for e in CLOSING_EVENTS) + ". Return the state after the "
    "event, or the same state (or `None`) if nothing changes. A segment that repeats "
    "something already received is an old duplicate: it is acknowledged and dropped.")
_register(Exercise("implement/closing-states", "implement", "Implement the closing states",
                   _CLOSING_PROMPT,
                   lambda answer=None: check_closing_states(answer),
                   "your function next_state itself (not a call)"))
_register(Exercise("implement/closing-states-extended", "implement",
                   "Implement the closing states, with RST and ABORT",
                   _CLOSING_PROMPT + " Also handle `rcv RST` and `ABORT`.",
                   lambda answer=None: check_closing_states(answer, extended=True),
                   "your function next_state itself (not a call)"))
for _k, _cls in SUSPECTS.items():
    _register(Exercise(f"find-bug/{_k}", "find-bug", f"Find the bug in {_cls.__name__}",
                       f"Both hosts run `{_cls.__name__}` "
                       f"(`suspect_network('{_k}')`). It has exactly one of these bugs:\n\n"
                       + bug_list(), _bug_checker(_k),
                       "choice='X' (a letter) and scenario=[script lines] that expose it"))


def check_text(ex: "str | Exercise", text: str, reveal: bool = False) -> Feedback:
    """Check an answer typed as text, one entry per line (what :func:`tcplab.ui.practice`
    reads from its answer box): ``FIN-WAIT-1, ESTABLISHED`` (predict), ``LISTEN`` or
    ``LISTEN, syn`` (decode), ``deliver client FIN,ACK`` (steer), or a letter followed by
    scenario lines (find the bug)."""
    ex = exercise(ex)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if ex.kind == "predict":
        return check(ex, lines, reveal=reveal)
    if ex.kind == "decode":
        pairs = [[p.strip() for p in ln.split(",")] for ln in lines]
        if pairs and all(len(p) == 2 for p in pairs):
            return check(ex, [p[0] for p in pairs], waiting_for=[p[1] for p in pairs],
                         reveal=reveal)
        return check(ex, lines, reveal=reveal)
    if ex.kind == "find-bug":
        if lines and len(lines[0]) <= 2:
            return check(ex, choice=lines[0], scenario=lines[1:] or None)
        return check(ex, scenario=lines)
    return check(ex, lines)
