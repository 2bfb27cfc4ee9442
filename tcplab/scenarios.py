"""Named scenarios: the classic TCP stories, as data.

A scenario is a short script -- calls and wire actions, one per line -- plus the socket API
calls that produce it, so a learner who knows ``connect()`` and ``close()`` can map each
RFC event to code they have written.  Most stories are told at the RFC level, by two TCBs;
the socket-level ones (:attr:`Scenario.sockets`: ``accept-queue``, ``backlog-overflow``,
``econnrefused``, ``close-unread-rst``, ``time-wait-eaddrinuse``) are written as socket
code and run on hosts that hold sockets (:class:`~tcplab.sockets.SocketNetwork`), with
Linux's values: the listener that stays in LISTEN, its queues, the errno results and ``ss``.

The script language (one call or wire action per line) is :mod:`tcplab.script`.

>>> sc = get("close-unread-rst")
>>> net, outcomes = sc.play(isn={"client": 100, "server": 300})
>>> [(o.command.code(), o.result) for o in outcomes if o.command.actor == "client"][-3:]
[('c.recv(65536)', 'ECONNRESET'), ('c.recv(65536)', "b''"), ("c.send(b'more')", 'EPIPE')]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .endpoint import Config
from .network import Network
from .script import (SCRIPT_CALLS, WIRE_COMMANDS, Command, Outcome, parse_script, play_script,
                     run_script, script_lines, uses_sockets)
from .sockets import SocketNetwork
from .states import TcpState

__all__ = ["Scenario", "SCENARIOS", "HANDSHAKE", "Command", "Outcome", "SCRIPT_CALLS",
           "WIRE_COMMANDS", "get", "names", "parse_script", "play_script", "run_script",
           "script_lines", "uses_sockets"]


@dataclass(frozen=True)
class Scenario:
    """A named, documented run: script, socket calls, expected outcome and RFC pointers."""

    name: str
    title: str
    summary: str
    script: tuple[str, ...]
    socket_calls: tuple[tuple[str, str], ...] = ()   # a socket-level script's own, if empty
    expect: dict[str, TcpState] = field(default_factory=dict)  # TCB name -> final state
    rfc: str = ""
    linux: bool = False               # use Linux's timer values (Config.linux())
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.socket_calls and self.sockets:
            calls = tuple((c.actor, c.code()) for c in parse_script(self.script, sockets=True)
                          if c.kind == "socket")
            object.__setattr__(self, "socket_calls", calls)

    @property
    def sockets(self) -> bool:
        """Whether the script is written at the socket level (it runs on a
        :class:`~tcplab.sockets.SocketNetwork`)."""
        return uses_sockets(self.script)

    def network(self, **kwargs: object) -> Network:
        """A fresh network configured for this scenario (kwargs go to :class:`Network`, or
        to :class:`~tcplab.sockets.SocketNetwork` for a socket-level scenario)."""
        if self.linux and "config" not in kwargs:
            kwargs["config"] = Config.linux()
        kind = SocketNetwork if self.sockets else Network
        return kind(**kwargs)  # type: ignore[arg-type]

    def run(self, upto: int | None = None, **kwargs: object) -> Network:
        """Play the script on a fresh network and return it (with its full history).

        ``upto`` stops after that many script lines.
        """
        return self.play(upto, **kwargs)[0]

    def play(self, upto: int | None = None, **kwargs: object) -> tuple[Network, list[Outcome]]:
        """As :meth:`run`, and what each script line did (:class:`~tcplab.script.Outcome`:
        a socket call's result, an ``ss`` table)."""
        net = self.network(**kwargs)
        return net, play_script(net, self.script[:upto])

    def socket_code(self) -> str:
        """The socket API calls, one per line, with the side that makes them."""
        return "\n".join(f"{side:>6}: {code}" for side, code in self.socket_calls)

    def __str__(self) -> str:
        return f"{self.name}: {self.title}"


S = TcpState
#: The three-way handshake as script lines: every story that needs a connection starts so.
HANDSHAKE = ("server listen", "client connect", "settle")
_HANDSHAKE = HANDSHAKE
_SERVER = ("server", "s = socket(); s.bind(('', 8080)); s.listen(); conn, _ = s.accept()")
_CLIENT = ("client", "c = socket(); c.connect(('server', 8080))")
#: A socket-level server's first lines: a socket listening on port 80 (backlog 5).
_LISTENER = ("server s = socket", "server bind s 80", "server listen s 5")

_ALL = (
    Scenario(
        "handshake", "The three-way handshake",
        "SYN, SYN-ACK, ACK: both sides choose an initial sequence number and each "
        "acknowledges the other's, so both end in ESTABLISHED.",
        _HANDSHAKE, (_SERVER, _CLIENT),
        {"client": S.ESTABLISHED, "server": S.ESTABLISHED}, "RFC 9293 §3.5, figure 6"),
    Scenario(
        "teardown-client-first", "Teardown: the client closes first",
        "After a request and a response, the client closes first (active close) and ends in "
        "TIME-WAIT; the server passes through CLOSE-WAIT and LAST-ACK.",
        _HANDSHAKE + ("client send GET /", "settle", "server recv", "server send 200 OK",
                      "settle", "client recv", "client close", "settle", "server close", "run"),
        (_SERVER, _CLIENT, ("client", "c.send(b'GET /')"), ("server", "conn.recv(); "
         "conn.send(b'200 OK')"), ("client", "c.recv(); c.close()"),
         ("server", "conn.recv() == b''  # EOF; then conn.close()")),
        {"client": S.CLOSED, "server": S.CLOSED}, "RFC 9293 §3.6, figure 12"),
    Scenario(
        "teardown-server-first", "Teardown: the server closes first",
        "Either side may close first. Here the server closes first (as an HTTP/1.0 server "
        "does after its response), so the *server* ends in TIME-WAIT.",
        _HANDSHAKE + ("client send GET /", "settle", "server recv", "server send 200 OK",
                      "server close", "settle", "client recv", "client close", "run"),
        (_SERVER, _CLIENT, ("client", "c.send(b'GET /')"),
         ("server", "conn.recv(); conn.send(b'200 OK'); conn.close()"),
         ("client", "c.recv(); c.recv() == b''  # EOF; then c.close()")),
        {"client": S.CLOSED, "server": S.CLOSED}, "RFC 9293 §3.6, figure 12"),
    Scenario(
        "half-close", "Half-close: shutdown(SHUT_WR) while data still flows back",
        "The client sends its request and shuts down its sending side. It sits in "
        "FIN-WAIT-2 while the server, in CLOSE-WAIT, goes on sending its answer; only then "
        "does the server close.",
        _HANDSHAKE + ("client send sort these: 3 1 2", "client shutdown", "settle",
                      "server recv", "server send 1 2 3", "settle", "server send (done)",
                      "settle", "server close", "client recv", "run"),
        (_SERVER, _CLIENT, ("client", "c.send(b'sort these: 3 1 2'); c.shutdown(SHUT_WR)"),
         ("server", "data = conn.recv()  # ... until b'' (EOF)"),
         ("server", "conn.send(b'1 2 3'); conn.send(b'(done)'); conn.close()"),
         ("client", "c.recv() ... until b''; c.close()")),
        {"client": S.CLOSED, "server": S.CLOSED}, "RFC 9293 §3.6, §3.10.4"),
    Scenario(
        "simultaneous-open", "Simultaneous open: two SYNs cross",
        "Both sides connect() to each other at the same moment. Each SYN-SENT receives a "
        "bare SYN, moves to SYN-RECEIVED and answers SYN,ACK; each SYN,ACK completes the "
        "handshake. Four segments instead of three, and no listener.",
        ("client connect", "server connect", "settle"),
        (("client", "c.bind(('', 5000)); c.connect(('server', 6000))"),
         ("server", "s.bind(('', 6000)); s.connect(('client', 5000))  # at the same time")),
        {"client": S.ESTABLISHED, "server": S.ESTABLISHED}, "RFC 9293 §3.5, figure 7"),
    Scenario(
        "simultaneous-close", "Simultaneous close: two FINs cross",
        "Both applications close at the same moment. Each FIN-WAIT-1 receives the other's "
        "FIN before the ACK of its own, so both pass through CLOSING and both end in "
        "TIME-WAIT.",
        _HANDSHAKE + ("client close", "server close", "run"),
        (_SERVER, _CLIENT, ("client", "c.close()"), ("server", "conn.close()  # at the same time")),
        {"client": S.CLOSED, "server": S.CLOSED}, "RFC 9293 §3.6, figure 13"),
    Scenario(
        "fin-wait-1-fin-ack", "FIN-WAIT-1 receives FIN+ACK: straight to TIME-WAIT",
        "The server answers the client's FIN and closes at once. Its lone ACK is lost, but "
        "its FIN,ACK acknowledges the client's FIN too, so the client skips FIN-WAIT-2 and "
        "CLOSING and goes straight from FIN-WAIT-1 to TIME-WAIT (figure 5, note 2).",
        _HANDSHAKE + ("client close", "deliver client FIN,ACK", "server close",
                      "drop server ACK", "run"),
        (_SERVER, _CLIENT, ("client", "c.close()"),
         ("server", "conn.recv() == b''; conn.close()  # immediately")),
        {"client": S.CLOSED, "server": S.CLOSED}, "RFC 9293 §3.3.2 note 2, §3.10.7.4"),
    Scenario(
        "lost-final-ack", "The final ACK is lost",
        "The client's last ACK never arrives. The server, in LAST-ACK, retransmits its FIN "
        "after its retransmission timeout; the client, still in TIME-WAIT, ACKs it again "
        "and restarts its 2*MSL timer. This is the first reason for TIME-WAIT.",
        _HANDSHAKE + ("client close", "settle", "server close", "deliver server FIN,ACK",
                      "drop client ACK", "run"),
        (_SERVER, _CLIENT, ("client", "c.close()"), ("server", "conn.close()")),
        {"client": S.CLOSED, "server": S.CLOSED}, "RFC 9293 §3.6, §3.10.7.4 (TIME-WAIT)"),
    Scenario(
        "old-duplicate", "An old duplicate arrives after the close",
        "A data segment from the server is duplicated and the copy wanders in the network. "
        "It arrives after both applications have closed, while the client is in TIME-WAIT: "
        "the TIME-WAIT TCB still knows the sequence numbers, sees that the copy is old and "
        "only re-ACKs -- no application ever sees it. Without TIME-WAIT a new connection on "
        "the same ports could have taken it for new data: the second reason for 2*MSL.",
        _HANDSHAKE + ("server send balance=100", "duplicate server DATA +1.5", "deliver server DATA",
                      "deliver client ACK", "client recv", "client close", "deliver client FIN,ACK",
                      "deliver server ACK", "server close", "deliver server FIN,ACK",
                      "deliver client ACK", "run"),
        (_SERVER, _CLIENT, ("server", "conn.send(b'balance=100')"),
         ("client", "c.recv(); c.close()"), ("server", "conn.close()")),
        {"client": S.CLOSED, "server": S.CLOSED}, "RFC 9293 §3.4.2, §3.6; RFC 1337",
        notes="Watch the end: the server, already CLOSED, answers the client's re-ACK with "
        "RST, and RFC 9293 (like Linux by default, net.ipv4.tcp_rfc1337=0) lets that RST end "
        "TIME-WAIT early. RFC 1337 calls this TIME-WAIT assassination; run the scenario with "
        "Config(rfc1337=True) to see TIME-WAIT ignore the RST and last its full 2*MSL."),
    Scenario(
        "connection-refused", "Connection refused: nobody listens",
        "The client sends a SYN to a port where no socket listens. The server's TCP has no "
        "TCB for it (CLOSED) and answers RST,ACK; connect() fails with ECONNREFUSED.",
        ("client connect", "run"),
        (("server", "# no socket listens on port 8080"),
         ("client", "c.connect(('server', 8080))  # ConnectionRefusedError")),
        {"client": S.CLOSED, "server": S.CLOSED}, "RFC 9293 §3.5.2, §3.10.7.1"),
    Scenario(
        "abort", "Abort: RST instead of FIN",
        "The client aborts the connection (SO_LINGER with a zero timeout, then close()): it "
        "sends RST and forgets everything at once. The server's next recv() fails with "
        "ECONNRESET. No FIN, no TIME-WAIT.",
        _HANDSHAKE + ("client send hello", "settle", "client abort", "run"),
        (_SERVER, _CLIENT, ("client", "c.send(b'hello')"),
         ("client", "c.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0)); c.close()"),
         ("server", "conn.recv()  # ConnectionResetError")),
        {"client": S.CLOSED, "server": S.CLOSED}, "RFC 9293 §3.5.2, §3.10.5"),
    Scenario(
        "syn-lost", "The SYN is lost and retransmitted",
        "The first SYN is lost. After the retransmission timeout (1 s initially) the client "
        "sends it again, and the handshake completes a second later than usual.",
        ("server listen", "client connect", "drop client SYN", "run"),
        (_SERVER, _CLIENT),
        {"client": S.ESTABLISHED, "server": S.ESTABLISHED}, "RFC 9293 §3.8.1, RFC 6298"),
    Scenario(
        "close-wait-leak", "The CLOSE_WAIT leak: the application never calls close()",
        "The client closes, the server's TCP acknowledges the FIN -- but the server "
        "application never calls close(). The server socket stays in CLOSE_WAIT and the "
        "client in FIN-WAIT-2, for ever in RFC 9293. ss shows CLOSE-WAIT piling up.",
        _HANDSHAKE + ("client close", "run", "wait 3600"),
        (_SERVER, _CLIENT, ("client", "c.close()"),
         ("server", "# bug: never calls conn.close()")),
        {"client": S.FIN_WAIT_2, "server": S.CLOSE_WAIT}, "RFC 9293 §3.6"),
    # ---- socket level: hosts that hold sockets, as Linux runs them (tcplab.sockets) ----
    Scenario(
        "accept-queue", "The listener stays in LISTEN; accept() hands out connections in order",
        "Two clients connect to one listening socket. The listener never leaves LISTEN: each "
        "handshake makes a new connection that waits, ESTABLISHED, in the accept queue (ss "
        "shows the queue as the listener's Recv-Q) and can even receive data there. Each "
        "accept() returns the oldest one as a new socket; with the queue empty, accept() "
        "fails with EAGAIN.",
        _LISTENER + (
            "client a = socket", "client connect a server:80",
            "client b = socket", "client connect b server:80",
            "settle",
            "client send a first", "client send b second",
            "settle",
            "ss server                   # LISTEN Recv-Q 2: two connections wait for accept()",
            "server conn1 = accept s     # the oldest: a's",
            "server conn2 = accept s",
            "server conn3 = accept s -> EAGAIN",
            "server recv conn1 -> b'first'",
            "server recv conn2 -> b'second'",
            "ss server"),
        expect={"server:80": S.LISTEN, "server:80-client:40000": S.ESTABLISHED,
                "server:80-client:40001": S.ESTABLISHED,
                "client:40000-server:80": S.ESTABLISHED,
                "client:40001-server:80": S.ESTABLISHED},
        rfc="RFC 9293 §3.10.1 (passive OPEN), §3.10.7.2; listen(2), accept(2)", linux=True),
    Scenario(
        "backlog-overflow", "listen(1) overflows: dropped SYNs and final ACKs, until accept()",
        "The server calls listen(1) and is slow to accept(). The accept queue takes backlog + 1 "
        "= 2 connections. Client c's handshake completes on its side, but its final ACK meets "
        "the full queue and Linux drops it: the client is ESTABLISHED while the server holds "
        "c as SYN-RECV. Client d's SYN is dropped outright and d waits in SYN-SENT. Each "
        "accept() makes room: the server's SYN,ACK retransmission brings c's ACK again, and "
        "once the queue has room again, d's next retransmitted SYN gets in.",
        ("server s = socket", "server bind s 80", "server listen s 1",
         "client a = socket", "client connect a server:80",
         "settle                      # a waits in the accept queue",
         "client b = socket", "client connect b server:80",
         "client c = socket", "client connect c server:80",
         "settle                      # b fills the queue (2 = backlog + 1); c's ACK is dropped",
         "ss server -o", "ss client",
         "client d = socket", "client connect d server:80",
         "settle                      # d's SYN is dropped: the accept queue is full",
         "ss client -o",
         "server conn_a = accept s    # room for one",
         "wait 1.05                   # c's SYN,ACK again and c's ACK again: now it fits;"
         " d's second SYN finds the queue full again",
         "ss server -o", "ss client -o",
         "server conn_b = accept s", "server conn_c = accept s",
         "until client d ESTABLISHED  # d's next SYN finds room",
         "settle",
         "server conn_d = accept s",
         "ss server"),
        expect={"server:80": S.LISTEN,
                **{f"server:80-client:{p}": S.ESTABLISHED for p in range(40000, 40004)},
                **{f"client:{p}-server:80": S.ESTABLISHED for p in range(40000, 40004)}},
        rfc="RFC 9293 §3.10.7.2; Linux tcp_conn_request, tcp_check_req, tcp_abort_on_overflow",
        linux=True,
        notes="Linux counts the dropped SYNs and ACKs in nstat's TcpExtListenOverflows and "
        "TcpExtListenDrops. With net.ipv4.tcp_abort_on_overflow = 1 the server would answer "
        "c's ACK with RST instead. The SYN queue holds backlog + 1 request socks too; a SYN "
        "beyond that gets a SYN cookie (net.ipv4.tcp_syncookies = 1)."),
    Scenario(
        "econnrefused", "connect() to a port nobody listens on: ECONNREFUSED",
        "The client connects to port 8080, but the server listens on 80. The server's TCP "
        "has no socket for port 8080 and answers the SYN with RST,ACK; the client's socket "
        "is CLOSED with the pending error ECONNREFUSED, which a blocking connect() raises "
        "(ConnectionRefusedError) and a non-blocking one leaves for getsockopt(SO_ERROR). "
        "Once read, the error is gone: send() then fails with EPIPE.",
        _LISTENER + (
            "client c = socket",
            "client connect c server:8080  # the wrong port",
            "settle",
            "ss                          # the client has no socket line left",
            "client getsockopt c SO_ERROR -> ECONNREFUSED",
            "client send c hello -> EPIPE",
            "client close c",
            "client c2 = socket",
            "client connect c2 server:80",
            "settle",
            "ss client"),
        expect={"server:80": S.LISTEN, "server:80-client:40001": S.ESTABLISHED,
                "client:40001-server:80": S.ESTABLISHED},
        rfc="RFC 9293 §3.10.7.1, §3.5.2; connect(2), tcp(7)", linux=True),
    Scenario(
        "close-unread-rst", "close() with unread data: RST, and the peer's recv() fails",
        "The client sends its request, but the server closes the connection without reading "
        "it (ss shows it waiting in Recv-Q). Data would be lost, so the server's TCP sends "
        "RST instead of FIN (RFC 9293 §3.6.1, as Linux does): no TIME-WAIT anywhere, and the "
        "client's next recv() fails with ECONNRESET; after that recv() returns b'' and send() "
        "fails with EPIPE.",
        _LISTENER + (
            "client c = socket", "client connect c server:80", "settle",
            "server conn = accept s",
            "client send c GET /", "settle",
            "ss server                   # Recv-Q 5: the request nobody read",
            "server close conn           # unread data: RST, not FIN",
            "settle",
            "ss",
            "client recv c -> ECONNRESET",
            "client recv c -> b''",
            "client send c more -> EPIPE"),
        expect={"server:80": S.LISTEN},
        rfc="RFC 9293 §3.6.1 (SHLD-2), §3.10.7.4; Linux tcp_close(); tcp(7)", linux=True),
    Scenario(
        "time-wait-eaddrinuse", "Restarting a server: TIME-WAIT, EADDRINUSE and SO_REUSEADDR",
        "The server closes its connection first, so its side waits 60 s in TIME-WAIT on port "
        "80, and then the server stops. Restarted, its bind() to port 80 fails with "
        "EADDRINUSE -- even after setsockopt(SO_REUSEADDR), because Linux lets a port be "
        "shared only when both sockets set it, and the old one did not. After the 60 s the "
        "bind() works. This server sets SO_REUSEADDR before bind(), so its next restart, "
        "with its own connection still in TIME-WAIT, binds at once.",
        ("server s = socket", "server bind s 80", "server listen s 5",
         "client c = socket", "client connect c server:80", "settle",
         "server conn = accept s",
         "server send conn bye",
         "server close conn           # the server closes first: it will wait in TIME-WAIT",
         "server close s              # and the server stops",
         "settle",
         "client recv c -> b'bye'", "client recv c -> b''", "client close c",
         "settle",
         "ss server -o                # TIME-WAIT on port 80, 60 s to go",
         "server s2 = socket          # the server restarts",
         "server bind s2 80 -> EADDRINUSE",
         "server setsockopt s2 SO_REUSEADDR 1",
         "server bind s2 80 -> EADDRINUSE  # the TIME-WAIT socket did not set it",
         "run                         # TIME-WAIT ends after 60 s",
         "server bind s2 80",
         "server listen s2 5",
         "client c2 = socket", "client connect c2 server:80", "settle",
         "server conn2 = accept s2",
         "server close conn2", "server close s2", "settle",
         "client recv c2 -> b''", "client close c2", "settle",
         "ss server                   # TIME-WAIT again, this time with SO_REUSEADDR",
         "server s3 = socket",
         "server setsockopt s3 SO_REUSEADDR 1",
         "server bind s3 80",
         "server listen s3 5",
         "ss server"),
        expect={"server:80": S.LISTEN, "server:80-client:40001": S.TIME_WAIT},
        rfc="RFC 9293 §3.6.1 (TIME-WAIT); socket(7) SO_REUSEADDR; Linux inet_bind_conflict",
        linux=True,
        notes="A socket in TIME-WAIT still holds its port: that is what protects a new "
        "connection on the same ports from the old one's delayed segments. SO_REUSEADDR "
        "never lets two sockets listen on one port (that is SO_REUSEPORT)."),
)

#: The catalogue, by name, in teaching order.
SCENARIOS: dict[str, Scenario] = {s.name: s for s in _ALL}


def names() -> list[str]:
    return list(SCENARIOS)


def get(name: str | Scenario) -> Scenario:
    """The scenario called ``name`` (a ValueError lists the names)."""
    if isinstance(name, Scenario):
        return name
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"no scenario {name!r}; the scenarios are: "
                         + ", ".join(SCENARIOS)) from None
