"""Pictures and text of a run: the layer that draws the model.

Built on the model (:mod:`tcplab.network`, :mod:`tcplab.steps`, :mod:`tcplab.transitions`);
imports no widget code.  What it holds:

* :mod:`.diagram` -- the state diagram (RFC 9293 figure 5), laid out by the ``graphviz``
  package once per style and highlighted per step by CSS classes;
* :mod:`.ladder_diagram` -- the sequence (ladder) diagram: a pure layout, drawn with
  matplotlib (files) or as SVG with real text (:func:`ladder_svg`, no matplotlib: widgets);
* :mod:`.text` -- RFC-figure text traces; :mod:`.words` -- what a step did, in words,
  from the typed :class:`~tcplab.steps.Step` fields; :mod:`.socket_names` -- on a network
  of hosts with sockets, which host holds which TCB and the short tag (``:40001``) each
  picture gives the sockets of a busy host;
* :mod:`.theme` -- the one home of colours and fonts.

graphviz and matplotlib are imported only when a picture is drawn, so
``import tcplab.render`` is cheap.

>>> from tcplab import scenarios
>>> from tcplab.render import trace
>>> print(trace(scenarios.get("handshake").run(isn={"client": 100, "server": 300}),
...             times=False).splitlines()[2])
 2.                  (passive OPEN)                      LISTEN
"""

from .diagram import DiagramView, GraphvizNotFound, StateDiagram
from .ladder_diagram import LadderLayout, LadderView, ladder, ladder_png, ladder_svg, save_ladder
from .text import trace, trace_lines
from .theme import PALETTE

__all__ = ["StateDiagram", "DiagramView", "GraphvizNotFound", "ladder", "save_ladder",
           "ladder_png", "ladder_svg", "LadderView", "LadderLayout", "trace", "trace_lines",
           "PALETTE"]
