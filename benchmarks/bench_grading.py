"""How many submissions per minute does ``python -m tcplab grade`` grade, serially and in
parallel?

    .venv/bin/python benchmarks/bench_grading.py              # 100 submissions of a3
    .venv/bin/python benchmarks/bench_grading.py -n 30 -a a1-predict-decode

It builds the assignment with ``otter assign`` (tests not run), then a folder of ``-n``
generated submissions, in turn: right (the master's solutions), wrong (every answer
replaced by a plausible wrong one), blank (as handed out), malformed (not JSON, or a zip
without a notebook) and hostile (replaces a checker, reads ``/etc/passwd``, leaves a process
running, ``while True: pass``).  It grades the folder with ``-j 1`` and with ``-j`` one per
core (the default), through the same command line an instructor uses, and prints the wall
time and submissions per minute of each.  Each run has its sandboxes, a ``--timeout`` of
``--timeout`` seconds (the spinning submissions use all of it), and checks every score.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import nbformat  # noqa: E402

from tcplab.exercises.grading import ASSIGNMENTS, generate  # noqa: E402
from test_assignments import WRONG, _solutions, _submission  # noqa: E402

KINDS = ("right", "wrong", "blank", "malformed", "hostile")
HOSTILE = [
    "import tcplab.exercises as ex\nex.check = lambda *a, **k: None",
    "q1 = open('/etc/passwd').read()",
    "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
    "'import time; time.sleep(60)'], start_new_session=True)",
    "while True: pass",
]


def make_class(name: str, student: Path, folder: Path, n: int) -> dict[str, str]:
    """``n`` submissions in ``folder``; file name -> kind."""
    folder.mkdir(parents=True)
    right = _solutions(name)
    kinds = {}
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        path = folder / f"s{i:03d}-{kind}.ipynb"
        if kind == "right":
            _submission(student, right, path)
        elif kind == "wrong":
            _submission(student, {**right, **WRONG[name]}, path)
        elif kind == "blank":
            _submission(student, {}, path)
        elif kind == "malformed":
            if i % 2:
                path.write_text("{ not a notebook")
            else:
                path = path.with_suffix(".zip")
                with zipfile.ZipFile(path, "w") as z:
                    z.writestr("notes.txt", "no notebook here")
        else:
            nb = nbformat.read(student, as_version=4)
            nb.cells.append(nbformat.v4.new_code_cell(HOSTILE[(i // len(KINDS)) % len(HOSTILE)]))
            nbformat.write(nb, path)
        kinds[path.name] = kind
    return kinds


def grade(autograder: Path, folder: Path, out: Path, jobs: int, timeout: float) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tcplab", "grade", "-a", str(autograder),
                           "-o", str(out), "-j", str(jobs), "--timeout", str(timeout),
                           str(folder)], capture_output=True, text=True)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"grading failed: {proc.stderr.strip()}")
    return took


def check(out: Path, kinds: dict[str, str]) -> None:
    with open(out / "final_grades.csv", newline="") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    full = float(rows["points-per-question"]["total_points_earned"])
    for file, kind in kinds.items():
        got = float(rows[file]["total_points_earned"])
        want_full = kind == "right"
        assert (got == full) == want_full and (kind != "blank" or got == 0), (file, got)
        assert (rows[file]["grading_status"] == "Completed") == (kind != "malformed") or \
            "timed out" in rows[file]["grading_status"], (file, rows[file])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100, help="submissions (default 100)")
    parser.add_argument("-a", "--assignment", default="a3-find-the-bug")
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds per submission (default 20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        name = args.assignment
        student, autograder = generate(ASSIGNMENTS / name / f"{name}.ipynb",
                                       tmp_path / "dist", run_tests=False)
        kinds = make_class(name, student, tmp_path / "subs", args.n)
        cores = os.cpu_count() or 1
        print(f"{args.n} submissions of {name} ({', '.join(KINDS)} in turn; "
              f"{sum(k == 'hostile' for k in kinds.values())} hostile, of which "
              f"{sum(1 for f, k in kinds.items() if k == 'hostile' and (int(f[1:4]) // 5) % 4 == 3)}"
              f" spin until the {args.timeout:g} s timeout), {cores} cores")
        for jobs in (1, cores):
            out = tmp_path / f"grades-j{jobs}"
            took = grade(autograder, tmp_path / "subs", out, jobs, args.timeout)
            check(out, kinds)
            print(f"  -j {jobs}: {took:6.1f} s   {args.n / took * 60:6.1f} submissions/minute")


if __name__ == "__main__":
    main()
