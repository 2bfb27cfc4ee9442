"""``tcplab explain``, :mod:`tcplab.explain` and :mod:`tcplab.socket_notes`: real socket tables
explained, socket by socket.

The tables in ``tests/data/ss/`` were captured on this machine's kernel (see its README):
the same sockets as ``ss -tan``, ``ss -tano``, ``ss -tanop`` and ``/proc/net/tcp``, so every
reading must agree on the states, and each symptom the field guide teaches is in them once.
"""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

from tcplab import explain as ex
from tcplab.endpoint import Config
from tcplab.explain import Finding, Report, SocketNote, diagnose, explain, explain_row
from tcplab.procnet import parse_dump, parse_ss_line, ss_duration
from tcplab.states import TcpState as S

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "ss"


def table(name: str) -> str:
    return (DATA / name).read_text()


def note_for(report: Report, local: tuple[str, int], remote: tuple[str, int] | None = None
             ) -> SocketNote:
    found = [n for n in report.notes if n.row.local == local
             and (remote is None or n.row.remote == remote)]
    assert len(found) == 1, f"{local} {remote}: {len(found)} rows"
    return found[0]


def findings(report: Report) -> dict[str, tuple[str, int, str]]:
    return {f"{f.symptom} @ {f.where}": (f.verdict, f.count, f.section) for f in report.findings}


LO = "127.0.0.1"
COUNTS = {"LISTEN": 9, "SYN-SENT": 5, "SYN-RECEIVED": 2, "ESTABLISHED": 8, "FIN-WAIT-1": 1,
          "FIN-WAIT-2": 4, "CLOSE-WAIT": 5, "LAST-ACK": 1, "TIME-WAIT": 4}


# ------------------------------------------------------------------ the parser reads ss -o --

def test_ss_timer_column_is_read():
    rows = parse_dump(table("ss-tano.txt"))
    tw = next(r for r in rows if r.local == (LO, 46952))
    assert (tw.state, tw.timer, tw.expires, tw.retransmits, tw.kind) == (
        S.TIME_WAIT, 3, 58.0, 0, "timewait")
    orphan = next(r for r in rows if r.local == (LO, 43592))
    assert orphan.state is S.FIN_WAIT_2 and orphan.kind == "timewait" and orphan.expires == 58
    held = next(r for r in rows if r.local == (LO, 49350))
    assert held.state is S.FIN_WAIT_2 and held.kind == "full" and held.timer is None
    fw1 = next(r for r in rows if r.local == (LO, 54216))
    assert (fw1.timer, fw1.expires, fw1.retransmits, fw1.tx_queue) == (1, 0.204, 1, 1)
    ka = next(r for r in rows if r.local == (LO, 36056))
    assert ka.timer_name == "keepalive" and ka.expires == 119 * 60


def test_ss_process_and_extended_columns():
    rows = parse_dump(table("ss-tanop.txt"))
    assert next(r for r in rows if r.local == (LO, 8082)).process == '"python",pid=14339,fd=8'
    assert next(r for r in rows if r.local == (LO, 8085) and r.state is S.SYN_RECEIVED
                ).process is None
    row = parse_ss_line("ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000 users:((\"Web Content\",pid=3,"
                        "fd=9)) uid:1000 ino:4242 sk:1 <->")
    assert (row.process, row.uid, row.inode) == ('"Web Content",pid=3,fd=9', 1000, 4242)


@pytest.mark.parametrize("text, seconds", [("59sec", 59), ("1min59sec", 119), ("119min", 7140),
                                           ("200ms", 0.2), ("1.500ms", 1.5), ("", 0)])
def test_ss_durations(text, seconds):
    assert ss_duration(text) == pytest.approx(seconds)


def test_bad_ss_timer_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown timer 'soon'"):
        parse_ss_line("ESTAB 0 0 1.2.3.4:5 6.7.8.9:10 timer:(soon,1sec,0)")
    with pytest.raises(ValueError, match="not a time as ss -o prints it"):
        ss_duration("1hour")


def test_all_readings_of_one_table_agree():
    by = {name: diagnose(table(name)) for name in ("ss-tan.txt", "ss-tano.txt", "ss-tanop.txt")}
    for name, report in by.items():
        assert report.counts() == COUNTS, name
    proc = diagnose(table("proc-net-tcp.txt"))   # IPv4 only: one LISTEN and two ESTAB fewer
    assert proc.counts() == {**COUNTS, "LISTEN": 8, "ESTABLISHED": 6}
    assert diagnose(table("proc-net-tcp6.txt")).counts() == {"LISTEN": 1, "ESTABLISHED": 2}


# ------------------------------------------------------------------ each socket explained ---

@pytest.fixture(scope="module")
def tano() -> Report:
    return diagnose(table("ss-tano.txt"))


def test_close_wait_pile_is_a_bug(tano):
    f = findings(tano)
    assert f[f"CLOSE-WAIT piling up @ this server's {LO}:8080"] == (
        "bug", 3, ex.SECTIONS["close-wait"])
    n = note_for(tano, (LO, 8080), (LO, 43592))
    assert n.verdict == "watch" and "call close()" in n.waits and "counts it as 1" in n.waits
    assert n.section.endswith("section 1 'CLOSE_WAIT piling up'")


def test_time_wait_pile_names_the_side_that_closes_first(tano):
    assert findings(tano)[f"TIME-WAIT piling up @ connections to {LO}:8081"][:2] == ("normal", 3)
    n = note_for(tano, (LO, 46952))
    assert n.waits.startswith("This side closed first") and "EADDRINUSE" not in n.detail
    server = diagnose(table("ss-tano-server-closes.txt"))
    f = server.findings[0]
    assert (f.symptom, f.where, f.count) == ("TIME-WAIT piling up", f"this server's {LO}:8081", 3)
    assert "SO_REUSEADDR" in f.fix and "EADDRINUSE" in f.fix
    assert "EADDRINUSE" in server.notes[0].detail and server.worst() == "normal"


def test_fin_wait_2_with_and_without_its_timer(tano):
    orphan = note_for(tano, (LO, 43592))
    assert orphan.verdict == "normal" and "tcp_fin_timeout = 60 s" in orphan.waits
    held = note_for(tano, (LO, 49350))
    assert held.verdict == "watch" and "shutdown(SHUT_WR)" in held.waits
    assert "lasts for ever" in held.detail and held.section == ex.SECTIONS["fin-wait-2"]
    # ss -tan shows no timers: it cannot tell them apart, and says so
    plain = diagnose(table("ss-tan.txt"))
    assert {n.waits for n in plain.notes if n.row.state is S.FIN_WAIT_2} == {
        note_for(plain, (LO, 49350)).waits}
    assert "run ss -tano" in note_for(plain, (LO, 43592)).detail
    assert not any("FIN-WAIT-2" in f.symptom for f in plain.findings)
    one = diagnose(table("ss-tano.txt"), pile=1)
    assert findings(one)[f"FIN-WAIT-2 that never ends @ {LO}:8082"][:2] == ("watch", 1)
    assert not any(k.startswith("FIN-WAIT-2") and "8080" in k for k in findings(one))


def test_full_backlog_and_the_clients_it_leaves_hanging(tano):
    assert findings(tano)[f"full accept queue @ {LO}:8084"] == ("bug", 2, ex.SECTIONS["backlog"])
    assert note_for(tano, (LO, 8084), ("0.0.0.0", 0)).verdict == "bug"
    stuck = note_for(tano, (LO, 46304))
    assert stuck.row.state is S.SYN_SENT and stuck.section == ex.SECTIONS["backlog"]
    assert "full accept queue" in stuck.detail
    queued = note_for(tano, (LO, 8084), (LO, 46288))
    assert queued.row.state is S.ESTABLISHED and "no process" not in queued.detail.lower()
    with_p = diagnose(table("ss-tanop.txt"))
    queued = note_for(with_p, (LO, 8084), (LO, 46288))
    assert "accept queue" in queued.waits and queued.section == ex.SECTIONS["backlog"]
    # /proc/net/tcp does not show the backlog: no verdict on the queue
    proc = diagnose(table("proc-net-tcp.txt"))
    assert not any("accept queue" in f.symptom for f in proc.findings)
    assert "not shown here" in note_for(proc, (LO, 8084), ("0.0.0.0", 0)).waits


def test_syn_recv_and_syn_sent(tano):
    req = note_for(tano, (LO, 8085), (LO, 60554))
    assert req.row.kind == "request" and "request sock" in req.waits
    assert "6 SYN,ACKs" in req.detail and "63 s" in req.detail
    hang = note_for(tano, (LO, 38664))
    assert hang.section == ex.SECTIONS["connect"]
    assert "11 SYNs" in hang.detail and "ETIMEDOUT after about 131 s" in hang.detail
    flood = diagnose("\n".join(f"SYN-RECV 0 0 10.0.0.1:80 198.51.100.{i}:4{i:04d} "
                               "timer:(on,2sec,2)" for i in range(50)))
    f = flood.findings[0]
    assert (f.symptom, f.count, f.verdict) == ("SYN-RECV piling up", 50, "watch")
    assert "50 addresses" in f.cause and "tcp_syncookies" in f.fix
    assert flood.notes[0].verdict == "watch" and "re-sent" in flood.notes[0].detail


def test_unread_data_points_at_econnreset(tano):
    n = note_for(tano, (LO, 8083), (LO, 36056))
    assert "RST instead of FIN" in n.detail and n.section == ex.SECTIONS["reset"]
    # a CLOSE-WAIT's Recv-Q of 1 is its FIN, not data
    assert note_for(tano, (LO, 8082), (LO, 49350)).section == ex.SECTIONS["close-wait"]
    assert diagnose("CLOSE-WAIT 5 0 10.0.0.1:80 10.0.0.2:40000").notes[0].section == \
        ex.SECTIONS["reset"]


def test_retransmitting_teardown_states(tano):
    for local, remote in (((LO, 54216), (LO, 8087)), ((LO, 8086), (LO, 34102))):
        n = note_for(tano, local, remote)
        assert n.verdict == "watch" and "re-sent" in n.detail, local
        assert n.section == ex.SECTIONS["teardown"]


def test_linux_numbers_are_the_models():
    linux = Config.linux()
    assert ex.SYN_PACKETS == 1 + linux.syn_retries + linux.syn_linear_timeouts
    # linear timeouts of the initial RTO, then doubling, and a last wait before ETIMEDOUT
    waits = [linux.rto] * (linux.syn_linear_timeouts + 1) + \
        [linux.rto * 2 ** k for k in range(1, linux.syn_retries + 1)]
    assert ex.SYN_TIMEOUT == sum(waits)
    assert ex.SYNACK_PACKETS == 1 + linux.synack_retries
    assert ex.SYNACK_TIMEOUT == sum(linux.rto * 2 ** k for k in range(linux.synack_retries + 1))
    assert ex.FIN_TIMEOUT == linux.fin_wait_2_timeout


# ------------------------------------------------------------------ the text -----------------

def test_text_report(tano):
    text = explain(table("ss-tano.txt"))
    first = text.splitlines()[0]
    assert first == ("39 sockets: 9 LISTEN, 5 SYN-SENT, 2 SYN-RECEIVED, 8 ESTABLISHED, "
                     "1 FIN-WAIT-1, 4 FIN-WAIT-2, 5 CLOSE-WAIT, 1 LAST-ACK, 4 TIME-WAIT")
    assert text.index("[bug] full accept queue") < text.index("[normal] TIME-WAIT piling up")
    assert "CLOSE-WAIT [watch], 5 sockets" in text and "... and 1 more like these" in text
    assert "local 127.0.0.1:43592  peer 127.0.0.1:8080  Recv-Q 0  Send-Q 0  " \
           "tcp_fin_timeout timer 58 s" in text
    assert all(len(line) <= 100 for line in text.splitlines()[1:]
               if not line.startswith(("  local", "    ")))     # prose is wrapped
    assert str(tano) == text and tano.worst() == "bug"


def test_prompts_and_other_protocols_are_skipped():
    report = diagnose("$ ss -tan\nNetid State Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
                      "udp UNCONN 0 0 0.0.0.0:5353 0.0.0.0:*\n"
                      "tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n"
                      "u_str ESTAB 0 0 * 1234 * 1235\n")
    assert report.counts() == {"LISTEN": 1} and report.skipped == 3
    assert "(3 other lines skipped)" in str(report)
    assert str(diagnose("")) == "0 sockets: none"


# ------------------------------------------------------------------ hostile input ------------

@pytest.mark.parametrize("text, message", [
    ("ESTAB 0 0 localhost:http 10.0.0.2:80", r"line 1: .*port must be.*run ss with -n"),
    ("State Recv-Q\nhello world", r"^line 2: not an ss line: 'hello world'"),
    ("ESTAB 0 0 1.2.3.4:5 6.7.8.9:10\x00", "binary"),
    ("LISTEN 0 1 1.2.3.4:5 *:* " + "x" * 5000, "line 1 has 5,0.. characters"),
])
def test_bad_input_is_one_clear_line(text, message):
    with pytest.raises(ValueError, match=message) as err:
        diagnose(text)
    assert "\n" not in str(err.value)


def test_bounds(monkeypatch):
    monkeypatch.setattr(ex, "MAX_LINES", 10)
    with pytest.raises(ValueError, match="11 lines; at most 10"):
        diagnose("\n".join(["LISTEN 0 1 1.2.3.4:5 *:*"] * 11))
    monkeypatch.setattr(ex, "MAX_CHARS", 100)
    with pytest.raises(ValueError, match="at most 100 are read"):
        diagnose("x" * 101)
    with pytest.raises(TypeError, match="not bytes"):
        diagnose(b"LISTEN")  # type: ignore[arg-type]
    for pile in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="pile must be"):
            diagnose("", pile=pile)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SocketRow"):
        explain_row("LISTEN 0 1 1.2.3.4:5 *:*")  # type: ignore[arg-type]


def test_many_sockets_stay_readable():
    rows = "\n".join(f"CLOSE-WAIT 1 0 10.0.0.1:{1000 + i % 20} 10.0.0.2:{40000 + i}"
                     for i in range(5000))
    report = diagnose(rows)
    assert len(report.findings) == 20 and all(f.count == 250 for f in report.findings)
    text = str(report)
    assert text.count("CLOSE-WAIT piling up") == ex.MAX_FINDINGS
    assert "... and 8 more findings" in text and "... and 4996 more like these" in text
    assert len(text) < 10_000


# ------------------------------------------------------------------ the command line ---------

def run_cli(*args: str, stdin: str | bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tcplab", "explain", *args], cwd=ROOT,
                          input=stdin if isinstance(stdin, bytes) else stdin.encode(),
                          capture_output=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_cli_file_and_stdin():
    by_file = run_cli(str(DATA / "ss-tano.txt"))
    assert by_file.returncode == 0 and by_file.stderr == b""
    assert by_file.stdout.decode() == explain(table("ss-tano.txt")) + "\n"
    by_stdin = run_cli("--pile", "1", stdin=table("proc-net-tcp.txt"))
    assert by_stdin.returncode == 0
    assert b"FIN-WAIT-2 that never ends: 1 at 127.0.0.1:8082" in by_stdin.stdout


@pytest.mark.parametrize("args, stdin, message", [
    (("/no/such/file",), b"", b"error: cannot read /no/such/file: No such file or directory"),
    (("/",), b"", b"error: cannot read /: Is a directory"),
    ((), bytes(range(256)) * 4, b"error: the input is binary"),
    ((), b"\xff\xfe garbage here\n", b"error: line 1: not an ss line"),
    (("--pile", "0"), b"", b"error: pile must be"),
])
def test_cli_errors_exit_2_with_one_line(args, stdin, message):
    proc = run_cli(*args, stdin=stdin)
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.startswith(b"python -m tcplab explain: " + message)
    assert proc.stderr.count(b"\n") == 1
    assert b"Traceback" not in proc.stderr


def test_doctests():
    import tcplab.procnet
    import tcplab.socket_notes
    for module in (ex, tcplab.socket_notes, tcplab.procnet):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted >= 2, module.__name__


def test_structured_form_types(tano):
    assert all(isinstance(n, SocketNote) and n.verdict in ex.VERDICTS for n in tano.notes)
    assert all(isinstance(f, Finding) and f.section.startswith("notebooks/")
               for f in tano.findings)


# ------------------------------------------------------------------ fuzzed pasted text -------

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

_WORDS = ["ESTAB", "LISTEN", "SYN-RECV", "TIME-WAIT", "FIN-WAIT-2", "CLOSE-WAIT", "UNCONN",
          "tcp", "udp", "0", "1", "17", "-3", "99999", "127.0.0.1:80", "[::1]:22", "*:*",
          "0.0.0.0:*", "10.0.0.1:http", "timer:(on,200ms,1)", "timer:(timewait,1min2sec,0)",
          "timer:(soon,1sec,0)", "timer:(on,1hour,0)", 'users:(("x",pid=1,fd=3))', "ino:0",
          "0100007F:1F90", "   1:", "06", "00000000:00000000", "03:00001283", "State", "$",
          "\t", "é", "\x7f", ""]
_LINES = st.lists(st.sampled_from(_WORDS), max_size=14).map(" ".join)
_TABLES = st.lists(st.one_of(_LINES, st.text(max_size=40)), max_size=12).map("\n".join)


@hypothesis.settings(max_examples=300, deadline=None, database=None)
@hypothesis.given(text=_TABLES, pile=st.integers(1, 4))
def test_any_pasted_text_gives_a_report_or_one_clear_line(text, pile):
    try:
        report = diagnose(text, pile=pile)
    except ValueError as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        assert message.startswith(("line ", "the input")), message
        return
    rendered = str(report)
    assert rendered.startswith(f"{len(report.notes)} socket")
    assert sum(report.counts().values()) == len(report.notes)


@hypothesis.settings(max_examples=60, deadline=None, database=None)
@hypothesis.given(data=st.binary(max_size=300) | _TABLES.map(str.encode))
def test_the_explain_command_exits_0_or_2_in_process(data, tmp_path_factory):
    import contextlib
    import io

    from tcplab.cli import main as cli_main
    path = tmp_path_factory.mktemp("paste") / "table.txt"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(["explain", str(path)])
        except SystemExit as exc:
            code = exc.code
    assert code in (0, 2)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    if code == 2:
        assert err.getvalue().startswith("python -m tcplab explain: error: ")
        assert err.getvalue().count("\n") == 1


def test_ss_p_without_root_claims_only_what_it_saw():
    """ss -p as a user shows only that user's processes: a connection without one is in an
    accept queue only if its listener visibly belongs to a process."""
    table = ("LISTEN 0 128 0.0.0.0:5432 0.0.0.0:*\n"                      # another user's
             "ESTAB 0 0 10.0.0.2:5432 10.0.0.7:40000\n"
             "LISTEN 1 128 0.0.0.0:8000 0.0.0.0:* users:((\"py\",pid=9,fd=3))\n"
             "ESTAB 0 0 10.0.0.2:8000 10.0.0.7:40001\n"
             "FIN-WAIT-2 0 0 10.0.0.2:41000 10.0.0.9:80\n"
             "TIME-WAIT 0 0 10.0.0.2:41002 10.0.0.9:80 timer:(timewait,30sec,0)\n")
    report = diagnose(table)
    other = note_for(report, ("10.0.0.2", 5432))
    assert "accept queue" not in other.waits and "run it as root" in other.detail
    mine = note_for(report, ("10.0.0.2", 8000))
    assert "accept queue" in mine.waits and mine.section == ex.SECTIONS["backlog"]
    held = note_for(report, ("10.0.0.2", 41000))       # no timer where timers are shown
    assert "shutdown(SHUT_WR)" in held.waits and held.verdict == "watch"


def test_an_impossible_state_code_in_proc_net_tcp_is_refused_by_name():
    import pytest
    from tcplab.procnet import parse_proc_line
    line = ("   0: 0100007F:1F90 00000000:0000 0F 00000000:00000000 00:00000000 00000000     0"
            "        0 12345 1 0000000000000000 100 0 0 10 0")
    with pytest.raises(ValueError, match="state code 0F is no kernel TCP state"):
        parse_proc_line(line)
    assert parse_proc_line(line.replace(" 0F ", " 0A ")).state.name == "LISTEN"
