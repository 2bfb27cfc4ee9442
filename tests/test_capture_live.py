"""Captures made on this machine: the states inferred from each capture equal the states the
kernel reported while it was made (modulo the documented Linux differences:
:func:`tcplab.capture.record.compare_sequences`).

``tests/data/captures/live/`` holds one capture per live-lab scenario that runs on loopback,
and ``kernel-states.json`` what the kernel's sampler reported during it (made by
``tests/data/captures/make_captures.py``).  With root, the scenarios are also recorded afresh.
Also here: the shipped HTTP captures, the pictures (ladder, trace, state diagram) and the
stepper on a capture, and a 100 MB capture read in bounded memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dpkt")

from tcplab import TcpState as S  # noqa: E402
from tcplab.capture import Capture, CaptureRun, example, read_tcp  # noqa: E402
from tcplab.capture.record import compare_sequences  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "captures"
KERNEL = json.loads((DATA / "live" / "kernel-states.json").read_text())
NS_FILE = DATA / "ns" / "kernel-states.json"
NS_KERNEL = json.loads(NS_FILE.read_text()) if NS_FILE.exists() else {}


@pytest.mark.parametrize("scenario", sorted(KERNEL))
def test_inferred_states_equal_the_kernels_on_loopback(scenario):
    cap = Capture(DATA / "live" / f"{scenario}.pcap")
    assert len(cap) == 1 and cap.stats.tcp == KERNEL[scenario]["frames"]
    inf = cap.infer(1)
    for end in ("client", "server"):
        kernel = [S[name] for name in KERNEL[scenario][end]]
        inferred = inf.sequence(end)
        assert compare_sequences(kernel, inferred), (end, kernel, inferred)


@pytest.mark.parametrize("scenario", sorted(NS_KERNEL))
def test_inferred_states_equal_the_kernels_with_a_delay(scenario):
    """In the namespace lab every state lasts long enough to be sampled (a delay on the
    wire), so the sequences must be equal, transient states included."""
    cap = Capture(DATA / "ns" / f"{scenario}.pcap")
    assert len(cap) == 1 and cap.stats.tcp == NS_KERNEL[scenario]["frames"]
    inf = cap.infer(1)
    for end in ("client", "server"):
        kernel = [S[name] for name in NS_KERNEL[scenario][end]]
        assert inf.sequence(end) == kernel, (end, kernel, inf.sequence(end))
    if inf.point.known:
        delay = NS_KERNEL[scenario]["delay"]
        assert inf.point.latency == pytest.approx(delay, rel=0.1)


def test_the_namespace_captures_cover_the_crossing_cases():
    assert {"simultaneous-open", "simultaneous-close", "fin-wait-2-timeout"} <= set(NS_KERNEL)
    sim = Capture(DATA / "ns" / "simultaneous-open.pcap").conversations[0]
    assert sim.story().startswith("simultaneous open")
    close = Capture(DATA / "ns" / "simultaneous-close.pcap").infer(1)
    assert any(m.startswith("simultaneous close") for p in close.packets for m in p.marks)
    late = Capture(DATA / "ns" / "fin-wait-2-timeout.pcap").infer(1)
    rst = late.packets[-1]
    assert rst.segment.rst and rst.predicted
    assert "FIN-WAIT-2 or TIME-WAIT timed out" in rst.marks[0]
    assert any("orphaned FIN-WAIT-2 ended without a segment" in n for n in late.notes)


def test_the_comparison_can_fail():
    assert not compare_sequences([S.CLOSED, S.ESTABLISHED, S.CLOSE_WAIT],
                                 [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1,
                                  S.FIN_WAIT_2, S.TIME_WAIT])
    assert not compare_sequences([S.CLOSED, S.ESTABLISHED],
                                 [S.CLOSED, S.ESTABLISHED, S.CLOSE_WAIT])
    assert compare_sequences([S.CLOSED, S.ESTABLISHED, S.FIN_WAIT_2],
                             [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2,
                              S.CLOSED])


def test_the_stories_of_the_live_captures():
    story = {name: Capture(DATA / "live" / f"{name}.pcap").conversations[0].story()
             for name in KERNEL}
    assert story["refused"].startswith("refused")
    assert story["teardown-client-first"].endswith("client closes first")
    assert story["teardown-server-first"].endswith("server closes first")
    assert story["abort"].endswith("reset by client")
    # the lab ends a run by aborting what is still open (a RST), as LiveRun documents
    assert story["close-wait-leak"].startswith("handshake, no data, reset by")


@pytest.mark.live
@pytest.mark.skipif(os.geteuid() != 0, reason="a packet socket needs root (CAP_NET_RAW)")
@pytest.mark.parametrize("scenario", ["teardown-server-first", "half-close", "refused"])
def test_record_afresh_and_compare(tmp_path, scenario):
    from tcplab.capture.record import record
    rec = record(scenario, tmp_path / f"{scenario}.pcap")
    assert rec.frames >= 2
    for end, (kernel, inferred, ok) in rec.compare().items():
        assert ok, (end, kernel, inferred)


@pytest.mark.live
@pytest.mark.privileged
def test_record_afresh_in_the_namespaces(tmp_path):
    from tcplab import live
    if not live.capabilities().namespaces:
        pytest.skip("the namespace lab is not available here")
    from tcplab.capture.record import record_namespaces
    rec = record_namespaces("simultaneous-close", tmp_path / "sc.pcap", delay=0.1)
    inf = Capture(rec.path).infer(1)
    for end in ("client", "server"):
        assert inf.sequence(end) == rec.run.sequence(end)
    assert S.CLOSING in inf.sequence("client")


def test_the_shipped_http_reset():
    cap = Capture(example("http-reset"))
    [conv] = cap.conversations
    assert conv.story() == "handshake, 134 B up, 1.9 KB down, reset by server after a reply"
    inf = cap.infer(1)
    rst = inf.packets[-1]
    assert rst.src == "server" and rst.segment.rst
    assert rst.call == "close() with unread data, or abort"
    assert "closed with unread data" in rst.marks[0]
    assert rst.states == {"client": S.CLOSED, "server": S.CLOSED}
    assert inf.packets[-1].error == "connection reset" or "reset" in (rst.error or "")


def test_the_shipped_ipv6_exchange():
    cap = Capture(example("http-ipv6"))
    [conv] = cap.conversations
    assert conv.client[0] == "::1" and conv.story().endswith("client closes first")
    inf = cap.infer(1)
    assert inf.sequence("client")[-1] is S.TIME_WAIT


def test_ladder_trace_and_diagram_of_a_capture(tmp_path):
    inf = Capture(example("http-reset")).infer(1)
    from tcplab.capture import diagram, ladder, save_ladder, trace
    fig = ladder(inf)
    labels = [m.text for m in fig.drawn.segments]
    assert labels[0] == "[S] seq 0" and labels[-1] == "[R.] seq 1922 ack 135"
    assert len(labels) == len(inf.packets)
    run = CaptureRun(inf, relative=False)
    assert run.history[0].call == "listen" and run.history[0].after is S.LISTEN
    assert [s.time for s in run.history] == sorted(s.time for s in run.history)
    text = trace(inf)
    assert "(passive OPEN)" in text and "<CTL=RST,ACK>" in text
    assert text.splitlines()[-1].split()[-1] == "CLOSED"
    png = save_ladder(inf, tmp_path / "l.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    view = diagram(inf)
    assert "current-client" in view.svg and "current-server" in view.svg
    assert 'id="edge-active-open" class="edge transition layer-figure5 path path-client"' \
        in view.svg


def test_the_stepper_steps_through_a_capture():
    pytest.importorskip("ipywidgets")
    from tcplab.ui import stepper
    inf = Capture(DATA / "live" / "teardown-client-first.pcap").infer(1)
    st = stepper(inf.network, prefetch=False)
    assert st.n == len(inf.network.history)
    st.goto(st.n)
    assert dict(st.history[-1].states) == {"client": S.TIME_WAIT, "server": S.CLOSED}


@pytest.mark.slow
def test_a_100_mb_capture_is_read_in_bounded_memory(tmp_path):
    """100 MB of one long transfer plus ~1,800 short conversations, streamed: the reading
    process's peak memory stays far below the file's size."""
    import dpkt
    from tcplab.capture.write import Frame, frame_bytes
    path = tmp_path / "big.pcap"
    size = 100 * 1000 * 1000
    data = Frame(0, "c", "PA", 1, 1, 1400)
    ack = Frame(0, "s", "A", 1, 1)
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f, snaplen=65535, linktype=1)
        seq, t, n = 1, 0.0, 0
        templ = frame_bytes(data)
        ack_b = frame_bytes(ack)
        # TCP sequence field at offset 14 (Ethernet) + 20 (IP) + 4
        while f.tell() < size:
            buf = bytearray(templ)
            buf[38:42] = (seq % 2 ** 32).to_bytes(4, "big")
            w.writepkt(bytes(buf), ts=t)
            if n % 2 == 0:
                w.writepkt(ack_b, ts=t + 1e-5)
            if n % 40 == 0:
                short = Frame(0, "c", "S", 7, 0)
                w.writepkt(frame_bytes(short, client=("10.0.1.1", 20000 + n // 40 % 40000)),
                           ts=t)
            seq += 1400
            t += 1e-4
            n += 1
    assert path.stat().st_size >= size
    # read in a fresh process: its peak resident memory (VmHWM, which -- unlike
    # ru_maxrss -- does not carry the parent's peak across exec) is the whole story
    code = (
        "import sys, time\n"
        "from tcplab.capture import ReadStats, conversations\n"
        "stats = ReadStats(); t0 = time.perf_counter()\n"
        "convs = conversations(sys.argv[1], stats=stats)\n"
        "took = time.perf_counter() - t0\n"
        "big = max(convs, key=lambda c: c.packets)\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(stats.frames, stats.tcp, stats.damaged, len(convs), big.bytes_from[big.client],\n"
        "      took, hwm.split()[1])\n")
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=600)
    assert r.returncode == 0, r.stderr
    frames, tcp, damaged, nconv, big_bytes, took, rss_kb = r.stdout.split()
    assert int(tcp) > 100_000 and int(damaged) == 0 and int(nconv) > 1000
    assert int(big_bytes) >= 90 * 1000 * 1000
    assert int(rss_kb) < 80 * 1024, f"peak RSS {int(rss_kb) / 1024:.0f} MB for a 100 MB file"
    print(f"\n{frames} frames in {float(took):.1f} s "
          f"({int(frames) / float(took):,.0f} packets/s), peak RSS {int(rss_kb) / 1024:.0f} MB")
    # the iterator alone keeps nothing: stop early
    assert sum(1 for _ in read_tcp(path, max_frames=1000)) == 1000
