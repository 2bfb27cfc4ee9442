"""Text traces of a run in the style of RFC 9293 figures 6, 7, 12 and 13::

        TCP client                                       TCP server
    1.  CLOSED                                           LISTEN
    2.  SYN-SENT    --> <SEQ=100><CTL=SYN>           --> SYN-RECEIVED
    3.  ESTABLISHED <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED

``...`` means the segment is still in the network (it arrives on a later line, or is lost).

On a network of hosts with sockets (:class:`~tcplab.sockets.SocketNetwork`) a host that
holds several TCBs tags each state with its socket (``SYN-RECEIVED :40001``, see
:mod:`.socket_names`), a socket call is written as code with its result
(``(passive OPEN: listen(1))``, ``(accept() → fd 4)``), and a segment the host dropped
unprocessed arrives as ``--x`` with the reason::

    31.  ... <SEQ=...><CTL=ACK> (dropped: accept queue full) --x (SYN cookie) :40002

Builds on the model (:class:`~tcplab.network.Network`, its history of typed
:class:`~tcplab.steps.Step` records), :mod:`.words` and :mod:`.socket_names`; no picture
library.

>>> from tcplab import scenarios
>>> net = scenarios.get("handshake").run(isn={"client": 100, "server": 300})
>>> for line in trace_lines(net, times=False)[3:5]:
...     print(line)
 3. SYN-SENT     --> <SEQ=100><CTL=SYN>              --> SYN-RECEIVED
 4. ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED
"""

from __future__ import annotations

from ..network import WIRE, Network
from ..states import TcpState
from ..steps import Step
from .socket_names import socket_names
from .words import WIRE_VERBS, rfc_words, socket_call_text

__all__ = ["trace_lines", "trace"]


def trace_lines(net: Network, style: str = "rfc", times: bool = True) -> list[str]:
    """One line per segment or state change, like the RFC's figures.

    A segment delivered by the very next step is one line ``A --> seg --> B``; otherwise
    it is sent on one line (``--> seg ...``) and arrives on a later one (``... seg -->``).
    A segment the receiving host dropped unprocessed (``Step.discard``) arrives as ``--x``.
    """
    if style not in ("rfc", "tcpdump"):
        raise ValueError(f"style is 'rfc' or 'tcpdump', not {style!r}")
    left, right = net.names
    fmt = (lambda seg: seg.rfc()) if style == "rfc" else (lambda seg: seg.tcpdump())
    packets = {p.id: p for p in net.lost + net.in_flight}
    packets.update({p.id: p for p, _ in net.delivered})
    history = net.history
    rows: list[tuple[float | None, str, str, str, str, str]] = [
        (None, str(TcpState.CLOSED), "", "", "", str(TcpState.CLOSED))]
    socks = socket_names(history)
    state = socks.state_label if socks else (lambda step: str(step.after))

    def line(t: float, actor: str, state: str, near: str, seg: str, far: str,
             other: str = "") -> None:
        """``near`` is the arrow on the actor's side, ``far`` on the other side."""
        if actor == left:
            rows.append((t, state, near, seg, far, other))
        else:
            mirror = {"-->": "<--", "<--": "-->", "--x": "x--", "x--": "--x"}
            rows.append((t, other, mirror.get(far, far), seg, mirror.get(near, near), state))

    def call(step: Step) -> str:
        if step.result is None or not step.socket_call:
            return rfc_words(step)
        code = socket_call_text(step)
        return f"{step.rfc_call}: {code}" if step.rfc_call else code

    def arrived(step: Step, seg: str) -> tuple[str, str]:
        """(the segment's text, the arrow at the receiver) for an arrival ``step``."""
        if step.discard:
            return f"{seg} (dropped: {step.discard})", "--x"
        return seg, "-->"

    merged: set[int] = set()
    for i, st in enumerate(history):
        if st.actor == WIRE:
            p = packets.get(st.packet) if st.packet is not None else None
            verb = WIRE_VERBS.get(st.wire or "", st.wire or "")
            desc = f"{p.segment.label()} from {p.src}" if p else "packet"
            rows.append((st.time, "", "", f"(#{st.packet} {desc} {verb})", "", ""))
            continue
        if st.kind == "segment" and i not in merged and st.packet is not None:
            seg, arrow = arrived(st, fmt(packets[st.packet].segment))
            line(st.time, st.actor, state(st), "<--" if arrow == "-->" else "x--", seg, "...")
        elif st.kind != "segment" and not st.packets:
            line(st.time, st.actor, state(st), "", f"({call(st)})", "")
        for pid in st.packets:
            p = packets.get(pid)
            if p is None:
                continue
            nxt = history[i + 1] if i + 1 < len(history) else None
            if nxt is not None and nxt.kind == "segment" and nxt.packet == pid:
                merged.add(i + 1)
                seg, arrow = arrived(nxt, fmt(p.segment))
                line(st.time, st.actor, state(st), "-->", seg, arrow, state(nxt))
            else:
                line(st.time, st.actor, state(st), "-->", fmt(p.segment), "...")
    seg_w = max(len(r[3]) for r in rows)
    st_w = max([len(s.rfc) for s in TcpState] + [len(r[1]) for r in rows])
    pad = " " * 9 if times else ""
    lines = [f"    {pad}{'TCP ' + left:<{st_w}}     {'':<{seg_w}}     TCP {right}"]
    for n, (t, l, a1, seg, a2, r) in enumerate(rows, 1):
        tcol = "" if not times else (f"{t:7.3f}s " if t is not None else pad)
        lines.append(f"{n:>2}. {tcol}{l:<{st_w}} {a1:>3} {seg:<{seg_w}} {a2:<3} {r}".rstrip())
    return lines


def trace(net: Network, style: str = "rfc", times: bool = True) -> str:
    """The whole trace as one string (see :func:`trace_lines`)."""
    return "\n".join(trace_lines(net, style, times))
