"""The picture of one moment of a run, shared by the stepper and the explorer.

:class:`View` holds the widgets that show a moment -- the state diagram (inline SVG from
:class:`tcplab.render.StateDiagram`), the ladder (a PNG from
:func:`tcplab.render.ladder_png`), a badge per endpoint, the clock and the explanation
(HTML from :mod:`tcplab.ui.cards`) -- and :meth:`View.show` only changes their values, so
nothing flickers.  Ladder pictures are memoised per key; in a live kernel a click gets its
reply at once and the ladder follows when the kernel is idle (:func:`frontend_event`).
Also here: the few widget helpers both widgets use (buttons, the error label that keeps
tracebacks away from learners, the side-by-side/stacked toggle).  Built on ipywidgets and
the render layer's public names only.

>>> from tcplab import scenarios
>>> view = View(("client", "server"))
>>> view.show(scenarios.get("handshake").run(), 2, ladder_key=2, ladder_upto=2)
>>> "SYN-RECEIVED" in view.badges["server"].value, view.ladder.value[1:4] == b"PNG"
(True, True)
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from typing import Callable, Iterable, Sequence

import ipywidgets as widgets

from ..network import Network
from ..scenarios import Scenario, get as get_scenario
from ..states import TcpState
from ..steps import Step, TcpError
from .cards import badge_html, clock_html, css_name, error_text, esc, explain_html
from .style import endpoint_colors

__all__ = ["View", "Guarded", "pictures", "button", "html_widget", "frontend_event",
           "scenario_of", "check_style", "LADDER_DPI", "STYLES"]

LADDER_DPI = 96
_LADDER_CACHE = 256          # pictures kept per widget
_EXPECTED = (TcpError, ValueError, KeyError)
#: The segment notations of the ladder and the cards.
STYLES = ("rfc", "tcpdump", "short")


def button(description: str, cls: str, tooltip: str = "", style: str = "",
           width: str | None = None) -> widgets.Button:
    """A button with the stable CSS class ``cls`` (browser tests find it by that)."""
    b = widgets.Button(description=description, tooltip=tooltip, button_style=style,
                       layout=widgets.Layout(width=width) if width else widgets.Layout())
    b.add_class(cls)
    return b


def html_widget(cls: str | None = None, value: str = "", **layout: str) -> widgets.HTML:
    """An ``HTML`` widget with an optional CSS class and layout."""
    w = widgets.HTML(value=value, layout=widgets.Layout(**layout))
    if cls:
        w.add_class(cls)
    return w


def frontend_event() -> bool:
    """True while a live kernel handles a message from a browser (a click, a slider move).

    Only then may the ladder picture follow the rest of the update a moment later: a
    Python call -- a test, a notebook cell run by nbclient -- always gets the whole update
    before it returns, so the saved widget state is complete.
    """
    try:
        asyncio.get_running_loop()
        from ipykernel.kernelbase import Kernel
        if not Kernel.initialized():
            return False
        parent = Kernel.instance().get_parent()
    except Exception:
        return False
    return (parent or {}).get("header", {}).get("msg_type") == "comm_msg"


def scenario_of(source: object) -> tuple[Network, Scenario | None]:
    """A run and its scenario from a scenario name, a :class:`Scenario` or a :class:`Network`
    (then the scenario is ``None``).  Anything else: ``TypeError`` naming what is accepted."""
    if isinstance(source, Network):
        return source, None
    if isinstance(source, (str, Scenario)):
        sc = get_scenario(source)
        return sc.run(), sc
    raise TypeError(f"expected a scenario name, a Scenario or a Network, not "
                    f"{type(source).__name__}")


def check_style(style: object) -> None:
    """``ValueError`` unless ``style`` is one of :data:`STYLES`."""
    if style not in STYLES:
        raise ValueError(f"style is 'rfc', 'tcpdump' or 'short', not {style!r}")


class View:
    """The picture of one moment of a run: diagram, ladder, badges, clock, explanation.

    Built once; :meth:`show` only sets values.  ``timings`` holds the seconds the last
    :meth:`show` spent on each part (``diagram``, ``text``, ``ladder``, ``total``, and
    ``deferred`` 1.0 if the ladder was left for later).
    """

    def __init__(self, names: Sequence[str], *, style: str = "rfc",
                 layers: "str | Iterable[str] | None" = None, dpi: int = LADDER_DPI) -> None:
        self.names = tuple(names)
        self.colors = endpoint_colors(self.names)
        self.style = style
        self.layers = layers
        self.dpi = dpi
        self.diagram = html_widget("t-diagram", width="100%")
        self.ladder = widgets.Image(format="png", layout=widgets.Layout(
            width="100%", height="auto", object_fit="contain"))
        self.ladder.add_class("t-ladder")
        self.badges = {n: html_widget(f"t-badge-{css_name(n)}", flex="1 1 260px",
                                      min_width="0") for n in self.names}
        self.clock = html_widget("t-clock", flex="1 1 260px", min_width="0")
        self.explain = html_widget("t-explain", width="100%")
        self.diagram_view = None           # the last DiagramView (tests read current_nodes)
        self.timings: dict[str, float] = {}
        self.defer = True                  # see frontend_event()
        self._ladder_cache: "OrderedDict[object, bytes]" = OrderedDict()
        self._shown_key: object = None
        self._pending: tuple[Network, int | None, object] | None = None
        self._pending_handle = None

    # -- pieces ------------------------------------------------------------------------------
    def ladder_png(self, net: Network, upto: int | None, key: object) -> bytes:
        """The ladder picture of ``net`` up to history step ``upto`` (memoised under ``key``)."""
        png = self._ladder_cache.get(key)
        if png is not None:
            self._ladder_cache.move_to_end(key)
            return png
        from ..render import ladder_png
        png = ladder_png(net, upto=upto, style=self.style, dpi=self.dpi)
        self._ladder_cache[key] = png
        while len(self._ladder_cache) > _LADDER_CACHE:
            self._ladder_cache.popitem(last=False)
        return png

    def has_ladder(self, key: object) -> bool:
        return key in self._ladder_cache

    def _diagram_html(self, net: Network, k: int) -> str:
        from ..render import StateDiagram
        view = StateDiagram.for_network(net, k, layers=self.layers)
        self.diagram_view = view
        # scale to the panel: keep the viewBox, let CSS size it
        return re.sub(r'(<svg\b[^>]*?)\swidth="[^"]*"\sheight="[^"]*"', r"\1", view.svg,
                      count=1)

    # -- the whole picture -------------------------------------------------------------------
    def show(self, net: Network, k: int, *, ladder_key: object, ladder_upto: int | None,
             total: int | None = None, earlier: Sequence[Step] = ()) -> None:
        """Show ``net`` after history step ``k`` (-1: before the first step)."""
        t0 = time.perf_counter()
        hist = net.history
        if k >= 0:
            step = hist[k]
            states = dict(step.states)
            now, timers = step.time, step.timers
        else:
            states = {n: TcpState.CLOSED for n in self.names}
            now, timers = 0.0, ()
        prev = dict(hist[k - 1].states) if k >= 1 else {n: TcpState.CLOSED for n in self.names}
        try:
            self.diagram.value = self._diagram_html(net, k)
        except Exception as exc:  # graphviz missing, ...: say so in place of the picture
            self.diagram.value = (f'<div class="tl-error">The state diagram cannot be drawn: '
                                  f'{esc(error_text(exc))}</div>')
        t1 = time.perf_counter()
        for n in self.names:
            self.badges[n].value = badge_html(n, states[n], prev.get(n), self.colors[n])
        self.clock.value = clock_html(net, now, timers, self.colors)
        self.explain.value = explain_html(net, k, total, self.colors, style=self.style,
                                          earlier=earlier, names=self.names)
        t2 = time.perf_counter()
        self._shown_key = ladder_key
        deferred = False
        if not self.has_ladder(ladder_key) and self.defer and frontend_event():
            # A browser click: send everything else now, draw the ladder when the kernel
            # is idle (only the newest picture if clicks come faster than pictures).
            self._pending = (net, ladder_upto, ladder_key)
            if self._pending_handle is None:
                self._pending_handle = asyncio.get_running_loop().call_soon(
                    self._draw_pending)
            deferred = True
        else:
            self._pending = None
            self._set_ladder(net, ladder_upto, ladder_key)
        t3 = time.perf_counter()
        self.timings = {"diagram": t1 - t0, "text": t2 - t1, "ladder": t3 - t2,
                        "total": t3 - t0, "deferred": float(deferred)}

    def _set_ladder(self, net: Network, upto: int | None, key: object) -> None:
        try:
            png = self.ladder_png(net, upto, key)
        except Exception as exc:
            png = b""
            self.explain.value += (f'<div class="tl-error">The ladder cannot be drawn: '
                                   f'{esc(error_text(exc))}</div>')
        if png != self.ladder.value:
            self.ladder.value = png

    def _draw_pending(self) -> None:
        self._pending_handle = None
        pending, self._pending = self._pending, None
        if pending is None or pending[2] != self._shown_key:
            return
        t0 = time.perf_counter()
        self._set_ladder(*pending)
        self.timings["ladder_late"] = time.perf_counter() - t0


def pictures(view: View) -> tuple[widgets.HBox, widgets.ToggleButtons]:
    """The diagram and the ladder side by side (or stacked), and the toggle between."""
    dpanel = widgets.Box([view.diagram])
    lpanel = widgets.Box([view.ladder])
    dpanel.add_class("tl-panel")
    lpanel.add_class("tl-panel")
    main = widgets.HBox([dpanel, lpanel], layout=widgets.Layout(width="100%"))
    main.add_class("tl-main")
    toggle = widgets.ToggleButtons(options=[("side by side", "side"), ("stacked", "stacked")],
                                   value="side", tooltips=[
                                       "Diagram and ladder next to each other",
                                       "Diagram above the ladder, both larger"],
                                   style={"button_width": "auto"})
    toggle.add_class("t-layout")

    def arrange(mode: str) -> None:
        if mode == "stacked":
            main.layout.flex_flow = "column"
            main.layout.align_items = "center"
            dpanel.layout = widgets.Layout(width="100%", max_width="860px", flex="0 0 auto")
            lpanel.layout = widgets.Layout(width="100%", max_width="1100px", flex="0 0 auto")
        else:
            main.layout.flex_flow = "row"
            main.layout.align_items = "flex-start"
            dpanel.layout = widgets.Layout(flex="1 1 46%", min_width="0")
            lpanel.layout = widgets.Layout(flex="1 1 54%", min_width="0")

    toggle.observe(lambda ch: arrange(ch["new"]), "value")
    arrange("side")
    return main, toggle


class Guarded:
    """Callbacks that never let a traceback reach the learner: errors go to ``error``."""

    error: widgets.HTML

    def _safe(self, fn: Callable, *args: object) -> None:
        self.error.layout.display = "none"
        self.error.value = ""
        try:
            fn(*args)
        except _EXPECTED as exc:
            self._show_error(error_text(exc))
        except Exception as exc:  # never a traceback in front of a learner
            self._show_error(f"Something went wrong inside tcplab ({type(exc).__name__}: "
                             f"{error_text(exc)}). Please tell your teacher.")

    def _show_error(self, text: str) -> None:
        self.error.value = f'<div class="tl-error">⚠ {esc(text)}</div>'
        self.error.layout.display = ""
