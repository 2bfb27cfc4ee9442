"""Network namespaces for the privileged lab: entering them, making them, and never leaving
one behind.

Everything here needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN).  Nothing touches the host's
own network: the two namespaces are new and empty, the veth pair lives only inside them,
and the iptables rules are added *inside* the namespaces -- they vanish with them.

The delay line on the veth pair between two namespaces is :mod:`tcplab.live.delay`.

Cleanup
-------
Namespaces are named ``tcplab-<pid>-<n>-<actor>``.  They are deleted on every exit path:
``with``-block exit, exceptions and Ctrl-C (``KeyboardInterrupt`` runs the ``finally``),
interpreter exit (:mod:`atexit`) and SIGTERM/SIGHUP (turned into ``SystemExit`` while a lab
is open).  Deleting a namespace removes its veth end and its iptables rules with it.

Only a SIGKILL (or a power cut of the process: the OOM killer, a crashed interpreter) can
leave one behind.  :func:`cleanup_stale` removes those, and runs whenever a lab opens (the
loopback lab too) and at every :func:`tcplab.live.run`.  It must never touch a namespace
that a live process still uses, so ownership is not guessed from the pid in the name (pids
are reused, and a process in another pid namespace has other numbers): while a process
owns a namespace it holds an exclusive :func:`fcntl.flock` on ``/run/tcplab/<name>.lock``.
The kernel drops that lock when the process dies, however it dies -- so a namespace whose
lock can be taken is stale, one whose lock is held is in use.  A lab namespace without a
lock file (made by hand, or by an older tcplab) is removed only if no process with the pid
in its name exists.  By hand: ``sudo ip netns list`` shows them (``tcplab-...``);
``sudo ip netns delete NAME`` removes one.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import fcntl
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import weakref
from contextlib import contextmanager
from typing import Iterator

__all__ = ["LabError", "in_netns", "NetNamespace", "cleanup_stale", "list_lab_namespaces",
           "privilege_problem", "NS_PREFIX", "RULE_COMMENT", "LOCK_DIR"]

CLONE_NEWNET = 0x40000000
NS_PREFIX = "tcplab-"
NETNS_DIR = "/run/netns"
#: Where the owner of each lab namespace holds its lock (root only, like the namespaces).
LOCK_DIR = "/run/tcplab"
#: Every iptables rule the lab adds carries this comment (so a test can look for leftovers).
RULE_COMMENT = "tcplab-live"


class LabError(RuntimeError):
    """The privileged lab cannot be set up (and why)."""


# ---------------------------------------------------------------------- setns

_libc = None


def _setns(fd: int) -> None:
    if hasattr(os, "setns"):                       # Python 3.12+
        os.setns(fd, CLONE_NEWNET)
        return
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextmanager
def in_netns(path: str) -> Iterator[None]:
    """Run the body with *this thread* inside the network namespace at ``path``.

    Sockets created inside stay in that namespace for their whole life; the thread
    returns to its own namespace afterwards, whatever happens.
    """
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(path, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


def _run(*cmd: str, ns: str | None = None, check: bool = True,
         timeout: float = 10) -> subprocess.CompletedProcess:
    argv = list(cmd)
    if ns is not None:
        argv = ["ip", "netns", "exec", ns, *argv]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed (exit {proc.returncode}): "
                       f"{(proc.stderr or proc.stdout).strip()}")
    return proc


def privilege_problem() -> str | None:
    """Why the privileged lab cannot run here, or ``None`` if it should."""
    if not hasattr(os, "geteuid") or not os.path.exists("/proc/self/ns/net"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return ("network namespaces, veth pairs and iptables need root "
                "(run as root, e.g. in CI or on your own Linux machine)")
    for prog, pkg in (("ip", "iproute2"), ("iptables", "iptables")):
        if shutil.which(prog) is None:
            return f"`{prog}` is not installed (Debian package {pkg})"
    return None


# ---------------------------------------------------------------------- namespaces

_counter = itertools.count(1)


def list_lab_namespaces() -> list[str]:
    """Names of the lab's network namespaces that exist now (any process)."""
    try:
        names = os.listdir(NETNS_DIR)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []
    return sorted(n for n in names if n.startswith(NS_PREFIX))


def _lock_path(name: str) -> str:
    return os.path.join(LOCK_DIR, name + ".lock")


def _take_lock(name: str, wait: bool = False) -> int | None:
    """An fd holding the exclusive lock of namespace ``name``, or ``None`` if another process
    holds it.  ``O_CLOEXEC``: programs the lab starts (``ip``, ``iptables``) never inherit it."""
    os.makedirs(LOCK_DIR, mode=0o700, exist_ok=True)
    fd = os.open(_lock_path(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _release_lock(name: str, fd: int) -> None:
    """Remove the lock file, then let the lock go (in this order: no one can take a lock on a
    file that is about to vanish and think it owns the name)."""
    try:
        os.unlink(_lock_path(name))
    except FileNotFoundError:
        pass
    os.close(fd)


def _process_exists(pid: int) -> bool:
    """A process with this pid exists and is not a zombie (a zombie holds no namespace)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except OSError:
        return True                      # cannot tell: assume it is alive


def _stale(name: str) -> int | None:
    """If namespace ``name`` is stale (its owner is dead), the fd of its lock, now ours;
    ``-1`` for a stale namespace without a lock file; ``None`` if it is (or may be) in use."""
    if os.path.exists(_lock_path(name)):
        return _take_lock(name)
    m = re.match(re.escape(NS_PREFIX) + r"(\d+)-", name)
    if m is None or _process_exists(int(m.group(1))):
        return None
    return -1


def cleanup_stale() -> list[str]:
    """Delete the lab namespaces whose owning process is dead; return their names.

    Safe to call at any time from any process: a namespace whose owner still lives (it holds
    its lock, see the module doc) is never touched.  Without root nothing can be deleted and
    nothing is tried.  Costs one directory listing when there is nothing to remove.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    removed = []
    for name in list_lab_namespaces():
        try:
            fd = _stale(name)
        except OSError:
            continue                     # the lock directory is not usable: leave it alone
        if fd is None:
            continue
        try:
            if not os.path.exists(os.path.join(NETNS_DIR, name)):
                continue                 # someone else swept it meanwhile
            if shutil.which("ip") and _run("ip", "netns", "del", name,
                                            check=False).returncode == 0:
                removed.append(name)
        finally:
            if fd >= 0:
                _release_lock(name, fd)
    return removed


class NetNamespace:
    """A named network namespace of the lab (``ip netns add``), owned by this process.

    The owner's lock (module doc) is taken before the namespace exists and given back after
    it is gone, so :func:`cleanup_stale` in another process never sees it unowned.
    """

    def __init__(self, label: str) -> None:
        self.name = f"{NS_PREFIX}{os.getpid()}-{next(_counter)}-{label}"
        if len(self.name) > 60:
            raise LabError(f"namespace name too long: {self.name}")
        try:
            lock = _take_lock(self.name)
        except OSError as exc:
            raise LabError(f"cannot lock {_lock_path(self.name)}: {exc}") from None
        if lock is None:
            raise LabError(f"namespace {self.name} is locked by another process")
        try:
            _run("ip", "netns", "add", self.name)
        except BaseException:
            _release_lock(self.name, lock)
            raise
        self._lock: int | None = lock
        self.alive = True

    @property
    def path(self) -> str:
        return os.path.join(NETNS_DIR, self.name)

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return _run(*cmd, ns=self.name, check=check)

    def sysctl(self, key: str, value: object | None = None) -> str:
        """Read (or set) a per-namespace sysctl such as ``net.ipv4.tcp_fin_timeout``."""
        path = "/proc/sys/" + key.replace(".", "/")
        with in_netns(self.path):
            if value is not None:
                with open(path, "w") as fh:
                    fh.write(str(value))
            with open(path) as fh:
                return fh.read().strip()

    def socket(self, *args: int) -> socket.socket:
        """A socket created inside this namespace."""
        with in_netns(self.path):
            return socket.socket(*args)

    def delete(self) -> None:
        if self.alive:
            self.alive = False
            try:
                _run("ip", "netns", "del", self.name, check=False)
            finally:
                if self._lock is not None:
                    _release_lock(self.name, self._lock)
                    self._lock = None

    def __repr__(self) -> str:
        return f"<NetNamespace {self.name}>"


# ---------------------------------------------------------------------- cleanup registry

_open_things: "weakref.WeakSet" = weakref.WeakSet()
_registry_lock = threading.Lock()
_old_handlers: dict[int, object] = {}


def _close_all() -> None:
    for thing in list(_open_things):
        try:
            thing.close()
        except Exception:   # pragma: no cover - best effort at exit
            pass


atexit.register(_close_all)


def _on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)          # unwinds through every ``finally``, then atexit


def register(thing: object) -> None:
    """Close ``thing`` (anything with ``close()``) at exit and on SIGTERM/SIGHUP."""
    with _registry_lock:
        _open_things.add(thing)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                if sig not in _old_handlers and signal.getsignal(sig) in (signal.SIG_DFL,
                                                                          None):
                    _old_handlers[sig] = signal.signal(sig, _on_signal)


def unregister(thing: object) -> None:
    with _registry_lock:
        _open_things.discard(thing)
        if not _open_things and threading.current_thread() is threading.main_thread():
            for sig, old in list(_old_handlers.items()):
                if signal.getsignal(sig) is _on_signal:
                    signal.signal(sig, old)  # type: ignore[arg-type]
                del _old_handlers[sig]
