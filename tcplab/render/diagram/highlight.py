"""What a highlight means: current states, the step just taken, the path, coverage.

Builds on :mod:`.spec` and :mod:`..theme`; pure (no Graphviz).  :func:`make_plan` turns
"the client is in FIN-WAIT-1, the server just took ``established-rcv-fin``" into a
:class:`Plan`: for every node and edge involved, its CSS classes and its :class:`Look`
(colours, widths).  The SVG writer and the PNG/PDF export both draw from the plan.

CSS classes: a node where an endpoint is gets ``current`` and ``current-<endpoint>``; an
edge gets ``taken``/``taken-<endpoint>`` (the last step), ``path``/``path-<endpoint>``
(the steps before it) and ``covered`` (used anywhere in the run, with ``coverage``).

>>> from .spec import build_spec, parse_layers
>>> plan = make_plan(build_spec(parse_layers(None), False), ("client", "server"), {},
...                  current={"client": "FIN-WAIT-1"},
...                  just_taken={"client": ["established-close"]})
>>> plan.looks["node-FIN_WAIT_1"].classes
('current', 'current-client')
>>> plan.looks["edge-established-close"].classes, plan.looks["edge-established-close"].colors
(('taken', 'taken-client'), ('#0072B2',))
>>> plan.caption
'client: ESTABLISHED → FIN-WAIT-1 (CLOSE / snd FIN)'

On a network of hosts with sockets the names in ``current``/``just_taken``/``path`` are
TCBs, and ``owners`` maps each to its host: a host is one colour, one legend entry and
one CSS name (``current-server``) however many TCBs it holds, and a node shows one tag per
host, with the TCBs' short ``tags`` when they fit (``server :80``, ``server ×3``):

>>> plan = make_plan(build_spec(parse_layers(None), False), ("client", "server"), {},
...                  current={"server:80": "LISTEN", "server:80-client:40000": "SYN-RECEIVED",
...                           "server:80-client:40001": "SYN-RECEIVED"},
...                  owners={"server:80": "server", "server:80-client:40000": "server",
...                          "server:80-client:40001": "server"},
...                  tags={"server:80": ":80", "server:80-client:40000": ":40000",
...                        "server:80-client:40001": ":40001"})
>>> plan.looks["node-LISTEN"].tags, plan.looks["node-SYN_RECEIVED"].tags
((('server :80', '#D55E00'),), (('server :40000 :40001', '#D55E00'),))
>>> plan.looks["node-SYN_RECEIVED"].classes, plan.endpoints
(('current', 'current-server'), ('server',))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from ...states import TcpState
from ...transitions import BY_KEY, Transition
from ..theme import COLORS, PALETTE, darker
from .spec import Spec, node_id

__all__ = ["Look", "Plan", "Moves", "make_plan", "as_transition", "css_name", "SEP",
           "PATH_ALPHA"]

#: Opacity of the faded "path so far".
PATH_ALPHA = 0.45
#: "  ·  " that SVG does not collapse.
SEP = "\u00a0\u00a0\u00b7\u00a0\u00a0"

Moves = Mapping[str, Iterable["Transition | str"]]


@dataclass
class Look:
    """How one node or edge looks in a highlighted picture (``None``/empty: as drawn)."""

    classes: tuple[str, ...] = ()
    # nodes
    fills: tuple[str, ...] = ()       # one colour, or one per endpoint sharing the box
    stroke: str | None = None
    stroke_width: float | None = None
    text: str | None = None
    tags: tuple[tuple[str, str], ...] = ()   # (endpoint name, colour) shown inside the box
    # edges
    colors: tuple[str, ...] = ()      # one colour, or several drawn in series
    alpha: float = 1.0
    width: float | None = None
    label: str | None = None          # label colour
    bold: bool = False
    #: bundle members: transition key -> (label colour, bold, classes)
    members: dict[str, tuple[str | None, bool, tuple[str, ...]]] = field(default_factory=dict)


@dataclass
class Plan:
    """A whole highlight: looks by element id, endpoint colours, legend and caption."""

    looks: dict[str, Look]
    endpoints: tuple[str, ...]        # the endpoints shown (legend order)
    colors: dict[str, str]
    current_nodes: dict[str, str]     # endpoint -> id of the node it is at
    hidden: tuple[tuple[str, Transition], ...]   # taken, but in a layer not drawn
    legend: bool
    coverage: bool
    caption: str


def as_transition(t: "Transition | str") -> Transition:
    """A table entry, or its key; :class:`KeyError` listing the known keys otherwise."""
    if isinstance(t, Transition):
        return t
    try:
        return BY_KEY[str(t)]
    except KeyError:
        raise KeyError(f"no transition {t!r}; known keys: {', '.join(BY_KEY)}") from None


@lru_cache(maxsize=256)
def css_name(name: str) -> str:
    """An endpoint name made safe for a CSS class (``"host a"`` -> ``"host_a"``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) or "_"


def _per_endpoint(x: object, first: str) -> dict[str, list[Transition]]:
    if x is None:
        return {}
    if isinstance(x, Mapping):
        return {str(k): [as_transition(t) for t in (
            [v] if isinstance(v, (Transition, str)) else v)] for k, v in x.items()}
    if isinstance(x, (Transition, str)):
        return {first: [as_transition(x)]}
    return {first: [as_transition(t) for t in x]}  # type: ignore[union-attr]


def _node_tag(owner: str, names: Sequence[str], tags: Mapping[str, str], alone: bool) -> str:
    """The tag of ``owner``'s TCBs ``names`` in one box: ``server :80``, ``server :40000
    :40001`` (alone in the box, up to two), ``server ×3`` (more, or sharing the box)."""
    short = [tags[n] for n in names if tags.get(n)]
    if alone and short and len(short) == len(names) and len(short) <= 2:
        return " ".join([owner, *short])
    return f"{owner} \u00d7{len(names)}" if len(names) > 1 else owner


def make_plan(spec: Spec, endpoints: Sequence[str], colors: Mapping[str, str],
              current: "Mapping[str, TcpState | str] | TcpState | str | None" = None,
              just_taken: "Moves | Iterable[Transition | str] | None" = None,
              path: "Moves | Iterable[Transition | str] | None" = None,
              coverage: "Iterable[Transition | str] | None" = None,
              legend: bool | None = None, caption: str | None = None,
              owners: Mapping[str, str] | None = None,
              tags: Mapping[str, str] | None = None) -> Plan:
    """The highlight of one picture (see :meth:`StateDiagram.render` for the arguments;
    ``owners``: TCB name -> its host, ``tags``: TCB name -> its short tag, on a network of
    hosts with sockets)."""
    owners = dict(owners or {})
    tags = dict(tags or {})

    def own(name: str) -> str:
        return owners.get(name, name)

    first = endpoints[0] if endpoints else "client"
    if current is None:
        cur: dict[str, TcpState] = {}
    elif isinstance(current, Mapping):
        cur = {str(k): TcpState.parse(v) for k, v in current.items() if v is not None}
    else:
        cur = {first: TcpState.parse(current)}
    taken = _per_endpoint(just_taken, first)
    before = _per_endpoint(path, first)
    covered = None if coverage is None else {as_transition(t).key for t in coverage}

    order = list(endpoints)
    for name in [*cur, *taken, *before]:
        if own(name) not in order:
            order.append(own(name))
    hosts = list(order)                       # the colours' owners, in legend order
    for name in [*cur, *taken, *before]:
        if name not in order:
            order.append(name)
    present = {own(n) for n in [*cur, *taken, *before]}
    used = [n for n in hosts if n in present]
    col = {n: colors.get(n) or PALETTE[hosts.index(n) % len(PALETTE)] for n in hosts}
    col.update({n: col[own(n)] for n in order if n not in col})

    looks: dict[str, Look] = {}
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
        by_owner: dict[str, list[str]] = {}
        for n in names:
            by_owner.setdefault(own(n), []).append(n)
        fills = tuple(col[o] for o in by_owner)
        alone = len(by_owner) == 1
        looks[nid] = Look(
            classes=("current",) + tuple(f"current-{css_name(o)}" for o in by_owner),
            fills=fills, stroke=darker(fills[0]) if len(fills) == 1 else COLORS["split-stroke"],
            stroke_width=2.2, text=COLORS["current-text"],
            tags=tuple((_node_tag(o, ns, tags, alone) if owners else o, col[o])
                       for o, ns in by_owner.items()))
    # --- edges
    taken_by: dict[str, list[str]] = {}
    path_by: dict[str, list[str]] = {}
    hidden: list[tuple[str, Transition]] = []
    for name in order:
        for t in taken.get(name, []):
            if t.key in spec.edge_of:
                taken_by.setdefault(t.key, []).append(own(name))
            else:
                hidden.append((own(name), t))
        for t in before.get(name, []):
            if t.key in spec.edge_of:
                path_by.setdefault(t.key, []).append(own(name))
    involved = spec.edges if covered is not None else tuple(dict.fromkeys(
        spec.edge_of[k] for k in (*taken_by, *path_by)))   # the others keep their defaults
    for e in involved:
        members: dict[str, tuple[str | None, bool, tuple[str, ...]]] = {}
        e_taken: list[str] = []
        e_path: list[str] = []
        e_cov = False
        for t in e.members:
            tk = list(dict.fromkeys(taken_by.get(t.key, [])))
            pk = list(dict.fromkeys(path_by.get(t.key, [])))
            cv = covered is not None and t.key in covered
            classes = (
                (("taken",) if tk else ()) + tuple(f"taken-{css_name(n)}" for n in tk)
                + (("path",) if pk else ()) + tuple(f"path-{css_name(n)}" for n in pk)
                + (("covered",) if cv else ()))
            color = col[tk[0]] if tk else col[pk[0]] if pk else None
            members[t.key] = (color, bool(tk), classes)
            e_taken += [n for n in tk if n not in e_taken]
            e_path += [n for n in pk if n not in e_path]
            e_cov = e_cov or cv
        classes = tuple(dict.fromkeys(c for v in members.values() for c in v[2]))
        if e_taken:
            look = Look(classes, colors=tuple(col[n] for n in e_taken), width=3.2,
                        label=col[e_taken[0]], bold=True)
        elif e_path:
            look = Look(classes, colors=tuple(col[n] for n in e_path), width=3.0,
                        alpha=PATH_ALPHA)
        elif e_cov:
            look = Look(classes, colors=(COLORS["coverage"],), width=2.4)
        elif covered is not None:
            look = Look(classes, colors=(COLORS["faded-edge"],), label=COLORS["faded-label"])
        else:
            look = Look(classes)
        if e.bundle:
            look.members, look.bold, look.label = members, False, None
        if look.colors or look.classes or look.members:
            looks[e.id] = look

    show_legend = bool(used or covered is not None) if legend is None else legend
    if caption is None:
        def shown(n: str) -> str:
            return f"{own(n)} {tags[n]}" if tags.get(n) else own(n)
        caption = _caption({shown(n): ts for n, ts in taken.items()},
                           {shown(n): st for n, st in cur.items()}, hidden,
                           [shown(n) for n in order])
    return Plan(looks, tuple(used), col, where, tuple(hidden), show_legend,
                covered is not None, caption)


def _caption(taken: Mapping[str, list[Transition]], cur: Mapping[str, TcpState],
             hidden: Sequence[tuple[str, Transition]], order: list[str]) -> str:
    bits = []
    for name in order:
        ts = taken.get(name, [])
        if ts:
            chain = " → ".join([ts[0].source.rfc] + [t.target.rfc for t in ts])
            bits.append(f"{name}: {chain} ({'; '.join(t.label for t in ts)})")
        elif name in cur:
            bits.append(f"{name}: {cur[name].rfc}")
    text = SEP.join(bits)
    if hidden:
        layers = sorted({t.layer for _, t in hidden})
        text += (f"{SEP}[not drawn: layer{'s' if len(layers) > 1 else ''} "
                 f"{', '.join(layers)} is off]")
    return text
