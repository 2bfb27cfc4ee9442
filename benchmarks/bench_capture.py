"""How fast are captures read and conversations inferred?

Writes a capture in a temporary folder (``size`` MB, default 20: one long transfer of
1400-byte segments with an ACK every second segment, and a short handshake-only
conversation every 40 segments), then prints packets per second, wall clock and process
CPU time, for:

* ``read_tcp``: dpkt decoding every frame to a :class:`~tcplab.capture.reader.TcpPacket`;
* ``conversations``: the same plus the per-conversation summaries and stories;
* ``infer``: the model fed with one conversation of ``n`` packets (default 5,000:
  handshake, data, close), states after every packet, and the marks;

and the peak resident memory of the process (streaming: it does not grow with the file).
A CPU calibration line (``sum(range(10**7))``) makes numbers from different machines
comparable.

Run: ``.venv/bin/python benchmarks/bench_capture.py [size_MB] [infer_packets]``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dpkt  # noqa: E402

from tcplab.capture import Capture, ReadStats, conversations, read_tcp  # noqa: E402
from tcplab.capture.write import Frame, frame_bytes, write_capture  # noqa: E402


def big_capture(path: Path, size: int) -> None:
    templ = frame_bytes(Frame(0, "c", "PA", 1, 1, 1400))
    ack = frame_bytes(Frame(0, "s", "A", 1, 1))
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f, snaplen=65535, linktype=1)
        seq, t, n = 1, 0.0, 0
        while f.tell() < size:
            buf = bytearray(templ)
            buf[38:42] = (seq % 2 ** 32).to_bytes(4, "big")   # the TCP sequence field
            w.writepkt(bytes(buf), ts=t)
            if n % 2 == 0:
                w.writepkt(ack, ts=t + 1e-5)
            if n % 40 == 0:
                syn = Frame(0, "c", "S", 7)
                w.writepkt(frame_bytes(syn, client=("10.0.1.1", 20000 + n // 40 % 40000)), ts=t)
            seq += 1400
            t += 1e-4
            n += 1


def conversation(path: Path, n: int) -> None:
    F = Frame
    frames = [F(0.0, "c", "S", 1000), F(0.02, "s", "SA", 5000, 1001),
              F(0.0201, "c", "A", 1001, 5001)]
    seq, t = 1001, 0.03
    while len(frames) < n - 4:
        frames.append(F(t, "c", "PA", seq, 5001, 1000))
        frames.append(F(t + 0.02, "s", "A", 5001, seq + 1000))
        seq, t = seq + 1000, t + 0.001
    frames += [F(t, "c", "FA", seq, 5001), F(t + 0.02, "s", "FA", 5001, seq + 1),
               F(t + 0.0201, "c", "A", seq + 1, 5002)]
    write_capture(path, frames)


def timed(label: str, packets: int, fn) -> None:  # noqa: ANN001
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"{label:<16} {packets:>9,} packets  {wall:7.2f} s wall  {cpu:7.2f} s CPU  "
          f"{packets / cpu:>10,.0f} packets/s (CPU)")


def main() -> None:
    size = int(float(sys.argv[1]) * 1e6) if len(sys.argv) > 1 else 20_000_000
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    c0 = time.process_time()
    sum(range(10 ** 7))
    print(f"CPU calibration: sum(range(10**7)) = {1e3 * (time.process_time() - c0):.0f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.pcap"
        big_capture(big, size)
        stats = ReadStats()
        total = sum(1 for _ in read_tcp(big, stats))
        print(f"capture: {big.stat().st_size / 1e6:.0f} MB, {stats.frames:,} frames")
        timed("read_tcp", total, lambda: sum(1 for _ in read_tcp(big)))
        timed("conversations", total, lambda: conversations(big))
        small = Path(tmp) / "one.pcap"
        conversation(small, n)
        cap = Capture(small)
        timed("infer", cap.conversations[0].packets, lambda: cap.infer(1))
    with open("/proc/self/status") as status:     # VmHWM: this process's own peak
        hwm = next(line for line in status if line.startswith("VmHWM")).split()[1]
    print(f"peak resident memory: {int(hwm) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
