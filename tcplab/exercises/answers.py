"""Reading a learner's answer, and saying in plain words what was given.

A checker never trusts an answer's type: a notebook cell may still hold the placeholder
``...``, a number, a dict or the result of a call instead of a function.  The readers here
turn what is accepted into tcplab values and raise :class:`AnswerError` for anything else,
with a message that names the argument, shows the learner's value (:func:`describe_value`)
and gives an example of what is accepted.  The small wording helpers (:func:`plural`,
:func:`an`) keep the counts and articles in every checker message right.

Built on the model's :class:`~tcplab.states.TcpState` (its ``parse`` reads every
spelling: RFC, ``ss``, ``netstat``, Linux).

>>> read_state("time_wait")
TcpState.TIME_WAIT
>>> read_state(...)                       # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
tcplab.exercises.answers.AnswerError: the answer is still the placeholder `...`; write a
state name such as 'TIME-WAIT' (the states: CLOSED, LISTEN, SYN-SENT, SYN-RECEIVED,
ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT)
>>> plural(1, "command"), plural(3, "entry")
('1 command', '3 entries')
>>> describe_value(None), describe_value(42), describe_value([1, 2])
('None', 'the number 42', 'a list of 2 items')
"""

from __future__ import annotations

from typing import Iterable, Mapping

from ..states import TcpState

__all__ = ["AnswerError", "read_state", "read_lines", "read_list", "describe_value",
           "plural", "an", "STATE_NAMES"]

#: Every state's RFC name, for messages.
STATE_NAMES = ", ".join(s.rfc for s in TcpState)

_IRREGULAR = {"entry": "entries", "is": "are", "has": "have", "was": "were"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 command"``, ``"2 commands"``, ``"3 entries"``: a count with its noun."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {many or _IRREGULAR.get(word) or word + 's'}"


def an(word: str) -> str:
    """``word`` with its indefinite article: ``"an int"``, ``"a list"``."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def describe_value(value: object, limit: int = 40) -> str:
    """What a learner's value is, in words a message can show: ``"None"``,
    ``"still the placeholder `...`"``, ``"the number 3"``, ``"the text 'x'"``,
    ``"an empty list"``, ``"a list of 3 items"``, ``"a dict"``, ``"a bytes object (b'x')"``.
    Never raises, whatever ``value`` is; long values are cut at ``limit`` characters."""
    if value is ...:
        return "still the placeholder `...`"
    if value is None:
        return "None"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else f"the text {value!r:.{limit}}"
    if isinstance(value, (list, tuple, set, frozenset)):
        kind = type(value).__name__
        return f"an empty {kind}" if not value else f"{an(kind)} of {plural(len(value), 'item')}"
    if isinstance(value, Mapping):
        return "an empty dict" if not value else "a dict"
    kind = type(value).__name__
    try:
        shown = repr(value)
    except Exception:  # noqa: BLE001 - a learner's object may have any __repr__
        shown = "<?>"
    if shown.startswith("<") and " at 0x" in shown:      # the default repr says no more
        return an(kind)
    return f"{an(kind + ' object' if kind == 'bytes' else kind)} ({shown:.{limit}})"


class AnswerError(ValueError):
    """An answer that cannot be read; the message names what is accepted."""


def read_state(value: object, what: str = "the answer") -> TcpState:
    """A state from a learner: a :class:`TcpState` or any spelling ``TcpState.parse`` reads.

    Raises :class:`AnswerError` (naming ``what``) for anything else."""
    if isinstance(value, TcpState):
        return value
    if value is None or (isinstance(value, str) and not value.strip()) or value is ...:
        raise AnswerError(f"{what} is {describe_value(value)}; write a state name such as "
                          f"'TIME-WAIT' (the states: {STATE_NAMES})")
    if isinstance(value, bool) or isinstance(value, (int, float)):
        raise AnswerError(f"{what} is the number {value!r}; write a state name such as "
                          "'TIME-WAIT' instead (numbers differ between tools: to decode one, "
                          "use TcpState.from_linux(), from_mib() or from_windows())")
    if not isinstance(value, str):
        raise AnswerError(f"{what} is {describe_value(value)}; write a state name (a str such "
                          "as 'TIME-WAIT') or a TcpState")
    try:
        return TcpState.parse(value)
    except ValueError:
        raise AnswerError(f"{what}: {value!r} is not a TCP state name; the states are "
                          f"{STATE_NAMES} (the netstat/ss spellings such as TIME_WAIT, "
                          "ESTAB or SYN-RECV work too)") from None


_LINES_EXAMPLE = "['deliver client SYN', 'drop server SYN,ACK']"


def read_lines(value: object, what: str = "the answer") -> list[str]:
    """Script lines from a learner: a list of strings, or one string with a line each.

    ``#`` comments and blank lines are dropped; raises :class:`AnswerError` if nothing is
    left or an item is not a string."""
    if value is None or value is ...:
        raise AnswerError(f"{what} is {describe_value(value)}; give a list of lines such as "
                          f"{_LINES_EXAMPLE}")
    if isinstance(value, str):
        lines = value.splitlines()
    elif isinstance(value, (list, tuple)):
        lines = []
        for i, item in enumerate(value, 1):
            if not isinstance(item, str):
                raise AnswerError(f"{what}: item {i} is {describe_value(item)}; each line must "
                                  f"be a string, one command each: give a list such as "
                                  f"{_LINES_EXAMPLE}")
            lines.append(item)
    else:
        raise AnswerError(f"{what} is {describe_value(value)}; give a list of strings such "
                          f"as {_LINES_EXAMPLE} (or one string with one command per line)")
    lines = [ln.split("#", 1)[0].strip() for ln in lines]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise AnswerError(f"{what} has no commands; give a list of lines such as "
                          f"{_LINES_EXAMPLE}")
    return lines


def read_list(value: object, what: str, n: int, example: str, row: str = "row") -> list[object]:
    """A list of exactly ``n`` entries, one per ``row`` (a list, a tuple, or a string with
    one entry per line).  ``what`` names the argument (``"the list `states`"``)."""
    rows = plural(n, row)
    entries = plural(n, "entry")
    if value is None or value is ...:
        raise AnswerError(f"{what} is {describe_value(value)}; give a list with one entry "
                          f"per {row} ({entries}), e.g. {example}")
    if isinstance(value, str):
        items: list[object] = [ln.strip() for ln in value.splitlines() if ln.strip()]
    elif isinstance(value, Mapping):
        raise AnswerError(f"{what} is a dict; give a list with one entry per {row} "
                          f"({entries}), e.g. {example}")
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        items = list(value)
    else:
        raise AnswerError(f"{what} is {describe_value(value)}; give a list with one entry "
                          f"per {row} ({entries}), e.g. {example}")
    if not items:
        raise AnswerError(f"{what} is an empty list; give {entries}, e.g. {example}")
    if len(items) != n:
        raise AnswerError(f"{what} has {plural(len(items), 'entry')}, but there "
                          f"{'is' if n == 1 else 'are'} {rows}: give exactly one entry per "
                          f"{row}, e.g. {example}")
    return items
