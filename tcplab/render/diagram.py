"""The TCP state diagram (RFC 9293 §3.3.2, figure 5), drawn with Graphviz and highlighted live.

The edges come from :data:`tcplab.transitions.TRANSITIONS` -- the table the endpoint itself
uses to change state -- so the picture and the model cannot disagree.  Layers that figure 5
leaves out (``reset``, ``abort``, ``timeout``, ``text``) can be switched on.

**Fast and stable.**  ``dot`` runs *once* per diagram style (layers x ``show_codes``); its SVG
is cut into a template, and every highlighted picture after that only fills in colours and
CSS classes (a ``str.join``, a few microseconds).  Nothing ever moves between steps.

**Layout** (as in figure 5): CLOSED on top, LISTEN, SYN-RECEIVED (left) and SYN-SENT (right),
ESTABLISHED in the middle, the active close (FIN-WAIT-1/2, CLOSING, TIME-WAIT) on the left,
the passive close (CLOSE-WAIT, LAST-ACK) on the right.  CLOSED is *one* state, drawn more
than once so that arrows need not climb back across the figure:

* ``node-CLOSED``       the top, where connections begin (and a LISTEN/SYN-SENT CLOSE returns);
* ``node-CLOSED-end``   the bottom, where an orderly close ends (as figure 5 also draws it);
* ``node-CLOSED-sink-<STATE>``  a small dashed CLOSED beside each state that a reset, abort
  or timeout can end; its edges are bundled into one arrow with one label line per
  transition (each line is still its own ``edge-<key>`` element).

Every copy carries ``data-state="CLOSED"`` and the class ``state-CLOSED``.

**Ids and classes.**  Nodes: ``node-<TcpState.name>`` (``node-SYN_RECEIVED``), classes
``state``, ``state-<NAME>``, ``current``, ``current-<endpoint>``.  Edges: ``edge-<key>``
(the transition key), classes ``transition``, ``layer-<layer>``, ``taken``,
``taken-<endpoint>``, ``path``, ``path-<endpoint>``, ``covered``; attributes
``data-source``/``data-target`` (states) and ``data-tail``/``data-head`` (drawn node ids).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from ..states import TcpState
from ..transitions import BY_KEY, DEFAULT_LAYERS, LAYERS, TRANSITIONS, Transition
from .theme import PALETTE

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

    from ..network import Network
    from ..steps import Step

__all__ = ["StateDiagram", "DiagramView", "GraphvizNotFound", "PALETTE", "SINK_LAYERS",
           "parse_layers", "cli_diagram"]

S = TcpState

#: Colour of the "used in this run" coverage overlay (Okabe-Ito bluish green).
COVERAGE_COLOR = "#009E73"
#: Layers whose edges to CLOSED go to a small CLOSED copy beside their source state.
SINK_LAYERS = frozenset({"reset", "abort", "timeout"})

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


# --------------------------------------------------------------------------- the drawing spec

_FONT = "Helvetica"
_BASE_NODE = dict(fill="#f5f5f5", stroke="#333333", width="1.2", text="#111111")
_SINK_NODE = dict(fill="#ffffff", stroke="#8c8c8c", width="1", text="#666666")
_EDGE_COLOR = "#4d4d4d"
_SINK_EDGE_COLOR = "#8c8c8c"
_LABEL_COLOR = "#1a1a1a"
_SINK_LABEL_COLOR = "#4d4d4d"
_FADED_EDGE = "#c9c9c9"
_FADED_LABEL = "#9a9a9a"
_PATH_ALPHA = 0.45
_LABEL_PAD = "\u00a0\u00a0"      # keeps a label clear of its own edge (SVG keeps nbsp)
_DASHED_LAYERS = frozenset({"text"}) | SINK_LAYERS

#: Figure 5 rows, top to bottom (``None`` = the bottom CLOSED copy).
_RANKS: tuple[tuple[str, ...], ...] = (
    ("CLOSED",), ("LISTEN",), ("SYN_RECEIVED", "SYN_SENT"), ("ESTABLISHED",),
    ("FIN_WAIT_1", "CLOSE_WAIT"), ("FIN_WAIT_2", "CLOSING", "LAST_ACK"), ("TIME_WAIT",),
    ("CLOSED-end",))
#: Columns (Graphviz ``group``) keep the vertical edges of each column straight.
_GROUPS = {"CLOSED": "mid", "LISTEN": "mid", "ESTABLISHED": "mid", "CLOSING": "mid",
           "TIME_WAIT": "mid", "CLOSED-end": "mid",
           "SYN_RECEIVED": "left", "FIN_WAIT_1": "left", "FIN_WAIT_2": "left",
           "SYN_SENT": "right", "CLOSE_WAIT": "right", "LAST_ACK": "right"}
#: Left-to-right order inside a row (invisible edges).
_ORDER = (("SYN_RECEIVED", "SYN_SENT"), ("FIN_WAIT_1", "CLOSE_WAIT"),
          ("FIN_WAIT_2", "CLOSING"), ("CLOSING", "LAST_ACK"))
#: Edges that go "up" or "left" in figure 5: laid out reversed (``dir=back``) so that the
#: ranks stay as in the RFC; drawn with the arrow at the right end all the same.
_REVERSED = frozenset({"listen-close", "syn-sent-close", "syn-received-rcv-rst",
                       "syn-received-rcv-syn", "syn-sent-rcv-syn"})
#: Orderly-close edges that end at the bottom CLOSED copy.
_TO_END = frozenset({"last-ack-rcv-ack", "time-wait-timeout"})
#: States whose (same-row) CLOSED sink is drawn on their left.
_SINK_LEFT = frozenset({S.LISTEN})
#: Sinks drawn beside their state (same row); the others hang below it, to the side.
_FLAT_SINK = frozenset({"LISTEN"})
_XLABEL = frozenset({"syn-sent-rcv-syn"})
#: Head ports that keep arrows off the bundled labels beside the states.
_HEADPORT = {"active-open": "n"}


def node_id(state: TcpState, copy: str = "") -> str:
    """The SVG id of a state's node: ``node-ESTABLISHED``, ``node-CLOSED-end`` ..."""
    return f"node-{state.name}" + (f"-{copy}" if copy else "")


def _sink_id(source: TcpState) -> str:
    return node_id(S.CLOSED, f"sink-{source.name}")


@dataclass(frozen=True)
class _Node:
    id: str
    state: TcpState
    label: str
    sink: bool = False

    @property
    def classes(self) -> str:
        extra = " copy sink" if self.sink else " copy end" if self.id.endswith("-end") else ""
        return f"state state-{self.state.name}{extra}"


@dataclass(frozen=True)
class _Edge:
    """One drawn arrow: a single transition, or a bundle of them (to a CLOSED sink)."""

    id: str
    tail: str                         # drawn node ids (after undoing ``dir=back``)
    head: str
    members: tuple[Transition, ...]
    reversed: bool = False

    @property
    def bundle(self) -> bool:
        return self.id.startswith("bundle-")

    @property
    def layer(self) -> str:
        return self.members[0].layer

    @property
    def label_lines(self) -> tuple[str, ...]:
        return tuple(t.label for t in self.members)

    @property
    def member_lines(self) -> tuple[tuple[str, ...], ...]:
        """Bundle label: one or two lines per member (long ones wrap before the action)."""
        return tuple(_wrap(t) for t in self.members)


def _wrap(t: Transition, width: int = 26) -> tuple[str, ...]:
    if len(t.label) <= width:
        return (t.label,)
    return (t.event, "\u00a0\u00a0\u00a0/ " + t.action)


@dataclass(frozen=True)
class _Spec:
    layers: frozenset[str]
    show_codes: bool
    nodes: tuple[_Node, ...]
    edges: tuple[_Edge, ...]
    edge_of: Mapping[str, _Edge]      # transition key -> the drawn edge that shows it


def parse_layers(layers: "str | Iterable[str] | None") -> frozenset[str]:
    """``None`` -> the default layers; ``"all"``; ``"reset,abort"`` (added to the default)...

    A comma-separated string or an iterable of layer names.  A string of extra layers
    (``"reset,abort"``) *adds* to the default figure-5 layers; an iterable is taken as is.
    ``"all"`` is every layer, ``"default"`` the default ones.
    """
    if layers is None:
        return DEFAULT_LAYERS
    if isinstance(layers, str):
        words = [w.strip().lower() for w in layers.split(",") if w.strip()]
        if words == ["all"]:
            return frozenset(LAYERS)
        chosen = set(DEFAULT_LAYERS)
        for w in words:
            if w == "default":
                continue
            if w == "all":
                return frozenset(LAYERS)
            chosen.add(w)
    else:
        chosen = {str(w).lower() for w in layers}
    unknown = chosen - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown diagram layer(s) {', '.join(sorted(unknown))}; the layers "
                         f"are {', '.join(LAYERS)} (or 'all')")
    return frozenset(chosen)


def _build_spec(layers: frozenset[str], show_codes: bool) -> _Spec:
    def label(state: TcpState) -> str:
        return f"{state.rfc}\n({state.mib})" if show_codes else state.rfc

    nodes = [_Node(node_id(s), s, label(s)) for s in S]
    nodes.append(_Node(node_id(S.CLOSED, "end"), S.CLOSED, label(S.CLOSED)))
    edges: list[_Edge] = []
    bundles: dict[TcpState, list[Transition]] = {}
    for t in TRANSITIONS:
        if t.layer not in layers:
            continue
        if t.layer in SINK_LAYERS and t.target is S.CLOSED:
            bundles.setdefault(t.source, []).append(t)
            continue
        head = node_id(S.CLOSED, "end") if t.key in _TO_END else node_id(t.target)
        edges.append(_Edge(f"edge-{t.key}", node_id(t.source), head, (t,),
                           reversed=t.key in _REVERSED))
    for source, members in bundles.items():
        sink = _sink_id(source)
        nodes.append(_Node(sink, S.CLOSED, "CLOSED", sink=True))
        edges.append(_Edge(f"bundle-{source.name}", node_id(source), sink, tuple(members),
                           reversed=source in _SINK_LEFT and source.name in _FLAT_SINK))
    edge_of = {t.key: e for e in edges for t in e.members}
    return _Spec(layers, show_codes, tuple(nodes), tuple(edges), edge_of)


# --------------------------------------------------------------------------- DOT source

def _q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**kw: object) -> str:
    return "[" + ", ".join(f"{k}={v if isinstance(v, (int, float)) else _q(str(v))}"
                           for k, v in kw.items() if v is not None) + "]"


def _node_dot_name(nid: str) -> str:
    return nid  # ids are already unique, readable DOT names


def _sink_label_html(lines: Sequence[tuple[str, str | None, bool]]) -> str:
    """HTML-like label: left-aligned lines, some coloured (and bold)."""
    out = []
    for text, color, bold in lines:
        t = html.escape(text, quote=False)
        t = f"<b>{t}</b>" if bold else t
        out.append(f'<font color="{color}">{t}</font>' if color else t)
        out.append('<br align="left"/>')
    return "<" + "".join(out) + ">"


@dataclass
class _Look:
    """How one node or edge looks in a highlighted picture (shared by SVG and DOT export)."""

    # nodes
    fill: str | None = None           # a colour, or "split:<c1>:<c2>..." for several endpoints
    stroke: str | None = None
    stroke_width: float | None = None
    text: str | None = None
    tags: tuple[tuple[str, str], ...] = ()   # (endpoint name, colour) shown inside the node
    # edges
    colors: tuple[str, ...] = ()      # one colour, or several drawn in series
    alpha: float = 1.0
    width: float | None = None
    label: str | None = None          # label colour
    bold: bool = False
    classes: tuple[str, ...] = ()
    title: str | None = None
    member_looks: dict[str, tuple[str | None, bool, tuple[str, ...]]] = field(
        default_factory=dict)         # bundle line key -> (colour, bold, classes)


def _dot_source(spec: _Spec, looks: Mapping[str, _Look] | None = None,
                layout: "_Layout | None" = None, extras: Sequence[str] = ()) -> str:
    """The DOT text of the diagram.  With ``layout``, positions are pinned (``neato -n2``)."""
    looks = looks or {}
    pinned = layout is not None
    g = ["digraph tcp_states {",
         "  " + "graph " + _attrs(
             rankdir="TB", newrank="true", nodesep=0.55, ranksep=0.5, pad=0.15,
             fontname=_FONT, splines="true", outputorder="edgesfirst",
             bgcolor="white", **({"bb": layout.bb_dot} if pinned else {})) + ";",
         "  node " + _attrs(shape="box", style="rounded,filled", fontname=_FONT + "-Bold",
                            fontsize=13, width=1.65, height=0.62 if not spec.show_codes
                            else 0.74, margin="0.14,0.06", penwidth=1.2,
                            color=_BASE_NODE["stroke"], fillcolor=_BASE_NODE["fill"],
                            fontcolor=_BASE_NODE["text"]) + ";",
         "  edge " + _attrs(fontname=_FONT, fontsize=10, color=_EDGE_COLOR,
                            fontcolor=_LABEL_COLOR, arrowsize=0.8, penwidth=1.2) + ";"]
    for n in spec.nodes:
        a: dict[str, object] = {"id": n.id, "label": n.label, "class": n.classes}
        if n.sink:
            a.update(fontname=_FONT, fontsize=9, width=0.75, height=0.3, style="rounded,dashed",
                     margin="0.04,0.02", color=_SINK_NODE["stroke"],
                     fontcolor=_SINK_NODE["text"], penwidth=1)
        if not pinned and n.id.replace("node-", "") in _GROUPS:
            a["group"] = _GROUPS[n.id.replace("node-", "")]
        look = looks.get(n.id)
        if look is not None:
            if look.fill and look.fill.startswith("split:"):
                cols = look.fill.split(":")[1:]
                frac = 1 / len(cols)
                a["fillcolor"] = ":".join(f"{c};{frac:.3f}" for c in cols)
                a["gradientangle"] = 0
                a["style"] = "rounded,filled" if not n.sink else "rounded,filled,dashed"
            elif look.fill:
                a["fillcolor"] = look.fill
                a["style"] = "rounded,filled" if not n.sink else "rounded,filled,dashed"
            if look.stroke:
                a["color"] = look.stroke
            if look.stroke_width:
                a["penwidth"] = look.stroke_width
            if look.text:
                a["fontcolor"] = look.text
            if look.tags and pinned and not n.sink:   # (a sink is too small for tags)
                name = html.escape(n.label.split("\n")[0], quote=False)
                rest = "".join(f"<br/>{html.escape(x, quote=False)}"
                               for x in n.label.split("\n")[1:])
                size = 9 if n.sink else 13
                tag = "  ".join(html.escape(t, quote=False) for t, _ in look.tags)
                a["label"] = _HtmlLabel(
                    f'<<font point-size="{size}">{name}{rest}</font><br/>'
                    f'<font face="{_FONT}" point-size="9">{tag}</font>>')
        if pinned:
            x, y, w, h = layout.node_box[n.id]
            a.update(pos=f"{x:.2f},{y:.2f}!", width=w / 72, height=h / 72, fixedsize="true")
        g.append(f"  {_q(_node_dot_name(n.id))} {_attrs_raw(a)};")
    if not pinned:
        for row in _RANKS:
            ids = " ".join(_q("node-" + r) for r in row)
            g.append(f"  {{ rank=same; {ids} }}")
        for n in spec.nodes:
            if n.sink:
                src = n.id.replace("node-CLOSED-sink-", "node-")
                if src.replace("node-", "") in _FLAT_SINK:
                    g.append(f"  {{ rank=same; {_q(src)} {_q(n.id)} }}")
        for a_, b_ in _ORDER:
            g.append(f'  {_q("node-" + a_)} -> {_q("node-" + b_)} [style=invis];')
    for e in spec.edges:
        look = looks.get(e.id) or _Look()
        a = {"id": e.id, "class": " ".join(("edge",) + _edge_classes(e) + look.classes)}
        lines = e.label_lines
        if e.bundle:
            a.update(fontsize=9, color=_SINK_EDGE_COLOR, fontcolor=_SINK_LABEL_COLOR,
                     penwidth=1, arrowsize=0.7)
            emph = [(ln, *(look.member_looks.get(t.key) or (None, False))[:2])
                    for t, lns in zip(e.members, e.member_lines) for ln in lns]
            if any(c for _, c, _ in emph):
                a["label"] = _HtmlLabel(_sink_label_html(emph))
            else:
                a["label"] = "".join(ln + "\\l" for ln, _, _ in emph)
                a["label"] = _Raw(_q(a["label"]).replace("\\\\l", "\\l"))
        else:
            a["label"] = _LABEL_PAD + lines[0]   # dot sets labels right of the edge
            if e.members[0].key in _XLABEL and any(n.sink for n in spec.nodes):
                # a labelled flat edge trips a dot bug (``lost ... edge``) next to the
                # sinks: lay its label out as an external label, pinned like any label
                a["label"] = lines[0]
                if not pinned:
                    a["xlabel"] = a.pop("label")
        if e.layer in _DASHED_LAYERS:
            a["style"] = "dashed"
        if e.reversed:
            a["dir"] = "back"
        if not pinned and len(e.members) == 1 and e.members[0].key in _HEADPORT:
            a["headport"] = _HEADPORT[e.members[0].key]
        if look.colors:
            al = "" if look.alpha >= 1 else f"{round(look.alpha * 255):02x}"
            if len(look.colors) == 1:
                a["color"] = look.colors[0] + al
            else:
                frac = 1 / len(look.colors)
                a["color"] = ":".join(f"{c}{al};{frac:.3f}" for c in look.colors)
        if look.width:
            a["penwidth"] = look.width
        if look.label:
            a["fontcolor"] = look.label
        if look.bold and not e.bundle:
            a["fontname"] = _FONT + "-Bold"
        tail, head = (e.head, e.tail) if e.reversed else (e.tail, e.head)
        if pinned:
            pos, lp = layout.edge_pos[e.id]
            a.update(pos=pos, lp=lp)
        g.append(f"  {_q(tail)} -> {_q(head)} {_attrs_raw(a)};")
    g.extend("  " + x for x in extras)
    g.append("}")
    return "\n".join(g) + "\n"


class _HtmlLabel(str):
    """A DOT HTML-like label (written without quotes)."""


class _Raw(str):
    """Already-quoted DOT text."""


def _attrs_raw(a: Mapping[str, object]) -> str:
    parts = []
    for k, v in a.items():
        if v is None:
            continue
        if isinstance(v, (_HtmlLabel, _Raw)):
            parts.append(f"{k}={v}")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            parts.append(f"{k}={v:g}")
        else:
            parts.append(f"{k}={_q(str(v))}")
    return "[" + ", ".join(parts) + "]"


def _edge_classes(e: _Edge) -> tuple[str, ...]:
    layers = tuple(dict.fromkeys(f"layer-{t.layer}" for t in e.members))
    return (("bundle",) if e.bundle else ("transition",)) + layers


# --------------------------------------------------------------------------- running dot

def _dot_executable() -> str:
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizNotFound("no `dot` on PATH=" + os.environ.get("PATH", ""))
    return exe


def _run_graphviz(args: Sequence[str], source: str, program: str = "dot",
                  timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    exe = _dot_executable() if program == "dot" else shutil.which(program)
    if exe is None:
        raise GraphvizNotFound(f"`{program}` is missing although `dot` is there")
    try:
        proc = subprocess.run([exe, *args], input=source.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:  # removed between which() and run()
        raise GraphvizNotFound(str(exc)) from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        hint = ""
        if "not recognized" in err:
            hint = (" (this Graphviz lacks the cairo renderer for PNG/PDF: on Debian/Ubuntu "
                    "`sudo apt-get install graphviz` brings it; conda: graphviz from "
                    "conda-forge)")
        raise RuntimeError(f"Graphviz `{program} {' '.join(args)}` failed: {err}{hint}")
    return proc


# --------------------------------------------------------------------------- the template

_SVG_NS = "{http://www.w3.org/2000/svg}"
_STYLE_ATTRS = frozenset({"fill", "stroke", "stroke-width", "stroke-dasharray",
                          "stroke-opacity", "fill-opacity"})


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass
class _Layout:
    """``dot``'s layout of one diagram style, cut into a restylable SVG template."""

    spec: _Spec
    parts: list[str]
    slots: dict[str, list[int]]                         # slot -> indices into parts
    defaults: dict[str, str]
    node_box: dict[str, tuple[float, float, float, float]]   # DOT coords: cx, cy, w, h
    node_svg: dict[str, tuple[float, float, float, float]]   # SVG user coords
    edge_pos: dict[str, tuple[str, str]]                # DOT pos, lp
    edge_d: dict[str, str]                              # SVG path data
    size: tuple[float, float]                           # width, height in pt (no legend)
    translate: tuple[float, float]
    bb: tuple[float, float, float, float]

    @property
    def bb_dot(self) -> str:
        return ",".join(f"{v:g}" for v in self.bb)


class _TemplateBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.slots: dict[str, list[int]] = {}
        self.defaults: dict[str, str] = {}
        self.edge_d: dict[str, str] = {}
        self._is_slot: list[bool] = []

    def text(self, s: str) -> None:
        if self.parts and not self._is_slot[-1]:
            self.parts[-1] += s
        else:
            self.parts.append(s)
            self._is_slot.append(False)

    def slot(self, name: str, default: str) -> None:
        self.slots.setdefault(name, []).append(len(self.parts))
        self.defaults[name] = default
        self.parts.append(default)
        self._is_slot.append(True)


def _fmt_attrs(el: ET.Element, skip: frozenset[str] = _STYLE_ATTRS) -> str:
    return "".join(f' {k}="{_esc(v)}"' for k, v in el.attrib.items() if k not in skip)


def _shape_style(fill: str, stroke: str, width: float | str, dash: str | None = None,
                 opacity: float = 1.0, fill_opacity: float | None = None) -> str:
    s = f' fill="{fill}" stroke="{stroke}" stroke-width="{width}"'
    if dash:
        s += f' stroke-dasharray="{dash}"'
    if opacity < 1:
        s += f' stroke-opacity="{opacity:g}"'
    if fill_opacity is not None and fill_opacity < 1:
        s += f' fill-opacity="{fill_opacity:g}"'
    return s


def _base_node_style(n: _Node) -> tuple[str, str]:
    b = _SINK_NODE if n.sink else _BASE_NODE
    return (_shape_style(b["fill"], b["stroke"], b["width"], "5,2" if n.sink else None),
            f' fill="{b["text"]}"')


def _base_edge_style(e: _Edge) -> tuple[str, str, str]:
    color = _SINK_EDGE_COLOR if e.bundle else _EDGE_COLOR
    width = 1 if e.bundle else 1.2
    dash = "5,2" if e.layer in _DASHED_LAYERS else None
    label = _SINK_LABEL_COLOR if e.bundle else _LABEL_COLOR
    return (_shape_style("none", color, width, dash), _shape_style(color, color, width),
            f' fill="{label}"')


def _layout(spec: _Spec) -> _Layout:
    """Run ``dot`` once for this style and cut its SVG into a template."""
    src = _dot_source(spec)
    with tempfile.TemporaryDirectory(prefix="tcplab-dot-") as tmp:
        svg_path, json_path = Path(tmp, "d.svg"), Path(tmp, "d.json")
        _run_graphviz(["-Tsvg", "-o", str(svg_path), "-Tjson", "-o", str(json_path)], src)
        svg_text = svg_path.read_text("utf-8")
        layout_json = json.loads(json_path.read_text("utf-8"))
    return _cut_template(spec, svg_text, layout_json)


def _cut_template(spec: _Spec, svg_text: str, lj: dict) -> _Layout:
    root = ET.fromstring(svg_text)
    graph = next(el for el in root if el.tag == _SVG_NS + "g")
    m = re.search(r"translate\(([-\d.]+)[ ,]([-\d.]+)\)", graph.get("transform", ""))
    tx, ty = (float(m.group(1)), float(m.group(2))) if m else (4.0, 0.0)
    vb = [float(v) for v in root.get("viewBox", "0 0 0 0").split()]
    width, height = vb[2], vb[3]
    bb = tuple(float(v) for v in lj["bb"].split(","))

    # geometry from the JSON output (DOT coordinates: y grows upwards)
    node_box: dict[str, tuple[float, float, float, float]] = {}
    node_svg: dict[str, tuple[float, float, float, float]] = {}
    names: dict[int, str] = {}
    for obj in lj.get("objects", []):
        if "pos" not in obj:
            continue
        nid = obj.get("id") or obj["name"]
        names[obj["_gvid"]] = nid
        x, y = (float(v) for v in obj["pos"].split(","))
        w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
        node_box[nid] = (x, y, w, h)
        node_svg[nid] = (x, -y, w, h)
    edge_pos: dict[str, tuple[str, str]] = {}
    moved: dict[str, tuple[float, float]] = {}     # SVG x, baseline y of re-placed labels
    for ed in lj.get("edges", []):
        if "id" not in ed:
            continue
        lp = ed.get("lp", "")
        if not lp and ed.get("xlp"):
            # an external label (see _XLABEL): dot may set it on the arrowhead; centre it
            # just above the straight flat edge instead, in the picture and in exports
            pts = [tuple(float(v) for v in tok.split(",")) for tok in ed["pos"].split()
                   if not tok.startswith(("s,", "e,"))]
            x = (pts[0][0] + pts[-1][0]) / 2 - 10  # a little off the incoming SEND arrow
            y = max(p[1] for p in pts) + 4     # above the highest control point
            lp = f"{x:.2f},{y + 3.5:.2f}"
            moved[ed["id"]] = (x, -y)
        edge_pos[ed["id"]] = (ed.get("pos", ""), lp)

    nodes = {n.id: n for n in spec.nodes}
    edges = {e.id: e for e in spec.edges}
    tb = _TemplateBuilder()
    tb.slot("svg-open", "")
    tb.text(f'<defs>')
    tb.slot("defs", "")
    tb.text("</defs>\n")
    tb.text(f'<g id="graph0" class="graph" transform="translate({tx:g} {ty:g})">\n')
    tb.text(f'<rect class="background" x="{-tx:g}" y="{-ty:g}" width="{width:g}" '
            f'height="{height:g}" fill="white"/>\n')
    tb.slot("background-extra", "")
    for el in graph:
        if el.tag != _SVG_NS + "g":
            continue
        gid = el.get("id", "")
        if gid in nodes:
            _cut_node(tb, nodes[gid], el, node_svg[gid])
        elif gid in edges:
            if gid in moved:
                for text in el.iter(_SVG_NS + "text"):
                    text.set("x", f"{moved[gid][0]:.2f}")
                    text.set("y", f"{moved[gid][1]:.2f}")
                    text.set("text-anchor", "middle")
            _cut_edge(tb, edges[gid], el)
    tb.slot("legend", "")
    tb.text("</g>\n</svg>\n")
    missing = {n.id for n in spec.nodes} - set(node_box)
    if missing:  # pragma: no cover - dot always lays out every node
        raise RuntimeError(f"dot did not place {sorted(missing)}")
    return _Layout(spec, tb.parts, tb.slots, tb.defaults, node_box, node_svg, edge_pos,
                   tb.edge_d, (width, height), (tx, ty), bb)  # type: ignore[arg-type]


def _cut_node(tb: _TemplateBuilder, n: _Node, el: ET.Element,
              box: tuple[float, float, float, float]) -> None:
    shape_style, text_style = _base_node_style(n)
    _open_group(tb, n.id, n.classes, f' data-state="{n.state.name}"', _node_title(n))
    texts = []
    for child in el:
        tag = child.tag.replace(_SVG_NS, "")
        if tag == "title":
            continue
        if tag == "text":
            texts.append(child)
            continue
        tb.text(f"<{tag}")
        tb.slot(f"{n.id}:shape", shape_style)
        tb.text(_fmt_attrs(child) + "/>\n")
    tb.text("<g")
    tb.slot(f"{n.id}:shift", "")
    tb.text(">")
    for child in texts:
        tb.text("<text")
        tb.slot(f"{n.id}:text", text_style)
        tb.text(_fmt_attrs(child) + ">" + _esc(child.text or "") + "</text>")
    tb.text("</g>")
    tb.slot(f"{n.id}:tags", "")
    tb.text("\n</g>\n")


def _open_group(tb: _TemplateBuilder, gid: str, classes: str, attrs: str, title: str) -> None:
    """``<g id=.. class=..><title>..</title>`` with the class and title as restylable slots."""
    tb.text(f'<g id="{gid}" class="')
    tb.slot(f"{gid}:class", classes)
    tb.text(f'"{attrs}>\n<title>')
    tb.slot(f"{gid}:title", _esc(title))
    tb.text("</title>\n")


def _cut_edge(tb: _TemplateBuilder, e: _Edge, el: ET.Element) -> None:
    path_style, head_style, label_style = _base_edge_style(e)
    t0 = e.members[0]
    data = (f' data-source="{t0.source.name}" data-target="{t0.target.name}"'
            f' data-tail="{e.tail}" data-head="{e.head}"')
    _open_group(tb, e.id, " ".join(("edge",) + _edge_classes(e)),
                data + (f' data-layer="{e.layer}"' if not e.bundle else ""), _edge_title(e))
    texts = []
    for child in el:
        tag = child.tag.replace(_SVG_NS, "")
        if tag == "title":
            continue
        if tag == "text":
            texts.append(child)
        elif tag == "path":
            d = child.get("d", "")
            tb.text("<path")
            tb.slot(f"{e.id}:path", path_style)
            tb.text(f' d="{_esc(d)}"/>')
            tb.slot(f"{e.id}:overlay", "")         # 2nd colour when two endpoints took it
            tb.edge_d[e.id] = d
            tb.text("\n")
        else:                                        # arrowhead polygon(s)
            tb.text(f"<{tag}")
            tb.slot(f"{e.id}:head", head_style)
            tb.text(_fmt_attrs(child) + "/>\n")
    if e.bundle:
        n_lines = sum(len(x) for x in e.member_lines)
        if len(texts) != n_lines:  # pragma: no cover - one <text> per \l line
            raise RuntimeError(f"{e.id}: {len(texts)} label lines, expected {n_lines}")
        it = iter(texts)
        for t, lines in zip(e.members, e.member_lines):
            tb.text(f'<g id="edge-{t.key}" class="')
            tb.slot(f"edge-{t.key}:class", f"transition member layer-{t.layer}")
            tb.text(f'" data-source="{t.source.name}" data-target="{t.target.name}" '
                    f'data-tail="{e.tail}" data-head="{e.head}" data-layer="{t.layer}">'
                    f"<title>{_esc(_transition_title(t))}</title>")
            for _ in lines:
                child = next(it)
                tb.text("<text")
                tb.slot(f"edge-{t.key}:label", label_style)
                tb.text(_fmt_attrs(child) + ">" + _esc(child.text or "") + "</text>")
            tb.text("</g>\n")
    else:
        for child in texts:
            tb.text("<text")
            tb.slot(f"{e.id}:label", label_style)
            tb.text(_fmt_attrs(child) + ">" + _esc(child.text or "") + "</text>\n")
    tb.text("</g>\n")


def _node_title(n: _Node) -> str:
    s = n.state
    where = (" (a copy of CLOSED, drawn here so the arrow stays short)" if n.sink
             else " (drawn again at the bottom, as in RFC 9293 figure 5)"
             if n.id.endswith("-end") else "")
    return (f"{s.rfc}{where}\nnetstat {s.netstat} · ss {s.ss} · SNMP {s.mib_name}({s.mib})"
            f"\n{s.description}")


def _transition_title(t: Transition) -> str:
    where = t.rfc if not t.rfc.startswith("§") else f"RFC 9293 {t.rfc}"
    return f"{t.source.rfc} --{t.label}--> {t.target.rfc}\n{t.summary} ({where}; layer {t.layer})"


def _edge_title(e: _Edge) -> str:
    return "\n".join(_transition_title(t) for t in e.members)


_LAYOUTS: dict[tuple[frozenset[str], bool], _Layout] = {}
_LAYOUT_LOCK = threading.Lock()


def _get_layout(layers: frozenset[str], show_codes: bool) -> _Layout:
    key = (layers, show_codes)
    lay = _LAYOUTS.get(key)
    if lay is None:
        with _LAYOUT_LOCK:
            lay = _LAYOUTS.get(key)
            if lay is None:
                lay = _LAYOUTS[key] = _layout(_build_spec(layers, show_codes))
    return lay


def clear_cache() -> None:
    """Forget every cached layout (the next picture runs ``dot`` again)."""
    with _LAYOUT_LOCK:
        _LAYOUTS.clear()


# --------------------------------------------------------------------------- highlighting

Moves = Mapping[str, Iterable["Transition | str"]]


def _as_transition(t: "Transition | str") -> Transition:
    if isinstance(t, Transition):
        return t
    try:
        return BY_KEY[str(t)]
    except KeyError:
        raise KeyError(f"no transition {t!r}; known keys: {', '.join(BY_KEY)}") from None


@functools.lru_cache(maxsize=256)
def _css_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) or "_"


@functools.lru_cache(maxsize=256)
def _darker(color: str, f: float = 0.75) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(v * f):02x}" for v in (r, g, b))


@dataclass
class _Plan:
    looks: dict[str, _Look]
    endpoints: tuple[str, ...]
    colors: dict[str, str]
    current_nodes: dict[str, str]
    hidden: tuple[tuple[str, Transition], ...]
    legend: bool
    coverage: bool
    caption: str


def _make_plan(spec: _Spec, endpoints: Sequence[str], colors: Mapping[str, str],
               current: "Mapping[str, TcpState | str] | TcpState | str | None",
               just_taken: "Moves | Iterable[Transition | str] | None",
               path: "Moves | Iterable[Transition | str] | None",
               coverage: "Iterable[Transition | str] | None",
               legend: bool | None, caption: str | None) -> _Plan:
    first = endpoints[0] if endpoints else "client"

    def per_endpoint(x: object) -> dict[str, list[Transition]]:
        if x is None:
            return {}
        if isinstance(x, Mapping):
            return {str(k): [_as_transition(t) for t in (
                [v] if isinstance(v, (Transition, str)) else v)] for k, v in x.items()}
        if isinstance(x, (Transition, str)):
            return {first: [_as_transition(x)]}
        return {first: [_as_transition(t) for t in x]}  # type: ignore[union-attr]

    if current is None:
        cur: dict[str, TcpState] = {}
    elif isinstance(current, Mapping):
        cur = {str(k): TcpState.parse(v) for k, v in current.items() if v is not None}
    else:
        cur = {first: TcpState.parse(current)}
    taken = per_endpoint(just_taken)
    before = per_endpoint(path)
    covered = None if coverage is None else {_as_transition(t).key for t in coverage}

    order = list(endpoints)
    for name in [*cur, *taken, *before]:
        if name not in order:
            order.append(name)
    used = [n for n in order if n in cur or n in taken or n in before]
    col = {n: colors.get(n) or PALETTE[order.index(n) % len(PALETTE)] for n in order}

    looks: dict[str, _Look] = {}
    # --- where each endpoint is: the CLOSED copy it arrived at, if it came by a drawn edge
    where: dict[str, str] = {}
    for name, state in cur.items():
        nid = node_id(state)
        for t in reversed([*before.get(name, []), *taken.get(name, [])]):
            if t.target is state:
                e = spec.edge_of.get(t.key)
                if e is not None:
                    nid = e.head
                break
        where[name] = nid
    at: dict[str, list[str]] = {}
    for name in order:
        if name in where:
            at.setdefault(where[name], []).append(name)
    for nid, names in at.items():
        cols = [col[n] for n in names]
        fill = cols[0] if len(cols) == 1 else "split:" + ":".join(cols)
        looks[nid] = _Look(fill=fill, stroke=_darker(cols[0]) if len(cols) == 1 else "#333333",
                           stroke_width=2.2, text="#ffffff",
                           tags=tuple((n, col[n]) for n in names),
                           classes=("current",) + tuple(f"current-{_css_name(n)}"
                                                        for n in names))
    # --- edges
    taken_by: dict[str, list[str]] = {}
    path_by: dict[str, list[str]] = {}
    hidden: list[tuple[str, Transition]] = []
    for name in order:
        for t in taken.get(name, []):
            if t.key in spec.edge_of:
                taken_by.setdefault(t.key, []).append(name)
            else:
                hidden.append((name, t))
        for t in before.get(name, []):
            if t.key in spec.edge_of:
                path_by.setdefault(t.key, []).append(name)
    involved = spec.edges if covered is not None else tuple(dict.fromkeys(
        spec.edge_of[k] for k in (*taken_by, *path_by)))   # the others keep their defaults
    for e in involved:
        member_looks: dict[str, tuple[str | None, bool, tuple[str, ...]]] = {}
        e_taken: list[str] = []
        e_path: list[str] = []
        e_cov = False
        for t in e.members:
            tk = list(dict.fromkeys(taken_by.get(t.key, [])))
            pk = list(dict.fromkeys(path_by.get(t.key, [])))
            cv = covered is not None and t.key in covered
            classes = (
                (("taken",) if tk else ()) + tuple(f"taken-{_css_name(n)}" for n in tk)
                + (("path",) if pk else ()) + tuple(f"path-{_css_name(n)}" for n in pk)
                + (("covered",) if cv else ()))
            color = col[tk[0]] if tk else col[pk[0]] if pk else None
            member_looks[t.key] = (color, bool(tk), classes)
            e_taken += [n for n in tk if n not in e_taken]
            e_path += [n for n in pk if n not in e_path]
            e_cov = e_cov or cv
        classes = tuple(dict.fromkeys(c for v in member_looks.values() for c in v[2]))
        if e_taken:
            look = _Look(colors=tuple(col[n] for n in e_taken), width=3.2,
                         label=col[e_taken[0]], bold=True, classes=classes)
        elif e_path:
            look = _Look(colors=tuple(col[n] for n in e_path), width=3.0, alpha=_PATH_ALPHA,
                         classes=classes)
        elif e_cov:
            look = _Look(colors=(COVERAGE_COLOR,), width=2.4, classes=classes)
        elif covered is not None:
            look = _Look(colors=(_FADED_EDGE,), label=_FADED_LABEL, classes=classes)
        else:
            look = _Look(classes=classes)
        if e.bundle:
            look.member_looks = member_looks
            look.bold = False
            look.label = None
        if look.colors or look.classes or look.member_looks:
            looks[e.id] = look

    show_legend = bool(used or covered is not None) if legend is None else legend
    if caption is None:
        caption = _caption(taken, cur, hidden, spec, order)
    return _Plan(looks, tuple(used), col, where, tuple(hidden), show_legend,
                 covered is not None, caption)


_SEP = "\u00a0\u00a0\u00b7\u00a0\u00a0"   # "  ·  " that SVG does not collapse


def _caption(taken: Mapping[str, list[Transition]], cur: Mapping[str, TcpState],
             hidden: Sequence[tuple[str, Transition]], spec: _Spec, order: list[str]) -> str:
    bits = []
    for name in order:
        ts = taken.get(name, [])
        if ts:
            chain = " → ".join([ts[0].source.rfc] + [t.target.rfc for t in ts])
            labels = "; ".join(t.label for t in ts)
            bits.append(f"{name}: {chain} ({labels})")
        elif name in cur:
            bits.append(f"{name}: {cur[name].rfc}")
    text = _SEP.join(bits)
    if hidden:
        layers = sorted({t.layer for _, t in hidden})
        text += (f"{_SEP}[not drawn: layer{'s' if len(layers) > 1 else ''} "
                 f"{', '.join(layers)} is off]")
    return text


# --------------------------------------------------------------------------- legend

_LEGEND_H = 44.0


@functools.lru_cache(maxsize=256)
def _text_width(text: str, size: float, bold: bool = False) -> float:
    """Rough Helvetica advance width (enough to place legend items)."""
    narrow = sum(1 for ch in text if ch in "iIl.,:;|!' ()[]ftjr")
    wide = sum(1 for ch in text if ch in "MWmw@" or ch.isupper())
    w = (len(text) - narrow - wide) * 0.55 + narrow * 0.3 + wide * 0.78
    return w * size * (1.07 if bold else 1.0)


@dataclass(frozen=True)
class _Prim:
    kind: str                         # "rect", "line", "text"
    x: float
    y: float                          # SVG inner coordinates (y grows downwards)
    w: float = 0.0
    h: float = 0.0
    color: str = "#000000"
    alpha: float = 1.0
    text: str = ""
    size: float = 10.0


def _legend_prims(plan: _Plan, lay: _Layout) -> list[_Prim]:
    x0, _, x1, _ = lay.bb
    y_row1 = 14.0
    y_row2 = 32.0
    prims: list[_Prim] = []
    x = x0 + 12
    for name in plan.endpoints:
        prims.append(_Prim("rect", x, y_row1 - 5, 14, 10, plan.colors[name]))
        prims.append(_Prim("text", x + 19, y_row1, text=name, size=10))
        x += 19 + _text_width(name, 10) + 16
    mine = ":".join(plan.colors[n] for n in plan.endpoints)   # each endpoint's own colour
    items = []
    if plan.endpoints:
        items += [("just taken", mine, 1.0, 3.2), ("path so far", mine, _PATH_ALPHA, 3.0)]
    if plan.coverage:
        items.append(("used in this run", COVERAGE_COLOR, 1.0, 2.4))
    for label, c, a, w in items:
        prims.append(_Prim("line", x, y_row1, 24, w, c, a))
        prims.append(_Prim("text", x + 29, y_row1, text=label, size=10))
        x += 29 + _text_width(label, 10) + 16
    if plan.endpoints:
        prims.append(_Prim("text", x + 2, y_row1, text="(filled box: current state)",
                           size=9, color="#555555"))
    cap = plan.caption
    max_chars = int((x1 - x0 - 24) / (0.55 * 10))
    if len(cap) > max_chars:
        cap = cap[: max_chars - 1] + "…"
    if cap:
        prims.append(_Prim("text", x0 + 12, y_row2, text=cap, size=10, color="#1a1a1a"))
    return prims


def _legend_svg(prims: Sequence[_Prim]) -> str:
    out = ['<g id="legend" class="legend">']
    for p in prims:
        if p.kind == "rect":
            out.append(f'<rect x="{p.x:g}" y="{p.y:g}" width="{p.w:g}" height="{p.h:g}" '
                       f'rx="2" fill="{p.color}" stroke="{_darker(p.color)}"/>')
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
                       f'font-family="Helvetica,sans-Serif" font-size="{p.size:g}" '
                       f'fill="{p.color}">{_esc(p.text)}</text>')
    out.append("</g>")
    return "".join(out)


def _legend_dot(prims: Sequence[_Prim]) -> list[str]:
    """The same legend as pinned DOT nodes/edges (DOT y = - SVG y)."""
    out = []
    for i, p in enumerate(prims):
        if p.kind == "rect":
            out.append(f'"legend-{i}" [shape=box, style="rounded,filled", label="", '
                       f'fillcolor="{p.color}", color="{_darker(p.color)}", penwidth=1, '
                       f'width={p.w / 72:.4f}, height={p.h / 72:.4f}, fixedsize=true, '
                       f'pos="{p.x + p.w / 2:.2f},{-(p.y + p.h / 2):.2f}!"];')
        elif p.kind == "line":
            al = "" if p.alpha >= 1 else f"{round(p.alpha * 255):02x}"
            a, b = f"legend-{i}a", f"legend-{i}b"
            y = -p.y
            for n, x in ((a, p.x), (b, p.x + p.w)):
                out.append(f'"{n}" [shape=point, style=invis, width=0.01, label="", '
                           f'pos="{x:.2f},{y:.2f}!"];')
            x1, x2 = p.x, p.x + p.w
            pos = " ".join(f"{x1 + (x2 - x1) * k / 3:.2f},{y:.2f}" for k in range(4))
            cols = p.color.split(":")
            color = ":".join(f"{c}{al};{1 / len(cols):.3f}" for c in cols)
            out.append(f'"{a}" -> "{b}" [dir=none, color="{color}", '
                       f'penwidth={p.h:g}, pos="{pos}", label=""];')
        else:                          # left-aligned in a fixed box whose left edge is x
            w = _text_width(p.text, p.size) + 20
            h = p.size * 1.3
            text = html.escape(p.text, quote=False)
            out.append(
                f'"legend-{i}" [shape=plaintext, style="", margin=0, fontname="{_FONT}", '
                f'fontsize={p.size:g}, fontcolor="{p.color}", width={w / 72:.4f}, '
                f'height={h / 72:.4f}, fixedsize=true, pos="{p.x + w / 2:.2f},{-p.y:.2f}!", '
                f'label=<<table border="0" cellborder="0" cellpadding="0" cellspacing="0">'
                f'<tr><td width="{w:.0f}" height="{h:.0f}" fixedsize="true" align="left">'
                f'{text}</td></tr></table>>];')
    return out


# --------------------------------------------------------------------------- SVG rendering

def _render_svg(lay: _Layout, plan: _Plan) -> str:
    parts = lay.parts.copy()
    slots = lay.slots

    def put(name: str, value: str) -> None:
        for i in slots.get(name, ()):
            parts[i] = value

    width, height = lay.size
    tx, ty = lay.translate
    h = height + (_LEGEND_H if plan.legend else 0)
    put("svg-open",
        f'<svg xmlns="http://www.w3.org/2000/svg" class="tcplab-state-diagram" '
        f'width="{width:g}pt" height="{h:g}pt" viewBox="0 0 {width:g} {h:g}" role="img" '
        f'aria-label="TCP state diagram (RFC 9293 figure 5)">\n')
    if plan.legend:
        put("background-extra", f'<rect class="background" x="{-tx:g}" y="{height - ty:g}" '
                                f'width="{width:g}" height="{_LEGEND_H:g}" fill="white"/>\n')
    defs = []
    nodes = {n.id: n for n in lay.spec.nodes}
    edges = {e.id: e for e in lay.spec.edges}
    for eid, look in plan.looks.items():
        if eid in nodes:
            n = nodes[eid]
            fill = look.fill or _BASE_NODE["fill"]
            if fill.startswith("split:"):
                cols = fill.split(":")[1:]
                gid = "tcplab-split-" + "-".join(c.lstrip("#") for c in cols)
                stops = []
                for i, c in enumerate(cols):
                    stops.append(f'<stop offset="{i / len(cols):.4f}" stop-color="{c}"/>'
                                 f'<stop offset="{(i + 1) / len(cols):.4f}" stop-color="{c}"/>')
                defs.append(f'<linearGradient id="{gid}" x1="0" y1="0" x2="1" y2="0">'
                            + "".join(stops) + "</linearGradient>")
                fill = f"url(#{gid})"
            put(f"{eid}:shape", _shape_style(fill, look.stroke or _BASE_NODE["stroke"],
                                             look.stroke_width or 1.2,
                                             "5,2" if n.sink else None))
            put(f"{eid}:text", f' fill="{look.text or _BASE_NODE["text"]}"')
            put(f"{eid}:class", n.classes + "".join(" " + c for c in look.classes))
            if look.tags and not n.sink:
                cx, cy, w, hh = lay.node_svg[eid]
                put(f"{eid}:shift", ' transform="translate(0 -5.5)"')
                k = len(look.tags)
                tags = "".join(
                    f'<text class="tag" text-anchor="middle" x="{cx + (i - (k - 1) / 2) * w / k:.2f}" '
                    f'y="{cy + hh / 2 - 6:.2f}" font-family="Helvetica,sans-Serif" '
                    f'font-size="9" fill="#ffffff">{_esc(name)}</text>'
                    for i, (name, _) in enumerate(look.tags))
                put(f"{eid}:tags", tags)
        elif eid in edges:
            e = edges[eid]
            put(f"{eid}:class", " ".join(("edge",) + _edge_classes(e) + look.classes))
            if look.colors:
                k = len(look.colors)
                dash = "5,2" if e.layer in _DASHED_LAYERS and k == 1 else None
                style = _shape_style("none", look.colors[0], look.width or 1.2, dash,
                                     look.alpha)
                if k > 1:
                    style += f' pathLength="{k}" stroke-dasharray="1 {k - 1}"'
                put(f"{eid}:path", style)
                over = "".join(
                    f'<path class="overlay"{_shape_style("none", c, look.width or 1.2, None, look.alpha)}'
                    f' pathLength="{k}" stroke-dasharray="1 {k - 1}" stroke-dashoffset="{k - i}"'
                    f' d="{_esc(lay.edge_d[eid])}"/>'
                    for i, c in enumerate(look.colors) if i > 0)
                put(f"{eid}:overlay", over)
                last = look.colors[-1]
                put(f"{eid}:head", _shape_style(last, last, look.width or 1.2, None,
                                                look.alpha, look.alpha))
            if look.label and not e.bundle:
                put(f"{eid}:label", f' fill="{look.label}"'
                    + (' font-weight="bold"' if look.bold else ""))
            for key, (c, bold, classes) in look.member_looks.items():
                put(f"edge-{key}:class", f"transition member layer-{BY_KEY[key].layer}"
                    + "".join(" " + x for x in classes))
                if c:
                    put(f"edge-{key}:label", f' fill="{c}"' + (' font-weight="bold"'
                                                               if bold else ""))
    put("defs", "".join(defs))
    if plan.legend:
        put("legend", _legend_svg(_legend_prims(plan, lay)))
    return "".join(parts)


# --------------------------------------------------------------------------- public API

class DiagramView:
    """One highlighted picture: shows itself in Jupyter and saves to SVG, PNG or PDF."""

    def __init__(self, diagram: "StateDiagram", svg: str, plan: _Plan) -> None:
        self.diagram = diagram
        self.svg = svg
        self._plan = plan

    @property
    def current_nodes(self) -> dict[str, str]:
        """Endpoint name -> id of the node highlighted as its current state."""
        return dict(self._plan.current_nodes)

    @property
    def hidden(self) -> tuple[tuple[str, Transition], ...]:
        """``(endpoint, transition)`` just taken but not drawn (its layer is off)."""
        return self._plan.hidden

    @property
    def caption(self) -> str:
        return self._plan.caption

    def __str__(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        where = ", ".join(f"{n}@{i}" for n, i in self._plan.current_nodes.items())
        return f"<DiagramView {where or 'no highlight'}>"

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_html_(self) -> str:
        svg = self.svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
        return f'<div class="tcplab-diagram">{svg}</div>'

    def source(self) -> str:
        """DOT text with the cached positions pinned and the same highlight (for export)."""
        lay = self.diagram.layout
        extras = _legend_dot(_legend_prims(self._plan, lay)) if self._plan.legend else []
        return _dot_source(lay.spec, self._plan.looks, lay, extras)

    def to_bytes(self, fmt: str, dpi: float = 144) -> bytes:
        """``svg`` (the very SVG shown), ``png`` or ``pdf`` (drawn by Graphviz's cairo
        renderer from the pinned layout, so the picture matches)."""
        fmt = fmt.lower().lstrip(".")
        if fmt == "svg":
            return self.svg.encode("utf-8")
        if fmt not in ("png", "pdf"):
            raise ValueError(f"cannot export {fmt!r}: use svg, png or pdf")
        args = ["-Kneato", "-n2", f"-T{fmt}"]
        if fmt == "png":
            args.append(f"-Gdpi={dpi:g}")
        return _run_graphviz(args, self.source()).stdout

    def to_png(self, dpi: float = 144) -> bytes:
        return self.to_bytes("png", dpi)

    def to_pdf(self) -> bytes:
        return self.to_bytes("pdf")

    def save(self, path: "str | os.PathLike[str]", dpi: float = 144) -> Path:
        """Write the picture; the format comes from the suffix (.svg, .png, .pdf)."""
        p = Path(path)
        fmt = p.suffix.lower().lstrip(".")
        if fmt not in ("svg", "png", "pdf"):
            raise ValueError(f"{p.name}: the file name must end in .svg, .png or .pdf")
        p.write_bytes(self.to_bytes(fmt, dpi))
        return p


class StateDiagram:
    """The TCP state diagram (RFC 9293 figure 5) drawn from :data:`~tcplab.transitions.TRANSITIONS`.

    >>> d = StateDiagram()                                   # figure5 + note2 + loop
    >>> svg = d.render(current={"client": "ESTABLISHED", "server": "CLOSE-WAIT"})
    >>> StateDiagram(layers="all", show_codes=True).show(current="TIME-WAIT")  # doctest: +SKIP

    ``layers``: ``None`` (default layers), ``"all"``, ``"reset,abort"`` (added to the
    default) or an iterable of layer names (taken as is).  ``endpoints`` fixes the colour
    order: the first name is Okabe-Ito blue, the second vermillion; ``colors`` overrides.
    """

    def __init__(self, layers: "str | Iterable[str] | None" = None, show_codes: bool = False,
                 *, endpoints: Sequence[str] = ("client", "server"),
                 colors: Mapping[str, str] | None = None) -> None:
        self.layers = parse_layers(layers)
        self.show_codes = bool(show_codes)
        self.endpoints = tuple(endpoints)
        self.colors = dict(colors or {})
        self.spec = _build_spec(self.layers, self.show_codes)

    def __repr__(self) -> str:
        return (f"StateDiagram(layers={sorted(self.layers)!r}, "
                f"show_codes={self.show_codes})")

    # -- structure (no Graphviz needed) ----------------------------------------------------
    @property
    def transitions(self) -> tuple[Transition, ...]:
        """The table entries drawn (those in the enabled layers), in table order."""
        return tuple(t for t in TRANSITIONS if t.layer in self.layers)

    def edge_id(self, t: "Transition | str") -> str:
        """The SVG id of a transition's edge: ``edge-<key>``."""
        t = _as_transition(t)
        if t.key not in self.spec.edge_of:
            raise KeyError(f"{t.key} is in layer {t.layer!r}, which this diagram does not "
                           f"draw (layers: {', '.join(sorted(self.layers))})")
        return f"edge-{t.key}"

    def drawn_endpoints(self, t: "Transition | str") -> tuple[str, str]:
        """``(tail node id, head node id)`` of the arrow that shows ``t``."""
        e = self.spec.edge_of[_as_transition(t).key]
        return e.tail, e.head

    @property
    def layout(self) -> _Layout:
        """The cached ``dot`` layout for this style (runs ``dot`` the first time)."""
        return _get_layout(self.layers, self.show_codes)

    # -- pictures ----------------------------------------------------------------------------
    def _plan(self, current: object = None, just_taken: object = None, path: object = None,
              coverage: object = None, legend: bool | None = None,
              caption: str | None = None) -> _Plan:
        return _make_plan(self.spec, self.endpoints, self.colors, current,  # type: ignore
                          just_taken, path, coverage, legend, caption)  # type: ignore

    def render(self, current: "Mapping[str, TcpState | str] | TcpState | str | None" = None,
               just_taken: "Moves | Iterable[Transition | str] | None" = None,
               path: "Moves | Iterable[Transition | str] | None" = None,
               coverage: "Iterable[Transition | str] | None" = None, *,
               legend: bool | None = None, caption: str | None = None) -> str:
        """The SVG text, highlighted.  Only restyles the cached layout: no ``dot`` run.

        ``current``: endpoint name -> state (or one state, for the first endpoint).
        ``just_taken`` / ``path``: endpoint name -> transitions (objects or keys) taken in
        the last step / before it.  ``coverage``: transitions used so far in the run
        (drawn green; unused ones fade).  ``legend`` defaults to "if anything is
        highlighted"; ``caption`` replaces the generated line under the legend.
        """
        plan = self._plan(current, just_taken, path, coverage, legend, caption)
        return _render_svg(self.layout, plan)

    def show(self, current: "Mapping[str, TcpState | str] | TcpState | str | None" = None,
             just_taken: "Moves | Iterable[Transition | str] | None" = None,
             path: "Moves | Iterable[Transition | str] | None" = None,
             coverage: "Iterable[Transition | str] | None" = None, *,
             legend: bool | None = None, caption: str | None = None) -> DiagramView:
        """Like :meth:`render`, as a :class:`DiagramView` (Jupyter display, export)."""
        plan = self._plan(current, just_taken, path, coverage, legend, caption)
        return DiagramView(self, _render_svg(self.layout, plan), plan)

    def highlight_step(self, history: "Sequence[Step]", k: int | None = None, *,
                       names: Sequence[str] | None = None,
                       coverage: bool = False) -> DiagramView:
        """The picture after step ``k`` of a network's history (default: the last step).

        Step ``k``'s transitions are "just taken" (by ``Step.actor``), the earlier ones are
        the faded path, and ``Step.states`` gives every endpoint's state.  ``k=-1`` or an
        empty history: before anything happened (everyone CLOSED).  ``coverage=True`` also
        marks every edge used up to step ``k``.
        """
        if k is None:
            k = len(history) - 1
        if k < -1 or k >= len(history):
            raise IndexError(f"step {k} is outside the history (0..{len(history) - 1}, "
                             f"or -1 for the start)")
        names = tuple(names) if names is not None else (
            tuple(n for n, _ in history[0].states) if history and history[0].states
            else self.endpoints)
        endpoints = tuple(dict.fromkeys([*names, *self.endpoints]))
        path: dict[str, list[Transition]] = {n: [] for n in names}
        for step in history[:max(k, 0)]:
            if step.transitions:
                path.setdefault(step.actor, []).extend(step.transitions)
        if k >= 0:
            step = history[k]
            current = dict(step.states) if step.states else (
                {step.actor: step.after} if step.after else {})
            just = {step.actor: list(step.transitions)} if step.transitions else {}
            cap = None
            if not step.transitions:           # say what happened all the same
                who = f"{step.actor}: " if step.actor else ""
                now = _SEP.join(f"{n}: {s.rfc}" for n, s in current.items() if s)
                cap = f"{who}{step.event.strip()} (no state change){_SEP}{now}"
        else:
            current = {n: TcpState.CLOSED for n in names}
            just = {}
            cap = _SEP.join(f"{n}: CLOSED" for n in names) + _SEP + "(before the first step)"
        cov = ([t for s in history[:k + 1] for t in s.transitions] if coverage else None)
        plan = _make_plan(self.spec, endpoints, self.colors, current, just, path, cov,
                          True, cap)
        return DiagramView(self, _render_svg(self.layout, plan), plan)

    @classmethod
    def for_network(cls, net: "Network", step: int | None = None, *,
                    layers: "str | Iterable[str] | None" = None, show_codes: bool = False,
                    coverage: bool = False) -> DiagramView:
        """The picture of ``net`` after step ``step`` (default: now).

        With ``layers=None`` the diagram shows the default layers *plus* every layer the
        whole run uses (so a reset is never invisible), fixed for the run: stepping never
        changes the layout.
        """
        if layers is None:
            used = {t.layer for s in net.history for t in s.transitions}
            chosen: "str | Iterable[str]" = DEFAULT_LAYERS | used
        else:
            chosen = layers
        diagram = cls(chosen, show_codes, endpoints=net.names)
        return diagram.highlight_step(net.history, step, names=net.names, coverage=coverage)

    # -- Jupyter -------------------------------------------------------------------------------
    def _repr_svg_(self) -> str:
        return self.render()

    def _repr_html_(self) -> str:
        return self.show()._repr_html_()

    def save(self, path: "str | os.PathLike[str]", **highlight: object) -> Path:
        """Save (``.svg``/``.png``/``.pdf``) with the highlight arguments of :meth:`render`."""
        dpi = float(highlight.pop("dpi", 144))  # type: ignore[arg-type]
        return self.show(**highlight).save(path, dpi=dpi)  # type: ignore[arg-type]

    def source(self, **highlight: object) -> str:
        """DOT text of the highlighted picture, positions pinned (render with ``neato -n2``)."""
        return self.show(**highlight).source()  # type: ignore[arg-type]

    def to_graphviz(self, **highlight: object) -> "graphviz.Source":
        """The highlighted picture as a ``graphviz.Source`` (engine ``neato -n2``)."""
        import graphviz  # lazy: keep `import tcplab` light

        return graphviz.Source(self.source(**highlight), engine="neato")


# --------------------------------------------------------------------------- command line

def cli_diagram(argv: Sequence[str] | None = None) -> int:
    """``python -m tcplab diagram [--state S] [--peer S] [--layers L] [--codes] -o FILE``."""
    import argparse
    import sys

    p = argparse.ArgumentParser(
        prog="python -m tcplab diagram",
        description="Draw the TCP state diagram (RFC 9293 figure 5), optionally with one or "
                    "two endpoints' current states highlighted.")
    p.add_argument("--state", help="the (client's) current state, any spelling: "
                                    "ESTABLISHED, close_wait, SYN_RECV, ...")
    p.add_argument("--peer", help="the peer's (server's) current state")
    p.add_argument("--names", default="client,server",
                   help="names of the two endpoints (default: client,server)")
    p.add_argument("--layers", default=None,
                   help=f"'all', or extra layers to add to the default, comma-separated: "
                        f"{', '.join(LAYERS)}")
    p.add_argument("--codes", action="store_true", help="show the SNMP TCP-MIB state numbers")
    p.add_argument("--dpi", type=float, default=144, help="PNG resolution (default 144)")
    p.add_argument("-o", "--output", default="tcp-states.svg",
                   help="output file; .svg, .png or .pdf (default tcp-states.svg)")
    args = p.parse_args(list(argv) if argv is not None else None)
    names = [n.strip() for n in args.names.split(",") if n.strip()]
    if len(names) != 2:
        p.error("--names takes two names, e.g. --names client,server")
    if Path(args.output).suffix.lower() not in (".svg", ".png", ".pdf"):
        p.error(f"-o {args.output}: the file name must end in .svg, .png or .pdf")
    try:
        current = {}
        if args.state:
            current[names[0]] = TcpState.parse(args.state)
        if args.peer:
            current[names[1]] = TcpState.parse(args.peer)
        diagram = StateDiagram(args.layers, args.codes, endpoints=names)
        out = diagram.show(current=current or None).save(args.output, dpi=args.dpi)
    except (ValueError, GraphvizNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0
