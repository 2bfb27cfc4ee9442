"""Binder: replay what repo2docker does, as far as this machine allows (no Docker engine).

repo2docker, seeing binder/, installs binder/requirements.txt into a fresh environment,
apt-installs binder/apt.txt, copies the repository and runs binder/postBuild from its root.
We do the same with a fresh virtual environment and a copy of the tracked files, then
execute every notebook in that environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9][^\s;]*)", line)
            assert m, f"binder/requirements.txt: {line!r} is not pinned with =="
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_binder_folder_follows_repo2docker_conventions():
    assert not (ROOT / ".binder").exists(), "repo2docker refuses both binder/ and .binder/"
    pins = _requirements()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        req = Requirement(dep)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"runtime dependency {name} is not pinned for Binder"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"binder pin {name}=={pins[name]} contradicts tcplab's requirement {dep!r}"
    assert "graphviz" in (BINDER / "apt.txt").read_text().split()
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "postBuild must be executable"
    text = post.read_text()
    assert "pip install" in text and "pip check" in text
    assert re.fullmatch(r"python-3\.\d+\s*", (BINDER / "runtime.txt").read_text())


def test_readme_binder_badges_point_at_real_notebooks():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"mybinder\.org/v2/gh/[^)\s]+urlpath=lab/tree/([^)\s&]+)", readme)
    assert links, "README needs a 'launch Binder' badge"
    assert links[0] == "notebooks/01-overview.ipynb"
    for target in links:
        assert (ROOT / target).exists(), f"Binder link to missing {target}"
    notebooks = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb"))
    for nb in notebooks:
        assert nb in links, f"README has no Binder link for {nb}"


def _apt_missing(packages: list[str]) -> list[str]:
    if not shutil.which("dpkg-query"):
        return packages
    missing = []
    for pkg in packages:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True,
                             text=True)
        if "install ok installed" not in out.stdout:
            missing.append(pkg)
    return missing




@pytest.mark.slow
def test_replay_repo2docker_build_and_run_every_notebook(tmp_path):
    apt = (BINDER / "apt.txt").read_text().split()
    missing = _apt_missing(apt)
    if missing:
        pytest.skip(f"binder/apt.txt packages not installed here: {missing} "
                    "(scripts/test.sh installs them when it may use apt)")
    # 1. the repository as repo2docker sees it: tracked files only
    repo = tmp_path / "repo"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        if (ROOT / f).is_file():
            (repo / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, repo / f)
    # 2. a fresh environment from binder/requirements.txt only
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", env_dir], check=True)
    py = env_dir / "bin" / "python"
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "JUPYTER_DATA_DIR": str(tmp_path / "jd"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jc"), "VIRTUAL_ENV": str(env_dir)}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([py, "-m", "pip", "install", "-q", "-r",
                          repo / "binder" / "requirements.txt"], env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    # 3. postBuild from the repository root
    out = subprocess.run([repo / "binder" / "postBuild"], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"postBuild failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    # tcplab came from the copy, not from this checkout
    where = subprocess.run([py, "-c", "import tcplab; print(tcplab.__file__)"], env=env,
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where
    # 4. every notebook runs in that environment
    script = ROOT / "tests" / "execute_notebooks.py"
    out = subprocess.run([py, script, repo / "notebooks", "120"], env=env, cwd=repo / "notebooks",
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    assert "ALL OK" in out.stdout
