"""The ladder (sequence) diagram draws what the run did -- checked on its records, not pixels.

``ladder()`` returns a matplotlib Figure whose ``drawn`` list records every arrow, cross,
state box, timer, TIME-WAIT span and time-axis break, with the times and paper positions
used; the tests compare those records with the Network's history and packets.
"""

from __future__ import annotations

import io
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import cli_command

from tcplab.render.ladder_diagram import LadderView, ladder, ladder_png, save_ladder
from tcplab.network import Network
from tcplab.states import TcpState

ROOT = Path(__file__).resolve().parents[1]
ISN = {"client": 100, "server": 300}


# ------------------------------------------------------------------------- runs -----------


cli_ladder = cli_command('ladder')

def handshake(**kw) -> Network:
    net = Network(isn=ISN, **kw)
    net.listen("server")
    net.connect("client")
    net.run()
    return net


def full_life() -> Network:
    """Handshake, data, teardown with the client closing first, 2*MSL expiry."""
    net = handshake()
    net.send("client", "hello")
    net.run()
    net.recv("server")                 # read before close(): unread data would mean RST
    net.close("client")
    net.settle()
    net.close("server")
    net.run()
    return net


def simultaneous_open() -> Network:
    net = Network(isn=ISN)
    net.connect("client")
    net.connect("server")
    net.run()
    return net


def simultaneous_close() -> Network:
    net = handshake()
    net.close("client")
    net.close("server")
    net.run()
    return net


def lost_final_ack() -> Network:
    net = handshake()
    net.close("client")
    net.settle()
    net.close("server")
    net.deliver()                       # the server's FIN reaches the client
    net.drop(net.find("client", "ACK").id)
    net.run()
    return net


def lost_syn() -> Network:
    net = Network(isn=ISN)
    net.listen("server")
    net.connect("client")
    net.drop(net.find("client", "SYN").id)
    net.run()
    return net


ALL_RUNS = [full_life, simultaneous_open, simultaneous_close, lost_final_ack, lost_syn]


def all_packets(net: Network):
    return sorted([p for p, _ in net.delivered] + net.lost + net.in_flight,
                  key=lambda p: (p.sent_at, p.id))


# ------------------------------------------------------------------------- arrows ---------
@pytest.mark.parametrize("make", ALL_RUNS, ids=lambda f: f.__name__)
def test_one_arrow_per_packet_in_send_order_at_the_right_times(make):
    net = make()
    fig = ladder(net)
    segs = fig.drawn.segments
    packets = all_packets(net)
    assert [m.packet for m in segs] == [p.id for p in packets]
    tm = fig.drawn.layout.tm
    x_of = dict(zip(net.names, fig.drawn.layout.x_line))
    arrived = {p.id: t for p, t in net.delivered}
    for m, p in zip(segs, packets):
        assert (m.actor, m.peer) == (p.src, p.dst)
        assert m.t0 == pytest.approx(p.sent_at)
        assert m.xy0 == pytest.approx((x_of[p.src], tm.y(p.sent_at)))
        if p.id in arrived:
            assert m.status == "delivered"
            assert m.t1 == pytest.approx(arrived[p.id])
            assert m.xy1 == pytest.approx((x_of[p.dst], tm.y(arrived[p.id])))
        # time flows down: every arrow ends no higher than it starts
        assert m.xy1[1] >= m.xy0[1]
    # and each has a gid'd line artist in the figure
    gids = {a.get_gid() for a in fig.axes[0].get_children()}
    assert {f"seg-{p.id}" for p in packets} <= gids


def test_labels_in_every_style():
    net = full_life()
    packets = all_packets(net)
    for style, fmt in (("rfc", lambda s: s.rfc()), ("tcpdump", lambda s: s.tcpdump()),
                       ("short", lambda s: s.label())):
        segs = ladder(net, style=style).drawn.segments
        assert [m.text for m in segs] == [fmt(p.segment) for p in packets]
    assert ladder(net).drawn.segments[0].text == "<SEQ=100><CTL=SYN>"
    assert ladder(net, style="tcpdump").drawn.segments[1].text == "[S.] seq 300 ack 101"
    data = [m for m in ladder(net).drawn.segments if "DATA" in m.text]
    assert data and data[0].text == "<SEQ=101><ACK=301><CTL=PSH,ACK><DATA=5>"
    with pytest.raises(ValueError, match="style"):
        ladder(net, style="fancy")


def _crossing_pairs(drawn):
    """Opposite-direction arrows whose drawn lines really intersect on paper."""
    def intersect(a, b):
        (x1, y1), (x2, y2) = a.xy0, a.xy1
        (x3, y3), (x4, y4) = b.xy0, b.xy1
        d = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
        if d == 0:
            return False
        t = ((x1 - x3) * (y3 - y4) - (y1 - y3) * (x3 - x4)) / d
        u = -((x1 - x2) * (y1 - y3) - (y1 - y2) * (x1 - x3)) / d
        return 0 < t < 1 and 0 < u < 1
    segs = drawn.segments
    return {(a.packet, b.packet) for i, a in enumerate(segs) for b in segs[i + 1:]
            if a.actor != b.actor and intersect(a, b)}


def test_simultaneous_close_fins_cross_like_rfc_figure_13():
    net = simultaneous_close()
    drawn = ladder(net).drawn
    fins = [m for m in drawn.segments if "FIN" in m.text]
    assert len(fins) == 2 and fins[0].actor != fins[1].actor
    a, b = fins
    # time intervals overlap, in opposite directions ...
    assert a.t0 < b.t1 and b.t0 < a.t1
    assert (a.packet, b.packet) in drawn.crossings()
    # ... so the drawn arrows intersect in an X
    assert (a.packet, b.packet) in _crossing_pairs(drawn)
    # the ACKs of the FINs cross too; nothing else does
    assert len(drawn.crossings()) == 2
    assert set(drawn.crossings()) == _crossing_pairs(drawn)


def test_simultaneous_open_syns_cross_like_rfc_figure_7():
    drawn = ladder(simultaneous_open()).drawn
    syns = [m for m in drawn.segments if m.text.endswith("<CTL=SYN>")]
    assert len(syns) == 2
    assert (syns[0].packet, syns[1].packet) in _crossing_pairs(drawn)


def test_ordinary_handshake_has_no_crossing():
    drawn = ladder(full_life()).drawn
    assert drawn.crossings() == [] and _crossing_pairs(drawn) == set()


@pytest.mark.parametrize("make", ALL_RUNS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("style", ["rfc", "tcpdump", "short"])
def test_labels_do_not_overlap_each_other_or_cross_other_arrows(make, style):
    lay = ladder(make(), style=style).drawn.layout
    arrows = list(lay.arrows.values())
    for i, a in enumerate(arrows):
        assert a.label_rect is not None
        for b in arrows[i + 1:]:
            assert not a.label_rect.overlaps(b.label_rect), (a.label, b.label)
        for b in arrows:
            if b is not a:
                end = 0.5 if b.pkt.lost_step is not None else 1.0
                p, q = b.path(lay.tm, end)
                assert a.label_rect.cut(p, q) == 0, (a.label, "crosses", b.label)
        # and stays between the two timelines
        x0, _, x1, _ = a.label_rect.extent()
        assert lay.x_line[0] < x0 and x1 < lay.x_line[1]


def test_long_labels_with_random_isns_still_fit_in_a_crossing():
    net = Network(seed=3)               # ten-digit ISNs: long RFC labels
    net.listen("server"); net.connect("client"); net.run()
    net.close("client"); net.close("server"); net.run()
    lay = ladder(net).drawn.layout
    rects = [a.label_rect for a in lay.arrows.values()]
    assert not any(r.overlaps(s) for i, r in enumerate(rects) for s in rects[i + 1:])
    assert any("\n" in a.label_text for a in lay.arrows.values())  # folded where needed


# ------------------------------------------------------------------------- losses etc -----
def test_lost_segment_ends_in_a_cross_and_the_retransmission_is_dashed():
    net = lost_final_ack()
    drawn = ladder(net).drawn
    (lost_pkt,) = net.lost
    seg = drawn.segment(lost_pkt.id)
    assert seg.status == "lost"
    # the line stops partway, where the cross is
    (cross,) = drawn.of("lost")
    assert cross.packet == lost_pkt.id and cross.xy0 == pytest.approx(seg.xy1)
    x_from, x_to = drawn.layout.x_line
    assert x_from < seg.xy1[0] < x_to
    assert lost_pkt.sent_at < seg.t1 < lost_pkt.arrive_at
    retx = [m for m in drawn.segments if "retx" in m.tags]
    assert len(retx) == 1 and "FIN" in retx[0].text and retx[0].actor == "server"
    assert retx[0].text.startswith("retx")
    assert retx[0].line == "dashed"
    assert all(m.line == "solid" for m in drawn.segments if m is not retx[0])
    # the RTO firing is marked, and so is the 2MSL restart in TIME-WAIT
    timers = drawn.of("timer")
    assert [(m.actor, m.text) for m in timers] == [("server", "RTO: retransmit"),
                                                   ("client", "2MSL expired")]
    assert [m.actor for m in drawn.of("restart")] == ["client"]


def test_lost_syn_is_retransmitted_after_the_rto():
    net = lost_syn()
    drawn = ladder(net).drawn
    segs = drawn.segments
    assert [m.status for m in segs] == ["lost", "delivered", "delivered", "delivered"]
    assert "retx" in segs[1].tags and segs[1].t0 == pytest.approx(1.0)
    assert [m.text for m in drawn.of("timer")] == ["RTO: retransmit"]
    # the idle second before the RTO is compressed, with a visible break
    (brk,) = drawn.of("break")
    assert brk.text.startswith("\u2248 ") and brk.text.endswith(" s later")


def test_duplicates_and_delays_are_tagged():
    net = handshake()
    net.send("server", "balance=100")
    pkt = net.find("server", "DATA")
    net.duplicate(pkt.id, 1.5)
    net.run()
    drawn = ladder(net).drawn
    dups = [m for m in drawn.segments if any(t.startswith("dup") for t in m.tags)]
    assert len(dups) == 1 and dups[0].tags == (f"dup #{pkt.id}",) and dups[0].line == "dashdot"
    assert dups[0].t0 == pytest.approx(pkt.sent_at)
    assert dups[0].t1 == pytest.approx(pkt.arrive_at + 1.5)

    net = handshake()
    net.send("client", "x")
    net.delay(net.find("client", "DATA").id, 0.5)
    net.run()
    assert any("delayed" in m.tags for m in ladder(net).drawn.segments)


def test_packets_in_flight_are_drawn_dotted_up_to_now():
    net = Network(isn=ISN, latency=0.1)
    net.listen("server")
    net.connect("client")
    net.run(until=0.05)                  # the SYN is halfway
    drawn = ladder(net).drawn
    (seg,) = drawn.segments
    assert seg.status == "in-flight" and seg.t1 == pytest.approx(0.05)
    x0, x1 = drawn.layout.x_line
    assert seg.xy1[0] == pytest.approx((x0 + x1) / 2)
    assert seg.line == "dotted"
    assert drawn.of("now") and drawn.of("now")[0].t0 == pytest.approx(0.05)


# ------------------------------------------------------------------------- states, timers -
@pytest.mark.parametrize("make", ALL_RUNS, ids=lambda f: f.__name__)
def test_state_labels_where_the_state_changes(make):
    net = make()
    drawn = ladder(net).drawn
    tm = drawn.layout.tm
    for name in net.names:
        want = [(s.time, str(s.after)) for s in net.history
                if s.actor == name and s.after is not s.before]
        got = [(m.t0, m.text) for m in drawn.of("state")
               if m.actor == name and m.status == ""]
        assert got == [(pytest.approx(t), st) for t, st in want]
        for m in drawn.of("state"):
            if m.actor == name and m.status == "":
                assert m.xy1[1] == pytest.approx(tm.y(m.t0))     # anchored at its time
        initial = [m for m in drawn.of("state") if m.actor == name and m.status == "initial"]
        assert [m.text for m in initial] == ["CLOSED"]
    calls = [(m.actor, m.text) for m in drawn.of("call")]
    assert ("client", "connect()") in calls


def test_user_calls_marked():
    drawn = ladder(full_life()).drawn
    assert [(m.actor, m.text) for m in drawn.of("call")] == [
        ("server", "listen()"), ("client", "connect()"), ("client", "send(5 B)"),
        ("server", "recv()"), ("client", "close()"), ("server", "close()")]


def test_time_wait_span_and_broken_time_axis():
    net = full_life()
    drawn = ladder(net).drawn
    (tw,) = drawn.of("time-wait")
    enter = next(s for s in net.history if s.after is TcpState.TIME_WAIT)
    expire = net.history[-1]
    assert expire.event == "timeout = 2*MSL" and expire.before is TcpState.TIME_WAIT
    assert tw.actor == "client" and tw.status == "done"
    assert (tw.t0, tw.t1) == (pytest.approx(enter.time), pytest.approx(expire.time))
    assert tw.t1 - tw.t0 == pytest.approx(net.config.time_wait_duration)
    assert "2\u00b7MSL = 240 s" in tw.text
    assert [m.text for m in drawn.of("timer")] == ["2MSL expired"]
    # 240 s of waiting is one short break, so the picture stays readable
    (brk,) = drawn.of("break")
    assert brk.text == "\u2248 239.9 s later"
    lay = drawn.layout
    assert lay.height < 13                        # inches, for 240.8 s of run
    handshake_in = lay.tm.y(0.3) - lay.tm.y(0.0)
    assert handshake_in == pytest.approx(3 * 0.9)  # 0.9 in per latency, uncompressed
    assert lay.tm.y(240.8) - lay.tm.y(0.9) < 2.0


def test_time_wait_restart_and_early_end_are_told():
    drawn = ladder(lost_final_ack()).drawn
    (tw,) = drawn.of("time-wait")
    assert "restarted" in tw.text and tw.tags == ("restart@1.6",)
    net = handshake()
    net.close("client"); net.settle(); net.close("server"); net.settle()
    assert net.state("client") is TcpState.TIME_WAIT
    drawn = ladder(net).drawn                 # the 2*MSL timer is still running
    (tw,) = drawn.of("time-wait")
    assert tw.status == "running" and tw.t1 == pytest.approx(net.timers()[0][2])


# ------------------------------------------------------------------------- upto= ----------
def test_upto_draws_a_prefix_on_the_same_axes():
    net = lost_final_ack()
    full = ladder(net)
    ylim = full.axes[0].get_ylim()
    n = len(net.history)
    for k in range(-1, n):
        fig = ladder(net, upto=k)
        assert fig.axes[0].get_ylim() == ylim
        assert tuple(fig.get_size_inches()) == tuple(full.get_size_inches())
        drawn = fig.drawn
        sent = [pid for s in net.history[:k + 1] for pid in s.packets]
        assert sorted(m.packet for m in drawn.segments) == sorted(sent)
        now = net.history[k].time if k >= 0 else 0.0
        assert drawn.now == pytest.approx(now)
        for m in drawn.segments:
            assert m.t1 <= now + net.latency + 1e-9 or m.status == "lost"
        states = [m for m in drawn.of("state") if m.status == ""]
        assert len(states) == sum(1 for s in net.history[:k + 1]
                                  if s.after is not None and s.after is not s.before)
    # after the drop the packet is lost; before, in flight
    drop = next(i for i, s in enumerate(net.history) if s.event.startswith("drop"))
    pid = net.history[drop].packet
    assert ladder(net, upto=drop).drawn.segment(pid).status == "lost"
    assert ladder(net, upto=drop - 1).drawn.segment(pid).status == "in-flight"
    # a label sits where the full picture has it: the picture does not jump
    assert (ladder(net, upto=drop).drawn.segment(pid).label_xy
            == full.drawn.segment(pid).label_xy)
    with pytest.raises(ValueError, match="upto"):
        ladder(net, upto=n)


def test_ladder_view_for_stepping_widgets():
    net = simultaneous_close()
    view = LadderView(net, style="tcpdump")
    assert len(view) == len(net.history)
    fig = view.figure(4)
    assert len(fig.drawn.segments) == 3
    assert view.figure(len(view) - 1) is fig          # one figure, redrawn
    assert len(fig.drawn.segments) == 7
    png = view.png(5)
    assert png.startswith(b"\x89PNG") and view.png(5) is png      # memoised


# ------------------------------------------------------------------------- inputs, export -
def test_history_alone_gives_the_same_picture():
    net = lost_final_ack()
    a = ladder(net).drawn
    b = ladder(net.history).drawn
    key = lambda d: [(m.kind, m.gid, m.text, m.t0, m.t1, m.status, m.tags) for m in d]
    assert key(a) == key(b)


def test_draws_into_a_given_axes():
    from matplotlib.figure import Figure
    fig = Figure(figsize=(12, 5))
    ax = fig.add_subplot(1, 2, 2)
    out = ladder(simultaneous_close(), ax=ax, style="short")
    assert out is fig and ax.drawn is fig.drawn and len(fig.drawn.segments) == 7
    fig.savefig(io.BytesIO(), format="png")


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml"),
                                          (".pdf", b"%PDF-")])
def test_export_by_suffix(tmp_path, suffix, magic):
    path = save_ladder(lost_final_ack(), tmp_path / f"ladder{suffix}")
    data = path.read_bytes()
    assert data.startswith(magic) and len(data) > 5000
    if suffix == ".png":
        from PIL import Image
        with Image.open(path) as im:
            im.verify()
    if suffix == ".svg":
        root = ET.fromstring(data)
        ids = {el.get("id") for el in root.iter()}
        assert {"seg-1", "label-1", "seg-8"} <= ids   # arrows keep their gids in SVG
    with pytest.raises(ValueError, match="png"):
        save_ladder(lost_final_ack(), tmp_path / "ladder.gif")


def test_png_bytes():
    png = ladder_png(full_life())
    assert png.startswith(b"\x89PNG")


def test_cli(tmp_path, capsys):
    out = tmp_path / "sc.png"
    assert cli_ladder(["simultaneous-close", "-o", str(out), "--rfc-isn", "--dpi", "60"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    assert str(out) in capsys.readouterr().out
    assert cli_ladder(["no-such-scenario", "-o", str(out)]) == 2


def test_python_dash_m_tcplab_ladder(tmp_path):
    out = tmp_path / "x.svg"
    r = subprocess.run([sys.executable, "-m", "tcplab", "ladder", "simultaneous-close",
                        "-o", str(out), "--style", "tcpdump"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert b"<svg" in out.read_bytes()


def test_import_stays_light():
    code = ("import sys, tcplab, tcplab.network, tcplab.render.ladder_diagram\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported too early'\n"
            "import tcplab.render.ladder_diagram as L\n"
            "from tcplab.network import Network\n"
            "n = Network(); n.listen('server'); n.connect('client'); n.run()\n"
            "L.ladder(n)\n"
            "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr


def test_zero_latency_gives_every_step_its_own_row():
    net = Network(isn=ISN, latency=0)
    net.listen("server"); net.connect("client"); net.run()
    drawn = ladder(net).drawn
    ys = [m.xy0[1] for m in drawn.segments]
    assert len(ys) == 3 and ys == sorted(ys) and len(set(ys)) == 3   # not all on one line
    assert drawn.layout.time_text(drawn.segments[-1].t0) == "0.0"    # the real time


def test_png_is_what_matplotlib_draws():
    """ladder_png goes through savefig (no private renderer tricks) and is memoised; the
    picture must be what matplotlib draws for the figure."""
    import numpy as np
    from PIL import Image
    net = lost_final_ack()
    png = ladder_png(net, dpi=80)
    assert ladder_png(net, dpi=80) is png                  # memoised: drawn once
    a = np.asarray(Image.open(io.BytesIO(png)).convert("L"), int)
    buf = io.BytesIO()
    ladder(net).savefig(buf, format="png", dpi=80, facecolor="white")
    b = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"), int)
    assert a.shape == b.shape
    diff = np.abs(a - b)
    assert (diff > 96).sum() < 0.0005 * diff.size    # sub-pixel glyph placement only
    assert diff.mean() < 0.5
    # a step of the same run is another picture, and a changed run is redrawn
    assert ladder_png(net, dpi=80, upto=3) != png
    net.listen("server")
    assert ladder_png(net, dpi=80) != png


# ------------------------------------------------------------------------- the pieces -----
def test_layout_and_marks_are_pure():
    """history -> layout -> marks needs no matplotlib; the marks are what the figure shows."""
    code = (
        "import sys\n"
        "from tcplab import scenarios\n"
        "from tcplab.render.ladder_diagram.history import collect\n"
        "from tcplab.render.ladder_diagram.layout import LadderLayout\n"
        "from tcplab.render.ladder_diagram.marks import draw_marks\n"
        "run = collect(scenarios.get('lost-final-ack').run(), None, None, None)\n"
        "lay = LadderLayout(run)\n"
        "d = draw_marks(lay, run, len(run.history) - 1, False)\n"
        "assert 'matplotlib' not in sys.modules\n"
        "print([m.status for m in d.segments].count('lost'), len(d.ops.texts))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    lost, texts = map(int, r.stdout.split())
    assert lost == 1 and texts > 20
    # the figure draws exactly the marks' texts, with their gids
    fig = ladder(lost_final_ack())
    drawn = fig.drawn
    assert len(fig.axes[0].texts) == len(drawn.ops.texts)
    for m in drawn.segments:
        assert m.artists[0].get_gid() == f"seg-{m.packet}"
        assert [a.get_gid() for a in m.artists[1:]] in ([], [f"label-{m.packet}"])
    for m in drawn.of("state"):
        assert m.artists[0].get_text() == m.text


def test_calls_and_timers_come_from_the_typed_step_fields():
    from tcplab.render.words import call_text, rfc_words, timer_text
    net = lost_syn()
    timers = [s for s in net.history if s.kind == "timer"]
    assert timers and all(s.timer == "retransmission" for s in timers)
    assert [timer_text(s) for s in timers][0] == "RTO: retransmit"
    assert rfc_words(timers[0]) == "retransmission timeout"
    calls = [s for s in full_life().history if s.kind == "call"]
    assert [call_text(s) for s in calls][:3] == ["listen()", "connect()", "send(5 B)"]
    assert [rfc_words(s) for s in calls][:3] == ["passive OPEN", "active OPEN", "SEND 5 bytes"]
    # the ladder says what the fields say, whatever the display text of the events
    net = lost_final_ack()
    expected = [(m.kind, m.text, m.status, m.line) for m in ladder(net).drawn]
    for s in net.history:
        s.event = "(display text only)"
    from tcplab.render.ladder_diagram import figures
    figures._LAYOUTS.clear()                    # lay the run out again from its steps
    assert [(m.kind, m.text, m.status, m.line) for m in ladder(net).drawn] == expected


def test_doctests_of_the_ladder_modules():
    import doctest
    import importlib
    tried = 0
    for m in ("", ".history", ".geometry", ".layout", ".marks", ".mpl", ".figures"):
        res = doctest.testmod(importlib.import_module(f"tcplab.render.ladder_diagram{m}"))
        assert res.failed == 0, m
        tried += res.attempted
    assert tried >= 8
