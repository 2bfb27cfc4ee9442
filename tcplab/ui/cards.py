"""The HTML cards of the widgets: state badges, the clock, the explanation, segments, packets.

Pure functions from the model's records (:class:`~tcplab.steps.Step`, the
:class:`~tcplab.network.Network`'s packets and timers) to small HTML fragments, styled by
``tcplab.css`` (:mod:`tcplab.ui.style`).  No ipywidgets here: the widgets only put these
strings into ``HTML`` widgets, so every card can be tested, and read, on its own.  What a
step *is* comes from its typed fields (``kind``, ``received``, ``timer``, ...);
``Step.event`` is only ever shown, never taken apart.

>>> from tcplab import TcpState
>>> html = badge_html("client", TcpState.TIME_WAIT, TcpState.FIN_WAIT_2, "#0072B2")
>>> "TIME-WAIT" in html and "was FIN-WAIT-2" in html and "ss <b>TIME-WAIT</b>" in html
True
>>> print(rfc_link("RFC 9293 §3.10.7.4"))              # doctest: +NORMALIZE_WHITESPACE
RFC 9293 <a href="https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4" target="_blank"
rel="noopener">§3.10.7.4</a>
>>> css_name("web server:1")
'web_server_1'

A host of a :class:`~tcplab.sockets.SocketNetwork` gets :func:`host_badge_html`: the
states of all its TCBs (each socket by its tag, see :mod:`tcplab.render.socket_names`)
above its ``ss -tano`` lines.
"""

from __future__ import annotations

import html
import re
from typing import Mapping, Sequence

from ..network import Network, Packet
from ..render.socket_names import SocketNames
from ..scenarios import Scenario
from ..segment import Segment
from ..states import TcpState
from ..steps import Step
from .style import WIRE_COLOR

__all__ = ["css_name", "esc", "rfc_link", "error_text", "badge_html", "host_badge_html",
           "ss_html", "clock_html", "explain_html", "segments_html", "packet_html",
           "head_html", "TIMER_NAMES"]

#: How each timer is called for a learner.
TIMER_NAMES = {"time-wait": "TIME-WAIT (2·MSL)",
               "retransmission": "retransmission",
               "fin-wait-2": "FIN-WAIT-2 (tcp_fin_timeout)"}


def css_name(name: object) -> str:
    """A CSS-class-safe form of an endpoint or state name."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(name)) or "_"


def esc(text: object) -> str:
    """``text`` escaped for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def rfc_link(ref: str) -> str:
    """``RFC 9293 §3.10.7.4`` -> a link to that section (other text is escaped as is)."""
    def link(m: re.Match) -> str:
        return (f'<a href="https://www.rfc-editor.org/rfc/rfc9293#section-{m.group(1)}" '
                f'target="_blank" rel="noopener">§{m.group(1)}</a>')
    text = esc(ref)
    if "RFC 9293" in ref:
        text = re.sub(r"§(\d+(?:\.\d+)*)", link, text)
    return text


def error_text(exc: BaseException) -> str:
    """The plain-words message of an exception (no traceback, no repr quotes)."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


def timer_name(timer: str) -> str:
    """``"TIME-WAIT (2·MSL)"`` for ``"time-wait"``; ``"persist timer"`` for others."""
    return TIMER_NAMES.get(timer, f"{timer} timer")


def _fmt_t(t: float) -> str:
    return f"{t:.3f}"


def _fmt_left(sec: float) -> str:
    return f"{sec:.1f} s" if sec < 100 else f"{sec:.0f} s"


def badge_html(name: str, state: TcpState, before: TcpState | None, color: str) -> str:
    """An endpoint's state: its RFC name large, the ``ss``/``netstat``/SNMP names below,
    and ``was ...`` when ``before`` differs (then the badge is marked ``tl-changed``)."""
    changed = before is not None and before is not state
    was = (f'<span class="tl-was">was {before.rfc}</span>'  # type: ignore[union-attr]
           if changed else "")
    return (f'<div class="tl-badge{" tl-changed" if changed else ""}" style="--c:{color}" '
            f'title="{esc(state.description)}"><span class="tl-who">{esc(name)}</span>'
            f'<span class="tl-state">{esc(state.rfc)}</span>{was}'
            f'<div class="tl-names"><span>ss <b>{esc(state.ss)}</b> ·</span> '
            f'<span>netstat <b>{esc(state.netstat)}</b> ·</span> '
            f'<span>SNMP <b>{esc(state.mib_name)}({state.mib})</b></span></div></div>')


def host_badge_html(host: str, tcbs: Sequence[tuple[str, TcpState]], socks: SocketNames,
                    color: str, *, step: Step | None = None, ss: str = "") -> str:
    """A host's badge on a network of hosts with sockets: its name, every TCB's state
    (those in one state together, each socket by its tag: ``LISTEN :80 · ESTABLISHED
    :40000 :40001``; none: ``CLOSED``), what the shown ``step`` (if it is this host's)
    changed -- ``:40001 was SYN-RECEIVED``, or for a TCB it ended ``CLOSED :40000, was
    ESTABLISHED`` (then the badge is marked ``tl-changed``) -- and the host's ``ss -tano``
    text ``ss`` below (:func:`ss_html`).

    ``tcbs``: ``(TCB name, state)`` of the host, as :meth:`SocketNames.of_host` lists
    them.
    """
    moved = step.socket if step is not None and step.actor == host else None
    groups: dict[TcpState, list[str]] = {}
    for name, state in tcbs:
        groups.setdefault(state, []).append(name)
    chips = []
    for state, names in groups.items():
        tags = " ".join(socks.tag(n) for n in names if socks.tag(n))
        mine = " tl-tcb-moved" if moved in names else ""
        chips.append(f'<span class="tl-tcb{mine}" title="{esc(state.description)}">'
                     f'<span class="tl-state">{esc(state.rfc)}</span>'
                     + (f' <code class="tl-tags">{esc(tags)}</code>' if tags else "")
                     + "</span>")
    if not chips:
        chips.append('<span class="tl-tcb" title="no TCB: no socket is listening or '
                     f'connected"><span class="tl-state">{TcpState.CLOSED.rfc}</span></span>')
    changed = moved is not None and step is not None and step.changed_state
    was = ""
    if changed:
        assert step is not None and step.before is not None
        if moved in dict(tcbs):
            tag = socks.tag(moved)
            now = f"{tag} " if tag else ""
        else:                                   # the TCB is no more: say where it went
            now = socks.state_label(step) + ", "
        if now.startswith("(SYN cookie)"):
            was = (f'<span class="tl-was">SYN cookie {esc(socks.tag(moved))}: no socket '
                   'kept</span>')
        else:
            was = f'<span class="tl-was">{esc(now)}was {esc(step.before.rfc)}</span>'
    return (f'<div class="tl-badge tl-host{" tl-changed" if changed else ""}" '
            f'style="--c:{color}"><div class="tl-host-head"><span class="tl-who">{esc(host)}'
            f'</span><span class="tl-tcbs">{" ".join(chips)}</span>{was}'
            + ('<span class="tl-ss-cmd">$ ss -tano</span>' if ss else "")
            + f'</div>{ss_html(host, ss) if ss else ""}</div>')


def ss_html(host: str, text: str) -> str:
    """``ss -tano`` text of a host as a small block (class ``t-ss`` and ``t-ss-<host>``):
    the header line (muted) and one line per socket."""
    head, _, rows = text.partition("\n")
    lines = []
    for line in rows.splitlines():
        cut = line.find(" timer:(")          # a line too long may wrap before its timer,
        lines.append(esc(line) if cut < 0 else  # never inside it
                     f'{esc(line[:cut + 1])}<span class="tl-ss-timer">{esc(line[cut + 1:])}'
                     '</span>')
    body = "\n".join(lines) if lines else '<span class="tl-muted">(no socket)</span>'
    return (f'<div class="tl-ss t-ss t-ss-{css_name(host)}" title="ss -tano on the '
            f'{esc(host)}: every TCP socket, its queues, addresses and timer">'
            f'<pre><span class="tl-ss-head">{esc(head)}</span>\n{body}</pre></div>')


def clock_html(net: Network, now: float, timers: Sequence[tuple[str, str, float]],
               colors: Mapping[str, str], socks: SocketNames | None = None) -> str:
    """The virtual clock and the running timers, each with the seconds left; TIME-WAIT
    also with a bar of what is left of its 2·MSL (the endpoint's :class:`Config`).  On a
    network of hosts with sockets (``socks``) a timer is the host's, with its socket's
    tag: ``server :40001``."""
    rows = []
    for name, timer, deadline in timers:
        left = max(0.0, deadline - now)
        bar = ""
        owner = socks.host.get(name, name) if socks else name
        shown = socks.label(owner, name) if socks else name
        if timer == "time-wait":
            cfg = net.configs.get(owner, net.config)
            total = cfg.time_wait_duration or 1.0
            pct = max(0.0, min(100.0, 100.0 * left / total))
            bar = (f'<span class="tl-track" title="{pct:.0f}% of {total:g} s left">'
                   f'<span class="tl-fill" style="width:{pct:.1f}%"></span></span>')
        rows.append(f'<div class="tl-timer" title="fires at t = {deadline:g} s">'
                    f'<b style="color:{colors.get(owner, WIRE_COLOR)}">{esc(shown)}</b> '
                    f'{esc(timer_name(timer))}{bar} '
                    f'<span class="tl-left">{_fmt_left(left)}</span> left</div>')
    if not rows:
        rows.append('<div class="tl-timer tl-muted">no timer running</div>')
    return (f'<div class="tl-clock"><div class="tl-now">t = {_fmt_t(now)} s '
            f'<small>virtual clock</small></div>{"".join(rows)}</div>')


def _segment_row(verb: str, src: str, dst: str, seg: Segment, pid: int | None,
                 colors: Mapping[str, str], style: str) -> str:
    first, second = ((seg.rfc(), seg.tcpdump()) if style != "tcpdump"
                     else (seg.tcpdump(), seg.rfc()))
    num = f"#{pid} " if pid is not None else ""
    return (f'<tr><td class="tl-dir">{verb}</td><td class="tl-dir">{num}'
            f'<b style="color:{colors.get(src, WIRE_COLOR)}">{esc(src)} → {esc(dst)}</b></td>'
            f'<td><code>{esc(first)}</code></td><td><code class="tl-muted">{esc(second)}'
            f'</code></td></tr>')


def segments_html(net: Network, step: Step, colors: Mapping[str, str],
                  style: str = "rfc") -> str:
    """The segments of a step -- received, sent, or (a wire step) acted on -- in RFC and
    tcpdump notation (``style="tcpdump"`` puts tcpdump first); ``""`` if there are none."""
    rows = []
    if step.received is not None:
        src = net.peer(step.actor) if step.actor in net.names else "?"
        rows.append(_segment_row("received", src, step.actor, step.received, step.packet,
                                 colors, style))
    if step.kind != "wire":
        for pid, seg in zip(step.packets, step.sent):
            rows.append(_segment_row("sent", step.actor, net.peer(step.actor), seg, pid,
                                     colors, style))
    else:
        packets = {p.id: p for p in net.in_flight + net.lost}
        packets.update({p.id: p for p, _ in net.delivered})
        for pid in (step.packet, *step.packets):
            p = packets.get(pid) if pid is not None else None
            if p is not None:
                verb = "copy" if p.copy_of is not None else "packet"
                rows.append(_segment_row(verb, p.src, p.dst, p.segment, p.id, colors, style))
    return f'<table class="tl-segs">{"".join(rows)}</table>' if rows else ""


def explain_html(net: Network, k: int, total: int | None, colors: Mapping[str, str], *,
                 style: str = "rfc", earlier: Sequence[Step] = (),
                 names: Sequence[str] = (), socks: SocketNames | None = None) -> str:
    """What history step ``k`` did and why, with its RFC section as a link, its segments
    and what it delivered; ``k = -1`` is the start (``names`` are the endpoints, all
    CLOSED).  ``total`` adds "of N" to the step number; ``earlier`` lists steps that
    happened on the way (an explorer action that took several steps).  On a network of
    hosts with sockets (``socks``) the actor is named with its socket's tag
    (``server :40001``) and a socket call's result is shown (a ``recv()``'s bytes too:
    ``b'GET /' (5 bytes)``, a long one cut to 60 characters)."""
    if k < 0:
        head = (f'<span class="tl-stepno">Step 0{f" of {total}" if total else ""}</span>'
                f" · t = {_fmt_t(0.0)} s")
        text = ("Before the first step: " + " and ".join(f"the {n} is CLOSED" for n in names)
                + ". Nothing is on the wire and no timer runs.")
        return (f'<div class="tl-explain" style="--c:{WIRE_COLOR}"><div class="tl-ex-head">'
                f'{head}</div><div class="tl-ex-text">{esc(text)}</div></div>')
    step = net.history[k]
    if step.kind == "wire":
        move = f"the wire: {esc(step.event)}"
    elif step.changed_state:
        move = f"{esc(step.before.rfc)} → {esc(step.after.rfc)}"  # type: ignore[union-attr]
    else:
        move = f"stays {esc(step.after.rfc)}" if step.after else ""
    of = f" of {total}" if total else ""
    who = socks.label(step.actor, step.socket) if socks else step.actor
    head = (f'<span class="tl-stepno">Step {k + 1}{of}</span> · t = {_fmt_t(step.time)} s · '
            f'<span class="tl-who">{esc(who)}</span>: '
            + (f"<code>{esc(step.event)}</code> · " if step.kind != "wire" else "") + move)
    extra = ""
    if step.result is not None and step.socket_call:
        got = f"<code>{esc(step.result)}</code>"
        if step.read:                        # recv(): the bytes themselves, then how many
            text = repr(step.read)
            text = text if len(text) <= 60 else text[:56] + "…" + text[-1]
            got = f"<code>{esc(text)}</code> ({esc(step.result)})"
        extra += f'<div class="tl-ex-more">the call returned {got}</div>'

    if step.delivered:
        extra += (f'<div class="tl-ex-more">delivered to the application: '
                  f'<code>{esc(step.delivered.decode("utf-8", "replace"))}</code></div>')
    if earlier:
        lines = "; ".join(esc(s.summary().strip()) for s in earlier)
        extra += f'<div class="tl-ex-more">before that: {lines}</div>'
    rfc = f'<div class="tl-ex-rfc">{rfc_link(step.rfc)}</div>' if step.rfc else ""
    return (f'<div class="tl-explain" style="--c:{colors.get(step.actor, WIRE_COLOR)}">'
            f'<div class="tl-ex-head">{head}</div>'
            f'<div class="tl-ex-text">{esc(step.explanation)}</div>{rfc}'
            f'{segments_html(net, step, colors, style)}{extra}</div>')


def packet_html(p: Packet, now: float, colors: Mapping[str, str], style: str = "rfc") -> str:
    """A segment in flight: its id, who to whom, both notations, whether it is a copy or a
    retransmission, when it was sent and when it is due (late if held back)."""
    seg = p.segment
    first, second = ((seg.rfc(), seg.tcpdump()) if style != "tcpdump"
                     else (seg.tcpdump(), seg.rfc()))
    tags = ""
    if p.copy_of is not None:
        tags += f'<span class="tl-tag">copy of #{p.copy_of}</span>'
    if p.retransmission:
        tags += '<span class="tl-tag">retransmission</span>'
    due = f"due {p.arrive_at:g} s" + (" (late: held back)" if p.arrive_at < now else "")
    return (f'<div style="--c:{colors.get(p.src, WIRE_COLOR)}"><b>#{p.id}</b> '
            f'<span class="tl-arrow">{esc(p.src)} → {esc(p.dst)}</span> '
            f'<code>{esc(first)}</code> <code class="tl-muted">{esc(second)}</code>{tags} '
            f'<span class="tl-muted">· sent {p.sent_at:g} s, {due}</span></div>')


def head_html(scenario: Scenario | None, net: Network) -> str:
    """The title of a stepper: the scenario's title, summary, RFC section and its socket
    API calls (folded), or "A recorded run" for a network passed in."""
    if scenario is None:
        return (f'<div class="tl-head-title">A recorded run</div><div class="tl-head-sum">'
                f'{len(net.history)} steps between {esc(" and ".join(net.names))}.</div>')
    code = ""
    if scenario.socket_calls:
        code = (f'<details><summary>The socket API calls</summary><pre>'
                f'{esc(scenario.socket_code())}</pre></details>')
    ref = f' <span class="tl-muted">({rfc_link(scenario.rfc)})</span>' if scenario.rfc else ""
    return (f'<div class="tl-head-title">{esc(scenario.title)}</div>'
            f'<div class="tl-head-sum">{esc(scenario.summary)}{ref}</div>{code}')
