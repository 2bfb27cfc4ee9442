"""The instructor's kit: build the assignments with otter-grader and grade a folder of
submissions on this machine, without Docker.

``otter grade`` runs every submission in a Docker container; where there is no Docker
engine (a laptop, a CI runner, this course's lab machines) this module grades with
otter's own non-containerised runner -- the one ``otter run`` uses -- and writes the same
``final_grades.csv`` that ``otter grade`` writes (otter's own table code)::

    python -m tcplab generate                      # every assignment -> dist/
    python -m tcplab grade -a dist/a1-predict-decode/autograder/*.zip \\
        -o grades/a1 submissions/a1/

Besides ``final_grades.csv`` the grade command writes, for each submission, ``NAME.txt``
(the test results with the feedback of every test, hidden ones included: what to send back
to a student) and ``NAME.json`` (otter's results).  The submissions' code runs in a Jupyter
kernel of this Python environment, with the packages installed here (tcplab included):
grade in an account and on a machine you would let student code run on.

``generate`` runs ``otter assign`` on each master notebook (``assignments/NAME/NAME.ipynb``),
which also runs every test against the solutions, and with ``--update-student`` copies the
student versions to ``assignments/student/``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterable, Sequence

__all__ = ["ROOT", "ASSIGNMENTS", "masters", "generate", "grade_one", "grade", "main"]

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = ROOT / "assignments"
SUBMISSION_EXTENSIONS = (".ipynb", ".zip")


def masters(root: Path = ASSIGNMENTS) -> list[Path]:
    """The instructor versions (otter master notebooks): ``root/NAME/NAME.ipynb``."""
    return sorted(p for p in root.glob("*/*.ipynb") if p.stem == p.parent.name)


def generate(master: "str | Path", result: "str | Path", *, run_tests: bool = True
             ) -> tuple[Path, Path]:
    """``otter assign MASTER RESULT``: returns (student notebook, autograder zip)."""
    from otter.assign import main as assign

    master, result = Path(master).resolve(), Path(result).resolve()
    if not master.is_file():
        raise FileNotFoundError(f"no master notebook {master}")
    if result.exists():
        shutil.rmtree(result)      # otter would keep old autograder zips next to the new one
    assign(str(master), str(result), no_run_tests=not run_tests, no_pdfs=True)
    student = result / "student" / master.name
    zips = sorted((result / "autograder").glob("*-autograder_*.zip"))
    if not student.is_file() or len(zips) != 1:
        raise RuntimeError(f"otter assign did not produce {student} and one autograder zip")
    return student, zips[0]


def _submissions(paths: Iterable["str | Path"]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.iterdir()
                            if q.suffix in SUBMISSION_EXTENSIONS and not q.name.startswith("."))
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"no submission file or folder {p}")
    return found


def grade_one(autograder: "str | Path", submission: "str | Path"):
    """Grade one submission (otter's ``GradingResults``); never raises for a broken one."""
    from otter.api import grade_submission
    from otter.test_files import GradingResults

    submission = Path(submission)
    try:
        results = grade_submission(str(submission), str(autograder), quiet=True)
    except Exception as exc:  # noqa: BLE001 - a submission that cannot run scores 0
        results = GradingResults.without_results(exc)
    results.file = submission.name
    return results


def _grade_job(args: tuple[str, str]):
    autograder, submission = args
    res = grade_one(autograder, submission)
    # GradingResults holds test objects that pickle fine; exceptions may not
    if res.has_catastrophic_failure():
        from otter.test_files import GradingResults
        err = RuntimeError(f"{type(res.catastrophic_error).__name__}: {res.catastrophic_error}")
        res = GradingResults.without_results(err)
        res.file = Path(submission).name
    return res


def grade(autograder: "str | Path", submissions: Sequence["str | Path"],
          output_dir: "str | Path", *, jobs: int = 1) -> list:
    """Grade every submission (files, or folders of ``.ipynb``/``.zip`` files) and write
    ``final_grades.csv`` plus ``NAME.txt`` and ``NAME.json`` per submission to
    ``output_dir``.  Returns otter's ``GradingResults``, one per submission."""
    from otter.grade.utils import merge_scores_to_df

    autograder = Path(autograder).resolve()
    if not autograder.is_file():
        raise FileNotFoundError(f"no autograder zip {autograder} (make it with `otter assign`)")
    if not zipfile.is_zipfile(autograder):
        raise ValueError(f"{autograder} is not an autograder zip: give the "
                         "NAME-autograder_*.zip that `otter assign` wrote to RESULT/autograder/")
    subs = _submissions(submissions)
    if not subs:
        raise FileNotFoundError(f"no submissions (.ipynb or .zip) in {list(map(str, submissions))}")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    args = [(str(autograder), str(s.resolve())) for s in subs]
    if jobs > 1 and len(args) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_grade_job, args))
    else:
        results = [_grade_job(a) for a in args]
    for sub, res in zip(subs, results):
        stem = sub.stem
        head = (f"{sub.name}: {res.total:g} / {res.possible:g} points" if
                not res.has_catastrophic_failure() else f"{sub.name}: NOT GRADED")
        (out / f"{stem}.txt").write_text(head + "\n\n" + res.summary() + "\n", encoding="utf-8")
        if not res.has_catastrophic_failure():
            (out / f"{stem}.json").write_text(json.dumps(res.to_dict(), indent=1, default=str),
                                              encoding="utf-8")
    merge_scores_to_df(results).to_csv(out / "final_grades.csv", index=False)
    return results


def _copy_student(student: Path, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / student.name
    shutil.copyfile(student, dest)
    return dest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tcplab",
        description="Build tcplab's otter-grader assignments and grade submissions without "
                    "Docker.")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="otter assign every master notebook (or those given)")
    gen.add_argument("masters", nargs="*", help="master notebooks (default: all of "
                     "assignments/NAME/NAME.ipynb)")
    gen.add_argument("-o", "--output-dir", default="dist",
                     help="where to write NAME/student and NAME/autograder (default: dist)")
    gen.add_argument("--no-run-tests", action="store_true",
                     help="do not run the tests against the solutions (faster)")
    gen.add_argument("--update-student", action="store_true",
                     help="also copy the student versions to assignments/student/")
    gr = sub.add_parser("grade", help="grade submissions like `otter grade`, without Docker")
    gr.add_argument("submissions", nargs="+", help="submission files or folders of them")
    gr.add_argument("-a", "--autograder", required=True, help="the autograder zip from "
                    "otter assign (a glob is fine)")
    gr.add_argument("-o", "--output-dir", default=".", help="where to write final_grades.csv")
    gr.add_argument("-j", "--jobs", type=int, default=1, help="grade this many in parallel")
    args = parser.parse_args(argv)

    if args.command == "generate":
        todo = [Path(m) for m in args.masters] or masters()
        if not todo:
            parser.error(f"no master notebooks in {ASSIGNMENTS}")
        for master in todo:
            name = master.stem
            student, zip_path = generate(master, Path(args.output_dir) / name,
                                         run_tests=not args.no_run_tests)
            print(f"{name}: student version {student}")
            print(f"{' ' * len(name)}  autograder      {zip_path}")
            if args.update_student:
                print(f"{' ' * len(name)}  copied to       "
                      f"{_copy_student(student, ASSIGNMENTS / 'student')}")
        return 0

    zips = sorted(glob.glob(args.autograder)) or [args.autograder]
    if len(zips) != 1:
        parser.error(f"--autograder matches {len(zips)} files: {zips}; give exactly one")
    results = grade(zips[0], args.submissions, args.output_dir, jobs=args.jobs)
    for res in results:
        if res.has_catastrophic_failure():
            print(f"{res.file}: NOT GRADED: {res.catastrophic_error}")
        else:
            print(f"{res.file}: {res.total:g} / {res.possible:g}")
    print(f"wrote {os.path.join(args.output_dir, 'final_grades.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
