"""The state diagram as a ``graphviz.Digraph``: figure 5's ranks, and pinned exports.

Builds on :mod:`.spec` (what to draw) and the ``graphviz`` package's API (no DOT text is
written by hand).  Two uses:

* :func:`layout_graph` -- the graph ``dot`` lays out once per style: figure 5's rows
  (``rank=same``), columns (``group``) and left-to-right order (invisible edges);
* :func:`pinned_graph` -- the same nodes and edges at the positions of a computed layout,
  with a highlight's colours and the legend, for ``neato -n2`` to draw as PNG or PDF
  (so the file matches the SVG shown, which :mod:`.svg` writes from the same layout).

``graphviz`` is imported here, i.e. only when a picture is laid out or exported.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Mapping, Sequence

import graphviz

from ..theme import COLORS, FONTS, darker
from .spec import Edge, Node, Spec

if TYPE_CHECKING:  # pragma: no cover
    from .highlight import Look
    from .layout import Layout
    from .legend import Prim

__all__ = ["layout_graph", "pinned_graph"]

_FONT = FONTS["diagram"]
_LABEL_PAD = "\u00a0\u00a0"      # keeps a label clear of its own edge (SVG keeps nbsp)

#: Figure 5 rows, top to bottom.
RANKS: tuple[tuple[str, ...], ...] = (
    ("CLOSED",), ("LISTEN",), ("SYN_RECEIVED", "SYN_SENT"), ("ESTABLISHED",),
    ("FIN_WAIT_1", "CLOSE_WAIT"), ("FIN_WAIT_2", "CLOSING", "LAST_ACK"), ("TIME_WAIT",),
    ("CLOSED-end",))
#: Columns (Graphviz ``group``) keep the vertical edges of each column straight.
GROUPS = {"CLOSED": "mid", "LISTEN": "mid", "ESTABLISHED": "mid", "CLOSING": "mid",
          "TIME_WAIT": "mid", "CLOSED-end": "mid",
          "SYN_RECEIVED": "left", "FIN_WAIT_1": "left", "FIN_WAIT_2": "left",
          "SYN_SENT": "right", "CLOSE_WAIT": "right", "LAST_ACK": "right"}
#: Left-to-right order inside a row (invisible edges).
ORDER = (("SYN_RECEIVED", "SYN_SENT"), ("FIN_WAIT_1", "CLOSE_WAIT"),
         ("FIN_WAIT_2", "CLOSING"), ("CLOSING", "LAST_ACK"))
#: Edges whose label is an external label: a labelled flat edge trips a ``dot`` bug
#: ("lost ... edge") next to the sinks.  The layout re-places it above the edge.
XLABEL = frozenset({"syn-sent-rcv-syn"})
#: Head ports that keep arrows off the bundled labels beside the states.
HEADPORT = {"active-open": "n"}


def _num(v: float) -> str:
    return f"{v:g}"


def _base(spec: Spec, pinned: "Layout | None") -> graphviz.Digraph:
    graph = dict(rankdir="TB", newrank="true", nodesep="0.55", ranksep="0.5", pad="0.15",
                 fontname=_FONT, splines="true", outputorder="edgesfirst", bgcolor="white")
    if pinned is not None:
        graph["bb"] = ",".join(_num(v) for v in pinned.bb)
    node = dict(shape="box", style="rounded,filled", fontname=_FONT + "-Bold", fontsize="13",
                width="1.65", height="0.74" if spec.show_codes else "0.62",
                margin="0.14,0.06", penwidth="1.2", color=COLORS["node-stroke"],
                fillcolor=COLORS["node-fill"], fontcolor=COLORS["node-text"])
    edge = dict(fontname=_FONT, fontsize="10", color=COLORS["edge"], fontcolor=COLORS["label"],
                arrowsize="0.8", penwidth="1.2")
    return graphviz.Digraph("tcp_states", graph_attr=graph, node_attr=node, edge_attr=edge)


def _node_attrs(n: Node) -> dict[str, str]:
    a = {"id": n.id, "label": n.label.replace("\n", "\\n"), "class": n.classes}
    if n.sink:
        a.update(fontname=_FONT, fontsize="9", width="0.75", height="0.3",
                 style="rounded,dashed", margin="0.04,0.02", color=COLORS["sink-stroke"],
                 fontcolor=COLORS["sink-text"], penwidth="1")
    return a


def _edge_attrs(e: Edge) -> dict[str, str]:
    a = {"id": e.id, "class": " ".join(("edge",) + e.classes)}
    if e.bundle:
        a.update(fontsize="9", color=COLORS["sink-edge"], fontcolor=COLORS["sink-label"],
                 penwidth="1", arrowsize="0.7",
                 label="".join(ln + "\\l" for lines in e.member_lines for ln in lines))
    else:
        a["label"] = _LABEL_PAD + e.members[0].label      # dot sets labels right of the edge
    if e.dashed:
        a["style"] = "dashed"
    if e.reversed:
        a["dir"] = "back"
    return a


def _ends(e: Edge) -> tuple[str, str]:
    return (e.head, e.tail) if e.reversed else (e.tail, e.head)


def layout_graph(spec: Spec, looks: "Mapping[str, Look] | None" = None) -> graphviz.Digraph:
    """The graph ``dot`` lays out for this style (figure 5's rows, columns and order);
    with ``looks``, highlighted (a fresh layout of a highlighted picture)."""
    looks = looks or {}
    g = _base(spec, None)
    sinks = any(n.sink for n in spec.nodes)
    for n in spec.nodes:
        a = _node_attrs(n)
        group = GROUPS.get(n.id.removeprefix("node-"))
        if group:
            a["group"] = group
        _node_look(a, n, looks.get(n.id), tags=False)
        g.node(n.id, _attributes=list(a.items()))
    for row in RANKS:
        with g.subgraph() as same:
            same.attr(rank="same")
            for r in row:
                same.node("node-" + r)
    for n in spec.nodes:
        source = n.id.replace("node-CLOSED-sink-", "node-")
        if n.sink and source.removeprefix("node-") == "LISTEN":
            with g.subgraph() as same:
                same.attr(rank="same")
                same.node(source)
                same.node(n.id)
    for a_, b_ in ORDER:
        g.edge("node-" + a_, "node-" + b_, style="invis")
    for e in spec.edges:
        a = _edge_attrs(e)
        key = e.members[0].key
        if key in XLABEL and sinks:
            a["xlabel"] = a.pop("label").removeprefix(_LABEL_PAD)
        if len(e.members) == 1 and key in HEADPORT:
            a["headport"] = HEADPORT[key]
        _edge_look(a, e, looks.get(e.id))
        g.edge(*_ends(e), _attributes=list(a.items()))
    return g


def _html_lines(lines: Sequence[tuple[str, str | None, bool]]) -> str:
    """HTML-like label: left-aligned lines, some coloured (and bold)."""
    out = []
    for text, color, bold in lines:
        t = html.escape(text, quote=False)
        t = f"<b>{t}</b>" if bold else t
        out.append(f'<font color="{color}">{t}</font>' if color else t)
        out.append('<br align="left"/>')
    return "<" + "".join(out) + ">"


def _alpha(alpha: float) -> str:
    return "" if alpha >= 1 else f"{round(alpha * 255):02x}"


def _node_look(a: dict[str, str], n: Node, look: "Look | None", tags: bool) -> None:
    """Set a highlighted node's colours (and, with ``tags``, its endpoint names)."""
    if look is None:
        return
    style = "rounded,filled,dashed" if n.sink else "rounded,filled"
    if look.fills:
        if len(look.fills) > 1:
            frac = 1 / len(look.fills)
            a["fillcolor"] = ":".join(f"{c};{frac:.3f}" for c in look.fills)
            a["gradientangle"] = "0"
        else:
            a["fillcolor"] = look.fills[0]
        a["style"] = style
    if look.stroke:
        a["color"] = look.stroke
    if look.stroke_width:
        a["penwidth"] = _num(look.stroke_width)
    if look.text:
        a["fontcolor"] = look.text
    if tags and look.tags and not n.sink:   # (a sink is too small for tags)
        first, *rest = n.label.split("\n")
        more = "".join(f"<br/>{html.escape(x, quote=False)}" for x in rest)
        tag = "  ".join(html.escape(t, quote=False) for t, _ in look.tags)
        a["label"] = (f'<<font point-size="13">{html.escape(first, quote=False)}'
                      f'{more}</font><br/><font face="{_FONT}" point-size="10">'
                      f'{tag}</font>>')


def _edge_look(a: dict[str, str], e: Edge, look: "Look | None") -> None:
    """Set a highlighted edge's colours, width and label."""
    if look is None:
        return
    a["class"] = " ".join(("edge",) + e.classes + look.classes)
    if e.bundle and any(c for c, _, _ in look.members.values()):
        a["label"] = _html_lines([
            (ln, *(look.members.get(t.key) or (None, False))[:2])
            for t, lines in zip(e.members, e.member_lines) for ln in lines])
    if look.colors:
        al = _alpha(look.alpha)
        frac = 1 / len(look.colors)
        a["color"] = (look.colors[0] + al if len(look.colors) == 1 else
                      ":".join(f"{c}{al};{frac:.3f}" for c in look.colors))
    if look.width:
        a["penwidth"] = _num(look.width)
    if look.label and not e.bundle:
        a["fontcolor"] = look.label
    if look.bold and not e.bundle:
        a["fontname"] = _FONT + "-Bold"


def pinned_graph(lay: "Layout", looks: "Mapping[str, Look]",
                 legend: "Sequence[Prim]" = ()) -> graphviz.Digraph:
    """The highlighted picture at the layout's positions, for ``neato -n2``."""
    spec = lay.spec
    g = _base(spec, lay)
    for n in spec.nodes:
        a = _node_attrs(n)
        _node_look(a, n, looks.get(n.id), tags=True)
        x, y, w, h = lay.node_box[n.id]
        a.update(pos=f"{x:.2f},{y:.2f}!", width=_num(w / 72), height=_num(h / 72),
                 fixedsize="true")
        g.node(n.id, _attributes=list(a.items()))
    for e in spec.edges:
        a = _edge_attrs(e)
        if e.members[0].key in XLABEL and any(n.sink for n in spec.nodes):
            a["label"] = e.members[0].label       # laid out as an external label
        _edge_look(a, e, looks.get(e.id))
        pos, lp = lay.edge_pos[e.id]
        a.update(pos=pos, lp=lp)
        g.edge(*_ends(e), _attributes=list(a.items()))
    _legend(g, legend)
    return g


def _legend(g: graphviz.Digraph, prims: "Sequence[Prim]") -> None:
    """The legend as pinned nodes and edges (DOT y = - SVG y)."""
    for i, p in enumerate(prims):
        if p.kind == "rect":
            g.node(f"legend-{i}", shape="box", style="rounded,filled", label="",
                   fillcolor=p.color, color=darker(p.color), penwidth="1",
                   width=f"{p.w / 72:.4f}", height=f"{p.h / 72:.4f}", fixedsize="true",
                   pos=f"{p.x + p.w / 2:.2f},{-(p.y + p.h / 2):.2f}!")
        elif p.kind == "line":
            a, b, y = f"legend-{i}a", f"legend-{i}b", -p.y
            for name, x in ((a, p.x), (b, p.x + p.w)):
                g.node(name, shape="point", style="invis", width="0.01", label="",
                       pos=f"{x:.2f},{y:.2f}!")
            pos = " ".join(f"{p.x + p.w * k / 3:.2f},{y:.2f}" for k in range(4))
            cols = p.color.split(":")
            color = ":".join(f"{c}{_alpha(p.alpha)};{1 / len(cols):.3f}" for c in cols)
            g.edge(a, b, dir="none", color=color, penwidth=_num(p.h), pos=pos, label="")
        else:                          # left-aligned in a fixed box whose left edge is x
            w, h = p.width + 20, p.size * 1.3
            g.node(f"legend-{i}", shape="plaintext", style="", margin="0", fontname=_FONT,
                   fontsize=_num(p.size), fontcolor=p.color, width=f"{w / 72:.4f}",
                   height=f"{h / 72:.4f}", fixedsize="true",
                   pos=f"{p.x + w / 2:.2f},{-p.y:.2f}!",
                   label=(f'<<table border="0" cellborder="0" cellpadding="0" '
                          f'cellspacing="0"><tr><td width="{w:.0f}" height="{h:.0f}" '
                          f'fixedsize="true" align="left">{html.escape(p.text, quote=False)}'
                          f'</td></tr></table>>'))
