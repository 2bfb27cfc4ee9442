"""The picture of one moment of a run, shared by the stepper and the explorer.

:class:`View` holds the widgets that show a moment -- the state diagram (inline SVG from
:class:`tcplab.render.StateDiagram`), the ladder (inline SVG from
:func:`tcplab.render.ladder_diagram.ladder_svg`: the browser sets its text, crisp at any
width, and no PNG is made per step), a badge per endpoint, the clock and the explanation
(HTML from :mod:`tcplab.ui.cards`) -- and :meth:`View.show` only changes their values, so
nothing flickers.  The two pictures are on two tabs at the widget's full width, each in a
frame that fits the screen and keeps the moment in view (:mod:`tcplab.ui.screen`): legible
on a 1366 x 768 laptop, where side by side both would be too small to read.  Ladder
pictures are memoised per key.  Also here: the few widget helpers both widgets use
(buttons, the error label that keeps tracebacks away from learners).  Built on ipywidgets,
the render layer's public names and :mod:`tcplab.ui.screen`.

On a network of hosts with sockets (:class:`~tcplab.sockets.SocketNetwork`) a badge is a
host's: the states of all its TCBs (the listener and each connection, by their tags) and
the host's ``ss -tano`` at that moment (:func:`~tcplab.ui.cards.host_badge_html`).  The
``ss`` text of a past step comes from a replay of the run up to it, at that step's time
(a replay costs about 15 µs a step), memoised per step like the ladder.

>>> from tcplab import scenarios
>>> view = View(("client", "server"))
>>> view.show(scenarios.get("handshake").run(), 2, ladder_key=2, ladder_upto=2)
>>> "SYN-RECEIVED" in view.badges["server"].value, 'class="tcplab-ladder"' in view.ladder.value
(True, True)
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable, Iterable, Sequence

import ipywidgets as widgets

from ..network import Network
from ..render.socket_names import socket_names
from ..scenarios import Scenario, get as get_scenario
from ..sockets import SocketNetwork
from ..states import TcpState
from ..steps import Step, TcpError
from .cards import (badge_html, clock_html, css_name, error_text, esc, explain_html,
                    host_badge_html)
from .screen import diagram_focus, framed
from .style import endpoint_colors

__all__ = ["View", "Guarded", "ShownLazily", "pictures", "show_diagram_tab", "button",
           "html_widget", "scenario_of", "check_style", "STYLES", "PICTURES"]

_LADDER_CACHE = 256          # pictures kept per widget (SVG text, ~20 kB each)
#: The tabs of the pictures, in order: (title, what it shows).
PICTURES = (("Sequence (ladder)", "ladder"), ("State diagram", "diagram"))
_EXPECTED = (TcpError, ValueError, KeyError)
#: The segment notations of the ladder and the cards.
STYLES = ("rfc", "tcpdump", "short")


def button(description: str, cls: str, tooltip: str = "", style: str = "",
           width: str | None = None, **layout: str) -> widgets.Button:
    """A button with the stable CSS class ``cls`` (browser tests find it by that).

    Classes and layout are given to the constructor, so the front-end gets the widget in
    one message (``add_class`` afterwards would send a second)."""
    if width:
        layout["width"] = width
    return widgets.Button(description=description, tooltip=tooltip, button_style=style,
                          layout=widgets.Layout(**layout), _dom_classes=(cls,))


def html_widget(cls: str | None = None, value: str = "", **layout: str) -> widgets.HTML:
    """An ``HTML`` widget with an optional CSS class and layout (in one message)."""
    return widgets.HTML(value=value, layout=widgets.Layout(**layout),
                        _dom_classes=(cls,) if cls else ())


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

    Built once; :meth:`show` only sets values.  ``coverage=True`` marks on the diagram
    every edge the run has taken so far (the "reach every edge" overlay; settable at any
    time, then :meth:`show` again).  ``timings`` holds the seconds the last :meth:`show`
    spent on each part (``diagram``, ``text``, ``ladder``, ``total``).

    ``lazy``: redraw only the picture on the visible tab (``visible``: ``"ladder"`` or
    ``"diagram"``, kept by :func:`pictures`); the other is drawn when its tab is selected
    (:meth:`select`).  A widget sets it once it is shown in a notebook, so a click sends
    one picture, not two; unshown (a script, a test), both stay current.
    """

    def __init__(self, names: Sequence[str], *, style: str = "rfc",
                 layers: "str | Iterable[str] | None" = None, coverage: bool = False) -> None:
        self.names = tuple(names)
        self.colors = endpoint_colors(self.names)
        self.style = style
        self.layers = layers
        self.coverage = coverage
        self.diagram = html_widget("t-diagram", width="100%")
        self.ladder = html_widget("t-ladder", width="100%")
        self.badges = {n: html_widget(f"t-badge-{css_name(n)}", flex="1 1 260px",
                                      min_width="0") for n in self.names}
        self.clock = html_widget("t-clock", flex="1 1 260px", min_width="0")
        self.explain = html_widget("t-explain", width="100%")
        self.diagram_view = None           # the last DiagramView (tests read current_nodes)
        self.timings: dict[str, float] = {}
        self.lazy = False
        self.visible = PICTURES[0][1]
        self._stale: set[str] = set()      # pictures not redrawn since the last show()
        self._moment: tuple | None = None  # that show()'s (net, k, ladder_key, ladder_upto)
        self._ladder_cache: "OrderedDict[object, str]" = OrderedDict()
        self._ss_cache: "OrderedDict[object, dict[str, str]]" = OrderedDict()

    # -- pieces ------------------------------------------------------------------------------
    def ladder_svg(self, net: Network, upto: int | None, key: object) -> str:
        """The ladder of ``net`` up to history step ``upto``, framed (memoised under ``key``)."""
        svg = self._ladder_cache.get(key)
        if svg is not None:
            self._ladder_cache.move_to_end(key)
            return svg
        from ..render.ladder_diagram import ladder_svg
        svg = framed(ladder_svg(net, upto=upto, style=self.style, screen=True), "ladder")
        self._ladder_cache[key] = svg
        while len(self._ladder_cache) > _LADDER_CACHE:
            self._ladder_cache.popitem(last=False)
        return svg

    def has_ladder(self, key: object) -> bool:
        return key in self._ladder_cache

    def ss_texts(self, net: Network, k: int, key: object, live: bool = False
                 ) -> dict[str, str]:
        """Each host's ``ss -tano`` after history step ``k`` of a :class:`SocketNetwork`
        (``{}`` for another network), at the time of that step; ``live``: ``net`` is at
        that step now (the explorer), so no replay is needed.  Memoised under ``key``."""
        if not isinstance(net, SocketNetwork):
            return {}
        hit = self._ss_cache.get(key)
        if hit is not None:
            self._ss_cache.move_to_end(key)
            return hit
        if live:
            at = net
        else:
            at = net.replay(k + 1)
            at.clock.now = net.history[k].time if k >= 0 else 0.0
        texts = {h: at.ss(h, timers=True) for h in net.names}
        self._ss_cache[key] = texts
        while len(self._ss_cache) > _LADDER_CACHE:
            self._ss_cache.popitem(last=False)
        return texts

    def has_ss(self, key: object) -> bool:
        return key in self._ss_cache

    def _diagram_html(self, net: Network, k: int) -> str:
        from ..render import StateDiagram
        view = StateDiagram.for_network(net, k, layers=self.layers, coverage=self.coverage)
        self.diagram_view = view
        focus = diagram_focus(view.svg, view.current_nodes.values())
        # data-step: which moment the picture shows (a browser test waits for it)
        return framed(view.svg, "diagram", focus).replace(
            '<div class="tl-frame', f'<div data-step="{k}" class="tl-frame', 1)

    def _draw(self, what: str) -> None:
        """Draw picture ``what`` of the last :meth:`show` into its widget."""
        assert self._moment is not None
        net, k, ladder_key, ladder_upto = self._moment
        self._stale.discard(what)
        if what == "diagram":
            try:
                self.diagram.value = self._diagram_html(net, k)
            except Exception as exc:  # graphviz missing, ...: say so in place of the picture
                self.diagram.value = (f'<div class="tl-error">The state diagram cannot be '
                                      f'drawn: {esc(error_text(exc))}</div>')
            return
        try:
            svg = self.ladder_svg(net, ladder_upto, ladder_key)
        except Exception as exc:
            svg = (f'<div class="tl-error">The ladder cannot be drawn: '
                   f'{esc(error_text(exc))}</div>')
        if svg != self.ladder.value:
            self.ladder.value = svg

    def _show_or_defer(self, what: str) -> None:
        if self.lazy and self.visible != what:
            self._stale.add(what)
        else:
            self._draw(what)

    def select(self, what: str) -> None:
        """The tab of picture ``what`` (``"ladder"`` or ``"diagram"``) is now the visible
        one: draw it if it missed a :meth:`show` meanwhile."""
        if what not in dict((w, t) for t, w in PICTURES):
            raise ValueError(f"what is 'ladder' or 'diagram', not {what!r}")
        self.visible = what
        if what in self._stale and self._moment is not None:
            self._draw(what)

    # -- the whole picture -------------------------------------------------------------------
    def show(self, net: Network, k: int, *, ladder_key: object, ladder_upto: int | None,
             total: int | None = None, earlier: Sequence[Step] = ()) -> None:
        """Show ``net`` after history step ``k`` (-1: before the first step).  With
        ``ladder_upto=None`` (the explorer) ``net`` is taken to be at step ``k`` now."""
        t0 = time.perf_counter()
        hist = net.history
        if k >= 0:
            step = hist[k]
            states = dict(step.states)
            now, timers = step.time, step.timers
        else:
            step = None
            states = {n: TcpState.CLOSED for n in self.names}
            now, timers = 0.0, ()
        prev = dict(hist[k - 1].states) if k >= 1 else {n: TcpState.CLOSED for n in self.names}
        self._moment = (net, k, ladder_key, ladder_upto)
        self._show_or_defer("diagram")
        t1 = time.perf_counter()
        socks = None
        if isinstance(net, SocketNetwork):
            socks = socket_names(hist)
            ss = self.ss_texts(net, k, ladder_key, live=ladder_upto is None)
            items = tuple(states.items()) if step is not None else ()
            for n in self.names:
                self.badges[n].value = host_badge_html(
                    n, socks.of_host(n, items), socks, self.colors[n], step=step,
                    ss=ss.get(n, ""))
        else:
            for n in self.names:
                self.badges[n].value = badge_html(n, states[n], prev.get(n), self.colors[n])
        self.clock.value = clock_html(net, now, timers, self.colors, socks)
        self.explain.value = explain_html(net, k, total, self.colors, style=self.style,
                                          earlier=earlier, names=self.names, socks=socks)
        t2 = time.perf_counter()
        self._show_or_defer("ladder")
        t3 = time.perf_counter()
        self.timings = {"diagram": t1 - t0, "text": t2 - t1, "ladder": t3 - t2,
                        "total": t3 - t0}


def pictures(view: View) -> tuple[widgets.Box, widgets.Checkbox]:
    """The ladder and the diagram on two tabs, each at the widget's full width in a frame
    that fits the screen (see :mod:`tcplab.ui.screen`), and the "whole picture" box that
    lifts the frames (the page scrolls instead), at the right end of the tabs' row (the
    toolbar keeps its room).  Returns the box holding both (the tabs are its first child)
    and the check box.  The tabs tell ``view`` which picture is visible
    (:meth:`View.select`)."""
    panels = {"ladder": widgets.Box([view.ladder]), "diagram": widgets.Box([view.diagram])}
    for name, panel in panels.items():
        panel.add_class("tl-panel")
        panel.add_class(f"t-panel-{name}")
        panel.layout = widgets.Layout(width="100%")
    tabs = widgets.Tab(children=[panels[what] for _, what in PICTURES],
                       titles=[title for title, _ in PICTURES], selected_index=0,
                       layout=widgets.Layout(width="100%"))
    tabs.add_class("t-pictures")
    tabs.add_class("tl-pictures")
    view.visible = PICTURES[0][1]
    tabs.observe(lambda ch: ch["new"] is not None and view.select(PICTURES[ch["new"]][1]),
                 "selected_index")
    whole = widgets.Checkbox(value=False, description="whole picture", indent=False,
                             tooltip="Show the whole picture (scroll the page to see it all)",
                             layout=widgets.Layout(width="auto", flex="0 0 auto"))
    whole.add_class("t-whole")

    def lift(on: bool) -> None:
        (tabs.add_class if on else tabs.remove_class)("tl-whole")

    whole.observe(lambda ch: lift(ch["new"]), "value")
    box = widgets.Box([tabs, whole], layout=widgets.Layout(width="100%"))
    box.add_class("tl-picbox")
    return box, whole


def show_diagram_tab(main: widgets.Box) -> None:
    """Select the state diagram's tab in the box :func:`pictures` made."""
    main.children[0].selected_index = [what for _, what in PICTURES].index("diagram")


class ShownLazily:
    """A widget with a :class:`View` (``view``): once shown in a notebook, only its visible
    picture is redrawn at each step (``View.lazy``)."""

    view: View

    def _repr_mimebundle_(self, **kwargs: object) -> object:
        self.view.lazy = True
        return super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]


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
