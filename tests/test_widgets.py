"""The stepping widgets, driven in Python as a learner's clicks would drive them.

Every expectation is read from the model's step records (``Network.history``,
``Endpoint.allowed_calls()``, ``Network.in_flight``), never written out by hand, so these
tests check that the widgets *show* the model -- not a second copy of its logic.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

from tcplab import scenarios  # noqa: E402
from tcplab.exercises.checks import check_prediction, expected_states, prediction_choices  # noqa: E402
from tcplab.endpoint import CALLS, SOCKET_CALLS  # noqa: E402
from tcplab.network import WIRE, Network  # noqa: E402
from tcplab.render.ladder_diagram.history import collect  # noqa: E402
from tcplab.states import TcpState  # noqa: E402
from tcplab.ui import Explorer, Stepper, explorer, stepper  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SVG_NS = "{http://www.w3.org/2000/svg}"


# ----------------------------------------------------------------------------- helpers ----

def classes(w) -> set[str]:
    return set(w._dom_classes)


def text_of(html_value: str) -> str:
    """The visible text of an HTML widget value (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", html_value))


def norm(s: str) -> str:
    return " ".join(s.split())


def highlighted(view) -> dict[str, str]:
    """Endpoint -> state name of the diagram node carrying class current-<endpoint>."""
    root = ET.fromstring(view.diagram.value)
    out = {}
    for g in root.iter(SVG_NS + "g"):
        for c in (g.get("class") or "").split():
            if c.startswith("current-"):
                out[c[len("current-"):]] = g.get("data-state")
    return out


def expected_after(net: Network, k: int) -> dict[str, TcpState]:
    """States after the first k steps, from the step records."""
    return dict(net.history[k - 1].states) if k else {n: TcpState.CLOSED for n in net.names}


def check_view_matches(view, net: Network, k: int) -> None:
    states = expected_after(net, k)
    assert highlighted(view) == {n: s.name for n, s in states.items()}
    for n, s in states.items():
        badge = norm(text_of(view.badges[n].value))
        assert f"{n} {s.rfc}" in badge
        assert f"ss {s.ss}" in badge and f"netstat {s.netstat}" in badge
        assert f"SNMP {s.mib_name}({s.mib})" in badge
    # the ladder is SVG with real text, showing exactly the packets sent by step k
    ladder = ladder_root(view)
    assert ladder.get("class") == "tcplab-ladder"
    sent = {f"seg-{p.id}" for p in collect(net, None, None, None).packets.values()
            if p.sent_step < k}
    drawn = {g.get("id") for g in ladder.iter() if (g.get("id") or "").startswith("seg-")}
    assert drawn == sent
    if k:
        step = net.history[k - 1]
        explain = norm(text_of(view.explain.value))
        assert norm(step.explanation) in explain
        assert step.rfc.split(" §")[0] in explain
        for seg in step.sent:
            assert seg.rfc() in explain and seg.tcpdump() in explain
        assert f"t = {step.time:.3f} s" in text_of(view.clock.value)


def ladder_root(view) -> ET.Element:
    """The ladder's <svg> inside its frame."""
    frame = ET.fromstring(view.ladder.value)
    assert "tl-frame-ladder" in frame.get("class")
    return frame.find(SVG_NS + "svg")


def visible(w) -> bool:
    return w.layout.display != "none"


# ----------------------------------------------------------------------------- import -----

def test_import_tcplab_does_not_import_ipywidgets():
    code = ("import sys, tcplab, tcplab.exercises.checks; "
            "assert 'ipywidgets' not in sys.modules, 'ipywidgets imported'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "ok"


# ----------------------------------------------------------------------------- stepper ----

def test_stepper_api_and_css_classes():
    s = stepper("handshake")
    assert isinstance(s, Stepper)
    assert set(s.buttons) == {"step", "back", "reset", "play"}
    for name, cls in [("step", "t-step"), ("back", "t-back"), ("reset", "t-reset"),
                      ("play", "t-play")]:
        assert cls in classes(s.buttons[name])
    assert "t-slider" in classes(s.slider)
    assert "t-diagram" in classes(s.view.diagram)
    assert "t-ladder" in classes(s.view.ladder)
    assert "t-explain" in classes(s.view.explain)
    assert "t-clock" in classes(s.view.clock)
    assert "t-error" in classes(s.error)
    assert {"t-badge-client"} <= classes(s.view.badges["client"])
    assert {"t-badge-server"} <= classes(s.view.badges["server"])
    assert "t-predict" in classes(s.predict_box)
    assert s.index == 0 and s.slider.max == len(s.history)


def test_stepper_buttons_walk_the_whole_run():
    s = stepper("simultaneous-close")
    net = s.net
    check_view_matches(s.view, net, 0)
    assert s.buttons["back"].disabled and s.buttons["reset"].disabled
    for k in range(1, len(net.history) + 1):
        s.buttons["step"].click()
        assert s.index == k
        check_view_matches(s.view, net, k)
    assert s.buttons["step"].disabled
    s.buttons["step"].click()                       # at the end: nothing happens
    assert s.index == len(net.history)
    s.buttons["back"].click()
    assert s.index == len(net.history) - 1
    check_view_matches(s.view, net, s.index)
    s.buttons["reset"].click()
    assert s.index == 0
    check_view_matches(s.view, net, 0)


def test_stepper_slider_and_goto_jump():
    s = stepper("teardown-client-first")
    net = s.net
    s.slider.value = 7
    check_view_matches(s.view, net, 7)
    s.goto(3)
    assert s.slider.value == 3
    check_view_matches(s.view, net, 3)
    s.goto(len(net.history))
    check_view_matches(s.view, net, len(net.history))
    with pytest.raises(ValueError):
        s.goto(len(net.history) + 1)


def test_diagram_marks_the_edge_just_taken():
    s = stepper("handshake")
    for k in range(1, len(s.history) + 1):
        s.goto(k)
        step = s.history[k - 1]
        root = ET.fromstring(s.view.diagram.value)
        taken = {g.get("id") for g in root.iter(SVG_NS + "g")
                 if f"taken-{step.actor}" in (g.get("class") or "").split()}
        assert {f"edge-{t.key}" for t in step.transitions} <= taken


# The socket-level stories (a host with many TCBs: badges with ss): tests/test_sockets_render.py.
@pytest.mark.parametrize("name", [n for n, sc in scenarios.SCENARIOS.items() if not sc.sockets])
def test_every_scenario_renders_start_middle_end(name):
    s = stepper(name)
    n = len(s.history)
    for k in sorted({0, n // 2, n}):
        s.goto(k)
        check_view_matches(s.view, s.net, k)
    assert not visible(s.error)


def test_stepper_of_a_network_uses_a_private_copy():
    net = scenarios.get("handshake").run()
    s = stepper(net)
    before = len(s.history)
    net.close("client")
    assert len(s.history) == before == s.slider.max
    s.goto(before)
    check_view_matches(s.view, s.net, before)


def test_time_wait_countdown_comes_from_the_step_timers():
    s = stepper("simultaneous-close")
    k = next(i + 1 for i, st in enumerate(s.history)
             if any(t == "time-wait" for _, t, _ in st.timers))
    s.goto(k)
    step = s.history[k - 1]
    clock = norm(text_of(s.view.clock.value))
    for name, timer, deadline in step.timers:
        if timer == "time-wait":
            left = deadline - step.time
            assert f"{name} TIME-WAIT (2·MSL)" in clock
            assert f"{left:.0f} s left" in clock or f"{left:.1f} s left" in clock
    assert "t = " in clock


def test_wire_steps_and_received_segments_are_explained():
    s = stepper("syn-lost")
    k = next(i + 1 for i, st in enumerate(s.history) if st.actor == WIRE)
    s.goto(k)
    step = s.history[k - 1]
    explain = norm(text_of(s.view.explain.value))
    assert norm(step.explanation) in explain
    assert "the wire" in explain
    s.goto(k + 1)                                   # the retransmission
    nxt = s.history[k]
    explain = norm(text_of(s.view.explain.value))
    assert all(seg.rfc() in explain for seg in nxt.sent)


def test_play_draws_every_step_even_at_4x():
    import asyncio

    async def run():
        s = stepper("lost-final-ack", prefetch=False)
        s.speed.value = 200                              # 4x
        s.shown.clear()
        s.buttons["play"].click()
        assert s.playing and "Pause" in s.buttons["play"].description
        while s.playing:
            await asyncio.sleep(0.05)
        assert s.index == s.n and "Play" in s.buttons["play"].description
        assert s.shown == list(range(1, s.n + 1))        # every step was drawn, in order
        assert ladder_root(s.view).get("data-upto") == str(s.n - 1)
        # pause stops it where it is; play at the end starts again from step 0
        s.buttons["play"].click()
        await asyncio.sleep(0.25)
        s.buttons["play"].click()
        assert not s.playing and 0 < s.index < s.n
        k = s.index
        await asyncio.sleep(0.5)
        assert s.index == k

    asyncio.run(run())


def test_play_outside_a_kernel_says_what_to_do():
    s = stepper("handshake")
    s.buttons["play"].click()
    assert "Play needs a notebook kernel" in s.error.value and not s.playing


def test_once_shown_a_step_redraws_only_the_picture_on_the_visible_tab():
    s = stepper("handshake")
    assert not s.view.lazy
    s._repr_mimebundle_()                          # what showing it in a notebook does
    assert s.view.lazy and s.view.visible == "ladder"
    tabs = s.main.children[0]
    diagram = s.view.diagram.value
    s.step(); s.step()
    assert s.view.diagram.value == diagram         # its tab is hidden: not redrawn yet
    ladder = s.view.ladder.value
    tabs.selected_index = 1                        # the learner opens the diagram's tab
    check_view_matches(s.view, s.net, 2)           # ... which shows step 2
    s.step()
    assert s.view.ladder.value == ladder           # now the ladder waits
    tabs.selected_index = 0
    check_view_matches(s.view, s.net, 3)
    e = explorer("handshake")
    e._repr_mimebundle_()
    e.challenge.value = True                       # the challenge's edges: on the diagram
    assert e.main.children[0].selected_index == 1 and " covered" in e.view.diagram.value
    s.coverage.value = True
    assert tabs.selected_index == 1 and " covered" in s.view.diagram.value


def test_stepper_tree_is_built_once():
    s = stepper("handshake")
    children, ladder, diagram = s.children, s.view.ladder, s.view.diagram
    first = ladder.value
    s.step(); s.step()
    assert s.children == children
    assert s.view.ladder is ladder and s.view.diagram is diagram
    assert ladder.value != first
    s.back(); s.back()
    assert ladder.value is first                   # the cached picture


# ------------------------------------------------------------------------- predict first --

def test_check_prediction_reads_the_step_records():
    for name, sc in scenarios.SCENARIOS.items():
        if sc.sockets:                # predictions name two TCBs; a host holds many
            continue
        net = sc.run()
        for step in net.history:
            truth = expected_states(step)
            assert check_prediction(step, truth)[0]
            if step.after is None:
                continue
            ok, msg = check_prediction(step, step.after)
            assert ok and msg.startswith("Right")
            assert step.after in prediction_choices(step)
            wrong = next(s for s in TcpState if s is not step.after)
            ok, msg = check_prediction(step, wrong.rfc)
            assert not ok and msg.startswith("Not quite") and step.after.rfc in msg
            ok, _ = check_prediction(step, {step.actor: step.after.netstat})
            assert ok


def test_check_prediction_rejects_nonsense_in_plain_words():
    step = scenarios.get("handshake").run().history[2]
    with pytest.raises(ValueError, match="not a TCP state"):
        check_prediction(step, "HALF-OPEN")
    with pytest.raises(ValueError, match="no endpoint"):
        check_prediction(step, {"alice": "LISTEN"})


def test_predict_mode_asks_then_reveals():
    s = stepper("handshake", predict=True)
    assert visible(s.predict_box)
    assert s.buttons["play"].disabled
    nxt = s.next_step
    shown = [st for st, b in s.choice_buttons.items() if visible(b)]
    assert shown == prediction_choices(nxt)
    assert s.buttons["step"].disabled              # predict first
    assert "t-predict-choice" in classes(s.choice_buttons[nxt.after])
    s.choice_buttons[nxt.after].click()            # the right answer
    assert s.index == 1
    assert "Right" in s.feedback.value and "score 1 of 1" in s.feedback.value
    nxt = s.next_step
    wrong = next(st for st in prediction_choices(nxt) if st is not nxt.after)
    s.choice_buttons[wrong].click()
    assert s.index == 2
    fb = text_of(s.feedback.value)
    assert "Not quite" in fb and nxt.after.rfc in fb and "score 1 of 2" in fb
    s.skip.click()                                 # "Show me": reveal without predicting
    assert s.index == 3 and s.score == [1, 2]
    ok, msg = s.predict(s.next_step.after)         # the Python API does the same
    assert ok and s.index == 4


def test_predict_mode_has_nothing_to_predict_on_a_wire_step():
    s = stepper("syn-lost", predict=True)
    k = next(i for i, st in enumerate(s.history) if st.actor == WIRE)
    s.goto(k)
    assert s.next_step.actor == WIRE
    assert not any(visible(b) for b in s.choice_buttons.values())
    assert not s.buttons["step"].disabled
    assert norm(s.next_step.explanation) in norm(text_of(s.question.value))
    s.buttons["step"].click()
    assert s.index == k + 1 and s.buttons["step"].disabled   # a timer step: predict again
    assert s.next_step.kind == "timer"


def test_predict_mode_play_shows_an_error_instead_of_raising():
    s = stepper("handshake", predict=True)
    s.buttons["play"].click()                      # disabled in the browser; click anyway
    assert visible(s.error) and "predict" in s.error.value.lower()
    assert not s.playing


# ----------------------------------------------------------------------------- explorer ---

def check_calls(e: Explorer) -> None:
    for name in e.net.names:
        allowed = e.net[name].allowed_calls()
        for call in CALLS:
            b = e.call_buttons[name][call]
            assert f"t-call-{name}-{call}" in classes(b)
            why = allowed[call]
            assert b.disabled == (why is not None)
            if why is not None:
                assert why in b.tooltip
            assert SOCKET_CALLS[call] in text_of(e.call_notes[name][call].value)


def check_wire(e: Explorer) -> None:
    assert len(e.wire_list.children) == len(e.net.in_flight)
    assert [r for r in e.wire_list.children] == [e.wire_rows[p.id] for p in e.net.in_flight]
    for p in e.net.in_flight:
        row = e.wire_rows[p.id]
        assert "t-wire-row" in classes(row)
        assert {"t-deliver", "t-drop", "t-dup"} <= set().union(*(classes(c) for c in row.children[1:]))
        assert p.segment.rfc() in text_of(row.children[0].value)


def button(row, cls: str):
    return next(c for c in row.children if cls in classes(c))


def test_explorer_classes_and_starting_points():
    e = explorer()
    assert e.net.states() == {"client": TcpState.CLOSED, "server": TcpState.CLOSED}
    for w, cls in [(e.undo_button, "t-undo"), (e.next_timer_button, "t-next-timer"),
                   (e.load, "t-load"), (e.error, "t-error"), (e.wire, "t-wire")]:
        assert cls in classes(w)
    check_calls(e)
    check_wire(e)
    assert e.undo_button.disabled and e.next_timer_button.disabled
    net = scenarios.get("handshake").run()
    e2 = explorer(net)
    assert e2.net is net                            # a Network is driven in place
    check_view_matches(e2.view, net, len(net.history))


def test_explorer_handshake_by_hand():
    e = explorer()
    e.call_buttons["server"]["listen"].click()
    check_calls(e)
    e.call_buttons["client"]["connect"].click()
    check_calls(e); check_wire(e)
    assert len(e.wire_rows) == 1
    while e.net.in_flight:
        button(e.wire_list.children[0], "t-deliver").click()
        check_calls(e); check_wire(e)
        check_view_matches(e.view, e.net, len(e.net.history))
    assert e.net.states() == {"client": TcpState.ESTABLISHED, "server": TcpState.ESTABLISHED}
    assert not e.error.value or not visible(e.error)


def test_crossing_fins_through_the_explorer():
    e = explorer("handshake")
    e.call_buttons["client"]["close"].click()
    e.call_buttons["server"]["close"].click()
    check_wire(e)
    fins = {p.src: p for p in e.net.in_flight}
    assert set(fins) == {"client", "server"} and all(p.segment.fin for p in fins.values())
    # deliver crosswise: each FIN arrives before the ACK of the other side's FIN
    button(e.wire_rows[fins["client"].id], "t-deliver").click()
    button(e.wire_rows[fins["server"].id], "t-deliver").click()
    assert e.net.states() == {"client": TcpState.CLOSING, "server": TcpState.CLOSING}
    check_view_matches(e.view, e.net, len(e.net.history))
    check_wire(e)
    assert len(e.wire_rows) == 2                    # the two ACKs
    while e.net.in_flight:
        button(e.wire_list.children[0], "t-deliver").click()
        check_wire(e)
    assert e.net.states() == {"client": TcpState.TIME_WAIT, "server": TcpState.TIME_WAIT}
    check_view_matches(e.view, e.net, len(e.net.history))
    check_calls(e)
    assert "TIME-WAIT (2·MSL)" in text_of(e.view.clock.value)
    # advance the clock: both TIME-WAIT timers fire
    e.next_timer_button.click()
    e.next_timer_button.click()
    assert e.net.states() == {"client": TcpState.CLOSED, "server": TcpState.CLOSED}
    assert e.next_timer_button.disabled
    assert not visible(e.error)


def test_drop_and_duplicate():
    e = explorer("handshake")
    e.call_buttons["client"]["send"].click()
    pkt = e.net.in_flight[0]
    assert pkt.segment.data == e.send_data["client"].value.encode()
    button(e.wire_rows[pkt.id], "t-dup").click()
    check_wire(e)
    assert len(e.net.in_flight) == 2
    copy = e.net.in_flight[1]
    assert copy.copy_of == pkt.id and "copy of" in text_of(e.wire_rows[copy.id].children[0].value)
    row = e.wire_rows[pkt.id]
    button(row, "t-drop").click()
    check_wire(e)
    assert pkt.id not in e.wire_rows and pkt in e.net.lost
    button(e.wire_rows[copy.id], "t-deliver").click()
    assert e.net["server"].recv() == b"hello"


def test_wire_rows_are_reused_not_rebuilt():
    e = explorer("handshake")
    e.call_buttons["client"]["close"].click()
    first = e.wire_rows[e.net.in_flight[0].id]
    e.call_buttons["server"]["close"].click()
    assert e.wire_rows[e.net.in_flight[0].id] is first
    card_buttons = dict(e.call_buttons["client"])
    button(first, "t-drop").click()
    assert e.call_buttons["client"] == card_buttons


def test_errors_are_shown_in_the_widget_not_raised():
    e = explorer("handshake")
    b = e.call_buttons["client"]["listen"]
    assert b.disabled
    b.click()                                       # a disabled button, clicked anyway
    assert visible(e.error)
    msg = text_of(e.error.value)
    assert "listen() is not possible" in msg and "connection already exists" in msg
    assert "Traceback" not in msg
    e.call_buttons["client"]["close"].click()       # a good action clears the error
    assert not visible(e.error)
    row = e.wire_rows[e.net.in_flight[0].id]
    deliver = button(row, "t-deliver")
    deliver.click()
    deliver.click()                                 # a stale row: the packet is gone
    assert visible(e.error) and "not on the wire any more" in text_of(e.error.value)
    assert "reached the server" in text_of(e.error.value)
    e.load.value = ""
    e.next_timer_button.click()
    assert visible(e.error) and "No timer" in text_of(e.error.value)
    e.undo_button.click()
    assert visible(e.error) and "Nothing to undo" in text_of(e.error.value)
    e.send_data["server"].value = ""
    e.call_buttons["server"]["listen"].click()
    e.call_buttons["server"]["send"].click()        # no data
    assert visible(e.error)


def test_even_an_unexpected_failure_stays_inside_the_widget(monkeypatch):
    e = explorer("handshake")

    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(e.net, "call", broken)
    e.call_buttons["client"]["close"].click()
    msg = text_of(e.error.value)
    assert visible(e.error) and "Something went wrong" in msg and "disk on fire" in msg


def test_undo_takes_back_one_click():
    e = explorer("handshake")
    before = e.net.states(), len(e.net.history)
    e.call_buttons["client"]["close"].click()
    pid = e.net.in_flight[0].id
    button(e.wire_rows[pid], "t-deliver").click()
    mid = e.net.states(), len(e.net.history)
    e.call_buttons["server"]["close"].click()
    e.undo_button.click()
    assert (e.net.states(), len(e.net.history)) == mid
    e.undo_button.click(); e.undo_button.click()
    assert (e.net.states(), len(e.net.history)) == before
    check_calls(e); check_wire(e)
    e.undo_button.click()                            # past the start point: one step back
    assert len(e.net.history) == before[1] - 1


def test_next_timer_and_next_event():
    e = explorer("teardown-client-first")
    e.undo_button.click()                            # back to before the TIME-WAIT timeout
    assert e.net.state("client") is TcpState.TIME_WAIT
    (name, timer, deadline), = e.net.timers()
    assert not e.next_timer_button.disabled and f"{deadline:g}" in e.next_timer_button.tooltip
    e.next_timer_button.click()
    assert e.net.state("client") is TcpState.CLOSED and e.net.now == deadline
    e2 = explorer("handshake")
    e2.call_buttons["client"]["close"].click()
    e2.next_event_button.click()
    assert e2.net.state("server") is TcpState.CLOSE_WAIT


def test_load_a_scenario_from_the_dropdown():
    e = explorer()
    e.load.value = "simultaneous-open"
    ref = scenarios.get("simultaneous-open").run()
    # "start from" opens the scenario at its step 0 ...
    assert e.net.history == [] and not e.redo_button.disabled
    check_view_matches(e.view, e.net, 0)
    # ... and "Scenario step" replays it, one step per click, as the scenario ran
    for k in range(1, len(ref.history) + 1):
        assert f"step {k} of {len(ref.history)}" in e.redo_button.tooltip
        e.redo_button.click()
        assert len(e.net.history) == k
        assert e.net.history[-1].summary() == ref.history[k - 1].summary()
        check_view_matches(e.view, e.net, k)
        check_calls(e); check_wire(e)
    assert e.net.states() == ref.states() and e.redo_button.disabled
    # Undo, then Scenario step again: a redo
    e.undo_button.click(); e.undo_button.click()
    assert len(e.net.history) == len(ref.history) - 2 and not e.redo_button.disabled
    e.redo_button.click()
    assert len(e.net.history) == len(ref.history) - 1
    e.restart_button.click()
    assert e.net.history == []
    # an action of one's own leaves the script: no scenario step to replay
    e.call_buttons["client"]["connect"].click()
    e.call_buttons["client"]["close"].click()
    assert e.redo_button.disabled
    e.redo_button.click()
    assert "No scenario step" in e.error.value


def test_explorer_restarts_a_network_it_was_given():
    net = scenarios.get("handshake").run()
    net.close("client")
    e = explorer(net)
    assert e.load.value == "(given)"
    e.undo_button.click(); e.undo_button.click()
    assert len(net.history) == 4
    e.restart_button.click()
    assert e.net is net and len(net.history) == 6
    assert net.state("client") is TcpState.FIN_WAIT_1


def test_tcpdump_style_puts_tcpdump_first():
    s = stepper("handshake", style="tcpdump")
    s.goto(2)
    seg = s.history[1].sent[0]
    v = s.view.explain.value
    assert v.index(html.escape(seg.tcpdump())) < v.index(html.escape(seg.rfc()))
    with pytest.raises(ValueError):
        stepper("handshake", style="fancy")


# --------------------------------------------------- in a kernel: ladder later, draw ahead --

def test_explorer_ladder_follows_each_click_and_is_memoised():
    e = explorer("handshake")
    first = e.view.ladder.value
    assert len(e.view._ladder_cache) == 1
    e.call_buttons["client"]["close"].click()
    assert e.view.ladder.value != first
    e.call_buttons["server"]["close"].click()
    key = (tuple(e.net.actions), round(e.net.now, 9))
    assert e.view.has_ladder(key) and len(e.view._ladder_cache) == 3
    assert e.view.ladder.value == e.view._ladder_cache[key]
    assert e.view.timings["ladder"] < 0.5


def test_stepper_draws_ahead_while_idle():
    import asyncio

    async def run():
        s = stepper("handshake")
        for _ in range(200):
            await asyncio.sleep(0.02)
            if all(s.view.has_ladder(k) for k in range(s.n + 1)):
                break
        assert all(s.view.has_ladder(k) for k in range(s.n + 1))
        s.step()
        assert s.view.timings["ladder"] < 0.02            # found ready

    asyncio.run(run())


# ------------------------------------------------------------------------- headless run ---

NOTEBOOK = [
    "from tcplab.ui import stepper, explorer",
    "s = stepper('simultaneous-close')\ns",
    "for _ in range(7):\n    s.buttons['step'].click()\nprint(s.index, s.net.history[s.index-1].states)",
    "e = explorer('handshake')\ne.call_buttons['client']['close'].click()\ne",
]


@pytest.mark.slow
def test_headless_notebook_saves_widget_state(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(c) for c in NOTEBOOK])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "stepper.ipynb"
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    nbformat.write(nb, path)
    nb = nbformat.read(path, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 2
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    models = {k: v for k, v in state.items()}
    for v in views:
        assert v.data["application/vnd.jupyter.widget-view+json"]["model_id"] in models
    html_values = [m["state"].get("value", "") for m in models.values()
                   if m["model_name"] == "HTMLModel"]
    # after 7 clicks both endpoints sit in FIN-WAIT-1 (simultaneous close): saved state shows it
    assert any("current-client" in v and "current-server" in v for v in html_values)
    assert any("Step 7 of" in v for v in html_values)
    sliders = [m["state"] for m in models.values() if m["model_name"] == "IntSliderModel"]
    assert any(sl.get("value") == 7 for sl in sliders)
    ladders = [v for v in html_values if 'class="tcplab-ladder"' in v]
    assert any('data-upto="6"' in v for v in ladders)       # the stepper after 7 steps


# ------------------------------------------------------------ the style sheet and cards ----

def test_one_style_sheet_shipped_as_package_data_with_the_theme_colours():
    from importlib.resources import files

    from tcplab.render.theme import PALETTE
    from tcplab.ui.style import stylesheet
    css = files("tcplab.ui").joinpath("tcplab.css").read_text(encoding="utf-8")
    sheet = stylesheet()
    assert css in sheet and sheet.startswith("<style>") and sheet.endswith("</style>")
    for i, colour in enumerate(PALETTE):
        assert f"--tl-endpoint-{i}: {colour};" in sheet
    assert "--tl-timer: " + PALETTE[3] in sheet
    # both widgets and the quiz carry the same sheet
    for w in (stepper("handshake"), explorer(), quiz_widget()):
        assert any(getattr(c, "value", None) == sheet for c in w.children)
    # every colour the rules use is a named custom property, defined once in :root
    rules = re.sub(r":root\s*\{[^}]*\}", "", css)
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgb\(", rules)
    used = set(re.findall(r"var\((--tl-[\w-]+)\)", rules))
    defined = set(re.findall(r"(--tl-[\w-]+):", sheet))
    assert used <= defined, used - defined


def quiz_widget():
    from tcplab.ui import quiz
    return quiz("1 + 1?", ["1", "2"], "2")


def test_no_colour_literals_in_the_widget_code():
    for path in (ROOT / "tcplab" / "ui").glob("*.py"):
        code = re.sub(r'"""[\s\S]*?"""', "", path.read_text(encoding="utf-8"))   # no docs
        found = re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b|\b(?:white|black)\b", code)
        assert not found, f"{path.name}: {found}"


def test_cards_are_plain_html_of_the_step_records():
    from tcplab.ui import cards
    net = scenarios.get("teardown-client-first").run()
    colors = {"client": "#0072B2", "server": "#D55E00"}
    k = next(i for i, st in enumerate(net.history) if st.after is TcpState.TIME_WAIT)
    step = net.history[k]
    html_text = cards.explain_html(net, k, len(net.history), colors)
    assert f"Step {k + 1} of {len(net.history)}" in html_text
    assert "FIN-WAIT-2 → TIME-WAIT" in html_text and "§3.10.7.4" in html_text
    assert html.escape(step.received.rfc()) in html_text
    clock = cards.clock_html(net, step.time, step.timers, colors)
    assert "TIME-WAIT (2·MSL)" in clock and 'class="tl-fill"' in clock
    start = cards.explain_html(net, -1, None, colors, names=net.names)
    assert "the client is CLOSED and the server is CLOSED" in start
    assert cards.segments_html(net, net.history[0], colors) == ""     # listen() sends nothing
    ET.fromstring(f"<div>{cards.badge_html('client', TcpState.LISTEN, None, '#000')}</div>")


def test_predict_question_is_told_from_typed_fields():
    s = stepper("teardown-client-first", predict=True)
    for st in s.history:
        st.event = "(display text)"
    k = next(i for i, st in enumerate(s.history) if st.call == "close")
    s.goto(k)
    assert "the client calls close()" in s.question.value
    k = next(i for i, st in enumerate(s.history) if st.timer == "time-wait")
    s.goto(k)
    assert "the client&#x27;s time-wait timer fires" in s.question.value or \
        "the client's time-wait timer fires" in s.question.value


# ------------------------------------------------------------ the learner's screen ----------

def test_reset_starts_the_predict_score_again():
    s = stepper("handshake", predict=True)
    nxt = s.next_step
    s.predict(nxt.after)
    assert s.score == [1, 1] and "score 1 of 1" in s.feedback.value
    s.buttons["reset"].click()
    assert s.index == 0 and s.score == [0, 0] and s.feedback.value == ""
    s.predict(s.next_step.after)
    assert "score 1 of 1" in s.feedback.value


def test_keys_click_the_widgets_own_buttons():
    from tcplab.ui.screen import KEYS, keys_html
    s, e = stepper("handshake"), explorer()
    for w, kind in ((s, "stepper"), (e, "explorer")):
        hook = [c for c in w.children if "tl-keyhook" in classes(c)]
        assert len(hook) == 1 and hook[0].value == keys_html(kind)
        js = html.unescape(re.search(r'onload="([^"]*)"', hook[0].value).group(1))
        assert "aria-live" in js and "data-lm-suppress-shortcuts" in js
        for key, cls in KEYS[kind].items():
            assert f"{key!r}: {cls!r}" in js
            # the button each key clicks exists in that widget
            own = (s.buttons.values() if kind == "stepper"
                   else (e.undo_button, e.next_event_button))
            assert [b for b in own if cls in classes(b)], (kind, key, cls)
    with pytest.raises(ValueError, match="widget is one of"):
        keys_html("quiz")


def test_the_explanation_is_the_live_region():
    from tcplab.ui.screen import keys_html
    assert "querySelector('.t-explain')" in html.unescape(keys_html("stepper"))
    assert "t-explain" in classes(stepper("handshake").view.explain)


def test_edges_taken_overlay_in_the_stepper():
    s = stepper("simultaneous-close")
    s.goto(len(s.history))
    assert ' covered' not in s.view.diagram.value
    s.coverage.value = True
    root = ET.fromstring(s.view.diagram.value).find(SVG_NS + "svg")
    covered = {g.get("id") for g in root.iter(SVG_NS + "g")
               if "covered" in (g.get("class") or "").split()}
    taken = {f"edge-{t.key}" for st in s.history for t in st.transitions}
    assert covered and covered <= taken
    assert "edge-fin-wait-1-rcv-fin" in covered          # the crossing FINs


def test_reach_every_edge_counts_the_learners_own_run():
    from tcplab.render import StateDiagram
    from tcplab.ui.challenge import HINTS, progress
    e = explorer()
    e.challenge.value = True
    assert visible(e.challenge_panel) and e.view.coverage
    edges = StateDiagram().transitions
    assert f"0 of {len(edges)} edges" in text_of(e.challenge_panel.value)
    assert set(HINTS) == {t.key for t in edges}        # a hint for every drawn edge
    e.call("server", "listen"); e.call("client", "connect")
    e.deliver(e.net.in_flight[0].id)
    prog = progress(e.net.history, edges)
    want = {t.key for st in e.net.history for t in st.transitions}
    assert set(prog.taken) == want and len(want) == 3
    panel = norm(text_of(e.challenge_panel.value))
    assert f"3 of {len(edges)} edges" in panel
    assert prog.taken["passive-open"] == ("server",)
    assert HINTS["fin-wait-1-rcv-fin"] in panel          # "get a FIN to cross yours"
    assert HINTS["passive-open"] not in panel            # taken: no hint
    e.challenge.value = False
    assert not visible(e.challenge_panel) and not e.view.coverage


def test_framing_places_the_moment_and_rejects_other_pictures():
    from tcplab.ui.screen import diagram_focus, framed, ladder_focus
    s = stepper("lost-final-ack")
    s.goto(3)
    svg = ET.fromstring(s.view.ladder.value)
    f = float(re.search(r"--tl-focus: ([\d.]+)", svg.get("style")).group(1))
    assert 0 < f < 0.5                                   # early in the run: near the top
    s.goto(s.n)
    f_end = float(re.search(r"--tl-focus: ([\d.]+)",
                            ET.fromstring(s.view.ladder.value).get("style")).group(1))
    assert f_end > 0.9
    d = s.view.diagram_view
    assert 0 <= diagram_focus(d.svg, d.current_nodes.values()) <= 1
    with pytest.raises(ValueError, match="kind is"):
        framed("<svg viewBox='0 0 1 1'></svg>", "photo")
    with pytest.raises(ValueError, match="viewBox"):
        ladder_focus("<div/>")


def test_the_hints_for_the_trickiest_edges_work_in_the_explorer():
    """Follow three hints with the explorer's own buttons: each takes its edge."""
    from tcplab.ui.challenge import progress

    def taken(e):
        from tcplab.render import StateDiagram
        return set(progress(e.net.history, StateDiagram().transitions).taken)

    def deliver(e, label):
        pid = next(p.id for p in e.net.in_flight if p.segment.label() == label)
        e.wire_rows[pid].children[1].click()

    e = explorer()                                   # "get a RST to a half-open connection"
    e.call_buttons["server"]["listen"].click(); e.call_buttons["client"]["connect"].click()
    deliver(e, "SYN")
    e.call_buttons["client"]["abort"].click()
    deliver(e, "SYN,ACK"); deliver(e, "RST")
    assert "syn-received-rcv-rst" in taken(e) and e.net.state("server") is TcpState.LISTEN
    e = explorer("handshake")                        # "get a FIN to cross yours"
    e.call_buttons["client"]["close"].click(); e.call_buttons["server"]["close"].click()
    deliver(e, "FIN,ACK")
    assert "fin-wait-1-rcv-fin" in taken(e)
    e = explorer("handshake")                        # "a FIN that carries the ACK of yours"
    e.call_buttons["client"]["close"].click()
    deliver(e, "FIN,ACK")
    e.call_buttons["server"]["close"].click()
    ack = next(p.id for p in e.net.in_flight if p.segment.label() == "ACK")
    e.wire_rows[ack].children[2].click()             # Drop the lone ACK
    deliver(e, "FIN,ACK")
    assert "fin-wait-1-rcv-fin-ack" in taken(e)
    assert e.error.layout.display == "none", e.error.value
