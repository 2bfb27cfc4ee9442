"""Grading a class safely: every attack from issue 14 is a submission here, and none of them
may change any score.

Each hostile submission is the a1 student notebook, unanswered, plus one cell that tries an
attack and, *if the attack works*, fills in the right answers (copied from the master
notebook or from another student).  So a sandbox that leaks gives that submission points:
the assertions can fail.  A control run without the sandbox (``--no-sandbox``) shows the
reading attacks do work when nothing stops them.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

import tcplab

from tcplab.exercises.grading import ASSIGNMENTS, generate
from tcplab.exercises.sandbox import SandboxUnavailable, find_sandbox

from test_assignments import _solutions, _submission

pytestmark = pytest.mark.slow

NAME = "a1-predict-decode"
MARKER = "tcplab-leftover-7f3a"          # in the command line of the process left running
ROOT_ONLY = Path(tcplab.__file__).parent / f".root-only-{os.getpid()}"


def _sandbox_works() -> bool:
    try:
        find_sandbox().close()
        return True
    except SandboxUnavailable:
        return False


needs_sandbox = pytest.mark.skipif(not _sandbox_works(), reason="no bubblewrap sandbox here")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The a1 student notebook and autograder, and a class folder of submissions."""
    tmp = tmp_path_factory.mktemp("class")
    student, autograder = generate(ASSIGNMENTS / NAME / f"{NAME}.ipynb", tmp / "dist",
                                   run_tests=False)
    return tmp, student, autograder


def _cheat(attack: str) -> str:
    """A cell: run ``attack`` (which sets ``got`` to True when it worked); if it worked,
    answer every question right."""
    right = "\n".join(_solutions(NAME).values())
    return (f"got = False\ntry:\n" + "".join(f"    {ln}\n" for ln in attack.splitlines())
            + "except Exception:\n    pass\nif got:\n"
            + "".join(f"    {ln}\n" for ln in right.splitlines()))


def _hostile(student: Path, cell: str, dest: Path) -> Path:
    nb = nbformat.read(student, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(cell))     # after the answer cells
    nbformat.write(nb, dest)
    return dest


def _attacks(tmp: Path, autograder: Path, out: Path, port: int) -> dict[str, str]:
    other = tmp / "subs" / "correct.ipynb"
    steal = ("import json\nnb = json.load(open(%r))\n"
             "src = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code']\n"
             "exec('\\n'.join(s for s in src if s.lstrip().startswith('q')), globals())\n"
             "got = False\n" % str(other))
    return {
        # a tcplab checker replaced by one that accepts anything (no answers given)
        "checker": ("import tcplab.exercises as ex\n"
                    "class Pass:\n    ok, score, malformed = True, 1.0, False\n"
                    "    def require(self, *a, **k): pass\n"
                    "    def require_readable(self, *a, **k): pass\n"
                    "ex.check = lambda *a, **k: Pass()\n"
                    "ex.check_schedule = ex.check_dump = ex.check\n"
                    "for e in ex.EXERCISES.values():\n"
                    "    object.__setattr__(e, 'checker', lambda *a, **k: Pass())\n"),
        # otter's results writer and table wrapped to report full marks
        "writer": ("import otter.test_files as tf, otter.grade.utils as gu, os\n"
                   "tf.GradingResults.total = property(lambda self: 10)\n"
                   "tf.GradingResults.to_dict = lambda self: {'q1': {'score': 3}}\n"
                   "gu.merge_scores_to_df = lambda *a, **k: None\n"
                   "for d in ('/autograder/results', os.getcwd(), %r):\n"
                   "    try:\n        open(os.path.join(d, 'results.json'), 'w').write('{}')\n"
                   "    except OSError:\n        pass\n" % str(out)),
        "hidden-tests": _cheat(f"open({str(autograder)!r}, 'rb').read(1)\ngot = True"),
        "master": _cheat(f"open({str(ASSIGNMENTS / NAME / (NAME + '.ipynb'))!r}).read(1)\n"
                         "got = True"),
        "passwd": _cheat("got = 'root:' in open('/etc/passwd').read()"),
        "other-student": steal,
        "network": _cheat(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), "
                          "timeout=2).recv(10)\ngot = True"),
        # a root-only file among those the sandbox sees: readable only by a root sandbox
        "root": _cheat(f"got = open({str(ROOT_ONLY)!r}).read() == 'secret'"),
        # a process left running, to rewrite the class table after the grader printed it
        "leftover": ("import subprocess, sys\n"
                     "prog = ('import os, time\\nos.setsid()\\ntime.sleep(4)\\n'\n"
                     "        'open(%r, \"a\").write(\"blank.ipynb,3,3,2,2,10,1.0,Completed\\\\n\")')\n"
                     "subprocess.Popen([sys.executable, '-c', prog, %r], start_new_session=True)\n"
                     % (str(out / "final_grades.csv"), MARKER)),
        "spin": "while True: pass",
        # a fork bomb, held back: 1000 processes (the sandbox allows 256)
        "forks": _cheat("import os, time\nfor _ in range(1000):\n    if os.fork() == 0:\n"
                        "        time.sleep(30)\n        os._exit(0)\ngot = True"),
    }


def _grades(out: Path) -> dict[str, dict]:
    with open(out / "final_grades.csv", newline="") as fh:
        return {r["file"]: r for r in csv.DictReader(fh)}


def _grade_cmd(autograder: Path, out: Path, subs: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tcplab", "grade", "-a", str(autograder), "-o", str(out),
            *extra, str(subs)]


@pytest.fixture(scope="module")
def port_with_answers():
    """A TCP server on the host's loopback that would hand out answers."""
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.sendall(b"answers\n")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    stop.set()
    srv.close()


def _leftovers() -> list[str]:
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if MARKER.encode() in (p / "cmdline").read_bytes():
                    found.append(p.name)
            except OSError:
                pass
    return found


@pytest.fixture()
def root_only_file():
    """A file only root may read, where the sandbox can see it (the tcplab package)."""
    if os.geteuid() != 0:
        pytest.skip("the grader runs submissions as an unprivileged user only when it is root")
    ROOT_ONLY.write_text("secret")
    ROOT_ONLY.chmod(0o600)
    yield ROOT_ONLY
    ROOT_ONLY.unlink()


@needs_sandbox
def test_no_attack_changes_any_score(course, port_with_answers, root_only_file):
    tmp, student, autograder = course
    subs, out = tmp / "subs", tmp / "grades"
    subs.mkdir()
    _submission(student, _solutions(NAME), subs / "correct.ipynb")
    _submission(student, {}, subs / "blank.ipynb")
    attacks = _attacks(tmp, autograder, out, port_with_answers)
    for name, cell in attacks.items():
        _hostile(student, cell, subs / f"{name}.ipynb")
    (subs / "malformed.ipynb").write_text("{ not json")
    before = {p.name for p in Path("/tmp").glob("tcplab-run-*")}
    t0 = time.monotonic()
    proc = subprocess.run(_grade_cmd(autograder, out, subs, "--timeout", "25", "-j", "2"),
                          capture_output=True, text=True, timeout=600)
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    printed_table = (out / "final_grades.csv").read_text()
    grades = _grades(out)
    assert float(grades["correct.ipynb"]["total_points_earned"]) == 10
    assert grades["correct.ipynb"]["grading_status"] == "Completed"
    for name in ["blank", *(a for a in attacks if a != "spin")]:
        row = grades[f"{name}.ipynb"]
        assert float(row["total_points_earned"]) == 0, (name, row, (out / f"{name}.txt").read_text())
        assert row["grading_status"] == "Completed", (name, row)
    # one line each for what could not be graded, with the reason; the rest still graded
    lines = proc.stdout.splitlines()
    assert "spin.ipynb: not graded: timed out after 25 s (killed)" in lines
    assert "malformed.ipynb: not graded: not a notebook: the file is not JSON" in lines
    assert float(grades["spin.ipynb"]["total_points_earned"]) == 0
    assert "timed out" in grades["spin.ipynb"]["grading_status"]
    assert took < 25 * 2 + 60, took           # one stuck submission does not block the class
    # the sandbox's files are gone, and so is the process it left: the table stays as written
    assert {p.name for p in Path("/tmp").glob("tcplab-run-*")} <= before
    time.sleep(6)
    assert not _leftovers()
    assert (out / "final_grades.csv").read_text() == printed_table
    assert not (out / "results.json").exists()


@needs_sandbox
def test_a_function_answer_is_recorded_not_rerun(tmp_path):
    """a2's next_state is called in the sandbox and the grader replays its results: a
    function that works only where its notebook created /tmp/.graded gets the points (it
    was not re-run in the grader), and the file does not leak into another submission's
    private /tmp."""
    assert not Path("/tmp/.graded").exists()
    name = "a2-wire-and-machine"
    student, autograder = generate(ASSIGNMENTS / name / f"{name}.ipynb", tmp_path / "dist",
                                   run_tests=False)
    subs = tmp_path / "subs"
    subs.mkdir()
    right = _solutions(name)
    _submission(student, right, subs / "correct.ipynb")
    cheat = right["next_state"].replace(
        "def next_state(state, event):",
        "def next_state(state, event):\n    import os\n"
        "    if not os.path.exists('/tmp/.graded'):\n        raise RuntimeError('no')")
    _submission(student, {**right, "next_state": "open('/tmp/.graded', 'w').close()\n" + cheat},
                subs / "recorded.ipynb")
    _submission(student, {**right, "next_state": cheat}, subs / "rerun.ipynb")
    out = tmp_path / "grades"
    proc = subprocess.run(_grade_cmd(autograder, out, subs), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    grades = _grades(out)
    assert float(grades["correct.ipynb"]["q4"]) == 3
    assert float(grades["recorded.ipynb"]["q4"]) == 3     # /tmp/.graded existed in its sandbox
    assert float(grades["rerun.ipynb"]["q4"]) == 0        # ... and in no other one
    assert "raised RuntimeError: no" in (out / "rerun.txt").read_text()


def test_no_sandbox_refuses_unless_asked(course, tmp_path, root_only_file):
    """Without bubblewrap: exit 2 with the reason, unless --no-sandbox; then the reading
    attacks do work (the control for the test above)."""
    _, student, autograder = course
    subs = tmp_path / "subs"
    subs.mkdir()
    _submission(student, _solutions(NAME), subs / "correct.ipynb")
    attacks = _attacks(tmp_path, autograder, tmp_path, 9)
    _hostile(student, attacks["passwd"], subs / "passwd.ipynb")
    _hostile(student, attacks["root"], subs / "root.ipynb")
    _hostile(student, attacks["hidden-tests"], subs / "hidden-tests.ipynb")
    bin_dir = tmp_path / "bin"                    # a PATH with everything but bwrap
    bin_dir.mkdir()
    for tool in ("setpriv", "unshare", "sh", "mount"):
        found = next((Path(d) / tool for d in os.environ["PATH"].split(os.pathsep)
                      if (Path(d) / tool).exists()), None)
        if found:
            (bin_dir / tool).symlink_to(found)
    env = dict(os.environ, PATH=str(bin_dir))
    out = tmp_path / "grades"
    refused = subprocess.run(_grade_cmd(autograder, out, subs), capture_output=True, text=True,
                             env=env, timeout=120)
    assert refused.returncode == 2
    assert refused.stdout == "" and len(refused.stderr.splitlines()) == 1, refused.stderr
    assert "bubblewrap is not installed" in refused.stderr and "--no-sandbox" in refused.stderr
    assert not (out / "final_grades.csv").exists()
    done = subprocess.run(_grade_cmd(autograder, out, subs, "--no-sandbox"),
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "unisolated" in done.stderr
    grades = _grades(out)
    assert float(grades["correct.ipynb"]["total_points_earned"]) == 10
    assert float(grades["passwd.ipynb"]["total_points_earned"]) == 10   # nothing stopped it
    assert float(grades["root.ipynb"]["total_points_earned"]) == 10
    assert float(grades["hidden-tests.ipynb"]["total_points_earned"]) == 10


@pytest.mark.parametrize("args, message", [
    (["-a", "missing.zip", "subs"], "no autograder zip"),
    (["-a", "AUTOGRADER", "missing-folder"], "no submission file or folder"),
    (["-a", "AUTOGRADER", "-j", "0", "subs"], "--jobs must be at least 1"),
    (["-a", "AUTOGRADER", "--timeout", "-1", "subs"], "--timeout must be a positive"),
    (["-a", "subs/a.ipynb", "subs"], "not an autograder zip"),
    (["subs"], "the following arguments are required: -a/--autograder"),
])
def test_cli_errors_are_one_line(course, tmp_path, args, message):
    _, _, autograder = course
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "a.ipynb").write_text("{}")
    args = [str(autograder) if a == "AUTOGRADER" else a for a in args]
    proc = subprocess.run([sys.executable, "-m", "tcplab", "grade", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and message in proc.stderr, proc.stderr
    assert proc.stderr.startswith("python -m tcplab") and ": error: " in proc.stderr


@needs_sandbox
def test_a_terminal_gets_a_progress_bar_and_a_line_per_submission(course, tmp_path):
    pytest.importorskip("rich")
    import pty
    _, student, autograder = course
    subs = tmp_path / "subs"
    subs.mkdir()
    _submission(student, _solutions(NAME), subs / "correct.ipynb")
    _submission(student, {}, subs / "blank.ipynb")
    master, slave = pty.openpty()
    proc = subprocess.Popen(_grade_cmd(autograder, tmp_path / "grades", subs), stdout=slave,
                            stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:          # EIO: the command has ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=300) == 0
    text = b"".join(chunks).decode(errors="replace")
    assert "correct.ipynb: 10 / 10" in text and "blank.ipynb: 0 / 10" in text
    assert "grading" in text and "2/2" in text and "\x1b[" in text, text   # rich's bar


@needs_sandbox
def test_ctrl_c_stops_every_sandbox_and_writes_no_table(course, tmp_path):
    import signal
    _, student, autograder = course
    subs = tmp_path / "subs"
    subs.mkdir()
    for k in range(2):
        _hostile(student, "while True: pass", subs / f"spin{k}.ipynb")
    before = _runner_pids()
    out = tmp_path / "grades"
    proc = subprocess.Popen(_grade_cmd(autograder, out, subs, "--timeout", "300", "-j", "2"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_runner_pids() - before) < 2:
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    time.sleep(3)                                # both notebooks are spinning now
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and time.monotonic() - t0 < 30
    assert err.strip().splitlines()[-1].endswith("final_grades.csv not written"), err
    assert not (out / "final_grades.csv").exists()
    time.sleep(1)
    assert not _runner_pids() - before


def _runner_pids() -> set[int]:
    """Processes running a submission (``python -m tcplab.exercises.run_submission``)."""
    pids = set()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if b"tcplab.exercises.run_submission" in (p / "cmdline").read_bytes():
                    pids.add(int(p.name))
            except OSError:
                pass
    return pids
