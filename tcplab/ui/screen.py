"""Fitting the pictures to a laptop's screen, and the widgets' keyboard: pure HTML strings.

Built on the SVG of :mod:`tcplab.render` (the ladder's ``data-now-y``, the diagram's node
groups) and styled by ``tcplab.css``; no ipywidgets here, so every piece is testable alone.

*Framed pictures.*  A legible ladder or state diagram (no label under 11 px) is about as
wide as a notebook on a 1366 x 768 laptop with JupyterLab's file browser open (about
930 px; the widgets' ladder is laid out on a narrower paper for it) and taller than its
screen.  So each picture is drawn at the full width of the widget -- at most 1.8 px per
point of the picture (``--tl-max-scale``), so that on a wide screen its text keeps a
reading size -- inside a *frame* whose height is what the notebook's view leaves below the
widget's bar, states and explanation (``--tl-pic-h``), and the frame shows the part that
matters: the ladder's "now" near its bottom edge, the diagram's current states in its
middle.  CSS sizes and positions the picture (container query units), so the browser
re-fits it when the window or the side panels change, without a message to the kernel;
the learner never scrolls inside the widget.  ``--tl-pic-h`` is set by the hook below
whenever the widget or the notebook's view changes size (an explanation one line longer,
a side panel opened): with the bar at the top of the view, the frame ends at its bottom.
``tcplab.css`` gives a fallback from the window's height.  "whole picture" lifts the
frame.

*Keys.*  ipywidgets has no keyboard events, and the well-kept libraries that add them
(ipyevents, anywidget) would be a new front-end extension to install; what is needed is
one listener, so it is written here: an ``<img>`` whose ``onload`` (run once, when the
widget is shown) makes the widget focusable, hides it from JupyterLab's own shortcuts
(``data-lm-suppress-shortcuts``, Lumino's documented opt-out), marks the explanation as an
ARIA live region, and maps ←/→/space to clicks on the widget's own buttons -- so a key does
exactly what the button does, through the same kernel callback.  The same hook fits the
frames' height (a ``ResizeObserver`` on the widget and the notebook's scrolling view).

>>> html = framed('<svg viewBox="0 0 100 200" data-now-y="150"></svg>', "ladder")
>>> 'class="tl-frame tl-frame-ladder"' in html and "--tl-focus: 0.75" in html
True
>>> "--tl-ar: 2" in html
True
"""

from __future__ import annotations

import re
from html import escape
from typing import Iterable

__all__ = ["framed", "ladder_focus", "diagram_focus", "keys_html", "KEYS"]

_VIEWBOX = re.compile(r'<svg\b[^>]*?\sviewBox="([-\d.e]+) ([-\d.e]+) ([-\d.e]+) ([-\d.e]+)"')
_SIZE = re.compile(r'(<svg\b[^>]*?)\swidth="[^"]*"\sheight="[^"]*"')
_GRAPH_T = re.compile(r'<g id="graph0" class="graph" transform="translate\(([-\d.]+) ([-\d.]+)\)"')

#: What each key clicks, per widget: CSS class of the button.
KEYS = {
    "stepper": {"ArrowLeft": "t-back", "ArrowRight": "t-step", " ": "t-play"},
    "explorer": {"ArrowLeft": "t-undo", "ArrowRight": "t-next-event"},
}


def _viewbox(svg: str) -> tuple[float, float, float, float]:
    m = _VIEWBOX.search(svg)
    if m is None:
        raise ValueError("the picture is not an SVG with a viewBox")
    x, y, w, h = (float(v) for v in m.groups())
    return x, y, w, h


def ladder_focus(svg: str) -> float:
    """Where the ladder's "now" is, as a fraction of the picture's height (0 top, 1 bottom).

    >>> ladder_focus('<svg viewBox="0 -50 10 200" data-now-y="100">')
    0.75
    """
    _, y, _, h = _viewbox(svg)
    m = re.search(r'data-now-y="([-\d.]+)"', svg)
    return min(1.0, max(0.0, (float(m.group(1)) - y) / h)) if m else 1.0


def diagram_focus(svg: str, nodes: Iterable[str]) -> float:
    """Middle of the given nodes (the current states) as a fraction of the diagram's height.

    Reads each node group's first label position and Graphviz's graph translation, so it
    holds for any layout; no nodes (or none found): 0.5.
    """
    _, y0, _, h = _viewbox(svg)
    t = _GRAPH_T.search(svg)
    dy = float(t.group(2)) if t else 0.0
    ys = []
    for node in nodes:
        i = svg.find(f'<g id="{node}"')
        if i < 0:
            continue
        m = re.compile(r'<text\b[^>]*?\sy="([-\d.]+)"').search(svg, i)
        if m:
            ys.append(float(m.group(1)) + dy)
    if not ys:
        return 0.5
    return min(1.0, max(0.0, ((min(ys) + max(ys)) / 2 - y0) / h))


def framed(svg: str, kind: str, focus: float | None = None) -> str:
    """The SVG at the frame's full width, placed so that ``focus`` (a fraction of its height;
    default: the ladder's "now") is in view: near the bottom for the ladder, the middle
    for the diagram.  ``kind`` is ``"ladder"`` or ``"diagram"`` (CSS class
    ``tl-frame-<kind>``)."""
    if kind not in ("ladder", "diagram"):
        raise ValueError(f"kind is 'ladder' or 'diagram', not {kind!r}")
    _, _, w, h = _viewbox(svg)
    if focus is None:
        focus = ladder_focus(svg) if kind == "ladder" else 0.5
    svg = _SIZE.sub(r"\1", svg, count=1)         # CSS sizes it; the viewBox keeps its shape
    return (f'<div class="tl-frame tl-frame-{kind}" style="--tl-ar: {h / w:.4g}; '
            f'--tl-w: {w:.5g}; --tl-focus: {focus:.4g}">{svg}</div>')


_JS = """(function (img) {
  var root = img.closest('.tl-w');
  if (!root || root.dataset.tlKeys) return;
  root.dataset.tlKeys = '1';
  var keys = KEYS;
  root.tabIndex = 0;
  root.setAttribute('data-lm-suppress-shortcuts', 'true');
  root.setAttribute('aria-keyshortcuts', Object.keys(keys).map(function (k) {
    return k === ' ' ? 'Space' : k; }).join(' '));
  var ex = root.querySelector('.t-explain');
  if (ex) { ex.setAttribute('role', 'status'); ex.setAttribute('aria-live', 'polite'); }
  root.addEventListener('keydown', function (e) {
    var cls = keys[e.key];
    if (!cls || e.altKey || e.ctrlKey || e.metaKey) return;
    var t = e.target;
    if (t.closest('input, textarea, select, [contenteditable], .widget-slider')) return;
    if (e.key === ' ' && t.tagName === 'BUTTON') return;
    e.preventDefault();
    e.stopPropagation();
    var b = root.querySelector('button.' + cls);
    if (b && !b.disabled) b.click();
  });
  var scroller = root.closest('.jp-WindowedPanel-outer, .jp-Notebook');
  var fit = function () {
    var box = root.querySelector('.tl-picbox');
    if (!box || !root.isConnected) return;
    var top = (root.querySelector('.tl-bar') || root).getBoundingClientRect().top;
    var frame = Array.prototype.filter.call(box.querySelectorAll('.tl-frame'),
      function (f) { return f.offsetHeight > 0; })[0];
    var start = frame ? frame.getBoundingClientRect().top
                      : box.getBoundingClientRect().top + 34;
    var tall = Math.min(window.innerHeight, scroller ? scroller.clientHeight : 1e6);
    var h = Math.round(Math.max(200, Math.min(1000, tall - (start - top) - 12)));
    if (box.style.getPropertyValue('--tl-pic-h') !== h + 'px')   /* only the pictures */
      box.style.setProperty('--tl-pic-h', h + 'px');              /* restyle, not all */
  };
  if (window.ResizeObserver) {
    var ro = new ResizeObserver(function () { fit(); });
    ro.observe(root);
    if (scroller) ro.observe(scroller);
  }
  window.addEventListener('resize', fit);
  fit();
})(this)"""

#: A 1x1 transparent GIF: its load event runs the hook once the widget is on screen.
_PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def keys_html(widget: str) -> str:
    """The keyboard hook of a ``"stepper"`` or ``"explorer"`` (see the module docstring)."""
    if widget not in KEYS:
        raise ValueError(f"widget is one of {', '.join(KEYS)}, not {widget!r}")
    keys = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in KEYS[widget].items()) + "}"
    js = " ".join(line.strip() for line in _JS.replace("KEYS", keys).splitlines())
    return (f'<img class="tl-keys" alt="" width="1" height="1" src="{_PIXEL}" '
            f'onload="{escape(js, quote=True)}">')
