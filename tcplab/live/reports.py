"""A live run, told: the side-by-side table (text and HTML), the timeline, the wire.

Each function takes a :class:`tcplab.live.result.LiveRun` and returns text (or HTML for
Jupyter); :class:`~tcplab.live.result.LiveRun` calls them for its ``table()``,
``timeline_text()``, ``wire()``, ``str()`` and ``_repr_html_()``.  Plain strings and
:mod:`html` escaping only: the table is small and must read the same in a terminal, a
notebook and a test's failure message.  Builds on :mod:`tcplab.live.comparison` (the
differences and their explanations).
"""

from __future__ import annotations

import html
import textwrap
from typing import TYPE_CHECKING

from ..procnet import SocketRow
from ..segment import Segment
from .comparison import (LINUX_DIFFERENCES, WireKey, fmt_path, lcs, segment_note, wire_key,
                         wire_label)

if TYPE_CHECKING:                       # pragma: no cover - for the type hints only
    from .result import LiveRun

__all__ = ["table", "html_table", "timeline_text", "wire", "why", "title", "ss_text",
           "sockets_text"]


def wire(run: "LiveRun") -> str:
    """The real segments next to the model's, aligned, with notes on the differences
    (namespace lab only: on loopback the lab does not see the segments)."""
    if run.mode == "loopback":
        return ("On loopback the lab does not see the segments (run with privileged=True to "
                "record them).")

    def order(items: list[tuple[float, str, Segment]]) -> list[WireKey]:
        # Segments both sides send at about the same moment have no order: sort them
        # by sender within slots of half a one-way delay.
        slot = max(run.delay / 2, 1e-3)
        return [wire_key(src, seg) for t, src, seg in
                sorted(items, key=lambda x: (int(x[0] / slot + 0.5), x[1]))]
    k = order([(w.sent, w.src, w.segment) for w in run.segments if not w.dropped])
    m = order(run.model_segments())
    ops = lcs(k, m)
    width = max([len(wire_label(x)) for x in k] + [len("kernel")]) + 2
    lines = [f"    {'kernel':<{width}}   model"]
    notes = []
    for i, (op, kx, mx) in enumerate(ops):
        mark = {"=": " ", "k": "+", "m": "-"}[op]
        lines.append(f"  {mark} {wire_label(kx) if kx else '':<{width}}   "
                     f"{wire_label(mx) if mx else ''}")
        if op != "=":
            note = segment_note(op, ops, i)
            if note and note not in notes:
                notes.append(note)
    lines.append("  (+ only on the kernel, - only in the model)")
    lines += [textwrap.fill(n, 100, initial_indent="  * ", subsequent_indent="    ")
              for n in notes]
    return "\n".join(lines)


def table(run: "LiveRun") -> str:
    """The script, the socket calls and both sides' states, line by line (plain text)."""
    a, b = run.names
    head = ("#", "script line", "socket call", "result",
            f"{a}: kernel", f"{a}: model", f"{b}: kernel", f"{b}: model")
    rows = [head]
    for i, r in enumerate(run.results, 1):
        cells = [str(i), r.line.text, r.code, r.outcome]
        for actor in run.names:
            kp = r.kernel_path[actor]
            k = fmt_path(kp) if len(kp) > 1 else str(r.kernel[actor])
            mp = r.model_path[actor]
            m = fmt_path(mp) if len(mp) > 1 else str(r.model[actor])
            same = r.kernel[actor] is r.model[actor] or not r.comparable
            cells += [k + ("" if same else " *"), m]
        rows.append(tuple(cells))
    ev = run.eventually()
    rows.append(("", "(eventually)", "", "", ev[a][0], ev[a][1], ev[b][0], ev[b][1]))
    width = [min(max(len(r[i]) for r in rows), 48) for i in range(len(head))]
    lines = [title(run), ""]
    for j, r in enumerate(rows):
        lines.append("  ".join(c[:48].ljust(w) for c, w in zip(r, width)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in width))
    lines.append("")
    lines.append("State sequences (every state seen, repeats collapsed):")
    for actor in run.names:
        lines.append(f"  {actor:>7} kernel: {fmt_path(run.sequence(actor, 'kernel'))}")
        lines.append(f"  {'':>7} model:  {fmt_path(run.sequence(actor, 'model'))}")
    lines.append("")
    lines += sockets_text(run)
    lines.append("")
    early = sampled_early(run)
    lines.append("Differences and Linux facts:" if run.differences else
                 "No differences in behaviour." if early else "No differences.")
    for d in run.differences:
        lines.append(f"  - {d}")
    for note in early:
        lines.append(f"  - (marked in the table) {note}")
    for kind, reason in why(run).items():
        lines.append("")
        lines.append(textwrap.fill(f"Why ({kind}): {reason}", 100, subsequent_indent="  "))
    return "\n".join(lines)


def _ss_cells(row: SocketRow) -> list[str]:
    state = row.state.ss if row.state is not None else str(row.code)
    peer = f"{row.remote[0]}:{row.remote[1] or '*'}"
    return [state, str(row.rx_queue), str(row.tx_queue), f"{row.local[0]}:{row.local[1]}",
            peer]


def ss_text(rows: "tuple[SocketRow, ...] | list[SocketRow]") -> str:
    """Rows as ``ss -tan`` prints them: State, Recv-Q, Send-Q, the addresses (no header
    when there is no row: ``"(no socket)"``).

    >>> from tcplab.procnet import parse_ss_line
    >>> print(ss_text([parse_ss_line("LISTEN 1 8 127.0.0.1:8080 0.0.0.0:*")]))
    State   Recv-Q  Send-Q  Local Address:Port  Peer Address:Port
    LISTEN  1       8       127.0.0.1:8080      0.0.0.0:*
    """
    if not rows:
        return "(no socket)"
    table = [["State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"]]
    table += [_ss_cells(r) for r in rows]
    width = [max(len(x[i]) for x in table) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, width)).rstrip()
                     for line in table)


def sockets_text(run: "LiveRun") -> list[str]:
    """Each side's sockets at the end of the run as ``ss -tan`` shows them, the kernel's
    above the model's socket view: the listener (LISTEN, accept queue / backlog) and the
    connection it accepted are two rows."""
    if not run.results or not run.results[-1].model_rows:
        return []
    out = ["Sockets at the end, as ss -tan shows them (kernel; model's socket view):"]
    for actor in run.names:
        for source in ("kernel", "model"):
            rows = run.rows(actor, source)
            cells = [_ss_cells(r) for r in rows] or [["(no socket)"]]
            for j, c in enumerate(cells):
                head = f"  {actor if source == 'kernel' and j == 0 else '':>7} " \
                       f"{source if j == 0 else '':<6}"
                out.append(f"{head} " + "  ".join(
                    x.ljust(w) for x, w in zip(c, (10, 3, 3, 21, 21))).rstrip())
    return out


def sampled_early(run: "LiveRun") -> list[str]:
    """The lines where the table shows the kernel in another state than the model only
    because the sampler caught a loopback transient state (not a difference: the comparison
    leaves these out, and the table marks them): one sentence each."""
    from .comparison import TRANSIENT_STATES
    out = []
    if run.mode != "loopback":
        return out
    for r in run.results:
        for actor in run.names:
            k, m = r.kernel[actor], r.model[actor]
            if k is not m and r.comparable and k in TRANSIENT_STATES:
                out.append(f"{actor}: after '{r.line.text}' the sampler caught the kernel "
                           f"still in {k} (on loopback it passes in microseconds); the model "
                           f"is already in {m}. Not a difference in behaviour.")
    return out


def why(run: "LiveRun") -> dict[str, str]:
    """The general explanation of each kind of difference in this run."""
    kinds = dict.fromkeys(d.kind for d in run.differences)
    return {k: LINUX_DIFFERENCES[k] for k in kinds}


def title(run: "LiveRun") -> str:
    """One line: the scenario, the kernel, the lab, the verdict and the sampling."""
    where = ("loopback 127.0.0.1, no privileges" if run.mode == "loopback" else
             f"two network namespaces, {run.delay * 1000:.0f} ms one-way delay")
    verdict = "agrees with the model" if run.agrees else \
        f"{len(run.unexplained)} UNEXPLAINED difference(s)"
    return (f"{run.name}: Linux {run.kernel_version} ({where}) -- {verdict}; "
            f"{run.samples} samples ({run.reader}) in {run.duration:.2f} s")


def timeline_text(run: "LiveRun") -> str:
    """Every state change the sampler saw, and every segment on the wire, in time order."""
    events: list[tuple[float, int, str]] = []
    for actor in run.names:
        for t, s, ks in run.kernel_states(actor):
            what = ks.what() if ks is not None else "CLOSED (not in the table)"
            events.append((t, 1, f"{t:8.3f}s  {actor:>7} is {what}"))
    for w in run.segments:
        events.append((w.sent, 0, f"{w.sent:8.3f}s  {w.src:>7} sends {w.segment.tcpdump()}"
                       + (" -- DROPPED" if w.dropped else
                          f"  (arrives {w.arrived:.3f}s)")))
    for r in run.results:
        if r.line.kind == "call":
            events.append((r.t_start, -1, f"{r.t_start:8.3f}s  {r.line.actor:>7} calls "
                           f"{r.code} -> {r.result}"))
    return "\n".join(e[2] for e in sorted(events, key=lambda e: (e[0], e[1])))


def html_table(run: "LiveRun") -> str:
    """The table as HTML, for Jupyter."""
    esc = html.escape
    a, b = run.names
    css = ("<style>.tl-live td,.tl-live th{padding:2px 8px;text-align:left;"
           "font-family:monospace;font-size:12px}.tl-live .diff{background:#fde2c8}"
           ".tl-live .trans{color:#0072b2}.tl-live th{background:#eee}</style>")
    head = "".join(f"<th>{esc(h)}</th>" for h in (
        "#", "script", "socket call", "what the applications saw", f"{a} kernel", f"{a} model",
        f"{b} kernel", f"{b} model"))
    body = []
    for i, r in enumerate(run.results, 1):
        cells = [str(i), esc(r.line.text), esc(r.code), esc(r.outcome)]
        for actor in run.names:
            same = r.kernel[actor] is r.model[actor] or not r.comparable
            kp, mp = r.kernel_path[actor], r.model_path[actor]
            k = esc(fmt_path(kp) if len(kp) > 1 else str(r.kernel[actor]))
            m = esc(fmt_path(mp) if len(mp) > 1 else str(r.model[actor]))
            cls = "" if same else ' class="diff"'
            cells += [f"<span{cls}>{k}</span>", m]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    ev = run.eventually()
    body.append("<tr><td></td><td><i>eventually</i></td><td></td><td></td>" + "".join(
        f"<td>{esc(ev[x][0])}</td><td>{esc(ev[x][1])}</td>" for x in run.names) + "</tr>")
    seqs = "".join(
        f"<tr><td><b>{esc(x)}</b></td><td>kernel</td><td>"
        f"{esc(fmt_path(run.sequence(x, 'kernel')))}</td></tr><tr><td></td><td>model"
        f"</td><td>{esc(fmt_path(run.sequence(x, 'model')))}</td></tr>"
        for x in run.names)
    diffs = "".join(
        f"<li>{'&#10003;' if d.explained else '&#10007; <b>unexplained</b>'} "
        f"<b>{esc(d.actor)}</b> <i>{esc(d.kind)}</i>: {esc(d.text)}</li>"
        for d in run.differences)
    diffs += "".join(f"<li>(marked in the table) {esc(n)}</li>" for n in sampled_early(run))
    reasons = "".join(f"<li><i>{esc(k)}</i>: {esc(v)}</li>" for k, v in why(run).items())
    socks = sockets_text(run)
    socks_html = (f"<p>{esc(socks[0])}</p><pre>{esc(chr(10).join(socks[1:]))}</pre>"
                  if socks else "")
    return (f"{css}<div class='tl-live'><p><b>{esc(title(run))}</b></p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<p>State sequences (every state seen):</p><table>{seqs}</table>{socks_html}"
            f"<p>Differences and Linux facts:</p><ul>{diffs or '<li>none</li>'}</ul>"
            + (f"<details><summary>Why?</summary><ul>{reasons}</ul></details>" if reasons else "")
            + "</div>")
