"""Shared test helpers."""

from __future__ import annotations

import os


def socket_fds() -> set[str]:
    """This process's open sockets (``socket:[inode]``), to prove a test leaked none."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            out.add(target)
    return out


def cli_command(command: str):
    """``python -m tcplab COMMAND`` as a function of its arguments returning the exit status
    (a usage error's SystemExit included)."""
    from tcplab.cli import main

    def run(argv: list[str]) -> int:
        try:
            return main([command, *argv])
        except SystemExit as exc:
            return int(exc.code or 0)
    return run
