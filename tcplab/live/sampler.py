"""The sampler: a thread that asks the kernel, again and again, for the state of exactly
the sockets of a run, and keeps every change.

Each sample looks up the tracked four-tuples -- each side's connection and its listener --
through the lab (:meth:`tcplab.live.lab.Lab.lookup_many`: a ``sock_diag`` lookup per
four-tuple, or one ``/proc/net/tcp`` read).  The *timeline* is the list of changes
``(seconds since the run's start, (actor, "conn" | "listener"), row or None)``;
:func:`actor_states` turns it into one side's states, as an application sees its
connection.

Builds on :mod:`tcplab.live.lab` (where the sockets live) and the row record
:class:`tcplab.procnet.SocketRow`.
"""

from __future__ import annotations

import threading
import time

from ..procnet import SocketRow
from ..states import TcpState
from .lab import Lab

__all__ = ["Sampler", "Timeline", "actor_states", "state_at"]

S = TcpState

#: The sampler's record of changes: ``(t, (actor, "conn" | "listener"), row or None)``.
Timeline = list[tuple[float, tuple[str, str], "SocketRow | None"]]


class Sampler:
    """A thread that looks up the tracked four-tuples again and again; keeps the changes."""

    def __init__(self, lab: Lab, entities: dict[tuple[str, str], tuple], t0: float,
                 interval: float) -> None:
        self.lab = lab
        self.entities = entities     # (actor, "conn"|"listener") -> (local, remote)
        self.t0 = t0
        self.interval = interval
        self.current: dict[tuple[str, str], SocketRow | None] = {k: None for k in entities}
        self.timeline: Timeline = []
        self.last_change = time.monotonic()
        self.samples = 0
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tcplab-sampler", daemon=True)

    def start(self) -> None:
        """Take a first sample now, then keep sampling in the background thread."""
        self.sample()
        self._thread.start()

    def sample(self) -> None:
        """Look every tracked four-tuple up once; record each change in the timeline."""
        with self._lock:
            now = time.monotonic()
            found: dict[tuple[str, str], SocketRow | None] = {}
            for actor in dict.fromkeys(k[0] for k in self.entities):
                keys = [k for k in self.entities if k[0] == actor]
                found.update(zip(keys, self.lab.lookup_many(actor, [self.entities[k]
                                                                    for k in keys])))
            for key in self.entities:
                ks = found[key]
                old = self.current[key]
                self.current[key] = ks
                if (old and (old.code, old.kind)) != (ks and (ks.code, ks.kind)):
                    self.timeline.append((now - self.t0, key, ks))
                    self.last_change = now
            self.samples += 1

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                self.sample()
                self._stop.wait(self.interval)
        except BaseException as exc:   # pragma: no cover - surfaced by stop()
            self.errors.append(exc)

    def stop(self) -> None:
        """Stop the thread; raise ``RuntimeError`` if a sample failed meanwhile."""
        self._stop.set()
        self._thread.join(timeout=5)
        if self.errors:
            raise RuntimeError(f"sampling the kernel's TCP table failed: {self.errors[0]}")


def actor_states(timeline: Timeline, actor: str) -> list[tuple[float, TcpState, SocketRow | None]]:
    """The actor's state over time: its connection if it exists, else its listener."""
    conn = lst = None
    conn_seen = False
    out: list[tuple[float, TcpState, SocketRow | None]] = []
    for t, (who, what), ks in timeline:
        if who != actor:
            continue
        if what == "conn":
            conn = ks
            conn_seen = conn_seen or ks is not None
        else:
            lst = ks
        if conn is not None:
            state, src = conn.state or S.CLOSED, conn
        elif conn_seen:
            state, src = S.CLOSED, None
        elif lst is not None:
            state, src = lst.state or S.CLOSED, lst
        else:
            state, src = S.CLOSED, None
        if not out or out[-1][1] is not state:
            out.append((t, state, src))
    return out


def state_at(timeline: Timeline, actor: str) -> TcpState:
    """The actor's latest state in the timeline (CLOSED if none was seen)."""
    ch = actor_states(timeline, actor)
    return ch[-1][1] if ch else S.CLOSED
