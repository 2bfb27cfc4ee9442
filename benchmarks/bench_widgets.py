"""How long does one click take on the server (kernel) side?

    .venv/bin/python benchmarks/bench_widgets.py [--repeat N]

A click's server-side work is everything the kernel does for it: the model action (explorer),
the state diagram (restyling the cached Graphviz layout), the texts, and the ladder picture
(SVG text from the memoised layout; the browser sets its text).  What the browser then takes
to show it is measured by ``benchmarks/bench_browser.py``.  Measured by calling ``button.click()`` -- the very handler a
browser click runs -- and timing it with ``time.perf_counter``.  Medians over repeated clicks.

Cases:

* ``stepper cold``: every click draws a ladder picture nobody has drawn before (cache off),
  all inside the click: the full cost of a new picture.
* ``stepper as used``: clicks 0.3 s apart on a running asyncio loop, as in a kernel: the
  stepper draws the next steps' ladders while the kernel is idle, so a click finds its
  picture ready.
* ``stepper revisit``: Back/Step over steps already shown (the per-step cache).
* ``stepper cold, hosts with sockets``: a listener with backlog 1 and four clients (the
  run of ``tests/test_sockets_render.py``), no cache: each click also replays the run up
  to its step for the hosts' ``ss -tano`` (in ``text``).
* ``explorer, new states``: a simultaneous close made by hand (close, close, deliver FINs
  crosswise, deliver ACKs, fire the TIME-WAIT timers, then a lost SYN...), every click on a
  new network state, the ladder drawn inside the click.
* ``explorer undo``: Undo clicks, whose pictures are cached by action list.

Each row gives wall-clock and CPU (``time.process_time``) medians: on a busy shared machine
the CPU time is the steadier number.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tcplab.ui import explorer, stepper  # noqa: E402

SCENARIOS = ("handshake", "simultaneous-close", "teardown-client-first", "old-duplicate")


def ms(x: float) -> str:
    return f"{x * 1000:7.1f}"


class Timings:
    def __init__(self, name: str) -> None:
        self.name = name
        self.total: list[float] = []
        self.cpu: list[float] = []
        self.parts: dict[str, list[float]] = {"diagram": [], "text": [], "ladder": []}

    def click(self, button, view) -> None:
        c0, t0 = time.process_time(), time.perf_counter()
        button.click()
        self.total.append(time.perf_counter() - t0)
        self.cpu.append(time.process_time() - c0)
        for k in self.parts:
            self.parts[k].append(view.timings.get(k, 0.0))

    def row(self) -> str:
        t = sorted(self.total)
        p90 = t[min(len(t) - 1, int(0.9 * len(t)))]
        parts = "  ".join(f"{k} {ms(statistics.median(v)).strip():>5}"
                          for k, v in self.parts.items())
        return (f"{self.name:<38} n={len(t):<4} median {ms(statistics.median(t))} ms "
                f"(cpu {ms(statistics.median(self.cpu)).strip():>5})  p90 {ms(p90)}  "
                f"max {ms(t[-1])}   [{parts}]")


def bench_stepper_cold(repeat: int) -> Timings:
    tm = Timings("stepper cold (no cache)")
    for _ in range(repeat):
        for name in SCENARIOS:
            s = stepper(name, prefetch=False)
            for _ in range(s.n):
                s.view._ladder_cache.clear()
                tm.click(s.buttons["step"], s.view)
    return tm


def overflow_run():
    """listen(1), four connect()s at once, accept() at 0.5 s, then 5 s of quiet."""
    from tcplab import Config
    from tcplab.sockets import SocketNetwork
    net = SocketNetwork(isn={"client": 100, "server": 300}, config=Config.linux())
    ls = net.socket("server"); ls.bind(80); ls.listen(1)
    for c in [net.socket("client") for _ in range(4)]:
        c.connect(("server", 80))
    net.wait(0.5)
    ls.accept()
    net.wait(5)
    return net


def bench_stepper_sockets(repeat: int) -> Timings:
    tm = Timings("stepper cold, hosts with sockets")
    net = overflow_run()
    for _ in range(repeat):
        s = stepper(net, prefetch=False)
        for _ in range(s.n):
            s.view._ladder_cache.clear()
            s.view._ss_cache.clear()
            tm.click(s.buttons["step"], s.view)
    return tm


def bench_stepper_revisit(repeat: int) -> Timings:
    tm = Timings("stepper revisit (cached steps)")
    for name in SCENARIOS:
        s = stepper(name, prefetch=False)
        for _ in range(s.n):
            s.step()                                  # draw every step once
        for _ in range(repeat):
            for _ in range(s.n):
                tm.click(s.buttons["back"], s.view)
            for _ in range(s.n):
                tm.click(s.buttons["step"], s.view)
    return tm


def bench_stepper_as_used(repeat: int, gap: float = 0.3) -> Timings:
    tm = Timings(f"stepper as used (clicks {gap:g} s apart)")

    async def run() -> None:
        for _ in range(repeat):
            for name in SCENARIOS:
                s = stepper(name)                    # prefetch on: the loop is running
                await asyncio.sleep(gap)
                for _ in range(s.n):
                    tm.click(s.buttons["step"], s.view)
                    await asyncio.sleep(gap)

    asyncio.run(run())
    return tm


def session(e):
    """One explorer session, as button getters (each evaluated just before its click):
    a simultaneous close made by hand, both TIME-WAIT timers, then a duplicated and a
    lost SYN."""
    fins: dict[str, int] = {}

    def fin(src: str):
        if not fins:
            fins.update({p.src: p.id for p in e.net.in_flight})
        return e.wire_rows[fins[src]].children[1]

    first_row = lambda i: (lambda: e.wire_list.children[0].children[i])  # noqa: E731
    return [lambda: e.call_buttons["client"]["close"],
            lambda: e.call_buttons["server"]["close"],
            lambda: fin("client"), lambda: fin("server"),      # the FINs cross
            first_row(1), first_row(1),                        # the two ACKs
            lambda: e.next_timer_button, lambda: e.next_timer_button,
            lambda: e.call_buttons["server"]["listen"],
            lambda: e.call_buttons["client"]["connect"],
            first_row(3), first_row(2),                        # duplicate, drop the SYN
            lambda: e.next_event_button]


def bench_explorer(repeat: int) -> tuple[Timings, Timings]:
    fresh = Timings("explorer, new states")
    again = Timings("explorer, undo (cached)")
    for _ in range(repeat):
        e = explorer("handshake")
        for get in session(e):
            fresh.click(get(), e.view)
        assert e.error.layout.display == "none", e.error.value
        for _ in range(6):
            again.click(e.undo_button, e.view)
    return fresh, again


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    # warm up: the first Graphviz layout (runs `dot` once) and matplotlib's font cache
    s = stepper("handshake", prefetch=False)
    s.step()
    explorer()
    print(f"tcplab widget clicks, server side; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"ladder as SVG; scenarios: {', '.join(SCENARIOS)}\n")
    rows = [bench_stepper_cold(args.repeat), bench_stepper_sockets(args.repeat),
            bench_stepper_as_used(1),
            bench_stepper_revisit(args.repeat), *bench_explorer(args.repeat)]
    for r in rows:
        print(r.row())
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
