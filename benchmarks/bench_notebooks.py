"""How long do the lessons take, executed headless in fresh kernels -- and where does it go?

    .venv/bin/python benchmarks/bench_notebooks.py [--top N] [--only 06,07]

Executes every ``notebooks/0*.ipynb`` as ``tests/test_notebooks.py`` does (nbclient, a fresh
``python3`` kernel each, this checkout first on ``PYTHONPATH``) and prints, per notebook, the
wall time (kernel start-up and shutdown included), the time spent inside its cells, and the
``--top`` slowest cells with their first line; then the total and the load average (on a
busy shared machine everything is slower).  A measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def _seconds(cell) -> float:
    t = cell.metadata.get("execution", {})
    try:
        a = datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))
        b = datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
    except KeyError:
        return 0.0
    return (b - a).total_seconds()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--top", type=int, default=3, help="slowest cells shown per notebook")
    ap.add_argument("--only", default="", help="notebook name prefixes, comma-separated")
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    load0 = os.getloadavg()[0]
    total = 0.0
    for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        if args.only and not path.name.startswith(tuple(args.only.split(","))):
            continue
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=180, kernel_name="python3", record_timing=True,
                                resources={"metadata": {"path": str(path.parent)}})
        t0 = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - t0
        total += wall
        cells = [(_seconds(c), i, (c.source.splitlines() or [""])[0][:60])
                 for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        print(f"{path.name:28s} {wall:6.2f} s  (in cells {sum(c[0] for c in cells):5.2f} s)")
        for secs, i, first in sorted(cells, reverse=True)[:args.top]:
            print(f"    cell {i:3d} {secs:5.2f} s  {first}")
        sys.stdout.flush()
    print(f"{'all':28s} {total:6.2f} s  ({os.cpu_count()} CPUs, load average {load0:.1f} -> "
          f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
