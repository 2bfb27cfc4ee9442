"""Named scenarios: the classic TCP stories, as data.

A scenario is a short script -- user calls and wire actions, one per line -- plus the
socket API calls that produce it, so a learner who knows ``connect()`` and ``close()``
can map each RFC event to code they have written.

Script lines::

    server listen            client connect          client send hello
    client close             client shutdown         server abort
    client recv              settle                  run
    wait SECONDS             until SIDE STATE
    deliver [SIDE [FLAGS]]   drop SIDE FLAGS         duplicate SIDE FLAGS [+SECONDS]
    delay SIDE FLAGS SECONDS timer SIDE [NAME]

``FLAGS`` names a packet in flight from ``SIDE`` by its flags (``SYN``, ``SYN,ACK``,
``ACK``, ``FIN,ACK``, ``DATA``); the earliest such packet is meant.  ``settle`` delivers
everything in flight (and what that triggers); ``run`` also lets timers fire until the
network is quiet; ``until`` lets events happen until a side reaches a state.  The live lab
(:mod:`tcplab.live`) plays the same scripts on real sockets, except the lines that steer a
single segment or timer (:data:`WIRE_COMMANDS`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Iterable

from .endpoint import CALLS, Config
from .network import Network
from .states import TcpState
from .steps import Step

__all__ = ["Scenario", "SCENARIOS", "Command", "SCRIPT_CALLS", "WIRE_COMMANDS", "get", "names",
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


#: Calls a script can make on a side: the RFC's user calls, shutdown(SHUT_WR), and recv().
SCRIPT_CALLS = (*CALLS, "shutdown", "recv")
#: Commands that steer single segments or timers: only the model can do them.
WIRE_COMMANDS = ("deliver", "drop", "duplicate", "delay", "timer")
_COMMANDS = ("<side> <call>", *WIRE_COMMANDS, "settle", "run", "wait", "until")


@dataclass(frozen=True)
class Command:
    """One parsed script line (see the module docstring for the language)."""

    text: str                   # the line, without its comment
    kind: str                   # "call", "settle", "run", "wait", "until", or a WIRE_COMMAND
    number: int = 0             # line number in the script, from 1
    actor: str = ""             # the side: who calls, whose packet, whose timer, who waits
    call: str = ""              # for "call": one of SCRIPT_CALLS
    data: bytes = b""           # for "send"
    flags: str | None = None    # for wire commands: which packet ("SYN,ACK", "DATA", ...)
    seconds: float = 0.0        # for "wait", "delay", "duplicate"
    timer: str | None = None    # for "timer"
    state: TcpState | None = None  # for "until"


def script_lines(script: object) -> list[str]:
    """The lines of a script given as text, a list of lines, or anything with ``.script``."""
    if isinstance(script, str):
        return script.splitlines()
    lines = getattr(script, "script", script)
    if isinstance(lines, str):
        return lines.splitlines()
    return [str(x) for x in lines]  # type: ignore[union-attr]


def parse_script(script: object, names: Iterable[str] = ("client", "server")) -> list[Command]:
    """Parse a script into commands; a bad line is a ``ValueError`` naming it."""
    names = tuple(names)
    out = []
    for n, raw in enumerate(script_lines(script), 1):
        text = raw.split("#", 1)[0].strip()
        if text:
            try:
                out.append(_parse_line(text, n, names))
            except ValueError as exc:
                raise ValueError(f"script line {n} {text!r}: {exc}") from None
    return out


def _seconds(word: str, what: str) -> float:
    try:
        value = float(word.lstrip("+"))
    except ValueError:
        raise ValueError(f"{what} must be a number of seconds, not {word!r}") from None
    if value < 0:
        raise ValueError(f"{what} must not be negative")
    return value


def _parse_line(text: str, n: int, names: tuple[str, ...]) -> Command:
    words = shlex.split(text)
    head, rest = words[0], words[1:]
    if head in names:
        if not rest or rest[0] not in SCRIPT_CALLS:
            raise ValueError(f"after {head!r} comes a call: {', '.join(SCRIPT_CALLS)}")
        call, args = rest[0], rest[1:]
        if call == "send":
            if not args:
                raise ValueError(f"send needs the data to send, e.g. '{head} send hello'")
            return Command(text, "call", n, head, call, " ".join(args).encode())
        if args:
            raise ValueError(f"{call} takes no arguments")
        return Command(text, "call", n, head, call)
    if head in WIRE_COMMANDS:
        side = rest[0] if rest else None
        if side is not None and side not in names:
            raise ValueError(f"{head}: no side {side!r}; the sides are {', '.join(names)}")
        if head == "deliver":
            return Command(text, head, n, side or "", flags=rest[1] if len(rest) > 1 else None)
        if head == "timer":
            if side is None:
                raise ValueError(f"timer needs a side, e.g. 'timer {names[0]}'")
            return Command(text, head, n, side, timer=rest[1] if len(rest) > 1 else None)
        if len(rest) < 2:
            raise ValueError(f"{head} needs SIDE and FLAGS, e.g. '{head} {names[0]} SYN'")
        if head == "delay" and len(rest) < 3:
            raise ValueError(f"delay needs SECONDS, e.g. 'delay {names[1]} ACK 0.5'")
        secs = _seconds(rest[2], head) if len(rest) > 2 else 0.0
        return Command(text, head, n, side or "", flags=rest[1], seconds=secs)
    if head in ("settle", "run"):
        return Command(text, head, n)
    if head == "wait":
        if len(rest) != 1:
            raise ValueError("wait needs a number of seconds, e.g. 'wait 1.5'")
        return Command(text, head, n, seconds=_seconds(rest[0], "wait"))
    if head == "until":
        if len(rest) != 2 or rest[0] not in names:
            raise ValueError(f"until needs a side and a state, e.g. 'until {names[1]} "
                             "CLOSE-WAIT'")
        return Command(text, head, n, rest[0], state=TcpState.parse(rest[1]))
    raise ValueError(f"unknown command {head!r}; commands: {', '.join(_COMMANDS)}")


def run_script(net: Network, script: object) -> list[Step]:
    """Execute a script (see the module docstring) on ``net``; return the new steps."""
    start = len(net.history)
    for cmd in parse_script(script, net.names):
        try:
            _execute(net, cmd)
        except (KeyError, ValueError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            raise ValueError(f"script line {cmd.number} {cmd.text!r}: {msg}") from None
    return net.history[start:]


def _execute(net: Network, cmd: Command) -> None:
    kind = cmd.kind
    if kind == "call":
        if cmd.call == "shutdown":
            net.shutdown(cmd.actor)
        elif cmd.call == "recv":
            net[cmd.actor].recv()
        elif cmd.call == "send":
            net.send(cmd.actor, cmd.data)
        else:
            net.call(cmd.actor, cmd.call)
    elif kind == "deliver":
        net.deliver(net.find(cmd.actor, cmd.flags).id if cmd.actor else None)
    elif kind == "drop":
        net.drop(net.find(cmd.actor, cmd.flags).id)
    elif kind == "duplicate":
        net.duplicate(net.find(cmd.actor, cmd.flags).id, cmd.seconds)
    elif kind == "delay":
        net.delay(net.find(cmd.actor, cmd.flags).id, cmd.seconds)
    elif kind == "timer":
        net.fire_timer(cmd.actor, cmd.timer)
    elif kind == "settle":
        net.settle()
    elif kind == "run":
        net.run()
    elif kind == "wait":
        net.wait(cmd.seconds)
    elif kind == "until":
        net.run(stop=lambda n: n.state(cmd.actor) is cmd.state)
        if net.state(cmd.actor) is not cmd.state:
            raise ValueError(f"the {cmd.actor} never reaches {cmd.state}")


S = TcpState
_HANDSHAKE = ("server listen", "client connect", "settle")
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
        _HANDSHAKE + ("client send GET /", "settle", "server send 200 OK", "settle",
                      "client close", "settle", "server close", "run"),
        (_SERVER, _CLIENT, ("client", "c.send(b'GET /')"), ("server", "conn.recv(); "
         "conn.send(b'200 OK')"), ("client", "c.recv(); c.close()"),
         ("server", "conn.recv() == b''  # EOF; then conn.close()")),
        {"client": S.CLOSED, "server": S.CLOSED}, "RFC 9293 §3.6, figure 12"),
    Scenario(
        "teardown-server-first", "Teardown: the server closes first",
        "Either side may close first. Here the server closes first (as an HTTP/1.0 server "
        "does after its response), so the *server* ends in TIME-WAIT.",
        _HANDSHAKE + ("client send GET /", "settle", "server send 200 OK", "server close",
                      "settle", "client close", "run"),
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
                      "server send 1 2 3", "settle", "server send (done)", "settle",
                      "server close", "run"),
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
                      "deliver client ACK", "client close", "deliver client FIN,ACK",
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
