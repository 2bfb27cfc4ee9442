"""A student's notebook in a real JupyterLab (headless Chromium, as in test_browser.py): the
export cell saves before it zips, so the zip holds what the student sees, and a failing
``grader.check`` says why in the checker's one line.
"""

from __future__ import annotations

import shutil
import time
import zipfile
from pathlib import Path

import pytest

from test_browser import (TOKEN, UI_TIMEOUT, browser,  # noqa: F401 (fixtures)
                          page, playwright_api, serve_lab, shot)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
NAME = "a1-predict-decode"


@pytest.fixture()
def student_lab(tmp_path):
    """JupyterLab serving a copy of the a1 student notebook, with isolated config."""
    root = tmp_path / "work"
    root.mkdir()
    shutil.copy2(ROOT / "assignments" / "student" / f"{NAME}.ipynb", root)
    with serve_lab(root, tmp_path / "jupyter-home") as base:
        yield base, root


def test_export_saves_first_and_a_failing_check_is_one_line(student_lab, page):
    base, root = student_lab
    expect = playwright_api.expect
    page.goto(f"{base}/lab/tree/{NAME}.ipynb?token={TOKEN}&reset")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=UI_TIMEOUT)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(
        timeout=UI_TIMEOUT)
    # the student types an answer and does not save
    typed = "q1 = 'typed in the browser, never saved'"
    readable = "q2 = [('CLOSED', 'CLOSED')] * 8"
    found = page.evaluate("""(answers) => {
        const cells = window.jupyterapp.shell.currentWidget.content.widgets;
        return answers.map(([start, source]) => {
            const i = cells.findIndex(c => c.model.sharedModel.getSource().startsWith(start));
            if (i >= 0) cells[i].model.sharedModel.setSource(source);
            return i; }); }""", [["q1 = ...", typed], ["q2 = ...", readable]])
    assert min(found) > 0, found
    assert typed not in (root / f"{NAME}.ipynb").read_text()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + UI_TIMEOUT / 1000 * 2
    while not list(root.glob(f"{NAME}_*.zip")):
        assert time.monotonic() < deadline, "the export cell made no zip"
        time.sleep(0.5)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(
        timeout=UI_TIMEOUT)
    with zipfile.ZipFile(next(root.glob(f"{NAME}_*.zip"))) as z:
        exported = z.read(f"{NAME}.ipynb").decode()
    assert typed in exported and readable in exported      # saved, then zipped
    outputs = page.locator(".jp-OutputArea-output")
    text = "\n".join(outputs.nth(i).inner_text() for i in range(outputs.count()))
    assert "without encryption" not in text and "Couldn't automatically save" not in text
    assert "❌ Test case failed: ? Cannot check this answer [predict/open-and-close]" in text
    assert "Trying:" not in text and "Traceback" not in text
    assert "Only the form of the answer was checked" in text      # q2's passing form check
    page.evaluate("""async () => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        const i = nb.widgets.findIndex(c => c.model.sharedModel.getSource() === 'grader.check("q1")');
        nb.activeCellIndex = i - 1;
        await nb.scrollToItem(i - 1, 'start'); }""")
    page.locator(".jp-OutputArea-output", has_text="Test case failed").first.wait_for(
        timeout=UI_TIMEOUT)
    shot(page, "grading-check.png")
