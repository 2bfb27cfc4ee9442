"""Scoring a submission's answers with an assignment's tests, in the grader's own process.

An otter autograder zip (``otter assign`` writes it to ``RESULT/autograder/``) holds one
OK-format test file per question (``tests/q1.py``: a dict of doctest cases with points,
hidden or public).  :class:`Autograder` reads them without running them
(``ast.literal_eval``), works out which answer names they read (``q1``, ``next_state``...),
and :meth:`Autograder.score` runs them -- with otter's own test runner, so points and
partial credit are exactly otter's, and the feedback is the checkers' own words
(:func:`tcplab.exercises.selfcheck.shorten`) -- on a namespace that holds only the decoded
answers (:mod:`tcplab.exercises.answer_data`).  The checkers the tests call are this process's
tcplab; nothing a submission did can reach them.

>>> ag = Autograder.from_tests({"q1": {"name": "q1", "points": 1, "suites": [{"cases": [
...     {"code": ">>> q1 == 2\\nTrue\\n", "hidden": False}], "type": "doctest"}]}})
>>> ag.names
['q1']
>>> float(ag.score({"q1": 2}).total), float(ag.score({"q1": 3}).total)
(1.0, 0.0)
"""

from __future__ import annotations

import ast
import builtins
import doctest
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

__all__ = ["Autograder", "AutograderError"]


class AutograderError(ValueError):
    """Not an autograder zip that ``otter assign`` wrote, or tests this grader cannot run."""


def _free_names(code: str) -> set[str]:
    """Names a doctest reads but does not define itself (nor are builtins)."""
    source = "\n".join(ex.source for ex in doctest.DocTestParser().get_examples(code))
    tree = ast.parse(source)
    bound = {a.asname or a.name.split(".")[0] for node in ast.walk(tree)
             if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    bound |= {n.id for n in ast.walk(tree)
              if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return read - bound - set(dir(builtins))


def _test_spec(name: str, text: str) -> dict:
    """The ``test = {...}`` dict of an OK-format test file, read as a literal (not run)."""
    try:
        tree = ast.parse(text)
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "test"):
                spec = ast.literal_eval(node.value)
                if isinstance(spec, dict) and "suites" in spec:
                    return spec
    except (SyntaxError, ValueError) as exc:
        raise AutograderError(f"test file {name} cannot be read: {exc}") from None
    raise AutograderError(f"test file {name} is not an OK-format test (no `test = {{...}}`)")


@dataclass(frozen=True)
class Autograder:
    """The tests of one assignment: ``tests`` maps a question name to its OK test dict;
    ``names`` are the answers they read, in sorted order."""

    tests: Mapping[str, dict]
    names: list[str]

    @classmethod
    def from_tests(cls, tests: Mapping[str, dict]) -> "Autograder":
        if not tests:
            raise AutograderError("the autograder holds no tests")
        names: set[str] = set()
        for spec in tests.values():
            for suite in spec["suites"]:
                for case in suite["cases"]:
                    names |= _free_names(case["code"])
        return cls(dict(tests), sorted(names))

    @classmethod
    def from_zip(cls, path: "str | Path") -> "Autograder":
        """Read ``tests/*.py`` of an autograder zip.  Raises ``FileNotFoundError`` if there
        is no such file and :class:`AutograderError` if it is not an otter autograder."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no autograder zip {path} (make it with `otter assign` "
                                    "or `python -m tcplab generate`)")
        if not zipfile.is_zipfile(path):
            raise AutograderError(f"{path} is not an autograder zip: give the "
                                  "NAME-autograder_*.zip that `otter assign` wrote to "
                                  "RESULT/autograder/")
        tests = {}
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                p = PurePosixPath(info.filename)
                if len(p.parts) == 2 and p.parts[0] == "tests" and p.suffix == ".py":
                    if info.file_size > 1 << 20:
                        raise AutograderError(f"{info.filename} in {path} is over 1 MiB")
                    text = z.read(info).decode("utf-8")
                    tests[p.stem] = _test_spec(info.filename, text)
        if not tests:
            raise AutograderError(f"{path} has no tests/*.py: give the NAME-autograder_*.zip "
                                  "that `otter assign` wrote (with `tests: ok_format: true`)")
        return cls.from_tests(dict(sorted(tests.items())))

    def score(self, answers: Mapping[str, Any]):
        """otter's ``GradingResults`` for ``answers`` (name -> decoded value): every test
        case of every question run on a namespace holding only these answers."""
        from otter.test_files import GradingResults
        from otter.test_files.ok_test import OKTestFile

        from .selfcheck import shorten

        files = []
        for name, spec in self.tests.items():
            test = OKTestFile.from_spec(spec, path=f"tests/{name}.py")
            test.run(dict(answers))
            files.append(shorten(test, say_form_only=False))   # the hidden tests follow
        return GradingResults(files)
