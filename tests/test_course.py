"""tcplab.course: the lessons handed to a learner (``tcplab notebooks DIR``, ``tcplab lab DIR``).

The copy must bring every lesson and student assignment, be repeatable, update only what the
learner has not touched, never overwrite the learner's work, and answer a bad DIR with one
clear line.  The wheel itself is tested in test_packaging.py.
"""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tcplab
from tcplab import cli
from tcplab.course import MANIFEST, LessonSource, commands, copy_lessons, find_lessons, lessons

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def source(tmp_path) -> LessonSource:
    """A small course of its own: two lessons and one assignment."""
    nb, asg = tmp_path / "src" / "notebooks", tmp_path / "src" / "student"
    nb.mkdir(parents=True)
    asg.mkdir(parents=True)
    (nb / "01-a.ipynb").write_text("lesson a v1")
    (nb / "02-b.ipynb").write_text("lesson b v1")
    (nb / ".gitkeep").write_text("")
    (nb / ".ipynb_checkpoints").mkdir()
    (nb / ".ipynb_checkpoints" / "01-a-checkpoint.ipynb").write_text("not handed out")
    (asg / "a1.ipynb").write_text("assignment v1")
    return LessonSource(nb, asg, "checkout")


def _bump(source: LessonSource, name: str, text: str) -> None:
    path = source.assignments / name[len("assignments/"):] if name.startswith("assignments/") \
        else source.notebooks / name
    path.write_text(text)


# ------------------------------------------------------------------ what ships ------------

def test_the_checkout_hands_out_every_lesson_and_student_assignment():
    src = find_lessons()
    files = src.files()
    lessons_ = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    student = sorted(p.name for p in (ROOT / "assignments" / "student").glob("*.ipynb"))
    assert lessons_ and student
    assert [k for k in files if "/" not in k and k.endswith(".ipynb")] == lessons_
    assert [k.split("/", 1)[1] for k in files
            if k.startswith("assignments/") and k.endswith(".ipynb")] == student
    # only the student versions: the instructor versions hold the solutions
    for rel, path in files.items():
        assert "# BEGIN SOLUTION" not in path.read_text(encoding="utf-8"), rel


def test_hidden_files_and_checkpoints_are_not_handed_out(source):
    assert list(source.files()) == ["01-a.ipynb", "02-b.ipynb", "assignments/a1.ipynb"]


def test_doc_examples_run():
    for module in (lessons, commands):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
    assert doctest.testmod(lessons).attempted >= 4


# ------------------------------------------------------------------ copying ---------------

def test_first_copy_brings_everything_and_a_manifest(tmp_path, source):
    dest = tmp_path / "deep" / "lessons"
    report = copy_lessons(dest, source)
    assert report.copied == ["01-a.ipynb", "02-b.ipynb", "assignments/a1.ipynb"]
    assert report.updated == report.unchanged == report.kept == []
    assert (dest / "assignments" / "a1.ipynb").read_text() == "assignment v1"
    manifest = json.loads((dest / MANIFEST).read_text())
    assert manifest["tcplab"] == tcplab.__version__
    assert set(manifest["files"]) == set(report.copied)
    assert not list(dest.rglob("*.tmp")), "a temporary file was left behind"


def test_second_copy_changes_nothing(tmp_path, source):
    copy_lessons(tmp_path / "l", source)
    report = copy_lessons(tmp_path / "l", source)
    assert report.unchanged == ["01-a.ipynb", "02-b.ipynb", "assignments/a1.ipynb"]
    assert report.copied == report.updated == report.kept == []


def test_a_new_version_updates_untouched_lessons_and_keeps_edited_ones(tmp_path, source):
    dest = tmp_path / "l"
    copy_lessons(dest, source)
    (dest / "02-b.ipynb").write_text("the learner's answers")           # learner's work
    _bump(source, "01-a.ipynb", "lesson a v2")                           # a new tcplab
    _bump(source, "02-b.ipynb", "lesson b v2")
    _bump(source, "assignments/a1.ipynb", "assignment v2")
    (source.notebooks / "03-c.ipynb").write_text("lesson c v2")
    report = copy_lessons(dest, source)
    assert report.updated == ["01-a.ipynb", "assignments/a1.ipynb"]
    assert report.kept == ["02-b.ipynb"]
    assert report.copied == ["03-c.ipynb"]
    assert (dest / "01-a.ipynb").read_text() == "lesson a v2"
    assert (dest / "02-b.ipynb").read_text() == "the learner's answers"
    # the edited file stays protected on every later run, even after another release
    _bump(source, "02-b.ipynb", "lesson b v3")
    assert copy_lessons(dest, source).kept == ["02-b.ipynb"]
    assert (dest / "02-b.ipynb").read_text() == "the learner's answers"
    assert "02-b.ipynb" in copy_lessons(dest, source).summary()


def test_files_the_manifest_does_not_know_are_never_overwritten(tmp_path, source):
    dest = tmp_path / "l"
    dest.mkdir()
    (dest / "01-a.ipynb").write_text("someone's own notebook of the same name")
    report = copy_lessons(dest, source)
    assert report.kept == ["01-a.ipynb"]
    assert (dest / "01-a.ipynb").read_text() == "someone's own notebook of the same name"


def test_a_damaged_manifest_protects_everything(tmp_path, source):
    dest = tmp_path / "l"
    copy_lessons(dest, source)
    (dest / MANIFEST).write_text("{not json")
    _bump(source, "01-a.ipynb", "lesson a v2")
    report = copy_lessons(dest, source)
    assert report.kept == ["01-a.ipynb"] and report.updated == []
    assert (dest / "01-a.ipynb").read_text() == "lesson a v1"


@pytest.mark.parametrize("bad, error, words", [
    ("", ValueError, "empty string"),
    (42, TypeError, "folder path"),
])
def test_bad_dest_values(bad, error, words, source):
    with pytest.raises(error, match=words):
        copy_lessons(bad, source)


def test_dest_under_a_file_is_refused(tmp_path, source):
    (tmp_path / "notes.txt").write_text("x")
    for dest in (tmp_path / "notes.txt", tmp_path / "notes.txt" / "lessons"):
        with pytest.raises(NotADirectoryError, match="notes.txt is a file, not a folder"):
            copy_lessons(dest, source)


def test_a_folder_where_a_lesson_goes_is_refused(tmp_path, source):
    (tmp_path / "l" / "01-a.ipynb").mkdir(parents=True)
    with pytest.raises(NotADirectoryError, match="01-a.ipynb is a folder"):
        copy_lessons(tmp_path / "l", source)


# ------------------------------------------------------------------ the commands ----------

def test_notebooks_command(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["notebooks", "mine"]) == 0
    out = capsys.readouterr().out
    assert "copied" in out and "tcplab lab mine" in out
    assert (tmp_path / "mine" / "01-overview.ipynb").is_file()
    assert (tmp_path / "mine" / "assignments").is_dir()
    assert cli.main(["notebooks"]) == 0                      # the default folder
    assert (tmp_path / commands.DEFAULT_DIR / "01-overview.ipynb").is_file()


@pytest.mark.parametrize("command", ["notebooks", "lab"])
def test_bad_dir_is_one_clear_line(tmp_path, capsys, command):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as exc:
        cli.main([command, str(tmp_path / "file")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tcplab {command}: error: ")
    assert "is a file, not a folder" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_unwritable_dir_is_one_clear_line(tmp_path, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro"))
    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(SystemExit) as exc:
        cli.main(["notebooks", str(tmp_path / "ro")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "cannot put the lessons in DIR" in err and "Permission denied" in err


def test_lab_copies_then_starts_jupyterlab_there(tmp_path, capsys, monkeypatch):
    calls = []

    def execv(path, cmd):
        calls.append(cmd)
        raise SystemExit(0)              # as if this process had become JupyterLab
    monkeypatch.setattr(commands.os, "execv", execv)
    monkeypatch.setattr(subprocess, "call", lambda cmd: execv(cmd[0], cmd))  # not POSIX
    dest = tmp_path / "course"
    with pytest.raises(SystemExit):
        cli.main(["lab", str(dest), "--no-browser", "--port", "8890"])
    assert (dest / "01-overview.ipynb").is_file()
    [cmd] = calls
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={dest}" in cmd
    assert cmd[-4:] == [str(dest / "01-overview.ipynb"),        # a first visit: lesson 1
                        "--no-browser", "--port", "8890"]      # JupyterLab's own options
    with pytest.raises(SystemExit):                              # a later visit: the folder
        cli.main(["lab", str(dest)])
    assert not [a for a in calls[1] if a.endswith(".ipynb")]


def test_lab_without_jupyterlab_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    real = commands.importlib.util.find_spec
    monkeypatch.setattr(commands.importlib.util, "find_spec",
                        lambda name, *a: None if name == "jupyterlab" else real(name, *a))
    with pytest.raises(SystemExit) as exc:
        cli.main(["lab", str(tmp_path / "c")])
    assert exc.value.code == 2
    assert "pip install jupyterlab" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["grade", "generate"])
def test_instructor_kit_without_otter_says_how_to_install_it(capsys, monkeypatch, command):
    real = cli.importlib.util.find_spec
    monkeypatch.setattr(cli.importlib.util, "find_spec",
                        lambda name, *a: None if name == "otter" else real(name, *a))
    assert cli.main([command, "-a", "x.zip", "subs/"]) == 2
    err = capsys.readouterr().err
    assert "otter-grader" in err and "pip install 'tcplab[assignments]'" in err
    with pytest.raises(SystemExit) as exc:                      # its help still works
        cli.main([command, "-h"])
    assert exc.value.code == 0


def test_course_layer_stays_light():
    code = ("import sys, tcplab.course, tcplab.course.commands; "
            "heavy = {'ipywidgets', 'matplotlib', 'graphviz', 'otter', 'jupyterlab'} "
            "& set(sys.modules); assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
