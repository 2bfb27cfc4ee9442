"""The scenario script language: one call, wire action or look per line; parse and run.

Built on :mod:`tcplab.network` and :mod:`tcplab.sockets` (what a line does) and
:mod:`tcplab.states`.  The live lab (:mod:`tcplab.live`) plays the same scripts on real
sockets, except the lines that steer a single segment or timer (:data:`WIRE_COMMANDS`).

A script is written at one of two levels.  **RFC level**, on a
:class:`~tcplab.network.Network` of two TCBs: a line is a side and an RFC user call::

    server listen            client connect          client send hello
    client close             client shutdown         server abort
    client recv              until SIDE STATE        timer SIDE [NAME]

**Socket level**, on a :class:`~tcplab.sockets.SocketNetwork` of two hosts, written the way
socket code is: a line is a host, a call, the socket it is made on, then its arguments;
``socket`` and ``accept`` name the new socket they return.  Each line is the Python
call at its right::

    server s = socket                   s = socket(AF_INET, SOCK_STREAM)
    server setsockopt s SO_REUSEADDR 1  s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    server bind s 80                    s.bind(('', 80))          (or ADDR:PORT)
    server listen s 1                   s.listen(1)               (no backlog: s.listen())
    client c = socket                   c = socket(AF_INET, SOCK_STREAM)
    client connect c server:80          c.connect(('server', 80)) (a host name or address)
    server conn = accept s              conn, _ = s.accept()
    client send c GET /                 c.send(b'GET /')
    server recv conn                    conn.recv(65536)          (or: server recv conn 10)
    client shutdown c SHUT_WR           c.shutdown(SHUT_WR)       (SHUT_RD, SHUT_RDWR)
    server close conn                   conn.close()
    client setsockopt c SO_LINGER 1 0   c.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0))
    client getsockopt c SO_ERROR        c.getsockopt(SOL_SOCKET, SO_ERROR)  (or SO_REUSEADDR)
    ss [HOST] [-o]                      ss -tan (-o: ss -tano) of a host, or of every host, now
    until HOST SOCK STATE               timer HOST SOCK [NAME]

A socket call's result is recorded (:class:`Outcome`): ``fd 3`` for a new socket, ``0``,
``EINPROGRESS`` for ``connect`` (the calls do not block), the byte count of ``send``, the
bytes of ``recv`` (``b'GET /'``, ``b''`` at the end of the stream), or an errno name
(``ECONNRESET``) when the call fails.  ``-> RESULT`` at the end of a line says what the call
must give, and a call that fails without one stops the script, as an exception stops a
program::

    client recv c -> ECONNRESET         client recv c -> b''        server bind s 80 -> EADDRINUSE

A script that names a socket (``= socket``), uses a socket-only call (``bind``, ``accept``,
``setsockopt``, ``getsockopt``) or ``ss`` is a socket script (:func:`uses_sockets`).  The
socket names a script gives stay with its network, so a script may go on in a later
:func:`run_script` on the same network.

Both levels share::

    settle                   run                     wait SECONDS
    deliver [SIDE [FLAGS]]   drop SIDE FLAGS         duplicate SIDE FLAGS [+SECONDS]
    delay SIDE FLAGS SECONDS

``FLAGS`` names a packet in flight from ``SIDE`` by its flags (``SYN``, ``SYN,ACK``,
``ACK``, ``FIN,ACK``, ``DATA``); the earliest such packet is meant.  ``settle`` delivers
everything in flight (and what that triggers); ``run`` also lets timers fire until the
network is quiet; ``until`` lets events happen until a side (or socket) reaches a state.
``#`` starts a comment.  Seconds are virtual seconds, finite and >= 0.

>>> [c.kind for c in parse_script(["server listen", "client connect", "settle"])]
['call', 'call', 'settle']
>>> [c.code() for c in parse_script(["server s = socket", "server listen s 1",
...                                  "server conn = accept s -> EAGAIN"])]
['s = socket(AF_INET, SOCK_STREAM)', 's.listen(1)', 'conn, _ = s.accept()']
>>> parse_script("settle now")
Traceback (most recent call last):
ValueError: script line 1 'settle now': settle takes no arguments, got 'now'
>>> parse_script("server s = socket\\nserver listen s one")
Traceback (most recent call last):
ValueError: script line 2 'server listen s one': listen's backlog is a whole number, not 'one'
"""

from __future__ import annotations

import ast
import errno
import math
import re
import shlex
import weakref
from dataclasses import dataclass
from typing import Iterable

from .endpoint import CALLS
from .network import Network
from .segment import Flags
from .sockets import SO_ERROR, SO_LINGER, SO_REUSEADDR, SOL_SOCKET, Socket, SocketNetwork
from .states import TcpState
from .steps import Step

__all__ = ["Command", "Outcome", "SCRIPT_CALLS", "SOCKET_SCRIPT_CALLS", "WIRE_COMMANDS",
           "TIMERS", "parse_script", "play_script", "run_script", "script_lines",
           "uses_sockets"]


#: Calls a script can make on a side: the RFC's user calls, shutdown(SHUT_WR), and recv().
SCRIPT_CALLS = (*CALLS, "shutdown", "recv")
#: Calls a socket script makes on a host's sockets (the sockets API, ``socket(7)``).
SOCKET_SCRIPT_CALLS = ("socket", "bind", "listen", "accept", "connect", "send", "recv",
                       "shutdown", "close", "setsockopt", "getsockopt")
#: Commands that steer single segments or timers: only the model can do them.
WIRE_COMMANDS = ("deliver", "drop", "duplicate", "delay", "timer")
#: The timers an endpoint runs (RFC 9293 §3.8; fin-wait-2 is Linux's tcp_fin_timeout).
TIMERS = ("retransmission", "persist", "time-wait", "fin-wait-2")
_COMMANDS = ("<side> <call>", *WIRE_COMMANDS, "settle", "run", "wait", "until", "ss")
_SOCKET_ONLY = ("socket", "bind", "accept", "setsockopt", "getsockopt")
_SHUT = {"SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2}
_OPTIONS = {"SO_REUSEADDR": SO_REUSEADDR, "SO_LINGER": SO_LINGER, "SO_ERROR": SO_ERROR}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Command:
    """One parsed script line (see the module docstring for the language)."""

    text: str                   # the line, without its comment
    kind: str                   # "call", "socket", "ss", "settle", "run", "wait", "until",
    #                             or a WIRE_COMMAND
    number: int = 0             # line number in the script, from 1
    actor: str = ""             # the side or host: who calls, whose packet, timer, ss
    call: str = ""              # "call": one of SCRIPT_CALLS; "socket": SOCKET_SCRIPT_CALLS
    data: bytes = b""           # for "send"
    flags: str | None = None    # for wire commands: which packet ("SYN,ACK", "DATA", ...)
    seconds: float = 0.0        # for "wait", "delay", "duplicate"
    timer: str | None = None    # for "timer"
    state: TcpState | None = None  # for "until"
    sock: str = ""              # socket level: the socket a call, until or timer is about
    name: str = ""              # socket level: the name given to the socket a call returns
    args: tuple = ()            # socket level: the call's arguments, as Python passes them;
    #                             for "ss": (timers,)
    expect: str | None = None   # socket level: "-> RESULT", what the call must give

    def code(self) -> str | None:
        """A socket call as Python code (``"conn, _ = s.accept()"``); ``None`` for other
        lines."""
        if self.kind != "socket":
            return None
        call, sock, args = self.call, self.sock, self.args
        if call == "socket":
            return f"{self.name} = socket(AF_INET, SOCK_STREAM)"
        if call == "accept":
            return f"{self.name}, _ = {sock}.accept()"
        if call in ("bind", "connect"):
            addr = args[0] if isinstance(args[0], tuple) else ("", args[0])
            return f"{sock}.{call}({addr!r})"
        if call == "send":
            return f"{sock}.send({self.data!r})"
        if call == "shutdown":
            return f"{sock}.shutdown({_name_of(_SHUT, args[0])})"
        if call in ("setsockopt", "getsockopt"):
            words = ["SOL_SOCKET", _name_of(_OPTIONS, args[1])]
            if call == "setsockopt":
                value = args[2]
                words.append(f"struct.pack('ii', {value[0]}, {value[1]})"
                             if isinstance(value, tuple) else str(value))
            return f"{sock}.{call}({', '.join(words)})"
        if call == "recv" and not args:
            args = (65536,)                # Python's recv() needs a size; the model's default
        return f"{sock}.{call}({', '.join(str(a) for a in args)})"


def _name_of(table: dict[str, int], value: int) -> str:
    return next(k for k, v in table.items() if v == value)


@dataclass(frozen=True)
class Outcome:
    """What one script line did: the ``steps`` it recorded, at virtual ``time`` (seconds,
    when the line began); for a socket call its ``result`` (see the module docstring) and,
    if the call failed, the ``error`` message; for ``ss``, the table(s) as text."""

    command: Command
    time: float
    steps: tuple[Step, ...] = ()
    result: str | None = None
    error: str | None = None
    ss: str | None = None

    def __str__(self) -> str:
        cmd = self.command
        if cmd.kind == "socket":
            return f"{self.time:8.3f} {cmd.actor:>8}  {cmd.code()}  -> {self.result}"
        if cmd.kind == "ss":
            return f"{self.time:8.3f}  {cmd.text}\n{self.ss}"
        return f"{self.time:8.3f}  {cmd.text}"


def script_lines(script: object) -> list[str]:
    """The lines of a script given as text, a list of lines, or anything with ``.script``.
    Raises ``TypeError`` for anything else (a line must be text)."""
    if isinstance(script, str):
        return script.splitlines()
    lines = getattr(script, "script", script)
    if isinstance(lines, str):
        return lines.splitlines()
    if not isinstance(lines, (list, tuple)) or not all(isinstance(x, str) for x in lines):
        raise TypeError(f"a script is text, a list of lines (str) or a Scenario, "
                        f"got {script!r:.80}")
    return list(lines)


def _texts(script: object) -> list[tuple[int, str]]:
    """(line number, text without its comment) of every line that says something."""
    out = []
    for n, raw in enumerate(script_lines(script), 1):
        text = raw.split("#", 1)[0].strip()
        if text:
            out.append((n, text))
    return out


def uses_sockets(script: object, names: Iterable[str] = ("client", "server")) -> bool:
    """Whether a script is written at the socket level: it names a socket (``HOST NAME =
    ...``), makes a socket-only call (``bind``, ``accept``, ``setsockopt``, ...) or looks at
    ``ss``."""
    names = tuple(names)
    for _, text in _texts(script):
        words = text.split()
        if words[0] == "ss" or (len(words) > 2 and words[2] == "=") or (
                words[0] in names and len(words) > 1 and words[1] in _SOCKET_ONLY):
            return True
    return False


def parse_script(script: object, names: Iterable[str] = ("client", "server"), *,
                 sockets: bool | None = None,
                 known: Iterable[tuple[str, str]] = ()) -> list[Command]:
    """Parse a script into commands; a bad line is a ``ValueError`` naming it.

    ``sockets`` says which level the script is written at (default: :func:`uses_sockets`);
    ``known`` holds the ``(host, name)`` of sockets named before this script (by an earlier
    script on the same network)."""
    names = tuple(names)
    if sockets is None:
        sockets = uses_sockets(script, names)
    defined = set(known)
    out = []
    for n, text in _texts(script):
        try:
            cmd = _parse_line(text, n, names, sockets, defined)
        except ValueError as exc:
            raise ValueError(f"script line {n} {text!r}: {exc}") from None
        if cmd.name:
            defined.add((cmd.actor, cmd.name))
        out.append(cmd)
    return out


def _seconds(word: str, what: str) -> float:
    try:
        value = float(word.lstrip("+"))
    except ValueError:
        raise ValueError(f"{what} must be a number of seconds, not {word!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} takes a finite number of seconds >= 0, not {word!r}")
    return value


def _flags(word: str, head: str) -> str:
    """A FLAGS word, checked now so that a typo is reported at parse time."""
    if word.upper() != "DATA":
        try:
            for part in word.upper().split(","):
                if part != "DATA":
                    Flags.parse(part)
        except ValueError:
            raise ValueError(f"{head}: {word!r} is not a packet's flags; use SYN, SYN,ACK, ACK, "
                             "FIN,ACK, RST, DATA or DATA,ACK") from None
    return word


def _no_more(head: str, extra: list[str]) -> None:
    if extra:
        raise ValueError(f"{head} takes no more arguments, got {' '.join(extra)!r}")


def _split_expect(text: str) -> tuple[str, str | None]:
    """``"client recv c -> b''"`` -> ``("client recv c", "b''")``: the last ``->`` word
    outside quotes starts the expected result."""
    quote, at = "", -1
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"" and (i == 0 or text[i - 1].isspace()):
            quote = ch
        elif text.startswith("->", i) and (i == 0 or text[i - 1].isspace()) and \
                (i + 2 == len(text) or text[i + 2].isspace()):
            at = i
    if at < 0:
        return text, None
    expect = text[at + 2:].strip()
    if not expect:
        raise ValueError("'->' needs the result the call must give, e.g. '-> ECONNRESET', "
                         "'-> 0' or \"-> b''\"")
    return text[:at].rstrip(), expect


def _parse_line(text: str, n: int, names: tuple[str, ...], sockets: bool,
                defined: set[tuple[str, str]]) -> Command:
    body, expect = _split_expect(text)
    try:
        words = shlex.split(body)
    except ValueError as exc:
        raise ValueError(f"{exc} (a quote is not closed)") from None
    if not words:
        raise ValueError("'->' follows a call: 'HOST CALL SOCK ... -> RESULT'")
    head, rest = words[0], words[1:]
    if expect is not None and not (sockets and head in names):
        raise ValueError("'-> RESULT' follows a socket call (e.g. 'client recv c -> "
                         f"ECONNRESET'); {head} has no result to check")
    if head in names:
        if sockets:
            return _parse_socket_line(text, n, head, rest, expect, defined)
        hint = (" (a socket-level script names its sockets: start it with "
                f"'{head} s = socket')" if rest and rest[0] in SOCKET_SCRIPT_CALLS else "")
        if not rest or rest[0] not in SCRIPT_CALLS:
            raise ValueError(f"after {head!r} comes a call: {', '.join(SCRIPT_CALLS)}{hint}")
        call, args = rest[0], rest[1:]
        if call == "send":
            if not args:
                raise ValueError(f"send needs the data to send, e.g. '{head} send hello'")
            return Command(text, "call", n, head, call, " ".join(args).encode())
        if args:
            raise ValueError(f"{call} takes no arguments, got {' '.join(args)!r}{hint}")
        return Command(text, "call", n, head, call)
    if head == "ss":
        timers = "-o" in rest
        hosts = [w for w in rest if w != "-o"]
        if len(hosts) > 1 or (hosts and hosts[0] not in names):
            raise ValueError(f"ss takes a host ({', '.join(names)}) or none (every host), "
                             "and -o for the timers, e.g. 'ss server -o'")
        return Command(text, "ss", n, hosts[0] if hosts else "", args=(timers,))
    if head in WIRE_COMMANDS:
        side = rest[0] if rest else None
        if side is not None and side not in names:
            raise ValueError(f"{head}: no side {side!r}; the sides are {', '.join(names)}")
        if head == "deliver":
            _no_more(head, rest[2:])
            return Command(text, head, n, side or "",
                           flags=_flags(rest[1], head) if len(rest) > 1 else None)
        if head == "timer":
            return _parse_timer(text, n, rest, names, sockets, defined)
        if len(rest) < 2:
            raise ValueError(f"{head} needs SIDE and FLAGS, e.g. '{head} {names[0]} SYN'")
        if head == "delay" and len(rest) < 3:
            raise ValueError(f"delay needs SECONDS, e.g. 'delay {names[1]} ACK 0.5'")
        _no_more(head, rest[2:] if head == "drop" else rest[3:])
        secs = _seconds(rest[2], head) if len(rest) > 2 else 0.0
        return Command(text, head, n, side or "", flags=_flags(rest[1], head), seconds=secs)
    if head in ("settle", "run"):
        if rest:
            raise ValueError(f"{head} takes no arguments, got {' '.join(rest)!r}")
        return Command(text, head, n)
    if head == "wait":
        if len(rest) != 1:
            raise ValueError("wait needs a number of seconds, e.g. 'wait 1.5'")
        return Command(text, head, n, seconds=_seconds(rest[0], "wait"))
    if head == "until":
        if sockets:
            if len(rest) != 3 or rest[0] not in names:
                raise ValueError(f"until needs a host, a socket and a state, e.g. 'until "
                                 f"{names[0]} c ESTABLISHED'")
            return Command(text, head, n, rest[0], sock=_sock_word(rest[0], rest[1], defined),
                           state=TcpState.parse(rest[2]))
        if len(rest) != 2 or rest[0] not in names:
            raise ValueError(f"until needs a side and a state, e.g. 'until {names[1]} "
                             "CLOSE-WAIT'")
        return Command(text, head, n, rest[0], state=TcpState.parse(rest[1]))
    raise ValueError(f"unknown command {head!r}; commands: {', '.join(_COMMANDS)}")


def _parse_timer(text: str, n: int, rest: list[str], names: tuple[str, ...], sockets: bool,
                 defined: set[tuple[str, str]]) -> Command:
    side = rest[0] if rest else None
    if sockets:
        if len(rest) < 2:
            raise ValueError(f"timer needs a host and a socket, e.g. 'timer {names[0]} c' or "
                             f"'timer {names[0]} c time-wait'")
        sock, rest = _sock_word(rest[0], rest[1], defined), rest[1:]
    elif side is None:
        raise ValueError(f"timer needs a side, e.g. 'timer {names[0]}'")
    else:
        sock = ""
    _no_more("timer", rest[2:])
    if len(rest) > 1 and rest[1] not in TIMERS:
        raise ValueError(f"timer: no timer {rest[1]!r}; the timers are {', '.join(TIMERS)}")
    return Command(text, "timer", n, side or "", timer=rest[1] if len(rest) > 1 else None,
                   sock=sock)


def _sock_word(host: str, word: str, defined: set[tuple[str, str]]) -> str:
    """A socket named by the script (or a file descriptor number)."""
    if word.isdigit() or (host, word) in defined:
        return word
    have = sorted(name for h, name in defined if h == host)
    raise ValueError(f"{host} has no socket {word!r}" + (
        f" (its sockets: {', '.join(have)})" if have else "") +
        f"; make one first: '{host} {word if _NAME.match(word) else 's'} = socket'")


def _int(word: str, what: str) -> int:
    try:
        return int(word)
    except ValueError:
        raise ValueError(f"{what} is a whole number, not {word!r}") from None


def _address(word: str, call: str, example: str) -> tuple[str, int]:
    addr, colon, port = word.rpartition(":")
    if not colon or not port:
        raise ValueError(f"{call} takes HOST:PORT, e.g. {example!r}, not {word!r}")
    return addr, _int(port, f"{call}'s port")


def _parse_socket_line(text: str, n: int, host: str, rest: list[str], expect: str | None,
                       defined: set[tuple[str, str]]) -> Command:
    calls = ", ".join(SOCKET_SCRIPT_CALLS)
    if len(rest) >= 2 and rest[1] == "=":
        name, rest = rest[0], rest[2:]
        if not _NAME.match(name) or name in SOCKET_SCRIPT_CALLS:
            raise ValueError(f"{name!r} cannot name a socket: a name is a word such as s, "
                             "conn or c1, and not a call")
        if not rest or rest[0] not in ("socket", "accept"):
            raise ValueError(f"only socket and accept return a socket to name, e.g. '{host} "
                             f"{name} = socket' or '{host} {name} = accept s'")
        call, args = rest[0], rest[1:]
        if call == "socket":
            _no_more("socket", args)
            return Command(text, "socket", n, host, call, name=name, expect=expect)
        if len(args) != 1:
            raise ValueError(f"accept takes the listening socket, e.g. '{host} {name} = "
                             "accept s'")
        return Command(text, "socket", n, host, call, name=name,
                       sock=_sock_word(host, args[0], defined), expect=expect)
    if not rest or rest[0] not in SOCKET_SCRIPT_CALLS:
        hint = {"abort": " (abort with sockets: 'setsockopt s SO_LINGER 1 0', then 'close s')"
                }.get(rest[0] if rest else "", "")
        raise ValueError(f"after {host!r} comes a socket call: {calls}{hint}")
    call, args = rest[0], rest[1:]
    if call in ("socket", "accept"):
        raise ValueError(f"{call} returns a new socket: name it, e.g. '{host} " +
                         ("s = socket'" if call == "socket" else "conn = accept s'"))
    if not args:
        raise ValueError(f"{call} needs the socket it is made on, e.g. '{host} {call} s'")
    sock, args = _sock_word(host, args[0], defined), args[1:]
    data, parsed = b"", ()
    if call == "bind":
        if len(args) != 1:
            raise ValueError("bind takes a port or ADDRESS:PORT, e.g. '80' or '0.0.0.0:80'")
        parsed = ((_address(args[0], "bind", "0.0.0.0:80"),) if ":" in args[0] else
                  (_int(args[0], "bind's port"),))
    elif call == "listen":
        _no_more("listen", args[1:])
        parsed = (_int(args[0], "listen's backlog"),) if args else ()
    elif call == "connect":
        if len(args) != 1:
            raise ValueError("connect takes HOST:PORT, e.g. 'server:80'")
        parsed = (_address(args[0], "connect", "server:80"),)
    elif call == "send":
        if not args:
            raise ValueError(f"send needs the data to send, e.g. '{host} send {sock} hello'")
        data = " ".join(args).encode()
        parsed = (data,)
    elif call == "recv":
        _no_more("recv", args[1:])
        parsed = (_int(args[0], "recv's byte count"),) if args else ()
    elif call == "shutdown":
        if len(args) != 1 or args[0] not in _SHUT:
            raise ValueError("shutdown takes SHUT_RD, SHUT_WR or SHUT_RDWR")
        parsed = (_SHUT[args[0]],)
    elif call == "close":
        _no_more("close", args)
    else:
        parsed = _sockopt(call, args[1:] if args[:1] == ["SOL_SOCKET"] else args)
    return Command(text, "socket", n, host, call, data, sock=sock, args=parsed, expect=expect)


def _sockopt(call: str, args: list[str]) -> tuple:
    if call == "getsockopt":
        if len(args) != 1 or args[0] not in ("SO_ERROR", "SO_REUSEADDR"):
            raise ValueError("getsockopt reads SO_ERROR or SO_REUSEADDR")
        return (SOL_SOCKET, _OPTIONS[args[0]])
    if args[:1] == ["SO_REUSEADDR"] and len(args) == 2 and args[1] in ("0", "1"):
        return (SOL_SOCKET, SO_REUSEADDR, int(args[1]))
    if args[:1] == ["SO_LINGER"] and len(args) == 3:
        onoff, secs = _int(args[1], "SO_LINGER's on/off"), _int(args[2], "SO_LINGER's seconds")
        if onoff in (0, 1) and secs >= 0:
            return (SOL_SOCKET, SO_LINGER, (onoff, secs))
    raise ValueError("setsockopt sets SO_REUSEADDR 0|1 or SO_LINGER ONOFF SECONDS (ONOFF 0 "
                     "or 1, SECONDS >= 0), e.g. 'setsockopt s SO_LINGER 1 0'")


# ------------------------------------------------------------------------ running ----------
class _Names:
    """The sockets a script named on one network: (host, name) -> file descriptor, or
    ``None`` once the script closed it (as a Python socket object, its calls then give
    ``EBADF``, even when the descriptor number is used again, and ``close()`` does nothing);
    and the TCB each was last seen with (a closed socket's connection lives on: until and
    timer still find it)."""

    def __init__(self) -> None:
        self.sockets: dict[tuple[str, str], int | None] = {}
        self.tcbs: dict[tuple[str, str], str] = {}


_NAMES: "weakref.WeakKeyDictionary[Network, _Names]" = weakref.WeakKeyDictionary()


def run_script(net: Network, script: object) -> list[Step]:
    """Execute a script (see the module docstring) on ``net``; return the new steps."""
    start = len(net.history)
    play_script(net, script)
    return net.history[start:]


def play_script(net: Network, script: object) -> list[Outcome]:
    """Execute a script on ``net``; return what each line did (:class:`Outcome`).

    A socket-level script needs a :class:`~tcplab.sockets.SocketNetwork`.  A line that
    cannot be done, a socket call that fails without ``-> ERRNO``, or a result other than
    the one written after ``->`` is a ``ValueError`` naming the line."""
    hosts = isinstance(net, SocketNetwork)
    names = _NAMES.setdefault(net, _Names()) if hosts else _Names()
    cmds = parse_script(script, net.names, sockets=True if hosts else None,
                        known=names.sockets)
    out = []
    for cmd in cmds:
        start, time = len(net.history), net.now
        try:
            if cmd.kind in ("socket", "ss", "until", "timer") and not hosts and (
                    cmd.kind in ("socket", "ss") or cmd.sock):
                raise ValueError("a socket-level line runs on hosts that hold sockets: "
                                 "tcplab.sockets.SocketNetwork (Scenario.run picks it)")
            result = _execute(net, cmd, names)
        except (KeyError, ValueError, TypeError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            raise ValueError(f"script line {cmd.number} {cmd.text!r}: {msg}") from None
        steps = tuple(net.history[start:])
        if cmd.kind == "socket":
            value, error = result  # type: ignore[misc]
            out.append(Outcome(cmd, time, steps, value, error))
        else:
            out.append(Outcome(cmd, time, steps, ss=result))  # type: ignore[arg-type]
        if hosts:
            open_fds = {(s.host, s.fd) for h in net.names for s in net.sockets(h)}
            for (host, name), fd in names.sockets.items():
                if (host, fd) in open_fds:
                    names.tcbs[(host, name)] = Socket(net, host, fd).name  # type: ignore
    return out


def _execute(net: Network, cmd: Command, names: _Names) -> object:
    kind = cmd.kind
    if kind == "socket":
        return _socket_call(net, cmd, names)  # type: ignore[arg-type]
    if kind == "ss":
        hosts = [cmd.actor] if cmd.actor else list(net.names)
        tables = [net.ss(h, timers=cmd.args[0]) for h in hosts]  # type: ignore[attr-defined]
        if len(hosts) == 1:
            return tables[0]
        return "\n".join(f"{h}$ ss -tan{'o' if cmd.args[0] else ''}\n{t}"
                         for h, t in zip(hosts, tables))
    if kind == "call":
        if cmd.call == "shutdown":
            net.shutdown(cmd.actor)
        elif cmd.call == "recv":
            net.recv(cmd.actor)
        elif cmd.call == "send":
            net.send(cmd.actor, cmd.data)
        elif cmd.call == "close":
            net.close(cmd.actor)                 # the sockets API's close()
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
        net.fire_timer(_tcb(net, cmd, names) if cmd.sock else cmd.actor, cmd.timer)
    elif kind == "settle":
        net.settle()
    elif kind == "run":
        net.run()
    elif kind == "wait":
        net.wait(cmd.seconds)
    elif kind == "until":
        if cmd.sock:
            def state() -> TcpState:
                ep = net.endpoints.get(_tcb(net, cmd, names))
                return ep.state if ep is not None else TcpState.CLOSED
            who = f"{cmd.actor}'s socket {cmd.sock}"
        else:
            def state() -> TcpState:
                return net.state(cmd.actor)
            who = f"the {cmd.actor}"
        net.run(stop=lambda n: state() is cmd.state)
        if state() is not cmd.state:
            raise ValueError(f"{who} never reaches {cmd.state} (it is {state()} and the "
                             "network is quiet)")
    return None


def _socket(net: SocketNetwork, host: str, word: str, names: _Names) -> Socket:
    if word.isdigit():
        return Socket(net, host, int(word))
    fd = names.sockets[(host, word)]
    if fd is None:
        raise OSError(errno.EBADF, f"[EBADF] {host}'s socket {word} is closed")
    return Socket(net, host, fd)


def _tcb(net: Network, cmd: Command, names: _Names) -> str:
    """The TCB of a named socket: its connection, or its listener (even after close())."""
    key = (cmd.actor, cmd.sock)
    try:
        return _socket(net, cmd.actor, cmd.sock, names).name  # type: ignore[arg-type]
    except OSError:
        if key in names.tcbs:
            return names.tcbs[key]
        raise ValueError(f"{cmd.actor}'s socket {cmd.sock} was closed before it had a "
                         "connection") from None


def _socket_call(net: SocketNetwork, cmd: Command, names: _Names
                 ) -> tuple[str, str | None]:
    """Make the call; (its result as text, the error message or None)."""
    host, call = cmd.actor, cmd.call
    value: object = None
    error = None
    try:
        if call == "socket":
            value = net.socket(host)
        elif call == "close" and names.sockets.get((host, cmd.sock), 0) is None:
            value = None                   # Python: closing a closed socket does nothing
        else:
            sock = _socket(net, host, cmd.sock, names)
            value = getattr(sock, call)(*cmd.args)
    except OSError as exc:
        code = exc.errno if exc.errno in errno.errorcode else errno.EIO
        result, error = errno.errorcode[code], str(exc)
    else:
        if isinstance(value, Socket):
            names.sockets[(host, cmd.name)] = value.fd
            result = f"fd {value.fd}"
        elif call == "connect":
            result = "EINPROGRESS"
        elif call == "recv":
            result = repr(value)
        elif call == "getsockopt" and value and cmd.args[1] == SO_ERROR:
            result = f"{value} ({errno.errorcode.get(value, '?')})"  # type: ignore[arg-type]
        else:
            result = str(value if value is not None else 0)
        if call == "close" and not cmd.sock.isdigit():
            names.sockets[(host, cmd.sock)] = None
    if cmd.expect is None:
        if error is not None:
            raise ValueError(f"{cmd.code()} failed with {result}: {error}. If the scenario "
                             f"expects it, end the line with '-> {result}'")
    elif not _matches(cmd.expect, result):
        raise ValueError(f"{cmd.code()} gave {result}, not {cmd.expect}" +
                         (f" ({error})" if error else ""))
    return result, error


def _matches(expect: str, result: str) -> bool:
    """Whether a result is the one written after ``->``: the same text, the same bytes
    (``b"x"`` or ``b'x'``), or the number or errno name of a ``getsockopt(SO_ERROR)``."""
    if expect == result:
        return True
    if expect[:2] in ("b'", 'b"'):
        try:
            return repr(ast.literal_eval(expect)) == result
        except (ValueError, SyntaxError):
            return False
    number, _, name = result.partition(" (")
    return bool(name) and expect in (number, name.rstrip(")"))
