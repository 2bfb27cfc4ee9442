"""The "reach every edge" challenge: which edges of the state diagram a run has taken.

Pure: built on the run's typed step records (``Step.transitions``, the transitions an
endpoint took in that step, looked up in :mod:`tcplab.transitions`) and the edges the
state diagram draws (:meth:`tcplab.render.StateDiagram.transitions`, the layers shown).
The explorer shows the result: the diagram with the taken edges marked (its coverage
overlay), a counter, and a hint for each edge still missing.  Hints say what to *do* in
the explorer, not which state results, so the learner still has to think.

>>> from tcplab import scenarios
>>> from tcplab.render import StateDiagram
>>> prog = progress(scenarios.get("handshake").run().history, StateDiagram().transitions)
>>> prog.counter
'5 of 22 edges'
>>> prog.taken["active-open"], prog.missing[0].key
(('client',), 'listen-close')
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Iterable, Mapping, Sequence

from ..steps import Step
from ..transitions import Transition

__all__ = ["Progress", "progress", "HINTS", "hint", "panel_html"]

#: What to try in the explorer to take each edge (by transition key).
HINTS = {
    "passive-open": "make one side listen()",
    "active-open": "connect() from a CLOSED side",
    "listen-close": "close() a side that is listening, before anyone connects",
    "listen-send": "send() on a listening side: it turns active",
    "listen-rcv-syn": "let a SYN reach a listening side",
    "syn-sent-rcv-syn": "connect() on both sides and deliver the two SYNs crosswise",
    "syn-sent-rcv-syn-ack": "deliver the SYN,ACK that answers a side's SYN",
    "syn-sent-close": "connect(), then close() before any answer arrives",
    "syn-received-rcv-ack": "deliver the ACK that completes a handshake",
    "syn-received-rcv-rst": ("get a RST to a listener's half-open connection: abort() the "
                             "side that connected while the SYN,ACK is on the wire, deliver "
                             "the SYN,ACK, then the RST it gets as an answer"),
    "syn-received-close": "close() a side in SYN-RECEIVED, before the handshake's last ACK",
    "established-close": "close() a side whose connection is open",
    "established-rcv-fin": "deliver a FIN to a side whose connection is open",
    "fin-wait-1-rcv-ack": "deliver the ACK of a side's FIN before the peer closes",
    "fin-wait-1-rcv-fin": ("get a FIN to cross yours: close() both sides, then deliver the "
                           "FINs before either ACK"),
    "fin-wait-1-rcv-fin-ack": ("let the peer's FIN arrive carrying the ACK of yours: close() "
                               "one side, deliver its FIN, close() the other, deliver that "
                               "FIN before the lone ACK (drop the ACK)"),
    "fin-wait-2-rcv-fin": "after your FIN is ACKed, close() the peer and deliver its FIN",
    "close-wait-close": "close() the side that received the first FIN",
    "closing-rcv-ack": "after a simultaneous close, deliver the ACKs",
    "last-ack-rcv-ack": "deliver the last ACK to the side that closed second",
    "time-wait-timeout": "wait in TIME-WAIT: Next timer lets 2·MSL pass",
    "time-wait-rcv-fin": ("drop the last ACK, then let the peer retransmit its FIN (Next "
                          "timer) and deliver it"),
}


def hint(t: Transition) -> str:
    """What to try to take ``t``: :data:`HINTS`, else the table's own words."""
    return HINTS.get(t.key, f"in {t.source.rfc}: {t.event}")


@dataclass(frozen=True)
class Progress:
    """The edges of a diagram a run has taken.

    ``edges``: the drawn transitions, in diagram order; ``taken``: key -> the endpoints
    that took it (in the order they first did); ``missing``: the edges nobody took yet.
    """

    edges: tuple[Transition, ...]
    taken: dict[str, tuple[str, ...]]

    @property
    def missing(self) -> list[Transition]:
        return [t for t in self.edges if t.key not in self.taken]

    @property
    def done(self) -> bool:
        return not self.missing

    @property
    def counter(self) -> str:
        """``"17 of 22 edges"``."""
        n = len(self.edges)
        return f"{len(self.taken)} of {n} edge{'s' if n != 1 else ''}"


def progress(history: Sequence[Step], edges: Iterable[Transition]) -> Progress:
    """Which of ``edges`` the steps of ``history`` took, and by whom."""
    edges = tuple(edges)
    drawn = {t.key for t in edges}
    taken: dict[str, list[str]] = {}
    for step in history:
        for t in step.transitions:
            if t.key in drawn:
                who = taken.setdefault(t.key, [])
                if step.actor not in who:
                    who.append(step.actor)
    order = {t.key: i for i, t in enumerate(edges)}
    return Progress(edges, {k: tuple(v) for k, v in sorted(taken.items(),
                                                           key=lambda kv: order[kv[0]])})


def panel_html(prog: Progress, colors: Mapping[str, str]) -> str:
    """The challenge's panel: the counter, the edges each endpoint took, and a hint per
    missing edge (open when three or fewer are left).  ``colors``: endpoint -> colour."""
    per = " · ".join(f'<span style="color:{c}">{escape(n)}</span> '
                     f'{sum(n in who for who in prog.taken.values())}'
                     for n, c in colors.items())
    if prog.done:
        body = ('<div class="tl-done">Every edge taken: you have walked the whole '
                'diagram.</div>')
    else:
        items = "".join(f'<li class="t-hint"><code>{escape(t.source.rfc)} → '
                        f'{escape(t.target.rfc)}</code> {escape(hint(t))}</li>'
                        for t in prog.missing)
        body = (f'<details class="tl-hints"{" open" if len(prog.missing) <= 3 else ""}>'
                f'<summary>Hints for the {len(prog.missing)} missing</summary>'
                f'<ul>{items}</ul></details>')
    return (f'<div class="tl-challenge"><span class="t-edge-count tl-count">'
            f'{escape(prog.counter)}</span> <span class="tl-muted">taken by your run (drawn in '
            f'colour on the diagram, the others faded) · edges per endpoint: {per}</span>'
            f'{body}</div>')
