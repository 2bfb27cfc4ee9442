"""The ladder's paper: sizes, the time axis with compressed gaps, arrows and label boxes.

Builds on :mod:`.history` (packets) and :mod:`..theme` (fonts).  Pure geometry in paper
inches, x to the right and y *down* (time flows down the page).

Time is drawn on a *broken* axis: an idle stretch longer than three latencies is
compressed to a short break, so a 0.3 s handshake and the 240 s of TIME-WAIT fit in one
readable picture.

>>> tm = TimeMap([0.0, 0.1, 0.2, 240.2], unit=0.1)
>>> round(tm.y(0.1), 3), len(tm.breaks), round(tm.t(tm.y(240.2)), 3)
(0.9, 1, 240.2)
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from dataclasses import dataclass
from typing import Iterable

from ...segment import Segment
from ..theme import FONTS
from .history import Pkt

MONO = FONTS["mono"]
SANS = FONTS["sans"]
LABEL_PT = 7.5                       # segment labels (monospaced: widths are exact)
STATE_PT = 7.0
SIDE_PT = 7.5                        # calls and timers
CHAR_W = 0.602                       # DejaVu Sans Mono advance width, in em
SANS_W = 0.58                        # a generous average for DejaVu Sans
LINE_H = 1.25                        # text line height, in em

IN_PER_UNIT = 0.9                    # inches of paper per latency of time
BREAK_IN = 0.62                      # inches of paper for the middle of a compressed gap
BREAK_FACTOR = 3.0                   # gaps longer than this many latencies are compressed
PAD_UNITS = 0.45                     # latencies kept uncompressed on each side of a break

GAP_IN = 4.5                         # between the two timelines
GAP_MIN_IN = 3.4                     # ... at least, when the columns beside them widen
#: The widgets' ladder (``screen=True``): the same type on a narrower paper (about 7.75 in
#: instead of 9.8), so a notebook on a 1366 x 768 laptop -- about 930 px wide with
#: JupyterLab's file browser open -- shows its smallest text (7 pt) at 11 px or more.
#: A shorter gap between the timelines (long labels fold onto two lines more often) and
#: outer columns as wide as their usual texts (a longer timer text reaches into the
#: state column, which is free where a timer fires).
SCREEN_GAP_IN = 2.75
SCREEN_SIDE_COL_IN = 1.0
#: On that paper a text beside a line wider than this folds onto two lines (``accept()`` /
#: ``→ fd 4 :40000``), so that hosts with sockets, whose texts carry ports, fit it too.
SCREEN_SIDE_MAX_IN = 1.15
SCREEN_GAP_MIN_IN = 1.6              # the gap on that paper at least, when columns widen
STATE_COL_IN = 1.02                  # state boxes beside each line
SIDE_COL_IN = 1.18                   # calls and timers in the outer margin
TICKS_IN = 0.55                      # least room for the time axis labels left of the axes
HEAD_IN = 0.95                       # header: names and initial states
FOOT_IN = 0.42


def mono_w(text: str, pt: float) -> float:
    """Width in inches of ``text`` set in DejaVu Sans Mono at ``pt`` points."""
    return len(text) * CHAR_W * pt / 72


def sans_w(text: str, pt: float) -> float:
    """A generous width in inches of ``text`` in DejaVu Sans at ``pt`` points."""
    return len(text) * SANS_W * pt / 72


class TimeMap:
    """Piecewise-linear time -> paper (inches, downwards) with compressed idle gaps."""

    def __init__(self, times: Iterable[float], unit: float):
        ts = sorted(set(round(t, 9) for t in times)) or [0.0]
        self.unit = unit
        self.scale = IN_PER_UNIT / unit               # inches per second
        thresh = BREAK_FACTOR * unit
        pad = PAD_UNITS * unit
        self.kt: list[float] = [ts[0]]
        self.ky: list[float] = [0.0]
        self.breaks: list[tuple[float, float, float, float]] = []  # t0, t1, y0, y1 (middle)
        for a, b in zip(ts, ts[1:]):
            gap = b - a
            y = self.ky[-1]
            if gap > thresh:
                ya = y + pad * self.scale
                yb = ya + BREAK_IN
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


class Rect:
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

    def overlaps(self, o: "Rect") -> bool:
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
class Arrow:
    pkt: Pkt
    x0: float
    x1: float
    label: str
    tags: tuple[str, ...]
    color: str
    offset: float = 0.0                  # paper inches, to separate identical paths
    # filled in by the layout
    label_rect: Rect | None = None
    label_text: str = ""
    label_angle: float = 0.0

    def point(self, tm: TimeMap, s: float) -> tuple[float, float]:
        """The point at fraction ``s`` of the straight arrow on paper (send -> arrival)."""
        p = self.pkt
        y0, y1 = tm.y(p.sent_at), tm.y(p.planned)
        return self.x0 + s * (self.x1 - self.x0), y0 + s * (y1 - y0) + self.offset

    def path(self, tm: TimeMap, s_end: float, s_start: float = 0.0) -> list[tuple[float, float]]:
        """The visible piece of the arrow, fractions ``s_start``..``s_end``.

        Arrows are straight on paper even across a compressed gap (a packet that wanders
        for seconds stays one straight line, not a bent one)."""
        return [self.point(tm, s_start), self.point(tm, s_end)]

    def s_at(self, tm: TimeMap, t: float) -> float:
        """The fraction of the arrow drawn by time ``t`` (for packets still in flight)."""
        p = self.pkt
        y0, y1 = tm.y(p.sent_at), tm.y(p.planned)
        if y1 <= y0:
            return 1.0 if t >= p.planned else 0.0
        return max(0.0, min(1.0, (tm.y(t) - y0) / (y1 - y0)))


def side_of(name: str, names: tuple[str, str]) -> int:
    return 0 if name == names[0] else 1


def fmt_seconds(t: float, unit: float) -> str:
    d = max(0, min(4, 1 - math.floor(math.log10(unit)))) if unit > 0 else 2
    text = f"{t:.{d}f}"
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    return text


def fmt_gap(g: float) -> str:
    if g >= 3600:
        return f"{g / 3600:.3g} h"
    if g >= 100:
        return f"{g:.1f} s"
    return f"{g:.3g} s"


def seg_label(seg: Segment, style: str) -> str:
    if style == "rfc":
        return seg.rfc()
    if style == "tcpdump":
        return seg.tcpdump()
    text = seg.label()
    return text


def label_variants(label: str) -> list[tuple[str, float]]:
    """The label on one line, then folded into two and three balanced lines (each fold
    costs a little more, so a label is folded only where one line would collide)."""
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


def arrowhead(pts: list[tuple[float, float]], sx: float, sy: float) -> list[tuple[float, float]]:
    """A filled arrowhead at the end of ``pts``, sized in real inches."""
    (x0, y0), (x1, y1) = pts[-2], pts[-1]
    dx, dy = (x1 - x0) / sx, (y1 - y0) / sy
    L = math.hypot(dx, dy) or 1.0
    ux, uy = dx / L, dy / L
    ln, hw = 0.12, 0.042
    bx, by = x1 / sx - ux * ln, y1 / sy - uy * ln
    return [(x1, y1), ((bx - uy * hw) * sx, (by + ux * hw) * sy),
            ((bx + uy * hw) * sx, (by - ux * hw) * sy)]


