"""The widgets' style sheet: ``tcplab.css`` (package data) with the theme's colours in front.

The CSS lives in one file, ``tcplab/ui/tcplab.css``, shipped in the wheel next to this
module and read with :mod:`importlib.resources` (so it works from a zip or a wheel as well
as from a checkout).  The colours that mean something -- one per endpoint, the TIME-WAIT
timer, the accent of a quiz -- come from :data:`tcplab.render.theme.PALETTE`, the palette
the state diagram and the ladder use, as CSS custom properties; the style sheet refers to
them by name (``var(--tl-endpoint-0)``), so the widgets and the pictures cannot disagree.
Plain Python: no ipywidgets here.

>>> css = stylesheet()
>>> css.startswith("<style>") and "--tl-endpoint-0: #0072B2" in css and ".t-quiz" in css
True
>>> endpoint_colors(["client", "server"])
{'client': '#0072B2', 'server': '#D55E00'}
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Iterable

from ..render.theme import PALETTE

__all__ = ["stylesheet", "endpoint_colors", "WIRE_COLOR"]

#: The colour of what belongs to no endpoint (the wire, step 0): a CSS variable.
WIRE_COLOR = "var(--tl-muted)"

# What each palette entry means in the widgets (Okabe-Ito: 3 is the orange of TIME-WAIT).
_ROLES = {"--tl-accent": 0, "--tl-quiz-right": 2, "--tl-timer": 3}


def endpoint_colors(names: Iterable[str]) -> dict[str, str]:
    """Endpoint name -> colour, in the order of ``Network.names`` (the pictures' order)."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The whole ``<style>`` element the widgets put in front of themselves (read once)."""
    css = files(__package__).joinpath("tcplab.css").read_text(encoding="utf-8")
    props = [f"--tl-endpoint-{i}: {c};" for i, c in enumerate(PALETTE)]
    props += [f"{name}: {PALETTE[i]};" for name, i in _ROLES.items()]
    # the explorer's endpoint cards (tl-ep-0, tl-ep-1, ...): --tl-c is the endpoint's colour
    cards = "".join(f".tl-ep-{i} {{--tl-c: var(--tl-endpoint-{i});}}\n"
                    for i in range(len(PALETTE)))
    return "<style>\n:root {" + " ".join(props) + "}\n" + cards + css + "</style>"
