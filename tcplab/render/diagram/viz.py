"""Graphviz in the browser: ``@viz-js/viz`` lays out a custom diagram style in a web page.

Builds on Pyodide's JavaScript bridge (``pyodide.code.run_js``, ``pyodide.ffi``) and
``@viz-js/viz`` (Graphviz compiled to WebAssembly, one ES module) that the JupyterLite
site serves as ``static/viz/viz.js`` (``scripts/build-lite.sh``).  In a JupyterLite page
there is no ``dot`` program: the lessons' diagram styles come laid out in the wheel
(:mod:`.shipped`), and any other style is laid out here, by the same Graphviz, from the
same DOT text.

Loading a JavaScript module is asynchronous and a notebook cell's code is not, so it is
loaded once, by :func:`load` (``await`` it in a cell)::

    from tcplab.render.diagram import viz
    await viz.load()
    StateDiagram(layers=["figure5"]).show(current="LISTEN")

Outside a browser :func:`available` is ``False`` and :func:`load` raises
:class:`RuntimeError`; ``dot`` lays out there.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["in_browser", "available", "load", "render"]

#: Where the site serves viz.js, relative to the page (the kernel's worker resolves it
#: against the site's root, see :func:`load`).
VIZ_PATH = "static/viz/viz.js"

_instance: Any = None


def in_browser() -> bool:
    """Whether this Python runs in a web page (Pyodide)."""
    return sys.platform == "emscripten"


def available() -> bool:
    """Whether :func:`load` has made Graphviz ready in this page."""
    return _instance is not None


async def load(url: str | None = None) -> str:
    """Load ``@viz-js/viz`` from the site (once); return the Graphviz version it runs.

    ``url`` defaults to the site's ``static/viz/viz.js``.  Raises :class:`RuntimeError`
    outside a web page, and when the module cannot be loaded (the message names the URL).
    """
    global _instance
    if not in_browser():
        raise RuntimeError("viz.load() is for a web page (JupyterLite); here Graphviz's "
                           "`dot` program lays out the diagram")
    if _instance is None:
        import js
        from pyodide.code import run_js

        if url is None:
            # the kernel runs in a worker under extensions/<kernel>/static/: the site's
            # root is the part of its address before /extensions/
            here = str(js.location.href)
            root = here.split("/extensions/")[0] + "/" if "/extensions/" in here else "./"
            url = str(js.URL.new(VIZ_PATH, root).href)
        try:
            _instance = await run_js(f"import({url!r}).then(m => m.instance())")
        except Exception as exc:
            raise RuntimeError(f"could not load Graphviz (viz.js) from {url}: {exc}") from None
    return str(_instance.graphvizVersion)


def render(source: str, fmt: str = "json", engine: str = "dot") -> bytes:
    """Lay out DOT ``source`` with the loaded Graphviz; ``fmt`` as ``dot -T`` takes it.

    Raises :class:`RuntimeError` when :func:`load` has not run, or Graphviz reports errors.
    """
    if _instance is None:
        raise RuntimeError("Graphviz is not loaded in this page: run `from "
                           "tcplab.render.diagram import viz; await viz.load()` once")
    from pyodide.ffi import to_js
    import js

    options = to_js({"format": fmt, "engine": engine}, dict_converter=js.Object.fromEntries)
    result = _instance.render(source, options)
    if str(result.status) != "success":
        errors = "; ".join(str(e.message) for e in result.errors)
        raise RuntimeError(f"Graphviz (viz.js) `{engine} -T{fmt}` failed: {errors}")
    return str(result.output).encode("utf-8")
