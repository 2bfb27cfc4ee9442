"""Where everything of a whole run goes on the ladder: arrows, columns, TIME-WAIT, labels.

Builds on :mod:`.history` (the run), :mod:`.geometry` (paper, time map, rectangles),
:mod:`..words` (calls and timers in words, from the typed Step fields),
:mod:`..socket_names` and :mod:`..theme`.  Pure: computed once from the full history, so
that drawing any prefix of it (``upto=``) uses the same scale and places every label where
the full picture has it.

On a network of hosts with sockets (:class:`~tcplab.sockets.SocketNetwork`) a lane is a
host.  A host that holds several TCBs names the socket of each state in a short tag
(``SYN-RECEIVED :40001``: the client's port, see :mod:`..socket_names`), and of each call
that changes no state (``accept() → fd 4 :40000``); a listener's LISTEN is a band along its
host's line for as long as it listens; a SYN answered with a SYN cookie (no socket kept)
is a note, ``SYN cookie :40002``, not a state; a segment the host dropped unprocessed
(``Step.discard``) ends in a cross on that line, with ``✕ accept queue full`` (and the
tag) beside it; a host that has no
socket on the port says so (``no socket on :8080``).  The columns beside the lines widen
to fit those texts; a run of a plain two-endpoint Network is laid out as it always was.

>>> from tcplab import scenarios
>>> from .history import collect
>>> lay = LadderLayout(collect(scenarios.get("handshake").run(isn={"client": 100,
...                    "server": 300}), None, None, None), style="short")
>>> [a.label_text for a in lay.arrows.values()]
['SYN', 'SYN,ACK', 'ACK']
>>> [(it.actor, it.text) for it in lay.side_items]
[('server', 'listen()'), ('client', 'connect()')]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ...network import WIRE
from ...states import TcpState
from ...steps import Step
from ..socket_names import NO_SOCKET, split_name
from ..theme import COLORS, PALETTE
from ..words import call_text, rfc_words, timer_text
from .geometry import (GAP_IN, GAP_MIN_IN, HEAD_IN, FOOT_IN, LABEL_PT, LINE_H, SCREEN_GAP_IN,
                       SCREEN_GAP_MIN_IN, SCREEN_SIDE_COL_IN, SCREEN_SIDE_MAX_IN,
                       SIDE_COL_IN, SIDE_PT, STATE_COL_IN, STATE_PT,
                       TICKS_IN, Arrow, Rect, TimeMap, fmt_gap, fmt_seconds, label_variants,
                       mono_w, sans_w, seg_label, side_of)
from .history import Pkt, Run

__all__ = ["STYLES", "LadderLayout", "TwSpan", "ListenSpan", "ColItem"]

#: Label styles: RFC 9293 figure notation, tcpdump's, or just the flags.
STYLES = ("rfc", "tcpdump", "short")


@dataclass
class TwSpan:
    actor: str
    k_in: int
    t_in: float
    k_out: int | None                    # the step that left TIME-WAIT (None: still in it)
    t_out: float                         # when it left, or the pending deadline
    length: float                        # the 2*MSL the timer was set to
    restarts: list[tuple[int, float]]    # (step, time) where a segment restarted the timer
    last_deadline: float | None = None
    ended_by: str = ""                   # the event that ended it early ("" = the timer)
    key: str = ""                        # whose timer: the endpoint, or the TCB (sockets)
    tag: str = ""                        # the TCB's tag, on a host with several TCBs


@dataclass
class ListenSpan:
    """A listening socket's life in LISTEN, on its host's line (hosts with sockets)."""

    actor: str                           # the host
    socket: str                          # the listener's TCB name ("server:80")
    tag: str                             # ":80"
    k_in: int
    t_in: float
    k_out: int | None = None             # the step that ended it (None: still listening)
    t_out: float | None = None


@dataclass
class ColItem:
    kind: str
    actor: str
    step: int
    t: float
    text: str
    y_true: float                        # where it would like to be (stacking target)
    y: float = 0.0                       # where it is, after stacking
    gid: str = ""
    y_line: float = 0.0                  # the event's time on the timeline
    socket: str | None = None            # the TCB, on a network of hosts with sockets


class LadderLayout:
    """Where everything of a whole run goes, in paper inches (x right, y down).

    Computed once from the full history, so that drawing any prefix of it (``upto=``)
    uses the same scale and places every label where the full picture has it.
    ``screen=True``: the widgets' narrower paper (:data:`~.geometry.SCREEN_GAP_IN` between
    the timelines and :data:`~.geometry.SCREEN_SIDE_COL_IN` for the calls and timers);
    the files keep the wide one.
    """

    def __init__(self, run: Run, style: str = "rfc", *, screen: bool = False):
        if style not in STYLES:
            raise ValueError(f"style is one of {', '.join(STYLES)}; got {style!r}")
        self.run = run
        self.style = style
        self.screen = bool(screen)
        # the paper: the files' wide one, or the widgets' narrower one (screen=True)
        self._gap0, self._side0 = (SCREEN_GAP_IN, SCREEN_SIDE_COL_IN) if screen else \
            (GAP_IN, SIDE_COL_IN)
        self.names = run.names
        unit = run.latency if run.latency > 0 else 0.1
        self.unit = unit
        h = run.history
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
        self.tm = TimeMap(times, unit)
        longest = max((fmt_seconds(t, unit) for t in times), key=len, default="0")
        self.ticks_in = max(TICKS_IN, sans_w(f"now {longest} s", 7.5) + 0.12)
        self.t_first = self.tm.t_first
        self.y_top = -HEAD_IN
        self.y_bottom = self.tm.y(self.tm.t_last) + FOOT_IN
        self.height = self.y_bottom - self.y_top
        # data units per paper inch: 1, since an Axes of another size zooms the whole
        # picture uniformly (see _draw_into); the factors are kept for clarity of the maths
        self.sx = self.sy = 1.0
        self._time_wait()
        self._listening()
        self._columns()
        # -- x positions: the columns beside each line fit their texts (hosts with sockets)
        state_col, side_col = self._column_widths()
        self.col_in = (state_col, side_col)
        # wider columns take their room from the middle (down to GAP_MIN_IN), so that the
        # picture keeps its width, and its text its size on a screen
        wider = sum(state_col) + sum(side_col) - 2 * (STATE_COL_IN + self._side0)
        least = SCREEN_GAP_MIN_IN if self.screen else GAP_MIN_IN
        self.gap = max(least, self._gap0 - wider)
        self.x_line = (side_col[0] + state_col[0], side_col[0] + state_col[0] + self.gap)
        self.width = self.x_line[1] + state_col[1] + side_col[1]
        self._arrows()
        self._place_labels()

    def time_text(self, t: float) -> str:
        """How the time axis writes time ``t`` (the real time, for zero-latency rows)."""
        if self.run.real is not None:
            t = self.run.real.get(round(t, 9), t)
        return fmt_seconds(t, self.unit)

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
        self.arrows: dict[int, Arrow] = {}
        seen: dict[tuple, int] = {}
        for p in sorted(run.packets.values(), key=lambda p: (p.sent_at, p.id)):
            i = side_of(p.src, self.names)
            tags = []
            if p.retransmission:
                tags.append("retx")
            if p.copy_of is not None:
                tags.append(f"dup #{p.copy_of}")
            if p.delayed:
                tags.append("delayed")
            if p.injected:
                tags.append("injected")
            label = seg_label(p.segment, self.style)
            if tags:
                label = " ".join(tags) + " \u00b7 " + label
            color = COLORS["rst"] if p.segment.rst else PALETTE[i]
            a = Arrow(p, self.x_line[i], self.x_line[1 - i], label, tuple(tags), color)
            key = (p.src, round(p.sent_at, 9), round(p.planned, 9))
            n = seen.get(key, 0)
            if n:
                a.offset = 0.09 * n          # a duplicate on the very same path
            seen[key] = n + 1
            self.arrows[p.id] = a

    def arrow_end_s(self, p: Pkt, status: str, now: float) -> float:
        if status in ("delivered", "discarded"):
            return 1.0
        if status == "lost":
            return 0.5
        return self.arrows[p.id].s_at(self.tm, now)

    # -- side columns: states, calls, timers ---------------------------------------------
    def state_text(self, step: Step) -> str:
        """The state a step entered, as its box says it: ``"ESTABLISHED"``, or on a host
        with several TCBs ``"ESTABLISHED :40001"`` (see
        :meth:`~..socket_names.SocketNames.state_label`)."""
        return self.run.sockets.state_label(step)

    def _cookie(self, step: Step) -> bool:
        """A SYN answered with a SYN cookie: its connection entered SYN-RECEIVED, but no
        TCB of it is left afterwards (Linux frees the request sock)."""
        return self.run.sockets.state_label(step).startswith("(SYN cookie)")

    def _columns(self) -> None:
        run, tm = self.run, self.tm
        names = run.sockets
        self.state_items: list[ColItem] = []
        self.side_items: list[ColItem] = []
        for i, s in enumerate(run.history):
            if s.actor == WIRE:
                continue
            y = tm.y(s.time)
            changed = s.after is not None and s.before is not s.after
            sock = s.socket
            if s.kind == "call":
                text = call_text(s)
                if not changed and sock not in names.listeners:
                    text = names.label(text, sock)     # which connection, on a busy host
                self.side_items.append(ColItem("call", s.actor, i, s.time, text, y,
                                                gid=f"call-{s.actor}-{i}", socket=sock))
            elif s.kind == "timer":
                self.side_items.append(ColItem("timer", s.actor, i, s.time, timer_text(s),
                                                y, gid=f"timer-{s.actor}-{i}", socket=sock))
            if s.error:
                self.side_items.append(ColItem("error", s.actor, i, s.time,
                                                f"\u26a0 {s.error}", y,
                                                gid=f"error-{s.actor}-{i}", socket=sock))
            if s.discard:
                text = names.label(f"\u2715 {s.discard}", sock)
                pkt = run.packets.get(s.packet) if s.packet is not None else None
                if sock in names.listeners and s.actor in names.tagged and pkt is not None \
                        and pkt.sport:
                    # a SYN the listener dropped: the connection it would have made
                    text = f"\u2715 {s.discard} :{pkt.sport}"
                self.side_items.append(ColItem("discard", s.actor, i, s.time, text, y,
                                                gid=f"discard-{s.actor}-{i}", socket=sock))
            if sock is not None and sock.endswith(NO_SOCKET) and s.kind == "segment":
                port = split_name(sock)[1]
                self.side_items.append(ColItem("note", s.actor, i, s.time,
                                                f"no socket on :{port}", y,
                                                gid=f"note-{s.actor}-{i}", socket=sock))
            if any(k == i for sp in self.tw_spans for k, _ in sp.restarts):
                self.side_items.append(ColItem("restart", s.actor, i, s.time,
                                                "2MSL restarted", y,
                                                gid=f"restart-{s.actor}-{i}", socket=sock))
            if changed and self._cookie(s):
                # answered with a SYN cookie: Linux keeps no socket, so no state to show
                self.side_items.append(ColItem("note", s.actor, i, s.time,
                                                names.label("SYN cookie", sock), y,
                                                gid=f"note-{s.actor}-{i}", socket=sock))
            elif changed:
                self.state_items.append(ColItem("state", s.actor, i, s.time,
                                                 self.state_text(s), y,
                                                 gid=f"state-{s.actor}-{i}", socket=sock))
        if self.screen and names:
            for it in self.side_items:       # the widgets' narrow paper: long texts fold
                it.text = _fold(it.text, mono_w if it.kind == "call" else sans_w)
        for it in self.state_items + self.side_items:
            it.y_line = it.y_true
        box_h = (STATE_PT * LINE_H + 4) / 72
        side_h = SIDE_PT * LINE_H / 72
        self._stack(self.state_items, box_h + 0.03)
        # a call or timer sits level with the state it caused, even when that was pushed
        by_step = {(it.actor, it.step): it.y for it in self.state_items}
        for it in self.side_items:
            it.y_true = by_step.get((it.actor, it.step), it.y_true)
        self._stack(self.side_items, side_h + 0.02)

    def _column_widths(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(state column, side column) widths of each lane, in inches: the standard ones,
        or on a network of hosts with sockets as wide as their texts need."""
        state = [STATE_COL_IN, STATE_COL_IN]
        side = [self._side0, self._side0]
        if not self.run.sockets:
            return (state[0], state[1]), (side[0], side[1])
        for it in self.state_items:
            i = side_of(it.actor, self.names)
            # a box: 0.1 in from the line, its text and 0.1 in of padding, a margin
            state[i] = max(state[i], mono_w(it.text, STATE_PT) + 0.28)
        for it in self.side_items:
            i = side_of(it.actor, self.names)
            w = max(mono_w(line, SIDE_PT) if it.kind == "call" else sans_w(line, SIDE_PT)
                    for line in it.text.split("\n"))
            if it.kind in ("timer", "restart"):
                w += 0.2                                  # the clock before the text
            side[i] = max(side[i], w + 0.2)
        return (state[0], state[1]), (side[0], side[1])

    def _listening(self) -> None:
        """The spans of the listening sockets (hosts with sockets): from ``listen()`` to
        the step that takes the listener out of LISTEN (its ``close()``)."""
        self.listen_spans: list[ListenSpan] = []
        names = self.run.sockets
        if not names.listeners:
            return
        open_: dict[str, ListenSpan] = {}
        for i, s in enumerate(self.run.history):
            sock = s.socket
            if sock is None or sock not in names.listeners:
                continue
            if s.after is TcpState.LISTEN and sock not in open_:
                open_[sock] = ListenSpan(s.actor, sock, names.tag(sock) or
                                         f":{split_name(sock)[1]}", i, s.time)
            elif s.after is not TcpState.LISTEN and sock in open_:
                span = open_.pop(sock)
                span.k_out, span.t_out = i, s.time
                self.listen_spans.append(span)
        self.listen_spans.extend(open_.values())

    def _stack(self, items: list[ColItem], h: float) -> None:
        """Place each lane's items at their times, pushed down so that none overlaps the
        one before (an item of n lines is n * h tall, centred on its ``y``)."""
        for name in self.names:
            col = [it for it in items if it.actor == name]
            col.sort(key=lambda it: (it.y_true, it.step))
            bottom = -1e9
            for it in col:
                half = h * (1 + it.text.count("\n")) / 2
                it.y = max(it.y_true - h / 2, bottom) + half
                bottom = it.y + half

    # -- TIME-WAIT ------------------------------------------------------------------------
    def _time_wait(self) -> None:
        """The TIME-WAIT spans: who, from which step and time, until which (or until the
        deadline still pending), the 2*MSL length, and where a segment restarted it."""
        self.tw_spans: list[TwSpan] = []
        h = self.run.history
        tw = TcpState.TIME_WAIT
        open_: dict[str, TwSpan] = {}

        names = self.run.sockets

        def deadline(step: Step, key: str) -> float | None:
            return next((d for n, tmr, d in step.timers if n == key and tmr == "time-wait"),
                        None)

        for i, s in enumerate(h):
            if s.actor == WIRE:
                continue
            # whose TIME-WAIT: the endpoint, or on a host with sockets the TCB
            key = s.socket if s.socket in names.host else s.actor
            span = open_.get(key)
            if s.after is tw and s.before is not tw:
                d = deadline(s, key)
                open_[key] = TwSpan(s.actor, i, s.time, None, d if d is not None else
                                    s.time, (d - s.time) if d is not None else 0.0,
                                    [], d, key=key, tag=names.tag(s.socket))
            elif span is not None and s.before is tw and s.after is not tw:
                span.k_out, span.t_out = i, s.time
                span.ended_by = ("" if s.kind == "timer" else
                                 f"rcv {s.received.label()}" if s.received is not None
                                 else rfc_words(s))
                self.tw_spans.append(open_.pop(key))
            elif span is not None and s.after is tw:
                d = deadline(s, key)
                if d is not None and span.last_deadline is not None and \
                        abs(d - span.last_deadline) > 1e-9:
                    span.restarts.append((i, s.time))
                    span.last_deadline = d
        for key, span in open_.items():
            span.t_out = self.tw_pending.get(key, span.t_out)
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
        line_h = LABEL_PT * LINE_H / 72
        lo_x = self.x_line[0] / sx + 0.1
        hi_x = self.x_line[1] / sx - 0.1
        polys: list[tuple[int, list[tuple[float, float]]]] = []
        blocks: list[Rect] = []
        for pid, a in self.arrows.items():
            p = a.pkt
            s_end = 0.5 if p.lost_step is not None else 1.0
            polys.append((pid, [(x / sx, y / sy) for x, y in a.path(tm, s_end)]))
            x, y = a.point(tm, s_end)
            if p.lost_step is not None:
                blocks.append(Rect(x / sx, y / sy, 1, 0, 0.1, 0.1))
            else:
                blocks.append(Rect(x / sx, y / sy, 1, 0, 0.13, 0.06))
        mid = (self.x_line[0] + self.x_line[1]) / 2 / sx
        for (t0, t1, y0, y1) in tm.breaks:
            text = f"\u2248 {fmt_gap(t1 - t0)} later"
            blocks.append(Rect(mid, (y0 + y1) / 2 / sy, 1, 0, sans_w(text, 8) / 2 + 0.05,
                                0.09))
        placed: list[Rect] = []
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
            best: tuple[float, Rect, str, float] | None = None
            for text, penalty in label_variants(a.label):
                nlines = text.count("\n") + 1
                half_a = (mono_w(max(text.split("\n"), key=len), LABEL_PT) + 0.06) / 2
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
                            r = Rect(bx + ox, by + oy, fux, fuy, half_a, half_b)
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


def _fold(text: str, width: "Callable[[str, float], float]") -> str:
    """``text`` on two lines if it is wider than :data:`~.geometry.SCREEN_SIDE_MAX_IN` at
    the side columns' size: before its result (`` → ``) if it has one, else at the space
    that makes the wider line narrowest."""
    if "\n" in text or width(text, SIDE_PT) <= SCREEN_SIDE_MAX_IN:
        return text
    if " \u2192 " in text:
        return text.replace(" \u2192 ", "\n\u2192 ", 1)
    cuts = [i for i, ch in enumerate(text) if ch == " " and 0 < i < len(text) - 1]
    if not cuts:
        # code without spaces, e.g. setsockopt(SO_REUSEADDR): after its parenthesis
        cut = text.find("(")
        return text if cut < 1 or cut == len(text) - 2 else \
            text[:cut + 1] + "\n" + text[cut + 1:]
    best = min(cuts, key=lambda i: max(width(text[:i], SIDE_PT), width(text[i + 1:], SIDE_PT)))
    return text[:best] + "\n" + text[best + 1:]
