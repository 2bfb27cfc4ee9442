"""Stepping widgets: play any scenario step by step, or drive both endpoints and the wire.

Two widgets, both ipywidgets 8 (JupyterLab 4, Notebook 7, Voila)::

    from tcplab.widgets import stepper, explorer
    stepper("simultaneous-close")                 # Step, Back, Reset, Play, a slider
    stepper("handshake", predict=True)            # predict each next state first
    explorer("handshake")                         # make calls, deliver/drop/duplicate segments

Both show the same picture of the moment: the state diagram (:mod:`tcplab.diagram`) with
both endpoints highlighted and the edge just taken, the ladder diagram (:mod:`tcplab.ladder`)
up to this step, a state badge per endpoint (RFC name, ``ss``/``netstat`` names, SNMP code),
the step's explanation and RFC section, the segments just sent in RFC and tcpdump notation,
and the virtual clock with the running timers (a TIME-WAIT countdown).  Everything shown is
read from the model's step records; this module only lays them out.

**No flicker.**  The widget tree is built once.  A click only changes values: the diagram's
inline SVG in an ``HTML`` widget (so its ``node-*`` ids and ``current-<endpoint>`` classes stay
queryable in the browser), the ladder PNG in an ``Image``, texts, ``disabled`` and ``tooltip``.
Ladder pictures are cached (per step in a stepper, per action list in an explorer); a stepper
draws the next steps ahead while the kernel is idle.

**No tracebacks.**  Every callback catches errors and shows them, in plain words, in the
widget's ``t-error`` label.

**Stable CSS classes** for browser tests: ``t-step``, ``t-back``, ``t-reset``, ``t-play``,
``t-speed``, ``t-slider``, ``t-badge-<endpoint>``, ``t-diagram``, ``t-ladder``, ``t-explain``,
``t-clock``, ``t-predict`` (with ``t-predict-choice``, ``t-choice-<STATE>``,
``t-predict-skip``, ``t-predict-feedback``), ``t-call-<endpoint>-<call>``, ``t-wire``,
``t-wire-row`` (and ``t-pid-<id>``) with ``t-deliver``, ``t-drop``, ``t-dup``;
``t-next-timer``, ``t-next-event``, ``t-undo``, ``t-load``, ``t-restart``, ``t-error``.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections import OrderedDict
from typing import Callable, Iterable, Sequence

import ipywidgets as widgets

from ..exercises.checks import check_prediction, prediction_choices
from ..endpoint import CALLS, SOCKET_CALLS
from ..network import WIRE, Network, Packet
from ..scenarios import SCENARIOS, Scenario, get as get_scenario
from ..segment import Segment
from ..states import TcpState
from ..steps import Step, TcpError

__all__ = ["stepper", "explorer", "Stepper", "Explorer", "SPEEDS"]

#: Play speeds: label -> milliseconds between steps.
SPEEDS = (("½×", 1600), ("1×", 800), ("2×", 400), ("4×", 200))

_WIRE_COLOR = "#666666"
_LADDER_DPI = 96
_LADDER_CACHE = 256          # pictures kept per widget
_EXPECTED = (TcpError, ValueError, KeyError)

_TIMER_NAMES = {"time-wait": "TIME-WAIT (2·MSL)",
                "retransmission": "retransmission",
                "fin-wait-2": "FIN-WAIT-2 (tcp_fin_timeout)"}

_CSS = """<style>
.tl-w {font-family: var(--jp-ui-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
       font-size: 13px; color: var(--jp-content-font-color1, #1f2328); max-width: 1400px;}
.tl-w .widget-html-content {font-size: 13px; line-height: 1.4;}
.tl-w code, .tl-w .tl-mono {font-family: var(--jp-code-font-family, "DejaVu Sans Mono", monospace);
       font-size: 12px;}
.tl-w .tl-head-title {font-size: 17px; font-weight: 650; margin: 0 0 2px 0;}
.tl-w .tl-head-sum {color: var(--jp-content-font-color2, #444); max-width: 1100px;}
.tl-w .tl-head details {margin-top: 3px; color: var(--jp-content-font-color2, #444);}
.tl-w .tl-head summary {cursor: pointer; color: #0b63a8;}
.tl-w .tl-head pre {margin: 4px 0 0 0; padding: 6px 10px; background: #f6f8fa; color: #1f2328;
       border-radius: 6px; font-size: 12px; white-space: pre-wrap;}
.tl-w .tl-bar {align-items: center; gap: 6px; flex-wrap: wrap; padding: 6px 0;}
.tl-w .tl-bar .widget-button, .tl-w .tl-bar .jupyter-button {margin: 0;}
.tl-w .tl-badges {gap: 10px; align-items: stretch; flex-wrap: wrap; margin: 2px 0 8px 0;}
.tl-badge {border: 2px solid var(--c); border-radius: 10px; padding: 5px 12px 6px 12px;
       background: #fff; color: #1f2328; box-sizing: border-box; height: 100%;}
.tl-badge .tl-who {display: inline-block; background: var(--c); color: #fff;
       border-radius: 5px; padding: 0 7px; font-weight: 650; font-size: 12px;
       vertical-align: 2px; margin-right: 6px;}
.tl-badge .tl-state {font-size: 19px; font-weight: 750; color: var(--c); letter-spacing: .2px;}
.tl-badge .tl-was {color: #777; font-size: 12px; margin-left: 6px;}
.tl-badge .tl-names {color: #555; font-size: 11.5px; margin-top: 1px;}
.tl-badge .tl-names span {display: inline-block; white-space: nowrap;}
.tl-w .tl-badges > .widget-html {margin: 0;}
.tl-w .tl-badges .widget-html-content {width: 100%; height: 100%;}
.tl-badge .tl-state {white-space: nowrap;}
.tl-badge .tl-names b {color: #222; font-weight: 600;}
.tl-badge.tl-changed {box-shadow: 0 0 0 3px color-mix(in srgb, var(--c) 25%, transparent);}
.tl-clock {border: 1px solid #d0d7de; border-radius: 10px; padding: 5px 12px 6px 12px;
       background: #f6f8fa; color: #1f2328; box-sizing: border-box; height: 100%;}
.tl-clock .tl-now {font-size: 17px; font-weight: 700; font-variant-numeric: tabular-nums;}
.tl-clock .tl-now small {font-size: 12px; font-weight: 400; color: #666;}
.tl-timer {font-size: 12px; color: #333; margin-top: 2px; font-variant-numeric: tabular-nums;}
.tl-timer .tl-left {font-weight: 700;}
.tl-timer .tl-track {display: inline-block; width: 90px; height: 7px; background: #e3e6ea;
       border-radius: 4px; vertical-align: 1px; margin: 0 6px; overflow: hidden;}
.tl-timer .tl-fill {display: block; height: 100%; background: #e69f00;}
.tl-muted {color: #777;}
.tl-w .tl-main {gap: 12px; align-items: flex-start; width: 100%;}
.tl-w .tl-panel {border: 1px solid #e1e4e8; border-radius: 10px; padding: 4px;
       background: #fff; box-sizing: border-box; overflow: hidden;}
.tl-w .t-diagram svg {width: 100%; height: auto; display: block;}
.tl-w .t-ladder {display: block;}
.tl-explain {border-left: 4px solid var(--c); background: #f6f8fa; color: #1f2328;
       border-radius: 0 8px 8px 0;
       padding: 6px 12px 8px 12px;}
.tl-explain .tl-ex-head {font-weight: 600; margin-bottom: 2px;}
.tl-explain .tl-ex-head .tl-who {color: var(--c);}
.tl-explain .tl-ex-head .tl-stepno {color: #666; font-weight: 500;}
.tl-explain .tl-ex-text {margin: 2px 0;}
.tl-explain .tl-ex-rfc a {color: #0b63a8; text-decoration: none;}
.tl-explain .tl-ex-more {color: #555; font-size: 12px; margin-top: 3px;}
.tl-segs {border-collapse: collapse; margin-top: 4px;}
.tl-segs td {padding: 1px 10px 1px 0; vertical-align: top; white-space: nowrap;}
.tl-segs td.tl-dir {color: #555;}
.tl-w .tl-error {color: #82071e; background: #ffebe9; border: 1px solid #ff8182;
       border-radius: 8px; padding: 5px 10px;}
.tl-w .tl-predict {border: 1px dashed #8250df; border-radius: 10px; padding: 6px 12px;
       background: #fbf8ff; color: #1f2328; margin: 4px 0;}
.tl-w .tl-predict .tl-q {font-weight: 600;}
.tl-w .tl-choices {flex-wrap: wrap; gap: 4px;}
.tl-w .tl-choices .widget-button {width: auto; margin: 0;}
.tl-ok {color: #1a7f37; font-weight: 700;}
.tl-bad {color: #cf222e; font-weight: 700;}
.tl-fb {margin-top: 4px; padding: 2px 0 2px 8px; border-left: 3px solid #8250df;}
.tl-fb.tl-ok-box {border-left-color: #1a7f37;}
.tl-fb.tl-bad-box {border-left-color: #cf222e;}
.tl-w .tl-ep {border: 1px solid #d0d7de; border-radius: 10px; padding: 6px 10px; gap: 2px;
       background: #fff; color: #1f2328;}
.tl-w .tl-ep .tl-badge {margin-bottom: 4px;}
.tl-w .t-layout .widget-toggle-button {padding: 0 10px;}
.tl-w .tl-call-row {align-items: center; gap: 8px; margin: 1px 0;}
.tl-w .tl-call-row .widget-button {margin: 0; font-weight: 600; flex: 0 0 auto;}
.tl-w .tl-call-row .widget-text {margin: 0; flex: 0 0 auto;}
.tl-w .tl-call-row .widget-html {margin: 0; flex: 1 1 auto; min-width: 0;}
.tl-w .tl-sock .widget-html-content {white-space: nowrap; overflow: hidden;
       text-overflow: ellipsis; color: #444;}
.tl-w .tl-sock.tl-off .widget-html-content {color: #999;}
.tl-w .tl-sock .tl-why {font-style: italic; font-size: 12px;}
.tl-w .tl-wire {border: 1px solid #d0d7de; border-radius: 10px; padding: 6px 10px;
       background: #fff; color: #1f2328;
       gap: 10px; box-sizing: border-box; margin-bottom: 8px;}
.tl-w .t-wire-row {align-items: center; gap: 6px; border-top: 1px solid #eef0f2; padding: 2px 0;
       flex-wrap: wrap;}
.tl-w .t-wire-row .tl-pkt {flex: 1 1 300px; min-width: 0;}
.tl-w .t-wire-row .widget-button {width: auto; margin: 0; padding: 0 10px;}
.tl-w .tl-pkt .tl-arrow {font-weight: 700; color: var(--c); white-space: nowrap;}
.tl-w .tl-pkt code {white-space: nowrap;}
.tl-w .tl-pkt .tl-tag {font-size: 11px; background: #eef0f2; border-radius: 4px;
       padding: 0 4px; margin-left: 4px; color: #444;}
.tl-w .tl-wire-title {font-weight: 650;}
</style>"""


# ------------------------------------------------------------------------------- helpers ----

def _css(name: str) -> str:
    """A CSS-class-safe form of an endpoint or state name."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(name)) or "_"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _colors(names: Sequence[str]) -> dict[str, str]:
    """Endpoint colours: the diagram's (first endpoint blue, second vermillion)."""
    try:
        from ..render.diagram import PALETTE
    except Exception:  # pragma: no cover - diagram.py is part of the package
        PALETTE = ("#0072B2", "#D55E00")
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def _rfc_link(ref: str) -> str:
    """``RFC 9293 §3.10.7.4`` -> a link to that section (other text is escaped as is)."""
    def link(m: re.Match) -> str:
        return (f'<a href="https://www.rfc-editor.org/rfc/rfc9293#section-{m.group(1)}" '
                f'target="_blank" rel="noopener">§{m.group(1)}</a>')
    text = _e(ref)
    if "RFC 9293" in ref:
        text = re.sub(r"§(\d+(?:\.\d+)*)", link, text)
    return text


def _error_text(exc: BaseException) -> str:
    """The plain-words message of an exception (no traceback, no repr quotes)."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    text = str(exc)
    return text or type(exc).__name__


def _button(description: str, cls: str, tooltip: str = "", style: str = "",
            width: str | None = None) -> widgets.Button:
    b = widgets.Button(description=description, tooltip=tooltip, button_style=style,
                       layout=widgets.Layout(width=width) if width else widgets.Layout())
    b.add_class(cls)
    return b


def _html(cls: str | None = None, value: str = "", **layout: str) -> widgets.HTML:
    w = widgets.HTML(value=value, layout=widgets.Layout(**layout))
    if cls:
        w.add_class(cls)
    return w


def _frontend_event() -> bool:
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


def _scenario_of(source: object) -> tuple[Network, Scenario | None]:
    if isinstance(source, Network):
        return source, None
    if isinstance(source, (str, Scenario)):
        sc = get_scenario(source)
        return sc.run(), sc
    raise TypeError(f"expected a scenario name, a Scenario or a Network, not "
                    f"{type(source).__name__}")


def _fmt_t(t: float) -> str:
    return f"{t:.3f}"


def _fmt_left(sec: float) -> str:
    return f"{sec:.1f} s" if sec < 100 else f"{sec:.0f} s"


# ------------------------------------------------------------------------ the view --------

class _View:
    """The picture of one moment of a run: diagram, ladder, badges, clock, explanation.

    Built once; :meth:`show` only sets values.  Both widgets use it.
    """

    def __init__(self, names: Sequence[str], *, style: str = "rfc",
                 layers: "str | Iterable[str] | None" = None, dpi: int = _LADDER_DPI) -> None:
        self.names = tuple(names)
        self.colors = _colors(self.names)
        self.style = style
        self.layers = layers
        self.dpi = dpi
        self.diagram = _html("t-diagram", width="100%")
        self.ladder = widgets.Image(format="png", layout=widgets.Layout(
            width="100%", height="auto", object_fit="contain"))
        self.ladder.add_class("t-ladder")
        self.badges = {n: _html(f"t-badge-{_css(n)}", flex="1 1 260px", min_width="0")
                       for n in self.names}
        self.clock = _html("t-clock", flex="1 1 260px", min_width="0")
        self.explain = _html("t-explain", width="100%")
        self.diagram_view = None           # the last DiagramView (tests read current_nodes)
        self.timings: dict[str, float] = {}
        self.defer = True                  # see _frontend_event()
        self._ladder_cache: "OrderedDict[object, bytes]" = OrderedDict()
        self._shown_key: object = None
        self._pending: tuple[Network, int | None, object] | None = None
        self._pending_handle = None

    # -- pieces ------------------------------------------------------------------------------
    def ladder_png(self, net: Network, upto: int | None, key: object) -> bytes:
        """The ladder picture (cached under ``key``)."""
        png = self._ladder_cache.get(key)
        if png is not None:
            self._ladder_cache.move_to_end(key)
            return png
        from ..render.ladder_diagram import ladder_png
        png = ladder_png(net, upto=upto, style=self.style, dpi=self.dpi)
        self._ladder_cache[key] = png
        while len(self._ladder_cache) > _LADDER_CACHE:
            self._ladder_cache.popitem(last=False)
        return png

    def has_ladder(self, key: object) -> bool:
        return key in self._ladder_cache

    def _diagram_html(self, net: Network, k: int) -> str:
        from ..render.diagram import StateDiagram
        view = StateDiagram.for_network(net, k, layers=self.layers)
        self.diagram_view = view
        svg = view.svg
        # scale to the panel: keep the viewBox, let CSS size it
        svg = re.sub(r'(<svg\b[^>]*?)\swidth="[^"]*"\sheight="[^"]*"', r"\1", svg, count=1)
        return svg

    def badge_html(self, name: str, state: TcpState, before: TcpState | None) -> str:
        c = self.colors[name]
        changed = before is not None and before is not state
        was = (f'<span class="tl-was">was {before.rfc}</span>' if changed else "")
        title = _e(state.description)
        return (f'<div class="tl-badge{" tl-changed" if changed else ""}" style="--c:{c}" '
                f'title="{title}"><span class="tl-who">{_e(name)}</span>'
                f'<span class="tl-state">{_e(state.rfc)}</span>{was}'
                f'<div class="tl-names"><span>ss <b>{_e(state.ss)}</b> ·</span> '
                f'<span>netstat <b>{_e(state.netstat)}</b> ·</span> '
                f'<span>SNMP <b>{_e(state.mib_name)}({state.mib})</b></span></div></div>')

    def clock_html(self, net: Network, now: float,
                   timers: Sequence[tuple[str, str, float]]) -> str:
        rows = []
        for name, timer, deadline in timers:
            left = max(0.0, deadline - now)
            c = self.colors.get(name, _WIRE_COLOR)
            what = _TIMER_NAMES.get(timer, f"{timer} timer")
            bar = ""
            if timer == "time-wait":
                cfg = net.configs.get(name, net.config)
                total = cfg.time_wait_duration or 1.0
                pct = max(0.0, min(100.0, 100.0 * left / total))
                bar = (f'<span class="tl-track" title="{pct:.0f}% of '
                       f'{total:g} s left"><span class="tl-fill" style="width:{pct:.1f}%">'
                       f'</span></span>')
            rows.append(f'<div class="tl-timer" title="fires at t = {deadline:g} s">'
                        f'<b style="color:{c}">{_e(name)}</b> {_e(what)}{bar} '
                        f'<span class="tl-left">{_fmt_left(left)}</span> left</div>')
        if not rows:
            rows.append('<div class="tl-timer tl-muted">no timer running</div>')
        return (f'<div class="tl-clock"><div class="tl-now">t = {_fmt_t(now)} s '
                f'<small>virtual clock</small></div>{"".join(rows)}</div>')

    def _seg_rows(self, net: Network, step: Step) -> str:
        packets = {p.id: p for p in net.in_flight + net.lost}
        packets.update({p.id: p for p, _ in net.delivered})
        rows = []
        if step.received is not None:
            src = net.peer(step.actor) if step.actor in net.names else "?"
            rows.append(self._seg_row("received", src, step.actor, step.received,
                                      step.packet))
        if step.actor != WIRE:
            for pid, seg in zip(step.packets, step.sent):
                rows.append(self._seg_row("sent", step.actor, net.peer(step.actor), seg, pid))
        else:
            for pid in (step.packet, *step.packets):
                p = packets.get(pid) if pid is not None else None
                if p is not None:
                    verb = "copy" if p.copy_of is not None else "packet"
                    rows.append(self._seg_row(verb, p.src, p.dst, p.segment, p.id))
        if not rows:
            return ""
        return f'<table class="tl-segs">{"".join(rows)}</table>'

    def _seg_row(self, verb: str, src: str, dst: str, seg: Segment, pid: int | None) -> str:
        c = self.colors.get(src, _WIRE_COLOR)
        first, second = ((seg.rfc(), seg.tcpdump()) if self.style != "tcpdump"
                         else (seg.tcpdump(), seg.rfc()))
        num = f"#{pid} " if pid is not None else ""
        return (f'<tr><td class="tl-dir">{verb}</td><td class="tl-dir">{num}'
                f'<b style="color:{c}">{_e(src)} → {_e(dst)}</b></td>'
                f'<td><code>{_e(first)}</code></td><td><code class="tl-muted">{_e(second)}'
                f'</code></td></tr>')

    def explain_html(self, net: Network, k: int, total: int | None,
                     earlier: Sequence[Step] = ()) -> str:
        hist = net.history
        if k < 0:
            c = "#888"
            head = (f'<span class="tl-stepno">Step 0{f" of {total}" if total else ""}</span>'
                    f" · t = {_fmt_t(0.0)} s")
            text = ("Before the first step: " + " and ".join(
                f"the {n} is CLOSED" for n in self.names)
                + ". Nothing is on the wire and no timer runs.")
            return (f'<div class="tl-explain" style="--c:{c}"><div class="tl-ex-head">{head}'
                    f'</div><div class="tl-ex-text">{_e(text)}</div></div>')
        step = hist[k]
        c = self.colors.get(step.actor, _WIRE_COLOR)
        if step.actor == WIRE:
            move = f"the wire: {_e(step.event)}"
        elif step.changed_state:
            move = f"{_e(step.before.rfc)} → {_e(step.after.rfc)}"  # type: ignore[union-attr]
        else:
            move = f"stays {_e(step.after.rfc)}" if step.after else ""  # type: ignore[union-attr]
        event = step.event.split("  ")[0]
        of = f" of {total}" if total else ""
        head = (f'<span class="tl-stepno">Step {k + 1}{of}</span> · t = {_fmt_t(step.time)} s · '
                f'<span class="tl-who">{_e(step.actor)}</span>: '
                + (f"<code>{_e(event)}</code> · " if step.actor != WIRE else "") + move)
        extra = ""
        if step.delivered:
            extra += (f'<div class="tl-ex-more">delivered to the application: '
                      f'<code>{_e(step.delivered.decode("utf-8", "replace"))}</code></div>')
        if earlier:
            lines = "; ".join(_e(s.summary().strip()) for s in earlier)
            extra += f'<div class="tl-ex-more">before that: {lines}</div>'
        rfc = f'<div class="tl-ex-rfc">{_rfc_link(step.rfc)}</div>' if step.rfc else ""
        return (f'<div class="tl-explain" style="--c:{c}"><div class="tl-ex-head">{head}</div>'
                f'<div class="tl-ex-text">{_e(step.explanation)}</div>{rfc}'
                f'{self._seg_rows(net, step)}{extra}</div>')

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
            step = None
            states = {n: TcpState.CLOSED for n in self.names}
            now, timers = 0.0, ()
        prev = dict(hist[k - 1].states) if k >= 1 else {n: TcpState.CLOSED for n in self.names}
        try:
            self.diagram.value = self._diagram_html(net, k)
        except Exception as exc:  # graphviz missing, ...: say so in place of the picture
            self.diagram.value = (f'<div class="tl-error">The state diagram cannot be drawn: '
                                  f'{_e(_error_text(exc))}</div>')
        t1 = time.perf_counter()
        for n in self.names:
            self.badges[n].value = self.badge_html(n, states[n], prev.get(n))
        self.clock.value = self.clock_html(net, now, timers)
        self.explain.value = self.explain_html(net, k, total, earlier)
        t2 = time.perf_counter()
        self._shown_key = ladder_key
        deferred = False
        if not self.has_ladder(ladder_key) and self.defer and _frontend_event():
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
                                   f'{_e(_error_text(exc))}</div>')
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


def _pictures(view: _View) -> tuple[widgets.HBox, widgets.ToggleButtons]:
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


class _Guarded:
    """Callbacks that never let a traceback reach the learner: errors go to ``error``."""

    error: widgets.HTML

    def _safe(self, fn: Callable, *args: object) -> None:
        self.error.layout.display = "none"
        self.error.value = ""
        try:
            fn(*args)
        except _EXPECTED as exc:
            self._show_error(_error_text(exc))
        except Exception as exc:  # never a traceback in front of a learner
            self._show_error(f"Something went wrong inside tcplab ({type(exc).__name__}: "
                             f"{_error_text(exc)}). Please tell your teacher.")

    def _show_error(self, text: str) -> None:
        self.error.value = f'<div class="tl-error">⚠ {_e(text)}</div>'
        self.error.layout.display = ""


# ------------------------------------------------------------------------- the stepper ----

class Stepper(_Guarded, widgets.VBox):
    """A recorded run, shown one step at a time (see :func:`stepper`).

    ``index`` is the number of steps shown: 0 is before the first step, ``len(history)``
    after the last.  :meth:`step`, :meth:`back`, :meth:`goto` and :meth:`reset` move it, as
    do the buttons (``buttons["step"|"back"|"reset"|"play"]``) and the ``slider``.
    """

    def __init__(self, source: "str | Scenario | Network", *, predict: bool = False,
                 style: str = "rfc", layers: "str | Iterable[str] | None" = None,
                 dpi: int = _LADDER_DPI, prefetch: bool = True) -> None:
        net, sc = _scenario_of(source)
        if sc is None:
            net = net.replay()                   # a private copy: the run cannot change
        _check_style(style)
        self.net = net
        self.scenario = sc
        self.history: list[Step] = list(net.history)
        self.n = len(self.history)
        self.predict_mode = bool(predict)
        self.prefetch = prefetch
        self._prefetch_handle = None
        self.view = _View(net.names, style=style, layers=layers, dpi=dpi)
        self.score = [0, 0]                      # right, asked
        self.last_prediction: tuple[bool, str] | None = None

        # controls
        b = self.buttons = {
            "reset": _button("↺ Reset", "t-reset", "Back to the start (step 0)", width="88px"),
            "back": _button("◀ Back", "t-back", "One step back", width="84px"),
            "step": _button("Step ▶", "t-step", "Show the next step", "primary", width="88px"),
            "play": _button("▶ Play", "t-play", "Play the steps one after another",
                            width="88px"),
        }
        b["reset"].on_click(lambda _: self._safe(self.reset))
        b["back"].on_click(lambda _: self._safe(self.back))
        b["step"].on_click(lambda _: self._safe(self.step))
        b["play"].on_click(lambda _: self._safe(self.toggle_play))
        self.slider = widgets.IntSlider(value=0, min=0, max=self.n, step=1, description="step",
                                        continuous_update=False, readout=True,
                                        layout=widgets.Layout(flex="1 1 240px",
                                                              min_width="200px"),
                                        style={"description_width": "34px"})
        self.slider.add_class("t-slider")
        self.speed = widgets.Dropdown(options=list(SPEEDS), value=800, description="speed",
                                      layout=widgets.Layout(width="120px"),
                                      style={"description_width": "40px"})
        self.speed.add_class("t-speed")
        # The frontend's Play widget ticks even while the kernel is busy; it is hidden and
        # driven by our Play button, and linked to the slider in the browser.
        self.play = widgets.Play(value=0, min=0, max=self.n, interval=800, show_repeat=False,
                                 layout=widgets.Layout(display="none"))
        self._link = widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.speed.observe(lambda ch: setattr(self.play, "interval", int(ch["new"])), "value")
        self.error = _html("t-error")
        self.error.layout.display = "none"

        self.main, self.layout_toggle = _pictures(self.view)
        bar = widgets.HBox([b["reset"], b["back"], b["step"], b["play"], self.speed,
                            self.slider, self.layout_toggle, self.play])
        bar.add_class("tl-bar")

        # predict-first
        self.question = _html("t-predict-question")
        self.choice_buttons: dict[TcpState, widgets.Button] = {}
        for s in TcpState:
            cb = _button(s.rfc, "t-predict-choice", f"Predict: {s.rfc}")
            cb.add_class(f"t-choice-{s.name}")
            cb.layout.display = "none"
            cb.on_click(lambda _, s=s: self._safe(self.predict, s))
            self.choice_buttons[s] = cb
        self.skip = _button("Show me", "t-predict-skip", "Reveal the step without predicting")
        self.skip.on_click(lambda _: self._safe(self.step))
        choices = widgets.HBox([*self.choice_buttons.values(), self.skip])
        choices.add_class("tl-choices")
        self.feedback = _html("t-predict-feedback")
        self.predict_box = widgets.VBox([self.question, choices, self.feedback])
        self.predict_box.add_class("t-predict")
        self.predict_box.add_class("tl-predict")
        if not self.predict_mode:
            self.predict_box.layout.display = "none"

        v = self.view
        badges = widgets.HBox([*v.badges.values(), v.clock])
        badges.add_class("tl-badges")
        head = _html("tl-head", _head_html(sc, net))
        super().__init__([_html(None, _CSS), head, bar, self.error, badges, v.explain,
                          self.predict_box, self.main],
                         layout=widgets.Layout(width="100%"))
        self.add_class("tl-w")
        self.add_class("t-stepper")
        self.slider.observe(self._on_index, "value")
        self.play.observe(self._on_playing, "playing")
        self._render()

    # -- the Python API ----------------------------------------------------------------------
    @property
    def index(self) -> int:
        """Steps shown so far: 0 (before the first) .. ``len(history)``."""
        return self.slider.value

    @property
    def current_step(self) -> Step | None:
        """The step shown last (``None`` at index 0)."""
        return self.history[self.index - 1] if self.index else None

    @property
    def next_step(self) -> Step | None:
        return self.history[self.index] if self.index < self.n else None

    def goto(self, k: int) -> None:
        """Show the run after its first ``k`` steps (0 .. len(history))."""
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= self.n:
            raise ValueError(f"goto() takes a step number 0..{self.n}, got {k!r}")
        self.slider.value = k

    def step(self) -> None:
        """Reveal the next step (at the end: nothing happens)."""
        if self.index < self.n:
            self.slider.value = self.index + 1

    def back(self) -> None:
        if self.index > 0:
            self.slider.value = self.index - 1

    def reset(self) -> None:
        self.play.playing = False
        self.slider.value = 0

    def toggle_play(self) -> None:
        """Start or pause playing (the browser advances the slider; see ``speed``)."""
        if self.predict_mode:
            raise ValueError("Play is off in predict-first mode: predict each step instead.")
        if not self.play.playing and self.index >= self.n:
            self.slider.value = 0
        self.play.playing = not self.play.playing

    def predict(self, answer: object) -> tuple[bool, str]:
        """Predict the state after the next step (as a learner's click does), then reveal it.

        Returns ``(ok, message)`` from :func:`tcplab.checks.check_prediction`.
        """
        nxt = self.next_step
        if nxt is None:
            raise ValueError("There is no next step: the run is over. Press Reset.")
        ok, msg = check_prediction(nxt, answer)
        self.score[1] += 1
        self.score[0] += ok
        self.last_prediction = (ok, msg)
        cls, mark = ("tl-ok", "✔ Right.") if ok else ("tl-bad", "✘ Not quite.")
        text = msg.split(":", 1)[1].strip() if ":" in msg else msg
        text = text[:1].upper() + text[1:]
        self.feedback.value = (f'<div class="tl-fb {cls}-box">Step {nxt.index + 1}: '
                               f'<span class="{cls}">{mark}</span> {_e(text)} '
                               f'<span class="tl-muted">· score {self.score[0]} of '
                               f'{self.score[1]}</span></div>')
        self.step()
        return ok, msg

    # -- callbacks ---------------------------------------------------------------------------
    def _on_index(self, change: dict) -> None:
        self._safe(self._render)

    def _on_playing(self, change: dict) -> None:
        self.buttons["play"].description = "❚❚ Pause" if change["new"] else "▶ Play"

    # -- drawing -----------------------------------------------------------------------------
    def _render(self) -> None:
        k = self.index
        self.view.show(self.net, k - 1, ladder_key=k, ladder_upto=k - 1, total=self.n)
        b = self.buttons
        b["back"].disabled = b["reset"].disabled = k == 0
        at_end = k >= self.n
        b["step"].disabled = at_end
        b["step"].tooltip = "This is the last step" if at_end else "Show the next step"
        if self.predict_mode:
            self._pose_question()
            b["play"].disabled = True
            b["play"].tooltip = "Play is off in predict-first mode"
        if self.play.playing and at_end:
            self.play.playing = False
        self._schedule_prefetch()

    def _pose_question(self) -> None:
        nxt = self.next_step
        choices = prediction_choices(nxt) if nxt is not None else []
        for s, cb in self.choice_buttons.items():
            cb.layout.display = "" if s in choices else "none"
        self.skip.layout.display = "" if nxt is not None else "none"
        step_btn = self.buttons["step"]
        if nxt is None:
            self.question.value = '<div class="tl-q">The run is over. Press Reset to try again.</div>'
            return
        if not choices:        # a wire step changes no state: nothing to predict
            self.question.value = (f'<div class="tl-q">Next, on the wire: {_e(nxt.explanation)} '
                                   f'No state changes here: press Step.</div>')
            step_btn.disabled = False
            return
        self.question.value = (f'<div class="tl-q">Predict: next, {_e(_describe(nxt))}. '
                               f'Which state will the {_e(nxt.actor)} be in?</div>')
        step_btn.disabled = True
        step_btn.tooltip = "Make your prediction first (or press Show me)"

    # -- drawing ahead while the kernel is idle ----------------------------------------------
    def _schedule_prefetch(self) -> None:
        if not self.prefetch or self._prefetch_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return                      # plain Python (tests, scripts): nothing to overlap
        self._prefetch_handle = loop.call_later(0.05, self._prefetch_one)

    def _prefetch_one(self) -> None:
        self._prefetch_handle = None
        k = self.index
        order = [*range(k + 1, self.n + 1), *range(k - 1, -1, -1)]
        todo = next((j for j in order if not self.view.has_ladder(j)), None)
        if todo is None:
            return
        try:
            self.view.ladder_png(self.net, todo - 1, todo)
        except Exception:
            return
        self._schedule_prefetch()


def _check_style(style: str) -> None:
    if style not in ("rfc", "tcpdump", "short"):
        raise ValueError(f"style is 'rfc', 'tcpdump' or 'short', not {style!r}")


def _describe(step: Step) -> str:
    """'the server receives SYN', 'the client calls close()' (tcplab.exercises.questions)."""
    if step.kind == "timer":
        return f"a timer of the {step.actor} fires ({step.event})"
    from ..exercises.questions import describe_step
    return describe_step(step)


def _head_html(sc: Scenario | None, net: Network) -> str:
    if sc is None:
        return (f'<div class="tl-head-title">A recorded run</div><div class="tl-head-sum">'
                f'{len(net.history)} steps between {_e(" and ".join(net.names))}.</div>')
    code = ""
    if sc.socket_calls:
        code = (f'<details><summary>The socket API calls</summary><pre>'
                f'{_e(sc.socket_code())}</pre></details>')
    ref = f' <span class="tl-muted">({_rfc_link(sc.rfc)})</span>' if sc.rfc else ""
    return (f'<div class="tl-head-title">{_e(sc.title)}</div>'
            f'<div class="tl-head-sum">{_e(sc.summary)}{ref}</div>{code}')


def stepper(scenario_or_network: "str | Scenario | Network", *, predict: bool = False,
            style: str = "rfc", **kwargs: object) -> Stepper:
    """A widget that plays a named scenario (or a recorded :class:`Network`) step by step.

    Step forward, Step back, Reset, Play/Pause with a speed control and a slider.  With
    ``predict=True`` the learner first picks the state the next step leads to and is told
    whether it was right (:func:`tcplab.checks.check_prediction`).  ``style`` names the
    segment notation of the ladder: ``"rfc"``, ``"tcpdump"`` or ``"short"``.
    """
    return Stepper(scenario_or_network, predict=predict, style=style, **kwargs)  # type: ignore


# ------------------------------------------------------------------------- the explorer ----

_EMPTY = ""
_GIVEN = "(given)"


class Explorer(_Guarded, widgets.VBox):
    """Drive both endpoints and the wire by hand (see :func:`explorer`).

    ``net`` is the live network.  ``call_buttons[endpoint][call]``, ``wire_rows`` (packet id
    -> row), ``undo_button``, ``next_timer_button``, ``next_event_button``, ``load`` (the
    scenario dropdown) and ``error`` are the parts a test or a notebook may drive.
    """

    def __init__(self, start: "None | str | Scenario | Network" = None, *, style: str = "rfc",
                 layers: "str | Iterable[str] | None" = None, dpi: int = _LADDER_DPI,
                 send_data: str = "hello") -> None:
        _check_style(style)
        if start is None:
            net, sc = Network(), None
        else:
            net, sc = _scenario_of(start)
        self.net = net
        self.names = net.names
        self._given = net.replay() if start is not None and sc is None else None
        self.view = _View(net.names, style=style, layers=layers, dpi=dpi)
        self.colors = self.view.colors
        self._marks: list[int] = []      # history length before each action (for Undo)
        self._earlier: list[Step] = []

        # scenario loader
        options = [("(empty: both CLOSED)", _EMPTY)] + [
            (f"{s.name}: {s.title}", s.name) for s in SCENARIOS.values()]
        if self._given is not None:
            options.insert(0, ("(the run you passed in)", _GIVEN))
        first = sc.name if sc else _GIVEN if self._given is not None else _EMPTY
        self.load = widgets.Dropdown(options=options, value=first,
                                     description="start from",
                                     layout=widgets.Layout(width="440px"),
                                     style={"description_width": "72px"})
        self.load.add_class("t-load")
        self.load.observe(lambda ch: self._safe(self.load_scenario, ch["new"]), "value")
        self.restart_button = _button("↺ Restart", "t-restart",
                                      "Start again from the chosen starting point")
        self.restart_button.on_click(lambda _: self._safe(self.load_scenario, self.load.value))
        self.undo_button = _button("↶ Undo", "t-undo", "Take back the last action")
        self.undo_button.on_click(lambda _: self._safe(self.undo))
        self.next_timer_button = _button("Next timer", "t-next-timer", "")
        self.next_timer_button.on_click(lambda _: self._safe(self.fire_next_timer))
        self.next_event_button = _button("Next event", "t-next-event",
                                         "Let the network run until the next thing happens "
                                         "on its own (a segment arrives or a timer fires)")
        self.next_event_button.on_click(lambda _: self._safe(self.next_event))
        self.main, self.layout_toggle = _pictures(self.view)
        bar = widgets.HBox([self.load, self.restart_button, self.undo_button,
                            self.next_event_button, self.next_timer_button,
                            self.layout_toggle])
        bar.add_class("tl-bar")

        # endpoints
        self.call_buttons: dict[str, dict[str, widgets.Button]] = {}
        self.call_notes: dict[str, dict[str, widgets.HTML]] = {}
        self.send_data: dict[str, widgets.Text] = {}
        cards = []
        for name in self.names:
            rows = []
            self.call_buttons[name] = {}
            self.call_notes[name] = {}
            for call in CALLS:
                btn = _button(f"{call}()", f"t-call-{_css(name)}-{call}", width="96px")
                btn.on_click(lambda _, n=name, c=call: self._safe(self.call, n, c))
                note = _html("tl-sock")
                self.call_buttons[name][call] = btn
                self.call_notes[name][call] = note
                parts: list[widgets.Widget] = [btn]
                if call == "send":
                    data = widgets.Text(value=send_data, placeholder="data",
                                        layout=widgets.Layout(width="110px"))
                    data.add_class(f"t-send-data-{_css(name)}")
                    self.send_data[name] = data
                    parts.append(data)
                parts.append(note)
                row = widgets.HBox(parts)
                row.add_class("tl-call-row")
                rows.append(row)
            self.view.badges[name].layout = widgets.Layout(flex="0 0 auto", width="100%")
            card = widgets.VBox([self.view.badges[name], *rows],
                                layout=widgets.Layout(flex="1 1 0", min_width="0"))
            card.add_class("tl-ep")
            card.add_class(f"t-endpoint-{_css(name)}")
            cards.append(card)

        # the wire
        self.wire_title = _html("tl-wire-title")
        self.wire_rows: dict[int, widgets.HBox] = {}
        self._wire_labels: dict[int, widgets.HTML] = {}
        self.wire_list = widgets.VBox([])
        self.view.clock.layout = widgets.Layout(flex="1 1 250px", max_width="360px")
        wire_left = widgets.VBox([self.wire_title, self.wire_list],
                                 layout=widgets.Layout(flex="100 1 480px", min_width="0"))
        self.wire = widgets.HBox([wire_left, self.view.clock],
                                 layout=widgets.Layout(width="100%", flex_flow="row wrap"))
        self.wire.add_class("t-wire")
        self.wire.add_class("tl-wire")
        top = widgets.HBox(cards)
        top.add_class("tl-badges")

        self.error = _html("t-error")
        self.error.layout.display = "none"

        v = self.view
        head = _html("tl-head", '<div class="tl-head-title">Explore: you are both '
                     'applications and the network</div><div class="tl-head-sum">Make the '
                     'user calls on either side, then decide what the wire does with each '
                     'segment: deliver it, drop it, duplicate it. Deliver two FINs crosswise '
                     'to see a simultaneous close.</div>')
        super().__init__([_html(None, _CSS), head, bar, self.error, top, self.wire, v.explain,
                          self.main],
                         layout=widgets.Layout(width="100%"))
        self.add_class("tl-w")
        self.add_class("t-explorer")
        self._refresh()

    # -- the Python API (each also a button) -------------------------------------------------
    def call(self, name: str, call: str, *args: object) -> Step:
        """User call ``call`` on endpoint ``name`` (send takes the text box's data)."""
        if call == "send" and not args:
            args = (self.send_data[name].value,)
        return self._act(lambda: self.net.call(name, call, *args))

    def deliver(self, pid: int) -> Step:
        self._on_wire(pid)
        return self._act(lambda: self.net.deliver(pid))

    def drop(self, pid: int) -> Step:
        self._on_wire(pid)
        return self._act(lambda: self.net.drop(pid))

    def duplicate(self, pid: int) -> Step:
        self._on_wire(pid)
        return self._act(lambda: self.net.duplicate(pid))

    def _on_wire(self, pid: int) -> None:
        """Say in plain words where a segment went if it is no longer in flight."""
        if any(p.id == pid for p in self.net.in_flight):
            return
        for p, t in self.net.delivered:
            if p.id == pid:
                raise ValueError(f"Segment #{pid} is not on the wire any more: it reached "
                                 f"the {p.dst} at t = {t:g} s.")
        for p in self.net.lost:
            if p.id == pid:
                raise ValueError(f"Segment #{pid} is not on the wire any more: it was lost.")
        self.net.packet(pid)            # the model's own message (KeyError)

    def fire_next_timer(self) -> Step:
        """Advance the clock to the earliest running timer and fire it."""
        timers = self.net.timers()
        if not timers:
            raise ValueError("No timer is running, so there is nothing to wait for.")
        name, timer, _ = timers[0]
        return self._act(lambda: self.net.fire_timer(name, timer))

    def next_event(self) -> Step:
        """Let the next event happen on its own (what ``Network.step()`` does)."""
        if self.net.next_event() is None:
            raise ValueError("Nothing will happen on its own: nothing is in flight and no "
                             "timer runs. Make a call.")
        return self._act(self.net.step)  # type: ignore[arg-type]

    def undo(self) -> None:
        """Take back the last action (or, after loading a scenario, its last step)."""
        n = len(self.net.history)
        if n == 0:
            raise ValueError("Nothing to undo: this is the start.")
        target = self._marks.pop() if self._marks else n - 1
        self.net.rewind(target)
        self._earlier = []
        self._refresh()

    def load_scenario(self, name: "str | Scenario | None") -> None:
        """Start again from a named scenario's end ("" or None: two CLOSED endpoints)."""
        if not name:
            net = Network(self.names)
        elif name == _GIVEN and self._given is not None:
            net = self._given.replay()
        else:
            net, _ = _scenario_of(name)
            if net.names != self.names:
                raise ValueError(f"scenario {name!r} has endpoints {net.names}, this "
                                 f"explorer {self.names}")
        self.net.__dict__.update(net.__dict__)     # keep the same object for the caller
        self._marks = []
        self._earlier = []
        self._refresh()

    # -- machinery ---------------------------------------------------------------------------
    def _act(self, fn: Callable[[], Step]) -> Step:
        mark = len(self.net.history)
        try:
            step = fn()
        finally:
            if len(self.net.history) > mark:
                self._marks.append(mark)
                self._earlier = self.net.history[mark:-1]
            self._refresh()
        return step

    def _refresh(self) -> None:
        net = self.net
        # endpoints: same buttons, new disabled/tooltip
        for name in self.names:
            ep = net[name]
            allowed = ep.allowed_calls()
            for call, btn in self.call_buttons[name].items():
                why = allowed.get(call)
                sock = SOCKET_CALLS.get(call, "")
                btn.disabled = why is not None
                if why is None:
                    btn.tooltip = f"{name}: {call}() — sockets: {sock}"
                    btn.style.button_color = self.colors[name]
                    btn.style.text_color = "white"
                    note = f"<code>{_e(sock)}</code>"
                    self.call_notes[name][call].remove_class("tl-off")
                else:
                    btn.tooltip = f"Not possible in {ep.state.rfc}: {why}"
                    btn.style.button_color = None
                    btn.style.text_color = None
                    note = f'<code>{_e(sock)}</code> <span class="tl-why">· {_e(why)}</span>'
                    self.call_notes[name][call].add_class("tl-off")
                self.call_notes[name][call].value = note
            if name in self.send_data:
                self.send_data[name].disabled = allowed.get("send") is not None
        self._refresh_wire()
        timers = net.timers()
        if timers:
            n, t, d = timers[0]
            what = _TIMER_NAMES.get(t, f"{t} timer")
            self.next_timer_button.disabled = False
            self.next_timer_button.tooltip = (f"Advance the clock to t = {d:g} s and fire the "
                                              f"{n}'s {what} timer")
        else:
            self.next_timer_button.disabled = True
            self.next_timer_button.tooltip = "No timer is running"
        self.next_event_button.disabled = net.next_event() is None
        self.undo_button.disabled = not net.history
        k = len(net.history) - 1
        self.view.show(net, k, ladder_key=(tuple(net.actions), round(net.now, 9)),
                       ladder_upto=None, earlier=self._earlier)
        if k < 0:
            self.view.explain.value = self.view.explain.value.replace(
                "Before the first step", "Nothing has happened yet")

    def _refresh_wire(self) -> None:
        net = self.net
        ids = [p.id for p in net.in_flight]
        for pid in list(self.wire_rows):
            if pid not in ids:
                del self.wire_rows[pid]
                del self._wire_labels[pid]
        for p in net.in_flight:
            if p.id not in self.wire_rows:
                self._new_row(p)
            self._wire_labels[p.id].value = self._packet_html(p)
            # after an Undo the same id may name another segment: keep the tooltip true
            self.wire_rows[p.id].children[1].tooltip = f"Deliver #{p.id} to the {p.dst} now"
        rows = tuple(self.wire_rows[i] for i in ids)
        if self.wire_list.children != rows:
            self.wire_list.children = rows
        n = len(ids)
        self.wire_title.value = (f'<span class="tl-wire-title">The wire</span> '
                                 f'<span class="tl-muted">· {n} segment{"s" if n != 1 else ""} '
                                 f'in flight</span>' if n else
                                 '<span class="tl-wire-title">The wire</span> '
                                 '<span class="tl-muted">· nothing in flight</span>')

    def _new_row(self, p: Packet) -> None:
        label = _html("tl-pkt", flex="1 1 300px", min_width="0")
        d = _button("Deliver", "t-deliver", f"Deliver #{p.id} to the {p.dst} now", "success",
                    width="76px")
        x = _button("Drop", "t-drop", f"Lose #{p.id}: it never arrives", "danger", width="60px")
        c = _button("Duplicate", "t-dup", f"The network makes a copy of #{p.id}", width="88px")
        for btn in (d, x, c):
            btn.layout.flex = "0 0 auto"
        d.on_click(lambda _, i=p.id: self._safe(self.deliver, i))
        x.on_click(lambda _, i=p.id: self._safe(self.drop, i))
        c.on_click(lambda _, i=p.id: self._safe(self.duplicate, i))
        row = widgets.HBox([label, d, x, c])
        row.add_class("t-wire-row")
        row.add_class(f"t-pid-{p.id}")
        self.wire_rows[p.id] = row
        self._wire_labels[p.id] = label

    def _packet_html(self, p: Packet) -> str:
        c = self.colors.get(p.src, _WIRE_COLOR)
        seg = p.segment
        first, second = ((seg.rfc(), seg.tcpdump()) if self.view.style != "tcpdump"
                         else (seg.tcpdump(), seg.rfc()))
        tags = ""
        if p.copy_of is not None:
            tags += f'<span class="tl-tag">copy of #{p.copy_of}</span>'
        if p.retransmission:
            tags += '<span class="tl-tag">retransmission</span>'
        late = p.arrive_at < self.net.now
        due = (f"due {p.arrive_at:g} s" + (" (late: held back)" if late else ""))
        return (f'<div style="--c:{c}"><b>#{p.id}</b> <span class="tl-arrow">{_e(p.src)} → '
                f'{_e(p.dst)}</span> <code>{_e(first)}</code> '
                f'<code class="tl-muted">{_e(second)}</code>{tags} <span class="tl-muted">· '
                f'sent {p.sent_at:g} s, {due}</span></div>')


def explorer(start: "None | str | Scenario | Network" = None, **kwargs: object) -> Explorer:
    """A widget to drive both endpoints and the wire by hand.

    ``start``: ``None`` (two CLOSED endpoints), a scenario name (its run is the starting
    point; Undo steps back through it) or a :class:`Network` (used in place).  Per endpoint,
    a button per user call with its socket-API name; calls not possible now are disabled and
    say why on hover.  The wire lists the segments in flight, each with Deliver / Drop /
    Duplicate.  "Next timer" advances the clock to the next timer; Undo takes an action back.
    """
    return Explorer(start, **kwargs)  # type: ignore[arg-type]
