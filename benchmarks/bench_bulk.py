"""Bulk transfer on a Network: network steps per second and peak memory, for 1 MB and 10 MB.

    .venv/bin/python benchmarks/bench_bulk.py             # 1 MB and 10 MB
    .venv/bin/python benchmarks/bench_bulk.py --quick     # 1 MB only

A transfer is: handshake; the client's application writes N bytes, 64 KB at a time as its
send buffer drains, then closes; the server's application reads whatever arrives (so the
receive window keeps opening) and closes at the end; the network runs until both ends are
CLOSED.  It runs on a network that
keeps every step (``history_limit=None``, replayable) and on one that keeps only the last
1,000 (``history_limit=1000``): the second's peak memory should not grow with N.

The baseline, measured in the same process, is the same transfer between two bare
:class:`Endpoint` s that hand each other their segments directly, in order, with no wire:
its events per second are the endpoint's own rate on this work, and the ratio says how much
the network (event queue, packets, timers, history) costs on top.  For reference the
endpoint's rate on whole small connections (``bench_endpoint``) is printed too.  Medians of
several repeats; peak memory from ``tracemalloc``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_endpoint import endpoint_connections, make_endpoints  # noqa: E402

from tcplab import Config, Network, TcpState  # noqa: E402

MSS = 1460                  # an Ethernet-sized segment, as a bulk transfer would use


CHUNK = 65536               # the application writes this much at a time, as a real one would


def transfer(nbytes: int, history_limit: int | None) -> tuple[int, float]:
    """One bulk transfer; returns (network steps, seconds).  The client's application
    writes CHUNK bytes whenever its send buffer runs low; the server's reads whatever
    arrives.  So only the window's worth of data is ever held, whatever ``nbytes``."""
    net = Network(config=Config(mss=MSS), latency=0.01, history_limit=history_limit)
    t0 = time.perf_counter()
    net.listen("server"); net.connect("client"); net.run()
    chunk = b"x" * CHUNK
    left, got = nbytes, 0
    client, server = net["client"], net["server"]
    while left or not net.quiet():
        if left and len(client.send_buffer) < CHUNK:
            n = min(left, CHUNK)
            net.send("client", chunk[:n])
            left -= n
            if not left:
                net.close("client")
        net.run(stop=lambda nw: server.rcv_wnd < MSS or
                (left and len(client.send_buffer) < CHUNK))
        got += len(net.recv("server"))
        if not left and net.state("server") is TcpState.CLOSE_WAIT and not server.received:
            break
    net.close("server"); net.run()
    seconds = time.perf_counter() - t0
    assert got == nbytes and net.states() == {"client": TcpState.CLOSED,
                                              "server": TcpState.CLOSED}
    return net._count, seconds


def endpoint_transfer(nbytes: int) -> tuple[int, float]:
    """The same transfer between two bare endpoints; returns (events, seconds)."""
    from collections import deque

    from tcplab import Clock, Endpoint
    clock = Clock()
    cfg = Config(mss=MSS)
    a, b = Endpoint("client", iss=1, config=cfg, clock=clock), \
        Endpoint("server", iss=2, config=cfg, clock=clock)
    queue: deque = deque()
    events = 0
    t0 = time.perf_counter()

    def pump() -> None:
        nonlocal events
        while queue:
            dst, seg = queue.popleft()
            step = dst.receive(seg)
            events += 1
            other = a if dst is b else b
            queue.extend((other, s) for s in step.sent)
            if b.received and b.rcv_wnd < MSS:
                queue.extend((a, s) for s in b.read().sent)
                events += 1

    b.listen()
    queue.extend((b, s) for s in a.connect().sent)
    pump()
    queue.extend((b, s) for s in a.send(b"x" * nbytes).sent)
    queue.extend((b, s) for s in a.close().sent)
    events += 4
    pump()
    b.read()
    queue.extend((a, s) for s in b.close().sent)
    pump()
    seconds = time.perf_counter() - t0
    assert b.state is TcpState.CLOSED and a.state is TcpState.TIME_WAIT, (a, b)
    return events, seconds


def endpoint_rate(repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        a, b = make_endpoints()
        t0 = time.perf_counter()
        events = endpoint_connections(a, b, 2000)
        rates.append(events / (time.perf_counter() - t0))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 MB only")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [1_000_000] if args.quick else [1_000_000, 10_000_000]
    print(f"endpoint alone, whole small connections (bench_endpoint): "
          f"{endpoint_rate(args.repeats):,.0f} events/s\n")
    print(f"{'transfer':>9} {'history':>10} {'steps':>8} {'steps/s':>10} {'vs endpoint':>12} "
          f"{'peak MiB':>9}")
    for nbytes in sizes:
        runs = [endpoint_transfer(nbytes) for _ in range(args.repeats)]
        base = statistics.median(e / s for e, s in runs)
        print(f"{nbytes / 1e6:>7g}MB {'endpoints':>10} {runs[0][0]:>8,} {base:>10,.0f} "
              f"{'(baseline)':>12}")
        for limit in (None, 1000):
            rates = []
            steps = 0
            for _ in range(args.repeats):
                steps, seconds = transfer(nbytes, limit)
                rates.append(steps / seconds)
            tracemalloc.start()
            transfer(nbytes, limit)
            peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
            rate = statistics.median(rates)
            print(f"{nbytes / 1e6:>7g}MB {('all' if limit is None else f'last {limit}'):>10} "
                  f"{steps:>8,} {rate:>10,.0f} {base / rate:>11.2f}x {peak:>9.1f}")


if __name__ == "__main__":
    main()
