"""``python -m tcplab ss NAME`` and ``run NAME`` of a socket-level scenario: the model's ``ss``
at any step, the calls with their results, one-line errors, and ``explain`` reading it back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tcplab.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ss_at_a_step_is_the_hosts_table_then(capsys):
    code, out, err = cli(capsys, "ss", "backlog-overflow", "--at", "20", "--rfc-isn")
    assert code == 0 and err == ""
    assert out == (
        "client$ ss -tan    # after step 20 of 34: 0.600 client CLOSED -> SYN-SENT: active "
        "OPEN (connect())\n"
        "State     Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
        "ESTAB     0      0      10.0.0.1:40000     10.0.0.2:80\n"
        "ESTAB     0      0      10.0.0.1:40001     10.0.0.2:80\n"
        "ESTAB     0      0      10.0.0.1:40002     10.0.0.2:80\n"
        "SYN-SENT  0      1      10.0.0.1:40003     10.0.0.2:80\n"
        "server$ ss -tan    # after step 20 of 34: 0.600 client CLOSED -> SYN-SENT: active "
        "OPEN (connect())\n"
        "State     Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
        "LISTEN    2      1      0.0.0.0:80         0.0.0.0:*\n"
        "ESTAB     0      0      10.0.0.2:80        10.0.0.1:40000\n"
        "ESTAB     0      0      10.0.0.2:80        10.0.0.1:40001\n"
        "SYN-RECV  0      0      10.0.0.2:80        10.0.0.1:40002\n")


def test_ss_of_one_host_with_timers_at_the_start_and_at_the_end(capsys):
    code, out, _ = cli(capsys, "ss", "time-wait-eaddrinuse", "--host", "server", "-o")
    assert code == 0
    assert out.splitlines()[1:] == [
        "State      Recv-Q Send-Q Local Address:Port Peer Address:Port",
        "LISTEN     0      5      0.0.0.0:80         0.0.0.0:*",
        "TIME-WAIT  0      0      10.0.0.2:80        10.0.0.1:40001    timer:(timewait,59sec,0)"]
    assert out.startswith("server$ ss -tano    # after step ")
    code, out, _ = cli(capsys, "ss", "accept-queue", "--at", "0", "--host", "client")
    assert out == ("client$ ss -tan    # before the first of 23 steps\n"
                   "State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n")


@pytest.mark.parametrize("argv, message", [
    (["ss", "handshake"], "python -m tcplab ss: error: handshake is told by two bare TCBs, "
                          "which have no sockets to list; ss shows the socket-level scenarios: "
                          "accept-queue, backlog-overflow, econnrefused, close-unread-rst, "
                          "time-wait-eaddrinuse\n"),
    (["ss", "backlog-overflow", "--at", "35"],
     "python -m tcplab ss: error: --at 35: backlog-overflow has steps 0..34 (0: before the "
     "first, 34: after the last) (see python -m tcplab ss -h)\n"),
    (["ss", "backlog-overflow", "--at", "-1"], "--at -1: backlog-overflow has steps 0..34"),
    (["ss", "accept-queue", "--host", "router"],
     "python -m tcplab ss: error: --host router: the hosts are client, server "
     "(see python -m tcplab ss -h)\n"),
    (["ss", "nope"], "python -m tcplab ss: error: no scenario 'nope'; the scenarios are: "),
    (["ss", "accept-queue", "--at", "x"], "argument --at: invalid int value: 'x'"),
    (["ss"], "the following arguments are required: name"),
])
def test_a_bad_ss_command_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_run_of_a_socket_scenario_shows_the_calls_their_results_and_the_final_ss(capsys):
    code, out, err = cli(capsys, "run", "close-unread-rst", "--rfc-isn")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "close() with unread data: RST, and the peer's recv() fails"
    table = lines[lines.index("    time  host    call                              result"):]
    assert table[1:8] == [
        "   0.000  server  s = socket(AF_INET, SOCK_STREAM)  fd 3",
        "   0.000  server  s.bind(('', 80))                  0",
        "   0.000  server  s.listen(5)                       0",
        "   0.000  client  c = socket(AF_INET, SOCK_STREAM)  fd 3",
        "   0.000  client  c.connect(('server', 80))         EINPROGRESS",
        "   0.000  (settle)",
        "   0.300  server  conn, _ = s.accept()              fd 4"]
    assert "   0.500  ss server" in table
    assert "          ESTAB   5      0      10.0.0.2:80        10.0.0.1:40000" in table
    assert table[table.index("   0.600  client  c.recv(65536)                     ECONNRESET")
                  + 1:][:2] == [
        "   0.600  client  c.recv(65536)                     b''",
        "   0.600  client  c.send(b'more')                   EPIPE"]
    end = lines[lines.index("At the end (t=0.600 s):"):]
    assert end[1:6] == [
        "client$ ss -tano",
        "State  Recv-Q Send-Q Local Address:Port Peer Address:Port",
        "server$ ss -tano",
        "State   Recv-Q Send-Q Local Address:Port Peer Address:Port",
        "LISTEN  0      5      0.0.0.0:80         0.0.0.0:*"]
    assert lines[-1] == "See RFC 9293 §3.6.1 (SHLD-2), §3.10.7.4; Linux tcp_close(); tcp(7)."


def test_run_of_a_socket_scenario_can_add_the_trace_and_every_steps_explanation(capsys):
    code, out, _ = cli(capsys, "run", "close-unread-rst", "--rfc-isn", "--trace", "--explain")
    assert code == 0
    assert "<SEQ=301><ACK=106><CTL=RST,ACK>" in out             # the trace
    assert "[server:80-client:40000] -- " in out               # a step, with its socket


def test_run_of_an_rfc_level_scenario_is_unchanged(capsys):
    code, out, _ = cli(capsys, "run", "handshake", "--rfc-isn", "--no-times")
    assert code == 0 and "<SEQ=100><CTL=SYN>" in out
    assert "Final states: client ESTABLISHED, server ESTABLISHED" in out


def test_scenarios_lists_the_socket_level_ones_apart(capsys):
    code, out, _ = cli(capsys, "scenarios")
    before, after = out.split("With sockets (hosts that hold sockets, Linux's values; see "
                              "them with 'ss NAME'):\n")
    assert "handshake" in before and "accept-queue" not in before
    assert [line.split()[0] for line in after.splitlines() if line.strip()][:5] == [
        "accept-queue", "backlog-overflow", "econnrefused", "close-unread-rst",
        "time-wait-eaddrinuse"]


def test_ss_output_is_what_explain_reads(capsys, tmp_path):
    code, out, _ = cli(capsys, "ss", "backlog-overflow", "--at", "20", "--host", "server",
                       "-o")
    saved = tmp_path / "ss.txt"
    saved.write_text(out)
    code, text, err = cli(capsys, "explain", str(saved))
    assert code == 0 and err == ""
    assert text.startswith("4 sockets: 1 LISTEN, 1 SYN-RECEIVED, 2 ESTABLISHED "
                           "(1 other line skipped)")
    assert "[bug] full accept queue: 2 at 0.0.0.0:80" in text
    assert "local 0.0.0.0:80  peer *  Recv-Q 2  Send-Q 1" in text
    assert "local 10.0.0.2:80  peer 10.0.0.1:40002  Recv-Q 0  Send-Q 0  retransmission " \
           "timer 0.8 s" in text


def test_the_pipe_into_explain_works_in_a_shell():
    ss = subprocess.run([sys.executable, "-m", "tcplab", "ss", "accept-queue", "--at", "18",
                         "--host", "server"], cwd=ROOT, capture_output=True, text=True,
                        timeout=60, check=True)
    explained = subprocess.run([sys.executable, "-m", "tcplab", "explain"], input=ss.stdout,
                               cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert explained.returncode == 0, explained.stderr
    assert "local 0.0.0.0:80  peer *  Recv-Q 2  Send-Q 5" in explained.stdout
    assert "counts the connections in the accept queue" in explained.stdout


def test_the_readme_example_runs_and_shows_the_reset(capsys):
    import re
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S)
                if "SocketNetwork" in b]
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[-4:] == ["   0.600   client  c.recv(65536)  -> ECONNRESET",
                        "   0.600  ss server",
                        "State   Recv-Q Send-Q Local Address:Port Peer Address:Port",
                        "LISTEN  0      1      0.0.0.0:80         0.0.0.0:*"]


def test_run_explain_numbers_the_steps_as_ss_at_counts_them(capsys):
    code, out, _ = cli(capsys, "run", "backlog-overflow", "--explain")
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.startswith(" 20. "))
    assert line.startswith(" 20. 0.600   client CLOSED -> SYN-SENT: active OPEN  (connect()) "
                           "[client:40003-server:80]")
