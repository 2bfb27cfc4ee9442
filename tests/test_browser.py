"""The notebooks in a real browser: JupyterLab (headless, 127.0.0.1) driven in Chromium.

Follows ../shared/recipes/jupyterlab-browser-tests.md: Debian's Chromium through Playwright's
``executable_path`` (never ``playwright install``), flags that keep Chromium off the network,
and isolated Jupyter config.  The notebooks are served from a *copy*, so JupyterLab's
autosave can never write outputs into the repository.

What a learner does, we do: run every notebook, click the stepper's Step button and check
that the state badges and the highlighted diagram nodes follow the model, and make two FINs
cross in the free-exploration widget.  Screenshots go to ``$TCPLAB_SHOTS`` (default
``out/screenshots``); click-to-updated-diagram latency is printed (a measurement, not an
assertion).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tcplab import TcpState, scenarios

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/lib/chromium/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
SHOTS = Path(os.environ.get("TCPLAB_SHOTS", ROOT / "out" / "screenshots"))
TOKEN = "tcplab-browser-test"
UI_TIMEOUT = 90_000  # ms; typical waits are 0.1-4 s (recipe), this is generous for 2 busy cores
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))

if not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium not found at {CHROMIUM}: browser tests skipped (install the Debian "
                "package 'chromium'; scripts/test.sh does so when it may use apt)",
                allow_module_level=True)
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the 'playwright' Python package is not installed "
    "(pip install -e '.[dev]')")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of notebooks/, with isolated config; stopped afterwards."""
    root = tmp_path_factory.mktemp("notebooks")
    for nb in NOTEBOOKS:
        shutil.copy2(ROOT / "notebooks" / nb, root / nb)
    home = tmp_path_factory.mktemp("jupyter-home")
    (home / "config" / "labconfig").mkdir(parents=True)
    (home / "config" / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"))
    port = _free_port()
    cmd = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser",
           "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
           "--LabApp.news_url=None", "--LabApp.expose_app_in_browser=True",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "lab.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited:\n{(home / 'lab.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("jupyter lab did not start within 120 s")
            time.sleep(0.2)
        yield base
    finally:
        try:
            req = urllib.request.Request(f"{base}/api/shutdown?token={TOKEN}", method="POST")
            urllib.request.urlopen(req, timeout=5).close()
            proc.wait(timeout=20)
        except Exception:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
        log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.page_errors = errors  # type: ignore[attr-defined]
    yield pg
    ctx.close()


def open_and_run_all(page, base: str, notebook: str) -> None:
    """Open ``notebook``, wait for the kernel, run all cells and wait until all have run."""
    expect = playwright_api.expect
    page.goto(f"{base}/lab/tree/{notebook}?token={TOKEN}&reset")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=UI_TIMEOUT)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(
        timeout=UI_TIMEOUT)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # every code cell gets an execution count: no "[ ]:" and no "[*]:" prompts remain
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", timeout=UI_TIMEOUT * 2)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(
        timeout=UI_TIMEOUT)


def assert_no_errors(page) -> None:
    errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    texts = [errors.nth(i).inner_text()[:500] for i in range(errors.count())]
    assert not texts, f"error/stderr output in the notebook: {texts}"
    assert not page.page_errors, f"JavaScript errors: {page.page_errors}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab_without_errors(lab, page, notebook):
    open_and_run_all(page, lab, notebook)
    assert_no_errors(page)
    # every widget rendered (no "Loading widget..." / model-not-found placeholders)
    assert page.locator(".jp-OutputArea-output", has_text="Error displaying widget").count() == 0
    shot(page, notebook.replace(".ipynb", ".png"))


# JS: the states of the nodes highlighted for one endpoint in the stepper's inline SVG.
HIGHLIGHTED = """([root, who]) => {
  const svg = document.querySelectorAll(root + ' .t-diagram svg');
  if (!svg.length) return null;
  const g = [...svg[0].querySelectorAll('g.current-' + who)];
  return g.map(n => [...n.classList].find(c => c.startsWith('state-')).slice(6)).join(',');
}"""


def test_stepper_follows_the_model_in_the_browser(lab, page):
    open_and_run_all(page, lab, "01-overview.ipynb")
    root = ".t-stepper >> nth=0"
    stepper = page.locator(".t-stepper").first
    stepper.scroll_into_view_if_needed()
    history = scenarios.get("handshake").run().history   # what the notebook's stepper shows
    step_button = stepper.locator("button.t-step")
    latencies = []
    for k in range(1, len(history) + 1):
        expected = dict(history[k - 1].states)
        t0 = time.perf_counter()
        step_button.click()
        for who, state in expected.items():
            page.wait_for_function(
                f"(args) => ({HIGHLIGHTED})(args) === {json.dumps(state.name)}",
                arg=[".t-stepper", who], timeout=UI_TIMEOUT)
        latencies.append(time.perf_counter() - t0)
        for who, state in expected.items():     # the badge is a separate widget message
            badge = page.locator(f".t-stepper .t-badge-{who} .tl-state").first
            playwright_api.expect(badge).to_have_text(state.rfc, timeout=UI_TIMEOUT)
        shot(page, f"stepper-step{k}.png") if k in (1, len(history)) else None
    stepper.screenshot(path=str(SHOTS / "stepper.png"))
    assert_no_errors(page)
    print(f"\nclick -> diagram updated in the browser: median {statistics.median(latencies)*1e3:.0f} ms "
          f"(min {min(latencies)*1e3:.0f}, max {max(latencies)*1e3:.0f}, n={len(latencies)})")


def _click(page, root, selector: str) -> None:
    page.locator(f"{root} {selector}").first.click()


def _deliver(page, explorer, src: str, dst: str, flags: str) -> None:
    row = explorer.locator(".t-wire-row", has_text=f"{src} → {dst}").filter(has_text=flags).first
    row.locator("button.t-deliver").click()


def _wait_badge(page, explorer, who: str, state: TcpState) -> None:
    badge = explorer.locator(f".t-badge-{who} .tl-state").first
    playwright_api.expect(badge).to_have_text(state.rfc, timeout=UI_TIMEOUT)


def test_explorer_make_two_fins_cross(lab, page):
    open_and_run_all(page, lab, "04-simultaneous.ipynb")
    explorer = page.locator(".t-explorer").first
    explorer.scroll_into_view_if_needed()
    S = TcpState
    # open the connection by hand: listen, connect, then deliver SYN, SYN,ACK, ACK
    explorer.locator("button.t-call-server-listen").click()
    explorer.locator("button.t-call-client-connect").click()
    _deliver(page, explorer, "client", "server", "CTL=SYN>")
    _deliver(page, explorer, "server", "client", "CTL=SYN,ACK")
    _deliver(page, explorer, "client", "server", "CTL=ACK")
    _wait_badge(page, explorer, "client", S.ESTABLISHED)
    _wait_badge(page, explorer, "server", S.ESTABLISHED)
    # a call that is not possible now is disabled and says why
    listen = explorer.locator("button.t-call-client-listen")
    assert listen.is_disabled() and "already exists" in (listen.get_attribute("title") or "")
    # both close before either FIN arrives: the FINs cross
    explorer.locator("button.t-call-client-close").click()
    explorer.locator("button.t-call-server-close").click()
    _wait_badge(page, explorer, "client", S.FIN_WAIT_1)
    _wait_badge(page, explorer, "server", S.FIN_WAIT_1)
    _deliver(page, explorer, "server", "client", "FIN,ACK")
    _wait_badge(page, explorer, "client", S.CLOSING)
    _deliver(page, explorer, "client", "server", "FIN,ACK")
    _wait_badge(page, explorer, "server", S.CLOSING)
    shot(page, "explorer-closing.png")
    _deliver(page, explorer, "server", "client", "CTL=ACK")
    _deliver(page, explorer, "client", "server", "CTL=ACK")
    _wait_badge(page, explorer, "client", S.TIME_WAIT)
    _wait_badge(page, explorer, "server", S.TIME_WAIT)
    explorer.screenshot(path=str(SHOTS / "explorer-time-wait.png"))
    assert explorer.locator(".t-error").first.inner_text().strip() == ""
    assert_no_errors(page)
