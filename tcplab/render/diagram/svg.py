"""The state diagram's SVG, written from the cached layout and restyled per highlight.

Builds on :mod:`.layout` (the geometry Graphviz computed once per style), :mod:`.highlight`
(the classes and looks of one picture), :mod:`.legend` and :mod:`..theme`.

The SVG is written by hand on purpose: the browser needs stable ids, CSS classes and
``data-*`` attributes on every node, edge and bundle member (which Graphviz's SVG writer
cannot nest), and a stepping widget needs a picture per step in well under a
millisecond.  So the SVG of a style is written *once* as a list of fixed text parts
with named slots (each element's ``class`` and presentation attributes); a highlighted
picture only fills the slots its plan touches and joins the list.  Nothing moves.
"""

from __future__ import annotations

import html
from typing import Iterator

from ...transitions import BY_KEY, Transition
from ..theme import COLORS, FONTS
from .highlight import Plan
from .layout import Label, Layout, Shape
from .legend import LEGEND_H, legend_prims, legend_svg
from .spec import Edge, Node

__all__ = ["Template", "template", "render_svg"]

_SVG_FONT = FONTS["diagram-svg"]


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _style(fill: str, stroke: str, width: float | str, dash: str | None = None,
           opacity: float = 1.0, fill_opacity: float | None = None) -> str:
    s = f' fill="{fill}" stroke="{stroke}" stroke-width="{width}"'
    if dash:
        s += f' stroke-dasharray="{dash}"'
    if opacity < 1:
        s += f' stroke-opacity="{opacity:g}"'
    if fill_opacity is not None and fill_opacity < 1:
        s += f' fill-opacity="{fill_opacity:g}"'
    return s


def _node_style(n: Node) -> tuple[str, str]:
    k = "sink" if n.sink else "node"
    return (_style(COLORS[f"{k}-fill"], COLORS[f"{k}-stroke"], 1 if n.sink else "1.2",
                   "5,2" if n.sink else None), f' fill="{COLORS[f"{k}-text"]}"')


def _edge_style(e: Edge) -> tuple[str, str, str]:
    color = COLORS["sink-edge" if e.bundle else "edge"]
    width = 1 if e.bundle else 1.2
    label = COLORS["sink-label" if e.bundle else "label"]
    return (_style("none", color, width, "5,2" if e.dashed else None),
            _style(color, color, width), f' fill="{label}"')


def _text_attrs(lb: Label) -> str:
    x = f"{lb.x:.2f}".rstrip("0").rstrip(".")
    y = f"{lb.y:.2f}".rstrip("0").rstrip(".")
    weight = ' font-weight="bold"' if lb.bold else ""
    return (f' text-anchor="{lb.anchor}" x="{x}" y="{y}" font-family="{_SVG_FONT}"'
            f'{weight} font-size="{lb.size:.2f}">{_esc(lb.text)}</text>')


def node_title(n: Node) -> str:
    """The tooltip of a state's box: its names in every tool, and what it means."""
    s = n.state
    where = (" (a copy of CLOSED, drawn here so the arrow stays short)" if n.sink
             else " (drawn again at the bottom, as in RFC 9293 figure 5)"
             if n.id.endswith("-end") else "")
    return (f"{s.rfc}{where}\nnetstat {s.netstat} · ss {s.ss} · SNMP {s.mib_name}({s.mib})"
            f"\n{s.description}")


def transition_title(t: Transition) -> str:
    """The tooltip of a transition: ``A --label--> B`` and what happens, with the RFC."""
    where = t.rfc if not t.rfc.startswith("§") else f"RFC 9293 {t.rfc}"
    return f"{t.source.rfc} --{t.label}--> {t.target.rfc}\n{t.summary} ({where}; layer {t.layer})"


class Template:
    """The SVG of one style as text parts; ``slots`` name the parts a highlight may set."""

    def __init__(self, lay: Layout) -> None:
        self.layout = lay
        self.parts: list[str] = []
        self.slots: dict[str, list[int]] = {}
        self._slot_last = True
        self.nodes = {n.id: n for n in lay.spec.nodes}
        self.edges = {e.id: e for e in lay.spec.edges}
        self._write(lay)

    def text(self, s: str) -> None:
        if self.parts and not self._slot_last:
            self.parts[-1] += s
        else:
            self.parts.append(s)
        self._slot_last = False

    def slot(self, name: str, default: str) -> None:
        self.slots.setdefault(name, []).append(len(self.parts))
        self.parts.append(default)
        self._slot_last = True

    def _group(self, gid: str, classes: str, attrs: str, title: str) -> None:
        self.text(f'<g id="{gid}" class="')
        self.slot(f"{gid}:class", classes)
        self.text(f'"{attrs}>\n<title>{_esc(title)}</title>\n')

    def _shape(self, shape: Shape, slot: str, default: str) -> None:
        self.text("<path" if shape.kind == "path" else "<polygon")
        self.slot(slot, default)
        self.text(" " + shape.svg_attr + "/>\n")

    def _write(self, lay: Layout) -> None:
        tx, ty = lay.translate
        width, height = lay.size
        self.slot("svg-open", "")
        self.text("<defs>")
        self.slot("defs", "")
        self.text("</defs>\n")
        self.text(f'<g id="graph0" class="graph" transform="translate({tx:g} {ty:g})">\n')
        self.text(f'<rect class="background" x="{-tx:g}" y="{-ty:g}" width="{width:g}" '
                  f'height="{height:g}" fill="white"/>\n')
        self.slot("background-extra", "")
        # edges first (outputorder=edgesfirst), in Graphviz's order, so that overlapping
        # lines stack as dot drew them
        order = {eid: i for i, eid in enumerate(lay.edge_path)}
        for e in sorted(lay.spec.edges, key=lambda e: order[e.id]):
            self._edge(lay, e)
        for n in lay.spec.nodes:
            self._node(lay, n)
        self.slot("legend", "")
        self.text("</g>\n</svg>\n")

    def _node(self, lay: Layout, n: Node) -> None:
        shape_style, text_style = _node_style(n)
        self._group(n.id, n.classes, f' data-state="{n.state.name}"', node_title(n))
        self._shape(lay.node_shape[n.id], f"{n.id}:shape", shape_style)
        self.text("<g")
        self.slot(f"{n.id}:shift", "")
        self.text(">")
        for lb in lay.node_labels[n.id]:
            self.text("<text")
            self.slot(f"{n.id}:text", text_style)
            self.text(_text_attrs(lb))
        self.text("</g>")
        self.slot(f"{n.id}:tags", "")
        self.text("\n</g>\n")

    def _edge(self, lay: Layout, e: Edge) -> None:
        path_style, head_style, label_style = _edge_style(e)
        t0 = e.members[0]
        data = (f' data-source="{t0.source.name}" data-target="{t0.target.name}"'
                f' data-tail="{e.tail}" data-head="{e.head}"')
        self._group(e.id, " ".join(("edge",) + e.classes),
                    data + (f' data-layer="{e.layer}"' if not e.bundle else ""),
                    "\n".join(transition_title(t) for t in e.members))
        self.text("<path")
        self.slot(f"{e.id}:path", path_style)
        self.text(" " + lay.edge_path[e.id].svg_attr + "/>")
        self.slot(f"{e.id}:overlay", "")          # more colours when several took it
        self.text("\n")
        for head in lay.edge_heads[e.id]:
            self._shape(head, f"{e.id}:head", head_style)
        labels: Iterator[Label] = iter(lay.edge_labels[e.id])
        if not e.bundle:
            for lb in labels:
                self.text("<text")
                self.slot(f"{e.id}:label", label_style)
                self.text(_text_attrs(lb) + "\n")
            self.text("</g>\n")
            return
        n_lines = sum(len(x) for x in e.member_lines)
        if len(lay.edge_labels[e.id]) != n_lines:  # pragma: no cover - one line per \l
            raise RuntimeError(f"{e.id}: {len(lay.edge_labels[e.id])} label lines, "
                               f"expected {n_lines}")
        for t, lines in zip(e.members, e.member_lines):
            key = f"edge-{t.key}"
            self.text(f'<g id="{key}" class="')
            self.slot(f"{key}:class", f"transition member layer-{t.layer}")
            self.text(f'" data-source="{t.source.name}" data-target="{t.target.name}" '
                      f'data-tail="{e.tail}" data-head="{e.head}" data-layer="{t.layer}">'
                      f"<title>{_esc(transition_title(t))}</title>")
            for _ in lines:
                self.text("<text")
                self.slot(f"{key}:label", label_style)
                self.text(_text_attrs(next(labels)))
            self.text("</g>\n")
        self.text("</g>\n")


def template(lay: Layout) -> Template:
    """The (cached) template of a layout."""
    tpl = getattr(lay, "_template", None)
    if tpl is None:
        tpl = Template(lay)
        lay._template = tpl  # type: ignore[attr-defined]
    return tpl


def render_svg(lay: Layout, plan: Plan) -> str:
    """The SVG text of ``plan`` on ``lay``: fill the template's slots, join."""
    tpl = template(lay)
    parts = tpl.parts.copy()
    slots = tpl.slots

    def put(name: str, value: str) -> None:
        for i in slots.get(name, ()):
            parts[i] = value

    width, height = lay.size
    tx, ty = lay.translate
    h = height + (LEGEND_H if plan.legend else 0)
    put("svg-open",
        f'<svg xmlns="http://www.w3.org/2000/svg" class="tcplab-state-diagram" '
        f'width="{width:g}pt" height="{h:g}pt" viewBox="0 0 {width:g} {h:g}" role="img" '
        f'aria-label="TCP state diagram (RFC 9293 figure 5)">\n')
    if plan.legend:
        put("background-extra", f'<rect class="background" x="{-tx:g}" y="{height - ty:g}" '
                                f'width="{width:g}" height="{LEGEND_H:g}" fill="white"/>\n')
    defs = []
    nodes, edges = tpl.nodes, tpl.edges
    for eid, look in plan.looks.items():
        if eid in nodes:
            n = nodes[eid]
            fill = look.fills[0] if look.fills else COLORS["node-fill"]
            if len(look.fills) > 1:
                k = len(look.fills)
                gid = "tcplab-split-" + "-".join(c.lstrip("#") for c in look.fills)
                stops = "".join(f'<stop offset="{i / k:.4f}" stop-color="{c}"/>'
                                f'<stop offset="{(i + 1) / k:.4f}" stop-color="{c}"/>'
                                for i, c in enumerate(look.fills))
                defs.append(f'<linearGradient id="{gid}" x1="0" y1="0" x2="1" y2="0">'
                            f"{stops}</linearGradient>")
                fill = f"url(#{gid})"
            put(f"{eid}:shape", _style(fill, look.stroke or COLORS["node-stroke"],
                                       look.stroke_width or 1.2, "5,2" if n.sink else None))
            put(f"{eid}:text", f' fill="{look.text or COLORS["node-text"]}"')
            put(f"{eid}:class", n.classes + "".join(" " + c for c in look.classes))
            if look.tags and not n.sink:
                cx, cy, w, hh = lay.node_svg[eid]
                put(f"{eid}:shift", ' transform="translate(0 -5.5)"')
                k = len(look.tags)
                put(f"{eid}:tags", "".join(
                    f'<text class="tag" text-anchor="middle" '
                    f'x="{cx + (i - (k - 1) / 2) * w / k:.2f}" y="{cy + hh / 2 - 6:.2f}" '
                    f'font-family="{_SVG_FONT}" font-size="10" '
                    f'fill="{COLORS["current-text"]}">{_esc(name)}</text>'
                    for i, (name, _) in enumerate(look.tags)))
        elif eid in edges:
            e = edges[eid]
            put(f"{eid}:class", " ".join(("edge",) + e.classes + look.classes))
            if look.colors:
                k = len(look.colors)
                w = look.width or 1.2
                style = _style("none", look.colors[0], w,
                               "5,2" if e.dashed and k == 1 else None, look.alpha)
                if k > 1:
                    style += f' pathLength="{k}" stroke-dasharray="1 {k - 1}"'
                put(f"{eid}:path", style)
                d = lay.edge_path[eid].svg_attr
                put(f"{eid}:overlay", "".join(
                    f'<path class="overlay"{_style("none", c, w, None, look.alpha)}'
                    f' pathLength="{k}" stroke-dasharray="1 {k - 1}" '
                    f'stroke-dashoffset="{k - i}" {d}/>'
                    for i, c in enumerate(look.colors) if i > 0))
                last = look.colors[-1]
                put(f"{eid}:head", _style(last, last, w, None, look.alpha, look.alpha))
            if look.label and not e.bundle:
                put(f"{eid}:label", f' fill="{look.label}"'
                    + (' font-weight="bold"' if look.bold else ""))
            for key, (c, bold, classes) in look.members.items():
                put(f"edge-{key}:class", f"transition member layer-{BY_KEY[key].layer}"
                    + "".join(" " + x for x in classes))
                if c:
                    put(f"edge-{key}:label", f' fill="{c}"'
                        + (' font-weight="bold"' if bold else ""))
    put("defs", "".join(defs))
    if plan.legend:
        put("legend", legend_svg(legend_prims(plan, lay.bb)))
    return "".join(parts)

