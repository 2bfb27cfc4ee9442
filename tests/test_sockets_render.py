"""The pictures, the trace and the widgets of a network of hosts with sockets show the
listener and its connections (issue 11, point 1): checked on what they record (the
ladder's marks, the diagram's plan, the trace's lines, the widgets' HTML), with the
values the run must give.

The runs: a listener with backlog 1 and four clients that connect at once (Linux keeps
two request socks, answers the other two SYNs with cookies, and drops their ACKs when the
accept queue is full); a SYN to a port where nothing listens (RST, ``ECONNREFUSED``); a
server that closes with unread data (RST, ``ECONNRESET``); a request sock whose SYN,ACKs go
unanswered; a connection that ends in TIME-WAIT.
"""

from __future__ import annotations

import doctest
import errno
import xml.etree.ElementTree as ET

import pytest

from tcplab import Config, Network, Segment, scenarios
from tcplab.render.ladder_diagram import ladder, ladder_svg
from tcplab.render.ladder_diagram.geometry import (SIDE_COL_IN, SIDE_PT, STATE_COL_IN,
                                                   STATE_PT, mono_w)
from tcplab.render.socket_names import socket_names, split_name
from tcplab.sockets import SocketNetwork
from tcplab.states import TcpState as S

ISN = {"client": 100, "server": 300}


# ------------------------------------------------------------------------- runs -----------
def overflow() -> SocketNetwork:
    """listen(1), four connect()s at once, accept() at 0.5 s, then 5 s of quiet."""
    net = SocketNetwork(isn=ISN, config=Config.linux())
    ls = net.socket("server"); ls.bind(80); ls.listen(1)
    clients = [net.socket("client") for _ in range(4)]
    for c in clients:
        c.connect(("server", 80))
    net.wait(0.5)
    ls.accept()
    net.wait(5)
    return net


def refused() -> SocketNetwork:
    """connect() to port 8080 where nothing listens, then send()."""
    net = SocketNetwork(isn=ISN)
    c = net.socket("client"); c.connect(("server", 8080)); net.run()
    with pytest.raises(ConnectionRefusedError):
        c.send(b"x")
    return net


def reset() -> SocketNetwork:
    """The server close()s with 5 unread bytes: RST, and the client's recv() is reset."""
    net = SocketNetwork(isn=ISN, config=Config.linux())
    ls = net.socket("server"); ls.bind(80); ls.listen(5)
    c = net.socket("client"); c.connect(("server", 80)); net.settle()
    conn = ls.accept()
    c.send("GET /"); net.settle()
    conn.close(); net.settle()
    with pytest.raises(ConnectionResetError):
        c.recv()
    return net


def synack_unanswered() -> SocketNetwork:
    """A SYN injected at a listener; every SYN,ACK is lost: the request sock gives up."""
    net = SocketNetwork(config=Config.linux())
    ls = net.socket("server"); ls.bind(80); ls.listen(5)
    net.inject("server", Segment.make("SYN", 90))
    while (ev := net.next_event()) is not None:
        if ev[1] == "packet" and ev[2].src == "server":
            net.drop(ev[2].id)
        else:
            net.step()
    return net


def time_wait() -> SocketNetwork:
    """The client closes first and waits in TIME-WAIT (2*MSL = 60 s with Linux's config)."""
    net = SocketNetwork(isn=ISN, config=Config.linux())
    ls = net.socket("server"); ls.bind(80); ls.listen(5)
    c = net.socket("client"); c.connect(("server", 80)); net.settle()
    conn = ls.accept()
    c.close(); net.settle()
    conn.close(); net.run()
    return net


def texts(drawn, kind: str, actor: str | None = None) -> list[str]:
    return [m.text for m in drawn.of(kind) if actor is None or m.actor == actor]


# ------------------------------------------------------------------------- names ----------
def test_socket_names_tag_the_tcbs_of_busy_hosts_by_the_clients_port():
    names = socket_names(overflow().history)
    assert names.tagged == ("server", "client")
    assert names.listeners == {"server:80"}
    assert {n: names.tag(n) for n in names.host} == {
        "server:80": ":80",
        **{f"server:80-client:{p}": f":{p}" for p in range(40000, 40004)},
        **{f"client:{p}-server:80": f":{p}" for p in range(40000, 40004)}}
    # a host with one TCB is not tagged; nor is a run without sockets
    assert socket_names(reset().history).tagged == ("server",)
    assert socket_names(refused().history).tagged == ()
    assert not socket_names(scenarios.get("handshake").run().history)


def test_split_name_and_its_errors():
    assert split_name("client:*") == ("client", None, None, None)
    assert split_name("web server:80-client:40000") == ("web server", 80, "client", 40000)
    for bad in ("client", "server:http", "server:80-client"):
        with pytest.raises(ValueError, match="not a socket name"):
            split_name(bad)


# ------------------------------------------------------------------------- ladder ---------
def test_ladder_names_the_socket_of_every_state_on_a_busy_host():
    net = overflow()
    drawn = ladder(net, style="short").drawn
    assert texts(drawn, "state", "server")[1:] == [        # after the initial CLOSED
        "LISTEN :80", "SYN-RECEIVED :40000", "SYN-RECEIVED :40001",
        "ESTABLISHED :40000", "ESTABLISHED :40001",
        # the reminder at "now", after 5 s of quiet: the listener and both connections
        "LISTEN :80", "ESTABLISHED :40000", "ESTABLISHED :40001"]
    assert texts(drawn, "state", "client")[1:] == (
        [f"SYN-SENT :{p}" for p in range(40000, 40004)]
        + [f"ESTABLISHED :{p}" for p in range(40000, 40004)] * 2)
    # each state box records its TCB; the "now" ones are faded
    box = next(m for m in drawn.of("state") if m.text == "SYN-RECEIVED :40001")
    assert box.socket == "server:80-client:40001" and box.step == 12
    now = [m for m in drawn.of("state") if m.status == "now" and m.actor == "server"]
    assert [m.socket for m in now] == ["server:80", "server:80-client:40000",
                                       "server:80-client:40001"]
    assert now[-1].xy0[1] == pytest.approx(drawn.layout.tm.y(net.now))  # the last at "now"
    # the two SYNs answered with cookies keep no socket: a note, not a state
    assert texts(drawn, "note") == ["SYN cookie :40002", "SYN cookie :40003"]


def test_ladder_draws_the_acks_dropped_on_a_full_accept_queue_as_lost_on_arrival():
    net = overflow()
    drawn = ladder(net, style="short").drawn
    dropped = [s for s in net.history if s.discard]
    assert [(s.socket, s.discard, s.received.label()) for s in dropped] == [
        ("server:80-client:40002", "accept queue full", "ACK"),
        ("server:80-client:40003", "accept queue full", "ACK")]
    x_server = drawn.layout.x_line[1]
    for step in dropped:
        seg = drawn.segment(step.packet)
        assert seg.status == "discarded" and seg.line == "solid"
        assert seg.xy1[0] == pytest.approx(x_server)           # it reached the server
        assert seg.t1 == pytest.approx(step.time)
        (cross,) = [m for m in drawn.of("lost") if m.packet == step.packet]
        assert (cross.status, cross.text) == ("discarded", "accept queue full")
        assert cross.xy0 == pytest.approx(seg.xy1) and cross.step == step.index
    assert texts(drawn, "discard", "server") == ["\u2715 accept queue full :40002",
                                                 "\u2715 accept queue full :40003"]
    assert [m.status for m in drawn.segments].count("delivered") == 10


def test_ladder_writes_the_socket_calls_with_their_results():
    drawn = ladder(overflow(), style="short").drawn
    assert texts(drawn, "call", "server") == ["socket() \u2192 fd 3", "bind(80)", "listen(1)",
                                              "accept() \u2192 fd 4 :40000"]
    assert texts(drawn, "call", "client") == (
        [f"socket() \u2192 fd {fd}" for fd in (3, 4, 5, 6)] + ["connect(server:80)"] * 4)
    drawn = ladder(reset(), style="short").drawn
    assert texts(drawn, "call", "client") == ["socket() \u2192 fd 3", "connect(server:80)",
                                              "send(5 B)", "recv() \u2192 ECONNRESET"]
    assert texts(drawn, "call", "server")[-2:] == ["accept() \u2192 fd 4 :40000", "close()"]
    assert texts(drawn, "error", "client") == ["\u26a0 connection reset"]


def test_ladder_keeps_the_listener_in_listen_as_a_band_along_its_line():
    net = overflow()
    drawn = ladder(net, style="short").drawn
    (band,) = drawn.of("listen")
    assert (band.gid, band.text, band.socket, band.status) == (
        "listen-server-80", "LISTEN :80", "server:80", "running")
    assert (band.t0, band.t1) == (0.0, pytest.approx(net.now))
    assert band.xy0[0] == pytest.approx(drawn.layout.x_line[1])
    # drawn step by step: it grows with "now" and is not there before listen()
    assert ladder(net, upto=1, style="short").drawn.of("listen") == []
    k = next(s.index for s in net.history if s.discard)
    (band,) = ladder(net, upto=k, style="short").drawn.of("listen")
    assert band.t1 == pytest.approx(net.history[k].time)


def test_ladder_of_a_refused_connection():
    net = refused()
    drawn = ladder(net, style="short").drawn
    assert texts(drawn, "state", "client")[1:] == ["SYN-SENT", "CLOSED"]   # one TCB: no tag
    assert texts(drawn, "note", "server") == ["no socket on :8080"]
    assert texts(drawn, "call", "client") == ["socket() \u2192 fd 3", "connect(server:8080)",
                                              "send() \u2192 ECONNREFUSED"]
    assert texts(drawn, "error", "client") == ["\u26a0 connection refused"]
    assert [(m.actor, m.text) for m in drawn.segments] == [("client", "SYN"),
                                                           ("server", "RST,ACK")]
    assert drawn.of("listen") == [] and drawn.of("lost") == []


def test_ladder_a_request_sock_that_gives_up_is_gone_and_the_listener_stays():
    net = synack_unanswered()
    drawn = ladder(net, style="short").drawn
    assert texts(drawn, "state", "server")[1:] == ["LISTEN :80", "SYN-RECEIVED :40000",
                                                   "(gone) :40000"]
    assert [m.text for m in drawn.segments if m.actor == "server"] == (
        ["SYN,ACK"] + ["retx \u00b7 SYN,ACK"] * 5)                   # tcp_synack_retries=5
    assert len(drawn.of("lost")) == 6
    assert drawn.of("listen")[0].status == "running"


def test_ladder_time_wait_of_a_socket_counts_its_own_timer():
    net = time_wait()
    drawn = ladder(net, style="short").drawn
    (tw,) = drawn.of("time-wait")
    assert (tw.gid, tw.actor, tw.socket, tw.status) == (
        "time-wait-client", "client", "client:40000-server:80", "done")
    assert tw.t1 - tw.t0 == pytest.approx(60.0)                # Config.linux(): 2*MSL 60 s
    assert "2\u00b7MSL = 60 s" in tw.text


def test_ladder_svg_carries_the_sockets_for_style_sheets_and_tests():
    net = overflow()
    svg = ladder_svg(net, style="short")
    root = ET.fromstring(svg)
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
    box = by_id["state-server-12"]
    assert box.text == "SYN-RECEIVED :40001"
    assert box.get("data-socket") == "server:80-client:40001"
    assert by_id["discard-server-21"].text == "\u2715 accept queue full :40002"
    assert by_id["call-server-23"].text == "accept() \u2192 fd 4 :40000"


def test_ladder_of_a_busy_host_keeps_its_width_and_its_labels_apart():
    for make in (overflow, reset, refused, synack_unanswered, time_wait):
        for style in ("rfc", "short"):
            lay = ladder(make(), style=style).drawn.layout
            # the columns widened to fit the tags, taking the room from the middle: at
            # most 5 % wider than a two-endpoint ladder (its text stays >= 11 px on screen)
            assert lay.width <= 1.05 * (2 * (STATE_COL_IN + SIDE_COL_IN) + 4.5), make.__name__
            assert lay.gap >= 3.4
            for it in lay.state_items:
                i = 0 if it.actor == lay.names[0] else 1
                assert mono_w(it.text, STATE_PT) + 0.2 < lay.col_in[0][i]
            for it in lay.side_items:
                if it.kind == "call":
                    i = 0 if it.actor == lay.names[0] else 1
                    assert mono_w(it.text, SIDE_PT) < lay.col_in[1][i]


def test_ladder_of_a_two_endpoint_network_is_as_it_was():
    for name in ("handshake", "simultaneous-close", "lost-final-ack"):
        lay = ladder(scenarios.get(name).run()).drawn.layout
        assert lay.col_in == ((STATE_COL_IN,) * 2, (SIDE_COL_IN,) * 2)
        assert lay.gap == 4.5 and lay.listen_spans == []
        assert all(" :" not in it.text for it in lay.state_items)


def test_doctests_of_the_socket_names_and_words():
    import tcplab.render.socket_names
    import tcplab.render.words
    for module in (tcplab.render.socket_names, tcplab.render.words):
        res = doctest.testmod(module)
        assert res.failed == 0 and res.attempted >= 3, module.__name__


# ------------------------------------------------------------------------- diagram --------
def _diagram(net, k):
    from tcplab.render import StateDiagram
    return StateDiagram.for_network(net, k, coverage=True)


def _svg_classes(svg: str) -> dict[str, str]:
    root = ET.fromstring(svg)
    return {e.get("id"): e.get("class", "") for e in root.iter() if e.get("id")}


def test_diagram_highlights_every_tcb_of_a_host_in_its_colour():
    net = overflow()
    k = next(s.index for s in net.history if s.socket == "server:80-client:40001")
    view = _diagram(net, k)                 # the second SYN has made a request sock
    assert view.current_nodes == {
        "server:80": "node-LISTEN",
        "server:80-client:40000": "node-SYN_RECEIVED",
        "server:80-client:40001": "node-SYN_RECEIVED",
        **{f"client:{p}-server:80": "node-SYN_SENT" for p in range(40000, 40004)}}
    looks = view._plan.looks
    blue, vermillion = "#0072B2", "#D55E00"
    assert looks["node-LISTEN"].tags == (("server :80", vermillion),)
    assert looks["node-SYN_RECEIVED"].tags == (("server :40000 :40001", vermillion),)
    assert looks["node-SYN_SENT"].tags == (("client \u00d74", blue),)
    # one legend entry and one CSS name per host, however many TCBs it holds
    assert view._plan.endpoints == ("client", "server")
    classes = _svg_classes(view.svg)
    assert classes["node-LISTEN"].split()[-2:] == ["current", "current-server"]
    assert "taken-server" in classes["edge-listen-rcv-syn"]
    assert "path-client" in classes["edge-active-open"]
    assert "path-server" in classes["edge-passive-open"]
    assert view.caption.startswith(
        "server :40001: LISTEN \u2192 SYN-RECEIVED (rcv SYN / snd SYN,ACK)")
    assert "server: LISTEN :80, SYN-RECEIVED :40000 :40001" in view.caption


def test_diagram_of_a_host_sharing_a_box_counts_its_sockets():
    net = overflow()
    view = _diagram(net, len(net.history) - 1)
    est = view._plan.looks["node-ESTABLISHED"]
    assert est.tags == (("client \u00d74", "#0072B2"), ("server \u00d72", "#D55E00"))
    assert est.classes == ("current", "current-client", "current-server")
    assert view._plan.looks["node-LISTEN"].tags == (("server :80", "#D55E00"),)
    # the coverage overlay: every edge some TCB took
    classes = _svg_classes(view.svg)
    covered = {i for i, c in classes.items() if "covered" in c.split()}
    assert {"edge-passive-open", "edge-active-open", "edge-listen-rcv-syn",
            "edge-syn-sent-rcv-syn-ack", "edge-syn-received-rcv-ack"} <= covered
    assert "edge-established-close" not in covered


def test_diagram_keeps_a_closed_tcb_at_the_closed_it_reached():
    net = reset()
    k = next(s.index for s in net.history if s.socket == "server:80-client:40000" and
             s.after is S.CLOSED)
    view = _diagram(net, k)                 # the server's close() with unread data: RST
    assert view.current_nodes["server:80"] == "node-LISTEN"
    assert view.current_nodes["server:80-client:40000"].startswith("node-CLOSED-sink")
    last = _diagram(net, len(net.history) - 1)   # the client's recv() after the reset
    assert last.current_nodes == {"server:80": "node-LISTEN",
                                  "client:40000-server:80": "node-CLOSED-sink-ESTABLISHED"}
    assert last.caption.endswith("client: CLOSED\u00a0\u00a0\u00b7\u00a0\u00a0server: LISTEN :80")
    start = _diagram(net, -1)
    assert start.current_nodes == {"client": "node-CLOSED", "server": "node-CLOSED"}


# ------------------------------------------------------------------------- trace ----------
def test_trace_marks_the_socket_of_every_line_on_a_busy_host():
    from tcplab.render import trace_lines
    lines = trace_lines(overflow(), times=False)
    by_no = {int(line[:3].strip(" .")): line for line in lines[1:]}
    assert by_no[4].split() == ["4.", "(passive", "OPEN:", "listen(1))", "LISTEN", ":80"]
    assert by_no[9].split() == ["9.", "SYN-SENT", ":40000", "-->", "<SEQ=100><CTL=SYN>", "..."]
    assert by_no[12].split()[1:3] == ["SYN-SENT", ":40003"]
    # two request socks in the SYN queue (backlog 1), then two SYN cookies: no TCB kept
    assert [by_no[n].split("-->")[-1].strip() for n in (13, 15, 17, 19)] == [
        "SYN-RECEIVED :40000", "SYN-RECEIVED :40001", "(SYN cookie) :40002",
        "(SYN cookie) :40003"]
    assert by_no[31].split()[1:] == ["...", "<SEQ=1252418181><ACK=231970774><CTL=ACK>",
                                     "(dropped:", "accept", "queue", "full)", "--x", "(SYN",
                                     "cookie)", ":40002"]
    assert by_no[32].split()[-3:] == ["(SYN", "cookie)", ":40003"] and "--x" in by_no[32]
    assert by_no[33].split() == ["33.", "(accept()", "\u2192", "fd", "4)", "ESTABLISHED",
                                 ":40000"]
    assert len(lines) == 34


def test_trace_of_hosts_with_one_tcb_has_no_tags_and_says_where_no_socket_is():
    from tcplab.render import trace
    assert trace(refused(), times=False).splitlines() == [
        "    TCP client                                         TCP server",
        " 1. CLOSED                                             CLOSED",
        " 2. CLOSED           (socket() \u2192 fd 3)",
        " 3. SYN-SENT     --> <SEQ=100><CTL=SYN>            --> CLOSED (no socket :8080)",
        " 4. CLOSED       <-- <SEQ=0><ACK=101><CTL=RST,ACK> <-- CLOSED (no socket :8080)",
        " 5. CLOSED           (SEND: send() \u2192 ECONNREFUSED)"]
    lines = trace(reset(), times=False).splitlines()
    assert lines[-2].split() == ["12.", "CLOSED", "<--", "<SEQ=301><ACK=106><CTL=RST,ACK>",
                                 "<--", "CLOSED", ":40000"]       # one TCB on the client
    assert lines[-1].split() == ["13.", "CLOSED", "(RECEIVE:", "recv()", "\u2192",
                                 "ECONNRESET)"]


# ------------------------------------------------------------------------- widgets --------
def _visible(value: str) -> str:
    import html
    import re
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split())


def _ss_rows(badge_value: str) -> list[list[str]]:
    """The socket lines of the ``ss -tano`` block in a badge, each split into its columns."""
    import html
    import re
    pre = re.search(r"<pre>(.*?)</pre>", badge_value, re.S)
    assert pre is not None, "no ss block in the badge"
    lines = html.unescape(re.sub(r"<[^>]+>", "", pre.group(1))).splitlines()
    assert lines[0].split()[:3] == ["State", "Recv-Q", "Send-Q"]
    if lines[1:] == ["(no socket)"]:
        return []
    return [line.split() for line in lines[1:]]


def test_stepper_shows_each_hosts_tcbs_and_its_ss_at_every_step():
    pytest.importorskip("ipywidgets")
    from tcplab.ui import stepper
    s = stepper(overflow())
    badges = s.view.badges
    assert "tl-sockets" in s._dom_classes and s.view.clock.layout.display == "none"
    s.goto(13)                             # the second SYN made the second request sock
    assert _visible(badges["server"].value).startswith(
        "server LISTEN :80 SYN-RECEIVED :40000 :40001 :40001 was LISTEN")
    assert _ss_rows(badges["server"].value) == [
        ["LISTEN", "0", "1", "0.0.0.0:80", "0.0.0.0:*"],
        ["SYN-RECV", "0", "0", "10.0.0.2:80", "10.0.0.1:40000", "timer:(on,1sec,0)"],
        ["SYN-RECV", "0", "0", "10.0.0.2:80", "10.0.0.1:40001", "timer:(on,1sec,0)"]]
    # the SYNs left at 0 s with Linux's 1 s RTO; this is 0.1 s later (Send-Q counts the
    # unacknowledged SYN, as Linux's does)
    assert _ss_rows(badges["client"].value) == [
        ["SYN-SENT", "0", "1", f"10.0.0.1:{p}", "10.0.0.2:80", "timer:(on,900ms,0)"]
        for p in range(40000, 40004)]
    s.goto(22)                             # the cookie's ACK dropped: accept queue full
    assert _ss_rows(badges["server"].value) == [
        ["LISTEN", "2", "1", "0.0.0.0:80", "0.0.0.0:*"],
        ["ESTAB", "0", "0", "10.0.0.2:80", "10.0.0.1:40000"],
        ["ESTAB", "0", "0", "10.0.0.2:80", "10.0.0.1:40001"]]
    assert "server :40002" in _visible(s.view.explain.value)
    s.goto(24)                             # accept(): one fewer in the accept queue
    assert _ss_rows(badges["server"].value)[0] == ["LISTEN", "1", "1", "0.0.0.0:80",
                                                   "0.0.0.0:*"]
    assert "the call returned fd 4" in _visible(s.view.explain.value)
    s.goto(0)                              # before anything: no socket, no TCB
    assert _visible(badges["server"].value) == (
        "server CLOSED $ ss -tano State Recv-Q Send-Q Local Address:Port Peer Address:Port "
        "(no socket)")


def test_stepper_ss_is_memoised_and_drawn_ahead():
    pytest.importorskip("ipywidgets")
    from tcplab.ui import stepper
    s = stepper(overflow(), prefetch=False)
    s.goto(13)
    first = s.view.badges["server"].value
    assert s.view.has_ss(13) and not s.view.has_ss(14)
    s.goto(14); s.goto(13)
    assert s.view.badges["server"].value == first
    s._prefetch_one()                      # what the idle kernel does after a click
    assert s.view.has_ss(14) and s.view.has_ladder(14)


def test_stepper_predict_question_names_the_socket():
    pytest.importorskip("ipywidgets")
    from tcplab.ui import stepper
    s = stepper(overflow(), predict=True)
    s.goto(12)                             # next: the second SYN reaches the listener
    assert "Which state will the server's socket :40001 be in?" in _visible(s.question.value)


def test_explorer_drives_the_wire_of_hosts_with_sockets():
    pytest.importorskip("ipywidgets")
    from tcplab.ui import explorer
    net = SocketNetwork(isn=ISN)
    ls = net.socket("server"); ls.bind(80); ls.listen(1)
    net.socket("client").connect(("server", 80))
    e = explorer(net)
    assert e.call_buttons == {"client": {}, "server": {}}
    # to start from: the run, no socket yet, or a socket-level story (not a two-TCB one)
    assert [v for _, v in e.load.options] == ["(given)", ""] + [
        n for n, sc in scenarios.SCENARIOS.items() if sc.sockets]
    assert _ss_rows(e.view.badges["client"].value) == [
        ["SYN-SENT", "0", "1", "10.0.0.1:40000", "10.0.0.2:80", "timer:(on,1sec,0)"]]
    (syn,) = net.in_flight
    e.deliver(syn.id)
    assert _visible(e.view.badges["server"].value).startswith(
        "server LISTEN :80 SYN-RECEIVED :40000 :40000 was LISTEN")
    assert [r[0] for r in _ss_rows(e.view.badges["server"].value)] == ["LISTEN", "SYN-RECV"]
    assert "server :40000 retransmission" in _visible(e.view.clock.value)
    e.next_event(); e.next_event()         # SYN,ACK to the client, its ACK to the server
    assert _ss_rows(e.view.badges["server"].value)[0][:3] == ["LISTEN", "1", "1"]
    ls.accept()                            # a socket call made in code ...
    e.refresh()                            # ... and shown
    assert _ss_rows(e.view.badges["server"].value)[0][:3] == ["LISTEN", "0", "1"]
    e.undo()                               # takes back the accept()
    assert _ss_rows(e.view.badges["server"].value)[0][:3] == ["LISTEN", "1", "1"]
    with pytest.raises(ValueError, match=r"use its socket calls, e.g. socket_call\('client', "):
        e.call("client", "close")
    with pytest.raises(ValueError, match="is a run of two bare TCBs"):
        e.load_scenario("handshake")
    e.load_scenario("")                    # the same hosts, no socket yet
    assert len(e.net.history) == 0 and _visible(e.view.badges["client"].value).startswith(
        "client CLOSED")


def test_ladder_of_a_socket_runs_history_alone_keeps_client_left():
    net = overflow()                       # the server's socket() is the first step
    assert net.history[0].actor == "server" and net.history[0].states == ()
    drawn = ladder(net.history, style="short").drawn
    assert drawn.layout.names == ("client", "server")
    assert [m.text for m in drawn.of("state")] == [m.text for m in
                                                   ladder(net, style="short").drawn.of("state")
                                                   if m.status != "now"]


def test_ladder_draws_an_injected_segment_from_the_host_it_claims_to_come_from():
    net = synack_unanswered()
    drawn = ladder(net, style="short").drawn
    (syn,) = [m for m in drawn.segments if m.actor == "client"]
    assert (syn.text, syn.tags, syn.status, syn.peer) == ("injected \u00b7 SYN", ("injected",),
                                                          "delivered", "server")
    assert (syn.t0, syn.t1) == (0.0, pytest.approx(0.1))
    # a Network's injected segment too (the half-open connection of lesson 02)
    half_open = Network(isn=ISN, config=Config.linux())
    half_open.listen("server")
    half_open.inject("server", Segment.make("SYN", 90))
    half_open.deliver()
    segs = ladder(half_open, style="short").drawn.segments
    assert [(m.actor, m.text) for m in segs] == [("client", "injected \u00b7 SYN"),
                                                 ("server", "SYN,ACK")]


SOCKET_STORIES = [n for n, sc in scenarios.SCENARIOS.items() if sc.sockets]


@pytest.mark.parametrize("name", SOCKET_STORIES)
def test_every_socket_story_shows_each_hosts_tcbs_in_the_stepper(name):
    """The stepper of a socket-level scenario: at its start, middle and end every host's
    badge lists the states of the TCBs the step records for it, its ss block is the
    model's ss at that step, and the diagram highlights exactly those states."""
    pytest.importorskip("ipywidgets")
    from tcplab.ui import stepper
    s = stepper(name)
    socks = socket_names(s.history)
    for k in sorted({0, s.n // 2, s.n}):
        s.goto(k)
        states = s.history[k - 1].states if k else ()
        at = s.net.replay(k)
        if k:
            at.clock.now = s.history[k - 1].time
        for host in s.net.names:
            badge = s.view.badges[host].value
            mine = socks.of_host(host, states)
            chips: dict[S, list[str]] = {}
            for tcb, state in mine:
                chips.setdefault(state, []).append(socks.tag(tcb))
            want = " ".join(" ".join([st.rfc, *filter(None, tags)])
                            for st, tags in chips.items()) or "CLOSED"
            assert _visible(badge).startswith(f"{host} {want}"), (k, host, _visible(badge))
            assert _ss_rows(badge) == [line.split() for line in
                                       at.ss(host, timers=True).splitlines()[1:]], (k, host)
            lit = {g.get("data-state") for g in ET.fromstring(s.view.diagram.value).iter()
                   if f"current-{host}" in (g.get("class") or "").split()}
            assert lit == ({st.name for _, st in mine} or {"CLOSED"}), (k, host)
        assert s.error.layout.display == "none"


def test_ladder_of_the_backlog_overflow_story_names_the_connections_a_full_queue_refused():
    drawn = ladder(scenarios.get("backlog-overflow").run(), style="short").drawn
    # the last ACK of :40002's handshake, then :40003's SYN twice (its first try and the
    # retransmission): the listener had no room; accept() made room, and both got in
    assert texts(drawn, "discard", "server") == ["\u2715 accept queue full :40002",
                                                 "\u2715 accept queue full :40003",
                                                 "\u2715 accept queue full :40003"]
    assert texts(drawn, "state", "server")[-2:] == ["SYN-RECEIVED :40003", "ESTABLISHED :40003"]
    assert texts(drawn, "call", "server")[-3:] == ["accept() \u2192 fd 5 :40001",
                                                   "accept() \u2192 fd 6 :40002",
                                                   "accept() \u2192 fd 7 :40003"]
