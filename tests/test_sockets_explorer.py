"""The explorer's socket calls on hosts with sockets (issue 11, point 1), clicked as a learner
clicks them, on the widget objects (as ``test_widgets.py`` does): each host's list of
sockets, its buttons, what a call shows and what a refused call does not change.

The runs use Linux's timers and fixed ISNs (client 100, server 300) and the model's
latency of 0.1 s, so the values are exact: the server reads ``b'GET /'``; its ``close()``
with 4 bytes unread sends ``<SEQ=301><ACK=110><CTL=RST,ACK>``; the client's next ``recv()``
reports ``ECONNRESET`` and the one after it ``b''``.
"""

from __future__ import annotations

import errno
import html
import re

import pytest

pytest.importorskip("ipywidgets")

from tcplab import Config, TcpState, scenarios  # noqa: E402
from tcplab.sockets import SocketNetwork  # noqa: E402
from tcplab.ui import explorer  # noqa: E402
from tcplab.ui.socket_buttons import (CONNECT_CALLS, LISTEN_CALLS, NO_SOCKET,  # noqa: E402
                                    perform, refusal_html, socket_label)

S = TcpState


def visible(value: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split())


def shown(widget) -> bool:
    return widget.layout.display != "none" and bool(widget.value)


def sockets_explorer(**kwargs):
    return explorer(SocketNetwork(isn={"client": 100, "server": 300}, config=Config.linux()),
                    **kwargs)


def picked(e, host: str) -> str:
    pick = e.socket_calls[host].pick
    return dict((v, k) for k, v in pick.options)[pick.value]


def click(e, host: str, call: str) -> None:
    e.socket_calls[host].buttons[call].click()


def run_wire(e) -> None:
    """Next event until nothing is in flight (the learner's "Next event" clicks)."""
    while e.net.in_flight:
        e.next_event_button.click()


def connected():
    """listen(5), connect, the handshake, accept(): both ESTABLISHED, the server's
    connection picked."""
    e = sockets_explorer()
    click(e, "server", "listen")
    click(e, "client", "connect")
    run_wire(e)
    click(e, "server", "accept")
    return e


# ------------------------------------------------------------------------- the controls ---
def test_each_host_gets_its_calls_and_only_listen_and_connect_before_any_socket():
    e = sockets_explorer()
    assert e.call_buttons == {"client": {}, "server": {}}       # no RFC-level buttons
    client, server = e.socket_calls["client"], e.socket_calls["server"]
    assert tuple(client.buttons) == CONNECT_CALLS and tuple(server.buttons) == LISTEN_CALLS
    assert [b.description for b in client.buttons.values()] == [
        "connect(server:80)", "send()", "recv()", "shutdown(SHUT_WR)", "close()",
        "SO_LINGER {1,0}"]
    assert [b.description for b in server.buttons.values()][:2] == ["listen(:80)", "accept()"]
    for hc in (client, server):
        assert hc.pick.options == (("no socket", NO_SOCKET),) and hc.pick.disabled
        on = {c for c, b in hc.buttons.items() if not b.disabled}
        assert on == {"connect"} if hc is client else on == {"listen"}
        assert hc.data.disabled
        assert f"t-sock-pick-{hc.host}" in hc.pick._dom_classes
        for call, b in hc.buttons.items():
            assert f"t-sock-{hc.host}-{call}" in b._dom_classes
    assert "has no socket yet" in server.buttons["accept"].tooltip
    assert server.backlog.value == 5 and not server.reuse.value
    # another port: the labels and the calls follow it
    e8 = sockets_explorer(port=8080)
    assert e8.socket_calls["client"].buttons["connect"].description == "connect(server:8080)"
    with pytest.raises(ValueError, match="port is a port number 1..65535"):
        sockets_explorer(port=0)


def test_a_connection_by_buttons_from_listen_to_connection_reset():
    e = sockets_explorer()
    server, client = e.socket_calls["server"], e.socket_calls["client"]
    server.backlog.value = 2
    click(e, "server", "listen")
    assert [s.socket_call for s in e.net.history] == ["socket()", "bind(80)", "listen(2)"]
    assert e.net.ss("server").splitlines()[1].split()[:3] == ["LISTEN", "0", "2"]
    assert picked(e, "server") == "fd 3 :80 LISTEN" and not server.pick.disabled
    assert all(not b.disabled for b in server.buttons.values())   # errnos are lessons
    assert "before that: 0.000 server CLOSED: socket(); 0.000 server CLOSED: bind(80)" in \
        visible(e.view.explain.value)

    # accept() with nothing in the queue: EAGAIN in one line, and nothing happened
    n = len(e.net.history)
    click(e, "server", "accept")
    assert len(e.net.history) == n and shown(e.error)
    assert "t-refused" in e.error.value
    assert visible(e.error.value) == (
        "accept() on the server → EAGAIN (BlockingIOError) : accept() on server fd 3 "
        "(server:80, LISTEN): the accept queue is empty (no completed handshake yet): run "
        "the network and accept() again. Refused: nothing changed.")
    e.undo_button.click()                           # Undo takes back the listen, not more
    assert e.net.history == [] and picked(e, "server") == "no socket"
    click(e, "server", "listen")

    click(e, "client", "connect")
    assert not shown(e.error)                       # a call that was made clears it
    assert picked(e, "client") == "fd 3 :40000 SYN-SENT"
    assert "the call returned EINPROGRESS" in visible(e.view.explain.value)
    run_wire(e)                                     # SYN, SYN,ACK, ACK
    assert e.net.ss("server").splitlines()[1].split()[:3] == ["LISTEN", "1", "2"]
    assert picked(e, "client") == "fd 3 :40000 ESTABLISHED"
    click(e, "server", "accept")
    assert picked(e, "server") == "fd 4 :40000 ESTABLISHED"     # the new socket is picked
    assert [label for label, _ in server.pick.options] == ["fd 3 :80 LISTEN",
                                                           "fd 4 :40000 ESTABLISHED"]
    assert "the call returned fd 4" in visible(e.view.explain.value)
    # accept() goes to the listener even with the connection picked
    assert server.buttons["accept"].tooltip.startswith("accept() on fd 3 (server:80)")
    assert server.buttons["recv"].tooltip.startswith("recv() on fd 4 (server:80-client:40000)")

    client.data.value = "GET /"
    click(e, "client", "send")
    assert e.net.history[-1].result == "5"
    run_wire(e)
    click(e, "server", "recv")
    step = e.net.history[-1]
    assert (step.socket, step.read) == ("server:80-client:40000", b"GET /")
    assert "the call returned b'GET /' (5 bytes)" in visible(e.view.explain.value)
    click(e, "server", "recv")                      # nothing more: EAGAIN, refused
    assert "recv() on the server → EAGAIN" in visible(e.error.value)
    assert e.net.history[-1] is step

    client.data.value = "more"
    click(e, "client", "send")
    run_wire(e)
    assert e.net.ss("server").splitlines()[2].split()[:2] == ["ESTAB", "4"]
    click(e, "server", "close")                     # 4 bytes unread: RST, not FIN
    step = e.net.history[-1]
    assert [seg.rfc() for seg in step.sent] == ["<SEQ=301><ACK=110><CTL=RST,ACK>"]
    assert step.after is S.CLOSED
    assert picked(e, "server") == "fd 3 :80 LISTEN"  # fd 4 is gone: the listener is left
    run_wire(e)
    assert e.net.sockets("client")[0].state is S.CLOSED
    click(e, "client", "recv")
    assert e.net.history[-1].result == "ECONNRESET" and not shown(e.error)
    assert "the call returned ECONNRESET" in visible(e.view.explain.value)
    assert picked(e, "client") == "fd 3 :40000 CLOSED"   # its descriptor is still open
    click(e, "client", "recv")
    assert "the call returned b''" in visible(e.view.explain.value)

    # Undo three times: the recv()s and the RST's arrival are taken back
    for _ in range(3):
        e.undo_button.click()
    assert picked(e, "client") == "fd 3 :40000 ESTABLISHED"
    e.restart_button.click()                        # the run passed in: no socket
    assert e.net.history == [] and picked(e, "client") == picked(e, "server") == "no socket"


def test_a_call_that_fails_half_way_is_taken_back_whole():
    """listen() is socket(), bind() and listen(): a bind() refused with EADDRINUSE leaves no
    new descriptor behind; with SO_REUSEADDR on both sockets the port is shared with a
    TIME-WAIT connection (Linux inet_csk_bind_conflict), never with a listener."""
    e = sockets_explorer()
    server = e.socket_calls["server"]
    server.reuse.value = True
    click(e, "server", "listen")
    assert [s.socket_call for s in e.net.history][:2] == ["socket()", "setsockopt(SO_REUSEADDR)"]
    n = len(e.net.history)
    click(e, "server", "listen")                    # a listener holds :80
    assert len(e.net.history) == n and [s.fd for s in e.net.sockets("server")] == [3]
    assert "listen() on the server → EADDRINUSE (OSError)" in visible(e.error.value)
    assert "Not even SO_REUSEADDR shares a port with a listener" in visible(e.error.value)
    # the server closes first, then its listener: TIME-WAIT holds :80
    click(e, "client", "connect")
    run_wire(e)
    click(e, "server", "accept")
    click(e, "server", "close")
    run_wire(e)
    click(e, "client", "close")
    run_wire(e)
    server.pick.value = 3
    click(e, "server", "close")
    assert e.net.sockets("server") == []
    assert e.net.ss("server").splitlines()[1].split()[0] == "TIME-WAIT"
    server.reuse.value = False
    click(e, "server", "listen")                    # the new socket lacks SO_REUSEADDR
    assert "EADDRINUSE" in visible(e.error.value) and e.net.sockets("server") == []
    assert "TIME-WAIT" in visible(e.error.value)
    server.reuse.value = True
    click(e, "server", "listen")
    assert not shown(e.error) and picked(e, "server") == "fd 3 :80 LISTEN"


def test_so_linger_makes_close_an_abort():
    e = connected()
    click(e, "client", "linger")
    assert e.net.history[-1].socket_call == "setsockopt(SO_LINGER)"
    click(e, "client", "close")
    step = e.net.history[-1]
    assert step.socket_call == "close() with SO_LINGER {1, 0}"
    (rst,) = step.sent                              # RST at SND.NXT, no FIN (§3.10.5)
    assert rst.rst and not rst.fin and rst.seq == 101 and step.after is S.CLOSED
    assert picked(e, "client") == "no socket" and e.socket_calls["client"].data.disabled
    run_wire(e)
    click(e, "server", "recv")
    assert e.net.history[-1].result == "ECONNRESET"


def test_shutdown_then_send_is_epipe_and_send_before_the_handshake_is_eagain():
    e = sockets_explorer()
    click(e, "server", "listen")
    click(e, "client", "connect")
    click(e, "client", "send")                      # still SYN-SENT
    assert "send() on the client → EAGAIN" in visible(e.error.value)
    run_wire(e)
    click(e, "client", "shutdown")
    assert e.net.history[-1].socket_call == "shutdown(SHUT_WR)"
    assert e.net.history[-1].after is S.FIN_WAIT_1
    click(e, "client", "send")
    assert "send() on the client → EPIPE (BrokenPipeError)" in visible(e.error.value)


def test_the_python_api_raises_what_the_model_raises():
    e = sockets_explorer()
    e.socket_call("server", "listen")
    with pytest.raises(BlockingIOError) as err:
        e.socket_call("server", "accept")
    assert err.value.errno == errno.EAGAIN
    e.socket_call("client", "connect")
    e.net.settle()
    e.refresh()
    assert e.socket_call("server", "accept").result == "fd 4"
    step = e.socket_call("server", "close", fd=3)   # a descriptor by number: the listener
    assert step.socket == "server:80" and step.after is S.CLOSED
    assert picked(e, "server") == "fd 4 :40000 ESTABLISHED"
    with pytest.raises(ValueError, match=r"has no open descriptor 3 \(open: 4\)"):
        e.socket_call("server", "recv", fd=3)
    with pytest.raises(ValueError, match="the client's socket calls are connect, send"):
        e.socket_call("client", "accept")
    with pytest.raises(ValueError, match="no host 'router'"):
        e.socket_call("router", "close")
    with pytest.raises(ValueError, match="use call()"):
        explorer("handshake").socket_call("client", "close")


def test_sockets_made_in_code_are_listed_and_picked_on_refresh():
    e = connected()
    c2 = e.net.socket("client")
    c2.connect(("server", 80))
    e.refresh()
    assert picked(e, "client") == "fd 4 :40001 SYN-SENT"
    e.socket_calls["client"].pick.value = 3         # the learner picks the first again
    assert e.socket_calls["client"].buttons["close"].tooltip.startswith(
        "close() on fd 3 (client:40000-server:80)")
    click(e, "client", "close")
    assert e.net.history[-1].socket == "client:40000-server:80"


def test_a_socket_story_loads_with_its_sockets_listed():
    e = explorer("backlog-overflow")
    ref = scenarios.get("backlog-overflow").run()
    assert [label for label, _ in e.socket_calls["server"].pick.options] == [
        socket_label(s, {("server", 80)}) for s in ref.sockets("server")]
    assert picked(e, "server") == "fd 7 :40003 ESTABLISHED"
    e.restart_button.click()                        # its step 0: no socket yet
    assert picked(e, "server") == "no socket"
    e.redo_button.click()                           # its first step: the server's socket()
    assert picked(e, "server") == "fd 3 CLOSED"


def test_perform_and_refusal_html_on_their_own():
    net = SocketNetwork()
    with pytest.raises(ValueError, match="the socket calls are connect, listen, accept"):
        perform(net, "client", "bind", None)
    with pytest.raises(ValueError, match=r"accept\(\) needs a socket, and the server has "
                                         r"none: listen\(\) first"):
        perform(net, "server", "accept", None)
    exc = ConnectionRefusedError(errno.ECONNREFUSED, "[ECONNREFUSED] nobody listens.")
    assert visible(refusal_html("client", "connect", exc)) == (
        "connect() on the client → ECONNREFUSED (ConnectionRefusedError) : nobody listens. "
        "Refused: nothing changed.")
    assert "&lt;b&gt;" in refusal_html("x<b>", "close", OSError(errno.EBADF, "<b>"))


def test_doctests_of_the_socket_calls_the_explorer_and_the_cards():
    import doctest
    import importlib
    for name in ("tcplab.ui.socket_buttons", "tcplab.ui.explorer", "tcplab.ui.cards"):
        res = doctest.testmod(importlib.import_module(name))   # (tcplab.ui.explorer is
        assert res.failed == 0 and res.attempted >= 3, name     # also the function)
