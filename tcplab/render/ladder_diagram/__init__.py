"""Sequence ("ladder") diagrams of a run: a pure layout, drawn with matplotlib.

Two vertical timelines, time flowing *down*, one per endpoint.  Every packet the run put
on the wire is one arrow from its send time on the sender's line to its arrival time on
the receiver's line, so the latency makes the arrows slant and segments that are in the
network at the same time *cross* -- simultaneous open and close look like RFC 9293
figures 7 and 13.  Beside the lines: the state each endpoint enters (boxed), the user
calls (``close()``) and timer firings (a clock and ``RTO`` / ``2MSL expired``).  Lost
segments end in a red cross, duplicates and retransmissions are dash-dotted / dashed and
tagged, packets still in flight are dotted up to "now".  An idle stretch longer than three
latencies is compressed to a short break marked ``≈ 239.9 s later``, so a 0.3 s handshake
and the 240 s of TIME-WAIT (shaded on the line of the endpoint that waits) fit in one
readable picture.

Read in this order -- the first four are pure (no matplotlib):

* :mod:`.history` -- the packets of a run, from the typed Step fields;
* :mod:`.geometry` -- paper sizes, the broken time axis, arrows, label rectangles;
* :mod:`.layout` -- :class:`LadderLayout`: where everything of the whole run goes, and
  where each label is placed (greedy, so labels hit no arrow and no other label);
* :mod:`.marks` -- :class:`Mark` records of what is drawn after step ``k`` (what tests
  check) and the display list;
* :mod:`.mpl` -- the display list as matplotlib artists, PNG through ``savefig``;
* :mod:`.svg` -- the same display list as SVG with real ``<text>`` (no matplotlib): what
  the widgets show, crisp at any width, no PNG per step;
* :mod:`.figures` -- :func:`ladder`, :func:`ladder_png`, :func:`save_ladder`,
  :class:`LadderView` and the ``python -m tcplab ladder`` command.

    >>> from tcplab.network import Network
    >>> net = Network(isn={"client": 100, "server": 300})
    >>> _ = net.listen("server"); _ = net.connect("client"); _ = net.run()
    >>> fig = ladder(net, style="tcpdump")
    >>> [m.text for m in fig.drawn.segments]
    ['[S] seq 100', '[S.] seq 300 ack 101', '[.] seq 101 ack 301']

``ladder(net, upto=k)`` draws only what had happened after step ``k`` (``history[:k+1]``)
on the axes of the whole run, so a stepping widget's picture never jumps;
:class:`LadderView` does the same with one reused figure and PNGs memoised per step.
Everything drawn is recorded in ``fig.drawn`` (a list of :class:`Mark`), and the arrows
and texts carry gids (``seg-7``, ``label-7``, ``lost-7``, ``state-client-3``,
``time-wait-client``...), so tests -- and SVG consumers -- can check *what* was drawn
without comparing pixels.  matplotlib is imported only when a ladder is drawn.
"""

from .figures import LadderView, ladder, ladder_png, save_ladder
from .layout import STYLES, LadderLayout
from .marks import Drawing, Mark
from .svg import ladder_svg
from .svg_figure import SvgLadder

__all__ = ["ladder", "save_ladder", "ladder_png", "ladder_svg", "LadderView",
           "LadderLayout", "Mark", "Drawing", "STYLES", "SvgLadder"]
