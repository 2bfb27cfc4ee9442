"""The explorer's socket calls: on a network of hosts with sockets, each host's card lists
the host's open sockets and has a button per sockets-API call.

The first host (``client``) connects, the second (``server``) listens:

* ``connect(server:80)`` on the client: ``socket()`` and ``connect(("server", 80))``, one
  action (Undo takes both back); ``listen(:80)`` on the server: ``socket()``,
  ``setsockopt(SO_REUSEADDR, 1)`` if its box is ticked, ``bind(80)`` and ``listen(backlog)``
  with the backlog of its box.  ``accept()`` on the server's listener.
* On the socket picked in the host's list (``fd 4 :40000 ESTABLISHED``): ``send()`` (the
  text box's data), ``recv()``, ``shutdown(SHUT_WR)``, ``close()`` and
  ``setsockopt(SO_LINGER, {1, 0})`` (then ``close()`` resets).  A new socket (``socket()``,
  ``accept()``, or one that comes back with an Undo) is picked as it appears.

The buttons stay enabled whenever the host has a socket to call them on, even when the
kernel will refuse the call: ``accept()`` on an empty queue giving ``EAGAIN`` is a lesson.
A refused call records nothing and changes nothing (the model raises before it acts; a
two-call action such as ``socket()`` + ``bind()`` that fails at its second call is rewound),
and :func:`refusal_html` says why in one line; a call that does something shows its result
in the explanation card as any step does (``fd 4``, ``5``, ``b'GET /'``, ``ECONNRESET``).

Stable CSS classes: ``t-sock-pick-<host>`` (the list), ``t-sock-<host>-<call>`` (a button;
``<call>`` is one of :data:`CALLS`), ``t-sock-data-<host>``, ``t-sock-backlog-<host>``,
``t-sock-reuse-<host>``, ``t-refused`` (the refusal card).

Built on ipywidgets, :class:`tcplab.sockets.SocketNetwork`'s public calls and
:mod:`tcplab.render.socket_names` (the tag of a connection is its client's port, as in the
pictures).

>>> from tcplab.sockets import SocketNetwork
>>> net = SocketNetwork()
>>> perform(net, "server", "listen", None, port=80, backlog=5).socket_call
'listen(5)'
>>> perform(net, "client", "connect", None, port=80).result
'EINPROGRESS'
>>> [socket_label(s, listening={("server", 80)}) for s in net.sockets("server") +
...  net.sockets("client")]
['fd 3 :80 LISTEN', 'fd 3 :40000 SYN-SENT']
"""

from __future__ import annotations

import errno
from typing import Callable, Collection

import ipywidgets as widgets

from ..render.socket_names import socket_names, split_name
from ..sockets import SHUT_WR, SO_LINGER, SO_REUSEADDR, SOL_SOCKET, Socket, SocketNetwork
from ..states import TcpState
from ..steps import Step
from .cards import css_name, esc
from .view import button

__all__ = ["CALLS", "NO_SOCKET", "CONNECT_CALLS", "LISTEN_CALLS", "HostCalls", "perform",
           "socket_label", "refusal_html"]

#: The calls of the host that connects and of the host that listens, in button order.
CONNECT_CALLS = ("connect", "send", "recv", "shutdown", "close", "linger")
LISTEN_CALLS = ("listen", "accept", "send", "recv", "shutdown", "close", "linger")
#: The value of a host's list when the host has no socket (no descriptor is negative).
NO_SOCKET = -1
#: Every call a button can make.
CALLS = ("connect", "listen", "accept", "send", "recv", "shutdown", "close", "linger")
#: The calls made on the socket picked in the host's list (the others make a socket).
ON_PICKED = frozenset({"send", "recv", "shutdown", "close", "linger"})
#: Each call as code, and what it does (its tooltip: "<code> on fd N (name): <what>").
_CODE = {"send": "send(data)", "recv": "recv()", "shutdown": "shutdown(SHUT_WR)",
         "close": "close()", "linger": "setsockopt(SOL_SOCKET, SO_LINGER, {1, 0})"}
_WHAT = {
    "send": "queue the text box's data and send what the window allows; returns the bytes "
            "taken (EPIPE after shutdown(SHUT_WR), EAGAIN during the handshake)",
    "recv": "read what has arrived: the bytes, b'' at the end of the stream, EAGAIN if "
            "nothing yet, ECONNRESET once after a reset",
    "shutdown": "send a FIN once the queued data has left, and keep "
                "reading (the RFC's CLOSE)",
    "close": "give the descriptor up: FIN, or RST if received data is unread or SO_LINGER "
             "is {1, 0}; the kernel finishes the connection alone",
    "linger": "the next close() sends RST (ABORT) instead of FIN, and throws away what is "
              "queued",
}


def socket_label(sock: Socket, listening: Collection[tuple[str, int]] = ()) -> str:
    """One socket as the host's list shows it: ``"fd 4 :40000 ESTABLISHED"``.

    The port is the listener's for a listener, the client's for a connection (on both
    hosts, as the pictures tag it: a connection whose local port is in ``listening``, the
    ``(host, port)`` pairs of the run's listeners, shows its peer's port); nothing before
    ``bind()``.
    """
    host, port, peer, pport = split_name(sock.name)
    if peer is not None and (host, port) in listening:
        port = pport
    where = f" :{port}" if port is not None else ""
    return f"fd {sock.fd}{where} {sock.state.rfc}"


def _listeners(net: SocketNetwork) -> set[tuple[str, int]]:
    """``(host, port)`` of every listener the run has had (the pictures' own list)."""
    return {split_name(n)[:2] for n in socket_names(net.history).listeners}  # type: ignore


def perform(net: SocketNetwork, host: str, call: str, sock: Socket | None, *,
            port: int = 80, data: str = "hello", backlog: int = 5,
            reuseaddr: bool = False) -> Step:
    """Make socket call ``call`` (one of :data:`CALLS`) on ``host`` of ``net`` and return its
    (last) step.  ``sock``: the socket a call of :data:`ON_PICKED` acts on, and
    ``accept()``'s listener; ``connect`` and ``listen`` make a new socket (``port``: the port
    to connect to or listen on; ``backlog``, ``reuseaddr`` for ``listen``; ``data`` for
    ``send``).

    Raises what the model raises (an :class:`OSError` with Linux's errno; ``TypeError``,
    ``ValueError`` for bad arguments).  A refused call has changed nothing: a ``connect`` or
    ``listen`` refused after its ``socket()`` is rewound.  ``ValueError`` for an unknown
    call, or a call that needs a socket when ``sock`` is ``None``.
    """
    if call not in CALLS:
        raise ValueError(f"the socket calls are {', '.join(CALLS)}; not {call!r}")
    if call in ON_PICKED or call == "accept":
        if sock is None:
            raise ValueError(f"{call}() needs a socket, and the {host} has none: "
                             + ("listen() first" if call == "accept" else
                                "connect() or listen() first"))
        match call:
            case "accept":
                sock.accept()
            case "send":
                sock.send(data)
            case "recv":
                sock.recv()
            case "shutdown":
                sock.shutdown(SHUT_WR)
            case "close":
                sock.close()
            case "linger":
                sock.setsockopt(SOL_SOCKET, SO_LINGER, (1, 0))
        return net.history[-1]
    mark = len(net.history)
    try:
        new = net.socket(host)
        if call == "connect":
            new.connect((net.peer(host), port))
        else:
            if reuseaddr:
                new.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
            new.bind(port)
            new.listen(backlog)
    except BaseException:
        if len(net.history) > mark:          # refused half-way: as if never called
            net.rewind(mark)
        raise
    return net.history[-1]


def refusal_html(host: str, call: str, exc: OSError) -> str:
    """The one-line card of a refused call: the errno, the exception Python raises, the
    model's reason, and that nothing changed."""
    name = errno.errorcode.get(exc.errno or 0, "error")
    why = str(exc.strerror or exc)
    if why.startswith(f"[{name}] "):
        why = why[len(name) + 3:]
    why = why.rstrip(".")
    shown = {"connect": "connect()", "listen": "listen()", "linger": "setsockopt(SO_LINGER)",
             "shutdown": "shutdown(SHUT_WR)"}.get(call, f"{call}()")
    return (f'<div class="tl-refused t-refused"><b>{esc(shown)}</b> on the {esc(host)} '
            f'→ <code>{esc(name)}</code> <span class="tl-muted">({esc(type(exc).__name__)})'
            f'</span>: {esc(why)}. <span class="tl-muted">Refused: nothing changed.</span>'
            '</div>')


class HostCalls:
    """One host's socket controls: ``pick`` (its open sockets; the value is a descriptor
    number, :data:`NO_SOCKET` when it has none), ``buttons`` (call -> button), ``data`` (the text
    ``send()`` sends), and for the listening host ``backlog`` and ``reuse``.  ``row`` is the
    widget to put in the host's card.  ``on_call(host, call)`` runs on a click."""

    def __init__(self, host: str, *, listens: bool, peer: str, port: int, send_data: str,
                 color: str, on_call: Callable[[str, str], None]) -> None:
        self.host = host
        self.color = color
        self.listens = listens
        self.calls = LISTEN_CALLS if listens else CONNECT_CALLS
        self.sockets: list[Socket] = []
        self._syncing = False
        name = css_name(host)
        self.pick = widgets.Dropdown(options=[("no socket", NO_SOCKET)], value=NO_SOCKET,
                                     layout=widgets.Layout(width="192px"))
        self.pick.add_class(f"t-sock-pick-{name}")
        self.pick.add_class("tl-sock-pick")
        self.pick.observe(lambda _: self._tooltips(), "value")
        labels = {"connect": f"connect({peer}:{port})", "listen": f"listen(:{port})",
                  "accept": "accept()", "send": "send()", "recv": "recv()",
                  "shutdown": "shutdown(SHUT_WR)", "close": "close()",
                  "linger": "SO_LINGER {1,0}"}
        self.buttons: dict[str, widgets.Button] = {}
        for call in self.calls:
            b = button(labels[call], f"t-sock-{name}-{call}")
            b.on_click(lambda _, c=call: on_call(host, c))
            self.buttons[call] = b
        self.data = widgets.Text(value=send_data, placeholder="data",
                                 layout=widgets.Layout(width="64px"))
        self.data.add_class(f"t-sock-data-{name}")
        self.port, self.peer = port, peer
        first: list[widgets.Widget] = [self.pick]
        if listens:
            self.backlog = widgets.BoundedIntText(value=5, min=0, max=4096,
                                                  description="backlog",
                                                  style={"description_width": "initial"},
                                                  layout=widgets.Layout(width="94px"))
            self.backlog.add_class(f"t-sock-backlog-{name}")
            self.reuse = widgets.Checkbox(value=False, description="REUSEADDR",
                                          indent=False, tooltip=(
                                              f"listen(:{port}) sets SO_REUSEADDR first: "
                                              "setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) "
                                              "before bind()"), layout=widgets.Layout(
                                              width="auto", flex="0 0 auto"))
            self.reuse.add_class(f"t-sock-reuse-{name}")
            first += [self.buttons["listen"], self.backlog, self.reuse,
                      self.buttons["accept"]]
        else:
            first.append(self.buttons["connect"])
        second: list[widgets.Widget] = [self.buttons["send"], self.data,
                                        *(self.buttons[c] for c in ("recv", "shutdown",
                                                                    "close", "linger"))]
        rows = [widgets.HBox(first), widgets.HBox(second)]
        for r in rows:
            r.add_class("tl-calls")
            r.add_class("tl-sock-calls")
        self.row = widgets.VBox(rows)
        self.row.add_class("tl-sock-rows")

    # -- reading the host ---------------------------------------------------------------------
    @property
    def picked(self) -> Socket | None:
        """The socket picked in the list (``None``: the host has none)."""
        return next((s for s in self.sockets if s.fd == self.pick.value), None)

    def target(self, call: str, sockets: list[Socket] | None = None) -> Socket | None:
        """The socket ``call`` acts on: the picked one; for ``accept()`` the picked socket if
        it listens, else the host's first listener, else the picked one (``EINVAL``).
        ``sockets``: the host's sockets now (default: as last shown)."""
        sockets = self.sockets if sockets is None else sockets
        picked = next((s for s in sockets if s.fd == self.pick.value), None)
        if call == "accept" and (picked is None or not self._listening(picked)):
            return next((s for s in sockets if self._listening(s)), picked)
        return picked

    @staticmethod
    def _listening(sock: Socket) -> bool:
        return sock.state is TcpState.LISTEN and split_name(sock.name)[2] is None

    def show(self, net: SocketNetwork) -> None:
        """Show the host's sockets now: the list (picking a socket that was not there when
        it was last shown -- made by the last call, in code, or back with an Undo --, else
        keeping the pick, else the last socket), the buttons' tooltips and colours."""
        keep, before = self.picked, self.sockets
        self.sockets = net.sockets(self.host)
        listening = _listeners(net)
        options = [(socket_label(s, listening), s.fd) for s in self.sockets]
        fresh = [s for s in self.sockets if s not in before]
        if fresh:
            value = fresh[-1].fd
        elif keep is not None and keep in self.sockets:
            value = keep.fd
        else:
            value = self.sockets[-1].fd if self.sockets else NO_SOCKET
        self._syncing = True
        try:
            with self.pick.hold_sync():
                self.pick.options = options or [("no socket", NO_SOCKET)]
                self.pick.value = value
                self.pick.disabled = not self.sockets
        finally:
            self._syncing = False
        self._tooltips()

    def _tooltips(self) -> None:
        if self._syncing:
            return
        picked = self.picked
        self.pick.tooltip = (f"The {self.host}'s open sockets: the calls on the right act on "
                             f"the one picked" + (f" (fd {picked.fd}: {picked.name}, "
                                                  f"{picked.state.rfc}"
                                                  + (f", pending error {picked.error}"
                                                     if picked.error else "") + ")"
                                                  if picked else ""))
        for call, b in self.buttons.items():
            sock = self.target(call)
            if call == "connect":
                b.tooltip = (f"socket() and connect(('{self.peer}', {self.port})): a new "
                             "socket sends its SYN (non-blocking: the outcome comes later)")
            elif call == "listen":
                b.tooltip = (f"socket(), bind({self.port}) and listen(backlog): a new "
                             "listening socket (SO_REUSEADDR first if ticked); EADDRINUSE "
                             "if the port is held")
            elif sock is None:
                b.tooltip = f"The {self.host} has no socket yet"
            elif call == "accept":
                b.tooltip = (f"accept() on fd {sock.fd} ({sock.name}): the first connection "
                             "of the accept queue as a new descriptor; EAGAIN if none")
            else:
                b.tooltip = f"{_CODE[call]} on fd {sock.fd} ({sock.name}): {_WHAT[call]}"
            off = sock is None and call not in ("connect", "listen")
            with b.hold_sync(), b.style.hold_sync():
                b.disabled = off             # on: the host's colour, as the RFC calls
                b.style.button_color = None if off else self.color
                b.style.text_color = None if off else "var(--tl-on-color)"
        self.data.disabled = self.picked is None
