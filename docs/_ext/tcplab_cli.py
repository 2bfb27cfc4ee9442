"""``.. tcplab-cli::`` -- the command-line reference, straight from the argparse parsers.

The directive runs ``tcplab -h`` and ``tcplab SUBCOMMAND -h`` for every subcommand the main
parser lists, in this process, and puts each help text in a section of its own.  Reading the
parsers' own output (rather than importing them, as sphinx-argparse does) keeps the page true
however :mod:`tcplab.cli` hands a subcommand to the module that owns it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re

from docutils import nodes
from docutils.parsers.rst import Directive

WIDTH = "88"


def _help(argv: list[str]) -> str:
    from tcplab.cli import main

    out = io.StringIO()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main(argv + ["-h"])
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    text = out.getvalue().replace("python -m tcplab", "tcplab")
    if not text.strip():
        raise RuntimeError(f"'tcplab {' '.join(argv)} -h' printed nothing")
    return text


def subcommands() -> list[str]:
    """The subcommands, in the order the main parser lists them."""
    m = re.search(r"\{([a-z,-]+)\}", _help([]))
    if not m:
        raise RuntimeError("could not find the subcommands in 'tcplab -h'")
    return m.group(1).split(",")


class TcplabCli(Directive):
    has_content = False

    def run(self) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        for argv in [[]] + [[name] for name in subcommands()]:
            title = " ".join(["tcplab", *argv])
            section = nodes.section(ids=[nodes.make_id(title)], names=[nodes.fully_normalize_name(title)])
            section += nodes.title(text=title)
            text = _help(argv)
            block = nodes.literal_block(text, text)
            block["language"] = "text"
            section += block
            out.append(section)
        return out


def setup(app):
    app.add_directive("tcplab-cli", TcplabCli)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
