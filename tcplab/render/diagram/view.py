"""The public face of the state diagram: :class:`StateDiagram`, :class:`DiagramView` and
the ``python -m tcplab diagram`` command.

Builds on :mod:`.spec` (what is drawn), :mod:`.layout` (Graphviz, once per style),
:mod:`.highlight` (a step -> classes and colours), :mod:`.svg` (the picture shown) and
:mod:`.graph` (PNG/PDF export: the same picture pinned for ``neato -n2``).

>>> d = StateDiagram()                                   # figure5 + note2 + loop
>>> d.edge_id("established-close"), d.drawn_endpoints("established-close")
('edge-established-close', ('node-ESTABLISHED', 'node-FIN_WAIT_1'))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from ...states import TcpState
from ...transitions import DEFAULT_LAYERS, LAYERS, TRANSITIONS, Transition
from ..socket_names import SocketNames, socket_names
from .highlight import SEP, Moves, Plan, as_transition, make_plan
from .layout import GraphvizNotFound, Layout, get_layout, pipe
from .spec import build_spec, parse_layers
from .svg import render_svg

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

    from ...network import Network
    from ...steps import Step

__all__ = ["StateDiagram", "DiagramView", "host_states_text"]


class DiagramView:
    """One highlighted picture: shows itself in Jupyter and saves to SVG, PNG or PDF."""

    def __init__(self, diagram: "StateDiagram", svg: str, plan: Plan) -> None:
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

    def graph(self) -> "graphviz.Digraph":
        """This picture as a ``graphviz.Digraph``: the cached positions pinned, the same
        highlight and legend.  Render it with ``neato`` and ``neato_no_op=2``."""
        from .graph import pinned_graph  # lazy: keep `import tcplab` light
        from .legend import legend_prims

        lay = self.diagram.layout
        prims = legend_prims(self._plan, lay.bb) if self._plan.legend else ()
        g = pinned_graph(lay, self._plan.looks, prims)
        g.engine = "neato"
        return g

    def source(self) -> str:
        """DOT text of :meth:`graph` (positions pinned; for ``neato -n2``)."""
        return self.graph().source

    def to_bytes(self, fmt: str, dpi: float = 144) -> bytes:
        """``svg`` (the very SVG shown), ``png`` or ``pdf`` (drawn by Graphviz's cairo
        renderer from the pinned layout, so the picture matches).  ``dpi``: PNG only."""
        fmt = fmt.lower().lstrip(".")
        if fmt == "svg":
            return self.svg.encode("utf-8")
        if fmt not in ("png", "pdf"):
            raise ValueError(f"cannot export {fmt!r}: use svg, png or pdf")
        g = self.graph()
        if fmt == "png":
            g.graph_attr["dpi"] = f"{dpi:g}"
        return pipe(g, fmt, engine="neato", neato_no_op=2)

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
        self.spec = build_spec(self.layers, self.show_codes)

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
        t = as_transition(t)
        if t.key not in self.spec.edge_of:
            raise KeyError(f"{t.key} is in layer {t.layer!r}, which this diagram does not "
                           f"draw (layers: {', '.join(sorted(self.layers))})")
        return f"edge-{t.key}"

    def drawn_endpoints(self, t: "Transition | str") -> tuple[str, str]:
        """``(tail node id, head node id)`` of the arrow that shows ``t``."""
        e = self.spec.edge_of[as_transition(t).key]
        return e.tail, e.head

    @property
    def layout(self) -> Layout:
        """The cached ``dot`` layout for this style (runs ``dot`` the first time)."""
        return get_layout(self.layers, self.show_codes)

    # -- pictures ----------------------------------------------------------------------------
    def _plan(self, current: object = None, just_taken: object = None, path: object = None,
              coverage: object = None, legend: bool | None = None,
              caption: str | None = None) -> Plan:
        return make_plan(self.spec, self.endpoints, self.colors, current,  # type: ignore
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
        return render_svg(self.layout, plan)

    def show(self, current: "Mapping[str, TcpState | str] | TcpState | str | None" = None,
             just_taken: "Moves | Iterable[Transition | str] | None" = None,
             path: "Moves | Iterable[Transition | str] | None" = None,
             coverage: "Iterable[Transition | str] | None" = None, *,
             legend: bool | None = None, caption: str | None = None) -> DiagramView:
        """Like :meth:`render`, as a :class:`DiagramView` (Jupyter display, export)."""
        plan = self._plan(current, just_taken, path, coverage, legend, caption)
        return DiagramView(self, render_svg(self.layout, plan), plan)

    def highlight_step(self, history: "Sequence[Step]", k: int | None = None, *,
                       names: Sequence[str] | None = None,
                       coverage: bool = False) -> DiagramView:
        """The picture after step ``k`` of a network's history (default: the last step).

        Step ``k``'s transitions are "just taken" (by ``Step.actor``), the earlier ones are
        the faded path, and ``Step.states`` gives every endpoint's state.  ``k=-1`` or an
        empty history: before anything happened (everyone CLOSED).  ``coverage=True`` also
        marks every edge used up to step ``k``.

        On a network of hosts with sockets (``names`` are the hosts) every TCB of a host is
        highlighted in the host's colour -- a listener in LISTEN and each of its
        connections where it is -- with the sockets' tags in the boxes (``server :80``,
        ``server :40000 :40001``); a host without a TCB is CLOSED.  The path and the
        coverage follow each TCB's own transitions; :attr:`DiagramView.current_nodes` is
        by TCB.
        """
        if k is None:
            k = len(history) - 1
        if k < -1 or k >= len(history):
            raise IndexError(f"step {k} is outside the history (0..{len(history) - 1}, "
                             f"or -1 for the start)")
        socks = socket_names(history)
        if names is not None:
            names = tuple(names)
        elif socks:
            names = tuple(dict.fromkeys([*self.endpoints, *socks.host.values()]))
        else:
            names = (tuple(n for n, _ in history[0].states) if history and history[0].states
                     else self.endpoints)
        endpoints = tuple(dict.fromkeys([*names, *self.endpoints]))

        def who(step: "Step") -> str:
            """Whose transitions a step's are: the endpoint's, or (sockets) the TCB's."""
            return step.socket if step.socket in socks.host else step.actor  # type: ignore

        path: dict[str, list[Transition]] = {n: [] for n in names}
        closed: dict[str, str] = {}          # host -> its TCB that closed last (sockets)
        for step in history[:k + 1]:
            if step.after is TcpState.CLOSED and step.before is not TcpState.CLOSED and \
                    who(step) in socks.host:
                closed[step.actor] = who(step)
        for step in history[:max(k, 0)]:
            if step.transitions:
                path.setdefault(who(step), []).extend(step.transitions)
        if k >= 0:
            step = history[k]
            if socks:
                current = _host_states(step, names, socks, closed)
            else:
                current = dict(step.states) if step.states else (
                    {step.actor: step.after} if step.after else {})
            just = {who(step): list(step.transitions)} if step.transitions else {}
            cap = None
            if socks:
                cap = _sockets_caption(step, who(step), names, socks)
            elif not step.transitions:           # say what happened all the same
                actor = f"{step.actor}: " if step.actor else ""
                now = SEP.join(f"{n}: {s.rfc}" for n, s in current.items() if s)
                cap = f"{actor}{step.event.strip()} (no state change){SEP}{now}"
        else:
            current = {n: TcpState.CLOSED for n in names}
            just = {}
            cap = SEP.join(f"{n}: CLOSED" for n in names) + SEP + "(before the first step)"
        cov = ([t for s in history[:k + 1] for t in s.transitions] if coverage else None)
        plan = make_plan(self.spec, endpoints, self.colors, current, just, path, cov,
                          True, cap, owners=socks.host, tags=socks.tags)
        return DiagramView(self, render_svg(self.layout, plan), plan)

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

    def to_graphviz(self, **highlight: object) -> "graphviz.Digraph":
        """The highlighted picture as a ``graphviz.Digraph`` (engine ``neato``; render it
        with ``neato_no_op=2`` to keep the pinned layout)."""
        return self.show(**highlight).graph()  # type: ignore[arg-type]


def _host_states(step: "Step", hosts: Sequence[str], socks: SocketNames,
                 closed: Mapping[str, str]) -> dict[str, TcpState]:
    """Every TCB's state after ``step`` (by TCB name), the TCB the step closed (at the
    CLOSED it reached), and ``CLOSED`` for a host that holds none -- named by its TCB that
    closed last (``closed``: host -> TCB), if any, so that the CLOSED that TCB reached is
    the one highlighted."""
    current = {n: st for n, st in step.states if n in socks.host}
    holders = {socks.host[n] for n in current}
    for host in hosts:
        if host not in holders:
            current[closed.get(host, host)] = TcpState.CLOSED
    if step.after is TcpState.CLOSED and step.before is not TcpState.CLOSED and \
            step.socket in socks.host:
        current[step.socket] = TcpState.CLOSED   # a TCB this step closed: where it went
    return current


def host_states_text(states: "Sequence[tuple[str, TcpState]]", host: str,
                     socks: SocketNames) -> str:
    """A host's TCBs in a few words: ``LISTEN :80, ESTABLISHED :40000 :40001``; more than
    three in one state are counted (``ESTABLISHED ×4``); a host without TCB: ``CLOSED``.

    >>> from tcplab.sockets import SocketNetwork
    >>> net = SocketNetwork()
    >>> ls = net.socket("server"); ls.bind(80); ls.listen(1)
    >>> c = net.socket("client"); c.connect(("server", 80)); _ = net.run()
    >>> socks = socket_names(net.history)
    >>> [host_states_text(net.history[-1].states, h, socks) for h in net.names]
    ['ESTABLISHED', 'LISTEN :80, ESTABLISHED :40000']
    """
    grouped: dict[TcpState, list[str]] = {}
    for name, state in socks.of_host(host, states):
        grouped.setdefault(state, []).append(socks.tag(name))
    if not grouped:
        return TcpState.CLOSED.rfc
    return ", ".join(f"{st.rfc} \u00d7{len(tags)}" if len(tags) > 3 else
                     " ".join([st.rfc, *[t for t in tags if t]]) for st, tags in
                     grouped.items())


def _sockets_caption(step: "Step", mover: str, hosts: Sequence[str],
                     socks: SocketNames) -> str:
    """What the step did (to which socket), then where every host's TCBs are."""
    who = f"{step.actor} {socks.tag(mover)}".rstrip() if step.actor else ""
    ts = step.transitions
    if ts:
        chain = " → ".join([ts[0].source.rfc] + [t.target.rfc for t in ts])
        did = f"{who}: {chain} ({'; '.join(t.label for t in ts)})"
    else:
        did = f"{who}: {step.event.strip()} (no state change)"
    now = SEP.join(f"{h}: {host_states_text(step.states, h, socks)}" for h in hosts)
    return f"{did}{SEP}{now}"
