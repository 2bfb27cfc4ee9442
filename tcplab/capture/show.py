"""Pictures and text of one captured conversation, drawn with the render layer.

:class:`CaptureRun` turns an :class:`~tcplab.capture.infer.Inference` into what the render
layer draws -- a history of typed :class:`~tcplab.steps.Step` records, the two endpoint
names, the one-way latency and the packets -- with the *capture's* segments and times:
each packet leaves its sender at its estimated send time and reaches its receiver at its
estimated arrival time, with the states the model inferred.  So the existing pictures
need no capture-specific code: :func:`ladder` (:func:`tcplab.render.ladder`), :func:`trace`
(the RFC-figure trace of :mod:`tcplab.render.text`), :func:`diagram` (both ends' paths on
:class:`tcplab.render.StateDiagram`).  The stepper steps through the model's own run:
``tcplab.ui.stepper(inference.network)``.

matplotlib and graphviz are imported by the render layer, only when a picture is drawn.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..network import Packet
from ..segment import SEQ_MOD, Segment
from ..states import TcpState
from ..steps import Step
from .infer import Inference

__all__ = ["CaptureRun", "ladder", "save_ladder", "trace", "diagram"]

#: Below this one-way latency (s) the ladder gives every event its own row (loopback).
ROWS_BELOW = 1e-3


class CaptureRun:
    """One conversation as a run: ``history`` (Steps), ``names``, ``latency``, packets.

    It has the attributes the render layer reads from a :class:`~tcplab.network.Network`
    (``history``, ``names``, ``latency``, ``now``, ``delivered``, ``lost``, ``in_flight``).
    Times are seconds on the inference's clock (the capture's time minus ``base``).
    """

    def __init__(self, inf: Inference, *, relative: bool = True) -> None:
        self.inference = inf
        self.relative = bool(relative)
        self.names = ("client", "server")
        isn = inf.network.isn
        lat = inf.point.latency
        self.latency = lat if lat >= ROWS_BELOW else 0.0
        events: list[tuple[float, int, int, Step]] = []
        self.delivered: list[tuple[Packet, float]] = []
        self.lost: list[Packet] = []
        self.in_flight: list[Packet] = []
        for ps in inf.packets:
            pid, seg = ps.number, ps.segment
            if relative:
                seg = _relative(seg, isn.get(ps.src, 0), isn.get(ps.dst, 0))
            label = seg.label()
            if ps.call:
                send = Step(time=ps.sent_at, actor=ps.src, kind="call", event=ps.call,
                            before=ps.sender[0], after=ps.sender[1],
                            explanation=f"The {ps.src} calls {ps.call} and sends {label}.",
                            rfc="", sent=(seg,), packets=(pid,),
                            transitions=ps.sender_transitions, socket_call=ps.call,
                            retransmission=ps.retransmission)
            else:
                send = Step(time=ps.sent_at, actor=ps.src, kind="send", event=f"snd {label}",
                            before=ps.sender[0], after=ps.sender[1],
                            explanation=ps.why_sent or f"The {ps.src} sends {label}.",
                            rfc="", sent=(seg,), packets=(pid,),
                            retransmission=ps.retransmission)
            notes = "".join(f" {m}." for m in ps.marks) + \
                "".join(f" Uncertain: {u}." for u in ps.uncertain)
            arrive = Step(time=ps.arrives_at, actor=ps.dst, kind="segment",
                          event=f"rcv {label}", before=ps.receiver[0], after=ps.receiver[1],
                          explanation=ps.explanation + notes, rfc=ps.rfc, received=seg,
                          packet=pid, transitions=ps.transitions, error=ps.error,
                          timers=ps.timers)
            events.append((ps.sent_at, pid, 0, send))
            events.append((ps.arrives_at, pid, 1, arrive))
            pkt = Packet(pid, ps.src, ps.dst, seg, ps.sent_at, ps.arrives_at,
                         retransmission=ps.retransmission)
            self.delivered.append((pkt, ps.arrives_at))
        events.sort(key=lambda e: (round(e[0], 9), e[1], e[2]))
        states = {"client": TcpState.CLOSED, "server": TcpState.CLOSED}
        first = inf.packets[0]
        states[first.src] = first.sender[0]
        states[first.dst] = first.receiver[0]
        if first.receiver[0] is TcpState.LISTEN:
            states[first.dst] = TcpState.CLOSED
        self.history: list[Step] = []
        listen = next((st for st in inf.network.history if st.call == "listen"), None)
        if listen is not None and first.receiver[0] is TcpState.LISTEN or \
                first.sender[0] is TcpState.LISTEN:
            # the server listened before the capture began: its listen() opens the run
            start = min(events[0][0], 0.0) if events else 0.0
            events.insert(0, (start, 0, 0, replace(listen, time=start, sent=(), packets=())))
        for i, (_, _, _, step) in enumerate(events):
            if step.after is not None:
                states[step.actor] = step.after
            step.index = i
            step.states = tuple(states.items())
            self.history.append(step)
        self.now = self.history[-1].time if self.history else 0.0

    def __len__(self) -> int:
        return len(self.history)

    def __repr__(self) -> str:
        c = self.inference.conversation
        return (f"<CaptureRun conversation {c.number}: {len(self.inference.packets)} packets, "
                f"{len(self.history)} steps>")


def _relative(seg: Segment, isn_src: int, isn_dst: int) -> Segment:
    """The segment with sequence numbers relative to the ISNs (as Wireshark shows them)."""
    return Segment(seg.flags, (seg.seq - isn_src) % SEQ_MOD,
                   (seg.ack - isn_dst) % SEQ_MOD if seg.has_ack else 0, seg.window, seg.data)


def _run(source: "Inference | CaptureRun", relative: bool = True) -> CaptureRun:
    if isinstance(source, CaptureRun):
        return source
    if isinstance(source, Inference):
        return CaptureRun(source, relative=relative)
    raise TypeError(f"expected an Inference (tcplab.capture.infer) or a CaptureRun, "
                    f"got {type(source).__name__}")


def _title(run: CaptureRun) -> str:
    c = run.inference.conversation
    (ch, cp), (sh, sp) = c.client, c.server
    rel = " (relative sequence numbers)" if run.relative else ""
    return f"conversation {c.number}: client {ch}:{cp}  ->  server {sh}:{sp}{rel}"


def ladder(source: "Inference | CaptureRun", *, style: str = "tcpdump",
           title: str | None = None, upto: int | None = None, relative: bool = True,
           **kwargs: Any) -> Any:
    """The ladder diagram of the conversation (a matplotlib Figure; see
    :func:`tcplab.render.ladder` for ``style``, ``upto`` and the rest).  Sequence numbers
    are relative to each end's ISN (as Wireshark shows them) unless ``relative=False``."""
    from ..render.ladder_diagram import ladder as draw
    run = _run(source, relative)
    return draw(run, style=style, upto=upto, title=title or _title(run),
                packets=[p for p, _ in run.delivered], names=run.names,
                latency=run.latency, **kwargs)


def save_ladder(source: "Inference | CaptureRun", path: "str | Path", *,
                style: str = "tcpdump", dpi: int = 110, relative: bool = True) -> Path:
    """Draw the ladder and save it (PNG, SVG or PDF from the suffix, by ``savefig``)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"save_ladder() writes .png, .svg or .pdf files, not {path.name!r}")
    fig = ladder(source, style=style, relative=relative)
    fig.savefig(path, format=fmt, dpi=dpi, bbox_inches="tight")
    return path


def trace(source: "Inference | CaptureRun", style: str = "rfc", times: bool = True,
          relative: bool = True) -> str:
    """The conversation as an RFC 9293 figure (see :func:`tcplab.render.trace`), sequence
    numbers relative to the ISNs unless ``relative=False``."""
    from ..render.text import trace as text
    return text(_run(source, relative), style=style, times=times)  # type: ignore[arg-type]


def diagram(source: "Inference | CaptureRun", k: int | None = None, **kwargs: Any) -> Any:
    """The state diagram with both ends' paths up to step ``k`` of the run (default: all),
    a :class:`tcplab.render.DiagramView`; ``kwargs`` go to :class:`~tcplab.render.StateDiagram`
    (default ``layers="all"``, so resets and aborts are drawn)."""
    from ..render.diagram import StateDiagram
    run = _run(source)
    kwargs.setdefault("layers", "all")
    return StateDiagram(**kwargs).highlight_step(run.history, k, names=run.names)
