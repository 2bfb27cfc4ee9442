"""The graphviz state diagram (tcplab.render.diagram): structure, highlighting, model consistency,
stability, export and the command line."""

from __future__ import annotations

import itertools
import shutil
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import cli_command

from tcplab.render import diagram as dg
from tcplab.render.diagram import layout as dl
from tcplab.render.diagram import GraphvizNotFound, StateDiagram, parse_layers
from tcplab.network import Network
from tcplab.states import TcpState as S
from tcplab.transitions import BY_KEY, DEFAULT_LAYERS, LAYERS, TRANSITIONS

pytestmark = pytest.mark.skipif(shutil.which("dot") is None,
                                reason="Graphviz `dot` is not installed")

NS = "{http://www.w3.org/2000/svg}"
BLUE, VERMILLION = "#0072B2", "#D55E00"
OPTIONAL = ("text", "reset", "abort", "timeout")


# ------------------------------------------------------------------------------ helpers


cli_diagram = cli_command('diagram')

def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def by_id(root: ET.Element) -> dict[str, ET.Element]:
    return {el.get("id"): el for el in root.iter() if el.get("id")}


def classes(el: ET.Element) -> set[str]:
    return set((el.get("class") or "").split())


def shape(g: ET.Element) -> ET.Element:
    """The node's box (or the edge's line)."""
    return next(ch for ch in g if ch.tag in (NS + "path", NS + "polygon", NS + "ellipse"))


def edge_ids(root: ET.Element) -> list[str]:
    return [el.get("id") for el in root.iter() if (el.get("id") or "").startswith("edge-")]


def drawn_line(ids: dict[str, ET.Element], key: str) -> ET.Element:
    """The <path> that draws transition ``key`` (a bundle's shared path for sink edges)."""
    g = ids[f"edge-{key}"]
    if "member" in classes(g):
        g = next(b for b in ids.values() if "bundle" in classes(b) and g in list(b))
    return next(ch for ch in g if ch.tag == NS + "path")


def geometry(root: ET.Element) -> dict[str, tuple]:
    """Every node's and edge's coordinates (and nothing about colours)."""
    out = {}
    for el in root.iter():
        i = el.get("id") or ""
        if i.startswith(("node-", "edge-", "bundle-")):
            out[i] = tuple((ch.tag, ch.get("d"), ch.get("points"), ch.get("x"), ch.get("y"))
                           for ch in el.iter() if ch.tag != NS + "title"
                           and "tag" not in classes(ch) and "overlay" not in classes(ch))
    return out


def handshake(net: Network) -> None:
    net.listen("server")
    net.connect("client")
    net.run()


@pytest.fixture(scope="module")
def all_layers() -> StateDiagram:
    return StateDiagram("all")


# ------------------------------------------------------------------------------ structure
def test_all_eleven_states_have_nodes_with_ids():
    root = parse(StateDiagram().render())
    ids = by_id(root)
    for s in S:
        g = ids[f"node-{s.name}"]
        assert {"state", f"state-{s.name}"} <= classes(g)
        assert g.get("data-state") == s.name
        assert s.rfc in "".join(t.text or "" for t in g.iter(NS + "text"))
    # CLOSED is one state, drawn on top and again at the bottom (as figure 5 does)
    assert ids["node-CLOSED-end"].get("data-state") == "CLOSED"
    assert root.get("class") == "tcplab-state-diagram"


def test_default_layers_are_figure5_note2_loop():
    d = StateDiagram()
    assert d.layers == DEFAULT_LAYERS == {"figure5", "note2", "loop"}
    ids = set(edge_ids(parse(d.render())))
    assert ids == {f"edge-{t.key}" for t in TRANSITIONS if t.layer in DEFAULT_LAYERS}
    # the edges most drawings leave out
    for key in ("listen-send", "syn-received-rcv-rst", "fin-wait-1-rcv-fin-ack",
                "time-wait-rcv-fin"):
        assert f"edge-{key}" in ids
    assert "edge-established-rcv-rst" not in ids


@pytest.mark.parametrize("extra", [c for r in range(len(OPTIONAL) + 1)
                                   for c in itertools.combinations(OPTIONAL, r)],
                         ids=lambda c: "+".join(c) or "default")
def test_edges_are_exactly_the_table_entries_of_the_enabled_layers(extra):
    layers = DEFAULT_LAYERS | set(extra)
    d = StateDiagram(layers)
    ids = edge_ids(parse(d.render()))
    assert sorted(ids) == sorted(f"edge-{t.key}" for t in TRANSITIONS if t.layer in layers)
    assert d.transitions == tuple(t for t in TRANSITIONS if t.layer in layers)


def test_all_layers_every_table_entry_exactly_once_and_between_the_right_states(all_layers):
    root = parse(all_layers.render())
    ids = by_id(root)
    found = edge_ids(root)
    assert len(found) == len(set(found)) == len(TRANSITIONS)
    for t in TRANSITIONS:
        g = ids[f"edge-{t.key}"]
        assert (g.get("data-source"), g.get("data-target")) == (t.source.name, t.target.name)
        assert g.get("data-layer") == t.layer and f"layer-{t.layer}" in classes(g)
        tail, head = ids[g.get("data-tail")], ids[g.get("data-head")]
        assert tail.get("data-state") == t.source.name
        assert head.get("data-state") == t.target.name
        assert all_layers.drawn_endpoints(t) == (g.get("data-tail"), g.get("data-head"))
        label = " ".join((x.text or "").replace("\u00a0", " ").strip()
                         for x in g.iter(NS + "text"))
        assert " ".join(label.split()) == " ".join(t.label.split())


def test_reset_abort_timeout_edges_go_to_small_closed_copies(all_layers):
    ids = by_id(parse(all_layers.render()))
    for t in TRANSITIONS:
        head = ids[f"edge-{t.key}"].get("data-head")
        if t.layer in dg.SINK_LAYERS and t.target is S.CLOSED:
            assert head == f"node-CLOSED-sink-{t.source.name}"
            assert "sink" in classes(ids[head])
        elif t.key in ("last-ack-rcv-ack", "time-wait-timeout"):
            assert head == "node-CLOSED-end"
        else:
            assert head == f"node-{t.target.name}"


def test_show_codes_puts_the_snmp_number_in_each_node():
    ids = by_id(parse(StateDiagram(show_codes=True).render()))
    for s in S:
        texts = [t.text for t in ids[f"node-{s.name}"].iter(NS + "text")]
        assert f"({s.mib})" in texts


def test_parse_layers():
    assert parse_layers(None) == DEFAULT_LAYERS
    assert parse_layers("all") == frozenset(LAYERS)
    assert parse_layers("reset,abort") == DEFAULT_LAYERS | {"reset", "abort"}
    assert parse_layers(["reset"]) == {"reset"}
    with pytest.raises(ValueError, match="unknown diagram layer.*resets"):
        parse_layers("resets")


# ------------------------------------------------------------------------------ highlighting
def test_current_state_of_one_endpoint():
    d = StateDiagram()
    ids = by_id(parse(d.render(current={"client": "established"})))
    est = ids["node-ESTABLISHED"]
    assert {"current", "current-client"} <= classes(est)
    assert shape(est).get("fill") == BLUE
    assert [t.text for t in est.iter(NS + "text") if "tag" in classes(t)] == ["client"]
    for s in S:
        if s is not S.ESTABLISHED:
            assert "current" not in classes(ids[f"node-{s.name}"])
            assert shape(ids[f"node-{s.name}"]).get("fill") == "#f5f5f5"
    legend = ids["legend"]
    assert "client" in [t.text for t in legend.iter(NS + "text")]


def test_two_endpoints_in_two_colours():
    d = StateDiagram()
    root = parse(d.render(current={"client": S.FIN_WAIT_1, "server": S.CLOSE_WAIT}))
    ids = by_id(root)
    assert {"current", "current-client"} <= classes(ids["node-FIN_WAIT_1"])
    assert {"current", "current-server"} <= classes(ids["node-CLOSE_WAIT"])
    assert shape(ids["node-FIN_WAIT_1"]).get("fill") == BLUE
    assert shape(ids["node-CLOSE_WAIT"]).get("fill") == VERMILLION
    assert {t.text for t in ids["legend"].iter(NS + "text")} >= {"client", "server"}


def test_both_endpoints_in_the_same_state_split_the_box():
    ids = by_id(parse(StateDiagram().render(current={"client": "ESTAB", "server": "ESTAB"})))
    est = ids["node-ESTABLISHED"]
    assert {"current-client", "current-server"} <= classes(est)
    fill = shape(est).get("fill")
    assert fill.startswith("url(#")
    grad = ids[fill[5:-1]]
    assert [s.get("stop-color") for s in grad] == [BLUE, BLUE, VERMILLION, VERMILLION]
    assert [t.text for t in est.iter(NS + "text") if "tag" in classes(t)] == ["client", "server"]


def test_just_taken_path_and_coverage_classes():
    d = StateDiagram()
    ids = by_id(parse(d.render(
        current={"client": "FIN-WAIT-1", "server": "ESTABLISHED"},
        just_taken={"client": ["established-close"]},
        path={"client": ["active-open", "syn-sent-rcv-syn-ack"],
              "server": ["passive-open", "listen-rcv-syn", "syn-received-rcv-ack"]},
        coverage=["active-open", "passive-open"])))
    taken = ids["edge-established-close"]
    assert {"taken", "taken-client"} <= classes(taken)
    assert drawn_line(ids, "established-close").get("stroke") == BLUE
    assert drawn_line(ids, "established-close").get("stroke-opacity") is None
    label = next(taken.iter(NS + "text"))
    assert label.get("font-weight") == "bold" and label.get("fill") == BLUE
    path = ids["edge-listen-rcv-syn"]
    assert {"path", "path-server"} <= classes(path) and "taken" not in classes(path)
    assert drawn_line(ids, "listen-rcv-syn").get("stroke") == VERMILLION
    assert float(drawn_line(ids, "listen-rcv-syn").get("stroke-opacity")) < 1  # faded
    assert "covered" in classes(ids["edge-active-open"])
    assert "covered" not in classes(ids["edge-last-ack-rcv-ack"])
    untouched = ids["edge-last-ack-rcv-ack"]
    assert not classes(untouched) & {"taken", "path", "covered"}


def test_an_edge_both_endpoints_took_is_drawn_in_both_colours():
    ids = by_id(parse(StateDiagram().render(
        path={"client": ["active-open"], "server": ["active-open"]})))
    g = ids["edge-active-open"]
    assert {"path-client", "path-server"} <= classes(g)
    lines = [ch for ch in g if ch.tag == NS + "path"]
    assert [ln.get("stroke") for ln in lines] == [BLUE, VERMILLION]


def test_reset_lands_on_the_closed_copy_beside_its_state(all_layers):
    view = all_layers.show(current={"client": "CLOSED"},
                           just_taken={"client": ["established-rcv-rst"]})
    ids = by_id(parse(view.svg))
    assert view.current_nodes == {"client": "node-CLOSED-sink-ESTABLISHED"}
    assert "current-client" in classes(ids["node-CLOSED-sink-ESTABLISHED"])
    assert "current" not in classes(ids["node-CLOSED"])
    member = ids["edge-established-rcv-rst"]
    assert {"taken", "taken-client"} <= classes(member)
    assert drawn_line(ids, "established-rcv-rst").get("stroke") == BLUE
    assert "taken" not in classes(ids["edge-established-abort"])
    # with the reset layer off, the edge is not drawn: the view says so
    hidden = StateDiagram().show(current={"client": "CLOSED"},
                                 just_taken={"client": ["established-rcv-rst"]})
    assert hidden.current_nodes == {"client": "node-CLOSED"}
    assert [t.key for _, t in hidden.hidden] == ["established-rcv-rst"]
    assert "not drawn" in hidden.caption and "reset" in hidden.caption


def test_unknown_transition_key_is_a_clear_error():
    with pytest.raises(KeyError, match="no transition 'nope'"):
        StateDiagram().render(just_taken={"client": ["nope"]})


# ------------------------------------------------------------------------------ the model
def _teardown() -> Network:
    net = Network(isn={"client": 100, "server": 300})
    handshake(net)
    net.close("client")
    net.settle()
    net.close("server")
    net.run()
    return net


def _simultaneous_open() -> Network:
    net = Network(isn={"client": 100, "server": 300})
    net.connect("client")
    net.connect("server")
    net.run()
    return net


def _simultaneous_close() -> Network:
    net = Network(isn={"client": 100, "server": 300})
    handshake(net)
    net.close("client")
    net.close("server")
    net.run()
    return net


def _networks() -> dict[str, Network]:
    nets = {"handshake": Network(isn={"client": 100, "server": 300}),
            "teardown": _teardown(), "simultaneous-open": _simultaneous_open(),
            "simultaneous-close": _simultaneous_close()}
    handshake(nets["handshake"])
    try:
        from tcplab import scenarios
    except ImportError:  # pragma: no cover
        return nets
    for name in scenarios.names():
        nets[f"scenario:{name}"] = scenarios.get(name).run()
    return nets


def test_every_transition_the_model_takes_is_an_edge_of_the_diagram(all_layers):
    ids = by_id(parse(all_layers.render()))
    taken: set[str] = set()
    for name, net in _networks().items():
        for step in net.history:
            state = step.before
            for t in step.transitions:
                g = ids.get(f"edge-{t.key}")
                assert g is not None, f"{name}: {t} is not in the diagram"
                assert t is BY_KEY[t.key], "the endpoint must take table entries"
                assert t.source is state, f"{name}: {t} taken from {state}"
                assert ids[g.get("data-tail")].get("data-state") == t.source.name
                assert ids[g.get("data-head")].get("data-state") == t.target.name
                state = t.target
                taken.add(t.key)
            if step.transitions:
                assert state is step.after
    # the runs exercise handshake, teardown, simultaneous open and close at least
    assert {"passive-open", "active-open", "listen-rcv-syn", "syn-sent-rcv-syn",
            "fin-wait-1-rcv-fin", "closing-rcv-ack", "last-ack-rcv-ack",
            "time-wait-timeout"} <= taken


@pytest.mark.parametrize("make", [_teardown, _simultaneous_open, _simultaneous_close])
def test_highlight_step_follows_the_history(make):
    net = make()
    d = StateDiagram(endpoints=net.names)
    before = None
    for k, step in enumerate(net.history):
        view = d.highlight_step(net.history, k)
        ids = by_id(parse(view.svg))
        for name, state in step.states:
            g = ids[view.current_nodes[name]]
            assert g.get("data-state") == state.name
            assert f"current-{name}" in classes(g)
        for t in step.transitions:
            assert f"taken-{step.actor}" in classes(ids[f"edge-{t.key}"])
        for earlier in net.history[:k]:
            for t in earlier.transitions:
                if t not in step.transitions:
                    assert f"path-{earlier.actor}" in classes(ids[f"edge-{t.key}"])
        geo = geometry(parse(view.svg))
        assert before is None or geo == before          # nothing moves between steps
        before = geo
    start = d.highlight_step(net.history, -1)
    assert set(start.current_nodes.values()) == {"node-CLOSED"}


def test_for_network_adds_the_layers_the_run_used():
    net = Network(isn={"client": 100, "server": 300})
    handshake(net)
    net.abort("client")
    net.run()
    view = StateDiagram.for_network(net)
    assert {"abort", "reset"} <= view.diagram.layers
    assert not view.hidden
    ids = by_id(parse(view.svg))
    assert "taken" in classes(ids["edge-established-rcv-rst"])
    assert view.current_nodes["server"] == "node-CLOSED-sink-ESTABLISHED"
    cov = StateDiagram.for_network(net, step=3, coverage=True)
    ids = by_id(parse(cov.svg))
    assert "covered" in classes(ids["edge-active-open"])
    assert "covered" not in classes(ids["edge-established-abort"])


# ------------------------------------------------------------------------------ stability
def test_layout_is_identical_whatever_is_highlighted():
    d = StateDiagram()
    renders = [
        d.render(),
        d.render(current={"client": "ESTABLISHED"}),
        d.render(current={"client": "TIME-WAIT", "server": "CLOSED"},
                 just_taken={"server": ["last-ack-rcv-ack"]},
                 path={"client": ["active-open"], "server": ["passive-open"]}),
        d.render(coverage=[t.key for t in d.transitions][:5]),
    ]
    geos = [geometry(parse(r)) for r in renders]
    assert all(g == geos[0] for g in geos)
    sizes = {(parse(r).get("width"), parse(r).get("height")) for r in renders[1:]}
    assert len(sizes) == 1, "highlighted pictures must all have the same size"


def test_dot_runs_once_per_style(monkeypatch):
    calls = []
    real = dl.compute_layout
    monkeypatch.setattr(dl, "_LAYOUTS", {})
    monkeypatch.setattr(dl, "compute_layout",
                        lambda spec: calls.append(spec.layers) or real(spec))
    d = StateDiagram("reset")
    for st in S:
        d.render(current={"client": st})
    StateDiagram("reset").render(current={"server": "LISTEN"})
    assert len(calls) == 1
    StateDiagram("reset", show_codes=True).render()
    assert len(calls) == 2


def test_restyling_is_fast():
    d = StateDiagram()
    d.render()                                                    # warm the cache
    args = dict(current={"client": "FIN-WAIT-1", "server": "CLOSE-WAIT"},
                just_taken={"server": ["established-rcv-fin"]},
                path={"client": ["active-open", "syn-sent-rcv-syn-ack", "established-close"],
                      "server": ["passive-open", "listen-rcv-syn", "syn-received-rcv-ack"]})
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        d.render(**args)
        times.append(time.perf_counter() - t0)
    # the target is < 1 ms; allow slow CI machines some slack
    assert statistics.median(times) < 0.005


# ------------------------------------------------------------------------------ Graphviz missing
def test_missing_dot_raises_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(dl, "_LAYOUTS", {})
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFound) as info:
        StateDiagram().render()
    err = info.value
    assert isinstance(err, RuntimeError)
    text = str(err)
    for hint in ("sudo apt-get install graphviz", "brew install graphviz",
                 "conda install -c conda-forge graphviz"):
        assert hint in text
    assert err.__cause__ is None and err.__context__ is None   # no graphviz-package traceback
    # the command line says the same, without a traceback
    assert cli_diagram(["-o", str(tmp_path / "x.svg")]) == 2


def test_importing_tcplab_does_not_import_graphviz():
    code = ("import sys, tcplab, tcplab.render.diagram; "
            "print('graphviz' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------ display, export
def test_rich_display():
    view = StateDiagram().show(current={"client": "LISTEN"})
    assert view._repr_svg_().startswith("<svg")
    html = view._repr_html_()
    assert html.startswith('<div class="tcplab-diagram"><svg') and "max-width:100%" in html
    assert StateDiagram()._repr_svg_().startswith("<svg")
    assert "node-LISTEN" in repr(view)


def test_export_source_pins_the_cached_layout_and_the_highlight():
    d = StateDiagram()
    view = d.show(current={"client": "ESTABLISHED", "server": "ESTABLISHED"},
                  just_taken={"server": ["syn-received-rcv-ack"]})
    src = view.source()
    lay = d.layout
    for nid, (x, y, _, _) in lay.node_box.items():
        assert f'pos="{x:.2f},{y:.2f}!"' in src.split(f'"{nid}" [', 1)[1].split("\n")[0]
    line = src.split('id="edge-syn-received-rcv-ack"', 1)[1].split("\n")[0]
    assert f'color="{VERMILLION}"' in line
    est = src.split('"node-ESTABLISHED" [', 1)[1].split("\n")[0]
    assert f"{BLUE};0.500:{VERMILLION};0.500" in est


@pytest.mark.parametrize("fmt,magic", [("svg", b"<svg"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_save_formats(tmp_path, fmt, magic):
    out = StateDiagram().show(current={"client": "SYN-SENT"}).save(tmp_path / f"d.{fmt}")
    data = out.read_bytes()
    assert data.startswith(magic)
    if fmt == "svg":
        parse(data.decode())


def test_save_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.pdf"):
        StateDiagram().show().save(tmp_path / "d.gif")


# ------------------------------------------------------------------------------ command line
def test_cli_writes_svg_png_pdf(tmp_path, capsys):
    svg = tmp_path / "tcp.svg"
    assert cli_diagram(["--state", "ESTABLISHED", "--peer", "close_wait", "-o", str(svg)]) == 0
    ids = by_id(parse(svg.read_text()))
    assert "current-client" in classes(ids["node-ESTABLISHED"])
    assert "current-server" in classes(ids["node-CLOSE_WAIT"])
    png, pdf = tmp_path / "tcp.png", tmp_path / "tcp.pdf"
    assert cli_diagram(["--layers", "all", "--codes", "-o", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert cli_diagram(["--layers", "reset,abort", "--state", "syn_recv", "-o", str(pdf)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert str(pdf) in capsys.readouterr().out


def test_cli_errors(tmp_path, capsys):
    assert cli_diagram(["--state", "HALF-OPEN", "-o", str(tmp_path / "x.svg")]) == 2
    assert "unknown TCP state name" in capsys.readouterr().err
    assert cli_diagram(["-o", str(tmp_path / "x.gif")]) == 2


def test_python_m_tcplab_diagram(tmp_path):
    out = tmp_path / "tcp.svg"
    subprocess.run([sys.executable, "-m", "tcplab", "diagram", "--state", "ESTABLISHED",
                    "--peer", "CLOSE-WAIT", "-o", str(out)], check=True, capture_output=True,
                   cwd=Path(__file__).resolve().parents[1])
    assert "current-server" in classes(by_id(parse(out.read_text()))["node-CLOSE_WAIT"])


# ------------------------------------------------------------------------------ the pieces
def test_highlight_plan_is_pure_classes_and_looks():
    """highlight.make_plan needs no Graphviz: classes and colours per element."""
    from tcplab.render.diagram.highlight import PATH_ALPHA, make_plan
    from tcplab.render.diagram.spec import build_spec
    spec = build_spec(parse_layers("reset"), False)
    plan = make_plan(spec, ("client", "server"), {},
                     current={"client": "ESTABLISHED", "server": "ESTABLISHED"},
                     just_taken={"server": ["syn-received-rcv-ack"]},
                     path={"client": ["active-open", "syn-sent-rcv-syn-ack"],
                           "server": ["passive-open", "listen-rcv-syn"]})
    est = plan.looks["node-ESTABLISHED"]
    assert est.classes == ("current", "current-client", "current-server")
    assert est.fills == (BLUE, VERMILLION) and est.tags == (("client", BLUE),
                                                          ("server", VERMILLION))
    taken = plan.looks["edge-syn-received-rcv-ack"]
    assert taken.classes == ("taken", "taken-server") and taken.colors == (VERMILLION,)
    assert taken.bold and taken.alpha == 1
    path = plan.looks["edge-active-open"]
    assert path.classes == ("path", "path-client") and path.alpha == PATH_ALPHA
    assert "edge-established-close" not in plan.looks          # untouched: as drawn
    assert plan.current_nodes == {"client": "node-ESTABLISHED", "server": "node-ESTABLISHED"}
    # a reset lands on the sink beside its state; the bundle member carries the classes
    reset = make_plan(spec, ("client",), {}, current={"client": "CLOSED"},
                      just_taken={"client": ["established-rcv-rst"]})
    assert reset.current_nodes == {"client": "node-CLOSED-sink-ESTABLISHED"}
    bundle = reset.looks["bundle-ESTABLISHED"]
    assert bundle.members["established-rcv-rst"] == (BLUE, True, ("taken", "taken-client"))
    # coverage: every edge gets a look, used ones green, the others faded
    cov = make_plan(spec, ("client",), {}, coverage=["active-open"])
    assert cov.looks["edge-active-open"].classes == ("covered",)
    assert cov.looks["edge-listen-close"].colors == ("#c9c9c9",)


def test_layout_is_read_from_graphviz_json_and_arrows_point_at_their_heads(all_layers):
    """layout.py reads every outline, curve, arrowhead and label line from ``pipe("json")``;
    each arrowhead sits at the drawn head (also for the edges laid out ``dir=back``)."""
    lay = all_layers.layout
    spec = lay.spec
    assert set(lay.node_shape) == {n.id for n in spec.nodes}
    for n in spec.nodes:
        assert lay.node_shape[n.id].kind == "path"                  # a rounded box
        assert [lb.text for lb in lay.node_labels[n.id]] == n.label.split("\n")

    def gap(p: tuple[float, float], nid: str) -> float:
        cx, cy, w, h = lay.node_svg[nid]
        return max(abs(p[0] - cx) - w / 2, abs(p[1] - cy) - h / 2, 0.0)

    for e in spec.edges:
        (head,) = lay.edge_heads[e.id]
        tip = min(head.points, key=lambda p: gap(p, e.head))
        assert gap(tip, e.head) < 2.0, e.id
        if e.tail != e.head:                                          # not a loop
            assert all(gap(p, e.tail) > 2.0 for p in head.points), e.id
        assert len(lay.edge_path[e.id].points) % 3 == 1                  # cubic Béziers
        lines = [lb.text for lb in lay.edge_labels[e.id]]
        expected = [x for ls in e.member_lines for x in ls] if e.bundle else [e.members[0].label]
        assert [x.replace("\u00a0", " ").strip() for x in lines] == \
            [x.replace("\u00a0", " ").strip() for x in expected]


def test_the_graph_is_a_graphviz_digraph_with_figure5_ranks():
    import graphviz

    from tcplab.render.diagram.graph import RANKS, layout_graph
    d = StateDiagram("all")
    g = layout_graph(d.spec)
    assert isinstance(g, graphviz.Digraph)
    src = g.source
    for row in RANKS:
        assert all(f'"node-{r}"' in src for r in row)
    assert src.count("rank=same") == len(RANKS) + 1            # + LISTEN beside its sink
    assert src.count("style=invis") == 4
    pinned = d.show(current={"client": "LISTEN"}).graph()
    assert isinstance(pinned, graphviz.Digraph) and pinned.engine == "neato"


def test_doctests_of_the_render_modules():
    import doctest
    import importlib
    names = ["tcplab.render", "tcplab.render.theme", "tcplab.render.text",
             "tcplab.render.words"] + [f"tcplab.render.diagram{m}" for m in (
                 "", ".spec", ".graph", ".layout", ".highlight", ".legend", ".svg", ".view")]
    tried = 0
    for name in names:
        res = doctest.testmod(importlib.import_module(name))
        assert res.failed == 0, name
        tried += res.attempted
    assert tried >= 15
