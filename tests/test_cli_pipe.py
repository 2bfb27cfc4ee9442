"""``python -m tcplab run NAME | head`` ends quietly: no BrokenPipeError traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_reader_that_stops_early_gets_no_traceback():
    # The reader closes the pipe before reading anything (``head -0``), so every write
    # of the command meets a closed pipe -- the case ``| head`` hits when output is long.
    proc = subprocess.Popen([sys.executable, "-m", "tcplab", "run", "lost-final-ack",
                             "--explain"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode == 141


def test_the_whole_output_still_arrives_when_it_is_read():
    out = subprocess.run([sys.executable, "-m", "tcplab", "run", "handshake"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == ""
    assert "ESTABLISHED" in out.stdout
