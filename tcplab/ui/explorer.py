"""The explorer: be both applications and the network, one action at a time.

``explorer("handshake")`` shows, per endpoint, a button for every user call with its
socket-API name (calls not possible now are disabled and say why on hover, from
:meth:`tcplab.endpoint.Endpoint.allowed_calls`), the segments in flight with Deliver /
Drop / Duplicate, "Next event", "Next timer", Undo, a scenario to start from (at its step
0; "Scenario step" replays its next step, as Redo after an Undo), and the picture of the
moment (:class:`tcplab.ui.view.View`).  ← takes back, → lets the next event happen, when
the widget has focus.  "Reach every edge" is the challenge mode: the diagram marks the
edges the learner's run has taken (either endpoint), with a counter and hints for the
missing ones (:mod:`tcplab.ui.challenge`).  Every button is also a method
(:meth:`Explorer.call`, :meth:`Explorer.deliver`, ...), so a notebook or a test can drive
it; the model decides what happens.  Built on ipywidgets, :mod:`tcplab.ui.view` and
:mod:`tcplab.ui.cards`.

Given a :class:`~tcplab.sockets.SocketNetwork` (hosts that hold sockets), the explorer
shows each host's TCBs and its ``ss -tano`` (:class:`tcplab.ui.view.View`), drives the
wire and the timers as for any run, and makes the socket calls: per host, a list of its
open sockets and a button per call (:mod:`tcplab.ui.socket_buttons`: the client connects, the
server listens and accepts, either sends, receives, shuts down, closes).  A call's result
shows in the explanation; a call the kernel refuses (``EAGAIN``, ``EINVAL``, ...) changes
nothing and says why in one line (``t-refused``).  :meth:`Explorer.socket_call` is the same
from Python; calls made in code on the run's :class:`~tcplab.sockets.Socket` objects are
shown by :meth:`Explorer.refresh`.

Stable CSS classes: ``t-explorer``, ``t-call-<endpoint>-<call>``, ``t-send-data-<endpoint>``,
``t-endpoint-<endpoint>``, ``t-wire``, ``t-wire-row`` (and ``t-pid-<id>``) with
``t-deliver``, ``t-drop``, ``t-dup``; ``t-next-timer``, ``t-next-event``, ``t-undo``,
``t-load``, ``t-restart``, ``t-redo``, ``t-challenge`` (and ``t-challenge-panel``,
``t-edge-count``, ``t-hint``), ``t-whole``, ``t-pictures``, ``t-error``; with sockets
``t-sock-pick-<host>``, ``t-sock-<host>-<call>`` and the others of
:mod:`tcplab.ui.socket_buttons`.

>>> e = explorer("handshake")
>>> e.call("client", "close").after.rfc
'FIN-WAIT-1'
>>> [p.segment.label() for p in e.net.in_flight]
['FIN,ACK']

>>> from tcplab.sockets import SocketNetwork
>>> e = explorer(SocketNetwork())
>>> e.socket_call("server", "listen").result, e.socket_call("client", "connect").result
('0', 'EINPROGRESS')
>>> e.socket_calls["client"].pick.options
(('fd 3 :40000 SYN-SENT', 3),)
"""

from __future__ import annotations

from typing import Callable, Iterable

import ipywidgets as widgets

from ..endpoint import CALLS, SOCKET_CALLS
from ..network import Network, Packet
from ..render.socket_names import socket_names
from ..render.theme import PALETTE
from ..scenarios import SCENARIOS, Scenario, get as get_scenario
from ..sockets import SocketNetwork
from ..steps import Step
from .cards import css_name, esc, packet_html, timer_name
from .challenge import panel_html, progress
from .screen import keys_html
from .socket_buttons import HostCalls, perform, refusal_html
from .style import stylesheet
from .view import (Guarded, ShownLazily, View, button, check_style, html_widget, pictures,
                   scenario_of, show_diagram_tab)

__all__ = ["Explorer", "explorer"]

_EMPTY = ""
_GIVEN = "(given)"


class Explorer(Guarded, ShownLazily, widgets.VBox):
    """Drive both endpoints and the wire by hand (see :func:`explorer`).

    ``net`` is the live network.  ``call_buttons[endpoint][call]``, ``wire_rows`` (packet id
    -> row), ``undo_button``, ``redo_button``, ``next_timer_button``,
    ``next_event_button``, ``load`` (the scenario dropdown), ``challenge`` (the "reach every
    edge" box) and ``error`` are the parts a test or a notebook may drive; on hosts with
    sockets ``socket_calls[host]`` (:class:`~tcplab.ui.socket_buttons.HostCalls`: its list of
    sockets ``pick``, its ``buttons``) instead of ``call_buttons``.  ``port``: the port the
    server listens on and the client connects to.
    """

    def __init__(self, start: "None | str | Scenario | Network" = None, *, style: str = "rfc",
                 layers: "str | Iterable[str] | None" = None,
                 send_data: str = "hello", port: int = 80) -> None:
        check_style(style)
        if start is None:
            net, sc = Network(), None
        else:
            net, sc = scenario_of(start)
        self.net = net
        self.names = net.names
        self.sockets = isinstance(net, SocketNetwork)   # hosts with sockets: socket calls
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"port is a port number 1..65535 (the server's), got {port!r}")
        self.port = port
        self._given = net.replay() if start is not None and sc is None else None
        self.view = View(net.names, style=style, layers=layers)
        self.colors = self.view.colors
        self._marks: list[int] = []      # history length before each action (for Undo)
        self._earlier: list[Step] = []
        # the loaded scenario's whole run: "Scenario step" replays it step by step
        self._script: Network | None = net.replay() if sc is not None else None

        # scenario loader
        # the explorer's buttons are the RFC calls of two TCBs: RFC-level stories only
        options = [("(empty: both CLOSED)", _EMPTY)] + [
            (f"{s.name}: {s.title}", s.name) for s in SCENARIOS.values() if not s.sockets]
        if self.sockets:                 # hosts with sockets: the socket-level stories
            options = [("(empty: no socket yet)", _EMPTY)] + [
                (f"{s.name}: {s.title}", s.name) for s in SCENARIOS.values() if s.sockets]
        if self._given is not None:
            options.insert(0, ("(the run you passed in)", _GIVEN))
        first = sc.name if sc else _GIVEN if self._given is not None else _EMPTY
        self.load = widgets.Dropdown(options=options, value=first,
                                     description="start from",
                                     layout=widgets.Layout(flex="0 1 330px", min_width="250px"),
                                     style={"description_width": "68px"})
        self.load.add_class("t-load")
        self.load.observe(lambda ch: self._safe(self.load_scenario, ch["new"]), "value")
        self.restart_button = button("↺ Restart", "t-restart",
                                      "Start again from the chosen starting point")
        self.restart_button.on_click(lambda _: self._safe(self.load_scenario, self.load.value))
        self.undo_button = button("↶ Undo", "t-undo", "Take back the last action (←)")
        self.undo_button.on_click(lambda _: self._safe(self.undo))
        self.redo_button = button("Scenario step ↷", "t-redo", "")
        self.redo_button.on_click(lambda _: self._safe(self.redo))
        self.next_timer_button = button("Next timer", "t-next-timer", "")
        self.next_timer_button.on_click(lambda _: self._safe(self.fire_next_timer))
        self.next_event_button = button("Next event", "t-next-event",
                                         "Let the network run until the next thing happens "
                                         "on its own (a segment arrives or a timer fires)")
        self.next_event_button.on_click(lambda _: self._safe(self.next_event))
        self.main, self.whole = pictures(self.view)
        self.challenge = widgets.Checkbox(value=False, description="reach every edge",
                                          indent=False, tooltip=(
                                              "Challenge: take every edge of the state "
                                              "diagram with your own run"),
                                          layout=widgets.Layout(width="auto",
                                                                flex="0 0 auto"))
        self.challenge.add_class("t-challenge")
        self.challenge.observe(lambda ch: self._safe(self._set_challenge, ch["new"]), "value")
        self.challenge_panel = html_widget("t-challenge-panel", width="100%")
        self.challenge_panel.layout.display = "none"
        bar = widgets.HBox([self.load, self.restart_button, self.undo_button,
                            self.redo_button, self.next_event_button,
                            self.next_timer_button, self.challenge])
        bar.add_class("tl-bar")

        # endpoints
        self.call_buttons: dict[str, dict[str, widgets.Button]] = {}
        self.call_notes: dict[str, dict[str, widgets.HTML]] = {}
        self.send_data: dict[str, widgets.Text] = {}
        self.socket_calls: dict[str, HostCalls] = {}
        cards = []
        for name in self.names:
            rows = []
            self.call_buttons[name] = {}
            self.call_notes[name] = {}
            for call in CALLS if not self.sockets else ():
                btn = button(f"{call}()", f"t-call-{css_name(name)}-{call}")
                btn.on_click(lambda _, n=name, c=call: self._safe(self.call, n, c))
                note = html_widget("tl-sock")
                note.add_class(f"t-note-{call}")
                self.call_buttons[name][call] = btn
                self.call_notes[name][call] = note
                parts: list[widgets.Widget] = [btn]
                if call == "send":
                    data = widgets.Text(value=send_data, placeholder="data",
                                        layout=widgets.Layout(width="64px"))
                    data.add_class(f"t-send-data-{css_name(name)}")
                    self.send_data[name] = data
                    parts.append(data)
                group = widgets.HBox(parts)
                group.add_class("tl-call")
                rows.append(group)
            if self.sockets:             # the first host connects, the other listens
                hc = HostCalls(name, listens=name != self.names[0], peer=net.peer(name),
                               port=port, send_data=send_data, color=self.colors[name],
                               on_call=lambda h, c: self._safe(self._socket_click, h, c))
                self.socket_calls[name] = hc
            # one row of calls per endpoint (the socket API and why a call is off: on hover,
            # and in the notes below, shown when the screen is tall enough)
            calls = widgets.HBox(rows)
            calls.add_class("tl-calls")
            notes = widgets.VBox(list(self.call_notes[name].values()))
            notes.add_class("tl-notes")
            rows = [calls, notes] if not self.sockets else [self.socket_calls[name].row]
            self.view.badges[name].layout = widgets.Layout(flex="0 0 auto", width="100%")
            card = widgets.VBox([self.view.badges[name], *rows],
                                layout=widgets.Layout(flex="1 1 0", min_width=(
                                    "min-content" if self.sockets else "0")),
                                _dom_classes=("tl-ep", f"tl-ep-{len(cards) % len(PALETTE)}",
                                              f"t-endpoint-{css_name(name)}"))
            cards.append(card)

        # the wire
        self.wire_title = html_widget("tl-wire-title")
        self.wire_rows: dict[int, widgets.HBox] = {}
        self._wire_labels: dict[int, widgets.HTML] = {}
        self.wire_list = widgets.VBox([])
        self.view.clock.layout = widgets.Layout(flex="1 1 250px", max_width="360px")
        wire_left = widgets.VBox([self.wire_title, self.wire_list],
                                 layout=widgets.Layout(flex="100 1 480px", min_width="0"))
        self.wire = widgets.HBox([wire_left, self.view.clock],
                                 layout=widgets.Layout(width="100%", flex_flow="row wrap"))
        self.wire.add_class("t-wire")
        self.wire.add_class("tl-wire")
        top = widgets.HBox(cards)
        top.add_class("tl-badges")

        self.error = html_widget("t-error")
        self.error.layout.display = "none"

        v = self.view
        head = html_widget("tl-head", '<div class="tl-head-title">Explore: you are both '
                     'applications and the network</div><div class="tl-head-sum">Make the '
                     'user calls on either side, then decide what the wire does with each '
                     'segment: deliver it, drop it, duplicate it. Deliver two FINs crosswise '
                     'to see a simultaneous close.</div>' if not self.sockets else
                     '<div class="tl-head-title">Explore: you are both applications and the '
                     'network between two hosts with sockets</div><div class="tl-head-sum">'
                     'Make the socket calls on either host (on the socket picked in its '
                     'list), then decide what the wire does with each segment and when '
                     'timers fire; each host shows its sockets as <code>ss -tano</code> '
                     'does. A call the kernel refuses (<code>EAGAIN</code>, '
                     '<code>EINVAL</code>, ...) changes nothing.</div>')
        super().__init__([html_widget(None, stylesheet()), html_widget("tl-keyhook",
                          keys_html("explorer")), head, bar,
                          self.error, top, self.wire, v.explain, self.challenge_panel,
                          self.main],
                         layout=widgets.Layout(width="100%"))
        self.add_class("tl-w")
        self.add_class("t-explorer")
        if isinstance(net, SocketNetwork):
            self.add_class("tl-sockets")      # hosts with sockets: badges hold ss lines
        self._refresh()

    # -- the Python API (each also a button) -------------------------------------------------
    def refresh(self) -> None:
        """Show the run as it is now (after socket calls made in code on ``net``); Undo
        then takes back all the steps made since the last picture, as one action."""
        if len(self.net.history) > self._shown:
            self._marks.append(self._shown)
            self._earlier = self.net.history[self._shown:-1]
        self._refresh()

    def call(self, name: str, call: str, *args: object) -> Step:
        """User call ``call`` on endpoint ``name`` (send takes the text box's data).  On a
        network of hosts with sockets there are no such calls: see :meth:`socket_call`."""
        if self.sockets:
            raise ValueError(f"the {name} is a host with sockets: use its socket calls, "
                             f"e.g. socket_call({name!r}, 'close'), or make them in code on "
                             f"net.sockets({name!r}), then refresh()")
        if call == "send" and not args:
            args = (self.send_data[name].value,)
        return self._act(lambda: self.net.call(name, call, *args))

    def socket_call(self, host: str, call: str, fd: int | None = None) -> Step:
        """Socket call ``call`` on ``host`` (what its button does; the calls are
        :data:`tcplab.ui.socket_buttons.CALLS`) on descriptor ``fd`` (default: the socket
        picked in the host's list; for ``accept`` its listener), with the host's text box
        (``send``), backlog and ``SO_REUSEADDR`` boxes (``listen``).  Returns the call's
        (last) step; raises what the model raises (``BlockingIOError`` for ``EAGAIN``, ...),
        and a refused call changes nothing.  ``ValueError`` on a network without sockets,
        for a call the host has no button for, or an ``fd`` it does not have open."""
        if not self.sockets:
            raise ValueError("socket_call() is for hosts with sockets (explorer(SocketNetwork"
                             "())); these are two bare TCBs: use call()")
        if host not in self.socket_calls:
            raise ValueError(f"no host {host!r}; the hosts are {', '.join(self.names)}")
        hc = self.socket_calls[host]
        if call not in hc.calls:
            raise ValueError(f"the {host}'s socket calls are {', '.join(hc.calls)}; not "
                             f"{call!r}")
        now = self.net.sockets(host)    # (calls made in code may have changed them)
        if fd is None:
            sock = hc.target(call, now)
        else:
            sock = next((s for s in now if s.fd == fd), None)
            if sock is None:
                open_fds = ", ".join(str(s.fd) for s in now) or "none"
                raise ValueError(f"the {host} has no open descriptor {fd!r} (open: "
                                 f"{open_fds})")
        extra = {"port": self.port, "data": hc.data.value}
        if hc.listens:
            extra.update(backlog=hc.backlog.value, reuseaddr=hc.reuse.value)
        return self._act(lambda: perform(self.net, host, call, sock,  # type: ignore
                                         **extra))

    def _socket_click(self, host: str, call: str) -> None:
        """A socket button: a refused call says why in the error slot; a call that was
        made (even one that reports an error, as ``recv()`` → ``ECONNRESET``) shows in
        the explanation."""
        mark = len(self.net.history)
        try:
            self.socket_call(host, call)
        except OSError as exc:
            if len(self.net.history) == mark:
                self.error.value = refusal_html(host, call, exc)
                self.error.layout.display = ""

    def deliver(self, pid: int) -> Step:
        self._on_wire(pid)
        return self._act(lambda: self.net.deliver(pid))

    def drop(self, pid: int) -> Step:
        self._on_wire(pid)
        return self._act(lambda: self.net.drop(pid))

    def duplicate(self, pid: int) -> Step:
        self._on_wire(pid)
        return self._act(lambda: self.net.duplicate(pid))

    def _on_wire(self, pid: int) -> None:
        """Say in plain words where a segment went if it is no longer in flight."""
        if any(p.id == pid for p in self.net.in_flight):
            return
        for p, t in self.net.delivered:
            if p.id == pid:
                raise ValueError(f"Segment #{pid} is not on the wire any more: it reached "
                                 f"the {p.dst} at t = {t:g} s.")
        for p in self.net.lost:
            if p.id == pid:
                raise ValueError(f"Segment #{pid} is not on the wire any more: it was lost.")
        self.net.packet(pid)            # the model's own message (KeyError)

    def fire_next_timer(self) -> Step:
        """Advance the clock to the earliest running timer and fire it."""
        timers = self.net.timers()
        if not timers:
            raise ValueError("No timer is running, so there is nothing to wait for.")
        name, timer, _ = timers[0]
        return self._act(lambda: self.net.fire_timer(name, timer))

    def next_event(self) -> Step:
        """Let the next event happen on its own (what ``Network.step()`` does)."""
        if self.net.next_event() is None:
            raise ValueError("Nothing will happen on its own: nothing is in flight and no "
                             "timer runs. Make a call.")
        return self._act(self.net.step)  # type: ignore[arg-type]

    def redo(self) -> Step:
        """The loaded scenario's next step (after "start from" or an Undo): its actions
        replayed one by one, as long as the run still follows the scenario."""
        n = self._script_next()
        if n is None:
            raise ValueError("No scenario step to replay: choose a scenario under "
                             "'start from', or your own actions have left its script.")
        script = self._script
        mark = len(self.net.history)
        self._adopt(script.replay(n + 1))           # type: ignore[union-attr]
        self._marks.append(mark)
        self._earlier = self.net.history[mark:-1]
        self._refresh()
        return self.net.history[-1]

    def _script_next(self) -> int | None:
        """The index of the scenario's next action, if the run is still on its script."""
        s = self._script
        n = len(self.net.actions)
        if s is None or n >= len(s.actions) or list(self.net.actions) != list(s.actions[:n]):
            return None
        return n

    def _adopt(self, net: Network) -> None:
        """Make ``self.net`` (the object the caller holds) the run ``net``."""
        self.net.__dict__.update(net.__dict__)
        self.net.rewind(len(self.net.actions))     # rebinds the endpoints to self.net

    def undo(self) -> None:
        """Take back the last action (or, after loading a scenario, its last step)."""
        n = len(self.net.history)
        if n == 0:
            raise ValueError("Nothing to undo: this is the start.")
        target = self._marks.pop() if self._marks else n - 1
        self.net.rewind(target)
        self._earlier = []
        self._refresh()

    def load_scenario(self, name: "str | Scenario | None", at: str = "start") -> None:
        """Start again from a named scenario ("" or None: two CLOSED endpoints), at its
        step 0 (``at="start"``; "Scenario step" then replays it) or its end (``"end"``)."""
        if at not in ("start", "end"):
            raise ValueError(f"at is 'start' or 'end', not {at!r}")
        script = None
        if name and name != _GIVEN:
            story = get_scenario(name)            # a socket-level story needs hosts, and back
            if story.sockets != self.sockets:
                kind = ("hosts with sockets", "two bare TCBs")
                raise ValueError(f"this explorer drives {kind[not self.sockets]}; scenario "
                                 f"{story.name!r} is a run of {kind[self.sockets]}: open it "
                                 f"with explorer({story.name!r})")
        if not name:
            net = self._given.replay(0) if self.sockets and self._given is not None else \
                SocketNetwork(self.names) if self.sockets else Network(self.names)
        elif name == _GIVEN and self._given is not None:
            net = self._given.replay()
        else:
            script, _ = scenario_of(name)
            if script.names != self.names:
                raise ValueError(f"scenario {name!r} has endpoints {script.names}, this "
                                 f"explorer {self.names}")
            net = script.replay(0) if at == "start" else script.replay()
        self._adopt(net)                  # keep the same object for the caller
        self._script = script
        self._marks = []
        self._earlier = []
        self._refresh()

    # -- machinery ---------------------------------------------------------------------------
    def _act(self, fn: Callable[[], Step]) -> Step:
        mark = len(self.net.history)
        try:
            step = fn()
        finally:
            if len(self.net.history) > mark:
                self._marks.append(mark)
                self._earlier = self.net.history[mark:-1]
            self._refresh()
        return step

    def _refresh(self) -> None:
        net = self.net
        self._shown = len(net.history)            # what the picture shows (see refresh)
        # what the learner watches first: the pictures, states and explanation
        k = len(net.history) - 1
        self.view.show(net, k, ladder_key=(tuple(net.actions), round(net.now, 9)),
                       ladder_upto=None, earlier=self._earlier)
        if k < 0:
            self.view.explain.value = self.view.explain.value.replace(
                "Before the first step", "Nothing has happened yet")

        # then the controls: same buttons, new disabled/tooltip (one message per widget)
        for name in self.names if not self.sockets else ():
            ep = net[name]
            allowed = ep.allowed_calls()
            for call, btn in self.call_buttons[name].items():
                why = allowed.get(call)
                sock = SOCKET_CALLS.get(call, "")
                note_w = self.call_notes[name][call]
                # (an enabled button takes its endpoint's colour from the style sheet)
                with btn.hold_sync(), note_w.hold_sync():
                    btn.disabled = why is not None
                    if why is None:
                        btn.tooltip = f"{name}: {call}() — sockets: {sock}"
                        note = f"<b>{call}()</b> <code>{esc(sock)}</code>"
                        note_w.remove_class("tl-off")
                    else:
                        btn.tooltip = f"Not possible in {ep.state.rfc}: {why}"
                        note = (f'<b>{call}()</b> <code>{esc(sock)}</code> '
                                f'<span class="tl-why">· {esc(why)}</span>')
                        note_w.add_class("tl-off")
                    note_w.value = note
            if name in self.send_data:
                self.send_data[name].disabled = allowed.get("send") is not None
        for hc in self.socket_calls.values():
            hc.show(net)                  # type: ignore[arg-type]
        self._refresh_wire()
        timers = net.timers()
        if timers:
            n, t, d = timers[0]
            what = timer_name(t)
            if self.sockets:
                socks = socket_names(net.history)
                n = socks.label(socks.host.get(n, n), n)
            self.next_timer_button.disabled = False
            self.next_timer_button.tooltip = (f"Advance the clock to t = {d:g} s and fire the "
                                              f"{n}'s {what} timer")
        else:
            self.next_timer_button.disabled = True
            self.next_timer_button.tooltip = "No timer is running"
        self.next_event_button.disabled = net.next_event() is None
        self.undo_button.disabled = not net.history
        nxt = self._script_next()
        total = len(self._script.actions) if self._script is not None else 0
        self.redo_button.disabled = nxt is None
        self.redo_button.tooltip = (
            f"Replay step {nxt + 1} of {total} of the scenario" if nxt is not None else
            "No scenario step to replay (choose one under 'start from'; it replays while "
            "your run follows its script)")
        if self.challenge.value:
            self._refresh_challenge()

    # -- reach every edge --------------------------------------------------------------------
    def _set_challenge(self, on: bool) -> None:
        self.view.coverage = bool(on)
        self.challenge_panel.layout.display = "" if on else "none"
        if on:
            show_diagram_tab(self.main)          # the edges taken are on the diagram
        self._refresh()

    def edge_progress(self):
        """The challenge's state: which drawn edges this run has taken, by whom
        (:class:`tcplab.ui.challenge.Progress`)."""
        from ..render import StateDiagram
        return progress(self.net.history, StateDiagram(self.view.layers).transitions)

    def _refresh_challenge(self) -> None:
        self.challenge_panel.value = panel_html(self.edge_progress(), self.colors)

    def _refresh_wire(self) -> None:
        net = self.net
        ids = [p.id for p in net.in_flight]
        for pid in list(self.wire_rows):
            if pid not in ids:
                del self.wire_rows[pid]
                del self._wire_labels[pid]
        for p in net.in_flight:
            if p.id not in self.wire_rows:
                self._new_row(p)
            self._wire_labels[p.id].value = self._packet_html(p)
            # after an Undo the same id may name another segment: keep the tooltip true
            self.wire_rows[p.id].children[1].tooltip = f"Deliver #{p.id} to the {p.dst} now"
        rows = tuple(self.wire_rows[i] for i in ids)
        if self.wire_list.children != rows:
            self.wire_list.children = rows
        n = len(ids)
        self.wire_title.value = (f'<span class="tl-wire-title">The wire</span> '
                                 f'<span class="tl-muted">· {n} segment{"s" if n != 1 else ""} '
                                 f'in flight</span>' if n else
                                 '<span class="tl-wire-title">The wire</span> '
                                 '<span class="tl-muted">· nothing in flight</span>')

    def _new_row(self, p: Packet) -> None:
        label = html_widget("tl-pkt", flex="1 1 300px", min_width="0")
        d = button("Deliver", "t-deliver", f"Deliver #{p.id} to the {p.dst} now", "success",
                   width="76px", flex="0 0 auto")
        x = button("Drop", "t-drop", f"Lose #{p.id}: it never arrives", "danger", width="60px",
                   flex="0 0 auto")
        c = button("Duplicate", "t-dup", f"The network makes a copy of #{p.id}", width="88px",
                   flex="0 0 auto")
        d.on_click(lambda _, i=p.id: self._safe(self.deliver, i))
        x.on_click(lambda _, i=p.id: self._safe(self.drop, i))
        c.on_click(lambda _, i=p.id: self._safe(self.duplicate, i))
        row = widgets.HBox([label, d, x, c], _dom_classes=("t-wire-row", f"t-pid-{p.id}"))
        self.wire_rows[p.id] = row
        self._wire_labels[p.id] = label

    def _packet_html(self, p: Packet) -> str:
        return packet_html(p, self.net.now, self.colors, self.view.style)


def explorer(start: "None | str | Scenario | Network" = None, **kwargs: object) -> Explorer:
    """A widget to drive both endpoints and the wire by hand.

    ``start``: ``None`` (two CLOSED endpoints), a scenario name (its run is the starting
    point; Undo steps back through it) or a :class:`Network` (used in place).  Per endpoint,
    a button per user call with its socket-API name; calls not possible now are disabled and
    say why on hover.  The wire lists the segments in flight, each with Deliver / Drop /
    Duplicate.  "Next timer" advances the clock to the next timer; Undo takes an action back.
    Given a :class:`~tcplab.sockets.SocketNetwork`, per host its sockets and the socket
    calls instead (``explorer(SocketNetwork())`` starts with no socket at all; ``port``:
    the server's port, 80).
    """
    return Explorer(start, **kwargs)  # type: ignore[arg-type]
