"""Exercise kind 5, *find the bug*: grade a diagnosis of a suspect stack, without shipping the key.

A learner names the bug of a suspect (:mod:`tcplab.exercises.suspects`) by its letter in
:data:`~tcplab.exercises.suspects.BUGS`, and gives a scenario -- script lines of
:mod:`tcplab.scenarios` -- whose run with the suspect on both hosts differs from the
reference :class:`~tcplab.endpoint.Endpoint`'s run.  The scenario is graded here, by
running both (the first difference is shown).

**The choice is graded only against a key the instructor supplies.**  A checker that could
grade the letter on its own would be an oracle: a student would try the eight letters.  So
the package holds no answer key (and its examples use made-up keys).  The instructor's
tests pass it: ``key="X"`` (the right letter) in a hidden test of the master notebook
(``assignments/a3-find-the-bug``), or, for autograder zips built before the key left the
package, the environment variable :data:`KEY_VARIABLE` (``suspect=letter`` pairs) where
the grader runs.  Without a key, a choice is read (a malformed one gets the usual
message) but scores nothing, and the feedback says why.

>>> fb = check_bug("acme", choice="A", key="A")        # a made-up key
>>> fb.ok, fb.message
(True, 'bug A is right.')
>>> check_bug("acme", choice="B", key="A").message
'bug B is not what is wrong with AcmeTCP.'
>>> fb = check_bug("acme", choice="A")                 # no key: not graded
>>> fb.ok, "answer key" in fb.message
(False, True)
>>> print(check_bug("acme", choice=...).message)   # doctest: +NORMALIZE_WHITESPACE
the choice is still the placeholder `...`; write one letter from the bug list
(A, B, C, D, E, F, G, H)
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from ..endpoint import Endpoint
from ..network import Network
from ..scenarios import run_script
from ..steps import Step, TcpError
from .answers import AnswerError, describe_value, plural, read_lines
from .feedback import Feedback, malformed
from .questions import step_label
from .suspects import BUGS, SUSPECTS, suspect_key, suspect_network

__all__ = ["check_bug", "KEY_VARIABLE"]

#: The environment variable that may hold the instructor's key where the grader runs:
#: ``"acme=X,boreal=Y,cobalt=Z,dune=W"``, one ``suspect=letter`` pair per suspect (a bug
#: key instead of the letter also works), in any order.
KEY_VARIABLE = "TCPLAB_FIND_BUG_KEY"

_LETTERS = ", ".join(letter for letter, _, _ in BUGS)


def _read_choice(value: object, what: str = "the choice") -> str:
    """The bug key of a letter (``"A"``, ``"(a)"``) or key (``"passive-time-wait"``)."""
    if not isinstance(value, str) or not value.strip():
        raise AnswerError(f"{what} is {describe_value(value)}; write one letter from the bug "
                          f"list ({_LETTERS})")
    v = value.strip().strip("().").strip()
    for letter, key, _ in BUGS:
        if v.upper() == letter or v.lower() == key:
            return key
    raise AnswerError(f"{what} {value!r} is not in the bug list; write one of the letters "
                      f"{_LETTERS}")


def _instructor_key(suspect: str, key: object) -> str | None:
    """The bug key of ``suspect`` from ``key=`` or :data:`KEY_VARIABLE`; ``None`` if neither
    names it.  A malformed key is the instructor's mistake: ``ValueError``, naming it."""
    if key is not None:
        try:
            return _read_choice(key, "key=")
        except AnswerError as exc:
            raise ValueError(str(exc)) from None
    text = os.environ.get(KEY_VARIABLE, "").strip()
    if not text:
        return None
    for item in text.replace(";", ",").split(","):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{KEY_VARIABLE}={text!r}: write suspect=letter pairs separated by "
                             "commas, e.g. 'acme=X,boreal=Y'")
        try:
            if suspect_key(name.strip()) == suspect:
                return _read_choice(value, f"{KEY_VARIABLE} entry {name.strip()!r}")
        except (KeyError, AnswerError) as exc:
            raise ValueError(f"{KEY_VARIABLE}: {exc.args[0]}") from None
    return None


def _observe(step: Step) -> tuple:
    """What a learner can observe of a step, from its typed fields."""
    return (step.actor, step.kind, step.call, step.socket_call, step.timer, step.wire,
            step.retransmission, step.received.rfc() if step.received else None,
            step.before, step.after, tuple(s.rfc() for s in step.sent),
            tuple((n, t, round(d, 6)) for n, t, d in step.timers), round(step.time, 6))


def _describe(step: Step) -> str:
    if step.kind == "wire":
        return f"{step.time:.3f} s wire: {step.event}"
    move = (f"{step.before} → {step.after}" if step.changed_state else f"stays {step.after}")
    sent = (", sends " + " ".join(s.rfc() for s in step.sent)) if step.sent else ""
    timers = "; ".join(f"{n} {t} timer at {d:g} s" for n, t, d in step.timers)
    return (f"{step.time:.3f} s {step.actor} {step_label(step)}: {move}{sent}"
            + (f" [timers: {timers}]" if timers else " [no timers]"))


#: At most this many steps per ``run``/``settle``/``wait`` in a find-the-bug scenario: a
#: stack that answers RST with RST never goes quiet, and that should not take seconds to see.
_MAX_STEPS = 500


def _play(suspect: "str | None", lines: Sequence[str]) -> tuple[Network, list[int], str | None]:
    """Run lines; the history length after each line, and the error that stopped it."""
    net = suspect_network(suspect)

    def capped_run(max_steps: int = _MAX_STEPS, until: float | None = None,
                   stop: Any = None) -> list[Step]:
        return Network.run(net, min(max_steps, _MAX_STEPS), until, stop)

    net.run = capped_run  # type: ignore[method-assign]
    ends = []
    for i, line in enumerate(lines, 1):
        try:
            run_script(net, [line])
        except (ValueError, KeyError, TcpError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            return net, ends, f"line {i} {line!r}: {str(msg).replace('script line 1 ', '')}"
        except RuntimeError:
            return net, ends, (f"line {i} {line!r}: the network never became quiet (segments "
                               "kept bouncing back and forth)")
        ends.append(len(net.history))
    return net, ends, None


def check_bug(suspect: "str | type[Endpoint]", choice: object = None, scenario: object = None,
              *, max_lines: int | None = None, exercise_id: str | None = None,
              key: str | None = None) -> Feedback:
    """Check a learner's diagnosis of a suspect stack.

    ``choice`` -- the letter (or key) of the bug in :data:`BUGS`; ``scenario`` -- script
    lines (both hosts run the suspect stack) whose run differs from the reference
    endpoint's, at most ``max_lines`` of them.  Give either or both; each is half the score
    when both are asked for.  ``key`` -- the instructor's answer for this suspect (a letter
    or bug key); without it the choice is graded against :data:`KEY_VARIABLE`, or not at
    all (see the module docstring).  A malformed ``key`` raises ``ValueError``; a
    learner's malformed answer never raises.
    """
    try:
        bug_key = _instructor_key(suspect_key(suspect), key)
    except KeyError as exc:
        return malformed(str(exercise_id or "find-bug"), str(exc.args[0]))
    sus = suspect_key(suspect)
    ex_id = exercise_id or f"find-bug/{sus}"
    name = SUSPECTS[sus].__name__
    if choice is None and scenario is None:
        return malformed(ex_id, "give choice= (a letter from the bug list) and/or scenario= "
                         "(script lines whose run exposes the bug)")
    parts: list[tuple[bool, str]] = []
    rows: list[tuple[str, ...]] = []
    marks: list[bool | None] = []
    detail = ""
    try:
        picked = _read_choice(choice) if choice is not None else None
        lines = read_lines(scenario, "the scenario") if scenario is not None else None
    except AnswerError as exc:
        return malformed(ex_id, str(exc))
    if picked is not None:
        letter = next(b[0] for b in BUGS if b[1] == picked)
        if bug_key is None:
            parts.append((False, f"your choice, bug {letter}, is readable, but it is not graded "
                          "here: the answer key is not part of the tcplab package (so that it "
                          "cannot be read from it); your instructor's tests grade the choice"))
        else:
            ok = picked == bug_key
            parts.append((ok, f"bug {letter} is "
                          f"{'right' if ok else 'not what is wrong with ' + name}"))
    if lines is not None:
        if max_lines is not None and len(lines) > max_lines:
            return malformed(ex_id, f"the scenario has {plural(len(lines), 'line')}; at most "
                             f"{max_lines} {'is' if max_lines == 1 else 'are'} allowed: keep "
                             "only what exposes the bug")
        ref, ref_ends, ref_err = _play(None, lines)
        if ref_err:
            return malformed(ex_id, "the scenario does not run with the reference endpoint: "
                             f"{ref_err}")
        bad, bad_ends, bad_err = _play(sus, lines)
        diverge = _divergence(ref.history, bad.history)
        line_of = (lambda k: next((i for i, end in enumerate(ref_ends, 1) if k < end),
                                  len(lines)))
        if diverge is not None:
            k = diverge
            r = _describe(ref.history[k]) if k < len(ref.history) else "(nothing more happens)"
            b = _describe(bad.history[k]) if k < len(bad.history) else (
                "(nothing more happens)" if not bad_err else f"stopped: {bad_err}")
            rows = [("reference Endpoint", r), (name, b)]
            marks = [None, None]
            parts.append((True, f"your scenario exposes {name}: the runs part at line "
                          f"{line_of(k)} ({lines[line_of(k) - 1]!r}), step {k}"))
        elif bad_err:
            rows = [("reference Endpoint", "runs every line"), (name, bad_err)]
            marks = [None, None]
            parts.append((True, f"your scenario exposes {name}: {bad_err}"))
        else:
            parts.append((False, f"in your scenario {name} behaves exactly like the reference "
                          "endpoint (same states, segments, timers and times): it does not "
                          "reach the bug. Try a scenario that ends with 'run' so timers fire"))
        from ..render.text import trace
        detail = ("reference Endpoint:\n" + trace(ref, times=True) + f"\n\n{name}:\n"
                  + trace(bad, times=True))
    score = sum(ok for ok, _ in parts) / len(parts)
    ok = all(ok for ok, _ in parts)
    msg = "; ".join(text for _, text in parts) + "."
    return Feedback(ex_id, ok, score, msg, ("run", "first difference"), tuple(rows),
                    tuple(marks), detail)


def _divergence(a: Sequence[Step], b: Sequence[Step]) -> int | None:
    for k, (x, y) in enumerate(zip(a, b)):
        if _observe(x) != _observe(y):
            return k
    return None if len(a) == len(b) else min(len(a), len(b))

