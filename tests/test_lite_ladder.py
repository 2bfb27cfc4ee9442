"""The ladder where matplotlib is missing (a JupyterLite page): ``ladder()`` returns the SVG
picture (tcplab.render.ladder_diagram.svg_figure), the same marks as the matplotlib figure."""

from __future__ import annotations

import sys

import pytest

from tcplab import scenarios
from tcplab.render import ladder, save_ladder
from tcplab.render.ladder_diagram import SvgLadder, ladder_png, ladder_svg

ISN = {"client": 100, "server": 300}


@pytest.fixture
def no_matplotlib(monkeypatch):
    """``import matplotlib`` fails, as in Pyodide."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def _marks(drawn):
    return [(m.kind, m.text, m.gid) for m in drawn]


@pytest.mark.parametrize("name,upto", [("handshake", None), ("lost-final-ack", 3),
                                        ("simultaneous-close", None)])
def test_without_matplotlib_ladder_is_the_svg_picture(name, upto, monkeypatch):
    net = scenarios.get(name).run(isn=ISN)
    pytest.importorskip("matplotlib")
    fig = ladder(net, upto=upto, style="tcpdump")            # matplotlib's figure
    expected = _marks(fig.drawn)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    pic = ladder(net, upto=upto, style="tcpdump")
    assert isinstance(pic, SvgLadder)
    assert _marks(pic.drawn) == expected
    assert pic.svg == ladder_svg(net, upto=upto, style="tcpdump")
    assert pic._repr_svg_() is pic.svg


def test_without_matplotlib_files_are_svg_and_png_says_why(no_matplotlib, tmp_path):
    net = scenarios.get("handshake").run(isn=ISN)
    out = save_ladder(net, tmp_path / "h.svg")
    assert out.read_text().startswith('<svg class="tcplab-ladder"')
    with pytest.raises(ValueError, match="saving the ladder as 'png' needs matplotlib"):
        save_ladder(net, tmp_path / "h.png")
    with pytest.raises(ImportError, match="ladder_png .* needs matplotlib"):
        ladder_png(net)


def test_bad_arguments_are_named_without_matplotlib(no_matplotlib):
    net = scenarios.get("handshake").run(isn=ISN)
    with pytest.raises(ValueError, match="style is one of"):
        ladder(net, style="fancy")
    with pytest.raises(ValueError, match="upto is a step index"):
        ladder(net, upto=99)
