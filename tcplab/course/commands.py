"""The learner's two commands: ``tcplab notebooks [DIR]`` and ``tcplab lab [DIR]``.

``notebooks`` copies the lessons, the field guide and the student assignments into DIR
(:func:`tcplab.course.lessons.copy_lessons`: a learner's edited files are never overwritten);
``lab`` does the same and then opens JupyterLab on DIR, running ``python -m jupyterlab`` with
this Python (so the kernel sees this tcplab).  Everything from the first option after
``lab [DIR]`` on goes to JupyterLab, e.g. ``tcplab lab my-lessons --no-browser --port 8890``.

Built on :mod:`argparse`, :func:`os.execv` and :mod:`subprocess`; :mod:`tcplab.cli` hands these subcommands
over to :func:`main`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from .lessons import copy_lessons, find_lessons

__all__ = ["DEFAULT_DIR", "build_parser", "open_lab", "main"]

#: The folder both commands use when none is given.
DEFAULT_DIR = "tcplab-lessons"

_NEEDS_OTTER = ("The assignments (in assignments/) check themselves with otter-grader, which "
                "is not installed here: pip install 'tcplab[assignments]'")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``tcplab notebooks`` and ``tcplab lab``."""
    parser = argparse.ArgumentParser(
        prog="tcplab",
        description="Put tcplab's lessons, field guide and student assignments in a folder "
                    "of your own.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
            ("notebooks", "copy the lessons, the field guide and the student assignments "
                          "into DIR; files you changed there are never overwritten"),
            ("lab", "the same, then open JupyterLab in DIR; the options after DIR go to "
                    "JupyterLab (e.g. tcplab lab DIR --no-browser --port 8890)")):
        p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        p.add_argument("dir", nargs="?", default=DEFAULT_DIR, metavar="DIR",
                       help=f"the folder for the lessons (created if needed; default: "
                            f"{DEFAULT_DIR})")
    return parser


def open_lab(folder: "str | os.PathLike[str]", jupyter_args: Sequence[str] = (),
             notebook: "str | os.PathLike[str] | None" = None) -> int:
    """Run JupyterLab on ``folder`` with this Python, opening ``notebook`` (a path inside
    ``folder``) if one is given.

    On POSIX systems this process becomes JupyterLab (:func:`os.execv`), so signals (Ctrl-C,
    a service manager's SIGTERM) reach the server itself and nothing is left running;
    elsewhere JupyterLab runs as a child and its exit status is returned.  Adds
    ``--allow-root`` when running as root (JupyterLab refuses otherwise).  Raises
    :class:`ModuleNotFoundError` with the install command if JupyterLab is not installed.
    """
    if importlib.util.find_spec("jupyterlab") is None:
        raise ModuleNotFoundError("JupyterLab is not installed in this Python "
                                  f"({sys.executable}): pip install jupyterlab")
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={os.fspath(folder)}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    if notebook is not None:
        cmd.append(os.fspath(Path(notebook).resolve()))
    cmd += list(jupyter_args)
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, cmd)       # does not return
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:          # Ctrl-C reached JupyterLab too; it has shut down
        return 130


def _explain(exc: Exception, folder: str) -> str:
    """One line for a failed copy: our own messages as they are, the system's with the path."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"cannot put the lessons in DIR {folder!r}: {exc.strerror}{where}"
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """``tcplab notebooks [DIR]`` / ``tcplab lab [DIR] [JUPYTER OPTIONS]``; returns the exit
    status (2 with an ``error:`` line for a bad DIR)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if argv and argv[0] == "lab":       # from the first option on, it is JupyterLab's
        cut = next((i for i, a in enumerate(argv[1:], 1)
                    if a.startswith("-") and a not in ("-h", "--help")), len(argv))
        argv, extra = argv[:cut], argv[cut:]
    args = parser.parse_args(argv)
    try:
        report = copy_lessons(args.dir, find_lessons())
    except (OSError, ValueError) as exc:
        parser.exit(2, f"tcplab {args.command}: error: {_explain(exc, args.dir)}\n")
    print(report.summary())
    if importlib.util.find_spec("otter") is None:
        print(_NEEDS_OTTER)
    if args.command == "notebooks":
        print(f"Open them with: tcplab lab {args.dir}")
        return 0
    # A first visit opens the first lesson; later ones let JupyterLab restore the learner's tabs.
    first = next((rel for rel in report.copied if "/" not in rel and rel.endswith(".ipynb")),
                 None)
    try:
        return open_lab(report.dest, extra, report.dest / first if first else None)
    except ModuleNotFoundError as exc:
        parser.exit(2, f"tcplab lab: error: {exc}\n")
