"""Named scenarios: the classic TCP stories, as data.

A scenario is a short script -- user calls and wire actions, one per line -- plus the
socket API calls that produce it, so a learner who knows ``connect()`` and ``close()``
can map each RFC event to code they have written.

The script language (one call or wire action per line) is :mod:`tcplab.script`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .endpoint import Config
from .network import Network
from .script import SCRIPT_CALLS, WIRE_COMMANDS, Command, parse_script, run_script, script_lines
from .states import TcpState

__all__ = ["Scenario", "SCENARIOS", "HANDSHAKE", "Command", "SCRIPT_CALLS", "WIRE_COMMANDS", "get", "names",
           "parse_script", "run_script", "script_lines"]


@dataclass(frozen=True)
class Scenario:
    """A named, documented run: script, socket calls, expected outcome and RFC pointers."""

    name: str
    title: str
    summary: str
    script: tuple[str, ...]
    socket_calls: tuple[tuple[str, str], ...]
    expect: dict[str, TcpState] = field(default_factory=dict)
    rfc: str = ""
    linux: bool = False               # use Linux's timer values (Config.linux())
    notes: str = ""

    def network(self, **kwargs: object) -> Network:
        """A fresh network configured for this scenario (kwargs go to :class:`Network`)."""
        if self.linux and "config" not in kwargs:
            kwargs["config"] = Config.linux()
        return Network(**kwargs)  # type: ignore[arg-type]

    def run(self, upto: int | None = None, **kwargs: object) -> Network:
        """Play the script on a fresh network and return it (with its full history).

        ``upto`` stops after that many script lines.
        """
        net = self.network(**kwargs)
        run_script(net, self.script[:upto])
        return net

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
