"""The TCP state diagram (RFC 9293 §3.3.2, figure 5), laid out by Graphviz, highlighted live.

The edges come from :data:`tcplab.transitions.TRANSITIONS` -- the table the endpoint itself
uses to change state -- so the picture and the model cannot disagree.  Layers that figure 5
leaves out (``reset``, ``abort``, ``timeout``, ``text``) can be switched on.

Read in this order:

* :mod:`.spec` -- nodes and edges from the transition table (pure);
* :mod:`.graph` -- the ``graphviz.Digraph`` (figure 5's rows and columns; pinned exports);
* :mod:`.layout` -- Graphviz's layout, computed *once* per style (layers x ``show_codes``)
  with the ``graphviz`` package's ``pipe`` (``json`` output);
* :mod:`.highlight` -- current states, the step just taken, the path so far and coverage,
  as CSS classes and colours (pure);
* :mod:`.legend`, :mod:`.svg` -- the picture: the SVG of a style is written once from the
  layout, and a highlighted picture only fills in classes and colours (a ``str.join``, a
  fraction of a millisecond).  Nothing ever moves between steps;
* :mod:`.view` -- :class:`StateDiagram` and :class:`DiagramView` (the command line is
  :mod:`tcplab.cli`).

**Ids and classes** (stable: tests and the widgets' browser code use them).  Nodes:
``node-<TcpState.name>`` (``node-SYN_RECEIVED``), ``node-CLOSED-end`` (the bottom copy of
CLOSED) and ``node-CLOSED-sink-<STATE>`` (a small dashed copy beside a state that a reset,
abort or timeout can end); classes ``state``, ``state-<NAME>``, ``current``,
``current-<endpoint>``; every copy of CLOSED carries ``data-state="CLOSED"``.  Edges:
``edge-<key>`` (the transition key), classes ``transition``, ``layer-<layer>``, ``taken``,
``taken-<endpoint>``, ``path``, ``path-<endpoint>``, ``covered``; attributes
``data-source``/``data-target`` (states) and ``data-tail``/``data-head`` (drawn node
ids).  The arrows into one sink are one ``bundle-<STATE>`` group holding one
``edge-<key>`` member (class ``member``) per transition.

>>> from tcplab.render.diagram import StateDiagram
>>> svg = StateDiagram().render(current={"client": "ESTABLISHED", "server": "CLOSE-WAIT"})
>>> 'class="state state-ESTABLISHED current current-client"' in svg
True
"""

from ..theme import COLORS, PALETTE
from .highlight import css_name
from . import shipped
from .layout import GraphvizNotFound, clear_cache
from .spec import SINK_LAYERS, node_id, parse_layers
from .view import DiagramView, StateDiagram

#: Colour of the "used in this run" coverage overlay (kept for old imports; see the theme).
COVERAGE_COLOR = COLORS["coverage"]

__all__ = ["StateDiagram", "DiagramView", "GraphvizNotFound", "PALETTE", "SINK_LAYERS",
           "parse_layers", "clear_cache", "node_id", "css_name"]
