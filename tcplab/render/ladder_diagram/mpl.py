"""The ladder drawn with matplotlib: the display list of :mod:`.marks` as artists, files.

Builds on :mod:`.marks` (what to draw, pure) and matplotlib's public API only: a
:class:`matplotlib.figure.Figure` with an Agg canvas of its own (never pyplot: no global
state, works headless and in notebooks), ``Axes.text``, ``Axes.add_collection``,
``Axes.add_artist`` and ``Figure.savefig`` for PNG, SVG and PDF.  Few artists are made:
one collection per layer and style of lines, polygons and markers.

matplotlib is imported here, i.e. only when a ladder is drawn.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.path import Path as MPath
from matplotlib.patheffects import withStroke

from ..theme import COLORS
from .history import Run
from .layout import LadderLayout
from .marks import Drawing, Ops, draw_marks

__all__ = ["LadderFigure", "setup_figure", "draw_into", "figure_png", "PNG_OPTIONS"]

#: PNG encoding for every ladder PNG: zlib level 1 (Pillow's option, through ``savefig``'s
#: ``pil_kwargs``): these flat pictures compress about as well, several times faster.
PNG_OPTIONS = {"compress_level": 1}


def _clock() -> MPath:
    """A clock face with two hands, the marker of a timer firing."""
    hands = MPath([(0, 0), (0, 0.62), (0, 0), (0.45, 0)],
                  [MPath.MOVETO, MPath.LINETO, MPath.MOVETO, MPath.LINETO])
    return MPath.make_compound_path(MPath.unit_circle(), hands)


_CLOCK = _clock()


class LadderFigure(Figure):
    """A matplotlib Figure that shows itself in Jupyter even without pyplot."""

    drawn: Drawing

    def _repr_png_(self) -> bytes:
        return figure_png(self, 100)


def setup_figure(lay: LadderLayout, title: str | None,
                 figsize: tuple[float, float] | None) -> Any:
    """A new figure holding one Axes for the ladder, with an Agg canvas of its own (so
    PNGs need no backend switch).  Returns the Axes."""
    nat_w = lay.width + lay.ticks_in + 0.12
    nat_h = lay.height + (0.45 if title else 0.0)
    fig = LadderFigure(figsize=figsize or (nat_w, nat_h), facecolor="white")
    FigureCanvasAgg(fig)
    fh = fig.get_size_inches()[1]
    ax = fig.add_axes((lay.ticks_in / nat_w, 0.0, lay.width / nat_w, lay.height / nat_h))
    if title:
        fig.suptitle(title, y=1 - 0.12 / fh, va="top", fontsize=11, fontweight="bold")
    return ax


def draw_into(ax: Any, lay: LadderLayout, run: Run, k: int, prefix: bool) -> Drawing:
    """Draw the ladder after step ``k`` into ``ax``; ``fig.drawn`` and ``ax.drawn`` are the
    :class:`~.marks.Drawing`.  The layout is in "natural" inches: an Axes of another size
    shows it zoomed uniformly (equal aspect; fonts and lines scaled alike)."""
    fig = ax.figure
    bbox = ax.get_position()
    fw, fh = fig.get_size_inches()
    zoom = min(bbox.width * fw / lay.width, bbox.height * fh / lay.height)
    if abs(zoom - 1) > 1e-3:
        ax.set_aspect("equal", adjustable="box", anchor="C")
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.y_bottom, lay.y_top)
    ax.set_axis_off()
    ax.set_autoscale_on(False)
    drawing = draw_marks(lay, run, k, prefix)
    _render(ax, drawing, zoom)
    fig.drawn = drawing
    ax.drawn = drawing
    return drawing


def _render(ax: Any, drawn: Drawing, zoom: float) -> None:
    """Make the artists of the display list; give every mark its artists."""
    ops: Ops = drawn.ops
    made: dict[str, list[Any]] = {"text": [], "stroke": [], "ticks": []}
    for kind, i in ops.order:           # in drawing order: it decides ties of zorder
        if kind == "text":
            x, y, s, kw = ops.texts[i]
            kw = dict(kw, fontsize=kw["fontsize"] * zoom)
            if kw.pop("halo", False):   # a white halo, so labels stay readable over lines
                kw["path_effects"] = [withStroke(linewidth=2.6 * zoom, foreground="white")]
            kw.setdefault("clip_on", False)
            made["text"].append(ax.text(x, y, s, parse_math=False, **kw))
        elif kind == "stroke":
            pts, kw = ops.strokes[i]
            kw = dict(kw, lw=kw.get("lw", 1.0) * zoom)
            made["stroke"].append(ax.add_artist(Line2D(
                [p[0] for p in pts], [p[1] for p in pts], clip_on=False, **kw)))
        else:
            made["ticks"].append(ax.add_collection(LineCollection(
                ops.ticks, colors=COLORS["muted"], linewidths=0.6 * zoom, clip_on=False),
                autolim=False))
    for z, items in ops.lines.items():
        ax.add_collection(LineCollection(
            [it[0] for it in items], colors=[to_rgba(it[1], it[4]) for it in items],
            linewidths=[it[2] * zoom for it in items], linestyles=[it[3] for it in items],
            zorder=z, capstyle="butt"), autolim=False)
    for z, items in ops.polys.items():
        ax.add_collection(PolyCollection(
            [it[0] for it in items], facecolors=[to_rgba(it[1], it[4]) for it in items],
            edgecolors=[it[2] for it in items], linewidths=[it[3] * zoom for it in items],
            zorder=z), autolim=False)
    for (marker, size, color, mew, face, z), pts in ops.marks.items():
        ax.add_artist(Line2D([p[0] for p in pts], [p[1] for p in pts], ls="none",
                             marker=_CLOCK if marker == "clock" else marker,
                             markersize=size * zoom, color=color, mew=mew * zoom,
                             markerfacecolor=face or color, zorder=z, clip_on=False))
    for m in drawn:
        m.artists = tuple(made[kind][i] for kind, i in m.refs)


def figure_png(fig: Any, dpi: float) -> bytes:
    """PNG bytes of ``fig`` (``savefig`` on a white background, :data:`PNG_OPTIONS`)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", pil_kwargs=PNG_OPTIONS)
    return buf.getvalue()
