"""Sequence ("ladder") diagrams of a run, drawn with matplotlib.

Two vertical timelines, time flowing *down*, one per endpoint.  Every packet the run put
on the wire is one arrow from its send time on the sender's line to its arrival time on
the receiver's line, so the latency makes the arrows slant and segments that are in the
network at the same time *cross* -- simultaneous open and close look like RFC 9293
figures 7 and 13.  Beside the lines: the state each endpoint enters (boxed), the user
calls (``close()``) and timer firings (a clock and ``RTO`` / ``2MSL expired``).  Lost
segments end in a red cross, duplicates and retransmissions are dash-dotted / dashed and
tagged, packets still in flight are dotted up to "now".

Time is drawn on a *broken* axis: an idle stretch longer than three latencies is
compressed to a short break marked ``≈ 239.9 s later``, so a 0.3 s handshake and the
240 s of TIME-WAIT (shaded on the line of the endpoint that waits) fit in one readable
picture.

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
without comparing pixels.

matplotlib is imported only by this module, lazily, and only
:class:`matplotlib.figure.Figure` is used (never pyplot): no global state, works headless
and in notebooks.  On the Agg (PNG) renderer texts are drawn from a bitmap cache (see
``_text_class``): matplotlib's glyph-by-glyph text was most of a redraw's time.
"""

from __future__ import annotations

import bisect
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..network import WIRE, Network, Packet
from ..segment import Segment
from ..states import TcpState
from ..steps import Step
from .theme import PALETTE as _PALETTE

__all__ = ["ladder", "save_ladder", "ladder_png", "cli_ladder", "LadderView", "LadderLayout",
           "Mark", "Drawing", "STYLES"]

#: Label styles: RFC 9293 figure notation, tcpdump's, or just the flags.
STYLES = ("rfc", "tcpdump", "short")

# ---------------------------------------------------------------------------- look ------
_MONO = "DejaVu Sans Mono"
_SANS = "DejaVu Sans"
_LABEL_PT = 7.5                      # segment labels (monospaced: widths are exact)
_STATE_PT = 7.0
_SIDE_PT = 7.5                       # calls and timers
_CHAR_W = 0.602                      # DejaVu Sans Mono advance width, in em
_SANS_W = 0.58                       # a generous average for DejaVu Sans
_LINE_H = 1.25                       # text line height, in em

_IN_PER_UNIT = 0.9                   # inches of paper per latency of time
_BREAK_IN = 0.62                     # inches of paper for the middle of a compressed gap
_BREAK_FACTOR = 3.0                  # gaps longer than this many latencies are compressed
_PAD_UNITS = 0.45                    # latencies kept uncompressed on each side of a break

_GAP_IN = 4.5                        # between the two timelines
_STATE_COL_IN = 1.02                 # state boxes beside each line
_SIDE_COL_IN = 1.18                  # calls and timers in the outer margin
_TICKS_IN = 0.55                     # least room for the time axis labels left of the axes
_HEAD_IN = 0.95                      # header: names and initial states
_FOOT_IN = 0.42

_COLORS = _PALETTE[:2]               # arrows from the left / the right endpoint (as the diagram)
_RST_COLOR = "#c62828"
_LOST_COLOR = "#d32f2f"
_LINE_COLOR = "#444444"
_MUTED = "#6b6b6b"
_TW_COLOR = "#f4a340"
_NOW_COLOR = "#2e7d32"

_STATE_FILL = {
    "CLOSED": "#e6e6e6", "LISTEN": "#d7e7f7", "SYN-SENT": "#fff0b0",
    "SYN-RECEIVED": "#fff0b0", "ESTABLISHED": "#c9ebc9", "FIN-WAIT-1": "#fde2c8",
    "FIN-WAIT-2": "#fde2c8", "CLOSING": "#fde2c8", "TIME-WAIT": "#ffd28a",
    "CLOSE-WAIT": "#f2d3e8", "LAST-ACK": "#f2d3e8",
}


def _mono_w(text: str, pt: float) -> float:
    """Width in inches of ``text`` set in DejaVu Sans Mono at ``pt`` points."""
    return len(text) * _CHAR_W * pt / 72


def _sans_w(text: str, pt: float) -> float:
    return len(text) * _SANS_W * pt / 72


# ---------------------------------------------------------------------------- records ---
@dataclass
class Mark:
    """One thing the ladder drew.

    ``kind`` is ``segment`` (one per packet: ``packet``, ``actor`` = sender, ``peer``,
    ``t0``/``t1`` = send time and the time its line ends -- arrival, loss or now --,
    ``xy0``/``xy1`` its ends in data coordinates, ``status`` ``delivered``/``lost``/
    ``in-flight``, ``tags`` such as ``retx``, ``dup #3``, ``delayed``, ``line`` solid /
    dashed (retransmission) / dashdot (duplicate) / dotted (in flight)), ``lost`` (the cross),
    ``state`` (``text`` = the state entered), ``call``, ``timer``, ``error``,
    ``time-wait`` (``t0``..``t1``, ``status`` ``done`` or ``running``), ``break``
    (``t0``..``t1`` compressed), ``now`` or ``name``.
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


class Drawing(list):
    """The :class:`Mark` records of one ladder, in drawing order, with a few queries."""

    layout: "LadderLayout"
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


# ---------------------------------------------------------------------------- the run ---
@dataclass
class _Pkt:
    """A packet as the ladder sees it, reconstructed from the history."""

    id: int
    src: str
    dst: str
    segment: Segment
    sent_at: float
    sent_step: int
    copy_of: int | None = None
    retransmission: bool = False
    arrive_at: float | None = None       # planned arrival (the wire's promise)
    delivered_at: float | None = None
    delivered_step: int | None = None
    lost_step: int | None = None
    delayed: bool = False

    @property
    def planned(self) -> float:
        if self.delivered_at is not None:
            return self.delivered_at
        return self.arrive_at if self.arrive_at is not None else self.sent_at

    def status(self, k: int) -> str:
        """``delivered``, ``lost`` or ``in-flight`` after step ``k``."""
        if self.delivered_step is not None and self.delivered_step <= k:
            return "delivered"
        if self.lost_step is not None and self.lost_step <= k:
            return "lost"
        return "in-flight"


@dataclass
class _Run:
    history: list[Step]
    names: tuple[str, str]
    latency: float
    packets: dict[int, _Pkt]
    now: float                           # the clock at the end of the whole run
    real: dict[float, float] | None = None  # zero latency: row time -> the real time


def _rows_for_zero_latency(run: _Run) -> _Run:
    """With zero latency everything happens at one instant: give every step its own row
    (0.1 "s" apart) so the ladder stays readable; the time axis still shows real times."""
    from dataclasses import replace
    unit = 0.1
    hist = [replace(s, time=i * unit) for i, s in enumerate(run.history)]
    real = {round(i * unit, 9): s.time for i, s in enumerate(run.history)}
    for p in run.packets.values():
        if p.copy_of is None:
            p.sent_at = p.sent_step * unit
    for p in run.packets.values():
        if p.copy_of is not None:
            p.sent_at = run.packets[p.copy_of].sent_at
        if p.delivered_step is not None:
            p.delivered_at = p.delivered_step * unit
        p.arrive_at = p.sent_at + unit
    now = (len(hist) - 1) * unit if hist else 0.0
    return _Run(hist, run.names, unit, run.packets, now, real)


def _collect(source: Any, packets: Iterable[Packet] | None, names: Sequence[str] | None,
             latency: float | None) -> _Run:
    net: Network | None = None
    if isinstance(source, Network) or hasattr(source, "history") and hasattr(source, "names"):
        net = source
        history = list(source.history)
    else:
        history = list(source)
        if history and not all(isinstance(s, Step) for s in history):
            raise TypeError("ladder() takes a Network or a list of Steps (its history)")
    known: dict[int, Packet] = {}
    if net is not None:
        for p in list(net.lost) + list(net.in_flight) + [p for p, _ in net.delivered]:
            known[p.id] = p
    for p in packets or ():
        known[p.id] = p
    if names is None:
        if net is not None:
            names = tuple(net.names)
        elif history and history[0].states:
            names = tuple(n for n, _ in history[0].states)
        else:
            actors = []
            for s in history:
                if s.actor != WIRE and s.actor not in actors:
                    actors.append(s.actor)
            names = tuple((actors + ["client", "server"])[:2]) if len(actors) < 2 \
                else tuple(actors[:2])
    names = tuple(names)
    if len(names) != 2:
        raise ValueError(f"a ladder has two endpoints, got {names!r}")

    pk: dict[int, _Pkt] = {}
    for i, s in enumerate(history):
        if s.actor != WIRE:
            peer = names[1] if s.actor == names[0] else names[0]
            retx = s.kind == "timer" and s.event.startswith("retransmission timeout")
            for pid, seg in zip(s.packets, s.sent):
                p = known.get(pid)
                pk[pid] = _Pkt(pid, s.actor, peer, seg, s.time, i,
                               retransmission=p.retransmission if p else retx,
                               arrive_at=p.arrive_at if p else None)
            if s.kind == "segment" and s.packet in pk:
                pk[s.packet].delivered_at = s.time
                pk[s.packet].delivered_step = i
        else:
            orig = pk.get(s.packet) if s.packet is not None else None
            if s.event.startswith("drop") and orig:
                orig.lost_step = i
            elif s.event.startswith("delay") and orig:
                orig.delayed = True
            elif s.event.startswith("duplicate") and orig:
                for cid in s.packets:
                    p = known.get(cid)
                    pk[cid] = _Pkt(cid, orig.src, orig.dst, orig.segment, orig.sent_at, i,
                                   copy_of=orig.id, retransmission=orig.retransmission,
                                   arrive_at=p.arrive_at if p else orig.arrive_at)
    if latency is None:
        if net is not None:
            latency = net.latency
        else:
            lat = sorted(p.planned - p.sent_at for p in pk.values()
                         if p.delivered_at is not None and p.copy_of is None and not p.delayed)
            latency = lat[len(lat) // 2] if lat else 0.1
    for p in pk.values():
        if p.arrive_at is None:
            p.arrive_at = p.sent_at + latency
    now = history[-1].time if history else 0.0
    if net is not None:
        now = max(now, net.now)
    run = _Run(history, names, float(latency), pk, now)  # type: ignore[arg-type]
    return _rows_for_zero_latency(run) if latency <= 0 and history else run


# ---------------------------------------------------------------------------- time map --
class _TimeMap:
    """Piecewise-linear time -> paper (inches, downwards) with compressed idle gaps."""

    def __init__(self, times: Iterable[float], unit: float):
        ts = sorted(set(round(t, 9) for t in times)) or [0.0]
        self.unit = unit
        self.scale = _IN_PER_UNIT / unit               # inches per second
        thresh = _BREAK_FACTOR * unit
        pad = _PAD_UNITS * unit
        self.kt: list[float] = [ts[0]]
        self.ky: list[float] = [0.0]
        self.breaks: list[tuple[float, float, float, float]] = []  # t0, t1, y0, y1 (middle)
        for a, b in zip(ts, ts[1:]):
            gap = b - a
            y = self.ky[-1]
            if gap > thresh:
                ya = y + pad * self.scale
                yb = ya + _BREAK_IN
                self.kt += [a + pad, b - pad, b]
                self.ky += [ya, yb, yb + pad * self.scale]
                self.breaks.append((a, b, ya, yb))
            else:
                self.kt.append(b)
                self.ky.append(y + gap * self.scale)
        self.t_first, self.t_last = self.kt[0], self.kt[-1]

    def y(self, t: float) -> float:
        kt, ky = self.kt, self.ky
        if t <= kt[0]:
            return ky[0] - (kt[0] - t) * self.scale
        if t >= kt[-1]:
            return ky[-1] + (t - kt[-1]) * self.scale
        i = bisect.bisect_right(kt, t) - 1
        t0, t1 = kt[i], kt[i + 1]
        if t1 == t0:
            return ky[i + 1]
        return ky[i] + (ky[i + 1] - ky[i]) * (t - t0) / (t1 - t0)

    def t(self, y: float) -> float:
        """The inverse of :meth:`y`."""
        kt, ky = self.kt, self.ky
        if y <= ky[0]:
            return kt[0] - (ky[0] - y) / self.scale
        if y >= ky[-1]:
            return kt[-1] + (y - ky[-1]) / self.scale
        i = bisect.bisect_right(ky, y) - 1
        y0, y1 = ky[i], ky[i + 1]
        if y1 == y0:
            return kt[i + 1]
        return kt[i] + (kt[i + 1] - kt[i]) * (y - y0) / (y1 - y0)


# ---------------------------------------------------------------------------- geometry --
class _Rect:
    """An oriented rectangle in paper inches (y down): centre, unit axis u, half sizes."""

    __slots__ = ("cx", "cy", "ux", "uy", "vx", "vy", "a", "b")

    def __init__(self, cx: float, cy: float, ux: float, uy: float, a: float, b: float):
        self.cx, self.cy, self.ux, self.uy, self.a, self.b = cx, cy, ux, uy, a, b
        self.vx, self.vy = uy, -ux          # "up" normal for a left-to-right u

    def corners(self) -> list[tuple[float, float]]:
        out = []
        for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            out.append((self.cx + su * self.a * self.ux + sv * self.b * self.vx,
                        self.cy + su * self.a * self.uy + sv * self.b * self.vy))
        return out

    def extent(self) -> tuple[float, float, float, float]:
        xs, ys = zip(*self.corners())
        return min(xs), min(ys), max(xs), max(ys)

    def overlaps(self, o: "_Rect") -> bool:
        for ax, ay in ((self.ux, self.uy), (self.vx, self.vy), (o.ux, o.uy), (o.vx, o.vy)):
            d = abs((o.cx - self.cx) * ax + (o.cy - self.cy) * ay)
            r1 = (self.a * abs(self.ux * ax + self.uy * ay)
                  + self.b * abs(self.vx * ax + self.vy * ay))
            r2 = o.a * abs(o.ux * ax + o.uy * ay) + o.b * abs(o.vx * ax + o.vy * ay)
            if d > r1 + r2:
                return False
        return True

    def cut(self, p: tuple[float, float], q: tuple[float, float]) -> float:
        """Length (inches) of segment pq inside the rectangle (Liang-Barsky)."""
        px, py = p[0] - self.cx, p[1] - self.cy
        qx, qy = q[0] - self.cx, q[1] - self.cy
        u0, v0 = px * self.ux + py * self.uy, px * self.vx + py * self.vy
        u1, v1 = qx * self.ux + qy * self.uy, qx * self.vx + qy * self.vy
        du, dv = u1 - u0, v1 - v0
        lo, hi = 0.0, 1.0
        for pp, qq in ((-du, u0 + self.a), (du, self.a - u0), (-dv, v0 + self.b),
                       (dv, self.b - v0)):
            if pp == 0:
                if qq < 0:
                    return 0.0
                continue
            r = qq / pp
            if pp < 0:
                lo = max(lo, r)
            else:
                hi = min(hi, r)
            if lo > hi:
                return 0.0
        return (hi - lo) * math.hypot(q[0] - p[0], q[1] - p[1])


@dataclass
class _Arrow:
    pkt: _Pkt
    x0: float
    x1: float
    label: str
    tags: tuple[str, ...]
    color: str
    offset: float = 0.0                  # paper inches, to separate identical paths
    # filled in by the layout
    label_rect: _Rect | None = None
    label_text: str = ""
    label_angle: float = 0.0

    def point(self, tm: _TimeMap, s: float) -> tuple[float, float]:
        """The point at fraction ``s`` of the straight arrow on paper (send -> arrival)."""
        p = self.pkt
        y0, y1 = tm.y(p.sent_at), tm.y(p.planned)
        return self.x0 + s * (self.x1 - self.x0), y0 + s * (y1 - y0) + self.offset

    def path(self, tm: _TimeMap, s_end: float, s_start: float = 0.0) -> list[tuple[float, float]]:
        """The visible piece of the arrow, fractions ``s_start``..``s_end``.

        Arrows are straight on paper even across a compressed gap (a packet that wanders
        for seconds stays one straight line, not a bent one)."""
        return [self.point(tm, s_start), self.point(tm, s_end)]

    def s_at(self, tm: _TimeMap, t: float) -> float:
        """The fraction of the arrow drawn by time ``t`` (for packets still in flight)."""
        p = self.pkt
        y0, y1 = tm.y(p.sent_at), tm.y(p.planned)
        if y1 <= y0:
            return 1.0 if t >= p.planned else 0.0
        return max(0.0, min(1.0, (tm.y(t) - y0) / (y1 - y0)))


def _side_of(name: str, names: tuple[str, str]) -> int:
    return 0 if name == names[0] else 1


def _call_text(step: Step) -> str:
    ev = step.event.strip()
    up = ev.upper()
    if up.startswith("PASSIVE"):
        return "listen()"
    if up.startswith("ACTIVE"):
        return "connect()"
    if up.startswith("SEND"):
        m = re.match(r"SEND\s+(\d+)", up)
        return f"send({m.group(1)} B)" if m else "send()"
    if up.startswith("CLOSE"):
        return "close()"
    if up.startswith("ABORT"):
        return "abort()"
    return ev.split("(")[0].strip().lower() + "()"


def _timer_text(step: Step) -> str:
    ev = step.event
    if "2*MSL" in ev or "time-wait" in ev.lower():
        return "2MSL expired"
    if "give up" in ev:
        return "RTO: give up"
    if ev.startswith("retransmission"):
        return "RTO: retransmit" if step.sent else "RTO"
    if "fin_timeout" in ev:
        return "FIN-WAIT-2 timeout"
    return ev


def _fmt_seconds(t: float, unit: float) -> str:
    d = max(0, min(4, 1 - math.floor(math.log10(unit)))) if unit > 0 else 2
    text = f"{t:.{d}f}"
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    return text


def _fmt_gap(g: float) -> str:
    if g >= 3600:
        return f"{g / 3600:.3g} h"
    if g >= 100:
        return f"{g:.1f} s"
    return f"{g:.3g} s"


def _seg_label(seg: Segment, style: str) -> str:
    if style == "rfc":
        return seg.rfc()
    if style == "tcpdump":
        return seg.tcpdump()
    text = seg.label()
    return text


# ---------------------------------------------------------------------------- layout ----
@dataclass
class _TwSpan:
    actor: str
    k_in: int
    t_in: float
    k_out: int | None                    # the step that left TIME-WAIT (None: still in it)
    t_out: float                         # when it left, or the pending deadline
    length: float                        # the 2*MSL the timer was set to
    restarts: list[tuple[int, float]]    # (step, time) where a segment restarted the timer
    last_deadline: float | None = None
    ended_by: str = ""                   # the event that ended it early ("" = the timer)


@dataclass
class _ColItem:
    kind: str
    actor: str
    step: int
    t: float
    text: str
    y_true: float                        # where it would like to be (stacking target)
    y: float = 0.0                       # where it is, after stacking
    gid: str = ""
    y_line: float = 0.0                  # the event's time on the timeline


class LadderLayout:
    """Where everything of a whole run goes, in paper inches (x right, y down).

    Computed once from the full history, so that drawing any prefix of it (``upto=``)
    uses the same scale and places every label where the full picture has it.
    """

    def __init__(self, run: _Run, style: str = "rfc"):
        if style not in STYLES:
            raise ValueError(f"style is one of {', '.join(STYLES)}; got {style!r}")
        self.run = run
        self.style = style
        self.names = run.names
        unit = run.latency if run.latency > 0 else 0.1
        self.unit = unit
        h = run.history
        # -- x positions ------------------------------------------------------------------
        self.x_line = (_SIDE_COL_IN + _STATE_COL_IN, _SIDE_COL_IN + _STATE_COL_IN + _GAP_IN)
        self.width = self.x_line[1] + _STATE_COL_IN + _SIDE_COL_IN
        # -- time map ---------------------------------------------------------------------
        times = [s.time for s in h] + [run.now]
        for p in run.packets.values():
            times += [p.sent_at, p.planned]
        self.tw_pending: dict[str, float] = {}
        if h:
            for n, tmr, d in h[-1].timers:
                if tmr == "time-wait":
                    self.tw_pending[n] = d
                    times.append(d)
        if not h:
            times.append(0.0)
        self.tm = _TimeMap(times, unit)
        longest = max((_fmt_seconds(t, unit) for t in times), key=len, default="0")
        self.ticks_in = max(_TICKS_IN, _sans_w(f"now {longest} s", 7.5) + 0.12)
        self.t_first = self.tm.t_first
        self.y_top = -_HEAD_IN
        self.y_bottom = self.tm.y(self.tm.t_last) + _FOOT_IN
        self.height = self.y_bottom - self.y_top
        # data units per paper inch: 1, since an Axes of another size zooms the whole
        # picture uniformly (see _draw_into); the factors are kept for clarity of the maths
        self.sx = self.sy = 1.0
        self._arrows()
        self._time_wait()
        self._columns()
        self._place_labels()

    def time_text(self, t: float) -> str:
        """How the time axis writes time ``t`` (the real time, for zero-latency rows)."""
        if self.run.real is not None:
            t = self.run.real.get(round(t, 9), t)
        return _fmt_seconds(t, self.unit)

    # -- initial states ------------------------------------------------------------------
    def initial_state(self, name: str) -> TcpState:
        for s in self.run.history:
            if s.actor == name and s.before is not None:
                return s.before
        for s in self.run.history:
            for n, st in s.states:
                if n == name:
                    return st
        return TcpState.CLOSED

    # -- arrows --------------------------------------------------------------------------
    def _arrows(self) -> None:
        run = self.run
        self.arrows: dict[int, _Arrow] = {}
        seen: dict[tuple, int] = {}
        for p in sorted(run.packets.values(), key=lambda p: (p.sent_at, p.id)):
            i = _side_of(p.src, self.names)
            tags = []
            if p.retransmission:
                tags.append("retx")
            if p.copy_of is not None:
                tags.append(f"dup #{p.copy_of}")
            if p.delayed:
                tags.append("delayed")
            label = _seg_label(p.segment, self.style)
            if tags:
                label = " ".join(tags) + " \u00b7 " + label
            color = _RST_COLOR if p.segment.rst else _COLORS[i]
            a = _Arrow(p, self.x_line[i], self.x_line[1 - i], label, tuple(tags), color)
            key = (p.src, round(p.sent_at, 9), round(p.planned, 9))
            n = seen.get(key, 0)
            if n:
                a.offset = 0.09 * n          # a duplicate on the very same path
            seen[key] = n + 1
            self.arrows[p.id] = a

    def arrow_end_s(self, p: _Pkt, status: str, now: float) -> float:
        if status == "delivered":
            return 1.0
        if status == "lost":
            return 0.5
        return self.arrows[p.id].s_at(self.tm, now)

    # -- side columns: states, calls, timers ---------------------------------------------
    def _columns(self) -> None:
        run, tm = self.run, self.tm
        self.state_items: list[_ColItem] = []
        self.side_items: list[_ColItem] = []
        for i, s in enumerate(run.history):
            if s.actor == WIRE:
                continue
            y = tm.y(s.time)
            if s.kind == "call":
                self.side_items.append(_ColItem("call", s.actor, i, s.time, _call_text(s), y,
                                                gid=f"call-{s.actor}-{i}"))
            elif s.kind == "timer":
                self.side_items.append(_ColItem("timer", s.actor, i, s.time, _timer_text(s),
                                                y, gid=f"timer-{s.actor}-{i}"))
            if s.error:
                self.side_items.append(_ColItem("error", s.actor, i, s.time,
                                                f"\u26a0 {s.error}", y,
                                                gid=f"error-{s.actor}-{i}"))
            if any(k == i for sp in self.tw_spans for k, _ in sp.restarts):
                self.side_items.append(_ColItem("restart", s.actor, i, s.time,
                                                "2MSL restarted", y,
                                                gid=f"restart-{s.actor}-{i}"))
            if s.after is not None and s.before is not s.after:
                self.state_items.append(_ColItem("state", s.actor, i, s.time, str(s.after), y,
                                                 gid=f"state-{s.actor}-{i}"))
        for it in self.state_items + self.side_items:
            it.y_line = it.y_true
        box_h = (_STATE_PT * _LINE_H + 4) / 72
        side_h = _SIDE_PT * _LINE_H / 72
        self._stack(self.state_items, box_h + 0.03)
        # a call or timer sits level with the state it caused, even when that was pushed
        by_step = {(it.actor, it.step): it.y for it in self.state_items}
        for it in self.side_items:
            it.y_true = by_step.get((it.actor, it.step), it.y_true)
        self._stack(self.side_items, side_h + 0.02)

    def _stack(self, items: list[_ColItem], h: float) -> None:
        for name in self.names:
            col = [it for it in items if it.actor == name]
            col.sort(key=lambda it: (it.y_true, it.step))
            prev = -1e9
            for it in col:
                it.y = max(it.y_true, prev + h)
                prev = it.y

    # -- TIME-WAIT ------------------------------------------------------------------------
    def _time_wait(self) -> None:
        """The TIME-WAIT spans: who, from which step and time, until which (or until the
        deadline still pending), the 2*MSL length, and where a segment restarted it."""
        self.tw_spans: list[_TwSpan] = []
        h = self.run.history
        tw = TcpState.TIME_WAIT
        open_: dict[str, _TwSpan] = {}

        def deadline(step: Step, actor: str) -> float | None:
            return next((d for n, tmr, d in step.timers if n == actor and tmr == "time-wait"),
                        None)

        for i, s in enumerate(h):
            if s.actor == WIRE:
                continue
            span = open_.get(s.actor)
            if s.after is tw and s.before is not tw:
                d = deadline(s, s.actor)
                open_[s.actor] = _TwSpan(s.actor, i, s.time, None, d if d is not None else
                                         s.time, (d - s.time) if d is not None else 0.0,
                                         [], d)
            elif span is not None and s.before is tw and s.after is not tw:
                span.k_out, span.t_out = i, s.time
                span.ended_by = "" if s.kind == "timer" else s.event
                self.tw_spans.append(open_.pop(s.actor))
            elif span is not None and s.after is tw:
                d = deadline(s, s.actor)
                if d is not None and span.last_deadline is not None and \
                        abs(d - span.last_deadline) > 1e-9:
                    span.restarts.append((i, s.time))
                    span.last_deadline = d
        for actor, span in open_.items():
            span.t_out = self.tw_pending.get(actor, span.t_out)
            self.tw_spans.append(span)

    # -- label placement -----------------------------------------------------------------
    def _place_labels(self) -> None:
        """Put each arrow's label along it, rotated to its slope, where it hits nothing.

        Greedy, in send order: candidate spots at fractions along the arrow, on either side,
        one line or (if that collides) two; the cheapest wins.  Costs: overlap with a label
        already placed, crossing another arrow or an arrowhead, a lost-cross, a break text,
        leaving the space between the timelines, and -- a little -- distance from the middle.
        """
        tm = self.tm
        sx, sy = self.sx, self.sy
        line_h = _LABEL_PT * _LINE_H / 72
        lo_x = self.x_line[0] / sx + 0.1
        hi_x = self.x_line[1] / sx - 0.1
        polys: list[tuple[int, list[tuple[float, float]]]] = []
        blocks: list[_Rect] = []
        for pid, a in self.arrows.items():
            p = a.pkt
            s_end = 0.5 if p.lost_step is not None else 1.0
            polys.append((pid, [(x / sx, y / sy) for x, y in a.path(tm, s_end)]))
            x, y = a.point(tm, s_end)
            if p.lost_step is not None:
                blocks.append(_Rect(x / sx, y / sy, 1, 0, 0.1, 0.1))
            else:
                blocks.append(_Rect(x / sx, y / sy, 1, 0, 0.13, 0.06))
        mid = (self.x_line[0] + self.x_line[1]) / 2 / sx
        for (t0, t1, y0, y1) in tm.breaks:
            text = f"\u2248 {_fmt_gap(t1 - t0)} later"
            blocks.append(_Rect(mid, (y0 + y1) / 2 / sy, 1, 0, _sans_w(text, 8) / 2 + 0.05,
                                0.09))
        placed: list[_Rect] = []
        for pid, a in self.arrows.items():
            lost = a.pkt.lost_step is not None
            pts = [(x / sx, y / sy) for x, y in a.path(tm, 1.0)]
            p0, p1 = max(zip(pts, pts[1:]), key=lambda pq: math.dist(pq[0], pq[1]))
            dx, dy = p1[0] - p0[0], p1[1] - p0[1]
            L = math.hypot(dx, dy) or 1.0
            ux, uy = dx / L, dy / L
            if ux < 0 or (ux == 0 and uy < 0):        # text always reads left to right
                ux, uy = -ux, -uy
            # orientations: along the arrow; and level, for a steep arrow (a wandering
            # duplicate), since steep text is hard to read
            steep = abs(uy) > 0.42                       # steeper than about 25 degrees
            frames = [(ux, uy, uy, -ux, 30.0 if steep else 0.0)]
            if steep:
                frames.append((1.0, 0.0, 0.0, 0.0, 0.0))
            best: tuple[float, _Rect, str, float] | None = None
            for text, penalty in _label_variants(a.label):
                nlines = text.count("\n") + 1
                half_a = (_mono_w(max(text.split("\n"), key=len), _LABEL_PT) + 0.06) / 2
                half_b = nlines * line_h / 2
                for fux, fuy, vx, vy, frame_cost in frames:
                    level = (fux, fuy) == (1.0, 0.0) and steep
                    # along: offset above/below the arrow; level: to its right/left
                    offs = ([(half_a + 0.06, 0.0), (-half_a - 0.06, 0.0)] if level else
                            [((half_b + 0.03) * vx, (half_b + 0.03) * vy),
                             (-(half_b + 0.03) * vx, -(half_b + 0.03) * vy)])
                    for frac in (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82, 0.1, 0.9):
                        if lost and frac > 0.5:
                            continue
                        bx, by = p0[0] + frac * dx, p0[1] + frac * dy
                        for (ox, oy), side_cost in zip(offs, (0.0, 0.35)):
                            r = _Rect(bx + ox, by + oy, fux, fuy, half_a, half_b)
                            cost = penalty + frame_cost + abs(frac - 0.5) * 2.0 + side_cost
                            x0, _, x1, _ = r.extent()
                            if x0 < lo_x:
                                cost += 400 * (lo_x - x0 + 0.02)
                            if x1 > hi_x:
                                cost += 400 * (x1 - hi_x + 0.02)
                            if best is not None and cost >= best[0]:
                                continue
                            cost += 1000 * sum(1 for o in placed if r.overlaps(o))
                            cost += 600 * sum(1 for b in blocks if r.overlaps(b))
                            for opid, poly in polys:
                                if opid != pid:
                                    for q0, q1 in zip(poly, poly[1:]):
                                        c = r.cut(q0, q1)
                                        if c > 0:
                                            cost += 150 + 400 * c
                            if best is None or cost < best[0]:
                                best = (cost, r, text,
                                        math.degrees(math.atan2(-fuy * sy, fux * sx)))
                if best is not None and best[0] < 50:
                    break                          # one line fits: no need to fold it
            assert best is not None
            placed.append(best[1])
            a.label_rect = best[1]
            a.label_text = best[2]
            a.label_angle = best[3]


def _label_variants(label: str) -> list[tuple[str, float]]:
    """The label on one line, then folded into two and three balanced lines (each fold
    costs a little more, so a label is folded only where one line would collide)."""
    import itertools
    cuts = [m.start() for m in re.finditer(r"(?<=>)(?=<)|(?<=\u00b7 )|(?= ack )|(?= len )",
                                            label)]
    pieces = [label[i:j].strip() for i, j in zip([0] + cuts, cuts + [len(label)])]
    out = [(label, 0.0)]
    for n in (2, 3):
        if len(pieces) < n:
            break
        best = None
        for split in itertools.combinations(range(1, len(pieces)), n - 1):
            bounds = (0, *split, len(pieces))
            lines = [" ".join(pieces[a:b]).replace("> <", "><")
                     for a, b in zip(bounds, bounds[1:])]
            width = max(len(x) for x in lines)
            if best is None or width < best[0]:
                best = (width, "\n".join(lines))
        assert best is not None
        out.append((best[1], 25.0 * (n - 1)))
    return out


# ---------------------------------------------------------------------------- drawing ---
def _clock_marker():
    from matplotlib.path import Path as MPath
    circle = MPath.unit_circle()
    hands = MPath([(0, 0), (0, 0.62), (0, 0), (0.45, 0)],
                  [MPath.MOVETO, MPath.LINETO, MPath.MOVETO, MPath.LINETO])
    return MPath.make_compound_path(circle, hands)


_FIGURE_CLASS: Any = None


def _figure_class() -> Any:
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class LadderFigure(Figure):
            """A matplotlib Figure that shows itself in Jupyter even without pyplot."""

            drawn: Drawing

            def _repr_png_(self) -> bytes:
                return _figure_png(self, 100)

        _FIGURE_CLASS = LadderFigure
    return _FIGURE_CLASS


_LAYOUT_CACHE: list[tuple[tuple, tuple, LadderLayout]] = []


def _layout_for(run: _Run, style: str) -> LadderLayout:
    """Build (or reuse, for a stepping widget's redraws) the full-run layout."""
    key = (style, run.names, run.latency, run.now, len(run.history),
           tuple((p.id, p.planned, p.retransmission) for p in run.packets.values()))
    steps = tuple(run.history)
    for k, s, lay in _LAYOUT_CACHE:
        if k == key and len(s) == len(steps) and all(a is b for a, b in zip(s, steps)):
            return lay
    lay = LadderLayout(run, style)
    _LAYOUT_CACHE.insert(0, (key, steps, lay))
    del _LAYOUT_CACHE[8:]
    return lay


def _step_index(run: _Run, upto: int | None, style: str) -> int:
    n = len(run.history)
    if style not in STYLES:
        raise ValueError(f"style is one of {', '.join(STYLES)}; got {style!r}")
    if upto is None:
        return n - 1
    if not isinstance(upto, int) or isinstance(upto, bool) or not -1 <= upto < max(n, 1):
        raise ValueError(f"upto is a step index 0..{n - 1} (or -1 for 'before the first "
                         f"step'), got {upto!r}")
    return upto


def _setup_figure(lay: LadderLayout, title: str | None, figsize: Any) -> Any:
    """A new figure holding one Axes for the ladder.  It has an Agg canvas of its own (so
    PNGs need no backend switch and repeated renders reuse one renderer)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    nat_w = lay.width + lay.ticks_in + 0.12
    nat_h = lay.height + (0.45 if title else 0.0)
    fig = _figure_class()(figsize=figsize or (nat_w, nat_h), facecolor="white")
    FigureCanvasAgg(fig)
    fh = fig.get_size_inches()[1]
    ax = fig.add_axes((lay.ticks_in / nat_w, 0.0, lay.width / nat_w, lay.height / nat_h))
    if title:
        fig.suptitle(title, y=1 - 0.12 / fh, va="top", fontsize=11, fontweight="bold")
    return ax


def _draw_into(ax: Any, run: _Run, style: str, k: int, prefix: bool) -> Drawing:
    lay = _layout_for(run, style)
    fig = ax.figure
    # The layout is in "natural" inches.  An Axes of another size shows it zoomed
    # uniformly (equal aspect; fonts and lines scaled alike), so nothing collides.
    bbox = ax.get_position()
    fw, fh = fig.get_size_inches()
    zoom = min(bbox.width * fw / lay.width, bbox.height * fh / lay.height)
    if abs(zoom - 1) > 1e-3:
        ax.set_aspect("equal", adjustable="box", anchor="C")
    drawing = _draw(ax, lay, k, run, prefix, zoom)
    fig.drawn = drawing
    ax.drawn = drawing
    return drawing


def ladder(source: Any, *, upto: int | None = None, style: str = "rfc", ax: Any = None,
           figsize: tuple[float, float] | None = None, title: str | None = None,
           packets: Iterable[Packet] | None = None, names: Sequence[str] | None = None,
           latency: float | None = None) -> Any:
    """Draw the sequence diagram of a run; return the matplotlib Figure.

    ``source`` is a :class:`~tcplab.network.Network` or its ``history`` (a list of
    Steps; then ``packets``, ``names`` and ``latency`` may complete what the steps do not
    say).  ``upto=k`` draws only ``history[:k+1]`` (``-1``: nothing has happened yet) on
    the scale of the whole run.  ``style`` is ``"rfc"`` (``<SEQ=100><CTL=SYN>``),
    ``"tcpdump"`` (``[S] seq 100``) or ``"short"`` (``SYN``).  With ``ax`` the ladder is
    drawn into that Axes (its figure is returned); otherwise the figure gets the natural
    size of the run (about 9.5 in wide; 0.9 in per latency of time) or ``figsize``.

    The returned figure has ``fig.drawn``: a :class:`Drawing` (list of :class:`Mark`).
    """
    run = _collect(source, packets, names, latency)
    k = _step_index(run, upto, style)
    if ax is None:
        ax = _setup_figure(_layout_for(run, style), title, figsize)
    elif title:
        ax.set_title(title, fontsize=11, fontweight="bold")
    _draw_into(ax, run, style, k, upto is not None)
    return ax.figure


class LadderView:
    """One run's ladder, to be shown at step after step -- for stepping widgets.

    The layout of the whole run is computed once, one figure, Axes and Agg renderer are
    reused, and PNGs are memoised per step (a step revisited costs nothing)::

        view = LadderView(net, style="tcpdump")
        image.value = view.png(k)        # ipywidgets.Image
        fig = view.figure(k)             # the (shared, redrawn) matplotlib Figure
    """

    def __init__(self, source: Any, *, style: str = "rfc", title: str | None = None,
                 figsize: tuple[float, float] | None = None, dpi: int = 100,
                 packets: Iterable[Packet] | None = None, names: Sequence[str] | None = None,
                 latency: float | None = None) -> None:
        self.run = _collect(source, packets, names, latency)
        _step_index(self.run, None, style)
        self.style, self.title, self.figsize, self.dpi = style, title, figsize, dpi
        self.layout = _layout_for(self.run, style)
        self._fig: Any = None
        self._ax: Any = None
        self._shown: Any = "none"
        self._png: dict[int | None, bytes] = {}

    def __len__(self) -> int:
        return len(self.run.history)

    def figure(self, upto: int | None = None) -> Any:
        """The figure showing ``history[:upto+1]`` (``None``: everything)."""
        k = _step_index(self.run, upto, self.style)
        if self._fig is not None and self._shown == upto:
            return self._fig
        if self._fig is None:
            self._ax = _setup_figure(self.layout, self.title, self.figsize)
            self._fig = self._ax.figure
        else:       # reuse the Axes: creating one costs more than drawing a ladder into it
            for a in [*self._ax.texts, *self._ax.lines, *self._ax.collections,
                      *self._ax.patches, *self._ax.artists]:
                a.remove()
        _draw_into(self._ax, self.run, self.style, k, upto is not None)
        self._shown = upto
        return self._fig

    @property
    def drawn(self) -> Drawing:
        return self.figure(self._shown if self._shown != "none" else None).drawn

    def png(self, upto: int | None = None) -> bytes:
        """PNG bytes of :meth:`figure` (memoised per step)."""
        if upto not in self._png:
            self._png[upto] = _figure_png(self.figure(upto), self.dpi)
        return self._png[upto]


class _Batch:
    """Primitives collected while drawing, added to the Axes as few artists as possible
    (one LineCollection per layer instead of dozens of Line2D: redraws stay fast)."""

    def __init__(self, zoom: float = 1.0) -> None:
        self.zoom = zoom
        self.lines: dict[float, list[tuple]] = {}      # zorder -> (pts, color, lw, ls, alpha)
        self.polys: dict[float, list[tuple]] = {}      # zorder -> (pts, face, edge, lw, alpha)
        self.marks: dict[tuple, list[tuple[float, float]]] = {}  # (marker, ...) -> points

    def line(self, pts: Sequence[tuple[float, float]], color: str, lw: float = 1.0,
             ls: Any = "-", alpha: float = 1.0, z: float = 1.0) -> None:
        self.lines.setdefault(z, []).append((list(pts), color, lw, ls, alpha))

    def poly(self, pts: Sequence[tuple[float, float]], face: str, edge: str = "none",
             lw: float = 0.0, alpha: float = 1.0, z: float = 4.0) -> None:
        self.polys.setdefault(z, []).append((list(pts), face, edge, lw, alpha))

    def mark(self, x: float, y: float, marker: Any, size: float, color: str, mew: float = 1.0,
             face: str | None = None, z: float = 7.0) -> None:
        self.marks.setdefault((marker, size, color, mew, face, z), []).append((x, y))

    def flush(self, ax: Any) -> list[Any]:
        from matplotlib.collections import LineCollection, PolyCollection
        from matplotlib.colors import to_rgba
        from matplotlib.lines import Line2D
        out = []
        for z, items in self.lines.items():
            lc = LineCollection([it[0] for it in items],
                                colors=[to_rgba(it[1], it[4]) for it in items],
                                linewidths=[it[2] * self.zoom for it in items],
                                linestyles=[it[3] for it in items], zorder=z,
                                capstyle="butt")
            out.append(ax.add_collection(lc, autolim=False))
        for z, items in self.polys.items():
            pc = PolyCollection([it[0] for it in items],
                                facecolors=[to_rgba(it[1], it[4]) for it in items],
                                edgecolors=[it[2] for it in items],
                                linewidths=[it[3] * self.zoom for it in items], zorder=z)
            out.append(ax.add_collection(pc, autolim=False))
        for (marker, size, color, mew, face, z), pts in self.marks.items():
            ln = Line2D([p[0] for p in pts], [p[1] for p in pts], ls="none", marker=marker,
                        markersize=size * self.zoom, color=color, mew=mew * self.zoom,
                        markerfacecolor=face or color, zorder=z)
            out.append(_add(ax, ln))
        return out


def _draw(ax: Any, lay: LadderLayout, k: int, run: _Run, prefix: bool,
          zoom: float = 1.0) -> Drawing:
    from matplotlib.lines import Line2D

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
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.y_bottom, lay.y_top)
    ax.set_axis_off()
    ax.set_autoscale_on(False)
    b = _Batch(zoom)

    def txt(x: float, y: float, s: str, **kw: Any) -> Any:
        kw.setdefault("parse_math", False)
        kw["fontsize"] = kw.get("fontsize", 8) * zoom
        return _add_text(ax, x, y, s, zoom, kw)

    # -- names and timelines -------------------------------------------------------------
    y_end = lay.y_bottom - 0.12
    for i, name in enumerate(lay.names):
        x = xl if i == 0 else xr
        t = txt(x, lay.y_top + 0.2, name, ha="center", va="center", fontsize=11.5,
                fontweight="bold", family=_SANS, gid=f"name-{name}")
        drawn.append(Mark("name", f"name-{name}", name, actor=name, artists=(t,)))
        ys = [lay.y_top + 0.72]
        for (_, _, b0, b1) in tm.breaks:
            ys += [b0, b1]
        ys.append(y_end)
        for j in range(0, len(ys), 2):
            b.line([(x, ys[j]), (x, ys[j + 1])], _LINE_COLOR, 1.3, z=1)
        for (_, _, b0, b1) in tm.breaks:
            b.line([(x, b0), (x, b1)], _LINE_COLOR, 1.0, (0, (1, 2.5)), z=1)
            for yy in ((b0 + b1) / 2 - 0.035, (b0 + b1) / 2 + 0.035):
                b.line([(x - 0.09 * sx, yy + 0.035 * sy), (x + 0.09 * sx, yy - 0.035 * sy)],
                       _LINE_COLOR, 1.0, z=2)
        _state_box(b, txt, drawn, lay, i, lay.y_top + 0.52, str(lay.initial_state(name)),
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
        txt(-0.06, y, f"{lay.time_text(t)} s", ha="right", va="center", fontsize=7,
            color=_MUTED, family=_SANS, clip_on=False)
        ticks.append([(-0.03, y), (0.02, y)])
    if ticks:
        from matplotlib.collections import LineCollection
        ax.add_collection(LineCollection(ticks, colors=_MUTED, linewidths=0.6 * zoom,
                                         clip_on=False),
                          autolim=False)
    txt(-0.06, lay.y_top + 0.2, "time", ha="right", va="center", fontsize=7.5, color=_MUTED,
        style="italic", family=_SANS, clip_on=False)
    if show_now:
        y = tm.y(now)
        ln = _add(ax, Line2D([xl, xr], [y, y], color=_NOW_COLOR, lw=0.9 * zoom,
                                  ls=(0, (4, 3)),
                                  zorder=0.7, gid="now", alpha=0.8))
        t_ = txt(-0.06, y, f"now {lay.time_text(now)} s", ha="right", va="center",
                 fontsize=7, color=_NOW_COLOR, fontweight="bold", family=_SANS, clip_on=False)
        drawn.append(Mark("now", "now", f"now {now:g} s", t0=now, t1=now, xy0=(xl, y),
                          xy1=(xr, y), artists=(ln, t_)))

    # -- breaks --------------------------------------------------------------------------
    mid = (xl + xr) / 2
    for j, (t0, t1, b0, b1) in enumerate(tm.breaks):
        if prefix and t0 > now:
            continue
        text = f"\u2248 {_fmt_gap(t1 - t0)} later"
        a = txt(mid, (b0 + b1) / 2, text, ha="center", va="center", fontsize=8, color=_MUTED,
                style="italic", family=_SANS, zorder=6, gid=f"break-{j}", halo=True)
        drawn.append(Mark("break", f"break-{j}", text, t0=t0, t1=t1, xy0=(mid, b0),
                          xy1=(mid, b1), artists=(a,)))

    # -- TIME-WAIT spans -----------------------------------------------------------------
    for sp in lay.tw_spans:
        if sp.k_in > k:
            continue
        i = _side_of(sp.actor, lay.names)
        x = lay.x_line[i]
        done = sp.k_out is not None and sp.k_out <= k
        t_out = sp.t_out
        restarts = [(j, t) for j, t in sp.restarts if j <= k]
        if not done:
            # still waiting after step k: until the deadline the timer has then
            dl = [d for n, tmr, d in (hist[k].timers if k >= 0 else ()) if n == sp.actor
                  and tmr == "time-wait"]
            t_out = dl[0] if dl else t_out
        ya, yb = tm.y(sp.t_in), tm.y(t_out)
        hw = 0.065 * sx
        b.poly([(x - hw, ya), (x + hw, ya), (x + hw, yb), (x - hw, yb)], _TW_COLOR,
               _TW_COLOR, 0.8, alpha=0.45 if done else 0.22, z=0.5)
        msl2 = f"2\u00b7MSL = {sp.length:.4g} s"
        if done and sp.ended_by:
            label = (f"TIME-WAIT ended by {sp.ended_by}\n"
                     f"after {t_out - sp.t_in:.3g} s of {msl2}")
        elif done and restarts:
            label = f"TIME-WAIT {t_out - sp.t_in:.4g} s\n{msl2}, restarted"
        elif done:
            label = f"TIME-WAIT\n{msl2}"
        else:
            label = f"TIME-WAIT ({msl2})\nuntil {_fmt_seconds(t_out, lay.unit)} s"
        # beside the band, in the state column: in its longest break, else its middle
        ym = (ya + yb) / 2
        inside = [(bt1 - bt0, (b0 + b1) / 2) for (bt0, bt1, b0, b1) in tm.breaks
                  if sp.t_in <= bt0 and bt1 <= t_out]
        if inside:
            ym = max(inside)[1]
        tx = x - 0.14 * sx if i == 0 else x + 0.14 * sx
        lt = txt(tx, ym, label, ha="right" if i == 0 else "left", va="center", fontsize=7,
                 color="#8a4b00", style="italic", family=_SANS, zorder=6, linespacing=1.15,
                 gid=f"time-wait-{sp.actor}", halo=True)
        drawn.append(Mark("time-wait", f"time-wait-{sp.actor}", label.replace("\n", " "),
                          actor=sp.actor, t0=sp.t_in, t1=t_out, xy0=(x, ya), xy1=(x, yb),
                          step=sp.k_in, status="done" if done else "running",
                          tags=tuple(f"restart@{t:g}" for _, t in restarts),
                          artists=(lt,)))

    # -- state boxes, calls, timers ------------------------------------------------------
    for it in lay.state_items:
        if it.step <= k:
            _state_box(b, txt, drawn, lay, _side_of(it.actor, lay.names), it.y, it.text,
                       it.gid, it.actor, it.step, it.t, y_true=it.y_line)
    if show_now:
        # after a long quiet stretch, remind the reader of each state "now"
        for i, name in enumerate(lay.names):
            last = [it for it in lay.state_items if it.actor == name and it.step <= k]
            t_c = last[-1].t if last else tm.t_first
            st = last[-1].text if last else str(lay.initial_state(name))
            gap_breaks = any(t_c <= bt0 and bt1 <= now for (bt0, bt1, _, _) in tm.breaks)
            if gap_breaks or tm.y(now) - tm.y(t_c) > 2.5:
                _state_box(b, txt, drawn, lay, i, tm.y(now), st, f"state-{name}-now", name,
                           k, now, faded=True)
    clock = None
    for it in lay.side_items:
        if it.step > k:
            continue
        i = _side_of(it.actor, lay.names)
        xline = lay.x_line[i]
        xm = 0.08 * sx if i == 0 else lay.width - 0.08 * sx
        color = {"call": "#222222", "timer": "#6a3d9a", "restart": "#8a4b00",
                 "error": _RST_COLOR}[it.kind]
        timer = it.kind in ("timer", "restart")
        x_text = xm + (0.2 if i == 0 else -0.2) * sx if timer else xm
        t = txt(x_text, it.y, it.text, ha="left" if i == 0 else "right", va="center",
                fontsize=_SIDE_PT, color=color, family=_MONO if it.kind == "call" else _SANS,
                fontweight="bold" if it.kind == "call" else "normal",
                style="italic" if timer else "normal", gid=it.gid, zorder=5)
        tw = (_mono_w(it.text, _SIDE_PT) if it.kind == "call" else _sans_w(it.text, _SIDE_PT))
        xs = x_text + (tw + 0.05) * sx if i == 0 else x_text - (tw + 0.05) * sx
        b.line([(xs, it.y), (xline, it.y_line)], "#9a9a9a", 0.7, (0, (1, 2)), z=0.8)
        if timer:
            if clock is None:
                clock = _clock_marker()
            b.mark(xm + (0.08 if i == 0 else -0.08) * sx, it.y, clock, 10, color, 1.1,
                   "white", z=7)
        if it.kind != "error":
            b.mark(xline, it.y_line, "o", 3.4, color, z=3.5)
        drawn.append(Mark(it.kind, it.gid, it.text, actor=it.actor, t0=it.t, t1=it.t,
                          xy0=(xm, it.y), xy1=(xline, it.y_line), step=it.step,
                          artists=(t,)))

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
        line = _add(ax, Line2D([q[0] for q in pts], [q[1] for q in pts], color=a.color,
                                    lw=1.35 * zoom, ls=ls, zorder=3, gid=f"seg-{p.id}",
                                    solid_capstyle="butt", dash_capstyle="butt"))
        arts: list[Any] = [line]
        if status == "delivered":
            b.poly(_head(pts, sx, sy), a.color, a.color, 0.5, z=4)
        elif status == "lost":
            x, y = pts[-1]
            b.mark(x, y, "x", 9, _LOST_COLOR, 2.4, z=8)
            ang = math.atan2(-(pts[-1][1] - pts[-2][1]) / sy, (pts[-1][0] - pts[-2][0]) / sx)
            lt = txt(x + 0.2 * math.cos(ang) * sx, y - 0.2 * math.sin(ang) * sy, "lost",
                     ha="center", va="center", fontsize=7.5, color=_LOST_COLOR,
                     fontweight="bold", family=_SANS, zorder=8, gid=f"lost-{p.id}", halo=True)
            drawn.append(Mark("lost", f"lost-{p.id}", "lost", actor=p.src, peer=p.dst,
                              t0=p.sent_at, t1=tm.t(y - a.offset),
                              xy0=(x, y), xy1=(x, y), packet=p.id, step=p.lost_step,
                              artists=(lt,)))
        else:  # in flight: where it is now, and (faintly) where it is going
            b.line(a.path(tm, 1.0, s_end), a.color, 1.0, (0, (1.2, 2.4)), 0.35, z=2)
            b.mark(pts[-1][0], pts[-1][1], "o", 5, a.color, z=8)
        r = a.label_rect
        lab_box = None
        if r is not None:
            lab = txt(r.cx * sx, r.cy * sy, a.label_text, ha="center", va="center",
                      multialignment="center", linespacing=1.0, rotation=a.label_angle,
                      rotation_mode="anchor", fontsize=_LABEL_PT, family=_MONO, color=a.color,
                      zorder=6, gid=f"label-{p.id}",
                      alpha=0.55 if status == "in-flight" else 1.0, halo=True)
            arts.append(lab)
            x0, y0_, x1, y1 = r.extent()
            lab_box = (x0 * sx, y0_ * sy, x1 * sx, y1 * sy)
        t_end = (p.planned if status == "delivered" else min(now, p.planned)
                 if status == "in-flight" else tm.t(pts[-1][1] - a.offset))
        drawn.append(Mark("segment", f"seg-{p.id}", a.label, actor=p.src, peer=p.dst,
                          t0=p.sent_at, t1=t_end,
                          xy0=pts[0], xy1=pts[-1], packet=p.id, status=status,
                          tags=a.tags, step=p.sent_step, line=line_kind,
                          label_xy=(r.cx * sx, r.cy * sy) if r else None,
                          label_angle=a.label_angle, label_box=lab_box, artists=tuple(arts)))
    b.flush(ax)
    return drawn


# -- text, with a raster cache ---------------------------------------------------------
# matplotlib (3.11) shapes and renders text glyph by glyph in Python: about 1 ms per label,
# which is most of a ladder's drawing time.  A stepping widget draws the same labels again
# and again, so on the Agg (PNG) renderer each distinct text is rasterised once -- by
# matplotlib itself, into a small offscreen canvas -- and then blitted.  Vector outputs
# (SVG, PDF) always get real text.
_TEXT_CACHE: dict[tuple, tuple[Any, float, float]] = {}
_TEXT_CACHE_MAX = 2000
TEXT_CACHE = True           # set False to draw every text with matplotlib's own Text.draw
_TEXT_CLASS: Any = None


def _text_class() -> Any:
    global _TEXT_CLASS
    if _TEXT_CLASS is None:
        import copy

        import numpy as np
        from matplotlib.backends.backend_agg import RendererAgg
        from matplotlib.text import Text
        from matplotlib.transforms import IdentityTransform

        class CachedText(Text):
            """A Text that draws from a bitmap cache on the Agg renderer."""

            _cache_key: tuple | None = None

            def draw(self, renderer: Any) -> None:
                if (not TEXT_CACHE or type(renderer) is not RendererAgg or self._cache_key is None
                        or not self.get_visible() or not self.get_text()):
                    return super().draw(renderer)
                x, y = self.get_transform().transform(self.get_unitless_position())
                if not (math.isfinite(x) and math.isfinite(y)):
                    return super().draw(renderer)
                key = (self._cache_key, renderer.dpi)
                hit = _TEXT_CACHE.get(key)
                if hit is None:
                    # render with a generous margin (the layout's hinted metrics can be
                    # narrower than the outlines the halo path draws), then crop to the ink
                    bb = self.get_window_extent(renderer)
                    pad = 6 + round(0.15 * max(bb.width, bb.height))
                    x0, y0 = math.floor(bb.x0) - pad, math.floor(bb.y0) - pad
                    w = math.ceil(bb.x1) + pad - x0
                    h = math.ceil(bb.y1) + pad - y0
                    off = RendererAgg(w, h, renderer.dpi)
                    clone = copy.copy(self)
                    clone.stale_callback = None
                    clone._cache_key = None
                    clone.set_transform(IdentityTransform())
                    clone.set_clip_on(False)
                    clone.set_position((x - x0, y - y0))
                    Text.draw(clone, off)
                    img = np.asarray(off.buffer_rgba())[::-1]      # rows bottom-up
                    rows = np.flatnonzero(img[..., 3].any(axis=1))
                    cols = np.flatnonzero(img[..., 3].any(axis=0))
                    if rows.size == 0:
                        img, rows, cols = img[:1, :1], np.array([0]), np.array([0])
                    img = np.ascontiguousarray(img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
                    hit = (img, x0 + cols[0] - x, y0 + rows[0] - y)
                    if len(_TEXT_CACHE) >= _TEXT_CACHE_MAX:
                        _TEXT_CACHE.clear()
                    _TEXT_CACHE[key] = hit
                img, dx, dy = hit
                gc = renderer.new_gc()
                renderer.draw_image(gc, round(x + dx), round(y + dy), img)
                gc.restore()
                self.stale = False

        _TEXT_CLASS = CachedText
    return _TEXT_CLASS


def _add_text(ax: Any, x: float, y: float, s: str, zoom: float, kw: dict[str, Any]) -> Any:
    halo = kw.pop("halo", False)
    key = (s, halo, zoom, tuple(sorted((k, v) for k, v in kw.items()
                                       if k not in ("gid", "zorder"))))
    if halo:   # a white halo, so labels stay readable over lines
        from matplotlib import patheffects as pe
        kw["path_effects"] = [pe.withStroke(linewidth=2.6 * zoom, foreground="white")]
    kw.setdefault("clip_on", False)
    t = _text_class()(x, y, s, transform=ax.transData, **kw)
    t._cache_key = key
    return _add(ax, t)


def _add(ax: Any, artist: Any) -> Any:
    """``ax.add_artist``, minus its costly per-artist clip-path setup (nothing of the ladder
    needs clipping: it is laid out inside the Axes, or deliberately outside it)."""
    clip = getattr(ax, "_tcplab_clip", None)
    if clip is None or clip[0] is not ax.patch:
        from matplotlib.transforms import TransformedPatchPath
        clip = ax._tcplab_clip = (ax.patch, TransformedPatchPath(ax.patch))
    artist.set_clip_path(clip[1])
    artist.set_clip_on(False)
    return ax.add_artist(artist)


def _head(pts: list[tuple[float, float]], sx: float, sy: float) -> list[tuple[float, float]]:
    """A filled arrowhead at the end of ``pts``, sized in real inches."""
    (x0, y0), (x1, y1) = pts[-2], pts[-1]
    dx, dy = (x1 - x0) / sx, (y1 - y0) / sy
    L = math.hypot(dx, dy) or 1.0
    ux, uy = dx / L, dy / L
    ln, hw = 0.12, 0.042
    bx, by = x1 / sx - ux * ln, y1 / sy - uy * ln
    return [(x1, y1), ((bx - uy * hw) * sx, (by + ux * hw) * sy),
            ((bx + uy * hw) * sx, (by - ux * hw) * sy)]


def _state_box(b: _Batch, txt: Any, drawn: Drawing, lay: LadderLayout, i: int, y: float,
               text: str, gid: str, actor: str, step: int | None, t: float,
               initial: bool = False, y_true: float | None = None,
               faded: bool = False) -> None:
    sx = lay.sx
    x = lay.x_line[i]
    w = (_mono_w(text, _STATE_PT) + 0.1) * sx
    h = (_STATE_PT * _LINE_H + 4) / 72 * lay.sy
    if initial:
        x0 = x - w / 2
    else:
        x0 = x - 0.1 * sx - w if i == 0 else x + 0.1 * sx
    b.poly([(x0, y - h / 2), (x0 + w, y - h / 2), (x0 + w, y + h / 2), (x0, y + h / 2)],
           _STATE_FILL.get(text, "#eeeeee"), "#999999" if faded else "#555555", 0.7,
           alpha=0.5 if faded else 1.0, z=5)
    t_ = txt(x0 + w / 2, y, text, ha="center", va="center", fontsize=_STATE_PT,
             family=_MONO, fontweight="normal" if faded else "bold",
             color="#666666" if faded else "#222222", zorder=6, gid=gid)
    if not initial and y_true is not None and abs(y - y_true) > 1e-6:
        xe = x0 + w if i == 0 else x0
        b.line([(xe, y), (x, y_true)], "#777777", 0.6, z=4)
    drawn.append(Mark("state", gid, text, actor=actor, t0=t, t1=t, xy0=(x0, y),
                      xy1=(x, y_true if y_true is not None else y), step=step,
                      status="initial" if initial else "now" if faded else "",
                      artists=(t_,)))


# ---------------------------------------------------------------------------- export ----
def _format_of(path: str | Path, fmt: str | None) -> str:
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"save the ladder as .png, .svg or .pdf, not {str(path)!r}")
    return fmt


def save_ladder(source: Any, path: str | Path, *, format: str | None = None, dpi: int = 150,
                **kwargs: Any) -> Path:
    """Draw the ladder of ``source`` (see :func:`ladder`) and write it to ``path``;
    PNG, SVG or PDF by the suffix (or ``format``).  Returns the path."""
    fmt = _format_of(path, format)
    fig = source if hasattr(source, "savefig") else ladder(source, **kwargs)
    path = Path(path)
    fig.savefig(path, format=fmt, dpi=dpi, facecolor="white")
    return path


def ladder_png(source: Any, *, dpi: int = 100, **kwargs: Any) -> bytes:
    """The ladder as PNG bytes (for ipywidgets.Image and the like); ``source`` is what
    :func:`ladder` takes (with its keyword arguments) or a figure it made."""
    fig = source if hasattr(source, "savefig") else ladder(source, **kwargs)
    return _figure_png(fig, dpi)


def _figure_png(fig: Any, dpi: float) -> bytes:
    """Rasterise ``fig`` with Agg and encode it quickly: a widget redraws on every click.

    matplotlib's own PNG path (Pillow, adaptive filters) takes ~30 ms for a ladder; plain
    zlib on unfiltered RGB rows takes half that and, for these flat pictures, is as small.
    Figures not drawn on an Agg canvas of their own go through ``savefig``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    if type(fig.canvas) is not FigureCanvasAgg:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
        return buf.getvalue()
    if fig.dpi != dpi:
        fig.set_dpi(dpi)
    fig.canvas.draw()
    return _encode_png(fig.canvas.buffer_rgba(), dpi)


def _encode_png(rgba: Any, dpi: float) -> bytes:
    import struct
    import zlib

    import numpy as np
    a = np.asarray(rgba)
    h, w = a.shape[:2]
    raw = np.empty((h, w * 3 + 1), np.uint8)
    raw[:, 0] = 0                                     # filter type 0 (none) on every row
    raw[:, 1:].reshape(h, w, 3)[...] = a[..., :3]     # one strided copy, no temporaries

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ppm = round(dpi / 0.0254)
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1))
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 1))
            + chunk(b"IEND", b""))


def cli_ladder(argv: Sequence[str] | None = None) -> int:
    """``python -m tcplab ladder NAME [-o FILE] [--style S] [--upto K]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m tcplab ladder",
        description="Draw a named scenario's sequence (ladder) diagram to PNG, SVG or PDF.")
    parser.add_argument("name", help="scenario name (see 'python -m tcplab scenarios')")
    parser.add_argument("-o", "--output", help="output file (.png, .svg or .pdf); "
                        "default NAME.png")
    parser.add_argument("--style", choices=STYLES, default="rfc", help="segment labels")
    parser.add_argument("--upto", type=int, default=None,
                        help="draw only up to this step (0-based)")
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0, help="seed for the random ISNs")
    parser.add_argument("--rfc-isn", action="store_true",
                        help="use ISNs 100 and 300 as in the RFC's figures")
    parser.add_argument("--no-title", action="store_true", help="leave out the title")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        from .. import scenarios
    except ImportError:  # pragma: no cover - scenarios.py is another engineer's module
        parser.exit(2, "error: tcplab.scenarios is not available yet\n")
    try:
        sc = scenarios.get(args.name)
    except (KeyError, ValueError) as exc:
        parser.exit(2, f"error: {exc.args[0] if exc.args else exc}\n")
    kw: dict[str, Any] = {"seed": args.seed}
    if args.rfc_isn:
        kw["isn"] = {"client": 100, "server": 300}
    net = sc.run(**kw)
    out = Path(args.output or f"{sc.name}.png")
    try:
        fmt = _format_of(out, None)
        fig = ladder(net, upto=args.upto, style=args.style,
                     title=None if args.no_title else getattr(sc, "title", sc.name))
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")
    fig.savefig(out, format=fmt, dpi=args.dpi, facecolor="white")
    print(f"wrote {out}")
    return 0
