"""Make the captures in this folder, on this machine, on loopback (needs root: CAP_NET_RAW).

    cd <repository> && sudo python tests/data/captures/make_captures.py

* ``live/<scenario>.pcap``: every live-lab scenario that runs on loopback
  (:data:`tcplab.live.LIVE_SCENARIOS`), captured with a packet socket while the lab's
  sampler asked the kernel for the sockets' states; ``live/kernel-states.json`` keeps what
  the kernel reported (``LiveRun.sequence``), so the tests can compare the states inferred
  from each capture with the kernel's without root.
* ``ns/<scenario>.pcap``: every live-lab scenario (the privileged ones too) in the namespace
  lab, two network namespaces with a one-way delay on the wire, captured on the client's
  virtual Ethernet interface (:func:`tcplab.capture.record.record_namespaces`);
  ``ns/kernel-states.json`` as above.  Skipped when the namespace lab is not available.

The lesson's captures are package data, in ``tcplab/capture/data/``
(:func:`tcplab.capture.example`):

* ``loopback-teardown.pcap``: a copy of ``live/teardown-client-first.pcap``;
* ``simultaneous-close.pcap``: a copy of ``ns/simultaneous-close.pcap``;
* ``http-reset.pcap``: an HTTP/1.1 request and reply on 127.0.0.1 where the client
  pipelines a second request that the server never reads; the server's close() with
  unread data makes Linux send RST instead of FIN (RFC 7230 §6.6 warns of exactly this).
* ``http-ipv6.pcap``: a request and reply over ::1, the client closing first.

Each file is a few KB.  Run again to refresh them (ISNs, ports and times change).
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
PACKAGE_DATA = HERE.parents[2] / "tcplab" / "capture" / "data"

from tcplab import live  # noqa: E402
from tcplab.capture.record import capture_loopback, record, record_namespaces  # noqa: E402

REQUEST = (b"GET /index.html HTTP/1.1\r\nHost: tcplab.example\r\nUser-Agent: tcplab\r\n"
           b"Accept: */*\r\n\r\n")
SECOND = b"GET /favicon.ico HTTP/1.1\r\nHost: tcplab.example\r\n\r\n"
BODY = b"<!doctype html><title>tcplab</title>" + b"<p>hello, TCP</p>\n" * 100


def _reply() -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
            str(len(BODY)).encode() + b"\r\nConnection: close\r\n\r\n" + BODY)


def http(family: int, host: str, pipeline: bool) -> tuple[tuple, tuple]:
    """One HTTP exchange on loopback; returns the (client, server) addresses."""
    lst = socket.socket(family, socket.SOCK_STREAM)
    lst.bind((host, 0))
    lst.listen(1)
    cli = socket.socket(family, socket.SOCK_STREAM)
    cli.connect(lst.getsockname()[:2])
    srv, _ = lst.accept()
    ends = (cli.getsockname()[:2], srv.getsockname()[:2])
    time.sleep(0.02)                                   # the browser thinks
    cli.sendall(REQUEST + (SECOND if pipeline else b""))
    time.sleep(0.03)                                   # the server thinks
    got = b""
    while b"\r\n\r\n" not in got:
        got += srv.recv(len(REQUEST) - len(got))       # reads the first request only
    srv.sendall(_reply())
    time.sleep(0.01)
    if pipeline:
        srv.close()                  # the second request is still unread: RST, not FIN
        time.sleep(0.05)
        try:
            while cli.recv(65536):
                pass
        except ConnectionResetError:
            pass
        cli.close()
    else:
        got = b""
        while len(got) < len(_reply()):
            got += cli.recv(65536)
        cli.close()                  # the client closes first
        time.sleep(0.05)
        srv.recv(10)
        srv.close()
        time.sleep(0.02)
    lst.close()
    return ends


def main() -> None:
    states: dict[str, dict] = {}
    for sc in live.LIVE_SCENARIOS.values():
        if sc.privileged:
            continue
        rec = record(sc.name, HERE / "live" / f"{sc.name}.pcap")
        states[sc.name] = {end: [s.name for s in rec.run.sequence(end)]
                           for end in ("client", "server")}
        states[sc.name]["frames"] = rec.frames
        states[sc.name]["dropped"] = rec.dropped
        print(f"live/{sc.name}.pcap: {rec.frames} frames, {rec.dropped} dropped")
    (HERE / "live" / "kernel-states.json").write_text(json.dumps(states, indent=1) + "\n")
    shutil.copy(HERE / "live" / "teardown-client-first.pcap",
                PACKAGE_DATA / "loopback-teardown.pcap")
    if live.capabilities().namespaces:
        (HERE / "ns").mkdir(exist_ok=True)
        states = {}
        for sc in live.LIVE_SCENARIOS.values():
            rec = record_namespaces(sc.name, HERE / "ns" / f"{sc.name}.pcap")
            states[sc.name] = {end: [s.name for s in rec.run.sequence(end)]
                               for end in ("client", "server")}
            states[sc.name].update(frames=rec.frames, dropped=rec.dropped,
                                   delay=rec.run.delay)
            print(f"ns/{sc.name}.pcap: {rec.frames} frames, {rec.dropped} dropped")
        (HERE / "ns" / "kernel-states.json").write_text(json.dumps(states, indent=1) + "\n")
        shutil.copy(HERE / "ns" / "simultaneous-close.pcap",
                    PACKAGE_DATA / "simultaneous-close.pcap")
    for name, family, host, pipeline in (("http-reset", socket.AF_INET, "127.0.0.1", True),
                                         ("http-ipv6", socket.AF_INET6, "::1", False)):
        box: list = []
        _, frames, dropped = capture_loopback(
            PACKAGE_DATA / f"{name}.pcap", lambda: box.append(http(family, host, pipeline)),
            lambda: {frozenset(box[0])})
        print(f"{name}.pcap: {frames} frames, {dropped} dropped")


if __name__ == "__main__":
    main()
