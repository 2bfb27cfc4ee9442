"""The capture layer: reading pcap/pcapng files, conversations and stories, states inferred
packet by packet, the marks, and clear errors for bad input.

Captures are written here with :mod:`tcplab.capture.write` (dpkt's writers) in every link
type and IP version; the captures made on this machine by the live lab are in
``tests/data/captures`` (see its ``make_captures.py``) and in ``test_capture_live.py``.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dpkt")

from tcplab import TcpState as S  # noqa: E402
from tcplab.capture import (Capture, CaptureError, ReadStats, conversations, infer,  # noqa: E402
                            read_tcp)
from tcplab.capture.write import LINKS, Frame, write_capture  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
F = Frame

#: A client-side capture: 20 ms round trip, a request, a 2 KB reply, the client closes.
EXCHANGE = [
    F(0.000, "c", "S", 1000, 0, mss=1460, wscale=7),
    F(0.020, "s", "SA", 5000, 1001, mss=1460, wscale=7),
    F(0.0201, "c", "A", 1001, 5001),
    F(0.0202, "c", "PA", 1001, 5001, b"GET / HTTP/1.1\r\n\r\n"),
    F(0.0403, "s", "A", 5001, 1019),
    F(0.0410, "s", "PA", 5001, 1019, 2000),
    F(0.0411, "c", "A", 1019, 7001),
    F(0.0500, "c", "FA", 1019, 7001),
    F(0.0700, "s", "FA", 7001, 1020),
    F(0.0701, "c", "A", 1020, 7002),
]
CLIENT_PATH = [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.TIME_WAIT]
SERVER_PATH = [S.CLOSED, S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK,
               S.CLOSED]


def write(tmp_path: Path, frames: list[Frame], name: str = "c.pcap", **kw: object) -> Path:
    path = tmp_path / name
    write_capture(path, frames, **kw)  # type: ignore[arg-type]
    return path


# ------------------------------------------------------------------- link types, formats ----
CASES = [(link, v6) for link in LINKS for v6 in (False, True)
         if not (link == "ipv4" and v6) and not (link == "ipv6" and not v6)]


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
@pytest.mark.parametrize("link,ipv6", CASES, ids=[f"{l}-{'v6' if v else 'v4'}" for l, v in CASES])
def test_every_link_type_and_ip_version_reads_the_same_conversation(tmp_path, link, ipv6, fmt):
    path = write(tmp_path, EXCHANGE, f"x.{fmt}", link=link, ipv6=ipv6, fmt=fmt)
    cap = Capture(path)
    assert cap.stats.format == fmt and cap.stats.link_type == LINKS[link]
    assert cap.stats.tcp == len(EXCHANGE) and cap.stats.damaged == 0
    [conv] = cap.conversations
    assert conv.client == (("fd00::1" if ipv6 else "10.0.0.1"), 40000)
    assert conv.packets == 10 and conv.bytes_from[conv.client] == 18
    assert conv.story() == "handshake, 18 B up, 2.0 KB down, client closes first"
    inf = cap.infer(1)
    assert inf.sequence("client") == CLIENT_PATH
    assert inf.sequence("server") == SERVER_PATH
    first = inf.packets[0].packet
    assert (first.mss, first.wscale) == (1460, 7)


def test_states_after_every_packet_follow_the_rfc(tmp_path):
    inf = Capture(write(tmp_path, EXCHANGE)).infer(1)
    after = [(p.states["client"], p.states["server"]) for p in inf.packets]
    assert after[0] == (S.SYN_SENT, S.SYN_RECEIVED)
    assert after[2] == (S.ESTABLISHED, S.ESTABLISHED)
    assert after[7] == (S.FIN_WAIT_1, S.CLOSE_WAIT)
    assert after[8] == (S.TIME_WAIT, S.LAST_ACK)
    assert after[9] == (S.TIME_WAIT, S.CLOSED)
    calls = {p.number: p.call for p in inf.packets if p.call}
    assert calls == {1: "connect()", 4: "send()", 6: "send()", 8: "close()", 9: "close()"}
    # the model sent the SYN-ACK, the ACKs and the FIN itself: the capture is explained
    assert all(p.predicted for p in inf.packets)
    tw = [m for p in inf.packets for m in p.marks if m.startswith("TIME-WAIT")]
    assert tw and "client" in tw[0]


def test_the_capture_point_moves_state_changes_to_when_segments_arrive(tmp_path):
    """Captured at the client, 10 ms from the server: the server's state changes 10 ms after
    the capture saw the segment, the client's as it is seen."""
    inf = Capture(write(tmp_path, EXCHANGE)).infer(1)
    pt = inf.point
    assert pt.known and pt.to_server == pytest.approx(0.010)
    assert pt.to_client == pytest.approx(0.00005)
    assert "near the client" in pt.describe()
    syn, synack = inf.packets[0], inf.packets[1]
    assert syn.arrives_at - (syn.packet.time - inf.base) == pytest.approx(0.010)
    assert synack.sent_at - (synack.packet.time - inf.base) == pytest.approx(-0.010)


def test_a_server_side_capture_is_recognised(tmp_path):
    frames = [F(0.0, "c", "S", 1), F(0.0001, "s", "SA", 9, 2), F(0.030, "c", "A", 2, 10)]
    inf = Capture(write(tmp_path, frames)).infer(1)
    assert "near the server" in inf.point.describe()
    assert inf.point.to_client == pytest.approx(0.01495)


# ------------------------------------------------------------------- bad input --------------
def test_not_a_capture_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, this is text\n")
    with pytest.raises(CaptureError, match=r"notes.txt is not a capture: a pcap file starts "
                                           r"with a1b2c3d4.*found 68656c6c"):
        Capture(bad)
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with pytest.raises(CaptureError, match="found an empty file"):
        Capture(empty)
    with pytest.raises(CaptureError, match="no such capture file"):
        Capture(tmp_path / "missing.pcap")
    with pytest.raises(CaptureError, match="is a folder"):
        Capture(tmp_path)
    with pytest.raises(CaptureError, match="takes the path"):
        Capture(42)  # type: ignore[arg-type]
    header = tmp_path / "header.pcap"
    header.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00")
    with pytest.raises(CaptureError, match="header is damaged"):
        Capture(header)


def test_an_unknown_link_type_is_named(tmp_path):
    import dpkt
    path = tmp_path / "wifi.pcap"
    with open(path, "wb") as f:
        dpkt.pcap.Writer(f, linktype=105).writepkt(b"\x00" * 40, ts=0)
    with pytest.raises(CaptureError, match=r"link type 105 is not one tcplab reads; it "
                                           r"reads 1 \(Ethernet\), 113 \(Linux cooked"):
        Capture(path)


def test_a_truncated_file_keeps_what_came_before(tmp_path):
    path = write(tmp_path, EXCHANGE)
    data = path.read_bytes()
    cut = tmp_path / "cut.pcap"
    for end in (len(data) - 30, len(data) - 65):        # inside a record's data / its header
        cut.write_bytes(data[:end])
        stats = ReadStats()
        pkts = list(read_tcp(cut, stats))
        assert 8 <= len(pkts) <= 9
        assert stats.damaged + stats.truncated_file >= 1
        assert [p.seq for p in pkts] == [f.seq for f in EXCHANGE[:len(pkts)]]
    cap = Capture(cut)
    assert "cut short" in cap.table() or "damaged" in cap.table()


def test_a_short_snapshot_length_keeps_the_wire_length(tmp_path):
    path = write(tmp_path, EXCHANGE, snaplen=96)
    pkts = list(read_tcp(path))
    reply = pkts[5]
    assert reply.length == 2000 and len(reply.payload) < 2000
    assert len(reply.segment().data) == 2000           # padded for the model's arithmetic
    assert Capture(path).infer(1).sequence("client") == CLIENT_PATH


def test_a_capture_with_no_tcp(tmp_path):
    import dpkt
    path = tmp_path / "dns.pcap"
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f, linktype=101)
        udp = dpkt.udp.UDP(sport=5353, dport=53, data=b"query")
        udp.ulen = len(udp)
        ip = dpkt.ip.IP(src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x02", p=17, data=udp)
        ip.len = len(ip)
        for i in range(3):
            w.writepkt(bytes(ip), ts=i)
    cap = Capture(path)
    assert len(cap) == 0 and cap.stats.other == 3 and cap.stats.tcp == 0
    assert "no TCP conversations in this capture" in cap.table()
    with pytest.raises(CaptureError, match="no conversation 1 .*none: this capture holds no TCP"):
        cap.infer(1)


def test_bounds_on_untrusted_input(tmp_path):
    path = write(tmp_path, EXCHANGE)
    stats = ReadStats()
    assert len(list(read_tcp(path, stats, max_frames=3))) == 3
    assert "max_frames=3" in stats.notes[-1]
    with pytest.raises(CaptureError, match="max_frames takes"):
        list(read_tcp(path, max_frames=0))
    two = [F(0, "c", "S", 1)]
    write_capture(tmp_path / "a.pcap", two)
    with pytest.raises(CaptureError, match="max_conversations takes"):
        conversations(path, max_conversations=0)
    cap = Capture(path)
    with pytest.raises(CaptureError, match="max_packets=5"):
        infer(cap.conversations[0], cap.packets(1), max_packets=5)
    with pytest.raises(CaptureError, match="max_bytes=100"):
        infer(cap.conversations[0], cap.packets(1), max_bytes=100)


def test_the_command_line(tmp_path):
    path = write(tmp_path, EXCHANGE)
    run = lambda *a: subprocess.run([sys.executable, "-m", "tcplab", "capture", *a],  # noqa
                                    capture_output=True, text=True, cwd=ROOT, timeout=120,
                                    env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                         "MPLBACKEND": "Agg"})
    r = run(str(path))
    assert r.returncode == 0, r.stderr
    assert "client closes first" in r.stdout and "--conversation N" in r.stdout
    png = tmp_path / "ladder.png"
    r = run(str(path), "--conversation", "1", "-o", str(png), "--trace")
    assert r.returncode == 0, r.stderr
    import re
    assert re.search(r"#9\s+server -> client\s+FIN,ACK\s+client TIME-WAIT\s+server LAST-ACK"
                     r"\s+close\(\)", r.stdout)
    # the trace, with relative sequence numbers:
    assert re.search(r"TIME-WAIT\s+--> \[\.\] seq 20 ack 2002\s+--> CLOSED", r.stdout)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    notes = tmp_path / "notes.txt"
    notes.write_text("not a capture")
    for args, msg in (((str(notes),), "is not a capture"),
                      ((str(path), "-c", "7"), "no conversation 7"),
                      ((str(path), "-o", str(png)), "add --conversation N"),
                      ((str(path), "-c", "1", "-o", str(tmp_path / "l.gif")), "must end in .svg, .png or .pdf")):
        r = run(*args)
        assert r.returncode == 2 and msg in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr


# ------------------------------------------------------------------- what the capture shows -
def test_mid_connection_start_is_said_not_guessed(tmp_path):
    frames = [F(0.0, "c", "PA", 7000, 9000, 100), F(0.01, "s", "A", 9000, 7100),
              F(0.02, "s", "FA", 9000, 7100), F(0.03, "c", "A", 7100, 9001),
              F(0.04, "c", "FA", 7100, 9001), F(0.05, "s", "A", 9001, 7101)]
    cap = Capture(write(tmp_path, frames, client=("10.0.0.1", 51000),
                        server=("10.0.0.2", 443)))
    [conv] = cap.conversations
    assert conv.client_guessed and conv.client == ("10.0.0.1", 51000)
    assert conv.story().startswith("capture starts mid-connection")
    inf = cap.infer(1)
    assert any("mid-connection" in n for n in inf.notes)
    assert any("higher port" in n for n in inf.notes)
    assert not inf.point.known and "unknown" in inf.point.describe()
    assert inf.packets[0].receiver == (S.ESTABLISHED, S.ESTABLISHED)
    assert inf.packets[2].states["server"] is S.FIN_WAIT_1
    assert inf.packets[-1].states == {"client": S.CLOSED, "server": S.TIME_WAIT}
    assert inf.sequence("server") == [S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT]
    assert inf.sequence("client") == [S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]


def test_sequence_numbers_that_wrap(tmp_path):
    c0, s0 = 2 ** 32 - 50, 2 ** 32 - 1
    w = lambda x: x % 2 ** 32  # noqa: E731
    frames = [F(0.0, "c", "S", c0), F(0.01, "s", "SA", s0, w(c0 + 1)),
              F(0.02, "c", "A", w(c0 + 1), 0),
              F(0.03, "c", "PA", w(c0 + 1), 0, 300),          # crosses 2**32
              F(0.04, "s", "A", 0, w(c0 + 301)),
              F(0.05, "c", "PA", w(c0 + 301), 0, 300),
              F(0.06, "s", "A", 0, w(c0 + 601)),
              F(0.07, "c", "FA", w(c0 + 601), 0), F(0.08, "s", "FA", 0, w(c0 + 602)),
              F(0.09, "c", "A", w(c0 + 602), 1)]
    inf = Capture(write(tmp_path, frames)).infer(1)
    assert inf.sequence("client") == CLIENT_PATH
    assert not any(m for p in inf.packets for m in p.marks if not m.startswith("TIME-WAIT"))
    from tcplab.capture import CaptureRun
    run = CaptureRun(inf)
    data = [s.sent[0] for s in run.history if s.sent and s.sent[0].data]
    assert [(d.seq, len(d.data)) for d in data] == [(1, 300), (301, 300)]


def test_retransmission_duplicate_and_duplicate_ack(tmp_path):
    frames = EXCHANGE[:4] + [
        F(0.25, "c", "PA", 1001, 5001, b"GET / HTTP/1.1\r\n\r\n"),       # RTO: sent again
        F(0.2501, "c", "PA", 1001, 5001, b"GET / HTTP/1.1\r\n\r\n"),     # a copy of it
        F(0.27, "s", "A", 5001, 1019), F(0.2701, "s", "A", 5001, 1019)]
    inf = Capture(write(tmp_path, frames)).infer(1)
    marks = {p.number: p.marks for p in inf.packets}
    assert marks[5][0].startswith("retransmission: the client sends 18 bytes it sent before")
    assert inf.packets[4].retransmission
    assert marks[6][0].startswith("duplicate: an exact copy")
    assert marks[8][0].startswith("duplicate ACK")
    assert all(p.states == {"client": S.ESTABLISHED, "server": S.ESTABLISHED}
               for p in inf.packets[3:])


def test_no_answer_to_syn(tmp_path):
    frames = [F(0, "c", "S", 100), F(1.0, "c", "S", 100), F(3.0, "c", "S", 100)]
    cap = Capture(write(tmp_path, frames))
    assert cap.conversations[0].story() == "no answer to SYN (3 SYNs)"
    inf = cap.infer(1)
    assert [p.retransmission for p in inf.packets] == [False, True, True]
    assert all(p.sender[1] is S.SYN_SENT for p in inf.packets)


def test_refused(tmp_path):
    frames = [F(0, "c", "S", 100), F(0.0001, "s", "RA", 0, 101)]
    cap = Capture(write(tmp_path, frames))
    assert cap.conversations[0].story().startswith("refused")
    inf = cap.infer(1)
    rst = inf.packets[1]
    assert rst.predicted and rst.states == {"client": S.CLOSED, "server": S.CLOSED}
    assert any("refused" in m and "§3.10.7.1" in m for m in rst.marks)
    assert any("connection refused" in m or "ECONNREFUSED" in m for m in rst.marks)


def test_reset_by_server_after_a_reply_with_unread_data(tmp_path):
    frames = EXCHANGE[:7] + [F(0.045, "s", "RA", 7001, 1019)]
    inf = Capture(write(tmp_path, frames)).infer(1)
    assert inf.conversation.story().endswith("reset by server after a reply")
    rst = inf.packets[-1]
    assert rst.call == "close() with unread data, or abort"
    assert any("closed with unread data" in m for m in rst.marks)
    assert rst.states == {"client": S.CLOSED, "server": S.CLOSED}


def test_simultaneous_close(tmp_path):
    frames = EXCHANGE[:3] + [F(0.05, "c", "FA", 1001, 5001), F(0.0501, "s", "FA", 5001, 1001),
                             F(0.0502, "c", "A", 1002, 5002), F(0.0503, "s", "A", 5002, 1002)]
    cap = Capture(write(tmp_path, frames))
    assert "simultaneous close" in cap.conversations[0].story()
    inf = cap.infer(1)
    assert S.CLOSING in inf.sequence("client") and S.CLOSING in inf.sequence("server")
    assert any(m.startswith("simultaneous close") for p in inf.packets for m in p.marks)


def test_half_close(tmp_path):
    frames = EXCHANGE[:3] + [
        F(0.03, "c", "FA", 1001, 5001),                 # shutdown(SHUT_WR)
        F(0.05, "s", "A", 5001, 1002), F(0.051, "s", "PA", 5001, 1002, 500),
        F(0.052, "c", "A", 1002, 5501),                 # the client still receives
        F(0.06, "s", "FA", 5501, 1002), F(0.061, "c", "A", 1002, 5502)]
    inf = Capture(write(tmp_path, frames)).infer(1)
    assert inf.packets[3].call == "shutdown(SHUT_WR)"
    assert any(m.startswith("half-close") for p in inf.packets for m in p.marks)
    assert inf.sequence("client")[-2:] == [S.FIN_WAIT_2, S.TIME_WAIT]


def test_bytes_missing_from_the_capture_are_assumed_sent(tmp_path):
    frames = EXCHANGE[:3] + EXCHANGE[4:]          # the client's request is not in the capture
    inf = Capture(write(tmp_path, frames)).infer(1)
    assert inf.packets[3].uncertain[0].startswith("it acknowledges 18 bytes from the client "
                                                  "that are missing from the capture")
    fin = inf.packets[6]
    assert fin.segment.fin and fin.call == "close()"
    assert any("18 bytes before this segment are missing" in u for u in fin.uncertain)
    assert fin.states == {"client": S.FIN_WAIT_1, "server": S.CLOSE_WAIT}
    assert inf.sequence("client") == CLIENT_PATH and inf.sequence("server") == SERVER_PATH


def test_a_retransmitted_segment_already_received(tmp_path):
    frames = EXCHANGE[:4] + [F(0.25, "c", "PA", 1001, 5001, b"GET / HTTP/1.1\r\n\r\n")]
    inf = Capture(write(tmp_path, frames)).infer(1)
    again = inf.packets[-1]
    assert again.retransmission and again.old
    assert any(m.startswith("already received") for m in again.marks)
    assert any("may have been lost after the capture point" in u for u in again.uncertain)


def test_out_of_window_segment(tmp_path):
    frames = EXCHANGE[:3] + [F(0.03, "c", "PA", 1001 + 10_000_000, 5001, 10)]
    inf = Capture(write(tmp_path, frames)).infer(1)
    bad = inf.packets[-1]
    assert bad.acceptable is False
    assert any(m.startswith("out of window") for m in bad.marks)
    assert bad.states["server"] is S.ESTABLISHED


def test_segments_the_model_cannot_explain_are_anomalies(tmp_path):
    # a new SYN-ACK from the client in ESTABLISHED: no call and no RFC rule sends it
    frames = EXCHANGE[:3] + [F(0.03, "c", "SA", 777, 5001)]
    inf = Capture(write(tmp_path, frames)).infer(1)
    assert inf.packets[-1].marks[-1] == ("anomaly: the model cannot explain why the client "
                                         "sent SYN,ACK in ESTABLISHED")
    # a segment outside the window while the server is still in SYN-RECEIVED
    frames = EXCHANGE[:2] + [F(0.021, "c", "A", 1001 + 10_000_000, 5001)]
    inf = Capture(write(tmp_path, frames, "b.pcap")).infer(1)
    assert inf.packets[-1].receiver[0] is S.SYN_RECEIVED
    assert inf.packets[-1].marks[0].startswith(
        "anomaly: this segment is not acceptable in SYN-RECEIVED (RFC 9293 §3.10.7.4)")


def test_multiple_conversations_are_listed_in_order(tmp_path):
    import dpkt
    from tcplab.capture.write import frame_bytes
    path = tmp_path / "two.pcap"
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f, linktype=1)
        for port, t in ((40001, 0.0), (40002, 0.5)):
            for fr in EXCHANGE[:3]:
                w.writepkt(frame_bytes(fr, client=("10.0.0.1", port)), ts=t + fr.time)
    cap = Capture(path)
    assert [c.client[1] for c in cap.conversations] == [40001, 40002]
    assert [c.number for c in cap.conversations] == [1, 2]
    assert cap.conversations[0].story() == "handshake, no data, still open at the end of " \
                                           "the capture"


def test_read_from_a_file_object():
    buf = io.BytesIO()
    write_capture(buf, EXCHANGE)
    buf.seek(0)
    assert len(list(read_tcp(buf))) == 10


# ------------------------------------------------------------------- layers ------------------
def test_import_is_light_and_layers_hold():
    code = ("import sys, tcplab.capture, tcplab.capture.record; "
            "bad = [m for m in ('dpkt', 'matplotlib', 'graphviz', 'ipywidgets', 'tcplab.ui') "
            "if m in sys.modules]; print(bad)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT)}, timeout=60)
    assert r.stdout.strip() == "[]", r.stderr
    for path in (ROOT / "tcplab" / "capture").glob("*.py"):
        imports = [line.strip() for line in path.read_text().splitlines()
                   if line.strip().startswith(("import ", "from "))]
        assert not [i for i in imports if "ui" in i.split()[1].split(".")
                    or "ipywidgets" in i], path


# ------------------------------------------------------------------- untrusted input ---------
def test_random_conversations_never_raise_from_inside(tmp_path):
    """Random flags, sequence numbers, gaps and timings: a CaptureError at worst, never a
    TcpError, KeyError or the like from inside the model."""
    import random
    from tcplab.capture import CaptureRun, trace
    flags = ["S", "SA", "A", "PA", "FA", "R", "RA", "F", "FPA", "SF", "SR", ""]
    for it in range(120):
        rng = random.Random(it)
        base = {"c": rng.randrange(2 ** 32), "s": rng.randrange(2 ** 32)}
        frames, t = [], 0.0
        for _ in range(rng.randint(1, 20)):
            src = rng.choice("cs")
            other = "s" if src == "c" else "c"
            t += rng.choice([0, 1e-6, 0.001, 0.05, 1.0])
            frames.append(F(t, src, rng.choice(flags),
                            (base[src] + rng.choice([0, 1, 2, 100, -1, 2 ** 31])) % 2 ** 32,
                            (base[other] + rng.choice([0, 1, 2, -5, 2 ** 31])) % 2 ** 32,
                            rng.choice([0, 0, 1, 10, 1400]), window=rng.choice([0, 1, 65535])))
        path = write(tmp_path, frames, f"r{it}.pcap")
        try:
            inf = Capture(path).infer(1)
        except CaptureError:
            continue
        assert len(inf.packets) == len(frames)
        inf.text(), trace(inf), CaptureRun(inf), inf.sequence("client")


def test_garbage_after_a_valid_header(tmp_path):
    import random
    header = write(tmp_path, EXCHANGE[:1]).read_bytes()[:24]
    for seed in range(30):
        rng = random.Random(seed)
        path = tmp_path / f"g{seed}.pcap"
        path.write_bytes(header + bytes(rng.randrange(256) for _ in range(rng.randrange(2000))))
        stats = ReadStats()
        try:
            convs = conversations(path, stats=stats)
        except CaptureError:
            continue
        assert stats.frames >= len(convs)


def test_a_damaged_record_length_is_not_read(tmp_path):
    import struct
    path = write(tmp_path, EXCHANGE)
    data = bytearray(path.read_bytes())
    # the third record's header: caplen and len say 3 GB
    offset = 24
    for _ in range(2):
        caplen = struct.unpack_from("<I", data, offset + 8)[0]
        offset += 16 + caplen
    struct.pack_into("<II", data, offset + 8, 3_000_000_000, 3_000_000_000)
    path.write_bytes(bytes(data))
    stats = ReadStats()
    assert len(list(read_tcp(path, stats))) == 2
    assert stats.damaged == 1 and "claims 3000000000 bytes" in stats.notes[-1]


def test_infer_names_what_it_takes(tmp_path):
    cap = Capture(write(tmp_path, EXCHANGE))
    with pytest.raises(CaptureError, match="infer\\(\\) takes a Conversation"):
        infer("conversation 1", cap.packets(1))  # type: ignore[arg-type]
    with pytest.raises(CaptureError, match="list of TcpPacket"):
        infer(cap.conversations[0], "packets")  # type: ignore[arg-type]
    with pytest.raises(CaptureError, match="has no packets"):
        infer(cap.conversations[0], [])
    for bad in (0, 2, "1", True):
        with pytest.raises(CaptureError, match="the conversations are 1..1"):
            cap.infer(bad)  # type: ignore[arg-type]
    from tcplab.capture import ladder
    with pytest.raises(TypeError, match="expected an Inference"):
        ladder(cap)  # type: ignore[arg-type]


def test_timer_firings_between_two_packets_are_bounded(tmp_path, monkeypatch):
    """Timestamps are untrusted: between two packets the model's timers fire a bounded
    number of times, and the inference says when it stopped them."""
    infer_module = sys.modules["tcplab.capture.infer"]    # the name is also the function
    monkeypatch.setattr(infer_module, "_MAX_FIRINGS", 3)
    frames = EXCHANGE[:3] + [F(0.05, "c", "PA", 1001, 5001, 100),
                             F(3e9, "s", "A", 5001, 1001)]      # a century later
    inf = Capture(write(tmp_path, frames)).infer(1)
    assert len(inf.packets) == len(frames)
    assert any("fired 3 times in one gap" in n for n in inf.notes)
