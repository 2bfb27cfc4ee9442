"""The legend under a highlighted state diagram: endpoint colours, line styles, a caption.

Builds on :mod:`.highlight` (the plan says who is shown and what happened) and
:mod:`..theme`.  The legend is a short list of :class:`Prim` (rectangles, lines, texts)
that :mod:`.svg` writes as SVG and :mod:`.graph` as pinned Graphviz nodes, so the SVG
shown and a PNG saved carry the same legend.  Text widths are estimated (the browser sets
the SVG text; an estimate is enough to place four items in a row).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from ..theme import COLORS, FONTS, darker
from .highlight import PATH_ALPHA, Plan

__all__ = ["LEGEND_H", "Prim", "legend_prims", "legend_svg", "text_width"]

#: Height of the legend band under the diagram, in points.
LEGEND_H = 44.0


@lru_cache(maxsize=256)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """Rough Helvetica advance width in points (enough to place legend items).

    >>> round(text_width("client", 10), 1)
    25.5
    """
    narrow = sum(1 for ch in text if ch in "iIl.,:;|!' ()[]ftjr")
    wide = sum(1 for ch in text if ch in "MWmw@" or ch.isupper())
    w = (len(text) - narrow - wide) * 0.55 + narrow * 0.3 + wide * 0.78
    return w * size * (1.07 if bold else 1.0)


@dataclass(frozen=True)
class Prim:
    """A legend primitive; ``x``/``y`` in SVG coordinates inside the graph (y down)."""

    kind: str                         # "rect", "line", "text"
    x: float
    y: float
    w: float = 0.0
    h: float = 0.0                    # a line's stroke width
    color: str = COLORS["legend-text"]   # a line may be "c1:c2" (colours in series)
    alpha: float = 1.0
    text: str = ""
    size: float = 10.0

    @property
    def width(self) -> float:
        return text_width(self.text, self.size)


def legend_prims(plan: Plan, bb: tuple[float, float, float, float]) -> list[Prim]:
    """The legend of ``plan`` for a diagram whose Graphviz bounding box is ``bb``."""
    x0, _, x1, _ = bb
    y_row1, y_row2 = 14.0, 32.0
    prims: list[Prim] = []
    x = x0 + 12
    for name in plan.endpoints:
        prims.append(Prim("rect", x, y_row1 - 5, 14, 10, plan.colors[name]))
        prims.append(Prim("text", x + 19, y_row1, text=name, size=10))
        x += 19 + text_width(name, 10) + 16
    mine = ":".join(plan.colors[n] for n in plan.endpoints)   # each endpoint's own colour
    items = []
    if plan.endpoints:
        items += [("just taken", mine, 1.0, 3.2), ("path so far", mine, PATH_ALPHA, 3.0)]
    if plan.coverage:
        items.append(("used in this run", COLORS["coverage"], 1.0, 2.4))
    for label, c, a, w in items:
        prims.append(Prim("line", x, y_row1, 24, w, c, a))
        prims.append(Prim("text", x + 29, y_row1, text=label, size=10))
        x += 29 + text_width(label, 10) + 16
    if plan.endpoints:
        prims.append(Prim("text", x + 2, y_row1, text="(filled box: current state)",
                          size=10, color=COLORS["legend-note"]))
    cap = plan.caption
    max_chars = int((x1 - x0 - 24) / (0.55 * 10))
    if len(cap) > max_chars:
        cap = cap[: max_chars - 1] + "…"
    if cap:
        prims.append(Prim("text", x0 + 12, y_row2, text=cap, size=10, color=COLORS["caption"]))
    return prims


def legend_svg(prims: Sequence[Prim]) -> str:
    """``<g id="legend" class="legend">`` with the primitives."""
    out = ['<g id="legend" class="legend">']
    for p in prims:
        if p.kind == "rect":
            out.append(f'<rect x="{p.x:g}" y="{p.y:g}" width="{p.w:g}" height="{p.h:g}" '
                       f'rx="2" fill="{p.color}" stroke="{darker(p.color)}"/>')
        elif p.kind == "line":                 # one segment per colour, in series
            op = f' stroke-opacity="{p.alpha:g}"' if p.alpha < 1 else ""
            cols = p.color.split(":")
            seg = p.w / len(cols)
            for i, c in enumerate(cols):
                out.append(f'<line x1="{p.x + i * seg:g}" y1="{p.y:g}" '
                           f'x2="{p.x + (i + 1) * seg:g}" y2="{p.y:g}" stroke="{c}" '
                           f'stroke-width="{p.h:g}"{op}/>')
        else:
            out.append(f'<text x="{p.x:g}" y="{p.y + p.size * 0.35:g}" '
                       f'font-family="{FONTS["diagram-svg"]}" font-size="{p.size:g}" '
                       f'fill="{p.color}">{html.escape(p.text, quote=True)}</text>')
    out.append("</g>")
    return "".join(out)
