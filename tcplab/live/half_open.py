"""A half-open connection on the kernel and in the model: :func:`synack_retries`.

In the namespace lab every segment of the client except its SYN is dropped (its ACK never
arrives; :meth:`tcplab.live.namespace_lab.NamespaceLab.dropping`), so the server's kernel
retransmits its SYN,ACK (``tcp_synack_retries`` = 5: 6 SYN,ACKs at 0, 1, 3, 7, 15, 31 s),
drops the request sock at 63 s, and the listener stays in LISTEN; no ``accept()`` ever
returns it.  The model does the same with :meth:`tcplab.endpoint.Config.linux` (a SYN
injected, every SYN,ACK dropped).  It takes about 65 s.  The kernel's timers fire a little
late (the timer wheel): that difference is named ``timer-slack``
(:data:`~tcplab.live.comparison.LINUX_DIFFERENCES`).

Builds on :mod:`tcplab.live.namespace_lab` and the model (:class:`~tcplab.network.Network`).
"""

from __future__ import annotations

import math
import socket
import time
from dataclasses import dataclass

from ..endpoint import Config
from ..network import Network
from ..segment import Flags, Segment
from ..states import TcpState
from .arguments import seconds
from .comparison import LINUX_DIFFERENCES, Difference
from .lab import close_quietly
from .namespace_lab import NamespaceLab

__all__ = ["SynAckRetries", "synack_retries"]

@dataclass(frozen=True, repr=False)
class SynAckRetries:
    """The result of :func:`synack_retries`: a half-open connection on the kernel and in the
    model.  Times in seconds from the first SYN,ACK.

    >>> r = SynAckRetries((0, 1, 3.03), 63.8, TcpState.LISTEN, False,
    ...                   (0, 1, 3), 63.0, TcpState.LISTEN, ())
    >>> [d.kind for d in r.differences], r.agrees
    (['timer-slack', 'timer-slack'], True)
    """

    kernel_synacks: tuple[float, ...]       # when each SYN,ACK left the server's kernel
    kernel_dropped: float | None            # when the request sock left the table
    kernel_listener: TcpState               # the listener at the end
    kernel_accepted: bool                   # did accept() ever return the connection?
    model_synacks: tuple[float, ...]
    model_dropped: float | None             # when the model gave the half-open connection up
    model_listener: TcpState
    model_errors: tuple[str, ...]           # what the model told an application (nothing)

    @property
    def differences(self) -> list[Difference]:
        """Each way the kernel differs from the model, with its kind: ``timer-slack`` for
        timers that fire late by at most the timer wheel's 1/8 (plus 50 ms), else
        ``unexplained``."""
        out = []
        if len(self.kernel_synacks) != len(self.model_synacks):
            out.append(Difference("server", "unexplained",
                                  f"{len(self.kernel_synacks)} SYN,ACKs on the kernel, "
                                  f"{len(self.model_synacks)} in the model."))
        elif not all(_late_by_slack(k, m) for k, m in zip(self.kernel_synacks,
                                                          self.model_synacks)):
            out.append(Difference("server", "unexplained",
                                  f"SYN,ACKs at {_times(self.kernel_synacks)} on the kernel, "
                                  f"{_times(self.model_synacks)} in the model."))
        elif any(abs(k - m) > 0.01 for k, m in zip(self.kernel_synacks, self.model_synacks)):
            out.append(Difference("server", "timer-slack",
                                  f"the SYN,ACKs left at {_times(self.kernel_synacks)}, a "
                                  f"little after the model's {_times(self.model_synacks)}."))
        if self.kernel_dropped is None or self.model_dropped is None or \
                not _late_by_slack(self.kernel_dropped, self.model_dropped):
            out.append(Difference("server", "unexplained",
                                  f"the half-open connection was dropped after "
                                  f"{self.kernel_dropped} s on the kernel, "
                                  f"{self.model_dropped} s in the model."))
        elif abs(self.kernel_dropped - self.model_dropped) > 0.01:
            out.append(Difference("server", "timer-slack",
                                  f"the request sock was dropped after "
                                  f"{self.kernel_dropped:.2f} s, the model's after "
                                  f"{self.model_dropped:.2f} s."))
        if self.kernel_listener is not self.model_listener or self.kernel_accepted or \
                self.model_errors:
            out.append(Difference("server", "unexplained",
                                  f"the listener ends in {self.kernel_listener} on the kernel "
                                  f"(accepted: {self.kernel_accepted}), in "
                                  f"{self.model_listener} in the model (errors: "
                                  f"{list(self.model_errors)})."))
        return out

    @property
    def agrees(self) -> bool:
        """True if every difference is a documented one."""
        return all(d.explained for d in self.differences)

    def __repr__(self) -> str:
        verdict = "agrees" if self.agrees else "UNEXPLAINED differences"
        return (f"<SynAckRetries: {len(self.kernel_synacks)} SYN,ACKs on the kernel, "
                f"{len(self.model_synacks)} in the model; {verdict}>")

    def __str__(self) -> str:
        k = "never" if self.kernel_dropped is None else f"after {self.kernel_dropped:.1f} s"
        m = "never" if self.model_dropped is None else f"after {self.model_dropped:.1f} s"
        return "\n".join([
            "A half-open connection (the client's ACKs filtered), Linux vs Config.linux():",
            f"  SYN,ACKs, kernel: {len(self.kernel_synacks)} at {_times(self.kernel_synacks)}",
            f"  SYN,ACKs, model:  {len(self.model_synacks)} at {_times(self.model_synacks)}",
            f"  request sock dropped: kernel {k}, model {m}",
            f"  listener at the end: kernel {self.kernel_listener}, model {self.model_listener};"
            f" accept() returned it: {'yes' if self.kernel_accepted else 'never'}",
            *(f"  {d}" for d in self.differences),
            *(f"  {kind}: {LINUX_DIFFERENCES[kind]}" for kind in
              dict.fromkeys(d.kind for d in self.differences))])


def _late_by_slack(kernel: float, model: float) -> bool:
    """Did a kernel timer that the model fires at ``model`` s fire at ``kernel`` s, at most
    the timer wheel's 1/8 (and 50 ms of scheduling) late, and not early?"""
    return model - 0.05 <= kernel <= model * 1.125 + 0.05


def _times(ts: tuple[float, ...]) -> str:
    return ", ".join(f"{t:.2f}" for t in ts) + " s" if ts else "-"


def synack_retries(lab: NamespaceLab | None = None, *, delay: float = 0.05,
                   max_wait: float = 80.0, poll: float = 0.05) -> SynAckRetries:
    """Leave a connection half open on the kernel and in the model; see the module docstring.

    ``lab``: a :class:`NamespaceLab` of your own (root), else one is opened with ``delay``
    seconds each way and closed afterwards.  The request sock is looked up every ``poll``
    seconds until it is gone, at most ``max_wait`` seconds.  Raises ``TypeError`` /
    ``ValueError`` naming a bad argument and :class:`tcplab.live.netns.LabError` without
    root.  (Linux ``tcp_synack_retries``, ``reqsk_timer_handler()``; RFC 6298 §5.5.)
    """
    if lab is not None and not isinstance(lab, NamespaceLab):
        raise TypeError("lab is a live.NamespaceLab of your own (filtering segments needs the "
                        f"namespaces' delay line) or None, not {type(lab).__name__}")
    delay = seconds("delay", delay, low=0.001, high=2)
    max_wait = seconds("max_wait", max_wait, low=1, high=600)
    poll = seconds("poll", poll, high=5, positive=True)
    own = lab is None
    if own:
        lab = NamespaceLab(delay=delay)
    assert lab is not None
    try:
        kernel = _kernel_half_open(lab, max_wait, poll)
    finally:
        if own:
            lab.close()
    return SynAckRetries(*kernel, *_model_half_open(lab.delay))


def _kernel_half_open(lab: NamespaceLab, max_wait: float, poll: float
                      ) -> tuple[tuple[float, ...], float | None, TcpState, bool]:
    a, b = lab.names
    ports = lab.next_ports()
    srv = (lab.hosts[b].ip, ports[b])
    cli_addr = (lab.hosts[a].ip, ports[a])
    lst = lab.socket(b)
    cli = lab.socket(a)
    accepted = False
    try:
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(srv)
        lst.listen(8)
        cli.bind(cli_addr)
        lab.mark()
        with lab.dropping(lambda actor, seg: actor == a and seg.flags != Flags.SYN):
            t0 = time.monotonic()
            cli.connect_ex(srv)
            seen = gone = None
            while time.monotonic() - t0 < max_wait:
                row = lab.lookup(b, srv, cli_addr)
                now = time.monotonic() - t0
                if row is not None and seen is None:
                    seen = now
                if row is None and seen is not None:
                    gone = now
                    break
                try:
                    conn, _ = lst.accept()
                except (BlockingIOError, InterruptedError):
                    pass
                else:
                    accepted = True
                    close_quietly(conn)
                time.sleep(poll)
            listener = lab.lookup(b, srv, ("0.0.0.0", 0))
        synacks = [w.sent for w in lab.segments
                   if w.src == b and w.segment.flags == Flags.SYN | Flags.ACK]
        first = synacks[0] if synacks else 0.0
        # The lab's segment clock started at mark(), just before t0: the same origin.
        dropped = None if gone is None else gone - first
        return (tuple(t - first for t in synacks), dropped,
                listener.state if listener is not None else TcpState.CLOSED, accepted)
    finally:
        close_quietly(cli)
        close_quietly(lst)


def _model_half_open(latency: float
                     ) -> tuple[tuple[float, ...], float | None, TcpState, tuple[str, ...]]:
    """The issue's input: listen, a SYN injected and delivered, every SYN,ACK dropped."""
    net = Network(("client", "server"), latency=latency, config=Config.linux())
    net.listen("server")
    net.inject("server", Segment.make("SYN", 90), src="client")
    net.deliver()
    synacks: list[float] = []
    while True:
        for p in list(net.in_flight):
            if p.src == "server" and p.segment.flags == Flags.SYN | Flags.ACK:
                synacks.append(p.sent_at)
                net.drop(p.id)
        if net.next_event() is None:
            break
        net.step()
    given_up = [st.time for st in net.history if st.actor == "server" and st.timer]
    first = synacks[0] if synacks else 0.0
    dropped = given_up[-1] - first if given_up and math.isfinite(given_up[-1]) else None
    errors = tuple(st.error for st in net.history if st.actor == "server" and st.error)
    return tuple(t - first for t in synacks), dropped, net.state("server"), errors
