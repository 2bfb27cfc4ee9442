"""The sockets of a run as the pictures name them: which host holds which TCB, and a short
tag per TCB (``:80`` for a listener, ``:40001`` for a connection) on hosts that hold several.

A :class:`~tcplab.sockets.SocketNetwork` names each TCB by its addresses: ``"server:80"``
for a listener, ``"server:80-client:40001"`` for a connection (host:port-peer:port), and
``"server:8080 (no socket)"`` for the reply of a host that has no socket on that port.  A
step's ``actor`` is the host (the lane of a ladder), ``Step.socket`` the TCB.  A host with
one TCB is drawn as before; a host with several (a listener and its connections, a client
with four connections) needs each state, call and ``ss`` line to say *which* socket, in a
few characters.  The tag of a connection is the port of its *client* side, on both hosts:
the server's ``SYN-RECEIVED :40001`` and the client's ``SYN-SENT :40001`` are one
connection, the one ``ss`` shows as ``10.0.0.1:40001``.  (The server's own port is the
listener's, ``:80``, and the same for all of them, so it tells nothing apart.)

Pure: builds on :mod:`tcplab.steps` and :mod:`tcplab.states` only (the typed fields
``actor``, ``socket``, ``before``/``after``, ``states``); the run of a plain
:class:`~tcplab.network.Network` has no sockets and gets no tags.

>>> from tcplab.sockets import SocketNetwork
>>> net = SocketNetwork()
>>> ls = net.socket("server"); ls.bind(80); ls.listen(1)
>>> c = net.socket("client"); c.connect(("server", 80)); _ = net.run()
>>> names = socket_names(net.history)
>>> names.tag("server:80"), names.tag("server:80-client:40000"), names.tag("client:40000-server:80")
(':80', ':40000', '')
>>> names.host["server:80-client:40000"], names.tagged
('server', ('server',))
>>> split_name("server:80-client:40000"), split_name("server:8080 (no socket)")
(('server', 80, 'client', 40000), ('server', 8080, None, None))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..states import TcpState
from ..steps import Step

__all__ = ["SocketNames", "socket_names", "split_name", "NO_SOCKET"]

#: How the model names the reply of a host that has no socket on the port (§3.10.7.1).
NO_SOCKET = " (no socket)"


def split_name(name: str) -> tuple[str, int | None, str | None, int | None]:
    """``(host, port, peer host, peer port)`` of a TCB name; ``port`` is ``None`` for an
    unbound socket (``"client:*"``), the peer ``None`` for a listener or a no-socket reply.

    Raises :class:`ValueError` for a name not of the form ``host:port[-peer:port]``.
    """
    text = name[:-len(NO_SOCKET)] if name.endswith(NO_SOCKET) else name
    local, sep, remote = text.partition("-")
    host, colon, port = local.rpartition(":")
    if not colon or not host:
        raise ValueError(f"not a socket name (host:port or host:port-peer:port): {name!r}")
    peer = pport = None
    if sep:
        peer, colon, rest = remote.rpartition(":")
        if not colon or not peer or not rest.isdigit():
            raise ValueError(f"not a socket name (host:port-peer:port): {name!r}")
        pport = int(rest)
    if port != "*" and not port.isdigit():
        raise ValueError(f"not a socket name (the port is a number or *): {name!r}")
    return host, (None if port == "*" else int(port)), peer or None, pport


@dataclass(frozen=True)
class SocketNames:
    """The TCBs of a run: ``host`` (TCB name -> its host), ``tags`` (TCB name -> short tag,
    only for the TCBs of hosts in ``tagged``: the hosts that held several TCBs in the run),
    ``listeners`` (the listening TCBs' names)."""

    host: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    tagged: tuple[str, ...] = ()
    listeners: frozenset[str] = frozenset()

    def tag(self, name: str | None) -> str:
        """The short tag of TCB ``name`` (``""``: none needed, or not a TCB)."""
        return self.tags.get(name, "") if name else ""

    def label(self, text: str, name: str | None) -> str:
        """``text`` with the tag of ``name`` after it: ``"SYN-RECEIVED :40001"``."""
        tag = self.tag(name)
        return f"{text} {tag}" if tag else text

    def state_label(self, step: Step) -> str:
        """The state ``step`` left its TCB in, as the pictures write it: ``"ESTABLISHED"``,
        on a host with several TCBs ``"ESTABLISHED :40001"``.  A request sock that gave up
        (the RFC's SYN-RECEIVED -> LISTEN; on a host with sockets only the listener is
        left) is ``"(gone) :40001"``; a SYN answered with a SYN cookie, which leaves no TCB,
        ``"(SYN cookie) :40002"``; the answer of a host with no socket on the port
        ``"CLOSED (no socket :8080)"``."""
        text = str(step.after)
        sock = step.socket
        if sock is not None and sock.endswith(NO_SOCKET):
            return f"{text} (no socket :{split_name(sock)[1]})"
        if sock in self.host and sock not in self.listeners:
            if step.after is TcpState.LISTEN:
                text = "(gone)"
            elif step.after is TcpState.SYN_RECEIVED and \
                    all(n != sock for n, _ in step.states):
                text = "(SYN cookie)"
        return self.label(text, sock)

    def of_host(self, host: str, states: Iterable[tuple[str, object]]) -> list[tuple[str, object]]:
        """The ``(TCB name, state)`` pairs of ``states`` (a ``Step.states``) that belong to
        ``host``: listeners first, then connections by tag."""
        mine = [(n, s) for n, s in states if self.host.get(n) == host]
        mine.sort(key=lambda ns: (ns[0] not in self.listeners, _port_key(self.tag(ns[0])),
                                  ns[0]))
        return mine

    def __bool__(self) -> bool:
        return bool(self.host)


def _port_key(tag: str) -> int:
    return int(tag[1:]) if tag[1:].isdigit() else -1


def socket_names(history: Iterable[Step]) -> SocketNames:
    """The :class:`SocketNames` of a run's ``history`` (empty for a run without sockets).

    A TCB is a name that appears in some step's ``states``, or whose step changed a state
    (a SYN answered with a cookie, which Linux keeps no TCB for); so a ``bind()`` before a
    ``connect()`` makes no TCB of its own.  Its host is the ``actor`` of the steps that
    name it in ``socket``.  A connection whose local port is a listener's port of the same
    host is a passive one, and is tagged with its peer's port; any other connection with
    its own port; a listener with its port.
    """
    host: dict[str, str] = {}
    tcbs: dict[str, None] = {}
    for step in history:
        if step.socket is not None:
            host.setdefault(step.socket, step.actor)
            if step.after is not None and step.before is not step.after:
                tcbs.setdefault(step.socket)
        for name, _ in step.states:
            tcbs.setdefault(name)
    if not host:
        return SocketNames()
    parts = {}
    for name in tcbs:
        if name in host:
            try:
                parts[name] = split_name(name)
            except ValueError:
                continue
    listeners = {n for n, p in parts.items() if p[2] is None and p[1] is not None}
    listening_ports = {(parts[n][0], parts[n][1]) for n in listeners}
    per_host: dict[str, list[str]] = {}
    for name in parts:
        per_host.setdefault(host[name], []).append(name)
    tagged = tuple(h for h, names in per_host.items() if len(names) > 1)
    tags = {}
    for h in tagged:
        for name in per_host[h]:
            _, port, peer, pport = parts[name]
            if peer is None:
                tags[name] = f":{port}"
            elif (h, port) in listening_ports:
                tags[name] = f":{pport}"
            else:
                tags[name] = f":{port}"
    return SocketNames({n: host[n] for n in parts}, tags, tagged, frozenset(listeners))
