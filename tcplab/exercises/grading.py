"""The instructor's kit: build the assignments with otter-grader, and grade a class's
submissions on this machine -- safely, without Docker.

    python -m tcplab generate -o dist ASSIGNMENT.ipynb ...     # otter assign
    python -m tcplab grade -a dist/a1-predict-decode/autograder/*.zip \\
        -o grades/a1 submissions/a1/

Grading keeps a submission's code away from its score:

1. each notebook runs in its own sandbox (:mod:`tcplab.exercises.sandbox`: bubblewrap,
   an unprivileged user, no network, no other files, its own process group and a time
   limit, a private ``/tmp`` removed afterwards), and hands back only its answers as plain
   data (:mod:`tcplab.exercises.run_submission`, :mod:`tcplab.exercises.answer_data`);
2. this process scores that data with the autograder's tests and its own tcplab checkers
   (:mod:`tcplab.exercises.scoring`, otter's test runner): a submission cannot replace a
   checker or the results writer, because neither runs where it runs;
3. ``final_grades.csv`` (otter grade's table) is written after every sandbox is gone, with
   ``NAME.txt`` (the feedback of every test, hidden ones included: what to send back to a
   student) and ``NAME.json`` (otter's results) for each submission.

Where no sandbox can be made (no bubblewrap, no user namespaces, not Linux) grading
refuses and says why, unless the instructor passes ``--no-sandbox``.  Submissions are
graded in parallel, a worker per core by default.  ``generate`` runs ``otter assign`` on
each master notebook (``assignments/NAME/NAME.ipynb`` in a checkout of tcplab, or the
ones given), which also runs every test against the solutions.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .answer_data import AnswerDataError, decode
from .sandbox import Sandbox, SandboxUnavailable, find_sandbox
from .scoring import Autograder, AutograderError

__all__ = ["ROOT", "ASSIGNMENTS", "masters", "generate", "grade", "main", "Submission",
           "TIMEOUT"]

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = ROOT / "assignments"          # only in a checkout of tcplab
SUBMISSION_EXTENSIONS = (".ipynb", ".zip")
#: Seconds one submission may run (its notebook, top to bottom) before it is killed.
TIMEOUT = 120.0
#: A notebook larger than this many bytes is not graded.
MAX_NOTEBOOK = 20 << 20


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


class NotGradable(Exception):
    """A submission that cannot be graded; the message is the one-line reason."""


def read_notebook(path: Path) -> dict:
    """The notebook JSON of a submission: an ``.ipynb``, or the one ``.ipynb`` in a zip
    (what otter's export cell makes).  Raises :class:`NotGradable` with the reason."""
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                nbs = [i for i in z.infolist() if i.filename.endswith(".ipynb")
                       and not i.filename.startswith(("__MACOSX", "."))]
                if len(nbs) != 1:
                    raise NotGradable(f"the zip holds {len(nbs)} notebooks, not one")
                if nbs[0].file_size > MAX_NOTEBOOK:
                    raise NotGradable(f"the notebook is over {MAX_NOTEBOOK >> 20} MiB")
                data = z.read(nbs[0])
        else:
            if path.stat().st_size > MAX_NOTEBOOK:
                raise NotGradable(f"the notebook is over {MAX_NOTEBOOK >> 20} MiB")
            data = path.read_bytes()
        nb = json.loads(data)
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotGradable(f"cannot read the file: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise NotGradable("not a notebook: the file is not JSON") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotGradable("not a notebook: no list of cells")
    return nb


@dataclass
class Submission:
    """One graded (or not gradable) submission: ``results`` (otter's GradingResults),
    ``error`` (why it could not be graded, one line) and notes from running it."""

    path: Path
    results: Any = None
    error: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def line(self) -> str:
        if self.error:
            return f"{self.path.name}: not graded: {self.error}"
        return f"{self.path.name}: {self.results.total:g} / {self.results.possible:g}"


def _closing_calls() -> list[tuple[str, str]]:
    """The (state, event) pairs a function answer is called with in the sandbox: every
    pair the closing-states checkers ask about (``next_state(state, event)``, a2 Q4)."""
    from . import CLOSING_STATES, EXTENDED_EVENTS
    return [(s.name, e) for s in CLOSING_STATES for e in EXTENDED_EVENTS]


def _run_in_sandbox(box: Sandbox, path: Path, names: list[str],
                    calls: list[tuple[str, str]], timeout: float) -> dict:
    """Run one submission in ``box``; its raw answer data.  Raises NotGradable."""
    request = {"notebook": read_notebook(path), "names": names, "calls": calls}
    run = box.run([box.python, "-m", "tcplab.exercises.run_submission"],
                  json.dumps(request).encode(), timeout=timeout)
    if run.error:
        raise NotGradable(run.error)
    try:
        data = json.loads(run.stdout)
    except (ValueError, RecursionError):
        raise NotGradable("its run returned no readable answers") from None
    if not isinstance(data, dict):
        raise NotGradable("its run returned no readable answers")
    if "failed" in data:
        raise NotGradable(f"the notebook could not be run: {str(data['failed'])[:200]}")
    return data


def _score(grader: Autograder, sub: Submission, data: dict) -> None:
    from otter.test_files import GradingResults
    try:
        raw = data.get("answers", {})
        if not isinstance(raw, dict):
            raise AnswerDataError("no answers")
        answers = {n: decode(raw[n]) for n in grader.names if n in raw}
    except (AnswerDataError, RecursionError) as exc:
        sub.error = f"its answers cannot be read ({exc})"
        sub.results = GradingResults.without_results(RuntimeError(sub.error))
        return
    missing = [n for n in grader.names if n not in answers]
    if missing:
        sub.notes.append("not defined in the notebook: " + ", ".join(missing))
    errors = data.get("errors")
    sub.notes += [str(e)[:300] for e in errors[:20]] if isinstance(errors, list) else []
    sub.results = grader.score(answers)


def _write(out: Path, sub: Submission) -> None:
    stem = sub.path.stem
    sub.results.file = sub.path.name
    if sub.error:
        (out / f"{stem}.txt").write_text(sub.line + "\n", encoding="utf-8")
        return
    notes = "".join(f"  {n}\n" for n in sub.notes)
    text = (sub.line + " points\n\n" + (f"While the notebook ran:\n{notes}\n" if notes else "")
            + sub.results.summary() + "\n")
    (out / f"{stem}.txt").write_text(text, encoding="utf-8")
    (out / f"{stem}.json").write_text(json.dumps(sub.results.to_dict(), indent=1, default=str),
                                      encoding="utf-8")


def grade(autograder: "str | Path", submissions: Sequence["str | Path"],
          output_dir: "str | Path", *, jobs: int | None = None, timeout: float = TIMEOUT,
          sandbox: Sandbox | None = None, allow_unisolated: bool = False,
          progress: Callable[[Submission], None] | None = None) -> list[Submission]:
    """Grade every submission (files, or folders of ``.ipynb``/``.zip`` files) with the
    tests of ``autograder`` and write ``final_grades.csv``, ``NAME.txt`` and ``NAME.json``
    to ``output_dir``.  Returns one :class:`Submission` per file, in order.

    ``jobs`` submissions run at once (default: one per core); each may run ``timeout``
    seconds.  Raises ``FileNotFoundError`` (no autograder, no submissions),
    :class:`~tcplab.exercises.scoring.AutograderError` and, where no sandbox can be made
    and ``allow_unisolated`` is false,
    :class:`~tcplab.exercises.sandbox.SandboxUnavailable`.  A submission that cannot be
    graded (unreadable, timed out, crashed) gets a row with its reason; it never raises.
    ``progress`` is called as each one is done.
    """
    from otter.grade.utils import merge_scores_to_df
    from otter.test_files import GradingResults

    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    grader = Autograder.from_zip(autograder)
    subs = [Submission(p) for p in _submissions(submissions)]
    if not subs:
        raise FileNotFoundError(f"no submissions (.ipynb or .zip) in {list(map(str, submissions))}")
    jobs = max(1, jobs or os.cpu_count() or 1)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    calls = _closing_calls()        # a function answer is recorded for these arguments
    box = sandbox or find_sandbox(allow_unisolated=allow_unisolated)
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        running = {pool.submit(_run_in_sandbox, box, s.path, grader.names, calls, timeout): s
                   for s in subs}
        for done in as_completed(running):
            sub = running[done]
            try:
                _score(grader, sub, done.result())
            except NotGradable as exc:
                sub.error = str(exc)
            if sub.error:
                sub.results = GradingResults.without_results(RuntimeError(sub.error))
            _write(out, sub)
            if progress:
                progress(sub)
    except BaseException:               # Ctrl-C, or a bug here: stop every sandbox now
        pool.shutdown(wait=False, cancel_futures=True)
        box.kill_all()
        raise
    finally:
        pool.shutdown(wait=True)
        if sandbox is None:
            box.close()
    # every sandbox has ended (the pool waited for each one): only now the class table
    merge_scores_to_df([s.results for s in subs]).to_csv(out / "final_grades.csv", index=False)
    return subs


def _copy_student(student: Path, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / student.name
    shutil.copyfile(student, dest)
    return dest


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


class _Progress:
    """On a terminal, rich's progress bar with each submission's line printed above it;
    otherwise just the lines."""

    def __init__(self, total: int) -> None:
        self.bar = None
        if sys.stdout.isatty():
            try:
                from rich.console import Console
                from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                                           TextColumn, TimeRemainingColumn)
            except ImportError:
                return
            self.bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=Console())
            self.task = self.bar.add_task("grading", total=total)

    def __enter__(self) -> "_Progress":
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()

    def __call__(self, sub: Submission) -> None:
        if self.bar:
            self.bar.console.print(sub.line, highlight=False, markup=False, soft_wrap=True)
            self.bar.advance(self.task)
        else:
            print(sub.line, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tcplab generate|grade ...``; returns the exit status (2: bad usage)."""
    parser = _Parser(prog="python -m tcplab",
                     description="Build tcplab's otter-grader assignments and grade a class's "
                                 "submissions safely, without Docker.")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="otter assign every master notebook (or those given)")
    gen.add_argument("masters", nargs="*", help="master notebooks (default: all of "
                     "assignments/NAME/NAME.ipynb in a checkout of tcplab)")
    gen.add_argument("-o", "--output-dir", default="dist",
                     help="where to write NAME/student and NAME/autograder (default: dist)")
    gen.add_argument("--no-run-tests", action="store_true",
                     help="do not run the tests against the solutions (faster)")
    gen.add_argument("--update-student", action="store_true",
                     help="also copy the student versions to assignments/student/")
    gr = sub.add_parser("grade", help="grade submissions, each in a sandbox, without Docker",
                        description="Grade submissions: each notebook runs in a bubblewrap "
                                    "sandbox and only its answers come back; this process "
                                    "scores them with the autograder's tests.")
    gr.add_argument("submissions", nargs="+", help="submission files (.ipynb, or the .zip the "
                    "export cell makes) or folders of them")
    gr.add_argument("-a", "--autograder", required=True, help="the autograder zip from "
                    "otter assign (a glob is fine)")
    gr.add_argument("-o", "--output-dir", default=".", help="where to write final_grades.csv "
                    "and the feedback (default: .)")
    gr.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="grade this many at once (default: one per core, here %(default)s)")
    gr.add_argument("--timeout", type=float, default=TIMEOUT, metavar="SECONDS",
                    help="kill a submission that runs longer (default: %(default)g)")
    gr.add_argument("--no-sandbox", action="store_true",
                    help="where no sandbox can be made, run submissions unisolated, as you, "
                         "with access to your files: only for submissions you trust")
    args = parser.parse_args(argv)
    parser = gen if args.command == "generate" else gr     # errors name the subcommand

    if args.command == "generate":
        todo = [Path(m) for m in args.masters] or masters()
        if not todo:
            parser.error(f"no master notebooks in {ASSIGNMENTS}: give their paths")
        if args.update_student and not ASSIGNMENTS.is_dir():
            parser.error("--update-student works only in a checkout of tcplab")
        for master in todo:
            if not master.is_file():
                parser.error(f"no master notebook {master}")
            try:
                nb = json.loads(master.read_text(encoding="utf-8"))
                ok = isinstance(nb, dict) and isinstance(nb.get("cells"), list)
            except (OSError, UnicodeDecodeError, ValueError):
                ok = False
            if master.suffix != ".ipynb" or not ok:
                parser.error(f"{master} is not a master notebook (an otter-assign .ipynb)")
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
        parser.error(f"--autograder matches {len(zips)} files: {', '.join(zips)}; give one")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")
    if not args.timeout > 0:
        parser.error(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    try:
        paths = _submissions(args.submissions)
        Autograder.from_zip(zips[0])
        with find_sandbox(allow_unisolated=args.no_sandbox) as box:
            if not box.isolated:
                print(f"warning: submissions run unisolated, as you: {box.reason}",
                      file=sys.stderr)
            with _Progress(len(paths)) as progress:
                subs = grade(zips[0], paths, args.output_dir, jobs=args.jobs,
                             timeout=args.timeout, sandbox=box, progress=progress)
    except SandboxUnavailable as exc:
        parser.error(f"cannot isolate the submissions: {exc}. Grade where bubblewrap works, "
                     "use `otter grade` (Docker) or Gradescope, or pass --no-sandbox to run "
                     "them unisolated")
    except (OSError, AutograderError, ValueError) as exc:   # a path, the zip, an argument
        parser.error(str(exc))
    except KeyboardInterrupt:
        parser.exit(130, "interrupted: every sandbox stopped, final_grades.csv not written\n")
    failed = sum(bool(s.error) for s in subs)
    print(f"wrote {Path(args.output_dir) / 'final_grades.csv'}: {len(subs) - failed} graded"
          + (f", {failed} not graded (see above)" if failed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
