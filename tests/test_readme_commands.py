"""The README's two commands are the project's front door: check they exist and really work.

* The README shows exactly ``bash scripts/lab.sh`` and ``bash scripts/test.sh`` in fenced code
  blocks, and CI (``.ci/run``) runs the very same test command.
* ``bash scripts/lab.sh`` really starts JupyterLab, serving the learner's *copies* of the
  lessons and student assignments (``$TCPLAB_LESSONS``) with the landing page
  START-HERE.ipynb, never the repository itself, and stops cleanly.  (``bash scripts/test.sh`` is checked by running this suite.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LAB_COMMAND = "bash scripts/lab.sh"
TEST_COMMAND = "bash scripts/test.sh"
LAB_START_TIMEOUT = 120  # s; measured 2-3 s once .venv is set up
TOKEN = "tcplab-test-token-not-secret"


def fenced_code_lines(markdown: str) -> list[str]:
    """Every non-empty line inside ``` fenced code blocks, stripped."""
    lines, inside = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def command_lines(text: str) -> list[str]:
    """Lines of a shell script without comments and blank lines."""
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


# ---------------------------------------------------------------- (a) the commands as written

def test_readme_shows_exactly_the_two_commands():
    code = fenced_code_lines(README.read_text(encoding="utf-8"))
    commands = [ln for ln in code if "scripts/" in ln]
    assert commands == [LAB_COMMAND, TEST_COMMAND], (
        f"README's fenced code blocks should hold exactly {LAB_COMMAND!r} and {TEST_COMMAND!r}, "
        f"found {commands!r}")


def test_ci_runs_the_readme_test_command():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK), ".ci/run must be executable"
    lines = command_lines(ci.read_text(encoding="utf-8"))
    runs = [ln for ln in lines if "scripts/" in ln]
    assert runs in ([TEST_COMMAND], [f"exec {TEST_COMMAND}"]), (
        f".ci/run must run exactly {TEST_COMMAND!r} (nothing that could hide a missing step), "
        f"found {runs!r}")


@pytest.mark.parametrize("script", ["scripts/setup.sh", "scripts/lab.sh", "scripts/test.sh", ".ci/run"])
def test_scripts_are_valid_bash(script):
    result = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_apt_test_package_list():
    listed = [re.sub(r"#.*", "", ln).strip()
              for ln in (ROOT / "scripts" / "apt-test-packages.txt").read_text().splitlines()]
    listed = [p for p in listed if p]
    assert {"graphviz", "chromium", "iproute2", "iptables"} <= set(listed)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", p) for p in listed), listed


# ---------------------------------------------------------------- (b) the lab command works

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process in the group exists, but is not ours
        return True
    return True


def _stop(proc: subprocess.Popen, base: str) -> list[str]:
    """Shut the server down through the REST API, as a user's "Shut Down" menu item does.

    Whatever that leaves behind (the server itself, or any process it started: lab.sh runs in
    a session of its own, so they share its process group) is killed, and reported.
    """
    problems = []
    if proc.poll() is None:
        try:
            req = urllib.request.Request(f"{base}/api/shutdown?token={TOKEN}", method="POST")
            urllib.request.urlopen(req, timeout=5).close()
            proc.wait(timeout=30)
        except Exception as e:  # noqa: BLE001 - any failure here is reported below
            problems.append(f"graceful shutdown failed: {e!r}")
    time.sleep(0.5)  # children get a moment to exit after their parent
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _group_alive(proc.pid):
            break
        problems.append(f"processes left in lab.sh's process group; sent {sig.name}")
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.5)
    proc.wait(timeout=10)
    return problems


@pytest.mark.slow
def test_lab_command_starts_jupyterlab_on_the_notebooks(tmp_path):
    # Isolate every Jupyter config/data/runtime dir, so neither the user's settings nor a
    # running server of theirs affect the test (kernelspecs are still found in sys.prefix).
    home = tmp_path / "jupyter"
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               BROWSER="true",  # never open a browser, even if --no-browser were ignored
               TCPLAB_LESSONS=str(tmp_path / "lessons"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = ["bash", "scripts/lab.sh", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    log_path = tmp_path / "lab.log"
    with open(log_path, "wb") as log:  # a session of its own, so _stop can reach its children
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    problems = []
    try:
        deadline = time.monotonic() + LAB_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"lab.sh exited with {proc.returncode} before JupyterLab was ready:\n"
                            f"{log_path.read_text(errors='replace')}")
            try:
                if _get(f"{base}/api/status?token={TOKEN}", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab not ready after {LAB_START_TIMEOUT} s:\n"
                            f"{log_path.read_text(errors='replace')}")
            time.sleep(0.3)

        # It is JupyterLab (not just a Jupyter server) ...
        status, body = _get(f"{base}/lab?token={TOKEN}")
        assert status == 200 and b"JupyterLab" in body

        # ... and it serves the learner's copies: the landing page, every lesson, the student
        # assignments; the repository (pyproject.toml) is outside it.
        status, body = _get(f"{base}/api/contents?token={TOKEN}")
        assert status == 200
        listing = json.loads(body)
        assert listing["type"] == "directory"
        served = sorted(item["name"] for item in listing["content"])
        lessons = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
        assert served == sorted(["START-HERE.ipynb", "assignments", *lessons])
        status, body = _get(f"{base}/api/contents/assignments?token={TOKEN}")
        assert sorted(i["name"] for i in json.loads(body)["content"]) == sorted(
            p.name for p in (ROOT / "assignments" / "student").glob("*.ipynb"))
        status, body = _get(f"{base}/api/contents/START-HERE.ipynb?token={TOKEN}")
        page = "".join(json.loads(body)["content"]["cells"][0]["source"])
        for name in [*lessons, *(f"assignments/{p.name}" for p in
                                 (ROOT / "assignments" / "student").glob("*.ipynb"))]:
            assert f"]({name})" in page, f"the landing page does not link {name}"
        assert _get(f"{base}/api/contents/pyproject.toml?token={TOKEN}")[0] == 404
    finally:
        problems = _stop(proc, base)
    assert not problems, f"{problems}\n{log_path.read_text(errors='replace')}"
    # The server is gone: its port no longer answers.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
