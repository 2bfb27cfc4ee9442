"""Kernel versus model: where a live run's two sequences differ, and why.

:func:`compare` aligns each side's kernel states with the model's (a longest common
subsequence, :func:`align`) and names every difference with a kind from
:data:`LINUX_DIFFERENCES` (the texts are in :mod:`tcplab.live.linux_differences`) -- a
documented Linux behaviour (the listener that stays in LISTEN,
TIME-WAIT's fixed 60 s mini-socket, the orphaned FIN-WAIT-2 timeout and its 3.5 x RTO floor,
the delayed ACK riding on a FIN, the RST for a late FIN, EPIPE for a reset in CLOSE-WAIT, the
RTO in jiffies and Linux's RTTVAR) -- or ``"unexplained"``.
:func:`segment_notes` does the same for the segments on the wire (:func:`lcs`).

The sources are RFC 9293 (§3.3.2 figure 5, §3.5, §3.6, §3.10) and Linux
(``include/net/tcp.h``: ``TCP_TIMEWAIT_LEN``, ``tcp_fin_time()``; ``tcp_send_active_reset()``,
``tcp_reset()``, ``tcp_rtt_estimator()``, ``__tcp_set_rto()``; tcp(7)).  Builds on the model's states and on the run's record
(:class:`tcplab.live.result.LiveRun`, read only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence, TypeVar

from ..procnet import SocketRow
from ..segment import Flags, Segment
from ..states import TcpState
from .kernel import MODEL_ERRORS
from .linux_differences import LINUX_DIFFERENCES

if TYPE_CHECKING:                       # pragma: no cover - for the type hints only
    from .result import LiveRun

__all__ = ["TRANSIENT_STATES", "LINUX_DIFFERENCES", "Difference", "compare", "align", "lcs",
           "segment_note", "wire_key", "wire_label", "WireKey", "dedup", "fmt_path",
           "fin_wait_2_timer"]

T = TypeVar("T")

S = TcpState

#: States that only wait for the peer's answer: microseconds on loopback.
TRANSIENT_STATES = (S.SYN_SENT, S.SYN_RECEIVED, S.FIN_WAIT_1, S.LAST_ACK, S.CLOSING)



@dataclass(frozen=True)
class Difference:
    """Where the kernel's sequence differs from the model's -- or a Linux fact worth
    knowing -- with the explanation (``kind`` is a key of :data:`LINUX_DIFFERENCES`)."""

    actor: str
    kind: str
    text: str
    model: tuple[TcpState, ...] = ()
    kernel: tuple[TcpState, ...] = ()

    @property
    def explained(self) -> bool:
        return self.kind != "unexplained"

    def __str__(self) -> str:
        mark = "explained" if self.explained else "UNEXPLAINED"
        return f"[{mark}: {self.kind}] {self.actor}: {self.text}"


def fmt_path(path: Iterable[TcpState]) -> str:
    """``CLOSED -> SYN-SENT -> ESTABLISHED`` (``-`` for an empty path)."""
    return " -> ".join(s.rfc for s in path) or "-"


def dedup(path: Iterable[TcpState]) -> list[TcpState]:
    """The states in order with repeats collapsed (``A A B A`` -> ``A B A``)."""
    out: list[TcpState] = []
    for s in path:
        if not out or out[-1] is not s:
            out.append(s)
    return out


def compare(run: "LiveRun") -> list[Difference]:
    """Every difference between the kernel's and the model's run, and every Linux fact worth
    knowing, side by side: ``run.names[0]``'s first."""
    diffs: list[Difference] = []
    for actor in run.names:
        diffs += _compare_actor(run, actor)
    return diffs

def fin_wait_2_timer(run: "LiveRun", actor: str) -> float | None:
    """The timer an orphaned FIN-WAIT-2 mini-socket started with (seconds), if any."""
    for t, s, ks in run.kernel_states(actor):
        if s is S.FIN_WAIT_2 and ks is not None and ks.kind == "timewait" and ks.timer:
            return ks.expires
    return None

def _compare_actor(run: "LiveRun", actor: str) -> list[Difference]:
    out: list[Difference] = []
    K = run.sequence(actor, "kernel")
    M = run.sequence(actor, "model")
    final = run.final.get(actor)
    if run.mode == "loopback":
        # States the model passes through but the kernel holds only for microseconds.
        missed = [s for s in M if s in TRANSIENT_STATES and s not in K]
        for state in dedup(missed):
            out.append(Difference(actor, "transient",
                                  f"{state} not seen on the kernel: on loopback it lasts "
                                  "microseconds (the model passes through it).", (state,)))
        M = dedup([s for s in M if s not in missed])
    fw2 = fin_wait_2_timer(run, actor)
    floor = fw2 is not None and fw2 > run.fin_timeout + 0.25
    if floor:
        out.append(Difference(actor, "fin-timeout-floor",
                              f"the orphaned FIN-WAIT-2 timer started at {fw2:.2f} s, not "
                              f"tcp_fin_timeout = {run.fin_timeout:g} s: Linux waits at "
                              "least 3.5 retransmission timeouts (tcp_fin_time()). The "
                              "model's timer uses tcp_fin_timeout alone, so from here on "
                              "they differ.", (), (S.FIN_WAIT_2,)))
    ops = align(M, K)
    path_diffs: list[Difference] = []
    for i, (op, state) in enumerate(ops):
        if op == "=":
            continue
        prev_k = next((s for o, s in reversed(ops[:i]) if o in "=k"), None)
        next_k = next((s for o, s in ops[i + 1:] if o in "=k"), None)
        seen = f"(kernel: {fmt_path(K)}; model: {fmt_path(M)})"
        if floor and (state in (S.CLOSED, S.TIME_WAIT)):
            continue                      # explained by fin-timeout-floor above
        if op == "m":          # the model passed through it, the kernel was not seen in it
            if run.mode == "loopback" and state in TRANSIENT_STATES:
                # Caught once on the kernel, missed another time (a second connect()).
                out.append(Difference(actor, "transient",
                                      f"{state} not seen on the kernel this time: on loopback "
                                      "it lasts microseconds (the model passes through it).",
                                      (state,)))
            elif state is S.FIN_WAIT_2 and prev_k is S.FIN_WAIT_1 and next_k is S.TIME_WAIT:
                path_diffs.append(Difference(
                    actor, "fin-ack-together",
                    "FIN-WAIT-1 -> TIME-WAIT directly: the peer's FIN carried the ACK of "
                    "ours" + _fin_ack_evidence(run, actor) + "; the model passes through "
                    "FIN-WAIT-2.", (S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT),
                    (S.FIN_WAIT_1, S.TIME_WAIT)))
            elif state is S.CLOSED and i == len(ops) - 1 and final is not None \
                    and final.timer:
                path_diffs.append(Difference(
                    actor, "timer-pending", f"the model's timer has run out (CLOSED); the "
                    f"kernel is still in {final.what()}.", (state,),
                    (final.state,) if final.state else ()))
            elif state is S.CLOSED and i == len(ops) - 1 and final is not None and \
                    final.state is S.FIN_WAIT_2 and final.kind == "full" and \
                    not final.timer and run.closed_how.get(actor) == "shutdown":
                path_diffs.append(Difference(
                    actor, "fin-timeout-orphans-only", "the model's FIN-WAIT-2 timer ran "
                    "out (CLOSED); the kernel stays in FIN-WAIT-2 with no timer, because "
                    "the application still holds the socket after shutdown(SHUT_WR).",
                    (state,), (S.FIN_WAIT_2,)))
            else:
                path_diffs.append(Difference(
                    actor, "unexplained", f"the model passes through {state}, the kernel "
                    f"was never seen in it {seen}.", (state,), ()))
        else:                  # seen on the kernel, not in the model
            if state is S.FIN_WAIT_2 and i == len(ops) - 1 and \
                    run.closed_how.get(actor) == "shutdown" and final is not None and \
                    final.kind == "full" and not final.timer:
                path_diffs.append(Difference(
                    actor, "fin-timeout-orphans-only", "the kernel stays in FIN-WAIT-2 (no "
                    "timer: the application still holds the socket after "
                    "shutdown(SHUT_WR)); the model timed it out.", (), (state,)))
            elif state is S.CLOSED and prev_k is S.TIME_WAIT and next_k is S.SYN_RECEIVED:
                path_diffs.append(Difference(
                    actor, "time-wait-reuse",
                    "TIME-WAIT -> (gone) -> SYN-RECEIVED: the new SYN ended the TIME-WAIT "
                    "socket and the listener made a new request sock for it, so the "
                    "four-tuple was briefly absent; the model reopens its TCB in place "
                    "(RFC 9293 §3.6.1 MAY-2).", (S.TIME_WAIT, S.SYN_RECEIVED),
                    (S.TIME_WAIT, S.CLOSED, S.SYN_RECEIVED)))
            else:
                path_diffs.append(Difference(
                    actor, "unexplained", f"the kernel was seen in {state}, the model never "
                    f"is {seen}.", (), (state,)))
    out += path_diffs
    out += _row_differences(run, actor)
    # Same path, but not at the same time: compare the state at the end of each line.
    if not path_diffs and not floor:
        for r in run.results:
            k, m = r.kernel[actor], r.model[actor]
            if k is not m and r.comparable and \
                    not (run.mode == "loopback" and k in TRANSIENT_STATES):
                out.append(Difference(actor, "unexplained",
                                      f"after '{r.line.text}' the kernel is in {k}, the "
                                      f"model in {m}.", (m,), (k,)))
    # Errors and data, as the application sees them.
    kerr = [e for e in run.kernel_errors[actor] if e in (*MODEL_ERRORS.values(), "EPIPE")]
    merr = run.model_errors[actor]
    if "EPIPE" in kerr and "ECONNRESET" in merr and S.CLOSE_WAIT in K:
        out.append(Difference(actor, "epipe-after-reset",
                              "the RST reached this side in CLOSE-WAIT: Linux's next call "
                              "failed with EPIPE, the model says \"connection reset\" "
                              "(ECONNRESET).", (), ()))
        kerr = ["ECONNRESET" if e == "EPIPE" else e for e in kerr]
    if sorted(set(kerr)) != sorted(set(merr)):
        out.append(Difference(actor, "unexplained",
                              f"the application got errors {kerr or 'none'} on the kernel, "
                              f"{merr or 'none'} in the model."))
    if run.kernel_received[actor] != run.model_received[actor]:
        out.append(Difference(actor, "unexplained",
                              f"received {run.kernel_received[actor]!r} on the kernel, "
                              f"{run.model_received[actor]!r} in the model."))
    out += _linux_notes(run, actor)
    return out

def _final_rows(run: "LiveRun", source: str, actor: str) -> tuple:
    results = getattr(run, "results", None)
    if not results or not getattr(results[-1], "model_rows", None):
        return ()
    return (results[-1].kernel_rows if source == "kernel" else
            results[-1].model_rows).get(actor, ())


def _model_listener(run: "LiveRun", actor: str) -> "SocketRow | None":
    """The listener row of ``actor`` in the model's socket view at the end, if any."""
    return next((r for r in _final_rows(run, "model", actor) if r.state is S.LISTEN), None)


def _row_differences(run: "LiveRun", actor: str) -> list[Difference]:
    """The rows ``ss -tan`` shows at the end against the model's socket view: the listener
    (there or not; its accept queue and backlog) and the connection's queues (when both
    are in the same state: a state that differs is told by the sequences)."""
    kernel = _final_rows(run, "kernel", actor)
    model = _final_rows(run, "model", actor)
    if not kernel and not model:
        return []
    out = []
    k_lst = next((r for r in kernel if r.state is S.LISTEN), None)
    m_lst = next((r for r in model if r.state is S.LISTEN), None)
    if (k_lst is None) != (m_lst is None):
        out.append(Difference(actor, "unexplained",
                              "at the end the kernel " + ("has" if k_lst else "has no")
                              + " listening socket, the model's socket view "
                              + ("has one" if m_lst else "has none") + ".",
                              (S.LISTEN,) if m_lst else (), (S.LISTEN,) if k_lst else ()))
    elif k_lst is not None and m_lst is not None and (
            k_lst.rx_queue != m_lst.rx_queue or
            # /proc/net/tcp shows no backlog (its tx_queue is 0 for a listener); ss does
            k_lst.source != "/proc/net/tcp" and k_lst.tx_queue != m_lst.tx_queue):
        out.append(Difference(actor, "unexplained",
                              f"the listener's ss row is LISTEN {k_lst.rx_queue}/"
                              f"{k_lst.tx_queue} (accept queue/backlog) on the kernel, "
                              f"LISTEN {m_lst.rx_queue}/{m_lst.tx_queue} in the model's "
                              "socket view.", (S.LISTEN,), (S.LISTEN,)))
    k_conn = next((r for r in kernel if r.state is not S.LISTEN), None)
    port = k_conn.remote[1] if k_conn is not None else None
    m_conn = next((r for r in model if r.state is not S.LISTEN and r.remote[1] == port),
                  None)
    if k_conn is not None and m_conn is not None and k_conn.state is m_conn.state and \
            (k_conn.rx_queue, k_conn.tx_queue) != (m_conn.rx_queue, m_conn.tx_queue):
        out.append(Difference(actor, "unexplained",
                              f"the connection's ss row is {k_conn.state.ss} "
                              f"{k_conn.rx_queue}/{k_conn.tx_queue} (Recv-Q/Send-Q) on the "
                              f"kernel, {m_conn.rx_queue}/{m_conn.tx_queue} in the model's "
                              "socket view.", (m_conn.state,), (k_conn.state,)))
    return out


def _fin_ack_evidence(run: "LiveRun", actor: str) -> str:
    peer = run.model.peer(actor)
    for w in run.segments:
        if w.src == peer and w.segment.fin:
            mine = [x for x in run.segments if x.src == actor and x.segment.fin]
            if mine and w.segment.has_ack and \
                    w.segment.ack == (mine[0].segment.seq + mine[0].segment.len) % 2 ** 32:
                return (f" (on the wire: {peer}'s FIN {w.segment.tcpdump()} acknowledges "
                        f"{actor}'s FIN {mine[0].segment.tcpdump()})")
    return " (delayed ACK)"

def _linux_notes(run: "LiveRun", actor: str) -> list[Difference]:
    out = []
    ch = run.kernel_states(actor)
    kinds = {(s, ks.kind) for _, s, ks in ch if ks is not None}
    if run.listened.get(actor) and any(s is not S.LISTEN for _, s, _ in ch):
        lst = run.listener_final.get(actor)
        seen_req = (S.SYN_RECEIVED, "request") in kinds
        mine = _model_listener(run, actor)
        out.append(Difference(actor, "listener",
                              "the listening socket stayed in LISTEN"
                              + (" (it still is)" if lst is not None else "")
                              + "; the connection was a separate socket"
                              + (": a request sock in SYN-RECV was seen, then the full "
                                 "socket" if seen_req else " (its request sock lived too "
                                 "briefly to be seen)")
                              + ("; the model's socket view shows the listener beside it "
                                 f"too (LISTEN {mine.rx_queue}/{mine.tx_queue})"
                                 if mine is not None and lst is not None else "") + "."))
    if (S.TIME_WAIT, "timewait") in kinds:
        final = run.final.get(actor)
        left = (f"; {final.expires:.1f} s of it are left at the end of the run"
                if final is not None and final.state is S.TIME_WAIT else "")
        out.append(Difference(actor, "time-wait",
                              "TIME-WAIT is a mini-socket with a fixed 60 s timer (the model "
                              "with Config.linux() uses 60 s too; RFC 9293 says 2*MSL)"
                              + left + "."))
    last = run.final.get(actor)
    if (S.FIN_WAIT_2, "timewait") in kinds or (
            last is not None and last.state is S.FIN_WAIT_2 and last.kind == "timewait"):
        out.append(Difference(actor, "orphan-fin-wait-2",
                              f"after close() the FIN-WAIT-2 socket became a mini-socket "
                              f"with a tcp_fin_timeout timer ({run.fin_timeout:g} s)."))
    peer = run.model.peer(actor)
    fins = [w for w in run.segments if w.src == peer and w.segment.fin]
    rsts = [w for w in run.segments if w.src == actor and w.segment.rst]
    if fins and rsts and any(r.sent >= fins[-1].arrived - 0.01 for r in rsts) and \
            any(s is S.FIN_WAIT_2 for _, s, _ in ch):
        out.append(Difference(actor, "rst-after-timeout",
                              f"{peer}'s FIN arrived after {actor}'s FIN-WAIT-2 had timed "
                              "out: the kernel answered RST."))
    return out


#: A segment as the wire comparison sees it: sender, control bits and data length.
WireKey = tuple[str, Flags, int]


def wire_key(src: str, seg: Segment) -> WireKey:
    """What two segments must share to count as the same in :func:`tcplab.live.reports.wire`:
    the sender, the control bits and the data length.  Not the sequence numbers: kernel and
    model choose different ISNs."""
    return src, seg.flags, len(seg.data)


def wire_label(key: WireKey) -> str:
    """``" client S."`` or ``" server P. 5 bytes"``: tcpdump's flag letters.

    >>> wire_label(("client", Flags.SYN | Flags.ACK, 0)), wire_label(("server", Flags.ACK, 5))
    (' client S.', ' server . 5 bytes')
    """
    src, flags, length = key
    return f"{src:>7} {flags.tcpdump()}" + (f" {length} bytes" if length else "")


def lcs(kernel: Sequence[T], model: Sequence[T]) -> list[tuple[str, T | None, T | None]]:
    """Align two lists by their longest common subsequence: ``("=", k, m)`` for items in
    both, ``("k", k, None)`` kernel only, ``("m", None, m)`` model only."""
    n, m = len(kernel), len(model)
    L = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            L[i][j] = L[i + 1][j + 1] + 1 if kernel[i] == model[j] else max(L[i + 1][j],
                                                                             L[i][j + 1])
    ops: list[tuple[str, T | None, T | None]] = []
    i = j = 0
    while i < n and j < m:
        if kernel[i] == model[j]:
            ops.append(("=", kernel[i], model[j]))
            i += 1
            j += 1
        elif L[i + 1][j] >= L[i][j + 1]:
            ops.append(("k", kernel[i], None))
            i += 1
        else:
            ops.append(("m", None, model[j]))
            j += 1
    ops += [("k", x, None) for x in kernel[i:]] + [("m", None, x) for x in model[j:]]
    return ops


def segment_note(op: str, ops: "list[tuple[str, WireKey | None, WireKey | None]]",
                 i: int) -> str:
    """Why the ``i``-th aligned segment of ``ops`` (from :func:`lcs` over
    :func:`wire_key` values) is only on the kernel (``op`` ``"k"``) or only in the model
    (``"m"``); ``""`` when nothing is known."""
    key = ops[i][1] if op == "k" else ops[i][2]
    flags = key[1] if key is not None else Flags.NONE
    if flags == Flags.RST | Flags.ACK and op == "k":
        return ("Linux's RST carries the ACK flag (tcp_send_active_reset() sends RST,ACK); "
                "RFC 9293 §3.10.5 and the model send <SEQ=SND.NXT><CTL=RST>. Either is accepted.")
    if flags == Flags.RST and op == "m":
        return ""
    before = [x for o, x, _ in ops[:i] if o in "=k" and x]
    if flags == Flags.ACK and op == "k" and before and \
            before[-1][1] == Flags.SYN | Flags.ACK:
        return ("In a simultaneous open Linux answers the peer's SYN,ACK with an ACK: the SYN "
                "in it is a sequence number already received, so the kernel acknowledges the "
                "duplicate -- and still moves to ESTABLISHED. RFC 9293 figure 7 and the model "
                "exchange four segments, not six.")
    if flags == Flags.ACK and op == "m":
        return ("The model acknowledges at once; Linux delayed this ACK (delayed ACK) and let a "
                "later segment of its own carry it.")
    return ""


def align(model: list[TcpState], kernel: list[TcpState]) -> list[tuple[str, TcpState]]:
    """Align two state sequences (longest common subsequence).

    Returns ``("=", s)`` for a state in both, ``("m", s)`` model only, ``("k", s)`` kernel only.
    """
    n, m = len(model), len(kernel)
    L = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            L[i][j] = L[i + 1][j + 1] + 1 if model[i] is kernel[j] else max(L[i + 1][j],
                                                                             L[i][j + 1])
    ops, i, j = [], 0, 0
    while i < n and j < m:
        if model[i] is kernel[j]:
            ops.append(("=", model[i]))
            i += 1
            j += 1
        elif L[i + 1][j] >= L[i][j + 1]:
            ops.append(("m", model[i]))
            i += 1
        else:
            ops.append(("k", kernel[j]))
            j += 1
    ops += [("m", s) for s in model[i:]] + [("k", s) for s in kernel[j:]]
    return ops

