"""The documentation site: built offline by Sphinx with warnings as errors (``bash
scripts/docs.sh`` runs the same command), the lessons executed at build time with their
outputs and pictures, the instructor guide, the API reference from the docstrings and the CLI
reference from the parsers; and, in Chromium at 1366x768, no page wider than the window.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SPHINX_ARGS = ["-W", "--keep-going", "-b", "html"]
CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def test_docs_script_is_the_tested_command():
    script = ROOT / "scripts" / "docs.sh"
    assert os.access(script, os.X_OK), "scripts/docs.sh must be executable"
    command = [ln for ln in script.read_text().splitlines() if "sphinx" in ln
               and not ln.lstrip().startswith("#")]
    assert command == ['exec python -m sphinx -W --keep-going -b html docs docs/_build/html "$@"']
    assert " ".join(SPHINX_ARGS) in command[0]


def test_every_page_is_in_the_table_of_contents():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    toc = index.split("```{toctree}", 1)[1].split("```", 1)[0]
    entries = [ln.strip() for ln in toc.splitlines() if ln.strip() and ":" not in ln]
    pages = sorted(p.stem for p in DOCS.glob("*.md") if p.stem != "index")
    assert sorted(entries) == pages


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built from scratch: every lesson executed (no cache), no network."""
    pytest.importorskip("myst_nb")
    pytest.importorskip("furo")
    if not shutil.which("dot"):
        pytest.skip("Graphviz's dot is not installed (the lessons draw with it)")
    out = tmp_path_factory.mktemp("docs") / "html"
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           # offline: anything that tried the network would fail the build
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "no_proxy": "", "NO_PROXY": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", *SPHINX_ARGS, "-D", "nb_execution_mode=force",
         "-d", str(out.parent / "doctrees"), str(DOCS), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    # -W already fails on a Sphinx warning; this also catches one that -W would let through.
    # (The kernels' own "[IPKernelApp] WARNING | ..." lines on stderr are not Sphinx's.)
    assert "WARNING: " not in proc.stderr, proc.stderr[-4000:]
    return out


def _html(site: Path, page: str) -> str:
    return (site / f"{page}.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_lesson_is_rendered_with_its_outputs_and_pictures(site):
    lessons = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert lessons
    pictures = 0
    for nb in lessons:
        html = _html(site, f"lessons/{nb.stem}")
        assert html.count('class="cell_output') >= 3, f"{nb.name}: outputs missing"
        assert 'class="output traceback' not in html and "Traceback (most recent" not in html
        for src in re.findall(r'<img[^>]+src="([^"]+)"', html):
            assert (site / "lessons" / src).resolve().is_file(), f"{nb.name}: broken {src}"
            pictures += 1
    # the state diagrams and ladders the lessons draw (widgets show their static picture)
    assert pictures >= len(lessons), pictures


@pytest.mark.slow
def test_site_needs_no_network_to_read(site):
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', html)
        assert not remote, f"{page.relative_to(site)} loads {remote}"


@pytest.mark.slow
def test_instructor_guide_and_changelog(site):
    guide = _html(site, "instructors")
    assert "the instructor’s kit" in guide or "the instructor's kit" in guide
    assert "final_grades.csv" in guide
    import tcplab
    assert f"[{tcplab.__version__}]" in _html(site, "changelog")


@pytest.mark.slow
def test_api_reference_from_the_docstrings(site):
    api = _html(site, "api")
    import tcplab
    import tcplab.course
    import tcplab.exercises
    import tcplab.live
    import tcplab.render
    import tcplab.ui
    for package in (tcplab, tcplab.render, tcplab.ui, tcplab.exercises, tcplab.live,
                    tcplab.course):
        names = getattr(package, "__all__", [])
        assert names, package.__name__
        documented = [n for n in names if f'id="{package.__name__}.{n}"' in api]
        # everything public that is a class or a function has its entry
        expected = [n for n in names if callable(getattr(package, n))]
        missing = sorted(set(expected) - set(documented))
        assert not missing, f"{package.__name__}: {missing} not in the API reference"


@pytest.mark.slow
def test_cli_reference_has_every_subcommand(site):
    cli = _html(site, "cli")
    help_text = subprocess.run([sys.executable, "-m", "tcplab", "-h"], capture_output=True,
                               text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               check=True).stdout
    subcommands = re.search(r"\{([a-z,-]+)\}", help_text).group(1).split(",")
    assert {"notebooks", "lab", "grade"} <= set(subcommands)
    for name in subcommands:
        assert f'id="tcplab-{name}"' in cli, name
        assert f"usage: tcplab {name}" in cli, name


@pytest.mark.slow
@pytest.mark.browser
def test_pages_fit_a_1366x768_window(site):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Chromium is not installed (Debian package chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    pages = ["index", "lessons", "instructors", "api", "cli", "licence"] + \
        [f"lessons/{p.stem}" for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            for name in pages:
                page.goto((site / f"{name}.html").as_uri())
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 1366, f"{name}: the page is {width}px wide"
                broken = page.evaluate("""[...document.images]
                    .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)""")
                assert not broken, f"{name}: images that do not load: {broken}"
        finally:
            browser.close()
