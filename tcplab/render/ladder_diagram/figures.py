"""The ladder's public functions: a figure, PNG bytes, files, a stepping view, the command line.

Builds on :mod:`.history` (the run), :mod:`.layout` (computed once per run and style,
memoised), :mod:`.mpl` (matplotlib) and :mod:`tcplab.scenarios` (the command line).

Speed comes from memoised pictures, not from matplotlib internals: a run's layout is
computed once; a :class:`LadderView` reuses one figure for all its steps and keeps every
step's PNG; :func:`ladder_png` draws through a small cache of such views, so a stepping
widget that asks for step after step of the same run pays for each picture once.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable, Sequence

from ...network import Packet
from .history import Run, collect
from .layout import STYLES, LadderLayout
from .marks import Drawing
from .svg_figure import NEEDS_MATPLOTLIB, SvgLadder, have_matplotlib

__all__ = ["ladder", "ladder_png", "save_ladder", "LadderView"]

_LAYOUTS: "OrderedDict[tuple, tuple[tuple, LadderLayout]]" = OrderedDict()
_VIEWS: "OrderedDict[tuple, tuple[tuple, LadderView]]" = OrderedDict()
_KEEP = {"layouts": 8, "views": 4}   # runs remembered (a notebook shows a few at a time;
                                     # a view holds a figure and its Agg buffer, ~5 MB)


def _run_key(run: Run, style: str, screen: bool = False) -> tuple[tuple, tuple]:
    """(what identifies the picture of ``run``, the steps it was made from)."""
    key = (style, screen, run.names, run.latency, run.now, len(run.history),
           tuple((p.id, p.planned, p.retransmission) for p in run.packets.values()))
    return key, tuple(run.source)     # the Step objects themselves, compared by identity


def _remember(cache: OrderedDict, key: tuple, steps: tuple, make: Any, keep: int) -> Any:
    hit = cache.get(key)
    if hit is not None and len(hit[0]) == len(steps) and all(
            a is b for a, b in zip(hit[0], steps)):
        cache.move_to_end(key)
        return hit[1]
    value = make()
    cache[key] = (steps, value)
    while len(cache) > keep:
        cache.popitem(last=False)
    return value


def _layout_for(run: Run, style: str, screen: bool = False) -> LadderLayout:
    """The full-run layout (memoised: a stepping widget redraws the same run);
    ``screen``: the widgets' narrower paper."""
    key, steps = _run_key(run, style, screen)
    return _remember(_LAYOUTS, key, steps, lambda: LadderLayout(run, style, screen=screen),
                     _KEEP["layouts"])


def _step_index(run: Run, upto: int | None, style: str) -> int:
    n = len(run.history)
    if style not in STYLES:
        raise ValueError(f"style is one of {', '.join(STYLES)}; got {style!r}")
    if upto is None:
        return n - 1
    if not isinstance(upto, int) or isinstance(upto, bool) or not -1 <= upto < max(n, 1):
        raise ValueError(f"upto is a step index 0..{n - 1} (or -1 for 'before the first "
                         f"step'), got {upto!r}")
    return upto


def ladder(source: Any, *, upto: int | None = None, style: str = "rfc", ax: Any = None,
           figsize: tuple[float, float] | None = None, title: str | None = None,
           packets: Iterable[Packet] | None = None, names: Sequence[str] | None = None,
           latency: float | None = None) -> Any:
    """Draw the sequence diagram of a run; return the matplotlib Figure (where matplotlib
    is missing, as in a JupyterLite page: an :class:`~.svg_figure.SvgLadder`).

    ``source`` is a :class:`~tcplab.network.Network` or its ``history`` (a list of
    Steps; then ``packets``, ``names`` and ``latency`` may complete what the steps do not
    say).  ``upto=k`` draws only ``history[:k+1]`` (``-1``: nothing has happened yet) on
    the scale of the whole run.  ``style`` is ``"rfc"`` (``<SEQ=100><CTL=SYN>``),
    ``"tcpdump"`` (``[S] seq 100``) or ``"short"`` (``SYN``).  With ``ax`` the ladder is
    drawn into that Axes (its figure is returned); otherwise the figure gets the natural
    size of the run (about 9.5 in wide; 0.9 in per latency of time) or ``figsize``.

    The returned figure has ``fig.drawn``: a :class:`~.marks.Drawing` (list of
    :class:`~.marks.Mark`).  Raises :class:`ValueError` for an unknown ``style`` or an
    ``upto`` outside the history, :class:`TypeError` for a ``source`` of another kind.
    """
    if ax is None and not have_matplotlib():     # a JupyterLite page: the SVG picture
        return SvgLadder.of(source, upto=upto, style=style, title=title, packets=packets,
                            names=names, latency=latency)
    from .mpl import draw_into, setup_figure

    run = collect(source, packets, names, latency)
    k = _step_index(run, upto, style)
    lay = _layout_for(run, style)
    if ax is None:
        ax = setup_figure(lay, title, figsize)
    elif title:
        ax.set_title(title, fontsize=11, fontweight="bold")
    draw_into(ax, lay, run, k, upto is not None)
    return ax.figure


class LadderView:
    """One run's ladder, to be shown at step after step -- for stepping widgets.

    The layout of the whole run is computed once, one figure is reused for every step,
    and PNGs are memoised per step (a step revisited costs nothing)::

        view = LadderView(net, style="tcpdump")
        image.value = view.png(k)        # ipywidgets.Image
        fig = view.figure(k)             # the (shared, redrawn) matplotlib Figure
    """

    def __init__(self, source: Any, *, style: str = "rfc", title: str | None = None,
                 figsize: tuple[float, float] | None = None, dpi: int = 100,
                 packets: Iterable[Packet] | None = None, names: Sequence[str] | None = None,
                 latency: float | None = None) -> None:
        self.run = source if isinstance(source, Run) else collect(source, packets, names,
                                                                  latency)
        _step_index(self.run, None, style)
        self.style, self.title, self.figsize, self.dpi = style, title, figsize, dpi
        self.layout = _layout_for(self.run, style)
        self._fig: Any = None
        self._ax: Any = None
        self._shown: Any = "none"
        self._png: dict[int | None, bytes] = {}

    def __len__(self) -> int:
        return len(self.run.history)

    def figure(self, upto: int | None = None) -> Any:
        """The figure showing ``history[:upto+1]`` (``None``: everything)."""
        if not have_matplotlib():
            raise ImportError(NEEDS_MATPLOTLIB.format(what="LadderView"))
        from .mpl import draw_into, setup_figure

        k = _step_index(self.run, upto, self.style)
        if self._fig is not None and self._shown == upto:
            return self._fig
        if self._fig is None:
            self._ax = setup_figure(self.layout, self.title, self.figsize)
            self._fig = self._ax.figure
        else:       # reuse the Axes: creating one costs more than drawing a ladder into it
            for a in [*self._ax.texts, *self._ax.lines, *self._ax.collections,
                      *self._ax.patches, *self._ax.artists]:
                a.remove()
        draw_into(self._ax, self.layout, self.run, k, upto is not None)
        self._shown = upto
        return self._fig

    @property
    def drawn(self) -> Drawing:
        return self.figure(self._shown if self._shown != "none" else None).drawn

    def png(self, upto: int | None = None) -> bytes:
        """PNG bytes of :meth:`figure` (memoised per step)."""
        from .mpl import figure_png

        if upto not in self._png:
            self._png[upto] = figure_png(self.figure(upto), self.dpi)
        return self._png[upto]


def ladder_png(source: Any, *, dpi: int = 100, **kwargs: Any) -> bytes:
    """The ladder as PNG bytes (for ipywidgets.Image and the like); ``source`` is what
    :func:`ladder` takes (with its keyword arguments) or a figure it made.

    Pictures are memoised: the same run (the same Step objects) at the same step, style
    and size is drawn once."""
    if not have_matplotlib():
        raise ImportError(NEEDS_MATPLOTLIB.format(what="ladder_png (a PNG picture)"))
    from .mpl import figure_png

    if hasattr(source, "savefig"):
        return figure_png(source, dpi)
    if kwargs.get("ax") is not None:
        return figure_png(ladder(source, **kwargs), dpi)
    upto = kwargs.pop("upto", None)
    style = kwargs.pop("style", "rfc")
    title, figsize = kwargs.pop("title", None), kwargs.pop("figsize", None)
    run = collect(source, kwargs.pop("packets", None), kwargs.pop("names", None),
                  kwargs.pop("latency", None))
    kwargs.pop("ax", None)
    if kwargs:
        raise TypeError(f"ladder_png() got unexpected keyword argument(s) "
                        f"{', '.join(sorted(kwargs))}")
    _step_index(run, upto, style)
    key, steps = _run_key(run, style)
    view = _remember(_VIEWS, key + (title, figsize, dpi), steps,
                     lambda: LadderView(run, style=style, title=title, figsize=figsize,
                                        dpi=dpi), _KEEP["views"])
    return view.png(upto)


def _format_of(path: str | Path, fmt: str | None) -> str:
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"save the ladder as .png, .svg or .pdf, not {str(path)!r}")
    return fmt


def save_ladder(source: Any, path: str | Path, *, format: str | None = None, dpi: int = 150,
                **kwargs: Any) -> Path:
    """Draw the ladder of ``source`` (see :func:`ladder`) and write it to ``path``;
    PNG, SVG or PDF by the suffix (or ``format``).  Returns the path."""
    fmt = _format_of(path, format)
    fig = source if hasattr(source, "savefig") else ladder(source, **kwargs)
    path = Path(path)
    fig.savefig(path, format=fmt, dpi=dpi, facecolor="white")
    return path
