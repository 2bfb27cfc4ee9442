"""Pictures and text of a run: the layer that draws the model.

Built on the model (:mod:`tcplab.network`, :mod:`tcplab.steps`, :mod:`tcplab.transitions`);
imports no widget code.  The state diagram uses the ``graphviz`` package, the ladder
matplotlib; both are imported only when a picture is drawn, so ``import tcplab.render``
is cheap.

>>> from tcplab import scenarios
>>> from tcplab.render import trace
>>> print(trace(scenarios.get("handshake").run(isn={"client": 100, "server": 300}),
...             times=False).splitlines()[2])
 2.                  (passive OPEN)                      LISTEN
"""

from .diagram import DiagramView, GraphvizNotFound, StateDiagram
from .ladder_diagram import LadderLayout, LadderView, ladder, ladder_png, save_ladder
from .text import trace, trace_lines
from .theme import PALETTE

__all__ = ["StateDiagram", "DiagramView", "GraphvizNotFound", "ladder", "save_ladder",
           "ladder_png", "LadderView", "LadderLayout", "trace", "trace_lines", "PALETTE"]
