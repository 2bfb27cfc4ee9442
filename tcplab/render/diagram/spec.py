"""What the state diagram shows: its nodes and edges, from the transition table.

Builds on :data:`tcplab.transitions.TRANSITIONS` (the table the endpoint itself uses to
change state), so the picture and the model cannot disagree.  Pure data: no Graphviz.

CLOSED is *one* state drawn more than once, so that arrows need not climb back across
the figure: ``node-CLOSED`` on top, ``node-CLOSED-end`` at the bottom (where an orderly
close ends, as RFC 9293 figure 5 also draws it) and a small dashed
``node-CLOSED-sink-<STATE>`` beside each state that a reset, abort or timeout can end.
The edges into one sink are bundled into one arrow with one label line per transition.

>>> spec = build_spec(parse_layers("reset"), show_codes=False)
>>> spec.edge_of["established-rcv-rst"].head
'node-CLOSED-sink-ESTABLISHED'
>>> spec.edge_of["time-wait-timeout"].head
'node-CLOSED-end'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from ...states import TcpState
from ...transitions import DEFAULT_LAYERS, LAYERS, TRANSITIONS, Transition

__all__ = ["Node", "Edge", "Spec", "SINK_LAYERS", "DASHED_LAYERS", "node_id", "parse_layers",
           "build_spec", "wrap_label"]

S = TcpState

#: Layers whose edges to CLOSED go to a small CLOSED copy beside their source state.
SINK_LAYERS = frozenset({"reset", "abort", "timeout"})
#: Layers drawn with dashed lines (not in figure 5 as solid arrows).
DASHED_LAYERS = frozenset({"text"}) | SINK_LAYERS

#: Edges that go "up" or "left" in figure 5: laid out reversed (``dir=back``) so that the
#: ranks stay as in the RFC; drawn with the arrow at the right end all the same.
REVERSED = frozenset({"listen-close", "syn-sent-close", "syn-received-rcv-rst",
                      "syn-received-rcv-syn", "syn-sent-rcv-syn"})
#: Orderly-close edges that end at the bottom CLOSED copy.
TO_END = frozenset({"last-ack-rcv-ack", "time-wait-timeout"})
#: States whose (same-row) CLOSED sink is drawn on their left, on their row.
FLAT_SINK = frozenset({S.LISTEN})


def node_id(state: TcpState, copy: str = "") -> str:
    """The SVG id of a state's node: ``node-ESTABLISHED``, ``node-CLOSED-end`` ...

    >>> node_id(TcpState.SYN_RECEIVED), node_id(TcpState.CLOSED, "end")
    ('node-SYN_RECEIVED', 'node-CLOSED-end')
    """
    return f"node-{state.name}" + (f"-{copy}" if copy else "")


def sink_id(source: TcpState) -> str:
    """The id of the small CLOSED copy beside ``source``."""
    return node_id(S.CLOSED, f"sink-{source.name}")


@dataclass(frozen=True)
class Node:
    """One drawn box: a state, or a copy of CLOSED (``sink`` = the small dashed one)."""

    id: str
    state: TcpState
    label: str
    sink: bool = False

    @property
    def classes(self) -> str:
        """Its CSS classes when nothing is highlighted."""
        extra = " copy sink" if self.sink else " copy end" if self.id.endswith("-end") else ""
        return f"state state-{self.state.name}{extra}"


@dataclass(frozen=True)
class Edge:
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
    def dashed(self) -> bool:
        return self.layer in DASHED_LAYERS

    @property
    def classes(self) -> tuple[str, ...]:
        """Its CSS classes when nothing is highlighted (after ``edge``)."""
        layers = tuple(dict.fromkeys(f"layer-{t.layer}" for t in self.members))
        return (("bundle",) if self.bundle else ("transition",)) + layers

    @property
    def member_lines(self) -> tuple[tuple[str, ...], ...]:
        """Bundle label: one or two lines per member (long ones wrap before the action)."""
        return tuple(wrap_label(t) for t in self.members)


def wrap_label(t: Transition, width: int = 26) -> tuple[str, ...]:
    """A bundle's label line(s) for ``t``: ``event / action``, split if long."""
    if len(t.label) <= width:
        return (t.label,)
    return (t.event, "\u00a0\u00a0\u00a0/ " + t.action)


@dataclass(frozen=True)
class Spec:
    """Everything one diagram style draws (``layers`` x ``show_codes``)."""

    layers: frozenset[str]
    show_codes: bool
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    edge_of: Mapping[str, Edge]       # transition key -> the drawn edge that shows it


def parse_layers(layers: "str | Iterable[str] | None") -> frozenset[str]:
    """``None`` -> the default layers; ``"all"``; ``"reset,abort"`` (added to the default)...

    A comma-separated string or an iterable of layer names.  A string of extra layers
    (``"reset,abort"``) *adds* to the default figure-5 layers; an iterable is taken as is.
    ``"all"`` is every layer, ``"default"`` the default ones.  Raises :class:`ValueError`
    naming the unknown layers and the known ones.

    >>> sorted(parse_layers("reset"))
    ['figure5', 'loop', 'note2', 'reset']
    """
    if layers is None:
        return DEFAULT_LAYERS
    if isinstance(layers, str):
        words = [w.strip().lower() for w in layers.split(",") if w.strip()]
        if "all" in words:
            return frozenset(LAYERS)
        chosen = set(DEFAULT_LAYERS) | {w for w in words if w != "default"}
    else:
        chosen = {str(w).lower() for w in layers}
    unknown = chosen - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown diagram layer(s) {', '.join(sorted(unknown))}; the layers "
                         f"are {', '.join(LAYERS)} (or 'all')")
    return frozenset(chosen)


def build_spec(layers: frozenset[str], show_codes: bool) -> Spec:
    """The nodes and edges of one style: every table entry of ``layers`` exactly once."""
    def label(state: TcpState) -> str:
        return f"{state.rfc}\n({state.mib})" if show_codes else state.rfc

    nodes = [Node(node_id(s), s, label(s)) for s in S]
    nodes.append(Node(node_id(S.CLOSED, "end"), S.CLOSED, label(S.CLOSED)))
    edges: list[Edge] = []
    bundles: dict[TcpState, list[Transition]] = {}
    for t in TRANSITIONS:
        if t.layer not in layers:
            continue
        if t.layer in SINK_LAYERS and t.target is S.CLOSED:
            bundles.setdefault(t.source, []).append(t)
            continue
        head = node_id(S.CLOSED, "end") if t.key in TO_END else node_id(t.target)
        edges.append(Edge(f"edge-{t.key}", node_id(t.source), head, (t,),
                          reversed=t.key in REVERSED))
    for source, members in bundles.items():
        sink = sink_id(source)
        nodes.append(Node(sink, S.CLOSED, "CLOSED", sink=True))
        edges.append(Edge(f"bundle-{source.name}", node_id(source), sink, tuple(members),
                          reversed=source in FLAT_SINK))
    edge_of = {t.key: e for e in edges for t in e.members}
    return Spec(layers, show_codes, tuple(nodes), tuple(edges), edge_of)
