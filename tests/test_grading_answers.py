"""What crosses the wall between a sandboxed notebook and the grader (plain data only), how
the grader scores it, and the one-line feedback of the student's ``grader.check``.  Fast:
no sandbox, no kernel."""

from __future__ import annotations

import json

import pytest

from tcplab import TcpState
from tcplab.exercises import CLOSING_EVENTS, CLOSING_STATES, check
from tcplab.exercises.answer_data import (MAX_ITEMS, AnswerDataError, Opaque, RecordedFunction,
                                      decode, encode)
from tcplab.exercises.run_submission import _is_otter_cell, run
from tcplab.exercises.scoring import Autograder, AutograderError
from tcplab.exercises.selfcheck import FORM_ONLY, brief, shorten

CALLS = [(s.name, e) for s in CLOSING_STATES for e in CLOSING_EVENTS]


def _roundtrip(value, **kw):
    return decode(json.loads(json.dumps(encode(value, **kw))))


@pytest.mark.parametrize("value", [
    None, True, 3, 2.5, "TIME-WAIT", ..., [("CLOSED", "LISTEN"), ("SYN-SENT", "LISTEN")],
    {"a": [1, (2, 3)], (TcpState.LISTEN, "CLOSE"): "CLOSED"}, TcpState.TIME_WAIT, [[...]],
])
def test_plain_answers_come_back_as_they_were(value):
    assert _roundtrip(value) == value
    assert type(_roundtrip(value)) is type(value)


def test_other_answers_come_back_as_data_not_code():
    class Sneaky(str):
        def __eq__(self, other):
            return True
    got = _roundtrip([Sneaky("A"), range(3), {1}, b"x", object()])
    assert type(got[0]) is str and got[0] == "A" and got[0] != "B"
    assert got[1] == [0, 1, 2] and got[2] == [1]
    assert isinstance(got[3], Opaque) and repr(got[3]) == "b'x'" and type(got[3]).__name__ == "bytes"
    assert isinstance(got[4], Opaque) and type(got[4]).__name__ == "object"


def next_state(state, event):
    """A learner's function that is partly wrong and raises in TIME-WAIT."""
    if state is TcpState.TIME_WAIT:
        raise ValueError("not done yet")
    return "CLOSED" if event == "CLOSE" else state


def test_a_function_answer_is_its_table_of_results():
    got = _roundtrip(next_state, calls=CALLS)
    assert isinstance(got, RecordedFunction) and got.__name__ == "next_state"
    assert got(TcpState.ESTABLISHED, "CLOSE") == "CLOSED"
    assert got(TcpState.FIN_WAIT_2, "rcv FIN") is TcpState.FIN_WAIT_2
    with pytest.raises(Exception, match="not done yet") as info:
        got(TcpState.TIME_WAIT, "CLOSE")
    assert type(info.value).__name__ == "ValueError"
    with pytest.raises(LookupError, match="not run with"):
        got(TcpState.LISTEN, "CLOSE")
    # the checker reads the recorded table exactly as it reads the function
    assert check("implement/closing-states", got).text() == \
        check("implement/closing-states", next_state).text()


def test_a_function_that_never_returns_counts_as_raising():
    def spins(state, event):
        while True:
            pass
    got = _roundtrip(spins, calls=CALLS[:1])
    with pytest.raises(Exception, match="took more than 2 s") as info:
        got(TcpState[CALLS[0][0]], CALLS[0][1])
    assert type(info.value).__name__ == "TimeoutError"


def test_recorded_function_scores_like_the_real_one():
    from tcplab.exercises import reference_next_state
    got = _roundtrip(reference_next_state, calls=CALLS)
    assert check("implement/closing-states", got).ok


def test_huge_deep_or_forged_data_is_refused():
    with pytest.raises(AnswerDataError, match="more than"):
        encode(list(range(MAX_ITEMS + 1)))
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(AnswerDataError, match="nested"):
        encode(deep)
    for forged in ({"$": "exec", "code": "print(1)"}, {"$": "dict", "items": [[[1], 2]]},
                   {"$": "function", "name": "f", "calls": [["A", "B"]]}, {"$": "tuple"},
                   b"bytes"):
        with pytest.raises(AnswerDataError):
            decode(forged)


def test_the_runner_skips_otter_and_reads_answers():
    assert _is_otter_cell('# Initialize Otter\nimport otter\ngrader = otter.Notebook("a.ipynb")')
    assert _is_otter_cell('from tcplab.exercises.selfcheck import Notebook\n'
                          'grader = Notebook("a.ipynb")')
    assert _is_otter_cell('grader.check("q1")') and _is_otter_cell("grader.export(pdf=False)")
    assert not _is_otter_cell("import otter\nq1 = 3") and not _is_otter_cell("q1 = (")
    nb = {"cells": [
        {"cell_type": "code", "source": "import otter\ngrader = otter.Notebook('x.ipynb')"},
        {"cell_type": "code", "source": ["q1 = [1,\n", " 2]"]},
        {"cell_type": "markdown", "source": "q2 = 5"},
        {"cell_type": "code", "source": "1 / 0"},
        {"cell_type": "code", "source": "q3 = 'ignored'", "metadata": {"tags": ["otter_ignore"]}},
        {"cell_type": "code", "source": "%time q4 = {'a': ...}"},
        {"cell_type": "code", "source": "grader.check('q1')"},
    ]}
    out = run(nb, ["q1", "q2", "q3", "q4"], [])
    assert out["answers"] == {"q1": [1, 2], "q4": {"$": "dict", "items": [["a", {"$": "ellipsis"}]]}}
    assert out["missing"] == ["q2", "q3"]
    assert out["errors"] == ["cell 3: ZeroDivisionError: division by zero"]


TESTS = {
    "q1": {"name": "q1", "points": [0, 2], "suites": [{"type": "doctest", "cases": [
        {"code": ">>> from tcplab.exercises import check\n"
                 ">>> check('predict/simultaneous-close', q1).require_readable()\n",
         "hidden": False},
        {"code": ">>> from tcplab.exercises import check\n"
                 ">>> check('predict/simultaneous-close', q1, reveal=True).require()\n",
         "hidden": True}]}]},
}


def test_scoring_reads_the_names_the_tests_use_and_gives_the_checkers_words():
    grader = Autograder.from_tests(TESTS)
    assert grader.names == ["q1"]
    blank = grader.score({"q1": ...})
    assert blank.total == 0
    messages = [r.message for r in blank.results["q1"].test_case_results]
    assert messages[0].startswith("❌ Test case failed: ? Cannot check this answer "
                                  "[predict/simultaneous-close]: the answer is still the "
                                  "placeholder `...`")
    assert "Traceback" not in messages[0] and "Trying:" not in messages[0]
    assert grader.score({}).total == 0               # an answer never defined
    assert "NameError: name 'q1' is not defined" in grader.score({}).summary()


def test_a_passing_form_check_says_only_the_form_was_checked():
    result = Autograder.from_tests(TESTS).score({"q1": [("CLOSED", "CLOSED")] * 8})
    q1 = result.results["q1"]
    assert [r.passed for r in q1.test_case_results] == [True, False]
    assert FORM_ONLY not in q1.summary()             # the grader's feedback: hidden ones follow
    from otter.test_files.ok_test import OKTestFile
    spec = {**TESTS["q1"], "suites": [{"type": "doctest", "cases": TESTS["q1"]["suites"][0][
        "cases"][:1]}], "points": 0}
    public = OKTestFile.from_spec(spec)               # what the student's notebook runs
    public.run({"q1": [("CLOSED", "CLOSED")] * 8})
    assert public.passed_all and FORM_ONLY not in public.summary()
    assert f"q1 - 1 message: {FORM_ONLY}" in shorten(public).summary()


def test_brief_keeps_the_checkers_table_and_other_errors_last_line():
    report = ("Trying:\n    f()\nExpecting nothing\n*****\nFailed example:\n    f()\n"
              "Exception raised:\n    Traceback (most recent call last):\n"
              "      File \"<doctest>\", line 1\n    AssertionError: \n"
              "    ✗ Not yet right [x]: 1 of 2 right.\n\n    a  b\n    -  -\n    1  2")
    assert brief(report) == "✗ Not yet right [x]: 1 of 2 right.\n\na  b\n-  -\n1  2"
    assert brief(report.replace("AssertionError: ", "KeyError: 'q9'").replace(
        "    ✗ Not yet right [x]: 1 of 2 right.\n\n    a  b\n    -  -\n    1  2", "")) \
        == "KeyError: 'q9'"


def test_an_autograder_that_is_not_one_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no autograder zip"):
        Autograder.from_zip(tmp_path / "none.zip")
    (tmp_path / "a.zip").write_text("not a zip")
    with pytest.raises(AutograderError, match="not an autograder zip"):
        Autograder.from_zip(tmp_path / "a.zip")
    import zipfile
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as z:
        z.writestr("tests/q1.py", "import os\nos.system('echo pwned')\n")
    with pytest.raises(AutograderError, match="not an OK-format test"):
        Autograder.from_zip(tmp_path / "b.zip")


@pytest.mark.parametrize("module", ["answers", "scoring", "selfcheck", "sandbox"])
def test_the_modules_examples_run(module):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(f"tcplab.exercises.{module}"))
    assert result.attempted > 0 and result.failed == 0


def test_forged_run_data_is_one_line_not_a_traceback():
    from pathlib import Path

    from tcplab.exercises.grading import Submission, _score
    grader = Autograder.from_tests(TESTS)
    for data in ({"answers": {"q1": {"$": "exec"}}}, {"answers": [1]},
                 {"answers": {}, "errors": 5}):
        sub = Submission(Path("x.ipynb"))
        _score(grader, sub, data)
        if "errors" in data:
            assert not sub.error and sub.results.total == 0
        else:
            assert sub.error.startswith("its answers cannot be read")
            assert sub.line.startswith("x.ipynb: not graded: its answers cannot be read")
