"""The retransmission timeout of a real socket next to the model's: :func:`compare_rto`.

A real connection is made (loopback, or the namespace lab with its one-way delay), optionally
a few request/answer exchanges, and each side's ``TCP_INFO`` is read (:func:`tcp_info`:
``tcpi_rto``, ``tcpi_rtt``, ``tcpi_rttvar``, tcp(7)).  The model plays the same calls with
the same latency and its Linux estimator (:meth:`tcplab.endpoint.Config.linux`: RFC 6298 §2
with Linux's 200 ms floor on the variance term).  Where they differ the difference is named
with a :data:`~tcplab.live.comparison.LINUX_DIFFERENCES` kind (``rto-granularity``,
``rto-variance``).

Builds on :mod:`tcplab.live.lab` (sockets in each side's network) and the model
(:class:`~tcplab.network.Network`).  ``TCP_INFO`` is read with :mod:`struct` (``struct
tcp_info``, ``include/uapi/linux/tcp.h``): the standard library has no reader for it, and
psutil does not give per-socket timers.
"""

from __future__ import annotations

import html
import select
import socket
import struct
import time
from dataclasses import dataclass

from ..endpoint import Config
from ..network import Network
from ..states import TcpState
from .arguments import flag, seconds
from .comparison import LINUX_DIFFERENCES, Difference
from .lab import Lab, close_quietly
from .namespace_lab import open_lab

__all__ = ["TcpInfo", "tcp_info", "RtoRow", "RtoComparison", "compare_rto", "JIFFY_MAX"]

#: (``tcpi_rtt`` is the 16th, ``tcpi_rttvar`` the 17th); all times in microseconds.
_TCP_INFO = struct.Struct("=8B17I")
#: The longest jiffy (HZ = 100): Linux keeps timers in jiffies and rounds the RTO up to one.
JIFFY_MAX = 0.010


@dataclass(frozen=True)
class TcpInfo:
    """What ``getsockopt(IPPROTO_TCP, TCP_INFO)`` says about a socket's timers (seconds).

    ``rtt`` is Linux's SRTT (``srtt_us >> 3``), ``rttvar`` its RTTVAR (``mdev_us >> 2``, RFC
    6298's average deviation), ``rto`` the retransmission timeout now (``icsk_rto``).
    """

    state: TcpState
    rto: float
    rtt: float
    rttvar: float
    retransmits: int
    backoff: int


def tcp_info(sock: socket.socket) -> TcpInfo:
    """The timers of a connected TCP socket, from ``TCP_INFO`` (tcp(7)).

    Raises ``TypeError`` for anything but a socket and ``OSError`` from the kernel (a closed
    socket: ``EBADF``).
    """
    if not isinstance(sock, socket.socket):
        raise TypeError(f"sock is a socket.socket, not {type(sock).__name__}")
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
    v = _TCP_INFO.unpack(raw[:_TCP_INFO.size].ljust(_TCP_INFO.size, b"\0"))
    return TcpInfo(TcpState.from_linux(v[0]), v[8] / 1e6, v[23] / 1e6, v[24] / 1e6,
                   v[2], v[4])


# ---------------------------------------------------------------------- the RTO

@dataclass(frozen=True)
class RtoRow:
    """One side's timers at one moment: the kernel's (``TCP_INFO``) and the model's."""

    actor: str
    moment: str                     # "after the handshake", "after 2 exchanges"
    kernel: TcpInfo
    model_srtt: float
    model_rttvar: float
    model_rto: float

    @property
    def kernel_formula(self) -> float:
        """Linux's formula on the kernel's own SRTT and RTTVAR: SRTT + max(200 ms, 4 RTTVAR)
        (the model's ``rto_estimator="linux"``), before rounding to a jiffy."""
        return self.kernel.rtt + max(0.2, 4 * self.kernel.rttvar)

    @property
    def kind(self) -> str:
        """``""`` if the kernel's RTO is the model's; else the :data:`LINUX_DIFFERENCES` kind."""
        # The path's own overhead makes the kernel's RTT a little longer than the model's
        # latency; the RTO is 3 RTTs after one sample, so allow three times that, plus a jiffy.
        slack = JIFFY_MAX + 3 * abs(self.kernel.rtt - self.model_srtt) + 1e-6
        if abs(self.kernel.rto - self.model_rto) <= slack:
            return "" if abs(self.kernel.rto - self.model_rto) < 1e-6 else "rto-granularity"
        # Linux's signature: its RTO is above RFC 6298's formula on its *own* SRTT and
        # RTTVAR (the RTO uses rttvar_us, a per-round-trip maximum that falls slowly).
        if self.kernel.rto > self.model_rto and \
                self.kernel.rto > self.kernel_formula + JIFFY_MAX:
            return "rto-variance"
        return "unexplained"


@dataclass(frozen=True, repr=False)
class RtoComparison:
    """The result of :func:`compare_rto`: one :class:`RtoRow` per side and moment; prints
    as a table (``str``; HTML in a notebook), ``differences`` names each difference."""

    mode: str
    delay: float
    rows: tuple[RtoRow, ...]

    @property
    def differences(self) -> list[Difference]:
        out = []
        for r in self.rows:
            if r.kind:
                out.append(Difference(
                    r.actor, r.kind, f"{r.moment}: tcpi_rto = {r.kernel.rto * 1000:.0f} ms, "
                    f"the model's RTO = {r.model_rto * 1000:.1f} ms (SRTT {r.kernel.rtt * 1000:.1f}"
                    f" / {r.model_srtt * 1000:.1f} ms, RTTVAR {r.kernel.rttvar * 1000:.1f} / "
                    f"{r.model_rttvar * 1000:.1f} ms)."))
        return out

    @property
    def agrees(self) -> bool:
        """True if every difference is a documented one."""
        return all(d.explained for d in self.differences)

    def _table(self) -> list[tuple[str, ...]]:
        head = ("side", "when", "kernel SRTT", "RTTVAR", "tcpi_rto", "model SRTT", "RTTVAR",
                "RTO", "difference")
        rows = [head]
        for r in self.rows:
            rows.append((r.actor, r.moment, _ms(r.kernel.rtt), _ms(r.kernel.rttvar),
                         _ms(r.kernel.rto), _ms(r.model_srtt), _ms(r.model_rttvar),
                         _ms(r.model_rto), r.kind or "same"))
        return rows

    def _title(self) -> str:
        return (f"RTO: kernel (TCP_INFO) vs model (Config.linux()), {self.mode}, one-way "
                f"delay {self.delay * 1000:g} ms -- "
                + ("agrees" if self.agrees else "UNEXPLAINED differences"))

    def __repr__(self) -> str:
        return f"<{self._title()}>"

    def __str__(self) -> str:
        rows = self._table()
        w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [self._title()]
        lines += ["  ".join(x.rjust(n) if 1 < i < 8 else x.ljust(n)
                            for i, (x, n) in enumerate(zip(r, w))).rstrip() for r in rows]
        for kind in dict.fromkeys(r.kind for r in self.rows if r.kind):
            lines.append(f"{kind}: {LINUX_DIFFERENCES[kind]}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = self._table()
        css = ("<style>.tl-rto td,.tl-rto th{padding:2px 8px;font-family:monospace;"
               "font-size:12px;text-align:left}.tl-rto td.n{text-align:right}"
               ".tl-rto th{background:#eee}.tl-rto .diff{background:#fde2c8}</style>")
        head = "".join(f"<th>{esc(h)}</th>" for h in rows[0])
        body = "".join(
            "<tr>" + "".join(
                f'<td class="n">{esc(x)}</td>' if 1 < i < 8 else
                f'<td><span class="diff">{esc(x)}</span></td>' if i == 8 and x != "same" else
                f"<td>{esc(x)}</td>" for i, x in enumerate(r)) + "</tr>" for r in rows[1:])
        why = "".join(f"<p><b>{esc(k)}</b>: {esc(LINUX_DIFFERENCES[k])}</p>"
                      for k in dict.fromkeys(r.kind for r in self.rows if r.kind))
        return (f"{css}<p><b>{esc(self._title())}</b></p><table class=\"tcplab-live tl-rto\">"
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{why}")


def _ms(x: float) -> str:
    """Seconds as milliseconds: microseconds shown below 10 ms (loopback round trips)."""
    return f"{x * 1000:.3f} ms" if x < 0.01 else f"{x * 1000:.1f} ms"


def _wait(sock: socket.socket, timeout: float, write: bool = False) -> None:
    poller = select.poll()
    poller.register(sock, select.POLLOUT if write else select.POLLIN)
    if not poller.poll(timeout * 1000):
        raise TimeoutError(f"no answer within {timeout:g} s on the lab's connection")


def compare_rto(lab: Lab | None = None, *, privileged: "bool | str" = False,
                delay: float = 0.25, exchanges: int = 2) -> RtoComparison:
    """Make a real connection and read each side's RTO from ``TCP_INFO``, after the handshake
    and after ``exchanges`` request/answer exchanges (1 byte each way); play the same on
    the model with ``Config.linux()`` and the lab's one-way latency.

    ``lab``: a lab of your own, else one is opened (loopback, or -- if ``privileged`` --
    namespaces with ``delay`` seconds each way) and closed afterwards.  Raises ``TypeError``
    / ``ValueError`` naming a bad argument, :class:`TimeoutError` if the lab's connection
    does not answer.  (RFC 6298 §2; Linux ``tcp_rtt_estimator()``, ``__tcp_set_rto()``.)
    """
    if lab is not None and not isinstance(lab, Lab):
        raise TypeError(f"lab is a lab of your own or None, not {type(lab).__name__}")
    flag("privileged", privileged, "auto")
    delay = seconds("delay", delay, high=2)
    if isinstance(exchanges, bool) or not isinstance(exchanges, int) or not 0 <= exchanges <= 20:
        raise ValueError(f"exchanges is a whole number 0..20, not {exchanges!r}")
    own = lab is None
    if own:
        lab = open_lab(privileged, delay=delay)
    assert lab is not None
    try:
        kernel = _kernel_rto(lab, exchanges)
    finally:
        if own:
            lab.close()
    latency = lab.delay if lab.mode != "loopback" else 0.0
    model = _model_rto(latency, exchanges)
    rows = tuple(RtoRow(actor, moment, kernel[moment][actor], *model[moment][actor])
                 for moment in kernel for actor in lab.names)
    return RtoComparison(lab.mode, latency, rows)


def _moments(exchanges: int) -> list[str]:
    return ["after the handshake"] + ([f"after {exchanges} exchange"
                                       + ("s" if exchanges > 1 else "")] if exchanges else [])


def _until_acked(socks: "tuple[socket.socket, ...]", delay: float) -> None:
    """Let the last ACK reach its socket before the timers are read: on a delayed wire,
    until all each socket sent is acknowledged (``tcpi_unacked`` 0: its RTT sample from
    that acknowledgement is taken), at most the ``2 * delay + 0.02`` s that waited for it
    before; on loopback 20 ms, as before (a delayed ACK, 40 ms, is not waited for: the
    reading stays the one of microsecond round trips)."""
    if delay <= 0:
        time.sleep(0.02)
        return
    deadline = time.monotonic() + 2 * delay + 0.02
    while any(_TCP_INFO.unpack(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO,
                                            _TCP_INFO.size).ljust(_TCP_INFO.size, b"\0")
                               [:_TCP_INFO.size])[12] for s in socks):   # tcpi_unacked
        if time.monotonic() >= deadline:
            return
        time.sleep(0.002)


def _kernel_rto(lab: Lab, exchanges: int) -> dict[str, dict[str, TcpInfo]]:
    a, b = lab.names
    patience = 5 + 4 * lab.delay
    lst = lab.socket(b)
    cli = lab.socket(a)
    conn = None
    try:
        lst.bind((lab.hosts[b].ip, 0))
        lst.listen(1)
        cli.connect_ex(lst.getsockname())
        _wait(cli, patience, write=True)
        _wait(lst, patience)
        conn, _ = lst.accept()
        lab.track(conn)
        _until_acked((cli, conn), lab.delay)      # the last ACK of the handshake arrives
        out = {}
        moments = _moments(exchanges)
        out[moments[0]] = {a: tcp_info(cli), b: tcp_info(conn)}
        for _ in range(exchanges):
            cli.send(b"?")
            _wait(conn, patience)
            conn.recv(16)
            conn.send(b"!")
            _wait(cli, patience)
            cli.recv(16)
            _until_acked((cli, conn), lab.delay)  # the ACK of the answer arrives
        if exchanges:
            out[moments[1]] = {a: tcp_info(cli), b: tcp_info(conn)}
        return out
    finally:
        for s in (cli, conn, lst):
            if s is not None:
                close_quietly(s)


def _model_rto(latency: float, exchanges: int
               ) -> dict[str, dict[str, tuple[float, float, float]]]:
    net = Network(("client", "server"), latency=latency, config=Config.linux())
    a, b = net.names
    net.listen(b)
    net.connect(a)
    net.settle()
    moments = _moments(exchanges)

    def timers() -> dict[str, tuple[float, float, float]]:
        return {n: (net[n].srtt or 0.0, net[n].rttvar or 0.0, net[n].rto) for n in net.names}
    out = {moments[0]: timers()}
    for _ in range(exchanges):
        net.send(a, b"?")
        net.settle()
        net.recv(b)
        net.send(b, b"!")
        net.settle()
        net.recv(a)
    if exchanges:
        out[moments[1]] = timers()
    return out
