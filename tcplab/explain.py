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

Built on :mod:`tcplab.procnet` (the one parser of these formats) and :mod:`tcplab.states`;
the standard library only.  The kernel behaviour the texts state is Linux 6.x's with its
default sysctls (the constants below, checked against :meth:`tcplab.endpoint.Config.linux`
by the tests): ``net/ipv4/tcp.c`` (``tcp_close``: orphans, RST on unread data),
``tcp_timer.c`` (SYN and SYN,ACK retries), ``inet_connection_sock.c`` (the accept queue),
``tcp_diag.c`` (what Recv-Q and Send-Q count).  Pasted text is hostile input: its size is
bounded (:data:`MAX_CHARS`, :data:`MAX_LINES`, :data:`MAX_LINE`) and every problem is one
``ValueError`` line naming the line.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from .procnet import SocketRow, parse_line
from .states import TcpState as S

__all__ = ["explain", "diagnose", "explain_row", "Report", "SocketNote", "Finding",
           "GUIDE", "SECTIONS", "MAX_CHARS", "MAX_LINES", "MAX_LINE",
           "SYN_PACKETS", "SYN_TIMEOUT", "SYNACK_PACKETS", "SYNACK_TIMEOUT", "FIN_TIMEOUT"]

#: Bounds on pasted input: characters, lines, characters in one line.
MAX_CHARS, MAX_LINES, MAX_LINE = 16_000_000, 100_000, 4096
#: At most this many findings are printed (the worst and biggest first).
MAX_FINDINGS = 12

#: Linux 6.x defaults: SYNs a connect() sends (tcp_syn_retries=6, tcp_syn_linear_timeouts=4)
#: and when it fails with ETIMEDOUT; SYN,ACKs for one request (tcp_synack_retries=5) and when
#: the request is dropped; the orphaned FIN-WAIT-2 lifetime (tcp_fin_timeout).
SYN_PACKETS, SYN_TIMEOUT = 11, 131
SYNACK_PACKETS, SYNACK_TIMEOUT = 6, 63
FIN_TIMEOUT = 60

GUIDE = "notebooks/08-reading-ss.ipynb"
#: Where to read on: a key -> the notebook section.
SECTIONS = {
    "close-wait": f"{GUIDE}, section 1 'CLOSE_WAIT piling up'",
    "time-wait": f"{GUIDE}, section 2 'TIME_WAIT piling up and EADDRINUSE'",
    "reset": f"{GUIDE}, section 3 'ECONNRESET after a reply'",
    "fin-wait-2": f"{GUIDE}, section 4 'FIN_WAIT2 that never ends, or ends after 60 s'",
    "backlog": f"{GUIDE}, section 5 'SYN_RECV floods and a full backlog'",
    "connect": f"{GUIDE}, section 6 'A connect() that hangs two minutes'",
    "handshake": "notebooks/02-handshake.ipynb",
    "teardown": "notebooks/03-teardown.ipynb",
    "simultaneous": "notebooks/04-simultaneous.ipynb",
    "overview": "notebooks/01-overview.ipynb",
}
VERDICTS = ("normal", "watch", "bug")      # worst last

_PROMPT = re.compile(r"^\s*(\S*[$#%>]\s*)?(sudo\s+)?(ss|cat|netstat)\b")
_NOT_TCP = re.compile(r"^\s*(udp|u_\w+|raw|nl|p_\w+|v_\w+|xdp|mptcp|sctp|tipc|icmp6?)\s",
                      re.IGNORECASE)


@dataclass(frozen=True)
class SocketNote:
    """One socket explained: ``waits`` (who waits for what), ``detail`` (what its queues and
    timer say), ``verdict`` (one of :data:`VERDICTS`) and ``section`` (where to read on)."""

    row: SocketRow
    waits: str
    detail: str
    verdict: str
    section: str


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
    lines, line = [], "  "
    for word in text.split():
        if len(line) + len(word) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = "  "
        line += word + " "
    lines.append(line.rstrip())
    return "\n".join(lines)


# ------------------------------------------------------------------------ one socket ---------

#: Linux's default net.ipv4.ip_local_port_range starts here: ports below it are services.
EPHEMERAL_LOW = 32768


def _server_side(row: SocketRow, servers: frozenset) -> bool:
    """Is the row's local address a service (a listener, or shared by several connections),
    rather than a client's ephemeral port?  With neither known, the port numbers decide."""
    if row.local in servers or ("*", row.local[1]) in servers:
        return True
    return row.local[1] < EPHEMERAL_LOW <= row.remote[1]


def _full(row: SocketRow) -> bool:
    """A listener whose accept queue is full (``sk_acceptq_is_full()``: more waiting than the
    backlog).  Only ss and sock_diag show the backlog (as Send-Q); /proc/net/tcp does not."""
    return (row.state is S.LISTEN and row.source in ("ss", "sock_diag")
            and (row.rx_queue or 0) > (row.tx_queue or 0))


def explain_row(row: SocketRow, *, listening: frozenset = frozenset(),
                full_listeners: frozenset = frozenset(), processes: bool = False,
                timers: bool = True) -> SocketNote:
    """Explain one socket.  ``listening`` holds the ``(host, port)`` of the services in the
    same table (listeners, and local addresses several connections share: it tells a
    server's socket from a client's), ``full_listeners`` those whose
    accept queue is full (it explains a client stuck in SYN-SENT); ``processes``: the table
    has ss -p's process column, so a row without one has no file descriptor; ``timers``:
    the table shows timers (ss -o, /proc/net/tcp), so an ss row without one has none.  The
    texts do
    not repeat the row's numbers (:class:`Report` prints them on the row's line), so sockets
    that tell the same story share one explanation.

    >>> from tcplab.procnet import parse_ss_line
    >>> note = explain_row(parse_ss_line("LISTEN 2 1 127.0.0.1:8084 0.0.0.0:*"))
    >>> note.verdict, note.section.split(", ")[1]
    ('bug', "section 5 'SYN_RECV floods and a full backlog'")
    """
    if not isinstance(row, SocketRow):
        raise TypeError(f"explain_row() takes a SocketRow, not {type(row).__name__}")
    st, rx, tx, r = row.state, row.rx_queue or 0, row.tx_queue or 0, row.retransmits or 0
    no_fd = row.kind == "full" and (row.inode == 0 or (processes and row.process is None))
    server = _server_side(row, listening)
    if st is S.LISTEN:
        waits = ("A server called listen() and waits for connection requests (SYNs). For a "
                 "listener Recv-Q counts the connections in the accept queue (handshake done, "
                 "accept() not yet called) and "
                 + ("Send-Q is the backlog given to listen() (capped by net.core.somaxconn)."
                    if row.source in ("ss", "sock_diag") else
                    "the backlog is not shown here (ss -tan shows it as Send-Q)."))
        if _full(row):
            return SocketNote(row, waits, "The accept queue is full: more connections wait "
                              "than the backlog allows. The application does not call accept() "
                              "fast enough; Linux now drops the handshake's last ACK and new "
                              "SYNs, and clients hang or retry.", "bug", SECTIONS["backlog"])
        detail = "Some connections wait for accept()." if rx else ""
        return SocketNote(row, waits, detail, "normal", SECTIONS["handshake"])
    if st is S.SYN_SENT:
        waits = ("This side called connect() and sent a SYN; it waits for the SYN,ACK. Send-Q "
                 "1 is the SYN itself.")
        detail = "Linux has re-sent the SYN: no answer came back in time. " if r else ""
        if row.remote in full_listeners:
            detail += ("The listener it calls, in this table, has a full accept queue: it "
                       "drops the SYNs, and Linux keeps re-sending them.")
            return SocketNote(row, waits, detail, "watch", SECTIONS["backlog"])
        detail += (f"If nothing answers, Linux sends {SYN_PACKETS} SYNs and connect() fails "
                   f"with ETIMEDOUT after about {SYN_TIMEOUT} s: a firewall drops the SYNs or "
                   "the host is down (a closed port answers RST at once: ECONNREFUSED).")
        return SocketNote(row, waits, detail, "watch" if r else "normal", SECTIONS["connect"])
    if st is S.SYN_RECEIVED:
        waits = ("A listener answered a SYN with a SYN,ACK and waits for the handshake's last "
                 "ACK. Linux holds it as a request sock in the SYN queue; accept() cannot "
                 "return it and no application knows of it.")
        detail = "The SYN,ACK has been re-sent: the client's ACK does not arrive. " if r else ""
        detail += (f"Unanswered, Linux sends {SYNACK_PACKETS} SYN,ACKs, drops the request after "
                   f"about {SYNACK_TIMEOUT} s, and the listener stays in LISTEN.")
        return SocketNote(row, waits, detail, "watch" if r else "normal", SECTIONS["backlog"])
    if st in (S.ESTABLISHED, S.CLOSE_WAIT):
        details = []
        if st is S.ESTABLISHED and no_fd and server:
            waits = ("The handshake is done, but no application has this connection yet: no "
                     "process holds it, it waits in the listener's accept queue for accept().")
            section, verdict = SECTIONS["backlog"], "normal"
        elif st is S.ESTABLISHED:
            waits = "The connection is open and data flows both ways; nobody waits for anything."
            section, verdict = SECTIONS["overview"], "normal"
        else:
            waits = ("The peer has closed its sending side: its FIN arrived (Recv-Q counts it "
                     "as 1 until the application reads the end of file). The kernel now waits "
                     "for this application to call close(); no timer ends this state.")
            section, verdict = SECTIONS["close-wait"], "watch"
            details.append("If it stays, the application never calls close() after recv() "
                           "returned 0: a socket leak.")
        if no_fd and server and st is S.CLOSE_WAIT:
            details.append("No process holds it: it still waits in the listener's accept "
                           "queue, and the peer closed before accept() returned it.")
        elif no_fd and not server:
            details.append("No process holds it (ss -p shows only the processes you may see: "
                           "run it as root).")
        if rx - (st is S.CLOSE_WAIT) > 0:
            details.append("Bytes arrived that the application has not read (Recv-Q): if it "
                           "calls close() now, Linux sends RST instead of FIN and the peer's "
                           "next call fails with ECONNRESET.")
            section = SECTIONS["reset"]
        if tx and st is S.ESTABLISHED:
            details.append("Send-Q bytes are sent but not yet acknowledged, or wait to be sent.")
        if row.timer == 1 and r:
            details.append("Retransmitting: timeouts in a row without an ACK; the peer or the "
                           "path is gone.")
            verdict = "watch"
        elif row.timer == 4:
            details.append("Zero-window probes: the peer's receive window is 0, its application "
                           "does not read.")
            verdict = "watch"
        elif row.timer == 2:
            details.append("SO_KEEPALIVE is on: the timer counts down to the next keepalive "
                           "probe.")
        return SocketNote(row, waits, " ".join(details), verdict, section)
    if st is S.FIN_WAIT_1:
        waits = ("This application has closed (close() or shutdown(SHUT_WR)); its FIN, which "
                 "Send-Q counts as 1, waits for the peer's ACK.")
        detail = "The FIN has been re-sent: the peer does not acknowledge it." if r else ""
        return SocketNote(row, waits, detail, "watch" if r else "normal", SECTIONS["teardown"])
    if st is S.FIN_WAIT_2:
        if row.kind == "timewait" or row.orphan or row.timer in (2, 3) or no_fd:
            return SocketNote(row, "The application called close(); the peer acknowledged the "
                              "FIN but has not sent its own. This orphan has no file descriptor "
                              f"left: Linux keeps it for tcp_fin_timeout = {FIN_TIMEOUT} s (the "
                              "timer), then drops it silently.",
                              "Normal on this side; the peer is probably in CLOSE-WAIT, and "
                              "the bug, if any, is there.", "normal", SECTIONS["fin-wait-2"])
        if row.source in ("ss", "netstat") and not (timers or processes):
            return SocketNote(row, "This side's FIN was acknowledged; it waits for the peer's "
                              "FIN. Either the application called close() and Linux finishes "
                              f"this orphan within tcp_fin_timeout = {FIN_TIMEOUT} s, or it "
                              "called shutdown(SHUT_WR), holds the socket, and no timer ends it.",
                              "This table cannot tell which: run ss -tano (an orphan shows "
                              "timer:(timewait,...)).", "watch", SECTIONS["fin-wait-2"])
        return SocketNote(row, "The application called shutdown(SHUT_WR) and still holds the "
                          "socket: its FIN was acknowledged, and it waits for the peer's FIN "
                          "(data from the peer still arrives).",
                          "No timer runs in this state for a socket that is still open: if "
                          "the peer never closes, it lasts for ever. close() it, or make sure "
                          "the peer closes.", "watch", SECTIONS["fin-wait-2"])
    if st is S.CLOSING:
        return SocketNote(row, "Both sides closed at once: the peer's FIN crossed this side's "
                          "FIN; it waits for the ACK of its own FIN.", "", "normal",
                          SECTIONS["simultaneous"])
    if st is S.LAST_ACK:
        detail = "The FIN has been re-sent: the peer, likely gone, does not answer." if r else ""
        return SocketNote(row, "The passive closer: the peer's FIN came first, then this "
                          "application called close(); its FIN (Send-Q 1) waits for the last "
                          "ACK.", detail, "watch" if r else "normal", SECTIONS["teardown"])
    if st is S.TIME_WAIT:
        who = "This server closed first" if server else "This side closed first"
        detail = ("On a listening port, restarting the server makes bind() fail with "
                  "EADDRINUSE unless it sets SO_REUSEADDR." if server else "")
        return SocketNote(row, f"{who} (the active closer): the connection is over, and Linux "
                          "keeps this mini-socket 60 s (RFC 9293: 2 MSL) so that a lost last "
                          "ACK can be re-sent and old segments die out.", detail,
                          "normal", SECTIONS["time-wait"])
    return SocketNote(row, "No connection: a socket that is not connected (just made, or "
                      "after an error).", "", "normal", SECTIONS["overview"])


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
        return (True, r.local) if _server_side(r, listening) else (False, r.remote)

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
    known = processes or any(r.timer is not None for r in rows)     # ss -o, -p or /proc
    for where, rs in group(S.FIN_WAIT_2, lambda r: r.remote, lambda r: known and not (
            r.kind == "timewait" or r.orphan or r.timer or r.inode == 0
            or (r.source == "ss" and processes and not r.process))):
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
    full = frozenset(r.local for r in rows if _full(r))
    processes = any(r.process for r in rows)
    timers = any(r.timer is not None for r in rows)
    notes = tuple(explain_row(r, listening=listening, full_listeners=full, processes=processes,
                              timers=timers) for r in rows)
    return Report(notes, tuple(_findings(rows, listening, full, pile)), skipped)


def explain(text: str, *, pile: int = 3) -> str:
    """:func:`diagnose`, as text for a learner: a count per state, the findings (cause, fix,
    section to read), then each kind of socket explained once, with its addresses."""
    return str(diagnose(text, pile=pile))
