"""The ladder where matplotlib is missing: an SVG picture that stands in for the Figure.

Builds on :mod:`.svg` (the ladder drawn as SVG from the pure display list).  In a
JupyterLite page (Pyodide has no matplotlib here) or an environment without it,
:func:`~.figures.ladder` returns an :class:`SvgLadder` instead of a matplotlib Figure:
Jupyter shows it (``_repr_svg_``), ``.drawn`` records what was drawn as on the Figure, and
``savefig`` writes SVG.  PNG and PDF need matplotlib, and say so.

>>> from tcplab import scenarios
>>> from tcplab.render.ladder_diagram.svg import ladder_svg
>>> pic = SvgLadder.of(scenarios.get("handshake").run(isn={"client": 100, "server": 300}),
...                    style="tcpdump")
>>> [m.text for m in pic.drawn.segments][0], pic.svg.startswith('<svg class="tcplab-ladder"')
('[S] seq 100', True)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .marks import Drawing

__all__ = ["SvgLadder", "have_matplotlib", "NEEDS_MATPLOTLIB"]

NEEDS_MATPLOTLIB = ("{what} needs matplotlib, which is not installed here (in a JupyterLite "
                    "page it cannot be); the ladder is drawn as SVG instead: save it as .svg, "
                    "or `pip install matplotlib` where you can")


def have_matplotlib() -> bool:
    """Whether ``import matplotlib`` works (it does not in a JupyterLite page)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


class SvgLadder:
    """A ladder drawn as SVG: ``svg`` (the document, a ``str``) and ``drawn`` (the marks)."""

    def __init__(self, svg: str, drawn: Drawing) -> None:
        self.svg = svg
        self.drawn = drawn

    @classmethod
    def of(cls, source: Any, *, upto: int | None = None, style: str = "rfc",
           title: str | None = None, **run: Any) -> "SvgLadder":
        """The ladder of ``source`` as :func:`~.svg.ladder_svg` takes it."""
        from .figures import _layout_for, _step_index
        from .history import collect
        from .marks import draw_marks
        from .svg import drawing_svg

        r = collect(source, run.pop("packets", None), run.pop("names", None),
                    run.pop("latency", None))
        if run:
            raise TypeError(f"ladder() got unexpected keyword argument(s) "
                            f"{', '.join(sorted(run))}")
        k = _step_index(r, upto, style)
        drawn = draw_marks(_layout_for(r, style), r, k, upto is not None)
        return cls(drawing_svg(drawn, title=title), drawn)

    def __repr__(self) -> str:
        return f"<SvgLadder: {len(self.drawn.segments)} segments>"

    def _repr_svg_(self) -> str:
        return self.svg

    def savefig(self, path: "str | os.PathLike[str]", format: str | None = None,
                **_: Any) -> None:
        """Write the SVG (``format`` or the suffix must say ``svg``)."""
        fmt = (format or Path(path).suffix.lstrip(".")).lower()
        if fmt != "svg":
            raise ValueError(NEEDS_MATPLOTLIB.format(what=f"saving the ladder as {fmt!r}"))
        Path(path).write_text(self.svg, encoding="utf-8")
