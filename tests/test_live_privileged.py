"""The privileged live lab: two network namespaces, a veth pair and a delay line (root only).

With every segment delayed, all eleven states become observable, and simultaneous open and
simultaneous close really happen.  For each scenario the kernel's full state sequence --
transient states included -- must equal the model's, up to the documented Linux differences.
Then: nothing may be left behind (namespaces, iptables rules, processes, sockets), whatever
way the lab ends -- normally, by an exception, by Ctrl-C, by SIGTERM, even by SIGKILL (with
the next lab's sweep).

CI runs the suite as root, so these run there; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from helpers import socket_fds

from tcplab import TcpState
from tcplab.live import netns, runner
from tcplab.live.namespace_lab import NamespaceLab
from tcplab.live.scripts import LIVE_SCENARIOS

S = TcpState
ROOT = Path(__file__).resolve().parents[1]


def _problem() -> str | None:
    problem = netns.privilege_problem()
    if problem:
        return problem
    # Root, with the tools: can we make a namespace at all (not in a locked-down container)?
    probe = subprocess.run(["ip", "netns", "add", f"{netns.NS_PREFIX}{os.getpid()}-probe"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        if "Operation not permitted" in probe.stderr or "Permission denied" in probe.stderr:
            return f"cannot create network namespaces here: {probe.stderr.strip()}"
        return None                 # some other failure: let the tests show it
    subprocess.run(["ip", "netns", "del", f"{netns.NS_PREFIX}{os.getpid()}-probe"])
    return None


PROBLEM = _problem()
pytestmark = [pytest.mark.live, pytest.mark.privileged,
              pytest.mark.skipif(PROBLEM is not None, reason=f"privileged live lab: {PROBLEM}")]

#: The kernel's exact sequence for each actor, transient states included.
EXPECTED = {
    "handshake": {"client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED],
                  "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED]},
    "teardown-client-first": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK,
                   S.CLOSED]},
    "teardown-server-first": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2,
                   S.TIME_WAIT]},
    "half-close": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK,
                   S.CLOSED]},
    "refused": {"client": [S.CLOSED, S.SYN_SENT, S.CLOSED], "server": [S.CLOSED]},
    "abort": {"client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.CLOSED],
              "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSED]},
    "close-wait-leak": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT]},
    "time-wait": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK,
                   S.CLOSED]},
    "simultaneous-open": {
        "client": [S.CLOSED, S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED],
        "server": [S.CLOSED, S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED]},
    "simultaneous-close": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.CLOSING, S.TIME_WAIT],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.CLOSING,
                   S.TIME_WAIT]},
    "fin-wait-2-timeout": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSED],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK,
                   S.CLOSED]},
    "close-unread": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.CLOSED],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSED]},
    "data-after-close": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSED],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.CLOSED]},
    "shutdown-then-close": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT]},
    "time-wait-reuse": {
        "client": [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED,
                   S.SYN_SENT, S.ESTABLISHED],
        "server": [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1,
                   S.FIN_WAIT_2, S.TIME_WAIT, S.SYN_RECEIVED, S.ESTABLISHED]},
}


def my_namespaces() -> list[str]:
    return [n for n in netns.list_lab_namespaces()
            if n.startswith(f"{netns.NS_PREFIX}{os.getpid()}-")]


def my_locks() -> list[str]:
    """The owner locks of this process's namespaces (none may outlive its namespace)."""
    try:
        names = os.listdir(netns.LOCK_DIR)
    except FileNotFoundError:
        return []
    return [n for n in names if n.startswith(f"{netns.NS_PREFIX}{os.getpid()}-")]


def root_rules() -> str:
    """The host's own iptables rules that carry the lab's comment (there must be none)."""
    out = []
    for prog in ("iptables", "iptables-legacy"):
        try:
            p = subprocess.run([prog, "-w", "5", "-S"], capture_output=True, text=True,
                               timeout=10)
        except FileNotFoundError:
            continue
        out += [ln for ln in p.stdout.splitlines() if netns.RULE_COMMENT in ln]
    return "\n".join(out)


def children() -> list[int]:
    me = str(os.getpid())
    kids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                kids.append(int(pid))
    return kids


@pytest.fixture
def no_leftovers():
    """Snapshot before, and after the test: no namespace, rule, child or socket left."""
    rules_before = root_rules()
    fds_before = socket_fds()
    yield
    assert my_namespaces() == []
    assert my_locks() == []
    assert root_rules() == rules_before
    assert children() == []
    assert socket_fds() <= fds_before
    assert not [t for t in threading.enumerate() if t.name.startswith("tcplab-")]


# ---------------------------------------------------------------------- the scenarios

@pytest.mark.parametrize("name", list(EXPECTED))
def test_scenario_in_namespaces_matches_the_model(name, no_leftovers):
    t0 = time.monotonic()
    r = runner.run(name, privileged=True)
    assert time.monotonic() - t0 < 20
    assert r.mode == "namespaces"
    assert r.agrees, r.table() + "\n" + r.timeline_text()
    for actor in ("client", "server"):
        # Every state, transient ones included: the kernel's sequence is the model's.
        assert r.sequence(actor, "kernel") == EXPECTED[name][actor], r.timeline_text()
        assert r.sequence(actor, "model") == EXPECTED[name][actor], r.table()
    assert not [d for d in r.differences if d.kind in ("transient", "unexplained")]
    assert r.segments, "the delay line saw no segment"


def test_handshake_states_last_as_long_as_the_delay(no_leftovers):
    r = runner.run("handshake", privileged=True, delay=0.2)
    d = dict(r.durations("client"))
    assert 0.35 < d[S.SYN_SENT] < 0.6          # one round trip: 2 x 0.2 s
    # The server's SYN-RECEIVED is a request sock that lives one round trip too (SYN,ACK out,
    # ACK back), while the listener stays in LISTEN.
    req = [ks for t, s, ks in r.kernel_states("server") if s is S.SYN_RECEIVED]
    assert req and req[0].kind == "request"
    assert 0.35 < dict(r.durations("server"))[S.SYN_RECEIVED] < 0.6
    assert r.listener_final["server"].state is S.LISTEN
    assert any(d.kind == "listener" and "request sock" in d.text for d in r.differences)
    assert [w.segment.flags.tcpdump() for w in r.segments] == ["S", "S.", "."]
    assert [w.src for w in r.segments] == ["client", "server", "client"]


def test_simultaneous_open_crosses_two_bare_syns(no_leftovers):
    r = runner.run("simultaneous-open", privileged=True)
    flags = [(w.src, w.segment.flags.tcpdump()) for w in r.segments]
    assert flags[:2] in ([("client", "S"), ("server", "S")], [("server", "S"), ("client", "S")])
    assert sorted(flags[2:4]) == [("client", "S."), ("server", "S.")]
    # SYN-RECEIVED is a full socket here (not a request sock): nobody listens.
    for actor in r.names:
        ks = [k for t, s, k in r.kernel_states(actor) if s is S.SYN_RECEIVED][0]
        assert ks.kind == "full"


def test_segments_kernel_next_to_model(no_leftovers):
    r = runner.run("teardown-client-first", privileged=True)
    wire = r.wire()
    assert "\n  + " not in wire and "\n  - " not in wire, wire       # the very same segments
    r = runner.run("simultaneous-open", privileged=True)
    wire = r.wire()
    # Linux: four segments as in RFC 9293 figure 7, plus an ACK of each (duplicate) SYN,ACK.
    assert wire.count("\n  + ") == 2 and "\n  - " not in wire, wire
    assert "figure 7" in wire
    r = runner.run("abort", privileged=True)
    assert "RST,ACK" in r.wire()


def test_simultaneous_close_crosses_two_fins(no_leftovers):
    r = runner.run("simultaneous-close", privileged=True)
    fins = [w for w in r.segments if w.segment.fin]
    assert len(fins) == 2 and {w.src for w in fins} == {"client", "server"}
    # Both FINs left before either arrived: they crossed on the wire.
    assert max(w.sent for w in fins) < min(w.arrived for w in fins)
    for actor in r.names:
        assert r.final[actor].state is S.TIME_WAIT and r.final[actor].kind == "timewait"


def test_orphaned_fin_wait_2_times_out_then_rst(no_leftovers):
    r = runner.run("fin-wait-2-timeout", privileged=True)
    assert r.fin_timeout == 1
    assert any(d.kind == "rst-after-timeout" for d in r.differences), r.timeline_text()
    rst = [w for w in r.segments if w.src == "client" and w.segment.rst]
    fin = [w for w in r.segments if w.src == "server" and w.segment.fin]
    assert rst and fin and rst[0].sent >= fin[0].arrived - 0.01


def test_fin_wait_2_timer_is_at_least_three_and_a_half_rto(no_leftovers):
    """tcp_fin_timeout = 1 s, but with a 0.25 s one-way delay the RTO is about 1.5 s and
    Linux's orphaned FIN-WAIT-2 timer starts at 3.5 x RTO (tcp_fin_time())."""
    script = ["server listen", "client connect", "settle", "client close", "settle"]
    with NamespaceLab(delay=0.25, fin_timeout=1) as lab:
        r = runner.run(script, lab)
    timer = r._fin_wait_2_timer("client")
    assert timer is not None and timer > 3.0, r.timeline_text()


def test_fin_carrying_the_ack_skips_fin_wait_2(no_leftovers):
    """The peer's ACK of our FIN is delayed; its FIN carries it: FIN-WAIT-1 -> TIME-WAIT."""
    for _ in range(3):
        r = runner.run("fin-ack-together", privileged=True)
        assert r.agrees, r.table()
        if S.FIN_WAIT_2 not in r.sequence("client"):
            break
    assert r.sequence("client")[-2:] == [S.FIN_WAIT_1, S.TIME_WAIT], r.timeline_text()
    assert any(d.kind == "fin-ack-together" and "on the wire" in d.text for d in r.differences)


# ---------------------------------------------------------------------- close() and the timers

def _flags(r, src=None):
    return [(w.src, w.segment.flags.tcpdump()) for w in r.segments
            if src is None or w.src == src]


def test_close_with_unread_data_sends_rst_ack_on_the_wire(no_leftovers):
    """The server's close() with 5 bytes unread: <SEQ=its SND.NXT><ACK=the client's
    RCV.NXT+5><CTL=RST,ACK> on the real wire and in the model; the client's recv() fails."""
    r = runner.run("close-unread", privileged=True, delay=0.1)
    assert r.agrees, r.table()
    assert _flags(r, "server") == [("server", "S."), ("server", "."), ("server", "R.")]
    syn_ack, rst = r.segments[1].segment, r.segments[-1].segment
    syn = r.segments[0].segment
    assert rst.seq == (syn_ack.seq + 1) % 2 ** 32
    assert rst.ack == (syn.seq + 1 + len(b"GET /")) % 2 ** 32
    [(_, _, model_rst)] = [x for x in r.model_segments() if x[2].rst]
    assert model_rst.flags == rst.flags
    assert "\n  + " not in r.wire() and "\n  - " not in r.wire(), r.wire()
    assert r.results[-2].result == "ECONNRESET"
    assert r.kernel_errors["client"] == r.model_errors["client"] == ["ECONNRESET"]


def test_data_after_close_gets_rst_and_the_sender_epipe(no_leftovers):
    r = runner.run("data-after-close", privileged=True, delay=0.1)
    assert r.agrees, r.table()
    data = [w for w in r.segments if w.src == "server" and w.segment.data]
    rst = [w for w in r.segments if w.src == "client" and w.segment.rst]
    assert [w.segment.data for w in data] == [b"late"]
    assert len(rst) == 1 and rst[0].sent >= data[0].arrived - 0.01      # the answer to it
    again = [x for x in r.results if x.line.text == "server send again"][0]
    assert again.result == "EPIPE"
    assert any(d.kind == "epipe-after-reset" for d in r.differences)


def test_shutdown_then_close_sends_nothing_and_the_orphan_has_its_timer(no_leftovers):
    with NamespaceLab(delay=0.1) as lab:
        r = runner.run("shutdown-then-close", lab)
        fin_timeout = lab.fin_timeout("client")
    assert r.agrees, r.table()
    client = _flags(r, "client")
    assert [f for _, f in client].count("F.") == 1 and client[-1] == ("client", "F.")
    close = next(x for x in r.results if x.line.text == "client close")
    assert not [w for w in r.segments if w.sent >= close.t_start and w.src == "client"]
    fw2 = r.final["client"]
    assert fw2.kind == "timewait" and fw2.timer == 3
    assert fin_timeout - 2 < fw2.expires <= fin_timeout
    assert [ln for ln in r.proc_lines if " 05 " in ln and " 03:" in ln], r.proc_lines


def test_time_wait_reuse_on_the_wire(no_leftovers):
    """The new SYN reaches the server's TIME-WAIT and is answered with SYN,ACK (not an ACK of
    the old connection, not RST): tcp_timewait_state_process's TCP_TW_SYN."""
    r = runner.run("time-wait-reuse", privileged=True, delay=0.1)
    assert r.agrees, r.table()
    syns = [w for w in r.segments if w.segment.syn]
    assert [(w.src, w.segment.flags.tcpdump()) for w in syns] == [
        ("client", "S"), ("server", "S."), ("client", "S"), ("server", "S.")]
    assert not [w for w in r.segments if w.segment.rst]
    tw = [ks for _, s, ks in r.kernel_states("server") if s is S.TIME_WAIT]
    assert tw and tw[0].kind == "timewait"


def test_rto_against_tcpi_rto_with_a_delay(no_leftovers):
    """One-way delay 0.25 s: after the handshake Linux's RTO is 3 RTT = 1.5 s, as the model's
    (up to a jiffy and the delay line's own time); after two exchanges the kernel reports
    the model's RTTVAR but keeps a larger RTO (rttvar_us falls once per round trip)."""
    from tcplab.live import compare_rto, rto
    r = compare_rto(privileged=True, delay=0.25, exchanges=2)
    assert r.mode == "namespaces" and r.agrees, str(r)
    first = [x for x in r.rows if x.moment == "after the handshake"]
    later = [x for x in r.rows if x.moment == "after 2 exchanges"]
    assert len(first) == len(later) == 2
    for row in first:
        assert row.model_rto == pytest.approx(1.5)
        assert row.kind in ("", "rto-granularity")
        # One measurement R (2 x 0.25 s, and the delay line's own few ms): RTO = 3R, rounded
        # up to a jiffy -- on the kernel as in the model.
        assert 0.5 <= row.kernel.rtt < 0.75, str(r)        # a busy machine slows the delay line
        assert 0 <= row.kernel.rto - 3 * row.kernel.rtt <= rto.JIFFY_MAX + 1e-6, str(r)
        assert row.kernel.rttvar == pytest.approx(row.kernel.rtt / 2, rel=0.02)
    for row in later:
        assert row.kind == "rto-variance", str(r)
        assert row.kernel.rttvar == pytest.approx(row.model_rttvar, abs=0.03)     # RFC 6298
        assert row.kernel.rto > row.model_rto + 0.1


@pytest.mark.slow
def test_synack_retries_of_a_half_open_connection(no_leftovers):
    """The client's ACKs filtered: Linux sends 6 SYN,ACKs (tcp_synack_retries = 5) at about
    0, 1, 3, 7, 15, 31 s, drops the request sock after about 63 s, the listener stays in
    LISTEN and accept() never returns it -- as the model with Config.linux().  ~65 s."""
    from tcplab.live import synack_retries
    r = synack_retries(delay=0.05)
    assert r.agrees, str(r)
    assert r.model_synacks == pytest.approx((0, 1, 3, 7, 15, 31))
    assert r.model_dropped == pytest.approx(63)
    assert len(r.kernel_synacks) == 6
    for k, m in zip(r.kernel_synacks, r.model_synacks):
        assert m - 0.05 <= k <= m * 1.125 + 0.05
    assert 62.9 <= r.kernel_dropped <= 63 * 1.125 + 0.5
    assert r.kernel_listener is r.model_listener is S.LISTEN
    assert not r.kernel_accepted and r.model_errors == ()
    assert {d.kind for d in r.differences} <= {"timer-slack"}


def test_the_delay_line_delays(no_leftovers):
    with NamespaceLab(delay=0.15) as lab:
        rtt = lab.probe()
        assert lab.iptables in ("iptables", "iptables-legacy")
    assert 0.28 < rtt < 0.6


# ---------------------------------------------------------------------- cleanup

def test_exception_inside_the_lab_cleans_up(no_leftovers):
    with pytest.raises(RuntimeError, match="boom"):
        with NamespaceLab(delay=0.1) as lab:
            assert len(my_namespaces()) == 2
            lab.socket("client")
            raise RuntimeError("boom")


def test_ctrl_c_during_a_run_cleans_up(no_leftovers):
    timer = threading.Timer(0.8, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run(["server listen", "client connect", "settle", "wait 5"],
                       privileged=True, delay=0.1)
    finally:
        timer.cancel()


def test_unsupported_line_fails_before_anything_is_built(no_leftovers):
    with pytest.raises(runner.LiveUnsupported):
        runner.run(["server listen", "client connect", "drop client SYN"], privileged=True)


HOLDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from tcplab.live.namespace_lab import NamespaceLab
    lab = NamespaceLab(delay=0.1)
    print(" ".join(h.ns.name for h in lab.hosts.values()), flush=True)
    time.sleep(60)
""")


def _holder() -> tuple[subprocess.Popen, list[str]]:
    p = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT))],
                         stdout=subprocess.PIPE, text=True)
    names = p.stdout.readline().split()
    assert len(names) == 2, "the helper process could not open a lab"
    assert all(n in netns.list_lab_namespaces() for n in names)
    return p, names


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_the_process_cleans_up(sig, no_leftovers):
    p, names = _holder()
    p.send_signal(sig)
    p.wait(timeout=15)
    p.stdout.close()
    assert not set(names) & set(netns.list_lab_namespaces())


def test_sigkill_leftovers_are_swept_by_the_next_lab(no_leftovers):
    p, names = _holder()
    p.kill()
    p.wait(timeout=15)
    p.stdout.close()
    assert set(names) <= set(netns.list_lab_namespaces())      # SIGKILL cannot be caught ...
    with NamespaceLab(delay=0.05):
        pass                                                  # ... the next lab sweeps them
    assert not set(names) & set(netns.list_lab_namespaces())


def _killed_holder() -> list[str]:
    """A child that opened a namespace lab, SIGKILLed: its namespaces stay behind."""
    p, names = _holder()
    p.kill()
    p.wait(timeout=15)
    p.stdout.close()
    assert set(names) <= set(netns.list_lab_namespaces())
    return names


def _gone(names: list[str]) -> bool:
    return not set(names) & set(netns.list_lab_namespaces()) and not any(
        os.path.exists(os.path.join(netns.LOCK_DIR, n + ".lock")) for n in names)


def test_sigkill_leftovers_are_swept_by_the_loopback_lab(no_leftovers):
    names = _killed_holder()
    from tcplab.live import LoopbackLab
    with LoopbackLab() as lab:
        assert set(names) <= set(lab.swept)
    assert _gone(names)


def test_sigkill_leftovers_are_swept_by_live_run(no_leftovers):
    names = _killed_holder()
    r = runner.run("handshake")                           # opens a loopback lab
    assert r.mode == "loopback" and _gone(names)
    from tcplab.live import LoopbackLab
    with LoopbackLab() as lab:                            # opened before the kill ...
        names = _killed_holder()
        runner.run("handshake", lab)                      # ... the run sweeps by itself
        assert _gone(names)


def test_a_killed_but_unreaped_process_counts_as_dead(no_leftovers):
    """A zombie holds no namespace: its lock is gone even before its parent reaps it."""
    p, names = _holder()
    p.kill()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{p.pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    try:
        # The kernel drops the lock when the last thread of the killed process has let its
        # files go: a few milliseconds after the leader shows 'Z', before any reaping.
        # (Swept here, or by another lab's sweep meanwhile: every lab sweeps.)
        deadline = time.monotonic() + 5
        while not _gone(names) and time.monotonic() < deadline:
            netns.cleanup_stale()
            time.sleep(0.02)
        assert _gone(names), "a killed (unreaped) process's namespaces were kept"
    finally:
        p.wait(timeout=15)
        p.stdout.close()


def test_the_sweep_never_touches_a_live_labs_namespaces(no_leftovers):
    p, names = _holder()                 # alive, in another process
    try:
        with NamespaceLab(delay=0.05) as lab:               # and one of our own
            mine = [h.ns.name for h in lab.hosts.values()]
            assert not set(names + mine) & set(netns.cleanup_stale())
            runner.run("handshake")                         # sweeps, and must spare them
            assert set(names + mine) <= set(netns.list_lab_namespaces())
            assert lab.probe() > 0                          # and ours still works
    finally:
        p.terminate()
        p.wait(timeout=15)
        p.stdout.close()
    assert _gone(names)


def test_a_namespace_without_a_lock_file_is_judged_by_its_pid(no_leftovers):
    """Made by hand or by an older tcplab: removed only if no process has the pid in its name."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"{netns.NS_PREFIX}{dead.pid}-1-legacy"
    alive = f"{netns.NS_PREFIX}{os.getpid()}-999-legacy"
    for name in (stale, alive):
        subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        removed = netns.cleanup_stale()
        assert stale in removed and alive not in removed
        assert alive in netns.list_lab_namespaces()
    finally:
        for name in (stale, alive):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_namespace_traffic_stays_inside():
    """The lab's addresses are not reachable from the host: the veth pair has no end here."""
    with NamespaceLab(delay=0.05) as lab:
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert not any(dev in links for dev in lab.devices.values())
        routes = subprocess.run(["ip", "route", "get", lab.hosts["server"].ip],
                                capture_output=True, text=True).stdout
        assert "veth" not in routes
