"""How fast does the endpoint process events?  And how does that compare with the
``transitions`` library firing bare triggers on an equivalent 11-state machine?

    .venv/bin/python benchmarks/bench_endpoint.py            # the comparison
    .venv/bin/python benchmarks/bench_endpoint.py --profile  # + cProfile hotspots

One *connection* is the whole life of a TCP connection between two :class:`Endpoint` s that
hand each other their segments directly (no Network):

    listen, connect, SYN->, SYN,ACK->, ACK->, send(100 B), DATA->, ACK->,
    close, FIN->, ACK->, close, FIN->, ACK->, TIME-WAIT timer         = 15 events

Each event is a full Endpoint call (user call, ``receive(segment)`` or ``fire_timer``)
that validates sequence numbers, builds segments and a :class:`Step` with its explanation.
The baseline fires the same 15 events as bare triggers (no callbacks, no conditions) on
two ``transitions.Machine`` models with the 11 RFC states, so both loops take the same
state path.  Both run in this process; the figure is the median of several repeats.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tcplab.endpoint import Clock, Endpoint  # noqa: E402
from tcplab.states import TcpState  # noqa: E402

EVENTS_PER_CONNECTION = 15
PAYLOAD = b"x" * 100


# ------------------------------------------------------------------ the endpoint loop --

def make_endpoints() -> tuple[Endpoint, Endpoint]:
    clock = Clock()
    return Endpoint("A", iss=100, clock=clock), Endpoint("B", iss=300, clock=clock)


def endpoint_connections(a: Endpoint, b: Endpoint, n: int) -> int:
    """Run ``n`` connection lifetimes; return the number of events processed."""
    events = 0
    for _ in range(n):
        queue: list = []                      # (destination, segment), oldest first

        def pump() -> int:
            done = 0
            while queue:
                dst, seg = queue.pop(0)
                step = dst.receive(seg)
                done += 1
                other = a if dst is b else b
                queue.extend((other, s) for s in step.sent)
            return done

        b.listen()
        queue.extend((b, s) for s in a.connect().sent)
        events += 2 + pump()                  # SYN, SYN,ACK, ACK
        queue.extend((b, s) for s in a.send(PAYLOAD).sent)
        events += 1 + pump()                  # DATA, ACK
        queue.extend((b, s) for s in a.close().sent)
        events += 1 + pump()                  # FIN, ACK
        queue.extend((a, s) for s in b.close().sent)
        events += 1 + pump()                  # FIN, ACK
        a.clock.now = a.timers["time-wait"]
        a.fire_timer("time-wait")
        events += 1
        b.recv()
    assert a.state is TcpState.CLOSED and b.state is TcpState.CLOSED
    return events


# ------------------------------------------------------------------ the baseline -------

STATES = [s.rfc for s in TcpState]
# (trigger, source, dest) -- the edges the loop above takes; self-loops for data events
TRANSITIONS = [
    ("passive_open", "CLOSED", "LISTEN"),
    ("active_open", "CLOSED", "SYN-SENT"),
    ("rcv_syn", "LISTEN", "SYN-RECEIVED"),
    ("rcv_syn_ack", "SYN-SENT", "ESTABLISHED"),
    ("rcv_ack", "SYN-RECEIVED", "ESTABLISHED"),
    ("send", "ESTABLISHED", "ESTABLISHED"),
    ("rcv_data", "ESTABLISHED", "ESTABLISHED"),
    ("rcv_ack", "ESTABLISHED", "ESTABLISHED"),
    ("close", "ESTABLISHED", "FIN-WAIT-1"),
    ("rcv_fin", "ESTABLISHED", "CLOSE-WAIT"),
    ("rcv_ack", "FIN-WAIT-1", "FIN-WAIT-2"),
    ("close", "CLOSE-WAIT", "LAST-ACK"),
    ("rcv_fin", "FIN-WAIT-2", "TIME-WAIT"),
    ("rcv_ack", "LAST-ACK", "CLOSED"),
    ("timeout", "TIME-WAIT", "CLOSED"),
]


def make_machines():
    from transitions import Machine

    class Model:
        pass

    a, b = Model(), Model()
    for m in (a, b):
        Machine(model=m, states=STATES, initial="CLOSED", auto_transitions=False,
                transitions=[{"trigger": t, "source": s, "dest": d} for t, s, d in TRANSITIONS])
    return a, b


def transitions_connections(a, b, n: int) -> int:
    events = 0
    for _ in range(n):
        b.passive_open(); a.active_open()
        b.rcv_syn(); a.rcv_syn_ack(); b.rcv_ack()
        a.send(); b.rcv_data(); a.rcv_ack()
        a.close(); b.rcv_fin(); a.rcv_ack()
        b.close(); a.rcv_fin(); b.rcv_ack()
        a.timeout()
        events += EVENTS_PER_CONNECTION
    assert a.state == "CLOSED" and b.state == "CLOSED"
    return events


# ------------------------------------------------------------------ measuring ----------

def measure(runs: dict, n: int, repeats: int) -> dict[str, list[float]]:
    """events/s of each loop, repeats interleaved so that both see the same machine load.

    Time is this process's CPU time (``time.process_time``): on a shared CI runner other
    processes then do not count against either loop.
    """
    for run, pair in runs.values():
        run(*pair, max(1, n // 10))            # warm up
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (run, pair) in runs.items():
            t0 = time.process_time()
            events = run(*pair, n)
            rates[name].append(events / max(time.process_time() - t0, 1e-9))
    return rates


def profile(n: int, top: int) -> str:
    a, b = make_endpoints()
    prof = cProfile.Profile()
    prof.enable()
    endpoint_connections(a, b, n)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--connections", type=int, default=2000,
                    help="connection lifetimes per repeat (15 events each)")
    ap.add_argument("-r", "--repeats", type=int, default=7)
    ap.add_argument("--profile", action="store_true", help="also print cProfile hotspots")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)

    runs = {"tcplab Endpoint (segments)": (endpoint_connections, make_endpoints())}
    try:
        runs["transitions (bare triggers)"] = (transitions_connections, make_machines())
    except ImportError:
        print("transitions is not installed (pip install transitions): no baseline")
    rates = measure(runs, args.connections, args.repeats)
    print(f"{'':30}{'events/s (median)':>20}{'min':>12}{'max':>12}")
    for name, values in rates.items():
        print(f"{name:30}{statistics.median(values):>20,.0f}{min(values):>12,.0f}"
              f"{max(values):>12,.0f}")
    if len(rates) < 2:
        return 1
    ep, tr = rates.values()
    ratio = statistics.median(e / t for e, t in zip(ep, tr))
    print(f"\nratio endpoint / transitions = {ratio:.2f} (median of per-repeat ratios; "
          f"{'faster' if ratio >= 1 else 'slower'}; {args.repeats} repeats x "
          f"{args.connections} connections x {EVENTS_PER_CONNECTION} events, CPU time)")
    if args.profile or ratio < 1:
        print("\n" + profile(args.connections, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
