"""Run one script twice -- on the model and on the real kernel -- and compare: :func:`run`.

The live lab in one call.  :func:`run` takes a scenario name (the live catalogue,
:data:`tcplab.live.scripts.LIVE_SCENARIOS`, or the model's, :mod:`tcplab.scenarios`), a script
or a scenario object; opens a lab for it (loopback, or two namespaces with a delay) unless it is
given one; and plays each line on real sockets (:class:`tcplab.live.sockets.KernelRun`, watched
by a :class:`tcplab.live.sampler.Sampler`) and on the model
(:func:`tcplab.live.lines.play_on_model`), one after the other.  The result is a
:class:`tcplab.live.result.LiveRun`.

The parts, each in its own module: :mod:`~tcplab.live.lines` (the script and the model's
half), :mod:`~tcplab.live.sockets` (the application's half), :mod:`~tcplab.live.sampler`
(the kernel's states), :mod:`~tcplab.live.comparison` (the differences, explained),
:mod:`~tcplab.live.result` and :mod:`~tcplab.live.reports` (the record and its tables).
Their public names are re-exported here.
"""

from __future__ import annotations

import math
import time

from ..network import Network
from .arguments import flag, seconds
from .comparison import LINUX_DIFFERENCES, TRANSIENT_STATES, Difference
from .kernel import MODEL_ERRORS
from .lab import Lab, LoopbackLab
from .lines import (Line, LiveUnsupported, before_until, model_config, model_path,
                    parse_script, play_on_model, run_model)
from .namespace_lab import open_lab
from .netns import cleanup_stale
from .result import LineResult, LiveRun
from .sampler import actor_states, state_at
from .socket_view import SocketView
from .sockets import KernelRun

__all__ = ["run", "run_model", "parse_script", "Line", "LiveRun", "LineResult",
           "Difference", "LiveUnsupported", "LINUX_DIFFERENCES", "TRANSIENT_STATES"]


def run(script: object, lab: Lab | None = None, *, privileged: "bool | str" = False,
        delay: float | None = None, fin_timeout: float | None = None, quiet: float | None = None,
        max_wait: float = 10.0, max_settle: float = 10.0, interval: float = 0.0002,
        name: str | None = None, keep_open: bool = False) -> LiveRun:
    """Run ``script`` on real sockets and on the model; return a :class:`LiveRun`.

    ``script`` is a scenario name (see :data:`tcplab.live.scripts.LIVE_SCENARIOS`), script
    text, a list of lines, or a scenario object with a ``.script`` (such as those of
    :mod:`tcplab.scenarios`).  Without ``lab`` a lab is opened for this run and closed after
    it: loopback, or -- if ``privileged`` (``"auto"``: when this machine allows it) -- two
    namespaces with a one-way ``delay`` (default: the scenario's, else 0.25 s).
    ``fin_timeout`` (namespaces only) sets ``tcp_fin_timeout`` there.

    Namespaces a SIGKILLed privileged lab left behind (their process is dead) are removed
    first, when this process may (root; see :func:`tcplab.live.netns.cleanup_stale`).

    The run's sockets are closed at its end -- a live connection with a RST, so nothing is
    left behind.  With ``keep_open`` (and a ``lab`` of your own) they stay open until the lab
    closes, e.g. to watch a CLOSE-WAIT leak for a while with :meth:`LiveRun.watch`.
    """
    from .scripts import LiveScenario, get as get_scenario
    if lab is not None and not isinstance(lab, Lab):
        raise TypeError("lab is a lab of your own (live.LoopbackLab() or live.NamespaceLab()) "
                        f"or None, not {type(lab).__name__}")
    if lab is not None and lab.closed:
        raise ValueError("lab is closed: open a new one (with live.LoopbackLab() as lab: ...)")
    flag("privileged", privileged, "auto")
    flag("keep_open", keep_open)
    if delay is not None:
        delay = seconds("delay", delay, high=2)
    if fin_timeout is not None:
        fin_timeout = seconds("fin_timeout", fin_timeout, low=1)
    if quiet is not None:
        quiet = seconds("quiet", quiet, high=max_settle if isinstance(max_settle, (int, float))
                        else math.inf)
    max_wait = seconds("max_wait", max_wait)
    max_settle = seconds("max_settle", max_settle, positive=True)
    interval = seconds("interval", interval, high=1, positive=True)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name is a str (the run's title) or None, not {type(name).__name__}")
    sc = None
    if isinstance(script, str) and "\n" not in script and len(script.split()) == 1:
        try:
            sc = get_scenario(script)
        except ValueError as exc:
            script = _model_scenario(script, exc)      # a name from tcplab.scenarios?
    elif isinstance(script, LiveScenario):
        sc = script
    if sc is not None:
        name = name or sc.name
        if fin_timeout is None:
            fin_timeout = sc.fin_timeout
        if delay is None:
            delay = sc.delay
    lines = parse_script(sc if sc is not None else script,
                         lab.names if lab is not None else ("client", "server"))
    if name is None:
        name = getattr(script, "name", None) or "script"
    own = lab is None
    if keep_open and own:
        raise ValueError("keep_open needs a lab you close yourself: "
                         "with live.LoopbackLab() as lab: live.run(..., lab, keep_open=True)")
    if own:
        lab = open_lab(privileged, delay=0.25 if delay is None else delay,
                       fin_timeout=fin_timeout)        # opening a lab sweeps stale namespaces
    else:
        cleanup_stale()
    assert lab is not None
    try:
        return _run(lab, lines, name, quiet, max_wait, max_settle, interval, keep_open)
    finally:
        if own:
            lab.close()


def _model_scenario(name: str, error: ValueError) -> object:
    """The model's scenario of that name (:mod:`tcplab.scenarios`); else ``ValueError``
    naming both catalogues."""
    from .. import scenarios
    from .scripts import names as live_names
    try:
        return scenarios.get(name)
    except ValueError:
        raise ValueError(f"no scenario {name!r}: the live lab's are {', '.join(live_names())}; "
                         f"the model's run too: {', '.join(scenarios.names())}") from None


#: Seconds without a state change after which a loopback run has settled.
LOOPBACK_QUIET = 0.05


def _run(lab: Lab, lines: list[Line], name: str, quiet: float | None, max_wait: float,
         max_settle: float, interval: float, keep_open: bool = False) -> LiveRun:
    """Play ``lines`` on ``lab``'s sockets and on a model built like it, line by line: each
    line first on the kernel, then on the model; record both (see :class:`LiveRun`)."""
    loop = isinstance(lab, LoopbackLab) or lab.delay == 0
    if quiet is None:
        # Loopback: every state change follows a call within microseconds, and settle()
        # samples before it measures the calm, so a late look still sees a change; 50 ms
        # outlasts Linux's shortest delayed-ACK timer (40 ms, TCP_DELACK_MIN).  Both are
        # upper bounds: settle() ends sooner once the kernel owes nothing (every segment
        # that changes a state acknowledged, the wire empty: KernelRun.owes_nothing).
        quiet = LOOPBACK_QUIET if loop else max(0.3, lab.delay)
    fin_timeout = lab.fin_timeout(lab.names[0])
    net = Network(lab.names, latency=0.0 if loop else lab.delay,
                  config=model_config(fin_timeout))
    kr = KernelRun(lab, lines, quiet, max_wait, max_settle, interval)
    view = SocketView(lab.names, {n: s.port for n, s in kr.sides.items()},
                      latency=net.latency, config=net.config)
    results: list[LineResult] = []
    proc_lines: list[str] = []
    try:
        kr.sampler.start()
        for i, line in enumerate(lines):
            t_start = kr.now()
            start = len(net.history)
            code, result = _play_on_kernel(kr, lines, i, settle=loop and not
                                           before_until(lines, i), max_wait=max_wait)
            model_result = play_on_model(
                net, line, settle_each=loop and not before_until(lines, i))
            view_result = view.play(line, settle_each=loop and not before_until(lines, i))
            t_end = kr.now()
            kernel_rows = {n: tuple(r for r in (kr.sampler.current[(n, "listener")],
                                                kr.sampler.current[(n, "conn")]) if r)
                           for n in lab.names}
            states = {n: state_at(kr.sampler.timeline, n) for n in lab.names}
            kpath = {n: tuple(s for t, s, _ in actor_states(kr.sampler.timeline, n)
                              if t_start <= t <= t_end) for n in lab.names}
            events = tuple(f"{n}: {text}" for n in lab.names for t, text in kr.sides[n].events
                           if t_start <= t <= t_end)
            results.append(LineResult(
                line, code, result, model_result, t_start, t_end, states,
                net.states(), kpath,
                {n: tuple(model_path(net, n, start, len(net.history))) for n in lab.names},
                events, comparable=not (loop and before_until(lines, i)),
                kernel_rows=kernel_rows, model_rows={n: view.rows(n) for n in lab.names},
                socket_result=view_result))
        kr.sampler.sample()
        kr.pending_errors()
        ports = {s.port for s in kr.sides.values()}
        segments = [w for w in lab.segments if w.sport in ports and w.dport in ports]
        final = {n: kr.sampler.current[(n, "conn")] for n in lab.names}
        listener_final = {n: kr.sampler.current[(n, "listener")] for n in lab.names}
        try:
            for n in lab.names[:1] if loop else lab.names:
                proc_lines += [k.raw for k in lab.proc_net_tcp(n, ports)]
        except OSError:
            pass
    finally:
        try:
            kr.sampler.stop()
        finally:
            if not keep_open:
                kr.cleanup()
    model_errors = {n: [MODEL_ERRORS.get(st.error, st.error) for st in net.history
                        if st.actor == n and st.error] for n in lab.names}
    model_received = {n: b"".join(st.read for st in net.history if st.actor == n)
                      for n in lab.names}         # what the application read (recv lines)
    live_run = LiveRun(name=name, lines=lines, results=results, mode=lab.mode,
                       delay=lab.delay, net=net, timeline=list(kr.sampler.timeline),
                       segments=segments, sides=kr.sides, final=final,
                       listener_final=listener_final, fin_timeout=fin_timeout,
                       samples=kr.sampler.samples, duration=kr.now(),
                       model_errors=model_errors, model_received=model_received,
                       proc_lines=proc_lines, t0=kr.t0, reader=lab.reader_name(),
                       sockets=view.net)
    live_run._lab = lab
    return live_run


def _play_on_kernel(kr: KernelRun, lines: list[Line], i: int, settle: bool,
                    max_wait: float) -> tuple[str, str]:
    """Play line ``i`` on the kernel; return ``(the socket call as code, its result)``.

    ``settle``: wait after a call until the kernel is quiet (loopback, unless an ``until``
    follows); else only serve the sockets, so segments stay in flight as in the model.
    """
    line = lines[i]
    code, result = "", ""
    if line.kind == "call":
        kr.last_call = time.monotonic()
        code, result = kr.do(i, line)
        kr.last_call = time.monotonic()
        kr.sampler.sample()
        if settle:
            kr.settle()
        else:
            kr.service()
    elif line.kind in ("settle", "run"):
        kr.settle()
    elif line.kind == "until":
        result = kr.until(line.actor, line.state)   # type: ignore[arg-type]
    elif line.kind == "wait":
        secs = min(line.seconds, max_wait)
        kr.pump(time.monotonic() + secs)
        kr.sampler.sample()
        if secs < line.seconds:
            result = f"waited {secs:g} s of {line.seconds:g} s (max_wait)"
    return code, result

