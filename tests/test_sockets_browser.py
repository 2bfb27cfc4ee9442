"""The widgets of hosts with sockets on a learner's screen: JupyterLab in Chromium at
1366 x 768, light and dark, as ``test_browser.py`` checks the two-endpoint widgets.

The stepper of the ``backlog-overflow`` story (a listener with backlog 1, four clients) is
stepped to where both hosts' ``ss -tano`` lines carry timers (the longest lines of the run);
then the two host badges must share one row, no text may be under 11 px, nothing may
scroll inside the widget, and the ladder's "now" must be on screen.  The same for the
explorer's two host cards.  Then a learner's own run with the explorer's socket-call
buttons, from no socket at all: the server listens, accept() on the empty queue is refused
with EAGAIN (and changes nothing), the client connects, the server accepts, the client
sends, the server recv()s the bytes, the client sends more, the server close()s with
them unread (RST), and the client's recv() gets ECONNRESET; at 1366 x 768 and 1920 x 1080
the two cards share a row, their rows of calls and the toolbar do not wrap, no text is
under 11 px and nothing scrolls.  Screenshots go to ``$TCPLAB_SHOTS`` (``sockets-*.png``).
"""

from __future__ import annotations

import json

import pytest
from test_browser import (BOXES, SCROLLERS, SMALLEST_TEXT, TOKEN, UI_TIMEOUT,  # noqa: F401
                          browser, playwright_api, serve_lab, shot)

from tcplab import scenarios

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NB = {"cells": [
    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
     "source": "from tcplab.ui import explorer, stepper\nstepper('backlog-overflow')"},
    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
     "source": "explorer('backlog-overflow')"}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5}
CALLS_NB = {"cells": [
    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
     "source": "from tcplab import Config\nfrom tcplab.sockets import SocketNetwork\n"
               "from tcplab.ui import explorer\n"
               "explorer(SocketNetwork(isn={'client': 100, 'server': 300}, "
               "config=Config.linux()))"}],
    "metadata": NB["metadata"], "nbformat": 4, "nbformat_minor": 5}
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}

# JS: per ss block inside ``root``, [its text lines, the lines it takes on screen].
SS_LINES = """(root) => [...document.querySelectorAll(root + ' .t-ss pre')].map(pre => {
  const cs = getComputedStyle(pre);
  const inner = pre.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
  return [pre.textContent.split('\\n').length, Math.round(inner / parseFloat(cs.lineHeight))];
})"""


def _widest_step() -> int:
    """The step after which the two hosts' ss lines are longest (timers on both)."""
    net = scenarios.get("backlog-overflow").run()
    best, at = 0, 1
    for k in range(1, len(net.history) + 1):
        r = net.replay(k)
        r.clock.now = net.history[k - 1].time
        width = sum(max(map(len, r.ss(h, timers=True).splitlines())) for h in net.names)
        if width > best:
            best, at = width, k
    return at


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("sockets-nb")
    (root / "sockets.ipynb").write_text(json.dumps(NB))
    (root / "socket-calls.ipynb").write_text(json.dumps(CALLS_NB))
    with serve_lab(root, tmp_path_factory.mktemp("jupyter-home")) as base:
        yield base


def _open(page, lab: str, notebook: str, theme: str) -> None:
    page.goto(f"{lab}/lab/tree/{notebook}?token={TOKEN}&reset")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=UI_TIMEOUT)
    playwright_api.expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")
                          ).to_be_visible(timeout=UI_TIMEOUT)
    page.evaluate("""async (theme) => {
        const app = window.jupyterapp;
        app.shell.collapseLeft(); app.shell.collapseRight();
        await app.commands.execute('apputils:change-theme', {theme});
    }""", THEMES[theme])
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.locator(".t-explorer .t-ladder svg").first.wait_for(timeout=UI_TIMEOUT * 2)


@pytest.mark.parametrize("theme", list(THEMES))
def test_host_badges_with_ss_fit_one_laptop_screen(lab, browser, theme):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _open(page, lab, "sockets.ipynb", theme)
        k = _widest_step()
        for root in (".t-stepper", ".t-explorer"):
            w = page.locator(root).first
            w.locator(".tl-bar").first.evaluate("e => e.scrollIntoView({block: 'start'})")
            if root == ".t-stepper":
                for i in range(k):
                    w.locator("button.t-step").click()
                    page.wait_for_function(
                        "(i) => document.querySelector('.t-stepper .t-ladder svg')"
                        ".getAttribute('data-upto') === String(i)", arg=i, timeout=UI_TIMEOUT)
                assert "timer:(" in w.locator(".t-ss-client").inner_text()
                assert "timer:(" in w.locator(".t-ss-server").inner_text()
            page.wait_for_timeout(200)
            shot(page, f"sockets-{theme}-{root[3:]}.png")
            (px, what), (spx, swhat) = page.evaluate(SMALLEST_TEXT, root)
            assert min(px, spx) >= 11, f"{root}: text under 11 px: {what} {px}, {swhat} {spx}"
            assert page.evaluate(SCROLLERS, root) == [], "something scrolls inside the widget"
            client, server = page.evaluate(BOXES, [root, [".t-badge-client", ".t-badge-server"]])
            assert abs(client[0] - server[0]) < 2, f"{root}: the host badges do not share a row"
            # and every ss line is one line on screen (none wrapped for want of room)
            for rows, shown in page.evaluate(SS_LINES, root):
                assert rows == shown, f"{root}: {rows} ss lines take {shown} lines on screen"
            if root == ".t-stepper":
                (now,) = page.evaluate(BOXES, [root, [".t-ladder svg #now"]])
                assert now is not None and 0 <= now[0] <= 768, f"'now' off screen: {now}"
        assert not errors, errors
    finally:
        ctx.close()


# JS: the tops of the visible children of each element matching ``sel`` inside ``root``.
ROW_TOPS = """([root, sel]) => [...document.querySelectorAll(root + ' ' + sel)].map(row =>
  [...row.children].filter(e => e.offsetParent)
                   .map(e => Math.round(e.getBoundingClientRect().top)))"""


def _picked(w, host: str) -> str:
    """The socket picked in a host's list, as shown (ipywidgets writes its spaces as
    no-break spaces)."""
    return w.locator(f".t-sock-pick-{host} select").evaluate(
        "s => s.options[s.selectedIndex].text").replace("\xa0", " ")


def _check_screen(page, root: str, tag: str, height: int) -> None:
    (px, what), (spx, swhat) = page.evaluate(SMALLEST_TEXT, root)
    assert min(px, spx) >= 11, f"{tag}: text under 11 px: {what} {px}, {swhat} {spx}"
    assert page.evaluate(SCROLLERS, root) == [], f"{tag}: something scrolls inside the widget"
    client, server, bar, explain = page.evaluate(BOXES, [root, [
        ".t-endpoint-client", ".t-endpoint-server", ".tl-bar", ".t-explain"]])
    assert abs(client[0] - server[0]) < 2, f"{tag}: the host cards do not share a row"
    assert bar[0] >= 0 and explain[1] <= height + 1, f"{tag}: bar {bar}, explanation {explain}"
    for tops in page.evaluate(ROW_TOPS, [root, ".tl-bar"]) + \
            page.evaluate(ROW_TOPS, [root, ".tl-sock-calls"]):
        assert max(tops) - min(tops) < 12, f"{tag}: a row of buttons wraps ({tops})"


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_socket_calls_by_button_from_listen_to_connection_reset(lab, browser, size):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    expect = playwright_api.expect
    root = ".t-explorer"
    tag = f"{size[0]}x{size[1]}"
    try:
        _open(page, lab, "socket-calls.ipynb", "light")
        w = page.locator(root).first
        w.locator(".tl-bar").first.evaluate("e => e.scrollIntoView({block: 'start'})")
        explain, error = w.locator(".t-explain"), w.locator(".t-error")
        ss = {h: w.locator(f".t-ss-{h}") for h in ("client", "server")}

        def click(host: str, call: str) -> None:
            w.locator(f"button.t-sock-{host}-{call}").click()

        def next_events(n: int) -> None:
            for _ in range(n):
                steps = explain.inner_text()
                w.locator("button.t-next-event").click()
                expect(explain).not_to_have_text(steps, timeout=UI_TIMEOUT)

        # nothing to call a socket's calls on yet: only listen() and connect() are on
        assert w.locator("button.t-sock-server-accept").is_disabled()
        assert not w.locator("button.t-sock-server-listen").is_disabled()
        assert _picked(w, "server") == "no socket"
        click("server", "listen")
        expect(ss["server"]).to_contain_text("LISTEN 0 5 0.0.0.0:80", timeout=UI_TIMEOUT)
        assert _picked(w, "server") == "fd 3 :80 LISTEN"
        # accept() on an empty queue: EAGAIN, one line, no traceback, nothing recorded
        steps = explain.inner_text()
        click("server", "accept")
        expect(error.locator(".t-refused")).to_contain_text("accept() on the server → EAGAIN",
                                                            timeout=UI_TIMEOUT)
        assert "Traceback" not in error.inner_text() and explain.inner_text() == steps
        w.locator(".tl-bar").first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(200)
        shot(page, f"sockets-calls-{tag}-eagain.png")
        click("client", "connect")
        expect(ss["client"]).to_contain_text("SYN-SENT", timeout=UI_TIMEOUT)
        assert not error.is_visible()                  # a call that is made clears it
        next_events(3)                                 # SYN, SYN,ACK, ACK
        expect(ss["server"]).to_contain_text("LISTEN 1 5", timeout=UI_TIMEOUT)
        click("server", "accept")
        expect(explain).to_contain_text("the call returned fd 4", timeout=UI_TIMEOUT)
        expect(ss["server"]).to_contain_text("LISTEN 0 5", timeout=UI_TIMEOUT)
        assert _picked(w, "server") == "fd 4 :40000 ESTABLISHED"
        w.locator(".t-sock-data-client input").fill("GET /")
        click("client", "send")
        expect(explain).to_contain_text("the call returned 5", timeout=UI_TIMEOUT)
        next_events(2)                                 # the data, its ACK
        click("server", "recv")
        expect(explain).to_contain_text("the call returned b'GET /' (5 bytes)",
                                        timeout=UI_TIMEOUT)
        w.locator(".t-sock-data-client input").fill("more")
        click("client", "send")
        expect(explain).to_contain_text("the call returned 4", timeout=UI_TIMEOUT)
        next_events(2)
        expect(ss["server"]).to_contain_text("ESTAB 4 0 10.0.0.2:80", timeout=UI_TIMEOUT)
        w.locator(".tl-bar").first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(200)
        shot(page, f"sockets-calls-{tag}-unread.png")
        _check_screen(page, root, tag, size[1])
        click("server", "close")                       # 4 bytes unread: RST, not FIN
        expect(explain).to_contain_text("CTL=RST,ACK", timeout=UI_TIMEOUT)
        assert _picked(w, "server") == "fd 3 :80 LISTEN"
        next_events(1)
        expect(ss["client"]).not_to_contain_text("ESTAB", timeout=UI_TIMEOUT)
        click("client", "recv")
        expect(explain).to_contain_text("the call returned ECONNRESET", timeout=UI_TIMEOUT)
        assert not error.is_visible()                  # a recorded result, not a refusal
        w.locator(".tl-bar").first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(200)
        shot(page, f"sockets-calls-{tag}-reset.png")
        _check_screen(page, root, tag, size[1])
        # Undo takes the recv() back; the client's socket is there to call again
        w.locator("button.t-undo").click()
        expect(explain).to_contain_text("client: rcv RST,ACK", timeout=UI_TIMEOUT)
        assert _picked(w, "client") == "fd 3 :40000 CLOSED"
        assert not errors, errors
    finally:
        ctx.close()
