"""Write START-HERE.ipynb, the landing page of a learner's lessons folder.

Usage: ``python scripts/landing.py DIR`` (``scripts/lab.sh`` runs it after ``tcplab
notebooks DIR`` has copied the lessons there).  The page links every notebook that is in
DIR: the numbered lessons, any other notebook beside them (the field guide, once tcplab ships
it) and the student assignments in ``DIR/assignments/`` -- each under its own title, read
from its first heading, so the page never names a notebook that is not there.  It is
rewritten on every start: it is tcplab's page, not the learner's.

Built on the standard library only: a notebook is JSON (nbformat 4), written atomically.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

PAGE = "START-HERE.ipynb"


def title_of(path: Path) -> str:
    """The first Markdown heading of a notebook (``# 1 · Overview`` -> ``1 · Overview``),
    else its file name."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "markdown":
                src = "".join(cell.get("source", ""))
                m = re.search(r"^#{1,3}\s+(.+)$", src, re.MULTILINE)
                if m:
                    return m.group(1).strip()
    except (OSError, ValueError):
        pass
    return path.stem


def _links(paths: list[Path], root: Path) -> str:
    return "\n".join(f"- [{title_of(p)}]({p.relative_to(root).as_posix()})" for p in paths)


def page(folder: Path) -> dict:
    """The landing notebook (nbformat 4) for the notebooks in ``folder``."""
    notebooks = sorted(p for p in folder.glob("*.ipynb") if p.name != PAGE)
    lessons = [p for p in notebooks if re.match(r"\d\d-", p.name)]
    others = [p for p in notebooks if p not in lessons]
    assignments = sorted((folder / "assignments").glob("*.ipynb"))
    text = [
        "# tcplab: start here\n",
        "The life of a TCP connection, made visible: RFC 9293's state machine on a simulated "
        "wire, its pictures, widgets to step through it, and a lab on real Linux sockets.\n",
        "**These are your copies.** Run them, change them, save them: they live in this "
        f"folder (`{folder}`), not in tcplab's repository, so `git pull` of a new tcplab "
        "never conflicts with your work. Starting the lab again brings new and updated "
        "lessons in beside them and never overwrites a notebook you have changed.\n",
        "In a lesson, run the cells from the top (*Run → Run All Cells*). In a stepper or "
        "the explorer, click it once, then **←/→** step back and forward and **space** "
        "plays or pauses.\n",
        "## The lessons, in order\n",
        _links(lessons, folder) + "\n",
    ]
    if others:
        text += ["## Also here\n", _links(others, folder) + "\n"]
    if assignments:
        text += ["## Assignments\n",
                 "Each checks itself as you go (`grader.check(...)`); your teacher grades "
                 "the whole.\n", _links(assignments, folder) + "\n"]
    return {"cells": [{"cell_type": "markdown", "id": "start-here", "metadata": {},
                       "source": "\n".join(text)}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def write(folder: Path) -> Path:
    """Write ``folder/START-HERE.ipynb`` (atomically); its path."""
    dest = folder / PAGE
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".start-here.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(page(folder), fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit("usage: python scripts/landing.py DIR  (DIR: a folder of lessons, made by "
                 "'tcplab notebooks DIR')")
    print(f"landing page: {write(Path(sys.argv[1]).resolve())}")
