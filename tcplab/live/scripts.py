"""The scenarios a real kernel can reproduce, as scripts for :func:`tcplab.live.run`.

The script language is the model's (:mod:`tcplab.scenarios`): user calls, ``settle``,
``run``, ``wait`` and ``until SIDE STATE`` (run until that side reaches that state).  Lines
that steer single segments or timers (:data:`tcplab.scenarios.WIRE_COMMANDS`) are left out:
the kernel decides for itself when to send what.  Every script that opens a connection
starts with the model's handshake script (its ``handshake`` scenario), so the two cannot
drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import scenarios as model_scenarios

__all__ = ["LiveScenario", "LIVE_SCENARIOS", "get", "names"]


@dataclass(frozen=True)
class LiveScenario:
    """A script for the live lab, with what to look for."""

    name: str
    title: str
    script: tuple[str, ...]
    watch: str                       # what to look for, for a learner
    privileged: bool = False         # needs the namespace lab (delayed segments) to happen
    fin_timeout: float | None = None  # tcp_fin_timeout to set in the namespaces
    delay: float | None = None       # one-way delay the namespace lab should use (seconds)

    def __str__(self) -> str:
        return f"{self.name}: {self.title}"


#: The model's handshake, line for line.
_HANDSHAKE: tuple[str, ...] = model_scenarios.HANDSHAKE

_ALL = (
    LiveScenario(
        "handshake", "The three-way handshake", _HANDSHAKE,
        "Both sides end in ESTABLISHED. On loopback, SYN-SENT and SYN-RECEIVED last "
        "microseconds; with the delay you see SYN-SENT for one round trip, and the server's "
        "request sock in SYN-RECV for one round trip (from the SYN's arrival to the ACK's) -- "
        "while the listener stays in LISTEN."),
    LiveScenario(
        "teardown-client-first", "Teardown: the client closes first",
        _HANDSHAKE + ("client send GET /", "settle", "server recv", "server send 200 OK",
                      "settle", "client recv", "client close", "settle", "server recv",
                      "server close", "settle"),
        "Each side reads what it was sent before it closes. The client, which closes first, "
        "goes FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT; the server reads EOF (b'') in "
        "CLOSE-WAIT, closes, LAST-ACK -> CLOSED. TIME-WAIT's timer starts at 60 s."),
    LiveScenario(
        "teardown-server-first", "Teardown: the server closes first",
        _HANDSHAKE + ("client send GET /", "settle", "server recv", "server send 200 OK",
                      "server close", "settle", "client recv", "client close", "settle"),
        "Now the *server* ends in TIME-WAIT: whoever closes first waits."),
    LiveScenario(
        "half-close", "Half-close: shutdown(SHUT_WR), and data still flows back",
        _HANDSHAKE + ("client send sort: 3 1 2", "client shutdown", "settle",
                      "server recv", "server send 1 2 3", "settle", "client recv",
                      "server close", "settle"),
        "After shutdown(SHUT_WR) the client sits in FIN-WAIT-2 and still receives the "
        "answer. (Had it called close(), Linux would answer the data with RST: see "
        "data-after-close.)"),
    LiveScenario(
        "refused", "Connection refused: nobody listens", ("client connect", "settle"),
        "The server's port is bound but nobody listens: the kernel answers the SYN with "
        "RST and connect() fails with ECONNREFUSED. With the delay, SYN-SENT lasts one "
        "round trip."),
    LiveScenario(
        "abort", "Abort: SO_LINGER 0, then close() sends RST",
        _HANDSHAKE + ("client send hello", "settle", "server recv", "client abort", "settle",
                      "server recv"),
        "No FIN and no TIME-WAIT: the client's socket vanishes at once, the server's "
        "recv() fails with ECONNRESET and its socket is gone too."),
    LiveScenario(
        "close-wait-leak", "The CLOSE_WAIT leak: the server never calls close()",
        _HANDSHAKE + ("client close", "settle", "server recv", "wait 0.2"),
        "The server read EOF but never closes: CLOSE-WAIT for ever. The client's orphaned "
        "FIN-WAIT-2 is a mini-socket whose tcp_fin_timeout timer (60 s) counts down."),
    LiveScenario(
        "time-wait", "TIME-WAIT: the active closer waits 60 s",
        _HANDSHAKE + ("client close", "settle", "server close", "settle"),
        "Right after both have closed, the client is in TIME-WAIT; /proc/net/tcp's timer "
        "column counts down from 60 s."),
    LiveScenario(
        "simultaneous-open", "Simultaneous open: two SYNs cross",
        ("client connect", "server connect", "settle"),
        "Both bound to fixed ports, both connect() to each other at once, nobody listens. "
        "Each SYN-SENT receives a bare SYN: SYN-RECEIVED (a full socket, not a request "
        "sock), then ESTABLISHED. On loopback the first SYN finds no listener: refused.",
        privileged=True),
    LiveScenario(
        "simultaneous-close", "Simultaneous close: two FINs cross",
        _HANDSHAKE + ("client close", "server close", "settle"),
        "Both close at once; each FIN-WAIT-1 receives the other's FIN before the ACK of its "
        "own: CLOSING, then both TIME-WAIT.", privileged=True),
    LiveScenario(
        "fin-wait-2-timeout", "Orphaned FIN-WAIT-2 times out; the late FIN gets RST",
        _HANDSHAKE + ("client close", "settle", "until client CLOSED", "server close",
                      "settle"),
        "tcp_fin_timeout is set to 1 s inside the namespaces. The client's orphaned "
        "FIN-WAIT-2 disappears after it (the run waits until it has); the server's FIN then "
        "finds no connection and is "
        "answered with RST. (The delay is short here: Linux's timer is really "
        "max(tcp_fin_timeout, 3.5 x RTO), and a long round trip makes the RTO long.)",
        privileged=True, fin_timeout=1, delay=0.05),
    LiveScenario(
        "fin-ack-together", "FIN-WAIT-1 straight to TIME-WAIT: the FIN carries the ACK",
        _HANDSHAKE + ("client send GET /", "settle", "server recv", "server send 200 OK",
                      "settle", "client recv", "client close", "until server CLOSE-WAIT",
                      "server close", "settle"),
        "After a request and an answer, Linux delays the ACK of the client's FIN by some "
        "tens of milliseconds (delayed ACK). The server closes as soon as it sees EOF, so "
        "its FIN carries that ACK, and the client goes from FIN-WAIT-1 straight to "
        "TIME-WAIT (figure 5, note 2). The model ACKs at once and passes through FIN-WAIT-2."),
    LiveScenario(
        "close-unread", "close() with unread data: RST, and the peer's recv() fails",
        _HANDSHAKE + ("client send GET /", "settle", "server close", "settle", "client recv"),
        "The server closes without reading the request. close() gives up reading too, so "
        "the unread bytes would be lost: the kernel sends RST,ACK instead of FIN (RFC 9293 "
        "§3.6.1 SHLD-2, RFC 1122 §4.2.2.13), the server's socket is gone at once (no "
        "TIME-WAIT) and the client's recv() fails with ECONNRESET. Read before you close."),
    LiveScenario(
        "data-after-close", "Data after close(): RST, and the sender's next call fails",
        _HANDSHAKE + ("client close", "settle", "server send late", "settle",
                      "server send again", "settle", "server close", "settle"),
        "The client closed: it will read nothing more. The server, in CLOSE-WAIT, still "
        "sends; the client's kernel answers the data with RST and drops its orphan. The "
        "server's next send() fails -- with EPIPE, Linux's errno for a reset received in "
        "CLOSE-WAIT (ECONNRESET in ESTABLISHED). Had the client called shutdown(SHUT_WR), "
        "the data would have been welcome (half-close)."),
    LiveScenario(
        "shutdown-then-close", "shutdown(SHUT_WR), then close(): nothing more is sent",
        _HANDSHAKE + ("client shutdown", "settle", "client close", "settle"),
        "shutdown(SHUT_WR) sends the FIN; the socket stays the application's, in FIN-WAIT-2 "
        "with no timer. The close() after it sends nothing: it gives the socket up, and the "
        "orphan becomes a mini-socket whose tcp_fin_timeout timer (60 s) /proc/net/tcp's "
        "timer column shows counting down."),
    LiveScenario(
        "time-wait-reuse", "TIME-WAIT accepts a new SYN on the same four-tuple",
        _HANDSHAKE + ("server close", "settle", "client close", "settle", "wait 0.05",
                      "client connect", "settle"),
        "The server closed first, so the server's side of the four-tuple is in TIME-WAIT. "
        "The client connects again from the same port: its new SYN is above the old "
        "sequence numbers (clock-driven ISN, RFC 9293 §3.4.1), so TIME-WAIT accepts it "
        "(§3.6.1 MAY-2, Linux's tcp_timewait_state_process) and both are ESTABLISHED. "
        "(The short wait lets the model's clock, and so its next ISN, move on; the kernel's "
        "ISN clock ticks every 64 ns.)"),
)

#: The live scenarios, by name, in teaching order.
LIVE_SCENARIOS: dict[str, LiveScenario] = {s.name: s for s in _ALL}


def names(privileged: bool | None = None) -> list[str]:
    """Scenario names (only the unprivileged ones with ``privileged=False``)."""
    return [s.name for s in _ALL if privileged is None or privileged or not s.privileged]


def get(name: "str | LiveScenario") -> LiveScenario:
    """The live scenario called ``name`` (a :class:`LiveScenario` is returned as is);
    ``ValueError`` listing the names for an unknown one."""
    if isinstance(name, LiveScenario):
        return name
    try:
        return LIVE_SCENARIOS[name]
    except KeyError:
        raise ValueError(f"no live scenario {name!r}; they are: "
                         + ", ".join(LIVE_SCENARIOS)) from None
