"""The lessons in a web page with no server: the JupyterLite site, driven in Chromium.

Builds the site with ``bash scripts/build-lite.sh`` (downloads are cached in
out/lite/cache/; the first build needs PyPI and npm), serves out/lite/site with Python's
``http.server`` on 127.0.0.1 and opens it in Debian's Chromium, kept off the network as in
tests/test_browser.py.  Python then runs *in the page* (Pyodide): what a learner does, we
do -- open every lesson, run all its cells, click the stepper and the explorer and check
the highlighted diagram against the model.  Every request the browser makes (workers
included) must go to 127.0.0.1.  Printed (measurements, not assertions): the site's
size, the time until the kernel is ready, the click latencies.  Screenshots at 1366x768
go to ``$TCPLAB_SHOTS`` (default out/screenshots), named ``lite-*.png``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tcplab import Network, TcpState, scenarios

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "lite"
SITE = OUT / "site"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/lib/chromium/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
SHOTS = Path(os.environ.get("TCPLAB_SHOTS", ROOT / "out" / "screenshots"))
TIMEOUT = 180_000      # ms; the kernel is ready in 15-35 s on 2 busy cores, cells in seconds
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
MODEL_LESSONS = [n for n in LESSONS if not n.startswith("06-")]   # 06 needs real sockets
ASSIGNMENTS = sorted(p.name for p in (ROOT / "assignments" / "student").glob("*.ipynb"))

if not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium not found at {CHROMIUM}: the JupyterLite page test is skipped "
                "(install the Debian package 'chromium'; scripts/test.sh does so when it "
                "may use apt)", allow_module_level=True)
if shutil.which("npm") is None:
    pytest.skip("npm not found: scripts/build-lite.sh fetches Pyodide and viz.js with `npm "
                "pack` (install Node.js)", allow_module_level=True)
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the 'playwright' Python package is not installed "
    "(pip install -e '.[dev]')")
expect = playwright_api.expect


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site() -> Path:
    """The site, built by the one command the README gives."""
    t0 = time.perf_counter()
    done = subprocess.run(["bash", str(ROOT / "scripts" / "build-lite.sh")],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"build-lite.sh failed:\n{done.stdout}\n{done.stderr}"
    size = sum(f.stat().st_size for f in SITE.rglob("*") if f.is_file())
    print(f"\nJupyterLite site built in {time.perf_counter() - t0:.0f} s: "
          f"{size / 1e6:.1f} MB in {sum(1 for f in SITE.rglob('*') if f.is_file())} files")
    return SITE


@pytest.fixture(scope="module")
def base(site):
    """``python -m http.server`` on 127.0.0.1 serving the site; stopped by its pid."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "--directory", str(site)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/jupyter-lite.json", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("http.server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, base):
    """A fresh page at 1366x768 (a common student laptop); afterwards, every request the
    context saw (the kernel's worker included) must have gone to the site."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.page_errors = errors  # type: ignore[attr-defined]
    yield pg
    ctx.close()
    away = sorted({u for u in requests if not u.startswith((base + "/", "data:", "blob:"))})
    assert requests and not away, f"requests that left 127.0.0.1: {away}"


def open_notebook(page, base: str, path: str) -> float:
    """Open ``path`` in the page's JupyterLab; return seconds until its kernel is ready."""
    t0 = time.perf_counter()
    page.goto(f"{base}/lab/index.html?path={path}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=TIMEOUT)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="Python (Pyodide) | Idle")
           ).to_be_visible(timeout=TIMEOUT)
    return time.perf_counter() - t0


def run_all(page) -> float:
    """Run all cells; wait until every code cell has run (or one failed); seconds taken."""
    t0 = time.perf_counter()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
            const failed = document.querySelector('.jp-OutputArea-output[data-mime-type='
                + '"application/vnd.jupyter.stderr"]');
            return failed || (prompts.length > 0
                              && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)));
        }""", timeout=TIMEOUT)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(
        timeout=TIMEOUT)
    return time.perf_counter() - t0


def errors_in(page) -> list[str]:
    out = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    return [out.nth(i).evaluate("e => e.textContent")[-1500:] for i in range(out.count())]


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


@pytest.mark.parametrize("lesson", MODEL_LESSONS)
def test_lesson_runs_in_the_page(page, base, lesson):
    ready = open_notebook(page, base, lesson)
    took = run_all(page)
    assert not errors_in(page), f"{lesson}: errors in the page: {errors_in(page)}"
    assert page.locator(".jp-OutputArea-output", has_text="Error displaying widget").count() == 0
    assert not page.page_errors, f"JavaScript errors: {page.page_errors}"
    # the pictures are there: the state diagram (shipped layout) and the SVG ladder
    pictures = page.locator(".jp-OutputArea-output svg.tcplab-state-diagram, "
                            ".jp-OutputArea-output svg.tcplab-ladder, "
                            ".jp-OutputArea-output img[src^='data:image/svg+xml']")
    draws = any(w in (ROOT / "notebooks" / lesson).read_text()
                for w in ("StateDiagram", "ladder(", "stepper(", "explorer("))
    assert pictures.count() > 0 or not draws, f"{lesson} draws pictures, none showed"
    print(f"\n{lesson}: kernel ready {ready:.1f} s after opening the page, all cells ran "
          f"in {took:.1f} s, {pictures.count()} pictures")
    if pictures.count():
        pictures.first.scroll_into_view_if_needed()
        page.wait_for_timeout(800)             # let the notebook paint what scrolled in
    shot(page, f"lite-{lesson.replace('.ipynb', '.png')}")


def test_real_sockets_lesson_says_it_needs_a_machine_and_runs_its_model_half(page, base):
    lesson = next(n for n in LESSONS if n.startswith("06-"))
    open_notebook(page, base, lesson)
    first = page.locator(".jp-NotebookPanel .jp-Cell").first
    expect(first).to_contain_text("This notebook needs a real machine")
    shot(page, "lite-06-real-sockets.png")
    # the model half, as the first cell gives it, typed into a new cell after it
    code = next(line for line in first.inner_text().splitlines() if "run_model" in line)
    out = run_new_cell(page, "from tcplab import live\nfrom tcplab.render import ladder\n"
                       + code.strip() + "\nladder(net)")
    assert not errors_in(page), errors_in(page)
    assert out.locator("img[src^='data:image/svg+xml'], svg.tcplab-ladder").count() == 1
    shot(page, "lite-06-model-half.png")


def run_new_cell(page, code: str):
    """Type ``code`` into a new cell after the first one, run it; its output locator."""
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")                               # a new code cell below
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)                        # no auto-closed brackets
    page.keyboard.press("Shift+Enter")
    out = page.locator(".jp-NotebookPanel .jp-Cell").nth(1).locator(".jp-OutputArea-output")
    expect(out.last).to_be_visible(timeout=TIMEOUT)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(
        timeout=TIMEOUT)
    return out


def test_a_custom_diagram_style_is_laid_out_by_graphviz_in_the_page(page, base):
    open_notebook(page, base, LESSONS[0])
    out = run_new_cell(page, """\
from tcplab.render import StateDiagram
from tcplab.render.diagram import viz
try:
    StateDiagram(["figure5"]).render()
except RuntimeError as exc:
    print("before:", exc)
print("Graphviz", await viz.load())
StateDiagram(["figure5"]).show(current={"client": "LISTEN"})""")
    text = " ".join(out.all_inner_texts())
    assert "before:" in text and "await viz.load()" in text, text
    assert re.search(r"Graphviz \d+\.\d+", text), text            # viz.js's version
    picture = out.locator("svg.tcplab-state-diagram")
    expect(picture).to_have_count(1)
    assert picture.locator("g.current-client").get_attribute("id") == "node-LISTEN"
    assert picture.locator("g.edge").count() > 0 and not errors_in(page)
    page.locator(".jp-NotebookPanel .jp-Cell").nth(1).scroll_into_view_if_needed()
    shot(page, "lite-custom-style.png")


#: The only errors an assignment may show in the page: no otter, hence no grader.
SELF_CHECK_ERRORS = re.compile(r"No module named 'otter'|name 'grader' is not defined")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_assignment_runs_in_the_page_but_its_self_checks(page, base, assignment):
    open_notebook(page, base, f"assignments/{assignment}")
    cells = page.locator(".jp-NotebookPanel .jp-Cell")
    expect(cells.first).to_contain_text("In this web page the self-checks do not run")
    shot(page, f"lite-{assignment.replace('.ipynb', '.png')}")
    # every cell, one after the other (Run All would stop at the first error)
    cells.first.click()
    page.keyboard.press("Escape")
    for i in range(cells.count()):
        page.keyboard.press("Shift+Enter")
        if "jp-CodeCell" in (cells.nth(i).get_attribute("class") or ""):
            expect(cells.nth(i).locator(".jp-InputPrompt")).to_have_text(
                re.compile(r"\[\d+\]"), timeout=TIMEOUT)
    errors = errors_in(page)
    assert errors and all(SELF_CHECK_ERRORS.search(e) for e in errors), errors
    answers = page.locator(".jp-OutputArea-output").count() - len(errors)
    print(f"\n{assignment}: {len(errors)} self-check cells stop (no otter), "
          f"{answers} other outputs")


# JS: the states of the nodes highlighted for one endpoint in a widget's state diagram.
HIGHLIGHTED = """([root, who]) => {
  const svg = document.querySelector(root + ' .t-diagram svg');
  if (!svg) return null;
  const g = [...svg.querySelectorAll('g.current-' + who)];
  return g.map(n => [...n.classList].find(c => c.startsWith('state-')).slice(6)).join(',');
}"""


#: The notebook in front (notebooks of earlier tests may stay open, hidden).
VISIBLE = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def _wait_highlight(page, root: str, who: str, state: TcpState) -> None:
    page.wait_for_function(f"(args) => ({HIGHLIGHTED})(args) === {json.dumps(state.name)}",
                           arg=[root, who], timeout=TIMEOUT)


def _latency(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1e3 for s in seconds)
    return (f"{name}: click -> diagram updated in the page: median "
            f"{statistics.median(ms):.0f} ms (min {ms[0]:.0f}, max {ms[-1]:.0f}, n={len(ms)})")


def test_stepper_follows_the_model_in_the_page(page, base):
    lesson = next(n for n in LESSONS if n.startswith("01-"))
    open_notebook(page, base, lesson)
    run_all(page)
    stepper = page.locator(".t-stepper").first
    stepper.scroll_into_view_if_needed()
    stepper.locator(".lm-TabBar-tab", has_text="State diagram").click()   # it is redrawn there
    history = scenarios.get("handshake").run().history   # what the lesson's stepper shows
    button = stepper.locator("button.t-step")
    took = []
    for k in range(1, len(history) + 1):
        t0 = time.perf_counter()
        button.click()
        for who, state in history[k - 1].states:
            _wait_highlight(page, VISIBLE + " .t-stepper", who, state)
        took.append(time.perf_counter() - t0)
        for who, state in history[k - 1].states:
            expect(stepper.locator(f".t-badge-{who} .tl-state").first).to_have_text(
                state.rfc, timeout=TIMEOUT)
    stepper.screenshot(path=str(SHOTS / "lite-stepper.png"))
    assert not errors_in(page) and not page.page_errors
    print("\n" + _latency("stepper", took))


def _deliver(explorer, src: str, dst: str, flags: str) -> None:
    row = explorer.locator(".t-wire-row", has_text=f"{src} → {dst}").filter(has_text=flags)
    row.first.locator("button.t-deliver").click()


def test_explorer_follows_the_model_in_the_page(page, base):
    lesson = next(n for n in LESSONS if n.startswith("04-"))
    open_notebook(page, base, lesson)
    run_all(page)
    explorer = page.locator(".t-explorer").first
    explorer.scroll_into_view_if_needed()
    explorer.locator(".lm-TabBar-tab", has_text="State diagram").click()  # redrawn there
    net = Network()              # the same moves on the model, to check the page against
    took = []

    def act(click, on_model) -> None:
        on_model()
        expected = net.states()
        t0 = time.perf_counter()
        click()
        for who, state in expected.items():
            _wait_highlight(page, VISIBLE + " .t-explorer", who, state)
        took.append(time.perf_counter() - t0)
        for who, state in expected.items():
            expect(explorer.locator(f".t-badge-{who} .tl-state").first).to_have_text(
                state.rfc, timeout=TIMEOUT)

    def call(who: str, what: str) -> None:
        act(lambda: explorer.locator(f"button.t-call-{who}-{what}").click(),
            lambda: net.call(who, what))

    def deliver(src: str, dst: str, flags: str) -> None:
        pid = next(p.id for p in net.in_flight if p.src == src and flags in str(p.segment))
        act(lambda: _deliver(explorer, src, dst, flags), lambda: net.deliver(pid))

    call("server", "listen")
    call("client", "connect")
    deliver("client", "server", "CTL=SYN>")
    deliver("server", "client", "CTL=SYN,ACK")
    deliver("client", "server", "CTL=ACK")
    call("client", "close")
    call("server", "close")                                 # the FINs cross
    deliver("server", "client", "FIN,ACK")
    deliver("client", "server", "FIN,ACK")
    assert net.states() == {"client": TcpState.CLOSING, "server": TcpState.CLOSING}
    explorer.screenshot(path=str(SHOTS / "lite-explorer.png"))
    assert explorer.locator(".t-error").first.inner_text().strip() == ""
    assert not errors_in(page) and not page.page_errors
    print("\n" + _latency("explorer", took))
