"""The state diagram without Graphviz's programs: layouts computed by ``dot`` at build time,
shipped in the wheel (tcplab.render.diagram.shipped), used when ``dot`` is missing."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from tcplab.render.diagram import GraphvizNotFound, StateDiagram, clear_cache, shipped
from tcplab.render.diagram.graph import layout_graph
from tcplab.render.diagram.spec import build_spec
from tcplab.transitions import DEFAULT_LAYERS

pytestmark = pytest.mark.skipif(shutil.which("dot") is None,
                                reason="Graphviz `dot` is needed to build the layouts")

CURRENT = {"client": "FIN-WAIT-2", "server": "CLOSE-WAIT"}


@pytest.fixture(scope="module")
def layouts_file(tmp_path_factory):
    return shipped.build(tmp_path_factory.mktemp("layouts") / "layouts.json.gz")


@pytest.fixture
def no_dot(monkeypatch, tmp_path, layouts_file):
    """``dot`` is not on PATH; the shipped layouts are ``layouts_file``."""
    monkeypatch.setattr(shipped, "LAYOUTS_FILE", layouts_file)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    clear_cache()
    yield
    clear_cache()


def test_every_style_is_shipped_once(layouts_file):
    assert shipped.available(layouts_file) == len(shipped.STYLES) == 32
    with gzip.open(layouts_file, "rt") as f:
        table = json.load(f)["layouts"]
    for layers, codes in shipped.STYLES:
        answer = json.loads(table[shipped.digest(layout_graph(build_spec(layers, codes)))])
        assert answer["name"] == "tcp_states" and answer["bb"]


def test_the_build_is_reproducible(layouts_file, tmp_path):
    again = shipped.build(tmp_path / "again.json.gz")
    assert again.read_bytes() == layouts_file.read_bytes()


@pytest.mark.parametrize("layers,codes", [(None, False), ("reset,abort", True), ("all", False)])
def test_without_dot_the_picture_is_the_one_dot_draws(layers, codes, no_dot, monkeypatch):
    shipped_svg = StateDiagram(layers, codes).render(current=CURRENT)
    monkeypatch.undo()                       # dot back on PATH, no shipped file
    monkeypatch.setattr(shipped, "LAYOUTS_FILE", shipped.LAYOUTS_FILE.with_name("none.gz"))
    clear_cache()
    assert StateDiagram(layers, codes).render(current=CURRENT) == shipped_svg


def test_a_custom_style_without_dot_says_what_is_shipped(no_dot):
    with pytest.raises(GraphvizNotFound, match=r"layers=\['figure5'\] is another style"):
        StateDiagram(["figure5"]).render()


def test_a_changed_graph_is_not_found(layouts_file):
    graph = layout_graph(build_spec(frozenset(DEFAULT_LAYERS), False))
    assert shipped.find(graph, layouts_file) is not None
    graph.attr(nodesep="0.9")                   # the graph changed after the build
    assert shipped.find(graph, layouts_file) is None


def test_no_file_means_no_layouts(tmp_path):
    assert shipped.available(tmp_path / "missing.json.gz") == 0


def test_viz_is_for_a_web_page_only():
    import asyncio

    from tcplab.render.diagram import viz

    assert not viz.in_browser() and not viz.available()
    with pytest.raises(RuntimeError, match="for a web page"):
        asyncio.run(viz.load())
    with pytest.raises(RuntimeError, match=r"await viz.load\(\)"):
        viz.render("digraph { a -> b }")
