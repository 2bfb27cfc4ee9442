"""What one row of a socket table means: the note for a socket in each state, as Linux runs it.

:func:`explain_row` turns one :class:`~tcplab.procnet.SocketRow` (from ``ss -tan``, ``ss -tano``,
``ss -tanop`` or ``/proc/net/tcp``) into a :class:`SocketNote`: who waits for what, what its
queues and timer say, a verdict (``"normal"``, ``"watch"``, ``"bug"``) and the notebook section
to read.  :mod:`tcplab.explain` reads whole tables with it and finds the patterns across
sockets.  The texts never repeat a row's numbers, so sockets that tell the same story share
one note.

The kernel behaviour stated is Linux 6.x's with its default sysctls (the constants below; the
tests check them against :meth:`tcplab.endpoint.Config.linux`): ``net/ipv4/tcp.c``
(``tcp_close()``: orphans, RST on unread data), ``net/ipv4/tcp_timer.c`` (SYN and SYN,ACK
retries), ``include/net/sock.h`` (``sk_acceptq_is_full()``), ``net/ipv4/tcp_diag.c`` (what
Recv-Q and Send-Q count: ``rcv_nxt - copied_seq`` and ``write_seq - snd_una``, so a FIN or SYN
counts one; for a listener the accept queue and the backlog).  Built on :mod:`tcplab.procnet`
and :mod:`tcplab.states`; the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .procnet import SocketRow
from .states import TcpState as S

__all__ = ["SocketNote", "explain_row", "server_side", "full_listener", "SECTIONS", "GUIDE",
           "VERDICTS", "SYN_PACKETS", "SYN_TIMEOUT", "SYNACK_PACKETS", "SYNACK_TIMEOUT",
           "FIN_TIMEOUT", "EPHEMERAL_LOW"]

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


@dataclass(frozen=True)
class SocketNote:
    """One socket explained: ``waits`` (who waits for what), ``detail`` (what its queues and
    timer say), ``verdict`` (one of :data:`VERDICTS`) and ``section`` (where to read on)."""

    row: SocketRow
    waits: str
    detail: str
    verdict: str
    section: str


#: Linux's default net.ipv4.ip_local_port_range starts here: ports below it are services.
EPHEMERAL_LOW = 32768


def server_side(row: SocketRow, servers: frozenset) -> bool:
    """Is the row's local address a service (a listener, or shared by several connections),
    rather than a client's ephemeral port?  With neither known, the port numbers decide."""
    if row.local in servers or ("*", row.local[1]) in servers:
        return True
    return row.local[1] < EPHEMERAL_LOW <= row.remote[1]


def full_listener(row: SocketRow) -> bool:
    """A listener whose accept queue is full (``sk_acceptq_is_full()``: more waiting than the
    backlog).  Only ss and sock_diag show the backlog (as Send-Q); /proc/net/tcp does not."""
    return (row.state is S.LISTEN and row.source in ("ss", "sock_diag")
            and (row.rx_queue or 0) > (row.tx_queue or 0))


def explain_row(row: SocketRow, *, listening: frozenset = frozenset(),
                full_listeners: frozenset = frozenset(), processes: bool = False,
                timers: bool = True, held_ports: frozenset = frozenset()) -> SocketNote:
    """Explain one socket.  ``listening`` holds the ``(host, port)`` of the services in the
    same table (listeners, and local addresses several connections share: it tells a
    server's socket from a client's), ``full_listeners`` those whose
    accept queue is full (it explains a client stuck in SYN-SENT); ``processes``: the table
    has ss -p's process column, so a row without one has no file descriptor *that ss could
    see* (without root, only your own processes'); ``held_ports``: the ports of listeners a
    process visibly holds (a connection on one without a process waits in its accept queue);
    ``timers``: the table shows timers (ss -o, /proc/net/tcp), so an ss row without one has
    none.  The
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
    server = server_side(row, listening)
    queued = server and no_fd and (row.inode == 0 or row.local[1] in held_ports)
    if st is S.LISTEN:
        waits = ("A server called listen() and waits for connection requests (SYNs). For a "
                 "listener Recv-Q counts the connections in the accept queue (handshake done, "
                 "accept() not yet called) and "
                 + ("Send-Q is the backlog given to listen() (capped by net.core.somaxconn)."
                    if row.source in ("ss", "sock_diag") else
                    "the backlog is not shown here (ss -tan shows it as Send-Q)."))
        if full_listener(row):
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
        if st is S.ESTABLISHED and queued:
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
        if queued and st is S.CLOSE_WAIT:
            details.append("No process holds it: it still waits in the listener's accept "
                           "queue, and the peer closed before accept() returned it.")
        elif no_fd and not queued:
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
        if row.kind == "timewait" or row.orphan or row.timer in (2, 3) or (no_fd and not timers):
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
