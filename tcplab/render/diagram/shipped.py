"""The state diagram's layouts computed by ``dot`` when the wheel is built, shipped in it.

Builds on :mod:`.graph` (the ``graphviz.Digraph`` of a style) and :mod:`.layout`
(``pipe``): :func:`build` runs ``dot -Tjson`` once for every shipped style and writes the
answers to one gzipped JSON file, ``layouts.json.gz`` beside this module (the wheel's
build hook, ``hatch_build.py``, calls it; the file is never committed).  At run time
:func:`find` gives a style's ``dot`` output from that file, so ``pip install tcplab``
draws the lessons' diagrams on a machine without Graphviz's programs, and in a web page
(JupyterLite) where there are none.

A layout is found by the SHA-256 of the graph's DOT text, not by its style's name: a
graph that changed since the wheel was built (a new transition, another font, another
rank) has another digest, is not found, and is laid out by ``dot`` again.  So a shipped
layout is never used for a picture it was not made for.

Shipped styles: the default layers (figure5, note2, loop) with any of ``text``,
``reset``, ``abort``, ``timeout`` added -- everything ``StateDiagram(layers=...)``
accepts as a string -- each with and without ``show_codes``: 32 layouts, about
250 kB gzipped.  A style with default layers left out is custom: it needs ``dot``.

>>> from tcplab.render.diagram.spec import build_spec
>>> len(STYLES), (frozenset(DEFAULT_LAYERS), False) in STYLES
(32, True)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import Any

from ...transitions import DEFAULT_LAYERS, LAYERS

__all__ = ["STYLES", "LAYOUTS_FILE", "digest", "find", "build", "available"]

#: The layers that may be added to the default ones (``parse_layers("reset,abort")``).
_EXTRA = tuple(name for name in LAYERS if name not in DEFAULT_LAYERS)

#: Every shipped style: ``(layers, show_codes)``.
STYLES: tuple[tuple[frozenset[str], bool], ...] = tuple(
    (frozenset(DEFAULT_LAYERS) | frozenset(extra), codes)
    for r in range(len(_EXTRA) + 1) for extra in combinations(_EXTRA, r)
    for codes in (False, True))

#: Where the wheel carries the layouts (absent in a checkout that was never built).
LAYOUTS_FILE = Path(__file__).with_name("layouts.json.gz")


def digest(graph: Any) -> str:
    """The key of a graph's layout: SHA-256 (hex) of its DOT text (``graph.source``)."""
    return hashlib.sha256(graph.source.encode("utf-8")).hexdigest()


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    return data["layouts"]


def _table(path: "str | os.PathLike[str] | None") -> dict[str, str]:
    p = Path(path) if path is not None else LAYOUTS_FILE
    try:
        return _load(str(p), p.stat().st_mtime)
    except FileNotFoundError:
        return {}


def find(graph: Any, path: "str | os.PathLike[str] | None" = None) -> bytes | None:
    """``dot -Tjson``'s output for ``graph`` if it was shipped (``None`` if not).

    ``path`` defaults to :data:`LAYOUTS_FILE`.  The answer is exactly what ``dot`` printed
    at build time for this very DOT text (see the module docstring)."""
    raw = _table(path).get(digest(graph))
    return raw.encode("utf-8") if raw is not None else None


def available(path: "str | os.PathLike[str] | None" = None) -> int:
    """How many layouts are shipped (0 in a checkout that was never built)."""
    return len(_table(path))


def build(path: "str | os.PathLike[str]") -> Path:
    """Run ``dot`` for every style of :data:`STYLES`; write them to ``path`` (gzipped JSON).

    The file is the same for the same graphs and Graphviz (sorted keys, no time stamp in
    the gzip header), so a wheel built twice is the same wheel.  Raises
    :class:`~.layout.GraphvizNotFound` when ``dot`` is missing."""
    from .graph import layout_graph
    from .layout import pipe
    from .spec import build_spec

    layouts = {}
    for layers, codes in STYLES:
        graph = layout_graph(build_spec(layers, codes))
        answer = json.loads(pipe(graph, "json"))       # kept whole, only made compact
        layouts[digest(graph)] = json.dumps(answer, separators=(",", ":"))
    text = json.dumps({"format": "dot -Tjson, keyed by sha256 of the DOT source",
                       "layouts": layouts}, sort_keys=True)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                             compresslevel=9, mtime=0) as f:
        f.write(text.encode("utf-8"))
    return p


if __name__ == "__main__":  # pragma: no cover - `python -m tcplab.render.diagram.shipped OUT`
    import sys

    out = build(sys.argv[1] if len(sys.argv) > 1 else LAYOUTS_FILE)
    print(f"wrote {out} ({out.stat().st_size // 1024} kB, {available(out)} layouts)")
