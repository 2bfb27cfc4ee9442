"""The widgets of hosts with sockets on a learner's screen: JupyterLab in Chromium at
1366 x 768, light and dark, as ``test_browser.py`` checks the two-endpoint widgets.

The stepper of the ``backlog-overflow`` story (a listener with backlog 1, four clients) is
stepped to where both hosts' ``ss -tano`` lines carry timers (the longest lines of the run);
then the two host badges must share one row, no text may be under 11 px, nothing may
scroll inside the widget, and the ladder's "now" must be on screen.  The same for the
explorer's two host cards.  Screenshots go to ``$TCPLAB_SHOTS`` (``sockets-*.png``).
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
    with serve_lab(root, tmp_path_factory.mktemp("jupyter-home")) as base:
        yield base


@pytest.mark.parametrize("theme", list(THEMES))
def test_host_badges_with_ss_fit_one_laptop_screen(lab, browser, theme):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{lab}/lab/tree/sockets.ipynb?token={TOKEN}&reset")
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
