"""What a socket table says: ``ss -tan`` / ``ss -tano`` output or ``/proc/net/tcp`` lines, explained.

Give :func:`explain` the text people paste -- ``ss -tan``, ``ss -tano`` (with timers),
``ss -tanop`` / ``-tanoe`` (processes, inodes), ``/proc/net/tcp`` or ``tcp6`` -- and it says,
for each socket, its state, who waits for what, whether it points at a bug, and which section
of the field guide (``notebooks/08-reading-ss.ipynb``) to read.  Sockets that tell the same
story are told once, with their addresses; patterns across sockets (CLOSE-WAIT piling up on
one port, a full accept queue, a SYN-RECV flood) become *findings*, each with its cause and
its fix.  :func:`diagnose` gives the same as data (:class:`Report`).

    >>> print(explain('''
    ... State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Process
    ... CLOSE-WAIT 1      0          127.0.0.1:8080     127.0.0.1:43592
    ... '''))                                                    # doctest: +ELLIPSIS
    1 socket: 1 CLOSE-WAIT
    <BLANKLINE>
    CLOSE-WAIT [watch], 1 socket
      local 127.0.0.1:8080  peer 127.0.0.1:43592  Recv-Q 1  Send-Q 0
      The peer has closed its sending side: its FIN arrived (Recv-Q counts it as 1 until the
      application reads the end of file). The kernel now waits for this application to call
      close(); no timer ends this state. ...
      Read: notebooks/08-reading-ss.ipynb, section 1 'CLOSE_WAIT piling up'

Built on :mod:`tcplab.procnet` (the one parser of these formats), :mod:`tcplab.socket_notes`
(the note for one socket, and the Linux facts behind it) and :mod:`tcplab.states`; the
standard library only.  Pasted text is hostile input: its size is bounded (:data:`MAX_CHARS`,
:data:`MAX_LINES`, :data:`MAX_LINE`; 100,000 lines take seconds) and every problem is one
``ValueError`` line naming the line.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter, defaultdict
from dataclasses import dataclass

from .procnet import SocketRow, parse_line
from .socket_notes import (EPHEMERAL_LOW, FIN_TIMEOUT, GUIDE, SECTIONS, SYN_PACKETS,
                           SYN_TIMEOUT, SYNACK_PACKETS, SYNACK_TIMEOUT, VERDICTS, SocketNote,
                           explain_row, full_listener, server_side)
from .states import TcpState as S

__all__ = ["explain", "diagnose", "Report", "Finding", "MAX_CHARS", "MAX_LINES", "MAX_LINE",
           "MAX_FINDINGS",
           # from tcplab.socket_notes, the note for one socket:
           "explain_row", "SocketNote", "GUIDE", "SECTIONS", "VERDICTS", "SYN_PACKETS",
           "SYN_TIMEOUT", "SYNACK_PACKETS", "SYNACK_TIMEOUT", "FIN_TIMEOUT", "EPHEMERAL_LOW"]

#: Bounds on pasted input: characters, lines, characters in one line.
MAX_CHARS, MAX_LINES, MAX_LINE = 16_000_000, 100_000, 4096
#: At most this many findings are printed (the worst and biggest first).
MAX_FINDINGS = 12


_PROMPT = re.compile(r"^\s*(\S*[$#%>]\s*)?(sudo\s+)?(ss|cat|netstat)\b")
_NOT_TCP = re.compile(r"^\s*(udp|u_\w+|raw|nl|p_\w+|v_\w+|xdp|mptcp|sctp|tipc|icmp6?)\s",
                      re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """A pattern across sockets: ``count`` sockets at ``where`` show ``symptom``."""

    symptom: str
    where: str
    count: int
    verdict: str
    cause: str
    fix: str
    section: str


@dataclass(frozen=True)
class Report:
    """Everything :func:`diagnose` read: one note per socket, the findings, and how many
    lines were left out (headers, prompts, non-TCP sockets)."""

    notes: tuple[SocketNote, ...]
    findings: tuple[Finding, ...]
    skipped: int = 0

    def counts(self) -> dict[str, int]:
        """Sockets per state, in the order of RFC 9293 §3.3.2 (``{"LISTEN": 8, ...}``)."""
        c = Counter(n.row.state for n in self.notes)
        return {s.rfc: c[s] for s in S if c[s]}

    def worst(self) -> str:
        """The worst verdict of any note or finding (``"normal"`` for an empty table)."""
        verdicts = [n.verdict for n in self.notes] + [f.verdict for f in self.findings]
        return max(verdicts, key=VERDICTS.index, default="normal")

    def __str__(self) -> str:
        n = len(self.notes)
        out = [f"{n} socket{'s' if n != 1 else ''}: "
               + (", ".join(f"{v} {k}" for k, v in self.counts().items()) or "none")]
        if self.skipped:
            out[0] += f" ({self.skipped} other line{'s' if self.skipped != 1 else ''} skipped)"
        if self.findings:
            out += ["", "Findings"]
            for f in sorted(self.findings, key=lambda f: (-VERDICTS.index(f.verdict),
                                                          -f.count))[:MAX_FINDINGS]:
                out.append(f"  [{f.verdict}] {f.symptom}: {f.count} at {f.where}")
                out += [f"    Cause: {f.cause}", f"    Fix: {f.fix}", f"    Read: {f.section}"]
            if len(self.findings) > MAX_FINDINGS:
                out.append(f"  ... and {len(self.findings) - MAX_FINDINGS} more findings "
                           "(diagnose() returns them all)")
        groups: dict[tuple, list[SocketRow]] = defaultdict(list)
        order = list(S)
        for note in sorted(self.notes, key=lambda n: (-VERDICTS.index(n.verdict),
                                                      order.index(n.row.state)
                                                      if n.row.state else len(order))):
            groups[(note.row.state, note.verdict, note.waits, note.detail, note.section)] \
                .append(note.row)
        for (state, verdict, waits, detail, section), rows in groups.items():
            name = state.rfc if state else f"code {rows[0].code}"
            n = len(rows)
            out += ["", f"{name} [{verdict}], {n} socket{'s' if n != 1 else ''}"]
            out += ["  " + _facts(r) for r in rows[:4]]
            if n > 4:
                out.append(f"  ... and {n - 4} more like these")
            out.append(_wrap(waits + (" " + detail if detail else "")))
            out.append(f"  Read: {section}")
        return "\n".join(out)


def _addr(a: tuple[str, int]) -> str:
    return f"[{a[0]}]:{a[1]}" if ":" in a[0] else f"{a[0]}:{a[1]}"


def _seconds(t: float) -> str:
    return f"{t / 60:g} min" if t >= 600 else f"{t:g} s"


def _facts(row: SocketRow) -> str:
    """``local 127.0.0.1:8080  peer 127.0.0.1:4000  Recv-Q 1  Send-Q 0  ...``: the row's
    numbers, which the shared explanation below it refers to."""
    peer = "*" if row.state is S.LISTEN else _addr(row.remote)
    bits = [f"local {_addr(row.local)}", f"peer {peer}"]
    if row.rx_queue is not None:
        bits += [f"Recv-Q {row.rx_queue}", f"Send-Q {row.tx_queue}"]
    if row.timer and row.expires is not None:
        name = "tcp_fin_timeout" if row.kind == "timewait" and row.state is S.FIN_WAIT_2 \
            else row.timer_name
        bits.append(f"{name} timer {_seconds(row.expires)}")
    if row.retransmits:
        bits.append(f"{row.retransmits} retransmit{'s' if row.retransmits != 1 else ''}")
    if row.process:
        bits.append(f"users:(({row.process}))")
    elif row.inode is not None:
        bits.append(f"inode {row.inode}")
    return "  ".join(bits)


def _wrap(text: str, width: int = 92) -> str:
    return textwrap.fill(text, width, initial_indent="  ", subsequent_indent="  ",
                         break_long_words=False, break_on_hyphens=False)


# ------------------------------------------------------------------------ patterns -----------

def _findings(rows: list[SocketRow], listening: frozenset, full: frozenset,
              pile: int) -> list[Finding]:
    found, seen = [], set()
    for row in rows:
        if row.state is S.LISTEN and row.local in full and row.local not in seen:
            seen.add(row.local)
            found.append(Finding(
                "full accept queue", _addr(row.local), row.rx_queue or 0, "bug",
                f"the application accepts more slowly than clients connect (backlog "
                f"{row.tx_queue}); Linux drops the handshake's last ACK and new SYNs",
                "call accept() faster (more workers, an event loop), raise the listen() "
                "backlog and net.core.somaxconn; `nstat -az TcpExtListenOverflows` counts "
                "the drops", SECTIONS["backlog"]))

    def group(state, key, kinds=None):
        g: dict = defaultdict(list)
        for r in rows:
            if r.state is state and (kinds is None or kinds(r)):
                g[key(r)].append(r)
        return [(k, v) for k, v in g.items() if len(v) >= pile]

    def side(r):            # this host's server socket, or its connections to a server
        return (True, r.local) if server_side(r, listening) else (False, r.remote)

    for (server, where), rs in group(S.CLOSE_WAIT, side):
        found.append(Finding(
            "CLOSE-WAIT piling up", ("this server's " if server else "connections to ")
            + _addr(where), len(rs), "bug",
            "the peers closed, and this application never calls close(): it misses "
            "recv() returning 0 (end of file), or leaks the socket on an error path",
            "close the socket when recv() returns 0 and on every error path (`with "
            "socket...`, try/finally); `ss -tanp` names the process, and its open descriptors "
            "(ls /proc/PID/fd) grow", SECTIONS["close-wait"]))
    for (server, where), rs in group(S.TIME_WAIT, side):
        found.append(Finding(
            "TIME-WAIT piling up", ("this server's " if server else "connections to ")
            + _addr(where), len(rs), "normal",
            ("this server closes its connections first" if server else
             "this host closes its connections to that peer first")
            + ", so TIME-WAIT (60 s) is its share; not a bug by itself",
            ("restart the server with SO_REUSEADDR (else bind() fails with EADDRINUSE); let "
             "clients close first" if server else
             "reuse connections (keep-alive, a pool) instead of one per request; "
             "net.ipv4.tcp_tw_reuse=1 lets new outgoing connections reuse them")
            + "; never shorten TIME-WAIT by hand", SECTIONS["time-wait"]))
    for where, rs in group(S.SYN_RECEIVED, lambda r: r.local):
        peers = len({r.remote[0] for r in rs})
        found.append(Finding(
            "SYN-RECV piling up", _addr(where), len(rs), "watch",
            f"SYNs arrive from {peers} address{'es' if peers != 1 else ''} and their "
            "handshakes never complete: a SYN flood (often from forged addresses), or "
            "clients whose ACKs are lost on the way",
            "keep net.ipv4.tcp_syncookies=1 (the default: the listener answers without "
            "keeping state when the SYN queue is full); raise net.ipv4.tcp_max_syn_backlog; "
            "filter the sources", SECTIONS["backlog"]))
    processes = any(r.process for r in rows)
    timers = any(r.timer is not None for r in rows)                 # ss -o or /proc
    for where, rs in group(S.FIN_WAIT_2, lambda r: r.remote, lambda r: (processes or timers)
                           and not (r.kind == "timewait" or r.orphan or r.timer or r.inode == 0
                                    or (processes and not timers and not r.process))):
        found.append(Finding(
            "FIN-WAIT-2 that never ends", _addr(where), len(rs), "watch",
            "this application called shutdown(SHUT_WR) and keeps the sockets, and the "
            "peer never closes its side; no timer ends a FIN-WAIT-2 socket that is still "
            "open", "close() the sockets (then Linux's tcp_fin_timeout of 60 s applies), or "
            "fix the peer, which sits in CLOSE-WAIT", SECTIONS["fin-wait-2"]))
    for where, rs in group(S.SYN_SENT, lambda r: r.remote):
        found.append(Finding(
            "connect() hanging", _addr(where), len(rs), "watch",
            "the listener's accept queue is full" if where in full else
            "no SYN,ACK comes back: a firewall drops the SYNs, or the host is down",
            f"connect() gives up after {SYN_PACKETS} SYNs and about {SYN_TIMEOUT} s "
            "(ETIMEDOUT); set a timeout (socket.settimeout / create_connection(timeout=)) "
            "and find out what drops the SYNs", SECTIONS["connect"]))
    return found


# ------------------------------------------------------------------------ the table ----------

def _rows(text: str) -> tuple[list[SocketRow], int]:
    if not isinstance(text, str):
        raise TypeError(f"explain() takes the output of ss -tan or /proc/net/tcp as text "
                        f"(str), not {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ValueError(f"the input has {len(text):,} characters; at most {MAX_CHARS:,} are "
                         "read (filter it first, e.g. ss -tan state close-wait)")
    if "\x00" in text:
        raise ValueError("the input is binary (it holds NUL bytes), not ss or /proc/net/tcp "
                         "text")
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ValueError(f"the input has {len(lines):,} lines; at most {MAX_LINES:,} are read "
                         "(filter it first, e.g. ss -tan state close-wait)")
    rows, skipped = [], 0
    for n, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            raise ValueError(f"line {n} has {len(line):,} characters; a line of ss or "
                             f"/proc/net/tcp has far fewer (at most {MAX_LINE} are read)")
        if _PROMPT.match(line) or _NOT_TCP.match(line) or line.lstrip().startswith("Recv-Q"):
            skipped += 1
            continue
        try:
            row = parse_line(line)
        except ValueError as exc:
            hint = (" (run ss with -n: numeric ports)" if "port must be" in str(exc) else "")
            raise ValueError(f"line {n}: {exc}{hint}".replace("\n", " ")) from None
        if row is not None:
            rows.append(row)
    return rows, skipped


def diagnose(text: str, *, pile: int = 3) -> Report:
    """Read a socket table and explain it: a :class:`Report` with one :class:`SocketNote` per
    socket and a :class:`Finding` for every group of at least ``pile`` sockets (≥ 1) that
    shows a symptom, and for every full accept queue.

    ``text``: ``ss -tan`` / ``-tano`` / ``-tanop`` / ``-tanoe`` output, ``/proc/net/tcp`` or
    ``tcp6`` lines (headers, blank lines, shell prompts and non-TCP ``ss -an`` lines are
    skipped).  Raises ``TypeError`` for a non-str, ``ValueError`` (one line, naming the
    line) for a line that is none of these, or for input beyond the bounds.

    >>> r = diagnose("LISTEN 0 16 127.0.0.1:8080 0.0.0.0:*\\n"
    ...              + "CLOSE-WAIT 1 0 127.0.0.1:8080 127.0.0.1:4000\\n" * 3)
    >>> [(f.symptom, f.count, f.verdict) for f in r.findings], r.counts()
    ([('CLOSE-WAIT piling up', 3, 'bug')], {'LISTEN': 1, 'CLOSE-WAIT': 3})
    """
    if isinstance(pile, bool) or not isinstance(pile, int) or pile < 1:
        raise ValueError(f"pile must be a whole number of sockets, 1 or more, not {pile!r}")
    rows, skipped = _rows(text)
    shared = Counter(r.local for r in rows if r.state is not S.LISTEN)
    listening = frozenset([r.local for r in rows if r.state is S.LISTEN]
                          + [("*", r.local[1]) for r in rows if r.state is S.LISTEN
                             and r.local[0] in ("0.0.0.0", "::", "*")]
                          + [a for a, n in shared.items() if n > 1])
    full = frozenset(r.local for r in rows if full_listener(r))
    processes = any(r.process for r in rows)
    timers = any(r.timer is not None for r in rows)
    held = frozenset(r.local[1] for r in rows if r.state is S.LISTEN and r.process)
    notes = tuple(explain_row(r, listening=listening, full_listeners=full, processes=processes,
                              timers=timers, held_ports=held) for r in rows)
    return Report(notes, tuple(_findings(rows, listening, full, pile)), skipped)


def explain(text: str, *, pile: int = 3) -> str:
    """:func:`diagnose`, as text for a learner: a count per state, the findings (cause, fix,
    section to read), then each kind of socket explained once, with its addresses."""
    return str(diagnose(text, pile=pile))
