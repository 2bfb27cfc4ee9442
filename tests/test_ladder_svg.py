"""The ladder as SVG (what the widgets show) is the matplotlib ladder (what files get).

Both draw the same display list; these tests parse the SVG and check, mark by mark, that
every text and every packet's line of the matplotlib figure is in the SVG with the same
words, position, angle, colour and size -- and that the SVG path needs no matplotlib.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.text import Text

from tcplab import scenarios
from tcplab.render.ladder_diagram import ladder, ladder_svg

ROOT = Path(__file__).resolve().parents[1]
NS = {"s": "http://www.w3.org/2000/svg"}
ISN = {"client": 100, "server": 300}
CASES = ["handshake", "lost-final-ack", "simultaneous-close", "simultaneous-open"]


def parse(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return {el.get("id"): el for el in root.iter() if el.get("id")}


def text_of(el: ET.Element) -> str:
    spans = el.findall("s:tspan", NS)
    return "\n".join(t.text or "" for t in spans) if spans else (el.text or "")


def run_of(name: str):
    if name not in scenarios.names():
        pytest.skip(f"no scenario {name}")
    return scenarios.get(name).run(isn=ISN)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("upto", [None, 2, "last-1"])
def test_every_mark_of_the_matplotlib_ladder_is_in_the_svg_at_the_same_place(name, upto):
    net = run_of(name)
    if upto == "last-1":
        upto = len(net.history) - 2
    fig = ladder(net, upto=upto, style="tcpdump")
    by_id = parse(ladder_svg(net, upto=upto, style="tcpdump"))
    checked = 0
    for mark in fig.drawn:
        for artist in mark.artists:
            gid = artist.get_gid()
            if gid is None:
                continue
            assert gid in by_id, f"{mark.kind} {gid} is drawn by matplotlib, not in the SVG"
            el = by_id[gid]
            assert el.get("class") == f"ladder-{mark.kind}"
            if isinstance(artist, Text):
                assert el.tag.endswith("text")
                assert text_of(el) == artist.get_text()
                x, y = artist.get_position()
                assert float(el.get("x")) == pytest.approx(x * 72, abs=0.01)
                assert float(el.get("y")) == pytest.approx(y * 72, abs=0.01)
                assert el.get("fill").lower() == to_hex(artist.get_color())
                assert float(el.get("font-size")) == pytest.approx(artist.get_fontsize())
                rot = artist.get_rotation()
                assert ("rotate" in (el.get("transform") or "")) == (rot % 360 > 1e-6)
            else:
                assert isinstance(artist, Line2D)
                pts = [tuple(map(float, p.split(","))) for p in el.get("points").split()]
                want = [(x * 72, y * 72) for x, y in zip(artist.get_xdata(), artist.get_ydata())]
                assert len(pts) == len(want)
                assert [c for p in pts for c in p] == pytest.approx(
                    [c for p in want for c in p], abs=0.01)
                assert el.get("stroke").lower() == to_hex(artist.get_color())
            checked += 1
    assert checked >= 8
    # and nothing more was given an id than matplotlib drew
    mpl_ids = {a.get_gid() for m in fig.drawn for a in m.artists if a.get_gid()}
    assert set(by_id) == mpl_ids


def test_the_svg_shows_only_the_steps_up_to_upto_on_the_scale_of_the_whole_run():
    net = run_of("lost-final-ack")
    whole, first = ladder_svg(net), ladder_svg(net, upto=0)
    root_w, root_0 = ET.fromstring(whole), ET.fromstring(first)
    assert root_w.get("viewBox") == root_0.get("viewBox")
    assert root_w.get("data-upto") == "all" and root_0.get("data-upto") == "0"
    assert "seg-1" not in parse(first) and "seg-1" in parse(whole)
    assert parse(whole)["lost-" + next(i for i in parse(whole)
                                       if i.startswith("lost-"))[5:]].text == "lost"


def test_segment_lines_keep_their_dash_patterns_and_lost_segments_their_cross():
    net = run_of("lost-final-ack")
    fig = ladder(net)
    by_id = parse(ladder_svg(net))
    for m in fig.drawn.segments:
        el = by_id[m.gid]
        assert (el.get("stroke-dasharray") is None) == (m.line == "solid"), m
    assert 'class="ladder-lost"' in ladder_svg(net)


#: The narrowest a widget is on a common laptop: 1366 x 768, JupyterLab's file browser open.
LAPTOP_PX = 900


@pytest.mark.parametrize("name", sorted(scenarios.names()))
def test_the_widgets_narrower_ladder_stays_legible_on_a_laptop(name):
    """``screen=True`` (the widgets): the same marks on a narrower paper, so at a laptop
    notebook's width no text is under 11 px; the files' paper keeps its 9.5-10 in."""
    net = scenarios.get(name).run(isn=ISN)
    wide, narrow = ladder_svg(net, upto=len(net.history) - 2), \
        ladder_svg(net, upto=len(net.history) - 2, screen=True)
    w_wide = float(ET.fromstring(wide).get("viewBox").split()[2]) / 72
    root = ET.fromstring(narrow)
    w_narrow = float(root.get("viewBox").split()[2])
    # hosts with sockets widen the files' columns for their ports (up to 11.5 in)
    from tcplab.sockets import SocketNetwork
    most = 11.5 if isinstance(net, SocketNetwork) else 10.2
    assert 9.4 <= w_wide <= most and w_narrow / 72 <= 8.0
    assert set(parse(narrow)) == set(parse(wide))
    smallest = min(float(t.get("font-size")) for t in root.iter(f"{{{NS['s']}}}text"))
    assert smallest * LAPTOP_PX / w_narrow >= 11, (name, smallest, w_narrow)


def test_bad_arguments_are_named():
    net = run_of("handshake")
    with pytest.raises(ValueError, match="style is one of"):
        ladder_svg(net, style="fancy")
    with pytest.raises(ValueError, match="upto is a step index"):
        ladder_svg(net, upto=99)
    with pytest.raises(TypeError):
        ladder_svg(42)


def test_texts_are_escaped_and_the_title_is_drawn():
    svg = ladder_svg(run_of("handshake"), title="A <b>handshake</b> & more")
    assert "A &lt;b&gt;handshake&lt;/b&gt; &amp; more" in svg
    ET.fromstring(svg)          # well-formed with rfc-style labels "<SEQ=100>"


def test_the_svg_ladder_needs_no_matplotlib():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'matplotlib':\n"
        "            raise ImportError('matplotlib is made unimportable for this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from tcplab import scenarios\n"
        "from tcplab.render.ladder_diagram import ladder_svg\n"
        "net = scenarios.get('lost-final-ack').run()\n"
        "svg = ladder_svg(net, upto=3)\n"
        "assert 'id=\"seg-1\"' in svg, svg[:200]\n"
        "assert not any(m.startswith('matplotlib') for m in sys.modules)\n"
        "try:\n"
        "    import matplotlib\n"
        "except ImportError:\n"
        "    print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
