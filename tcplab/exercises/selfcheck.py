"""The feedback of ``grader.check("q1")`` in a student notebook, in tcplab's own words.

The assignments' tests are otter doctests that call a tcplab checker
(``check(...).require_readable()``, ``check(...).require()``).  otter reports a failing
doctest as doctest's whole transcript -- ``Trying:``, ``Expecting nothing``, ``Failed
example:``, a traceback through ``doctest.py`` -- about 25 lines around the one that
matters.  This module keeps that one: :func:`brief` takes the checker's message (or the
last line of another exception) out of the transcript, and :func:`shorten` rewrites a
question's results with it, and says plainly, when a public test passes, that only the
form of the answer was checked.

:class:`Notebook` is otter's ``Notebook`` with that done to every ``check`` and
``check_all``; the assignments' first cell creates it (``grader = Notebook("NAME.ipynb")``).
The grader (:mod:`tcplab.exercises.scoring`) shortens the feedback it writes the same way.

>>> brief('''Trying:
...     check('x', q1).require_readable()
... Expecting nothing
... **********************************************************************
... Failed example:
...     check('x', q1).require_readable()
... Exception raised:
...     Traceback (most recent call last):
...       File "doctest.py", line 1353, in __run
...     AssertionError:
...     ? Cannot check this answer [x]: the answer is empty''')
'? Cannot check this answer [x]: the answer is empty'
"""

from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import replace
from typing import Any

import otter

__all__ = ["brief", "shorten", "Notebook", "FORM_ONLY"]

#: What a passing public test says when it checked only the answer's form.
FORM_ONLY = ("Only the form of the answer was checked (it can be read); whether it is right "
             "is checked when your work is graded")

_FAILED = "❌ Test case failed"


def brief(report: str) -> str:
    """The message that matters in a doctest failure ``report``: the text of the
    ``AssertionError`` a tcplab checker raised (its whole feedback, table included), else
    the exception's last line (``NameError: name 'q1' is not defined``), else what the
    example printed; the report itself if it is none of these."""
    lines = report.replace(_FAILED, "").strip("\n").splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip() == "Exception raised:":
            tail = textwrap.dedent("\n".join(lines[i + 1:])).splitlines()
            for j, line in enumerate(tail):
                if line.startswith("AssertionError:"):
                    text = "\n".join([line[len("AssertionError:"):], *tail[j + 1:]]).strip()
                    return text or "AssertionError"
            last = [ln for ln in tail if re.match(r"^[A-Za-z_][\w.]*(Error|Exception)\b", ln)]
            return last[-1].strip() if last else tail[-1].strip()
        if lines[i].strip() == "Got:":
            return textwrap.dedent("\n".join(lines[i + 1:])).strip()
    return report.strip()


def shorten(test_file: Any, *, say_form_only: bool = True) -> Any:
    """Rewrite an otter ``TestFile``'s results in place (and return it): a failed case's
    message becomes :func:`brief` of it; with ``say_form_only`` (for the student's own
    checks), a passed public case that only checked the form (``require_readable()``) gets
    :data:`FORM_ONLY` as its success message."""
    results = getattr(test_file, "test_case_results", None) or []
    for k, res in enumerate(results):
        case = res.test_case
        if not res.passed and isinstance(res.message, str) and "Trying:" in res.message:
            results[k] = replace(res, message=f"{_FAILED}: {brief(res.message)}")
        elif (say_form_only and res.passed and not case.hidden
              and case.success_message is None
              and "require_readable()" in str(case.body)):
            results[k] = replace(res, test_case=replace(case, success_message=FORM_ONLY))
    return test_file


class Notebook(otter.Notebook):
    """otter's ``Notebook`` whose ``check`` (and so ``check_all``) reports with
    :func:`shorten`: one line per failed test, in the checker's words."""

    def check(self, question: str, global_env: dict | None = None) -> Any:
        if global_env is None:       # the notebook's variables, as otter's check finds them
            global_env = inspect.currentframe().f_back.f_globals  # type: ignore[union-attr]
        return shorten(super().check(question, global_env))
