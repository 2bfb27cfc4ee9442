"""The package a course can adopt: licence metadata, a release that passes ``twine check``, an
sdist that rebuilds the same wheel, and a wheel that is enough to learn with.

The slow tests build the sdist and the wheel from a copy of the tracked files (as a fresh clone
has them) with ``python -m build``, then install the wheel alone into a fresh virtual
environment (pip may fetch tcplab's dependencies from the package index) and, from a folder
far from this checkout: ``tcplab notebooks``, every lesson run with nbclient, ``tcplab lab``
serving the lessons, and ``tcplab grade`` without otter-grader.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

import tcplab

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
LICENSE_EXPRESSION = "BSD-3-Clause AND CC-BY-4.0"
TOKEN = "tcplab-packaging-test-token"


# ------------------------------------------------------------------ metadata (fast) --------

def test_licence_files_and_spdx_expression():
    assert PROJECT["license"] == LICENSE_EXPRESSION
    licenses = pytest.importorskip("packaging.licenses")
    assert licenses.canonicalize_license_expression(PROJECT["license"]) == LICENSE_EXPRESSION
    files = PROJECT["license-files"]
    assert sorted(files) == ["LICENSE", "LICENSE-CC-BY-4.0.txt"]
    bsd = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert bsd.startswith("BSD 3-Clause License") and "Neither the name of the copyright" in bsd
    cc = (ROOT / "LICENSE-CC-BY-4.0.txt").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 4.0 International Public License" in cc
    assert "Section 8 -- Interpretation." in cc                     # the whole legal code
    # PEP 639: a licence expression replaces the "License ::" classifiers
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


def test_readme_states_the_licence():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Licence", 1)[1].split("\n## ", 1)[0]
    for words in ("BSD 3-Clause", "Creative Commons Attribution 4.0", "LICENSE-CC-BY-4.0.txt",
                  LICENSE_EXPRESSION):
        assert words in section


def test_readme_is_the_long_description():
    assert "readme" in PROJECT["dynamic"] and "readme" not in PROJECT
    hook = PYPROJECT["tool"]["hatch"]["metadata"]["hooks"]["fancy-pypi-readme"]
    assert hook["fragments"] == [{"path": "README.md"}]


def test_version_has_one_source_and_a_changelog_entry():
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "tcplab/__init__.py"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{tcplab.__version__}]" in changelog


def test_project_urls_and_classifiers():
    urls = PROJECT["urls"]
    for key in ("Homepage", "Documentation", "Source", "Issues", "Changelog"):
        assert urls[key].startswith("https://"), key
    classifiers = PROJECT["classifiers"]
    assert "Intended Audience :: Education" in classifiers
    minor = int(PROJECT["requires-python"].removeprefix(">=3."))
    assert f"Programming Language :: Python :: 3.{minor}" in classifiers


def test_extras_docs_and_dev():
    extras = PROJECT["optional-dependencies"]
    docs = {d.split(">")[0].split("=")[0] for d in extras["docs"]}
    assert {"sphinx", "myst-nb", "furo"} <= docs
    assert {"tcplab[docs]", "tcplab[assignments]", "build", "twine"} <= set(extras["dev"])


def test_wheel_maps_the_lessons_without_committing_them_twice():
    mapping = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert mapping == {"notebooks": "tcplab/_lessons/notebooks",
                       "assignments/student": "tcplab/_lessons/assignments"}
    assert not (ROOT / "tcplab" / "_lessons").exists(), "tcplab/_lessons is made by the build"


# ------------------------------------------------------------------ building (slow) --------

def _tracked_copy(dest: Path) -> Path:
    """The tracked files as a fresh clone has them (working-tree contents); the tree itself
    when this is not a git checkout (e.g. the tests run from an unpacked sdist)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return ROOT
    for rel in filter(None, out.split("\0")):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    return dest


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "JUPYTER_PATH")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra)
    return env


def _run(cmd, timeout=900, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                         timeout=timeout, **kw)
    assert out.returncode == 0, f"{cmd}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """``python -m build`` (sdist, then the wheel from the sdist) and, for comparison, a wheel
    built straight from the tree."""
    pytest.importorskip("build")
    tmp = tmp_path_factory.mktemp("dists")
    src = _tracked_copy(tmp / "clone")
    env = _clean_env()
    _run([sys.executable, "-m", "build", "--outdir", tmp / "release", src], env=env)
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", tmp / "direct", src], env=env)
    [sdist] = (tmp / "release").glob("*.tar.gz")
    [wheel] = (tmp / "release").glob("*.whl")
    [direct] = (tmp / "direct").glob("*.whl")
    return {"sdist": sdist, "wheel": wheel, "direct": direct, "src": src}


def _zip_digests(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}


@pytest.mark.slow
def test_release_files_pass_twine_check(dists):
    pytest.importorskip("twine")
    v = tcplab.__version__
    assert dists["sdist"].name == f"tcplab-{v}.tar.gz"
    assert dists["wheel"].name == f"tcplab-{v}-py3-none-any.whl"
    out = _run([sys.executable, "-m", "twine", "check", "--strict", dists["sdist"],
                dists["wheel"]])
    assert out.stdout.count("PASSED") == 2, out.stdout


@pytest.mark.slow
def test_sdist_holds_the_tests_and_rebuilds_the_same_wheel(dists):
    with tarfile.open(dists["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for rel in ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE",
                "LICENSE-CC-BY-4.0.txt", "docs/conf.py", "scripts/test.sh", ".ci/run"):
        assert rel in names, rel
    for folder in ("tests", "notebooks", "assignments/student"):
        src = dists["src"]
        here = {p.relative_to(src).as_posix() for p in (src / folder).glob("*")
                if p.is_file() and not p.name.startswith(".")}
        assert here and here <= names, f"sdist lacks {sorted(here - names)}"
    assert not [n for n in names if n.startswith((".venv/", "docs/_build/", "dist/"))]
    # `python -m build` made the wheel from the sdist: it must equal the one from the tree
    assert _zip_digests(dists["wheel"]) == _zip_digests(dists["direct"])


@pytest.mark.slow
def test_wheel_holds_the_lessons_and_the_licences(dists):
    with zipfile.ZipFile(dists["wheel"]) as z:
        names = set(z.namelist())
        for folder, target in (("notebooks", "notebooks"), ("assignments/student", "assignments")):
            for nb in sorted((ROOT / folder).glob("*.ipynb")):
                packed = f"tcplab/_lessons/{target}/{nb.name}"
                assert packed in names, packed
                assert z.read(packed) == nb.read_bytes(), packed
        assert not [n for n in names if n.endswith(".ipynb")
                    and b"# BEGIN SOLUTION" in z.read(n)], "a solution is in the wheel"
        dist_info = f"tcplab-{tcplab.__version__}.dist-info"
        assert {f"{dist_info}/licenses/LICENSE",
                f"{dist_info}/licenses/LICENSE-CC-BY-4.0.txt"} <= names
        meta = email.parser.Parser().parsestr(z.read(f"{dist_info}/METADATA").decode())
    assert meta["License-Expression"] == LICENSE_EXPRESSION
    assert "Documentation, https://" in " ".join(meta.get_all("Project-URL"))
    # the README as PyPI shows it: its pictures and links made absolute, pointing at real files
    body = meta.get_payload()
    assert meta["Description-Content-Type"] == "text/markdown" and "## Licence" in body
    assert not re.findall(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)", body)
    pictures = re.findall(r"raw\.githubusercontent\.com/tcplab/tcplab/main/([^)\s]+)", body)
    assert pictures and all((ROOT / p).is_file() for p in pictures), pictures
    for rel in re.findall(r"github\.com/tcplab/tcplab/blob/main/([^)\s#]+)", body):
        assert (ROOT / rel).exists(), rel
    assert not [n for n in names if n.startswith(("tests/", "notebooks/", "tcplab/_lessons/."))
                or "__pycache__" in n]


# ------------------------------------------------------------------ the wheel alone --------



@pytest.fixture(scope="module")
def wheel_env(dists, tmp_path_factory):
    """A fresh virtual environment with only the built wheel (and its dependencies), and a
    working folder far from this checkout."""
    tmp = tmp_path_factory.mktemp("wheel-env")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv])
    env = _clean_env(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
                     JUPYTER_DATA_DIR=str(tmp / "jupyter-data"),
                     JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
                     JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
                     IPYTHONDIR=str(tmp / "ipython"))
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", dists["wheel"]], env=env,
         timeout=1200)
    home = tmp / "learner"
    home.mkdir()
    where = _run([venv / "bin" / "python", "-c", "import tcplab; print(tcplab.__file__)"],
                 env=env, cwd=home).stdout
    assert str(venv) in where, f"tcplab came from {where}, not the wheel"
    return {"venv": venv, "env": env, "home": home}


@pytest.mark.slow
def test_wheel_alone_hands_out_the_lessons_and_every_lesson_runs(wheel_env):
    venv, env, home = wheel_env["venv"], wheel_env["env"], wheel_env["home"]
    out = _run([venv / "bin" / "tcplab", "notebooks", "course"], env=env, cwd=home)
    course = home / "course"
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert (course / nb.name).read_bytes() == nb.read_bytes(), nb.name
    for nb in (ROOT / "assignments" / "student").glob("*.ipynb"):
        assert (course / "assignments" / nb.name).read_bytes() == nb.read_bytes(), nb.name
    assert "otter-grader" in out.stdout          # how to make the assignments work
    # every lesson (and the field guide) runs in that environment
    script = ROOT / "tests" / "execute_notebooks.py"
    t0 = time.monotonic()
    out = _run([venv / "bin" / "python", script, course], env=env, cwd=course, timeout=1800)
    assert "ALL OK" in out.stdout, out.stdout
    print(f"\nevery lesson ran from the wheel in {time.monotonic() - t0:.0f} s")
    # the learner's run notebooks are their work now: a second copy keeps them
    (course / "01-overview.ipynb").write_text('{"mine": true}')
    out = _run([venv / "bin" / "tcplab", "notebooks", "course"], env=env, cwd=home)
    assert "1 kept" in out.stdout and "01-overview.ipynb" in out.stdout
    assert (course / "01-overview.ipynb").read_text() == '{"mine": true}'


@pytest.mark.slow
def test_wheel_alone_grade_without_otter_is_one_clear_error(wheel_env):
    venv, env, home = wheel_env["venv"], wheel_env["env"], wheel_env["home"]
    out = subprocess.run([venv / "bin" / "tcplab", "grade", "-a", "a1.zip", "-o", "grades",
                          "submissions/"], env=env, cwd=home, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2
    assert "otter-grader" in out.stderr and "pip install 'tcplab[assignments]'" in out.stderr
    assert "Traceback" not in out.stderr
    # and its help is there without otter
    assert "--autograder" in _run([venv / "bin" / "tcplab", "grade", "-h"], env=env,
                                  cwd=home).stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_wheel_alone_tcplab_lab_serves_the_lessons(wheel_env):
    venv, env, home = wheel_env["venv"], wheel_env["env"], wheel_env["home"]
    port = _free_port()
    proc = subprocess.Popen(
        [venv / "bin" / "tcplab", "lab", "lab-course", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}"],
        env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/api/contents?token={TOKEN}"
        deadline, listing = time.monotonic() + 120, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    listing = json.load(resp)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        assert listing is not None, f"JupyterLab did not answer (exit {proc.poll()})"
        names = {item["name"] for item in listing["content"]}
        lessons = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
        assert lessons <= names and "assignments" in names, names
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={TOKEN}",
                                    timeout=10) as resp:
            assert resp.status == 200 and b"JupyterLab" in resp.read()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
