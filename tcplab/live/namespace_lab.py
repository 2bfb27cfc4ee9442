"""The privileged lab: two network namespaces, a veth pair, and a delay on every segment.

:class:`NamespaceLab` needs root: each side gets its own network namespace, the two joined
by a veth pair, and every TCP segment is held ``delay`` seconds on its way out (the delay
line, :mod:`tcplab.live.delay`).  Now every state lasts long enough to be seen, and
segments sent at the same moment from both sides really cross.  :func:`capabilities` checks
(once, by building one) whether this machine can have it; :func:`open_lab` opens it or, if
not asked for or not possible, a :class:`~tcplab.live.lab.LoopbackLab`.

Builds on :mod:`tcplab.live.lab` (the lab interface), :mod:`tcplab.live.netns` (namespaces
and their cleanup) and ``ip``/``iptables`` (ip-netns(8), iptables-extensions(8) NFQUEUE).
"""

from __future__ import annotations

import itertools
import shutil
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from ..segment import Segment
from .arguments import flag, seconds
from .delay import Delayer, NfQueue, WireSegment
from .lab import Host, Lab, LoopbackLab, close_quietly
from .netns import RULE_COMMENT, LabError, NetNamespace, privilege_problem, register

__all__ = ["NamespaceLab", "Capabilities", "capabilities", "open_lab"]


@dataclass(frozen=True)
class Capabilities:
    """What this machine can show: loopback always; namespaces (with delay) as root."""

    loopback: bool
    namespaces: bool
    reason: str            # why namespaces are not available ("" if they are)
    delay_mechanism: str

    def __str__(self) -> str:
        lines = [f"unprivileged loopback lab: {'yes' if self.loopback else 'no'}",
                 f"privileged namespace lab:   "
                 + ("yes" if self.namespaces else f"no -- {self.reason}")]
        if self.namespaces:
            lines.append(f"delay mechanism:            {self.delay_mechanism}")
        return "\n".join(lines)


_caps: Capabilities | None = None


def capabilities(refresh: bool = False) -> Capabilities:
    """Check (once) whether real sockets work here, and whether the privileged lab does.

    The privileged check really builds a namespace pair and sends a segment through the
    delay line, so a kernel without NFQUEUE is detected rather than guessed.
    """
    global _caps
    if _caps is not None and not refresh:
        return _caps
    loop = True
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
    except OSError:
        loop = False
    reason = privilege_problem() or ""
    if not reason:
        try:
            with NamespaceLab(delay=0.05):
                pass                       # building it checks that the delay line works
        except (LabError, OSError) as exc:
            reason = str(exc)
    _caps = Capabilities(loop, not reason, reason,
                         "iptables NFQUEUE in each namespace + a pure-Python nfnetlink_queue "
                         "delay line (netem is not needed)")
    return _caps


class NamespaceLab(Lab):
    """Two network namespaces joined by a veth pair, with a one-way ``delay`` (seconds) on
    every TCP segment in each direction.  Needs root.

    ``fin_timeout`` sets ``net.ipv4.tcp_fin_timeout`` inside the namespaces (the host's
    setting is not touched), so the orphaned FIN-WAIT-2 timeout can be watched in seconds.

    Use it as a context manager, or call :meth:`close` -- it deletes the namespaces, and
    with them the veth pair and the iptables rules.
    """

    mode = "namespaces"
    privileged = True
    QUEUE = 7
    SUBNET = "10.211.7"

    def __init__(self, delay: float = 0.25, *, fin_timeout: float | None = None,
                 names: tuple[str, str] = ("client", "server")) -> None:
        # 2 s at most: a round trip must stay well below Linux's initial RTO of 1 s x 2**n.
        delay = seconds("delay", delay, high=2)
        if fin_timeout is not None:
            fin_timeout = seconds("fin_timeout", fin_timeout, low=1)
        super().__init__(names)
        problem = privilege_problem()
        if problem:
            raise LabError(problem)
        self.delay = delay
        self._delayer: Delayer | None = None
        self._queues: list[NfQueue] = []
        self._port = itertools.count(20000, 2)
        self.iptables = ""                 # which iptables program installed the rules
        register(self)
        try:
            self._build(fin_timeout)
        except BaseException:
            self.close()
            raise

    def _build(self, fin_timeout: float | None) -> None:
        hosts = {}
        for i, name in enumerate(self.names, 1):
            ns = NetNamespace(name)
            hosts[name] = Host(name, f"{self.SUBNET}.{i}", ns)
            self.hosts = hosts      # so that close() finds what exists already
        a, b = (hosts[n] for n in self.names)
        dev = {a.name: "veth-" + a.name[:8], b.name: "veth-" + b.name[:8]}
        if dev[a.name] == dev[b.name]:
            dev = {a.name: "veth-a", b.name: "veth-b"}
        a.ns.run("ip", "link", "add", dev[a.name], "type", "veth", "peer", "name",
                 dev[b.name], "netns", b.ns.name)
        for h in (a, b):
            h.ns.run("ip", "addr", "add", f"{h.ip}/24", "dev", dev[h.name])
            h.ns.run("ip", "link", "set", "lo", "up")
            h.ns.run("ip", "link", "set", dev[h.name], "up")
            if fin_timeout is not None:
                h.ns.sysctl("net.ipv4.tcp_fin_timeout", int(fin_timeout))
        self.devices = dev
        if self.delay > 0:
            queues = {}
            for h in (a, b):
                q = NfQueue(h.ns, self.QUEUE)
                self._queues.append(q)
                queues[q] = h.name
            self._delayer = Delayer(queues, {h.ip: h.name for h in (a, b)}, self.delay)
            self._install_rules()

    def _rule(self, host: Host) -> list[str]:
        return ["OUTPUT", "-o", self.devices[host.name], "-p", "tcp", "-m", "comment",
                "--comment", RULE_COMMENT, "-j", "NFQUEUE", "--queue-num", str(self.QUEUE),
                "--queue-bypass"]

    def _install_rules(self) -> None:
        """Add the NFQUEUE rules with the first iptables that really queues packets.

        Debian's ``iptables`` is the nftables flavour; on a kernel without nft's queue
        support the rule may be accepted yet never queue, so each try is checked by sending
        one SYN and watching the delay line see it.  ``iptables-legacy`` is the fallback.
        """
        problems = []
        for prog in ("iptables", "iptables-legacy"):
            if shutil.which(prog) is None:
                continue
            hosts = list(self.hosts.values())
            added = []
            try:
                for h in hosts:
                    h.ns.run(prog, "-w", "5", "-A", *self._rule(h))
                    added.append(h)
            except LabError as exc:
                problems.append(str(exc))
            else:
                if self._queues_work():
                    self.iptables = prog
                    return
                problems.append(f"{prog}: the NFQUEUE rule was accepted but no packet reached "
                                "the queue")
            for h in added:
                h.ns.run(prog, "-w", "5", "-D", *self._rule(h), check=False)
        raise LabError("cannot delay segments with NFQUEUE here (is nfnetlink_queue / "
                       "xt_NFQUEUE in this kernel?): " + "; ".join(problems))

    def _queues_work(self, timeout: float = 1.0) -> bool:
        """Send a SYN from each side to a closed port of the other; did the queue see it?"""
        assert self._delayer is not None
        seen = len(self._delayer.segments)
        probes = []
        try:
            for h in self.hosts.values():
                other = next(x for x in self.hosts.values() if x is not h)
                s = self.socket(h.name)
                probes.append(s)
                s.connect_ex((other.ip, 9))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if len(self._delayer.segments) >= seen + len(probes):
                    return True
                time.sleep(0.005)
            return False
        finally:
            for s in probes:
                s.close()

    def next_ports(self) -> dict[str, int]:
        """Fresh ports for a run (so a TIME-WAIT from an earlier run never gets in the way)."""
        base = next(self._port)
        return {n: base + i for i, n in enumerate(self.names)}

    # -- the wire ----------------------------------------------------------------------
    def in_flight(self) -> int:
        return self._delayer.in_flight() if self._delayer else 0

    def quiet_for(self) -> float:
        return self._delayer.quiet_for() if self._delayer else float("inf")

    def mark(self) -> None:
        if self._delayer:
            self._delayer.mark()

    @property
    def segments(self) -> list[WireSegment]:
        return list(self._delayer.segments) if self._delayer else []

    def drop_next(self, src: str, flags: str) -> None:
        """Drop the next segment from ``src`` whose flags are exactly ``flags``."""
        if not self._delayer:
            raise LabError("dropping segments needs the delay line (delay > 0)")
        from ..segment import Flags
        want = Flags.parse(flags)
        done = []

        def rule(actor: str, seg: Segment) -> bool:
            if done or actor != src or (seg.flags & ~Flags.PSH) != want:
                return False
            done.append(seg)
            return True
        self._delayer.drop_rules.append(rule)

    @contextmanager
    def dropping(self, rule: "Callable[[str, Segment], bool]") -> Iterator[None]:
        """While the ``with`` block runs, drop every segment ``rule(sender, segment)`` is
        True for (on its way out of the sender's namespace), e.g. all of the client's ACKs
        to leave a connection half open.  The rule is removed on leaving the block."""
        if not self._delayer:
            raise LabError("dropping segments needs the delay line (delay > 0)")
        if not callable(rule):
            raise TypeError(f"rule is a function (sender, segment) -> bool, not {rule!r}")
        self._delayer.drop_rules.append(rule)
        try:
            yield
        finally:
            self._delayer.drop_rules.remove(rule)

    def probe(self, timeout: float = 5.0) -> float:
        """Make one connection through the delay line; return the measured handshake time.

        Raises LabError if segments do not pass, or pass without the delay (NFQUEUE not
        working with this kernel and iptables).
        """
        a, b = self.names
        ports = self.next_ports()
        lst = self.socket(b)
        cli = self.socket(a)
        try:
            lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lst.bind((self.hosts[b].ip, ports[b]))
            lst.listen(1)
            cli.setblocking(True)
            cli.settimeout(timeout)
            t0 = time.monotonic()
            try:
                cli.connect((self.hosts[b].ip, ports[b]))
            except OSError as exc:
                raise LabError(f"no connection through the namespaces: {exc}") from None
            rtt = time.monotonic() - t0
            if self.delay and rtt < 1.5 * self.delay:
                raise LabError(f"the delay line does not delay: a handshake took {rtt * 1000:.1f}"
                               f" ms, expected about {2000 * self.delay:.0f} ms (NFQUEUE rule "
                               "not effective with this iptables/kernel?)")
            return rtt
        finally:
            for s in (cli, lst):
                close_quietly(s)

    # -- life --------------------------------------------------------------------------
    def close(self) -> None:
        if self.closed:
            return
        try:
            self.close_sockets()
            if self._delayer is not None:
                self._delayer.close()
            for q in self._queues:
                q.close()
            self._queues.clear()
            for d in self._diags.values():
                d.close()
            self._diags.clear()
        finally:
            for h in self.hosts.values():
                if h.ns is not None:
                    h.ns.delete()
            super().close()


def open_lab(privileged: "bool | str" = "auto", delay: float = 0.25,
             fin_timeout: float | None = None) -> Lab:
    """A :class:`NamespaceLab` if ``privileged`` (``"auto"``: if this machine allows it),
    else a :class:`LoopbackLab`."""
    flag("privileged", privileged, "auto")
    if privileged == "auto":
        privileged = capabilities().namespaces
    if privileged:
        return NamespaceLab(delay=delay, fin_timeout=fin_timeout)
    return LoopbackLab()
