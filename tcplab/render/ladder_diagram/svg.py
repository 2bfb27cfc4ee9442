"""The ladder as SVG text, drawn from the pure display list -- for browsers and widgets.

Builds on :mod:`.marks` (the :class:`~.marks.Ops` display list and the :class:`~.marks.Mark`
records), :mod:`.figures` (the memoised layout of a run) and :mod:`..theme`; imports no
matplotlib, so it works where matplotlib is missing (a JupyterLite kernel without it) and
costs no PNG per step.  Every text is a real ``<text>`` element: the browser sets it, crisp
at any width, selectable and read by screen readers.

Why hand-written: the display list is a handful of primitives (polylines, polygons, three
marker shapes, texts) and the point is to *not* need matplotlib; writing those as SVG
elements is a few lines each, whereas matplotlib's SVG backend would need matplotlib and
turns text into paths or glyph references.  The files (PNG/PDF/SVG export, the command
line) keep the matplotlib drawing of :mod:`.mpl`; this one is the same picture: same paper
coordinates (1 user unit = 1 pt, 72 per inch, y down as in the layout), same colours,
font sizes, line widths and dash patterns (scaled by line width, as matplotlib does),
the same drawing order (matplotlib's z-order, ties in the order added).

Stable hooks for tests and style sheets: every element that shows a :class:`~.marks.Mark`
has the mark's gid as ``id`` (``seg-7``, ``label-7``, ``lost-7``, ``state-client-3``,
``time-wait-client``, ``now``, ...) and the class ``ladder-<kind>``; the root ``<svg>`` has
the class ``tcplab-ladder``, ``data-upto`` (the step drawn, ``all`` for the whole run) and
``data-now-y`` (where "now" is, in user units: a widget keeps it in view).

>>> from tcplab import scenarios
>>> svg = ladder_svg(scenarios.get("handshake").run(isn={"client": 100, "server": 300}),
...                  upto=1, style="tcpdump")
>>> svg.startswith('<svg class="tcplab-ladder"'), 'id="seg-1"' in svg, 'id="seg-3"' in svg
(True, True, False)
>>> '>[S] seq 100</text>' in svg
True
"""

from __future__ import annotations

from html import escape
from typing import Any, Iterable, Sequence

from ...network import Packet
from ..theme import COLORS
from .history import collect
from .marks import Drawing, Mark, Ops, draw_marks

__all__ = ["ladder_svg", "drawing_svg", "PT"]

#: SVG user units (points) per inch of the layout's paper.
PT = 72.0
#: matplotlib's defaults that the display list relies on.
_TEXT_Z, _LINE_Z, _COLL_Z, _LINECOLL_Z = 3.0, 2.0, 1.0, 2.0
_LINE_H = 1.2              # matplotlib's line height for a linespacing of 1, in em
_HALO_W = 2.6              # the white halo behind labels, in points (as .mpl draws it)
_ANCHOR = {"left": "start", "center": "middle", "right": "end"}


def ladder_svg(source: Any, *, upto: int | None = None, style: str = "rfc",
               title: str | None = None, packets: Iterable[Packet] | None = None,
               names: Sequence[str] | None = None, latency: float | None = None,
               screen: bool = False) -> str:
    """The ladder of a run as an SVG document (a ``str``), with real ``<text>``.

    Takes what :func:`~.figures.ladder` takes (without ``ax``/``figsize``): ``source`` a
    :class:`~tcplab.network.Network` or its history, ``upto=k`` draws ``history[:k+1]`` on
    the scale of the whole run, ``style`` ``"rfc"`` / ``"tcpdump"`` / ``"short"``.  The
    picture is the matplotlib figure's: ``width``/``height`` in pt at its natural size
    (about 9.5 x 0.9 in per latency), a ``viewBox`` so CSS can scale it.  The layout of a
    run is computed once and memoised.  ``screen=True`` lays it out on the widgets'
    narrower paper (about 8 in wide; see :class:`~.layout.LadderLayout`), so that shown at
    a notebook's width its text stays legible.  Raises :class:`ValueError` for an unknown
    ``style`` or an ``upto`` outside the history, :class:`TypeError` for another source.
    """
    from .figures import _layout_for, _step_index

    run = collect(source, packets, names, latency)
    k = _step_index(run, upto, style)
    lay = _layout_for(run, style, screen)
    return drawing_svg(draw_marks(lay, run, k, upto is not None), title=title)


def drawing_svg(drawn: Drawing, title: str | None = None) -> str:
    """SVG text of a :class:`~.marks.Drawing` (its layout and :class:`~.marks.Ops`)."""
    lay = drawn.layout
    ops: Ops = drawn.ops
    head = 0.45 if title else 0.0
    x0, y0 = -lay.ticks_in, lay.y_top - head
    w, h = lay.width + lay.ticks_in + 0.12, lay.height + head
    ids: dict[tuple[str, int], tuple[str, Mark]] = {}
    for m in drawn:
        for ref in m.refs:
            ids[ref] = (m.gid, m)
    items: list[tuple[float, int, str]] = []   # (zorder, order added, element)
    seq = 0

    def add(z: float, el: str) -> None:
        nonlocal seq
        items.append((z, seq, el))
        seq += 1

    for kind, i in ops.order:
        if kind == "text":
            x, y, s, kw = ops.texts[i]
            add(kw.get("zorder", _TEXT_Z), _text(x, y, s, kw, ids.get(("text", i))))
        elif kind == "stroke":
            pts, kw = ops.strokes[i]
            add(kw.get("zorder", _LINE_Z), _stroke(pts, kw, ids.get(("stroke", i))))
        else:
            add(_LINECOLL_Z, "".join(
                _polyline(t, COLORS["muted"], 0.6, "-", 1.0, 'class="ladder-tick"')
                for t in ops.ticks))
    for z, lines in ops.lines.items():
        add(z, "".join(_polyline(pts, c, lw, ls, a) for pts, c, lw, ls, a in lines))
    for z, polys in ops.polys.items():
        add(z, "".join(_polygon(pts, face, edge, lw, a) for pts, face, edge, lw, a in polys))
    for (marker, size, color, mew, face, z), pts in ops.marks.items():
        add(z, "".join(_marker(marker, size, color, mew, face or color, x, y) for x, y in pts))
    items.sort(key=lambda it: (it[0], it[1]))
    upto = "all" if drawn.upto is None else str(drawn.upto)
    now_y = lay.tm.y(drawn.now) * PT
    out = [f'<svg class="tcplab-ladder" xmlns="http://www.w3.org/2000/svg" '
           f'width="{_n(w * PT)}pt" height="{_n(h * PT)}pt" '
           f'viewBox="{_n(x0 * PT)} {_n(y0 * PT)} {_n(w * PT)} {_n(h * PT)}" '
           f'data-upto="{upto}" data-now-y="{_n(now_y)}" role="img" '
           f'aria-label="{escape(_summary(drawn))}">',
           f'<rect x="{_n(x0 * PT)}" y="{_n(y0 * PT)}" width="{_n(w * PT)}" '
           f'height="{_n(h * PT)}" fill="{COLORS["background"]}"/>']
    if title:
        out.append(f'<text x="{_n((x0 + w / 2) * PT)}" y="{_n((y0 + 0.12) * PT)}" '
                   f'text-anchor="middle" dominant-baseline="hanging" font-size="11" '
                   f'font-weight="bold" class="ladder-title">{escape(title)}</text>')
    out += [el for _, _, el in items]
    out.append("</svg>")
    return "".join(out)


def _summary(drawn: Drawing) -> str:
    """A short text alternative for screen readers: who sent what, in order."""
    segs = drawn.segments
    if not segs:
        return "Sequence diagram: no segment sent yet"
    parts = [f"{m.actor} {m.text} {m.status}" for m in segs[-4:]]
    more = f"{len(segs) - 4} earlier segments, then " if len(segs) > 4 else ""
    return f"Sequence diagram: {more}" + "; ".join(parts)


def _n(v: float) -> str:
    """A number for SVG: 2 decimals, no trailing zeros."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _pts(pts: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_n(x * PT)},{_n(y * PT)}" for x, y in pts)


def _dash(ls: Any, lw: float) -> str:
    """matplotlib's line style as ``stroke-dasharray`` (dashes scale with line width)."""
    if ls in ("-", "solid", None):
        return ""
    if ls in ("--", "dashed"):
        ls = (0, (3.7, 1.6))
    elif ls in (":", "dotted"):
        ls = (0, (1, 1.65))
    elif ls in ("-.", "dashdot"):
        ls = (0, (6.4, 1.6, 1, 1.6))
    off, seq = ls
    seq = " ".join(_n(d * lw) for d in seq)
    return f' stroke-dasharray="{seq}"' + (f' stroke-dashoffset="{_n(off * lw)}"' if off else "")


def _opacity(alpha: float, attr: str = "opacity") -> str:
    return f' {attr}="{_n(alpha)}"' if alpha is not None and alpha < 1 else ""


def _polyline(pts: Sequence[tuple[float, float]], color: str, lw: float, ls: Any, alpha: float,
              extra: str = "") -> str:
    return (f'<polyline points="{_pts(pts)}" fill="none" stroke="{color}" '
            f'stroke-width="{_n(lw)}"{_dash(ls, lw)}{_opacity(alpha)}'
            f'{" " + extra if extra else ""}/>')


def _polygon(pts: Sequence[tuple[float, float]], face: str, edge: str, lw: float,
             alpha: float) -> str:
    stroke = (f' stroke="{edge}" stroke-width="{_n(lw)}"' if edge != "none" and lw > 0
              else "")
    return f'<polygon points="{_pts(pts)}" fill="{face}"{_opacity(alpha, "fill-opacity")}{stroke}/>'


def _marker(marker: str, size: float, color: str, mew: float, face: str, x: float,
            y: float) -> str:
    """One matplotlib marker (``o``, ``x`` or the timer's clock), ``size`` its width in pt."""
    cx, cy, r = x * PT, y * PT, size / 2
    if marker == "o":
        return (f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="{face}" '
                f'stroke="{color}" stroke-width="{_n(mew)}"/>')
    if marker == "x":
        return (f'<path d="M{_n(cx - r)},{_n(cy - r)}L{_n(cx + r)},{_n(cy + r)}'
                f'M{_n(cx - r)},{_n(cy + r)}L{_n(cx + r)},{_n(cy - r)}" stroke="{color}" '
                f'stroke-width="{_n(mew)}" fill="none"/>')
    if marker == "clock":    # .mpl's unit circle with two hands, scaled to the marker size
        return (f'<g class="ladder-clock"><circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" '
                f'fill="{face}" stroke="{color}" stroke-width="{_n(mew)}"/>'
                f'<path d="M{_n(cx)},{_n(cy)}V{_n(cy - 0.62 * r)}M{_n(cx)},{_n(cy)}'
                f'H{_n(cx + 0.45 * r)}" stroke="{color}" stroke-width="{_n(mew)}" '
                f'fill="none"/></g>')
    raise ValueError(f"marker is 'o', 'x' or 'clock', got {marker!r}")


def _hook(ref: tuple[str, Mark] | None, gid: str | None) -> str:
    """``id`` (the element's own gid, as matplotlib's) and ``class`` for an element that
    shows a mark (a mark's other elements, e.g. the "now" line's time, get the class)."""
    out = f' id="{escape(gid)}"' if gid else ""
    if ref is None:
        return out
    m = ref[1]
    out += f' class="ladder-{m.kind}"'
    if m.step is not None:
        out += f' data-step="{m.step}"'
    if m.status:
        out += f' data-status="{escape(m.status)}"'
    if m.socket:
        out += f' data-socket="{escape(m.socket)}"'
    return out


def _stroke(pts: Sequence[tuple[float, float]], kw: dict[str, Any],
            ref: tuple[str, Mark] | None) -> str:
    lw = kw.get("lw", 1.0)
    return (f'<polyline{_hook(ref, kw.get("gid"))} points="{_pts(pts)}" fill="none" '
            f'stroke="{kw.get("color", "#000")}" stroke-width="{_n(lw)}"'
            f'{_dash(kw.get("ls", "-"), lw)}{_opacity(kw.get("alpha", 1.0))}/>')


def _text(x: float, y: float, s: str, kw: dict[str, Any], ref: tuple[str, Mark] | None) -> str:
    """A matplotlib ``Axes.text`` call as ``<text>``: the anchor at (x, y), aligned by
    ``ha``/``va``, rotated about the anchor (``rotation_mode="anchor"``), lines in
    ``<tspan>``."""
    size = kw["fontsize"]
    px, py = x * PT, y * PT
    attrs = [f'x="{_n(px)}"', f'y="{_n(py)}"',
             f'text-anchor="{_ANCHOR[kw.get("ha", "left")]}"', f'font-size="{_n(size)}"',
             f'font-family="{escape(kw.get("family", "sans-serif"))}, sans-serif"',
             f'fill="{kw.get("color", "#000000")}"']   # matplotlib's text.color
    if kw.get("fontweight", "normal") != "normal":
        attrs.append(f'font-weight="{kw["fontweight"]}"')
    if kw.get("style", "normal") != "normal":
        attrs.append(f'font-style="{kw["style"]}"')
    if kw.get("alpha", 1.0) < 1:
        attrs.append(f'opacity="{_n(kw["alpha"])}"')
    if kw.get("rotation"):
        attrs.append(f'transform="rotate({_n(-kw["rotation"])} {_n(px)} {_n(py)})"')
    if kw.get("halo"):
        attrs.append(f'stroke="white" stroke-width="{_n(_HALO_W)}" stroke-linejoin="round" '
                     f'paint-order="stroke"')
    lines = s.split("\n")
    lh = size * _LINE_H * kw.get("linespacing", 1.2) / 1.2
    va = kw.get("va", "baseline")
    # the first baseline, so the block of lines sits as matplotlib aligns it
    if va == "center":
        first = -(len(lines) - 1) * lh / 2
        attrs.append('dominant-baseline="central"')
    elif va == "top":
        first = 0.0
        attrs.append('dominant-baseline="hanging"')
    elif va == "bottom":
        first = -(len(lines) - 1) * lh
        attrs.append('dominant-baseline="text-after-edge"')
    else:
        first = -(len(lines) - 1) * lh
    if len(lines) == 1:
        body = escape(s)
    else:
        body = "".join(f'<tspan x="{_n(px)}" dy="{_n(first if j == 0 else lh)}">'
                       f'{escape(line)}</tspan>' for j, line in enumerate(lines))
    return f'<text{_hook(ref, kw.get("gid"))} {" ".join(attrs)}>{body}</text>'

