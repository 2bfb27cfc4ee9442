"""How long does one ladder redraw take?  A stepping widget redraws it on every click.

Prints median times over repeated runs of a 20-step run (handshake, data both ways,
teardown, TIME-WAIT expiry) for:

* ``ladder() -> Axes``: layout (cached after the first call) and every artist, into a
  fresh Figure/Axes -- what a live matplotlib canvas (ipympl) pays before its own draw;
* ``+ Agg draw``: the same plus rasterising it once;
* ``ladder_png()``: the same plus PNG encoding (``savefig``) -- what an
  ``ipywidgets.Image`` pays; its picture memo is emptied first, so it is really drawn;
* stepping ``upto=k`` for every k: ``ladder_png`` (memo emptied first; it draws through
  a cached :class:`tcplab.render.ladder_diagram.LadderView`, one reused figure), the same
  steps again (``revisiting``: memoised pictures), or a ``LadderView`` directly (its PNG
  memo is fresh in every repeat, so every step is really drawn);

in each of the three label styles.  Both wall-clock and process CPU time are shown: on a
shared, loaded machine the wall clock mostly measures the neighbours.  A CPU calibration
line (``sum(range(10**7))``; about 150 ms on a typical 2020s laptop core) makes numbers
from different machines comparable.

Run: ``.venv/bin/python benchmarks/bench_ladder.py [repeats]``
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tcplab.render.ladder_diagram import LadderView, figures, ladder, ladder_png  # noqa: E402
from tcplab import scenarios  # noqa: E402
from tcplab.network import Network  # noqa: E402


def twenty_step_run() -> Network:
    """Handshake, a request and an answer, teardown with the client closing first."""
    return scenarios.get("teardown-client-first").run(isn={"client": 100, "server": 300})


def medians(fn, repeats: int) -> tuple[float, float]:
    """(wall, cpu) medians in ms, after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def calibrate() -> float:
    c = time.process_time()
    sum(range(10 ** 7))
    return (time.process_time() - c) * 1000


def main(repeats: int = 20) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    net = twenty_step_run()
    n = len(net.history)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"run: {n} steps, {len(net.delivered) + len(net.lost)} packets; {repeats} repeats; "
          f"load average {load:.1f} on {os.cpu_count()} CPUs; "
          f"calibration sum(range(10**7)) = {calibrate():.0f} ms CPU")
    print(f"{'median per redraw':<46} {'wall ms':>8} {'CPU ms':>8}")
    for style in ("rfc", "tcpdump", "short"):
        def to_axes():
            ladder(net, style=style)

        def to_canvas():
            FigureCanvasAgg(ladder(net, style=style)).draw()

        def to_png():
            figures._VIEWS.clear()            # cold: the picture memo is emptied first
            ladder_png(net, style=style, dpi=100)

        def stepping_png():
            figures._VIEWS.clear()
            for k in range(n):
                ladder_png(net, upto=k, style=style, dpi=100)

        def revisit_png():
            for k in range(n):
                ladder_png(net, upto=k, style=style, dpi=100)

        def view_axes():
            view = LadderView(net, style=style)
            for k in range(n):
                view.figure(k)

        def view_png():
            view = LadderView(net, style=style)
            for k in range(n):
                view.png(k)

        few = max(3, repeats // 4)
        rows = [
            ("ladder() -> Axes", medians(to_axes, repeats), 1),
            ("ladder() + Agg draw", medians(to_canvas, repeats), 1),
            ("ladder_png() (dpi 100)", medians(to_png, repeats), 1),
            ("stepping, ladder_png(upto=k), mean per k", medians(stepping_png, few), n),
            ("revisiting, ladder_png(upto=k), mean per k", medians(revisit_png, few), n),
            ("stepping, LadderView.figure(k), mean per k", medians(view_axes, few), n),
            ("stepping, LadderView.png(k), mean per k", medians(view_png, few), n),
        ]
        print(f"style={style!r}")
        for name, (wall, cpu), per in rows:
            print(f"  {name:<44} {wall / per:8.1f} {cpu / per:8.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
