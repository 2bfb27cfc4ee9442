"""What the ladder draws, as marks and a display list: pure, no matplotlib.

Builds on :mod:`.layout` (where everything goes), :mod:`.geometry` and :mod:`..theme`.
:func:`draw_marks` turns the layout of a run and a step ``k`` into a :class:`Drawing`: a
list of :class:`Mark` records (what was drawn: every packet's arrow with its status and
line style, states, calls, timers, TIME-WAIT, breaks, "now") -- which tests check -- and
an :class:`Ops` display list (lines, polygons, markers and texts in paper inches) which
:mod:`.mpl` hands to matplotlib.

>>> from tcplab import scenarios
>>> from .history import collect
>>> from .layout import LadderLayout
>>> run = collect(scenarios.get("lost-final-ack").run(), None, None, None)
>>> drawn = draw_marks(LadderLayout(run), run, k=len(run.history) - 1, prefix=False)
>>> [(m.status, m.line, m.tags) for m in drawn.segments][-3:]
[('lost', 'solid', ()), ('delivered', 'dashed', ('retx',)), ('delivered', 'solid', ())]
>>> [m.text for m in drawn.of("lost")], len(drawn.ops.texts) > 10
(['lost'], True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..theme import COLORS, STATE_FILL
from ...states import TcpState
from .geometry import (LABEL_PT, LINE_H, MONO, SANS, SIDE_PT, STATE_PT, arrowhead, fmt_gap,
                       fmt_seconds, mono_w, sans_w, side_of)
from .history import Run
from .layout import LadderLayout

__all__ = ["Mark", "Drawing", "Ops", "draw_marks"]

#: A reference to an item of the display list: ("text", i) or ("stroke", i).
Ref = tuple[str, int]


@dataclass
class Mark:
    """One thing the ladder drew.

    ``kind`` is ``segment`` (one per packet: ``packet``, ``actor`` = sender, ``peer``,
    ``t0``/``t1`` = send time and the time its line ends -- arrival, loss or now --,
    ``xy0``/``xy1`` its ends in data coordinates, ``status`` ``delivered``/``lost``/
    ``in-flight``, ``tags`` such as ``retx``, ``dup #3``, ``delayed``, ``injected`` (a
    hand-made segment put on the wire by ``Network.inject()``), ``line`` solid /
    dashed (retransmission) / dashdot (duplicate) / dotted (in flight)), ``lost`` (the cross),
    ``state`` (``text`` = the state entered), ``call``, ``timer``, ``error``,
    ``time-wait`` (``t0``..``t1``, ``status`` ``done`` or ``running``), ``break``
    (``t0``..``t1`` compressed), ``now`` or ``name``.  ``artists``: the matplotlib
    artists that show it, once drawn.

    On a network of hosts with sockets ``actor`` is the host and ``socket`` the TCB
    (``"server:80-client:40001"``); a segment the host dropped unprocessed has ``status``
    ``discarded``, and its ``lost`` cross (at the line it reached) ``status`` ``discarded``
    and the reason as ``text`` (``"accept queue full"``); ``discard`` is the reason beside
    the line (``"dropped: accept queue full"``), ``note`` a remark such as ``"no socket on
    :8080"``, ``listen`` a listener's band in LISTEN (``t0``..``t1``, ``status`` ``done``
    or ``running``).
    """

    kind: str
    gid: str
    text: str = ""
    actor: str | None = None
    peer: str | None = None
    t0: float | None = None
    t1: float | None = None
    xy0: tuple[float, float] | None = None
    xy1: tuple[float, float] | None = None
    packet: int | None = None
    status: str = ""
    tags: tuple[str, ...] = ()
    step: int | None = None
    line: str = ""                        # segments: solid, dashed, dashdot or dotted
    label_xy: tuple[float, float] | None = None
    label_angle: float = 0.0
    label_box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 (data)
    artists: tuple[Any, ...] = field(default=(), repr=False)
    refs: tuple[Ref, ...] = field(default=(), repr=False)
    socket: str | None = None             # the TCB, on a network of hosts with sockets


class Drawing(list):
    """The :class:`Mark` records of one ladder, in drawing order, with a few queries."""

    layout: LadderLayout
    ops: "Ops"
    upto: int | None = None
    now: float = 0.0

    def of(self, kind: str) -> list[Mark]:
        return [m for m in self if m.kind == kind]

    @property
    def segments(self) -> list[Mark]:
        """The packet arrows, in order of send time (then packet id)."""
        return sorted(self.of("segment"), key=lambda m: (m.t0, m.packet))

    def segment(self, pid: int) -> Mark:
        for m in self:
            if m.kind == "segment" and m.packet == pid:
                return m
        raise KeyError(f"packet #{pid} is not drawn")

    def crossings(self) -> list[tuple[int, int]]:
        """Pairs of packets sent in opposite directions that were on the wire at the
        same time -- their arrows cross, as in simultaneous open or close."""
        segs = self.segments
        out = []
        for i, a in enumerate(segs):
            for b in segs[i + 1:]:
                if a.actor == b.actor or a.status != "delivered" or b.status != "delivered":
                    continue
                if a.t0 < b.t1 and b.t0 < a.t1:
                    out.append((a.packet, b.packet))
        return out


class Ops:
    """The display list: primitives in paper inches, grouped as few as possible (one
    collection per layer and style, so a redraw makes few artists).  Sizes are in points
    at zoom 1; the drawer scales them."""

    def __init__(self) -> None:
        self.lines: dict[float, list[tuple]] = {}      # zorder -> (pts, color, lw, ls, alpha)
        self.polys: dict[float, list[tuple]] = {}      # zorder -> (pts, face, edge, lw, alpha)
        self.marks: dict[tuple, list[tuple[float, float]]] = {}  # (marker, ...) -> points
        self.texts: list[tuple[float, float, str, dict[str, Any]]] = []
        self.strokes: list[tuple[list[tuple[float, float]], dict[str, Any]]] = []
        self.ticks: list[list[tuple[float, float]]] = []
        self.order: list[Ref] = []         # texts, strokes and ticks in drawing order

    def line(self, pts: Sequence[tuple[float, float]], color: str, lw: float = 1.0,
             ls: Any = "-", alpha: float = 1.0, z: float = 1.0) -> None:
        self.lines.setdefault(z, []).append((list(pts), color, lw, ls, alpha))

    def poly(self, pts: Sequence[tuple[float, float]], face: str, edge: str = "none",
             lw: float = 0.0, alpha: float = 1.0, z: float = 4.0) -> None:
        self.polys.setdefault(z, []).append((list(pts), face, edge, lw, alpha))

    def mark(self, x: float, y: float, marker: str, size: float, color: str, mew: float = 1.0,
             face: str | None = None, z: float = 7.0) -> None:
        """``marker``: a matplotlib marker name, or ``"clock"`` (drawn by :mod:`.mpl`)."""
        self.marks.setdefault((marker, size, color, mew, face, z), []).append((x, y))

    def text(self, x: float, y: float, s: str, **kw: Any) -> Ref:
        """A text (matplotlib Text keywords; ``halo=True``: a white halo behind it)."""
        kw.setdefault("fontsize", 8)
        self.texts.append((x, y, s, kw))
        self.order.append(("text", len(self.texts) - 1))
        return self.order[-1]

    def stroke(self, pts: Sequence[tuple[float, float]], **kw: Any) -> Ref:
        """One line with its own gid (a packet's arrow, "now")."""
        self.strokes.append((list(pts), kw))
        self.order.append(("stroke", len(self.strokes) - 1))
        return self.order[-1]

    def tick_marks(self, ticks: list[list[tuple[float, float]]]) -> None:
        """The time axis' tick marks (one collection)."""
        self.ticks = ticks
        self.order.append(("ticks", 0))


def draw_marks(lay: LadderLayout, run: Run, k: int, prefix: bool) -> Drawing:
    """The marks and display list of the ladder after step ``k`` (``prefix``: only what
    had happened by then, with "now" at step ``k``'s time)."""
    tm = lay.tm
    sx, sy = lay.sx, lay.sy
    drawn = Drawing()
    drawn.layout = lay
    drawn.upto = k if prefix else None
    hist = run.history
    if prefix:
        now = hist[k].time if k >= 0 else (hist[0].time if hist else 0.0)
    else:
        now = max(run.now, hist[-1].time) if hist else run.now
    drawn.now = now
    xl, xr = lay.x_line
    b = drawn.ops = Ops()

    # -- names and timelines -------------------------------------------------------------
    y_end = lay.y_bottom - 0.12
    for i, name in enumerate(lay.names):
        x = xl if i == 0 else xr
        t = b.text(x, lay.y_top + 0.2, name, ha="center", va="center", fontsize=11.5,
                  fontweight="bold", family=SANS, gid=f"name-{name}")
        drawn.append(Mark("name", f"name-{name}", name, actor=name, refs=(t,)))
        ys = [lay.y_top + 0.72]
        for (_, _, b0, b1) in tm.breaks:
            ys += [b0, b1]
        ys.append(y_end)
        for j in range(0, len(ys), 2):
            b.line([(x, ys[j]), (x, ys[j + 1])], COLORS["timeline"], 1.3, z=1)
        for (_, _, b0, b1) in tm.breaks:
            b.line([(x, b0), (x, b1)], COLORS["timeline"], 1.0, (0, (1, 2.5)), z=1)
            for yy in ((b0 + b1) / 2 - 0.035, (b0 + b1) / 2 + 0.035):
                b.line([(x - 0.09 * sx, yy + 0.035 * sy), (x + 0.09 * sx, yy - 0.035 * sy)],
                       COLORS["timeline"], 1.0, z=2)
        state_box(b, drawn, lay, i, lay.y_top + 0.52, str(lay.initial_state(name)),
                   f"state-{name}-initial", name, None, tm.t_first, initial=True)

    # -- time axis (labels left of the left column) --------------------------------------
    show_now = (prefix or any(p.status(k) == "in-flight" for p in run.packets.values()
                              if p.sent_step <= k)
                or (bool(hist) and run.now > hist[-1].time + 1e-9))
    tick_t = sorted(set(round(s.time, 9) for s in hist[:k + 1]))
    if show_now:
        tick_t = [t for t in tick_t if abs(tm.y(t) - tm.y(now)) >= 0.16]
    last_y = -1e9
    ticks = []
    for t in tick_t:
        y = tm.y(t)
        if y - last_y < 0.16:
            continue
        last_y = y
        b.text(-0.06, y, f"{lay.time_text(t)} s", ha="right", va="center", fontsize=7,
              color=COLORS["muted"], family=SANS, clip_on=False)
        ticks.append([(-0.03, y), (0.02, y)])
    if ticks:
        b.tick_marks(ticks)
    b.text(-0.06, lay.y_top + 0.2, "time", ha="right", va="center", fontsize=7.5,
           color=COLORS["muted"], style="italic", family=SANS, clip_on=False)
    if show_now:
        y = tm.y(now)
        ln = b.stroke([(xl, y), (xr, y)], color=COLORS["now"], lw=0.9, ls=(0, (4, 3)),
                      zorder=0.7, gid="now", alpha=0.8)
        t_ = b.text(-0.06, y, f"now {lay.time_text(now)} s", ha="right", va="center",
                   fontsize=7, color=COLORS["now"], fontweight="bold", family=SANS, clip_on=False)
        drawn.append(Mark("now", "now", f"now {now:g} s", t0=now, t1=now, xy0=(xl, y),
                          xy1=(xr, y), refs=(ln, t_)))

    # -- breaks --------------------------------------------------------------------------
    mid = (xl + xr) / 2
    for j, (t0, t1, b0, b1) in enumerate(tm.breaks):
        if prefix and t0 > now:
            continue
        text = f"\u2248 {fmt_gap(t1 - t0)} later"
        a = b.text(mid, (b0 + b1) / 2, text, ha="center", va="center", fontsize=8,
                   color=COLORS["muted"], style="italic", family=SANS, zorder=6,
                   gid=f"break-{j}", halo=True)
        drawn.append(Mark("break", f"break-{j}", text, t0=t0, t1=t1, xy0=(mid, b0),
                          xy1=(mid, b1), refs=(a,)))

    # -- TIME-WAIT spans -----------------------------------------------------------------
    for sp in lay.tw_spans:
        if sp.k_in > k:
            continue
        i = side_of(sp.actor, lay.names)
        x = lay.x_line[i]
        done = sp.k_out is not None and sp.k_out <= k
        t_out = sp.t_out
        restarts = [(j, t) for j, t in sp.restarts if j <= k]
        if not done:
            # still waiting after step k: until the deadline the timer has then
            dl = [d for n, tmr, d in (hist[k].timers if k >= 0 else ()) if n == sp.key
                  and tmr == "time-wait"]
            t_out = dl[0] if dl else t_out
        ya, yb = tm.y(sp.t_in), tm.y(t_out)
        hw = 0.065 * sx
        b.poly([(x - hw, ya), (x + hw, ya), (x + hw, yb), (x - hw, yb)], COLORS["time-wait"],
               COLORS["time-wait"], 0.8, alpha=0.45 if done else 0.22, z=0.5)
        msl2 = f"2\u00b7MSL = {sp.length:.4g} s"
        tw = f"TIME-WAIT {sp.tag}" if sp.tag else "TIME-WAIT"
        if done and sp.ended_by:
            label = (f"{tw} ended by {sp.ended_by}\n"
                     f"after {t_out - sp.t_in:.3g} s of {msl2}")
        elif done and restarts:
            label = f"{tw} {t_out - sp.t_in:.4g} s\n{msl2}, restarted"
        elif done:
            label = f"{tw}\n{msl2}"
        else:
            label = f"{tw} ({msl2})\nuntil {fmt_seconds(t_out, lay.unit)} s"
        gid = f"time-wait-{sp.actor}" + (f"-{sp.tag[1:]}" if sp.tag else "")
        # beside the band, in the state column: in its longest break, else its middle
        ym = (ya + yb) / 2
        inside = [(bt1 - bt0, (b0 + b1) / 2) for (bt0, bt1, b0, b1) in tm.breaks
                  if sp.t_in <= bt0 and bt1 <= t_out]
        if inside:
            ym = max(inside)[1]
        tx = x - 0.14 * sx if i == 0 else x + 0.14 * sx
        lt = b.text(tx, ym, label, ha="right" if i == 0 else "left", va="center", fontsize=7,
                   color=COLORS["time-wait-text"], style="italic", family=SANS, zorder=6,
                   linespacing=1.15, gid=gid, halo=True)
        drawn.append(Mark("time-wait", gid, label.replace("\n", " "),
                          actor=sp.actor, t0=sp.t_in, t1=t_out, xy0=(x, ya), xy1=(x, yb),
                          step=sp.k_in, status="done" if done else "running",
                          tags=tuple(f"restart@{t:g}" for _, t in restarts),
                          refs=(lt,), socket=sp.key if sp.key != sp.actor else None))

    # -- listening sockets (hosts with sockets): a band along the line while in LISTEN ---
    for ls_ in lay.listen_spans:
        if ls_.k_in > k:
            continue
        i = side_of(ls_.actor, lay.names)
        x = lay.x_line[i]
        done = ls_.k_out is not None and ls_.k_out <= k
        t_out = ls_.t_out if done and ls_.t_out is not None else now
        ya, yb = tm.y(ls_.t_in), max(tm.y(t_out), tm.y(ls_.t_in))
        hw = 0.035 * sx
        gid = f"listen-{ls_.actor}-{ls_.tag[1:]}"
        b.poly([(x - hw, ya), (x + hw, ya), (x + hw, yb), (x - hw, yb)], COLORS["listen"],
               "none", 0.0, alpha=0.9, z=0.45)
        drawn.append(Mark("listen", gid, f"LISTEN {ls_.tag}", actor=ls_.actor, t0=ls_.t_in,
                          t1=t_out, xy0=(x, ya), xy1=(x, yb), step=ls_.k_in,
                          status="done" if done else "running", socket=ls_.socket))

    # -- state boxes, calls, timers ------------------------------------------------------
    for it in lay.state_items:
        if it.step <= k:
            state_box(b, drawn, lay, side_of(it.actor, lay.names), it.y, it.text,
                       it.gid, it.actor, it.step, it.t, y_true=it.y_line, socket=it.socket)
    if show_now:
        # after a long quiet stretch, remind the reader of each state "now"
        names = run.sockets
        box_h = (STATE_PT * LINE_H + 4) / 72 * sy + 0.03
        for i, name in enumerate(lay.names):
            last = [it for it in lay.state_items if it.actor == name and it.step <= k]
            t_c = last[-1].t if last else tm.t_first
            st = last[-1].text if last else str(lay.initial_state(name))
            gap_breaks = any(t_c <= bt0 and bt1 <= now for (bt0, bt1, _, _) in tm.breaks)
            if not (gap_breaks or tm.y(now) - tm.y(t_c) > 2.5):
                continue
            if name not in names.tagged:
                state_box(b, drawn, lay, i, tm.y(now), st, f"state-{name}-now", name,
                           k, now, faded=True)
                continue
            # a host with several TCBs: each of them, the last one level with "now"
            mine = names.of_host(name, hist[k].states if k >= 0 else ())
            boxes = [(names.label(str(state), tcb), tcb) for tcb, state in mine] or \
                [(str(TcpState.CLOSED), None)]
            for j, (text, tcb) in enumerate(boxes):
                tag = names.tag(tcb)
                state_box(b, drawn, lay, i, tm.y(now) - (len(boxes) - 1 - j) * box_h, text,
                           f"state-{name}-now" + (f"-{tag[1:]}" if tag else ""), name, k,
                           now, faded=True, socket=tcb)
    for it in lay.side_items:
        if it.step > k:
            continue
        i = side_of(it.actor, lay.names)
        xline = lay.x_line[i]
        xm = 0.08 * sx if i == 0 else lay.width - 0.08 * sx
        color = COLORS[{"call": "call", "timer": "timer", "restart": "time-wait-text",
                        "error": "rst", "discard": "lost", "note": "muted"}[it.kind]]
        timer = it.kind in ("timer", "restart")
        x_text = xm + (0.2 if i == 0 else -0.2) * sx if timer else xm
        t = b.text(x_text, it.y, it.text, ha="left" if i == 0 else "right", va="center",
                  fontsize=SIDE_PT, color=color, family=MONO if it.kind == "call" else SANS,
                  fontweight="bold" if it.kind == "call" else "normal",
                  style="italic" if timer else "normal", gid=it.gid, zorder=5)
        tw = max(mono_w(line, SIDE_PT) if it.kind == "call" else sans_w(line, SIDE_PT)
                 for line in it.text.split("\n"))
        xs = x_text + (tw + 0.05) * sx if i == 0 else x_text - (tw + 0.05) * sx
        b.line([(xs, it.y), (xline, it.y_line)], COLORS["leader"], 0.7, (0, (1, 2)), z=0.8)
        if timer:
            b.mark(xm + (0.08 if i == 0 else -0.08) * sx, it.y, "clock", 10, color, 1.1,
                   "white", z=7)
        if it.kind not in ("error", "discard", "note"):
            b.mark(xline, it.y_line, "o", 3.4, color, z=3.5)
        drawn.append(Mark(it.kind, it.gid, it.text, actor=it.actor, t0=it.t, t1=it.t,
                          xy0=(xm, it.y), xy1=(xline, it.y_line), step=it.step,
                          refs=(t,), socket=it.socket))

    # -- segments ------------------------------------------------------------------------
    for a in lay.arrows.values():
        p = a.pkt
        if p.sent_step > k:
            continue
        status = p.status(k)
        s_end = lay.arrow_end_s(p, status, now)
        pts = a.path(tm, s_end)
        ls: Any = "-"
        line_kind = "solid"
        if status == "in-flight":
            ls, line_kind = (0, (1.2, 1.8)), "dotted"
        elif p.copy_of is not None:
            ls, line_kind = (0, (6, 2, 1.5, 2)), "dashdot"
        elif p.retransmission:
            ls, line_kind = (0, (5, 2.5)), "dashed"
        arts: list[Ref] = [b.stroke(pts, color=a.color, lw=1.35, ls=ls, zorder=3,
                                    gid=f"seg-{p.id}", solid_capstyle="butt",
                                    dash_capstyle="butt")]
        if status == "delivered":
            b.poly(arrowhead(pts, sx, sy), a.color, a.color, 0.5, z=4)
        elif status == "discarded":
            # it reached the host, which dropped it unprocessed: a cross on the line
            x, y = pts[-1]
            b.mark(x, y, "x", 9, COLORS["lost"], 2.4, z=8)
            drawn.append(Mark("lost", f"lost-{p.id}", p.discard or "dropped", actor=p.src,
                              peer=p.dst, t0=p.sent_at, t1=p.planned, xy0=(x, y), xy1=(x, y),
                              packet=p.id, step=p.delivered_step, status="discarded"))
        elif status == "lost":
            x, y = pts[-1]
            b.mark(x, y, "x", 9, COLORS["lost"], 2.4, z=8)
            ang = math.atan2(-(pts[-1][1] - pts[-2][1]) / sy, (pts[-1][0] - pts[-2][0]) / sx)
            lt = b.text(x + 0.2 * math.cos(ang) * sx, y - 0.2 * math.sin(ang) * sy, "lost",
                       ha="center", va="center", fontsize=7.5, color=COLORS["lost"],
                       fontweight="bold", family=SANS, zorder=8, gid=f"lost-{p.id}", halo=True)
            drawn.append(Mark("lost", f"lost-{p.id}", "lost", actor=p.src, peer=p.dst,
                              t0=p.sent_at, t1=tm.t(y - a.offset),
                              xy0=(x, y), xy1=(x, y), packet=p.id, step=p.lost_step,
                              refs=(lt,)))
        else:  # in flight: where it is now, and (faintly) where it is going
            b.line(a.path(tm, 1.0, s_end), a.color, 1.0, (0, (1.2, 2.4)), 0.35, z=2)
            b.mark(pts[-1][0], pts[-1][1], "o", 5, a.color, z=8)
        r = a.label_rect
        lab_box = None
        if r is not None:
            lab = b.text(r.cx * sx, r.cy * sy, a.label_text, ha="center", va="center",
                        multialignment="center", linespacing=1.0, rotation=a.label_angle,
                        rotation_mode="anchor", fontsize=LABEL_PT, family=MONO, color=a.color,
                        zorder=6, gid=f"label-{p.id}",
                        alpha=0.55 if status == "in-flight" else 1.0, halo=True)
            arts.append(lab)
            x0, y0_, x1, y1 = r.extent()
            lab_box = (x0 * sx, y0_ * sy, x1 * sx, y1 * sy)
        t_end = (p.planned if status in ("delivered", "discarded") else min(now, p.planned)
                 if status == "in-flight" else tm.t(pts[-1][1] - a.offset))
        drawn.append(Mark("segment", f"seg-{p.id}", a.label, actor=p.src, peer=p.dst,
                          t0=p.sent_at, t1=t_end,
                          xy0=pts[0], xy1=pts[-1], packet=p.id, status=status,
                          tags=a.tags, step=p.sent_step, line=line_kind,
                          label_xy=(r.cx * sx, r.cy * sy) if r else None,
                          label_angle=a.label_angle, label_box=lab_box, refs=tuple(arts)))
    return drawn


def state_box(b: Ops, drawn: Drawing, lay: LadderLayout, i: int, y: float, text: str,
              gid: str, actor: str, step: int | None, t: float, initial: bool = False,
              y_true: float | None = None, faded: bool = False,
              socket: str | None = None) -> None:
    """A state's box beside endpoint ``i``'s line at ``y`` (and a leader to ``y_true``);
    ``text`` is the state's name, maybe with its socket's tag (``"LISTEN :80"``)."""
    sx = lay.sx
    x = lay.x_line[i]
    w = (mono_w(text, STATE_PT) + 0.1) * sx
    h = (STATE_PT * LINE_H + 4) / 72 * lay.sy
    if initial:
        x0 = x - w / 2
    else:
        x0 = x - 0.1 * sx - w if i == 0 else x + 0.1 * sx
    b.poly([(x0, y - h / 2), (x0 + w, y - h / 2), (x0 + w, y + h / 2), (x0, y + h / 2)],
           STATE_FILL.get(text.split(" ", 1)[0], COLORS["state-fill"]),
           COLORS["state-edge-faded" if faded else "state-edge"], 0.7,
           alpha=0.5 if faded else 1.0, z=5)
    t_ = b.text(x0 + w / 2, y, text, ha="center", va="center", fontsize=STATE_PT,
               family=MONO, fontweight="normal" if faded else "bold",
               color=COLORS["state-text-faded" if faded else "state-text"], zorder=6, gid=gid)
    if not initial and y_true is not None and abs(y - y_true) > 1e-6:
        xe = x0 + w if i == 0 else x0
        b.line([(xe, y), (x, y_true)], COLORS["state-leader"], 0.6, z=4)
    drawn.append(Mark("state", gid, text, actor=actor, t0=t, t1=t, xy0=(x0, y),
                      xy1=(x, y_true if y_true is not None else y), step=step,
                      status="initial" if initial else "now" if faded else "",
                      refs=(t_,), socket=socket))
