"""Run a program isolated from the machine that grades it, with bubblewrap (``bwrap``,
Debian package ``bubblewrap``): the well-kept unprivileged sandbox Flatpak uses.  No
Docker, no daemon.

Each run gets (``bwrap --unshare-all --die-with-parent --new-session --clearenv``):

- new user, PID, mount, network, IPC, UTS and cgroup namespaces: no network at all (only a
  loopback of its own), and it sees no process of the machine;
- a root file system that holds only ``/usr`` (and its ``/bin``, ``/lib`` links), this
  Python (``sys.prefix`` and ``sys.base_prefix``) and the ``tcplab`` package, all
  read-only, plus a fresh ``/proc``, a minimal ``/dev`` and a private ``/tmp`` (a tmpfs of
  :data:`TMP_BYTES`, which is its home and working directory) that vanishes with it.  No
  ``/etc``, no home directories, no other submission, no tests, no output folder;
- when the grader is root, an unprivileged user (:data:`SANDBOX_USER`): the sandbox is
  started through ``setpriv`` after the directories it needs are bind-mounted readable
  in a private mount namespace (``unshare --mount``), because a user-namespace sandbox
  cannot enter root-only directories such as a ``/root/.pyenv`` Python;
- its own session and process group, and a wall-clock limit: at the limit the whole group
  is killed with ``SIGKILL``; everything started inside dies with its PID namespace.

:func:`find_sandbox` says whether this works here (it runs a probe), and why not.  The
unisolated kind, for ``--no-sandbox``, still has the process group, time limit and private
temporary directory:

>>> box = Sandbox(isolated=False, reason="an example")
>>> box.run([box.python, "-c", "print(6 * 7)"], b"", timeout=60).stdout.decode().strip()
'42'
>>> box.run([box.python, "-c", "while True: pass"], b"", timeout=1).error
'timed out after 1 s (killed)'

Hand-written on purpose: bubblewrap does the isolation; this module only chooses what to
show the sandbox and turns its exit into a result.  Stdlib only.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

__all__ = ["Sandbox", "Run", "SandboxUnavailable", "find_sandbox", "SANDBOX_USER",
           "TMP_BYTES"]

#: The user a root grader runs submissions as.
SANDBOX_USER = "nobody"
#: Size of the private /tmp of one run, in bytes.
TMP_BYTES = 64 << 20
#: Bytes of stdout kept from one run (the answers); more is an error.
MAX_OUTPUT = 16 << 20


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made on this machine; the message says why and what to do."""


@dataclass(frozen=True)
class Run:
    """How one sandboxed program ended: ``stdout`` (bytes), ``returncode``, ``timed_out``,
    ``error`` (a one-line reason when it did not end normally, else ``""``)."""

    stdout: bytes
    returncode: int
    timed_out: bool
    error: str = ""


def _tcplab_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def _python_dirs() -> list[Path]:
    """This Python and tcplab: what a sandbox must see, outermost first, without nesting."""
    dirs = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                        sys.base_exec_prefix)}
    dirs.add(_tcplab_dir())
    dirs = {d for d in dirs if not str(d).startswith("/usr/") and d != Path("/usr")}
    out: list[Path] = []
    for d in sorted(dirs, key=lambda p: len(p.parts)):
        if not any(d.is_relative_to(o) for o in out):
            out.append(d)
    return out


def _readable_by_others(path: Path) -> bool:
    """Can a user who is neither owner nor in the group reach ``path``?"""
    for p in [*reversed(path.parents), path]:
        if not os.stat(p).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


@dataclass
class Sandbox:
    """Runs commands of this Python isolated (``isolated=True``), or -- only when the
    instructor asks for it -- merely in their own process group with a private temporary
    directory and a time limit (``isolated=False``)."""

    isolated: bool = True
    user: str | None = None        # run as this user (when the grader is root)
    reason: str = ""               # why not isolated
    _stage: Path | None = field(default=None, repr=False)
    _live: set = field(default_factory=set, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def python(self) -> str:
        return sys.executable

    def _tcplab_path(self) -> str:
        return str(_tcplab_dir().parent)

    def _bwrap_args(self, binds: Sequence[tuple[str, str]]) -> list[str]:
        args = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent",
                "--new-session", "--clearenv", "--ro-bind", "/usr", "/usr"]
        for link in ("bin", "lib", "lib32", "lib64", "sbin"):
            p = Path("/") / link
            if p.is_symlink():
                args += ["--symlink", os.readlink(p), str(p)]
            elif p.is_dir():
                args += ["--ro-bind", str(p), str(p)]
        # the private /tmp first: binds below land on top of it, so a Python, a virtual
        # environment or a checkout that lives under /tmp stays visible
        args += ["--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
        for src, dst in binds:
            args += ["--ro-bind", src, dst]
        args += ["--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp", "--hostname", "sandbox",
                 "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp",
                 "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8",
                 "--setenv", "PYTHONPATH", self._tcplab_path(),
                 "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
                 "--setenv", "MPLBACKEND", "Agg", "--setenv", "IPYTHONDIR", "/tmp/.ipython",
                 "--"]
        return args

    def command(self, argv: Sequence[str]) -> list[str]:
        """The full command line that runs ``argv`` (a command of this Python) isolated."""
        if not self.isolated:
            return list(argv)
        dirs = [str(d) for d in _python_dirs()]
        if self.user is None:
            return self._bwrap_args([(d, d) for d in dirs]) + list(argv)
        # root: bind what the sandbox user cannot reach under a staging directory it can,
        # in a mount namespace of this run only, then drop to the user and start bwrap
        assert self._stage is not None
        mounts, binds = [], []
        for i, d in enumerate(dirs):
            if _readable_by_others(Path(d)):
                binds.append((d, d))
            else:
                mounts += [d, str(self._stage / str(i))]
                binds.append((str(self._stage / str(i)), d))
        entry = pwd.getpwnam(self.user)
        drop = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                "--clear-groups", "--"]
        bwrap = self._bwrap_args(binds)
        if not mounts:
            return drop + bwrap + list(argv)
        script = ('while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 125; '
                  'shift 2; done; shift; exec "$@"')
        return (["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script,
                 "sh", *mounts, "--"] + drop + bwrap + list(argv))

    def run(self, argv: Sequence[str], stdin: bytes, *, timeout: float) -> Run:
        """Run ``argv`` with ``stdin``; kill its whole process group after ``timeout``
        seconds.  Its stdout (at most :data:`MAX_OUTPUT` bytes) is returned; a private
        temporary directory is its working directory and is removed afterwards."""
        if self._stopped:
            return Run(b"", -signal.SIGKILL, False, "stopped before it started")
        with tempfile.TemporaryDirectory(prefix="tcplab-run-") as tmp:
            tmp_path = Path(tmp)
            (tmp_path / "in").write_bytes(stdin)
            env = None
            cwd = "/"
            if not self.isolated:   # at least a private working and temporary directory
                work = tmp_path / "work"
                work.mkdir()
                cwd = str(work)
                env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
                       "TMPDIR": str(work), "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
                       "PYTHONPATH": self._tcplab_path(),
                       "IPYTHONDIR": str(work / ".ipython")}
            with open(tmp_path / "in", "rb") as fin, open(tmp_path / "out", "w+b") as fout, \
                    open(tmp_path / "err", "w+b") as ferr:
                proc = subprocess.Popen(self.command(argv), stdin=fin, stdout=fout,
                                        stderr=ferr, cwd=cwd, env=env, start_new_session=True)
                self._live.add(proc)
                timed_out = False
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    _kill_group(proc)       # whatever is left of it
                    proc.wait()
                    self._live.discard(proc)
                fout.seek(0)
                out = fout.read(MAX_OUTPUT + 1)
                ferr.seek(0)
                err = ferr.read().decode(errors="replace").strip()
        if timed_out:
            return Run(b"", proc.returncode, True, f"timed out after {timeout:g} s (killed)")
        if len(out) > MAX_OUTPUT:
            return Run(b"", proc.returncode, False, f"wrote more than {MAX_OUTPUT >> 20} MiB")
        error = ""
        if proc.returncode != 0:
            last = err.splitlines()[-1] if err else ""
            how = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
                   else f"exit status {proc.returncode}")
            error = f"{how}{': ' + last[:200] if last else ''}"
        return Run(out, proc.returncode, False, error)

    def kill_all(self) -> None:
        """Kill every run still going and refuse new ones (their callers return killed)."""
        self._stopped = True
        for proc in list(self._live):
            _kill_group(proc)

    def close(self) -> None:
        self.kill_all()
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def find_sandbox(*, allow_unisolated: bool = False, user: str = SANDBOX_USER) -> Sandbox:
    """A working :class:`Sandbox`, checked by running a probe in it.

    Without bubblewrap, or where it cannot create its namespaces (a container without
    user namespaces, a kernel that forbids them), raises :class:`SandboxUnavailable` naming
    the cause -- unless ``allow_unisolated``, which returns an unisolated one (its
    ``reason`` says why).  Close it (or use ``with``) to remove its staging directory.
    """
    def give_up(reason: str) -> Sandbox:
        if allow_unisolated:
            return Sandbox(isolated=False, reason=reason)
        raise SandboxUnavailable(reason)

    if sys.platform != "linux":
        return give_up(f"submissions can be isolated only on Linux (this is {sys.platform})")
    missing = [t for t in ("bwrap", "setpriv", "unshare") if shutil.which(t) is None]
    if "bwrap" in missing:
        return give_up("bubblewrap is not installed (Debian/Ubuntu: apt-get install "
                       "bubblewrap)")
    box = Sandbox()
    if os.geteuid() == 0:
        if missing:
            return give_up(f"{' and '.join(missing)} not found (Debian: util-linux)")
        try:
            pwd.getpwnam(user)
        except KeyError:
            return give_up(f"no user {user!r} to run submissions as")
        box.user = user
        box._stage = Path(tempfile.mkdtemp(prefix="tcplab-sandbox-"))
        os.chmod(box._stage, 0o711)
        for i in range(len(_python_dirs())):
            (box._stage / str(i)).mkdir(mode=0o755)
    probe = box.run([box.python, "-c", "import tcplab.exercises.answer_data; print('ok')"],
                    b"", timeout=60)
    if probe.stdout.strip() != b"ok":
        box.close()
        return give_up("bubblewrap cannot make a sandbox here ("
                       + (probe.error or "the probe printed nothing") + "); user namespaces "
                       "may be disabled (sysctl kernel.unprivileged_userns_clone, "
                       "user.max_user_namespaces, or an AppArmor restriction)")
    return box
