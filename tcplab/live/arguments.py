"""Checking the arguments of the live lab's public calls, before anything is opened.

A refused call opens no socket, builds no namespace and changes nothing; its ``TypeError``
or ``ValueError`` names the argument and what it accepts.  Plain Python, no dependencies.

>>> seconds("delay", 0.25, high=2)
0.25
>>> seconds("delay", -1, high=2)
Traceback (most recent call last):
ValueError: delay is in seconds, 0..2, got -1
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

__all__ = ["seconds", "flag", "actor", "ports"]


def seconds(name: str, value: object, *, low: float = 0.0, high: float = math.inf,
            positive: bool = False) -> float:
    """``value`` as a float number of seconds in ``low..high`` (above ``low`` if ``positive``).

    Raises ``TypeError`` for a non-number (``bool`` included) and ``ValueError`` for NaN, an
    infinity or a value out of range.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} is a number of seconds, not {type(value).__name__} "
                        f"({value!r})")
    x = float(value)
    span = f"{low:g}..{high:g}" if math.isfinite(high) else f"at least {low:g}"
    if positive:
        span = (f"more than {low:g} and at most {high:g}" if math.isfinite(high)
                else f"more than {low:g}")
    if math.isnan(x) or math.isinf(x) or x < low or x > high or (positive and x <= low):
        raise ValueError(f"{name} is in seconds, {span}, got {value!r}")
    return x


def flag(name: str, value: object, *also: object) -> object:
    """``value`` if it is ``True``, ``False`` or one of ``also``; else ``ValueError``."""
    if value is True or value is False or any(value == a for a in also
                                              if isinstance(value, type(a))):
        return value
    allowed = ", ".join(["True", "False", *(repr(a) for a in also)])
    raise ValueError(f"{name} is one of {allowed}, not {value!r}")


def actor(name: str, value: object, names: Sequence[str]) -> str:
    """``value`` if it names one of the run's sides; else ``ValueError`` listing them."""
    if value not in names:
        raise ValueError(f"{name} is one of the run's sides ({', '.join(names)}), "
                         f"not {value!r}")
    return value  # type: ignore[return-value]


def ports(value: object) -> "set[int] | None":
    """``None`` (every port), or a set of port numbers 0..65535 from any iterable of ints."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"ports is a set of port numbers (ints), not {value!r}")
    out = set()
    for p in value:
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 65535:
            raise ValueError(f"ports holds port numbers 0..65535, not {p!r}")
        out.add(p)
    return out
