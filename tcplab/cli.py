"""Every command line of tcplab: ``python -m tcplab`` (or ``tcplab``) with a subcommand.

``scenarios`` and ``run NAME`` (text, from the model), ``diagram`` and ``ladder NAME``
(pictures, :mod:`tcplab.render`), ``generate`` and ``grade`` (the instructor's kit,
:mod:`tcplab.exercises.grading`), ``notebooks`` and ``lab`` (the lessons in a folder of
your own, :mod:`tcplab.course`).  The layer behind a subcommand is imported only when
that subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import textwrap

from . import scenarios
from .render.text import trace


def _cmd_scenarios(args: argparse.Namespace) -> int:
    width = max(len(n) for n in scenarios.names())
    for sc in scenarios.SCENARIOS.values():
        print(f"{sc.name:<{width}}  {sc.title}")
    print("\nRun one with: python -m tcplab run NAME")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    sc = scenarios.get(args.name)
    isn = {"client": 100, "server": 300} if args.rfc_isn else None
    net = sc.run(isn=isn, seed=args.seed) if isn else sc.run(seed=args.seed)
    print(f"{sc.title}\n")
    print(textwrap.fill(sc.summary, 90))
    print(f"\nSocket calls:\n{textwrap.indent(sc.socket_code(), '  ')}\n")
    print(trace(net, style=args.style, times=not args.no_times))
    if args.explain:
        print()
        for st in net.history:
            print(textwrap.fill(f"{st.summary().strip()} -- {st.explanation}", 100,
                                subsequent_indent="      "))
    print(f"\nFinal states: " + ", ".join(f"{n} {s}" for n, s in net.states().items()))
    if sc.notes:
        print("\n" + textwrap.fill(sc.notes, 90))
    print(f"\nSee {sc.rfc}.")
    return 0


def _delegate(module: str, func: str, argv: list[str]) -> int:
    import importlib
    mod = importlib.import_module(f"tcplab.{module}")
    return int(getattr(mod, func)(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status.  Output cut short by the reader (``... | head``)
    ends the command quietly, as ``cat`` does, instead of with a BrokenPipeError."""
    try:
        status = _main(argv)
        sys.stdout.flush()          # a closed pipe shows here, while we can still catch it
        return status
    except BrokenPipeError:
        # The reader is gone.  Point stdout at devnull so the interpreter's own flush at
        # exit cannot fail again (the recipe of Python's "signal" documentation).
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141                  # 128 + SIGPIPE, what a shell reports for such a command


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "diagram":
        return _delegate("render.diagram", "cli_diagram", argv[1:])
    if argv and argv[0] == "ladder":
        return _delegate("render.ladder_diagram", "cli_ladder", argv[1:])
    if argv and argv[0] in ("grade", "generate"):
        if importlib.util.find_spec("otter") is None and not {"-h", "--help"} & set(argv):
            print(f"tcplab {argv[0]}: error: the instructor's kit needs otter-grader, which "
                  "is not installed here: pip install 'tcplab[assignments]'", file=sys.stderr)
            return 2
        return _delegate("exercises.grading", "main", argv)
    if argv and argv[0] in ("notebooks", "lab"):
        return _delegate("course.commands", "main", argv)
    parser = argparse.ArgumentParser(
        prog="python -m tcplab",
        description="TCP connection states, RFC 9293, as text and pictures.",
        epilog="Also: 'diagram' (graphviz state diagram) and 'ladder NAME' (sequence "
               "diagram); add -h after either for its options.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("scenarios", help="list the named scenarios").set_defaults(func=_cmd_scenarios)
    run = sub.add_parser("run", help="print a scenario's trace, RFC-figure style")
    run.add_argument("name", help="scenario name (see 'scenarios')")
    run.add_argument("--style", choices=("rfc", "tcpdump"), default="rfc")
    run.add_argument("--no-times", action="store_true", help="leave out the time column")
    run.add_argument("--explain", action="store_true", help="explain every step")
    run.add_argument("--seed", type=int, default=0, help="seed for the random ISNs")
    run.add_argument("--rfc-isn", action="store_true",
                     help="use ISNs 100 and 300 as in the RFC's figures")
    run.set_defaults(func=_cmd_run)
    sub.add_parser("diagram", help="draw the state diagram (see 'diagram -h')")
    sub.add_parser("ladder", help="draw a scenario's ladder diagram (see 'ladder -h')")
    sub.add_parser("generate", help="instructors: build the course assignments with otter "
                                    "(see 'generate -h')")
    sub.add_parser("grade", help="instructors: grade a folder of submissions (see 'grade -h')")
    sub.add_parser("notebooks", help="copy the lessons and student assignments into a folder "
                                     "(see 'notebooks -h')")
    sub.add_parser("lab", help="the same, then open JupyterLab there (see 'lab -h')")
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")

