"""A submission's answers as plain data: what crosses the wall between a sandboxed notebook
and the grader.

The grader never runs a submission's code in its own process and never lets it call a
checker (:mod:`tcplab.exercises.grading`).  The notebook runs in a sandbox
(:mod:`tcplab.exercises.sandbox`, :mod:`tcplab.exercises.run_submission`), which
:func:`encode` s each answer into JSON-able data; the grader :func:`decode` s that data
into plain Python values and scores them with its own tcplab.  What can come back:

========================  ============================================================
answer in the notebook    what the grader gets
========================  ============================================================
None, bool, int, float,   the same value (a ``str`` subclass becomes a plain ``str``)
str
``...``                   ``...`` (an unanswered question)
list, tuple, dict         list, tuple, dict of decoded items
other iterables (range,   a list of their items
generators, sets)
``TcpState`` member       the grader's own ``TcpState`` member of that name
a function (or an object  a :class:`RecordedFunction`: the function's result for every
with ``next_state``)      argument pair the grader asked for, looked up, never re-run
anything else             an :class:`Opaque` stand-in with the same type name and repr
========================  ============================================================

Nothing decoded can run submission code: a recorded function replays results, an opaque
object only has a ``repr``.  Hand-written on purpose rather than pickle (or dill, which otter
uses to ship environments): unpickling bytes a submission controls can run any code, while
JSON with this closed set of tags cannot.  Sizes are capped (:data:`MAX_ITEMS`, :data:`MAX_DEPTH`,
:data:`MAX_TEXT`), so a huge answer is refused rather than read.  Stdlib only; the grader
imports it, and so does the sandboxed runner.

>>> decode(encode([("CLOSED", "LISTEN"), ...]))
[('CLOSED', 'LISTEN'), Ellipsis]
>>> f = decode(encode(lambda state, event: "CLOSED", calls=[("TIME_WAIT", "timeout=2MSL")]))
>>> from tcplab import TcpState
>>> f(TcpState.TIME_WAIT, "timeout=2MSL")
'CLOSED'
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Sequence

__all__ = ["encode", "decode", "AnswerDataError", "RecordedFunction", "Opaque",
           "MAX_ITEMS", "MAX_DEPTH", "MAX_TEXT", "CALL_SECONDS"]

#: At most this many values (items, keys, table cells) in one answer.
MAX_ITEMS = 20_000
#: At most this many levels of nesting.
MAX_DEPTH = 16
#: A string longer than this many characters is cut (and marked so in its text).
MAX_TEXT = 20_000
#: A learner's function gets this many seconds per call before the call counts as raising.
CALL_SECONDS = 2.0


class AnswerDataError(ValueError):
    """Data from a sandbox that is not an encoded answer (too big, too deep, unknown tag)."""


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_ITEMS

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise AnswerDataError(f"the answer has more than {MAX_ITEMS} values")


def _text(value: str) -> str:
    value = str.__str__(value)
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + " [cut]"


# ------------------------------------------------------------------ in the sandbox ----

def encode(value: Any, *, calls: Sequence[tuple[str, str]] = (),
           _budget: _Budget | None = None, _depth: int = 0) -> Any:
    """``value`` as JSON-able data.

    ``calls`` are the ``(TcpState name, event)`` pairs a function answer is called with
    (its results are recorded, each call limited to :data:`CALL_SECONDS`).  Raises
    :class:`AnswerDataError` when the answer exceeds :data:`MAX_ITEMS` or
    :data:`MAX_DEPTH`.  This runs in the sandbox, with the submission's code loaded.
    """
    from ..states import TcpState

    budget = _budget or _Budget()
    budget.spend()
    if _depth > MAX_DEPTH:
        raise AnswerDataError(f"the answer is nested more than {MAX_DEPTH} levels deep")

    def inner(v: Any) -> Any:
        return encode(v, calls=calls, _budget=budget, _depth=_depth + 1)

    kind = type(value)
    if value is None or kind in (bool, int, float):
        return value
    if kind is str:
        return _text(value)
    if value is Ellipsis:
        return {"$": "ellipsis"}
    if isinstance(value, TcpState):
        return {"$": "state", "name": value.name}
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return [inner(v) for v in value]
    if isinstance(value, tuple):
        return {"$": "tuple", "items": [inner(v) for v in value]}
    if isinstance(value, Mapping):
        return {"$": "dict", "items": [[inner(k), inner(v)] for k, v in value.items()]}
    target = value if callable(value) else getattr(value, "next_state", None)
    if calls and callable(target):
        return {"$": "function", "name": _text(getattr(value, "__name__", type(value).__name__)),
                "calls": [[s, e, _call(target, s, e, inner)] for s, e in calls]}
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        items = []
        for v in value:
            items.append(inner(v))
        return {"$": "iterable", "type": type(value).__name__, "items": items}
    return {"$": "object", "type": type(value).__name__, "repr": _text(_repr(value))}


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # noqa: BLE001 - a learner's __repr__ may raise anything
        return f"<{type(value).__name__} whose repr raised {type(exc).__name__}>"


class _CallTimeout(Exception):
    pass


def _call(func: Callable, state: str, event: str, inner: Callable[[Any], Any]) -> Any:
    """One recorded call: ``{"$": "returned", "value": ...}`` or ``{"$": "raised", ...}``."""
    from ..states import TcpState

    def alarm(signum: int, frame: Any) -> None:
        raise _CallTimeout(f"took more than {CALL_SECONDS:g} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, CALL_SECONDS)
    try:
        got = func(TcpState[state], event)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
        name = "TimeoutError" if isinstance(exc, _CallTimeout) else type(exc).__name__
        return {"$": "raised", "type": _text(name)[:80], "message": _text(str(exc))[:500]}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return {"$": "returned", "value": inner(got)}


# ------------------------------------------------------------------- in the grader ----

class Opaque:
    """Stands for an answer object the grader cannot rebuild: it has only a type name and
    a ``repr`` (both as the sandbox saw them), so checkers can say what it was."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text


class RecordedFunction:
    """A learner's function, replayed: calling it returns (or raises) what the real one
    did in the sandbox for the same ``(state, event)``; a pair it was not called with
    raises ``LookupError``.  ``state`` is a ``TcpState``, ``event`` a string."""

    def __init__(self, name: str, results: Mapping[tuple[str, str], Any]) -> None:
        self.__name__ = name
        self._results = dict(results)

    def __call__(self, state: Any, event: Any) -> Any:
        key = (getattr(state, "name", state), event)
        try:
            result = self._results[key]
        except (KeyError, TypeError):
            raise LookupError(f"{self.__name__} was not run with ({state!r}, {event!r}) in "
                              "the sandbox") from None
        if isinstance(result, BaseException):
            raise result
        return result

    def __repr__(self) -> str:
        return f"<function {self.__name__} (recorded)>"


def _exception(name: str, message: str) -> Exception:
    name = name if name.isidentifier() else "Exception"
    return type(name, (Exception,), {"__module__": "submission"})(message)


def decode(data: Any, _budget: _Budget | None = None, _depth: int = 0) -> Any:
    """Plain Python values from :func:`encode`'s data (parsed JSON).  Raises
    :class:`AnswerDataError` for anything else.  This runs in the grader."""
    from ..states import TcpState

    budget = _budget or _Budget()
    budget.spend()
    if _depth > MAX_DEPTH + 2:
        raise AnswerDataError(f"the answer is nested more than {MAX_DEPTH} levels deep")

    def inner(d: Any) -> Any:
        return decode(d, budget, _depth + 1)

    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [inner(d) for d in data]
    if kind is not dict:
        raise AnswerDataError(f"unexpected {kind.__name__} in the answer data")
    tag = data.get("$")
    try:
        if tag == "ellipsis":
            return ...
        if tag == "tuple":
            return tuple(inner(d) for d in data["items"])
        if tag == "iterable":
            return [inner(d) for d in data["items"]]
        if tag == "dict":
            return {inner(k): inner(v) for k, v in data["items"]}
        if tag == "state":
            name = str(data["name"])
            return TcpState[name] if name in TcpState.__members__ else \
                type("TcpState", (Opaque,), {})(f"<TcpState.{name}>")
        if tag == "object":
            kind_name = str(data["type"])
            return type(kind_name if kind_name.isidentifier() else "object", (Opaque,), {})(
                str(data["repr"]))
        if tag == "function":
            results = {}
            for state, event, outcome in data["calls"]:
                budget.spend()
                if outcome.get("$") == "raised":
                    results[(str(state), str(event))] = _exception(str(outcome["type"]),
                                                                   str(outcome["message"]))
                else:
                    results[(str(state), str(event))] = inner(outcome["value"])
            return RecordedFunction(str(data["name"]), results)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, AnswerDataError):
            raise
        raise AnswerDataError(f"malformed {tag!r} value in the answer data") from None
    raise AnswerDataError(f"unknown value tag {tag!r} in the answer data")
