"""Where everything of the state diagram goes: Graphviz's layout, computed once per style.

Builds on :mod:`.graph` (the ``graphviz.Digraph``), :mod:`.shipped` (the layouts ``dot``
computed when the wheel was built), :mod:`.viz` (Graphviz in a web page) and the
``graphviz`` package's ``pipe``: a style's layout is read from the wheel when it was
shipped, else ``dot`` runs once per style (layers x ``show_codes``) with the ``json``
output format, whose xdot drawing operations give every node's outline, every edge's Bézier
curve and arrowheads, and every label line's position.  :mod:`.svg` writes the picture
from this geometry, and exports pin it (so nothing ever moves between steps or between
the SVG shown and a PNG saved).

Coordinates are Graphviz's (points, y growing upwards); the SVG uses ``(x, -y)``.
"""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .spec import Spec, build_spec

__all__ = ["GraphvizNotFound", "Layout", "Shape", "Label", "get_layout", "clear_cache",
           "pipe"]

_INSTALL_HINT = (
    "Graphviz's `dot` program is needed to lay out the state diagram, but it is not on "
    "PATH. Install Graphviz (the program, not just the Python package):\n"
    "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
    "  macOS:          brew install graphviz\n"
    "  conda:          conda install -c conda-forge graphviz\n"
    "  other systems:  https://graphviz.org/download/\n"
    "then restart the kernel (or your shell) so that `dot -V` works.")


class GraphvizNotFound(RuntimeError):
    """Graphviz's ``dot`` program is missing; the message says how to install it."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(_INSTALL_HINT + (f"\n({detail})" if detail else ""))


def pipe(graph: Any, fmt: str, engine: str = "dot", **kw: Any) -> bytes:
    """``graph.pipe(format=fmt, engine=engine)``, its errors said for a learner.

    Raises :class:`GraphvizNotFound` (without the ``graphviz`` package's traceback) when
    the ``dot`` program is missing, and :class:`RuntimeError` with Graphviz's own message
    when it fails (for example a Graphviz without the cairo renderer asked for PNG).
    """
    import graphviz

    missing = failed = None
    try:
        return graph.pipe(format=fmt, engine=engine, quiet=True, **kw)
    except graphviz.ExecutableNotFound as exc:
        missing = str(exc)
    except subprocess.CalledProcessError as exc:
        failed = (exc.stderr or b"").decode("utf-8", "replace").strip() or str(exc)
    if missing is not None:                  # raised here: no chained graphviz traceback
        raise GraphvizNotFound(missing)
    hint = ""
    if "not recognized" in (failed or ""):
        hint = (" (this Graphviz lacks the cairo renderer for PNG/PDF: on Debian/Ubuntu "
                "`sudo apt-get install graphviz` brings it; conda: graphviz from conda-forge)")
    raise RuntimeError(f"Graphviz `{engine} -T{fmt}` failed: {failed}{hint}")


@dataclass(frozen=True)
class Shape:
    """One outline: ``kind`` ``"path"`` (Bézier points) or ``"polygon"``, in SVG coords."""

    kind: str
    points: tuple[tuple[float, float], ...]

    @cached_property
    def svg_attr(self) -> str:
        """``d="M..C.."`` or ``points=".."`` as Graphviz's own SVG writes them."""
        pts = [f"{_n(x)},{_n(y)}" for x, y in self.points]
        if self.kind == "path":
            return f'd="M{pts[0]}C{" ".join(pts[1:])}"'
        return f'points="{" ".join(pts + pts[:1])}"'


@dataclass(frozen=True)
class Label:
    """One line of text: position (SVG coords), anchor, font, size and the text."""

    x: float
    y: float
    anchor: str                  # "start", "middle", "end"
    bold: bool
    size: float
    text: str


@dataclass
class Layout:
    """``dot``'s layout of one diagram style."""

    spec: Spec
    size: tuple[float, float]                               # width, height in pt (no legend)
    translate: tuple[float, float]                          # Graphviz -> SVG origin
    bb: tuple[float, float, float, float]
    node_box: dict[str, tuple[float, float, float, float]]   # Graphviz coords: cx, cy, w, h
    node_svg: dict[str, tuple[float, float, float, float]]   # SVG coords: cx, cy, w, h
    node_shape: dict[str, Shape] = field(default_factory=dict)
    node_labels: dict[str, tuple[Label, ...]] = field(default_factory=dict)
    edge_path: dict[str, Shape] = field(default_factory=dict)
    edge_heads: dict[str, tuple[Shape, ...]] = field(default_factory=dict)
    edge_labels: dict[str, tuple[Label, ...]] = field(default_factory=dict)
    edge_pos: dict[str, tuple[str, str]] = field(default_factory=dict)   # Graphviz pos, lp


def _n(v: float) -> str:
    """A coordinate as Graphviz prints it (2 decimals, no trailing zeros)."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def _shapes(ops: list[dict]) -> list[Shape]:
    out = []
    for op in ops:
        kind = {"b": "path", "B": "path", "p": "polygon", "P": "polygon"}.get(op["op"])
        if kind:
            out.append(Shape(kind, tuple((x, -y) for x, y in op["points"])))
    return out


_ANCHOR = {"c": "middle", "l": "start", "r": "end"}


def _labels(ops: list[dict]) -> tuple[Label, ...]:
    out = []
    size, bold = 14.0, False
    for op in ops:
        if op["op"] == "F":
            size, bold = float(op["size"]), op["face"].endswith("-Bold")
        elif op["op"] == "T":
            x, y = op["pt"]
            out.append(Label(x, -y, _ANCHOR[op["align"]], bold, size, op["text"]))
    return tuple(out)


def dot_json(spec: Spec) -> bytes:
    """``dot -Tjson``'s output for this style: shipped in the wheel, else ``dot`` runs (in
    a web page: Graphviz in WebAssembly, :mod:`.viz`).

    Raises :class:`GraphvizNotFound` when the style was not shipped (a custom set of
    layers) and ``dot`` is missing; in a web page, :class:`RuntimeError` until
    ``await viz.load()`` has run."""
    from . import shipped
    from .graph import layout_graph

    graph = layout_graph(spec)
    raw = shipped.find(graph)
    if raw is not None:
        return raw
    from . import viz

    if viz.in_browser():                 # a web page: no programs, Graphviz in WebAssembly
        if not viz.available():
            raise RuntimeError(
                f"layers={sorted(spec.layers)} is a diagram style that tcplab does not ship "
                f"laid out; in this web page Graphviz lays it out once it is loaded: run "
                f"`from tcplab.render.diagram import viz; await viz.load()` in a cell, then "
                f"draw again")
        return viz.render(graph.source, "json")
    try:
        return pipe(graph, "json")
    except GraphvizNotFound:
        if shipped.available():
            raise GraphvizNotFound(
                f"tcplab ships the layouts of the default layers plus any of text, reset, "
                f"abort, timeout; layers={sorted(spec.layers)} is another style") from None
        raise


def compute_layout(spec: Spec) -> Layout:
    """Read this style's geometry from ``dot``'s ``json`` output (see :func:`dot_json`)."""
    from .graph import XLABEL

    lj = json.loads(dot_json(spec))
    bb = tuple(float(v) for v in lj["bb"].split(","))
    pad = float(lj.get("pad", 0.0555)) * 72
    width, height = bb[2] - bb[0] + 2 * pad, bb[3] - bb[1] + 2 * pad
    lay = Layout(spec, (round(width, 2), round(height, 2)), (pad, bb[3] + pad),
                 bb, {}, {})  # type: ignore[arg-type]
    for obj in lj.get("objects", []):
        if "pos" not in obj:
            continue
        nid = obj.get("id") or obj["name"]
        x, y = (float(v) for v in obj["pos"].split(","))
        w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
        lay.node_box[nid] = (x, y, w, h)
        lay.node_svg[nid] = (x, -y, w, h)
        lay.node_shape[nid] = _shapes(obj.get("_draw_", []))[0]
        lay.node_labels[nid] = _labels(obj.get("_ldraw_", []))
    for ed in lj.get("edges", []):
        eid = ed.get("id")
        if eid is None:
            continue
        lay.edge_path[eid] = _shapes(ed["_draw_"])[0]
        lay.edge_heads[eid] = tuple(_shapes(ed.get("_hdraw_", []) + ed.get("_tdraw_", [])))
        labels = _labels(ed.get("_ldraw_", []))
        lp = ed.get("lp", "")
        if ed.get("xlp") and eid.removeprefix("edge-") in XLABEL:
            # ``dot`` may set an external label on the arrowhead: centre it just above
            # the straight flat edge instead, in the picture and in exports
            pts = [tuple(float(v) for v in tok.split(",")) for tok in ed["pos"].split()
                   if not tok.startswith(("s,", "e,"))]
            x = (pts[0][0] + pts[-1][0]) / 2 - 10  # a little off the incoming SEND arrow
            y = max(p[1] for p in pts) + 4         # above the highest control point
            lp = f"{x:.2f},{y + 3.5:.2f}"
            labels = tuple(Label(x, -y, "middle", lb.bold, lb.size, lb.text)
                           for lb in _labels(ed.get("_xldraw_") or ed.get("_ldraw_", [])))
        lay.edge_labels[eid] = labels
        lay.edge_pos[eid] = (ed.get("pos", ""), lp)
    missing = {n.id for n in spec.nodes} - set(lay.node_box)
    if missing:  # pragma: no cover - dot always lays out every node
        raise RuntimeError(f"dot did not place {sorted(missing)}")
    return lay


_LAYOUTS: dict[tuple[frozenset[str], bool], Layout] = {}
_LOCK = threading.Lock()


def get_layout(layers: frozenset[str], show_codes: bool) -> Layout:
    """The cached layout of a style (``dot`` runs the first time only)."""
    key = (layers, show_codes)
    lay = _LAYOUTS.get(key)
    if lay is None:
        with _LOCK:
            lay = _LAYOUTS.get(key)
            if lay is None:
                lay = _LAYOUTS[key] = compute_layout(build_spec(layers, show_codes))
    return lay


def clear_cache() -> None:
    """Forget every cached layout (the next picture runs ``dot`` again)."""
    with _LOCK:
        _LAYOUTS.clear()
