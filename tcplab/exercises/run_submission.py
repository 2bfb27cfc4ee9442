"""Run one submitted notebook and hand back its answers as plain data: the program that
runs *inside* the sandbox (``python -m tcplab.exercises.run_submission``).

It reads a request (JSON on stdin)::

    {"notebook": {...the .ipynb JSON...},
     "names": ["q1", "next_state", ...],          # the answers the tests read
     "calls": [["ESTABLISHED", "CLOSE"], ...]}    # how to call a function answer

runs the notebook's code cells in order in one IPython shell (as Jupyter would: magics
work, a cell that raises does not stop the rest), then writes one JSON document to the
stdout it started with::

    {"answers": {"q1": <encoded>, ...}, "missing": ["q2"], "errors": ["cell 7: NameError: ..."]}

Answers are encoded by :func:`tcplab.exercises.answer_data.encode`; whatever the notebook
prints goes nowhere.  otter's own cells (``import otter`` or
``from tcplab.exercises.selfcheck import Notebook``, ``grader = ...Notebook(...)``,
``grader.check(...)``, ``grader.export(...)``) and cells tagged ``otter_ignore`` are
skipped, and ``grader`` is a stand-in that does nothing, as in otter's grading mode.

Before any submission code runs, the runner lowers its own resource limits (file size,
core dumps, address space) so that neither it nor its children can raise them again.
It uses IPython's ``InteractiveShell`` rather than a Jupyter kernel: the same cell
semantics without a kernel process and its sockets, which a sandbox without a network
would have to allow.
"""

from __future__ import annotations

import ast
import json
import os
import resource
import sys
from typing import Any

from .answer_data import AnswerDataError, encode

__all__ = ["run", "main", "LIMITS"]

#: Resource limits of the notebook's process (and its children): bytes per file written,
#: bytes of address space, core dump size, processes (of this user in the sandbox's user
#: namespace: a fork bomb stops there).
LIMITS = {resource.RLIMIT_FSIZE: 32 << 20, resource.RLIMIT_AS: 3 << 30,
          resource.RLIMIT_CORE: 0, resource.RLIMIT_NPROC: 256}


class _NoGrader:
    """``grader`` while grading: every method is accepted and does nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _is_otter_cell(source: str) -> bool:
    """Only otter's own statements: ``import otter``, ``grader = otter.Notebook(...)``,
    ``grader.check(...)``/``check_all()``/``export(...)``."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False

    def otter_statement(node: ast.stmt) -> bool:
        if isinstance(node, ast.Import):
            return all(a.name == "otter" for a in node.names)
        if isinstance(node, ast.ImportFrom):
            return node.module == "tcplab.exercises.selfcheck"
        if isinstance(node, ast.Assign):
            return (len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == "grader")
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            f = node.value.func
            return (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                    and f.value.id == "grader")
        return False

    return bool(body) and all(otter_statement(n) for n in body)


def run(notebook: dict, names: list[str], calls: list[tuple[str, str]]) -> dict:
    """Run ``notebook``'s code cells; the answers called ``names``, encoded."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.user_ns["grader"] = _NoGrader()
    errors = []
    for i, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        tags = cell.get("metadata", {}).get("tags", [])
        if "otter_ignore" in tags or _is_otter_cell(source):
            continue
        result = shell.run_cell(source, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            errors.append(f"cell {i}: {type(error).__name__}: {str(error)[:200]}")
    answers, missing = {}, []
    for name in names:
        if name not in shell.user_ns:
            missing.append(name)
            continue
        try:
            answers[name] = encode(shell.user_ns[name], calls=calls)
        except AnswerDataError as exc:
            errors.append(f"{name}: {exc}")
            missing.append(name)
    return {"answers": answers, "missing": missing, "errors": errors}


def main() -> None:
    for limit, value in LIMITS.items():
        soft, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, value))
    request = json.load(sys.stdin)
    result_fd = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(0)
    try:
        result = run(request["notebook"], list(request["names"]),
                     [tuple(c) for c in request.get("calls", [])])
        data = json.dumps(result).encode()
    except BaseException as exc:  # noqa: BLE001 - report it, whatever the notebook did
        data = json.dumps({"failed": f"{type(exc).__name__}: {str(exc)[:300]}"}).encode()
    with os.fdopen(result_fd, "wb") as out:
        out.write(data)
    os._exit(0)     # no atexit hooks or threads of the notebook's run after the answers


if __name__ == "__main__":
    main()
