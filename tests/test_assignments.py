"""The instructor's path, end to end, with the real course tool (otter-grader), no Docker:

1. generate the student versions and autograders from the instructor versions
   (``python -m tcplab.exercises.grading generate``, i.e. ``otter assign``);
2. check the student versions hold no solutions and no hidden tests, and that the committed
   ones in ``assignments/student/`` are what otter generates today;
3. fill in a correct and a wrong submission for every assignment, as a student would;
4. grade each folder of submissions (``python -m tcplab.exercises.grading grade``) and check every
   score in ``final_grades.csv`` and the feedback written for each submission.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from tcplab.exercises import DUMPS, SCHEDULES, closing_transitions
from tcplab.exercises.grading import ASSIGNMENTS, masters

ROOT = Path(__file__).resolve().parents[1]
STUDENT_DIR = ASSIGNMENTS / "student"
NAMES = [m.stem for m in masters()]
GRADE_TIMEOUT = 600     # s for one folder; measured ~20 s on an idle 2-core machine

pytestmark = pytest.mark.slow


def _sandbox_works() -> bool:
    from tcplab.exercises.sandbox import SandboxUnavailable, find_sandbox
    try:
        find_sandbox().close()
        return True
    except SandboxUnavailable:
        return False


#: Submissions are graded in bubblewrap sandboxes (tests/test_grading_sandbox.py); where
#: none can be made (a container without user namespaces), with --no-sandbox.
SANDBOX = _sandbox_works()


def _pairs(name, last=None):
    p = [(d["client"].rfc, d["server"].rfc) for d in SCHEDULES[name].expected()]
    if last:
        p[-1] = last
    return p


def _naive_next_state():
    """Only the figure's edges: misses the two 'FIN + ACK of FIN' combinations (33/35)."""
    table = {(t.source.rfc, t.event): t.target.rfc for t in closing_transitions()}
    return ("def next_state(state, event):\n"
            f"    table = {table!r}\n"
            "    return table.get((state.rfc, event), state)\n")


# Answer cells of the wrong submissions: name -> source; None leaves the cell as handed out
# ("..."), a name not listed gets the master's solution.  WRONG_SCORES is what they earn.
WRONG = {
    "a1-predict-decode": {
        "q1": f"q1 = {_pairs('open-and-close', last=('TIME-WAIT', 'CLOSED'))!r}",  # 23/24
        "q2": None,                                                   # not answered
        "q3_waiting": f"q3_waiting = {['nothing'] * len(DUMPS['web-server'].expected())!r}",
        "q4_states": "q4_states = 'LISTEN'",                          # malformed
        "q4_waiting": "q4_waiting = None",
    },
    "a2-wire-and-machine": {
        "q1": "q1 = ['deliver client FIN,ACK', 'deliver server ACK']",  # FIN-WAIT-2, CLOSING
        "q3": "q3 = ['client abort']",                                  # not a wire command
        "next_state": _naive_next_state(),
    },
    "a3-find-the-bug": {
        "q1_bug": "q1_bug = 'A'",                                       # wrong bug
        "q2_scenario": "q2_scenario = ['server listen', 'client connect', 'settle']",
        "q3_bug": "q3_bug = 7",                                         # malformed
        "q3_scenario": "q3_scenario = None",
    },
}
BLANK = "a3-find-the-bug"        # also grade an untouched student notebook: 0 points, no crash
WRONG_SCORES = {
    "a1-predict-decode": {"q1": 1, "q2": 0, "q3": 1, "q4": 0},
    "a2-wire-and-machine": {"q1": 0, "q2": 2, "q3": 0, "q4": 1},
    "a3-find-the-bug": {"q1": 1, "q2": 1, "q3": 0, "q4": 2},
}


def test_at_least_three_assignments_with_both_versions():
    assert len(NAMES) >= 3 and set(WRONG) <= set(NAMES)
    for name in NAMES:
        master = nbformat.read(ASSIGNMENTS / name / f"{name}.ipynb", as_version=4)
        first = master.cells[0]
        assert first.cell_type == "raw" and first.source.startswith("# ASSIGNMENT CONFIG")
        assert f"name: {name}" in first.source
        text = "\n".join(c.source for c in master.cells)
        assert "# BEGIN SOLUTION" in text and "# HIDDEN" in text, name
        assert (STUDENT_DIR / f"{name}.ipynb").is_file(), name


# ------------------------------------------------------------------------------ generate --

def readme_commands():
    """The instructor's two commands, as the README shows them (for a1)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Course assignments", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [ln.strip() for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
    assert [ln.split()[:2] for ln in lines] == [["otter", "assign"],
                                                ["python", "-m"]], lines
    return lines


def _localise(command, tmp):
    """A README command with its output folders moved to ``tmp`` and this Python's tools."""
    words = shlex.split(command)
    if words[0] == "otter":
        words[0] = str(Path(sys.executable).parent / "otter")
    elif words[0] == "python":
        words[0] = sys.executable
    return [w if not w.startswith(("dist/", "grades/", "submissions/")) else str(tmp / w)
            for w in words]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """a1 by the README's own `otter assign` command (which also runs all tests against the
    solutions); the others by `python -m tcplab.exercises.grading generate`, at the same time."""
    tmp = tmp_path_factory.mktemp("course")
    t0 = time.monotonic()
    readme_assign = _localise(readme_commands()[0], tmp)
    assert readme_assign[2] == "assignments/a1-predict-decode/a1-predict-decode.ipynb"
    others = [str(m) for m in masters() if m.stem != "a1-predict-decode"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
             for cmd in (readme_assign,
                         [sys.executable, "-m", "tcplab.exercises.grading", "generate", "-o",
                          str(tmp / "dist"), "--no-run-tests", *others])]
    for proc in procs:
        log, _ = proc.communicate(timeout=GRADE_TIMEOUT)
        assert proc.returncode == 0, log
    print(f"generate: {time.monotonic() - t0:.1f} s")
    out = tmp / "dist"
    for name in NAMES:
        assert (out / name / "student" / f"{name}.ipynb").is_file()
        assert len(list((out / name / "autograder").glob("*-autograder_*.zip"))) == 1
    return out


def _autograder(dist, name):
    return next((dist / name / "autograder").glob("*-autograder_*.zip"))


def _comparable(nb):
    cells = [(c.cell_type, c.source, tuple(c.get("metadata", {}).get("tags", ())))
             for c in nb.cells]
    return cells, nb.metadata.get("otter")


@pytest.mark.parametrize("name", NAMES)
def test_committed_student_version_is_what_otter_generates(dist, name):
    fresh = nbformat.read(dist / name / "student" / f"{name}.ipynb", as_version=4)
    committed = nbformat.read(STUDENT_DIR / f"{name}.ipynb", as_version=4)
    assert _comparable(committed) == _comparable(fresh), (
        f"assignments/student/{name}.ipynb is stale: run "
        "`python -m tcplab.exercises.grading generate --update-student`")


@pytest.mark.parametrize("name", NAMES)
def test_student_version_has_no_solutions_and_no_hidden_tests(dist, name):
    student_path = dist / name / "student" / f"{name}.ipynb"
    text = student_path.read_text()
    student = nbformat.read(student_path, as_version=4)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "# HIDDEN", "reveal=True", ".require()"):
        assert marker not in text, marker
    for block in _solutions(name).values():
        telltale = max(block.splitlines(), key=len).strip()
        assert telltale not in text, telltale
    answers = [c for c in student.cells if "otter_answer_cell" in c.metadata.get("tags", ())]
    assert answers and all("..." in c.source or "_Type your answer" in c.source
                           for c in answers)
    cases = [case for t in student.metadata["otter"]["tests"].values()
             for suite in t["suites"] for case in suite["cases"]]
    assert cases and not any(case["hidden"] for case in cases)
    with zipfile.ZipFile(_autograder(dist, name)) as z:
        hidden = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("tests/"))
    assert "'hidden': True" in hidden and ".require()" in hidden


# ------------------------------------------------------------------- fill in submissions --

def _solutions(name):
    """Answer name -> the master's solution source (what a correct student writes)."""
    master = nbformat.read(ASSIGNMENTS / name / f"{name}.ipynb", as_version=4)
    out = {}
    for cell in master.cells:
        if cell.cell_type != "code" or "# BEGIN SOLUTION" not in cell.source:
            continue
        lines = cell.source.splitlines()
        if "# BEGIN SOLUTION NO PROMPT" in cell.source:
            i = lines.index("# BEGIN SOLUTION NO PROMPT")
            j = lines.index("# END SOLUTION", i)
            src = "\n".join(lines[i + 1:j])
        else:
            src = "\n".join(ln for ln in lines if not ln.strip().endswith(
                ("# BEGIN SOLUTION", "# END SOLUTION")))
        out[_answer_name(src)] = src
    return out


def _answer_name(src):
    m = re.match(r"\s*(?:def\s+(\w+)|(\w+)\s*=)", src)
    assert m, src
    return m.group(1) or m.group(2)


def _submission(student_path, answers, dest):
    nb = nbformat.read(student_path, as_version=4)
    filled = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and "otter_answer_cell" in cell.metadata.get("tags", ()):
            key = _answer_name(cell.source)
            if answers.get(key) is not None:
                cell.source = answers[key]
                filled.add(key)
    nbformat.write(nb, dest)
    return filled


def _final_grades(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {r["file"]: r for r in rows}


def test_grade_folders_end_to_end(dist, tmp_path):
    procs = {}
    t0 = time.monotonic()
    for name in NAMES:
        subs = tmp_path / "submissions" / name
        subs.mkdir(parents=True)
        student = dist / name / "student" / f"{name}.ipynb"
        right = _solutions(name)
        assert _submission(student, right, subs / "correct.ipynb") == set(right)
        wrong = {**right, **WRONG.get(name, {})}
        _submission(student, wrong, subs / "wrong.ipynb")
        if name == BLANK:
            _submission(student, {}, subs / "blank.ipynb")     # handed in as handed out
        out = tmp_path / "grades" / name
        cmd = [sys.executable, "-m", "tcplab.exercises.grading", "grade", "-a",
               str(dist / name / "autograder" / "*.zip"), "-o", str(out), str(subs)]
        if name == BLANK:
            cmd[-1:-1] = ["-j", "2"]              # three submissions, two at a time
        if name == "a1-predict-decode":           # exactly the README's command
            cmd = _localise(readme_commands()[1], tmp_path)
            cmd[cmd.index("-a") + 1] = str(dist / name / "autograder" / "*.zip")
            out = Path(cmd[cmd.index("-o") + 1])
            assert out == tmp_path / "grades" / "a1" and Path(cmd[-1]) == tmp_path / \
                "submissions" / "a1"
            subs.rename(Path(cmd[-1]))
        if not SANDBOX:     # where bubblewrap cannot work, still check the whole pipeline
            cmd[-1:-1] = ["--no-sandbox"]
        procs[name] = (subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        env=dict(os.environ, PYTHONWARNINGS="ignore")), out)
    problems = []
    for name, (proc, out) in procs.items():
        log, _ = proc.communicate(timeout=GRADE_TIMEOUT)
        if proc.returncode != 0:
            problems.append(f"{name}: exit {proc.returncode}\n{log}")
            continue
        grades = _final_grades(out / "final_grades.csv")
        possible = grades["points-per-question"]
        questions = sorted(k for k in possible if re.fullmatch(r"q\d+", k))
        correct, wrong = grades["correct.ipynb"], grades["wrong.ipynb"]
        for q in questions:
            if float(correct[q]) != float(possible[q]):
                problems.append(f"{name} correct {q}: {correct[q]} of {possible[q]}\n"
                                + (out / "correct.txt").read_text())
        assert float(correct["total_points_earned"]) == float(possible["total_points_earned"])
        assert correct["grading_status"] == wrong["grading_status"] == "Completed"
        expected = WRONG_SCORES[name]
        got = {q: float(wrong[q]) for q in questions}
        if got != {q: float(expected[q]) for q in questions}:
            problems.append(f"{name} wrong: {got} != {expected}\n"
                            + (out / "wrong.txt").read_text())
        assert float(wrong["total_points_earned"]) == sum(expected.values())
        # the per-submission feedback holds the checkers' own messages
        feedback = (out / "wrong.txt").read_text()
        assert "Cannot check this answer" in feedback or "Not yet right" in feedback
        assert "Trying:" not in feedback and "Traceback" not in feedback   # the checker's words
        assert "While the notebook ran" not in feedback                    # no cell failed
        assert json.loads((out / "correct.json").read_text())
        if name == BLANK:
            blank = grades["blank.ipynb"]
            assert blank["grading_status"] == "Completed"
            assert float(blank["total_points_earned"]) == 0
            text = (out / "blank.txt").read_text()
            assert "the choice is still the placeholder `...`" in text and "write one letter from the bug list" in text
    print(f"grade: {time.monotonic() - t0:.1f} s")
    assert not problems, "\n\n".join(problems)


# ----------------------------------------------------------------- the grading helpers ----

def test_grading_finds_masters_and_submissions(tmp_path):
    from tcplab.exercises.grading import _submissions, grade, main
    assert [m.parent.name for m in masters()] == NAMES
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "b.zip").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / ".hidden.ipynb").write_text("{}")
    assert [p.name for p in _submissions([tmp_path])] == ["a.ipynb", "b.zip"]
    with pytest.raises(FileNotFoundError, match="no submission"):
        _submissions([tmp_path / "missing"])
    with pytest.raises(FileNotFoundError, match="otter assign"):
        grade(tmp_path / "missing.zip", [tmp_path], tmp_path / "out")
    with pytest.raises(ValueError, match="not an autograder zip"):
        grade(tmp_path / "a.ipynb", [tmp_path], tmp_path / "out")
    with pytest.raises(SystemExit):
        main(["grade", "-a", str(tmp_path / "*"), str(tmp_path)])   # matches 3 files
