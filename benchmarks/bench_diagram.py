"""How long does one highlighted state-diagram redraw take?  A stepping widget pays it per click.

For every step of a handshake + teardown run, the diagram is highlighted for both endpoints
(current states, the transition just taken, the faded path so far).  Printed: the median
per-step time, over repeated runs, of

* **cached restyle** -- ``StateDiagram.highlight_step``: ``dot`` ran once for the style;
  each step only fills classes and colours into the SVG written from that layout;
* **fresh graphviz** -- the same highlighted ``graphviz.Digraph``, laid out and rendered by
  ``dot`` for every step (``layout_graph(spec, looks).pipe(format="svg")``);
* **transitions GraphMachine** (reference, if the ``transitions`` package is installed) --
  its graphviz backend redrawing the same states and edges after each state change;

and the ratio to the cached restyle.

Run: ``.venv/bin/python benchmarks/bench_diagram.py [repeats]``
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tcplab.render import diagram as dg  # noqa: E402
from tcplab import scenarios  # noqa: E402
from tcplab.network import Network  # noqa: E402
from tcplab.states import TcpState  # noqa: E402


def teardown_run() -> Network:
    """Handshake and teardown, the client closing first (the scenario catalogue's run)."""
    return scenarios.get("teardown-client-first").run(isn={"client": 100, "server": 300})


def median_per_step(per_step: Callable[[int], object], steps: int, repeats: int) -> float:
    """Median over ``repeats`` runs of (time for all steps / steps), in seconds."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for k in range(steps):
            per_step(k)
        runs.append((time.perf_counter() - t0) / steps)
    return statistics.median(runs)


def main(repeats: int = 7) -> None:
    net = teardown_run()
    hist = net.history
    n = len(hist)
    diagram = dg.StateDiagram(endpoints=net.names)

    t0 = time.perf_counter()
    diagram.highlight_step(hist, 0)
    first = time.perf_counter() - t0                      # includes the one `dot` run

    def cached(k: int) -> str:
        return diagram.highlight_step(hist, k).svg

    from tcplab.render.diagram.graph import layout_graph

    def plan_for(k: int):
        step = hist[k]
        path: dict[str, list] = {}
        for s in hist[:k]:
            path.setdefault(s.actor, []).extend(s.transitions)
        return diagram._plan(dict(step.states), {step.actor: list(step.transitions)}, path,
                             legend=False)

    def fresh(k: int) -> bytes:
        # the same highlighted graph, laid out and rendered by `dot` from scratch
        return layout_graph(diagram.spec, plan_for(k).looks).pipe(format="svg", engine="dot")

    results = [("cached restyle (StateDiagram)", median_per_step(cached, n, repeats * 20))]
    results.append(("fresh graphviz render (dot)", median_per_step(fresh, n, repeats)))

    try:
        from transitions.extensions import GraphMachine
    except ImportError:
        print("(transitions is not installed: GraphMachine reference skipped)")
    else:
        class Model:
            pass

        model = Model()
        machine = GraphMachine(
            model=model, states=[s.name for s in TcpState], initial="CLOSED",
            transitions=[{"trigger": t.key, "source": t.source.name, "dest": t.target.name}
                         for t in diagram.transitions],
            auto_transitions=False, graph_engine="graphviz")

        def graph_machine(k: int) -> bytes:
            step = hist[k]
            machine.set_state(step.after.name if step.after else "CLOSED", model)
            return model.get_graph().draw(None, format="svg", prog="dot")

        results.append(("transitions GraphMachine", median_per_step(graph_machine, n, repeats)))

    base = results[0][1]
    print(f"State diagram, {n}-step handshake + teardown, two endpoints highlighted; "
          f"median per step over {repeats} runs (cached: {repeats * 20}).")
    print(f"First picture of the style (runs dot once): {first * 1e3:.1f} ms\n")
    print(f"{'method':<34}{'per step':>12}{'ratio':>10}")
    for name, sec in results:
        print(f"{name:<34}{sec * 1e3:>9.3f} ms{sec / base:>9.0f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
