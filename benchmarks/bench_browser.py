"""How long does a click take in the browser, from the click to the next painted frame?

    .venv/bin/python benchmarks/bench_browser.py [--rounds N] [--size 1366x768] [--theme dark]

Starts JupyterLab on a temporary folder holding a small notebook with one stepper and one
explorer, opens it in Debian's Chromium through Playwright (the recipe and the helpers of
``tests/test_browser.py``: ``serve_lab``, ``measure_latencies``), runs it, then clicks every
kind of widget action -- Step, Back, Reset; the explorer's calls, Deliver, Drop, Next timer,
Undo, Restart -- with the ladder's tab in front, then the diagram's, and times, inside the
page, the click until the picture on the visible tab and the explanation have both changed
and the next frame is painted (a widget shown in a notebook redraws only the visible
picture; the other when its tab is chosen).  Prints median and p90 per action.  A measurement, not a test: on a busy shared machine it is slower; the load
average is printed beside it.  The kernel's own share is in ``bench_widgets.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds of every action")
    ap.add_argument("--size", default="1366x768", help="browser viewport, WxH")
    ap.add_argument("--theme", choices=("light", "dark"), default="light")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))

    import test_browser as tb                     # noqa: E402  (the tests' browser helpers)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp, "nb"), Path(tmp, "home")
        root.mkdir()
        (root / "screen-check.ipynb").write_text(json.dumps(tb.SCREEN_NB))
        with tb.serve_lab(root, home) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=tb.CHROMIUM, headless=True,
                                        args=tb.CHROMIUM_FLAGS)
            page = browser.new_context(viewport={"width": w, "height": h}).new_page()
            tb._open_screen(page, base, args.theme)
            load0 = os.getloadavg()[0]
            lat = tb.measure_latencies(page, rounds=args.rounds)
            browser.close()
    print(f"click -> next painted frame, Chromium {w}x{h} {args.theme}, {os.cpu_count()} "
          f"CPUs, load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    for name, ms in lat.items():
        print(f"  {name:32s} {tb._stats(ms)}")
    print(f"  {'all actions':32s} {tb._stats([m for v in lat.values() for m in v])}")


if __name__ == "__main__":
    main()
