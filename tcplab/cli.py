"""Every command line of tcplab: ``python -m tcplab`` (or ``tcplab``) with a subcommand.

``scenarios`` and ``run NAME`` (text, from the model), ``ss NAME`` (the model's ``ss -tan``
of a socket-level scenario's hosts at any step, :mod:`tcplab.sockets`), ``explain [FILE]``
(a socket table from ``ss -tano`` or ``/proc/net/tcp`` explained, :mod:`tcplab.explain`),
``diagram`` and ``ladder NAME``
(pictures, :mod:`tcplab.render`), ``generate`` and ``grade`` (the instructor's kit,
:mod:`tcplab.exercises.grading`), ``notebooks`` and ``lab`` (the lessons in a folder of
your own, :mod:`tcplab.course`), ``capture FILE`` (a pcap's conversations and states,
:mod:`tcplab.capture`).  The layer behind a subcommand is imported only when
that subcommand runs.

Every argument is checked before any work starts; a bad one ends the command with one
line on standard error and exit status 2, never a traceback.

>>> main(["diagram", "--dpi", "0", "-o", "x.png"])
Traceback (most recent call last):
SystemExit: 2
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import textwrap
from pathlib import Path
from typing import NoReturn

from . import scenarios

#: Resolution limits for PNG output, dots per inch: below, nothing is legible; above, a
#: picture runs to hundreds of megapixels.
DPI_RANGE = (20, 600)
FORMATS = (".svg", ".png", ".pdf")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (with where to look), not the usage block."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


def _dpi(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    low, high = DPI_RANGE
    if not math.isfinite(value) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} is outside {low}..{high} dots per inch")
    return value


def _output(parser: argparse.ArgumentParser, path: str) -> Path:
    """Refuse an output file that cannot be written, before drawing anything."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        parser.error(f"-o {path}: the file name must end in .svg, .png or .pdf")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        parser.error(f"-o {path}: there is no folder {folder}")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        parser.error(f"-o {path}: not allowed to write there")
    if out.is_dir():
        parser.error(f"-o {path}: that is a folder, not a file name")
    return out


def _cmd_scenarios(args: argparse.Namespace) -> int:
    width = max(len(n) for n in scenarios.names())
    rfc = [sc for sc in scenarios.SCENARIOS.values() if not sc.sockets]
    socket_level = [sc for sc in scenarios.SCENARIOS.values() if sc.sockets]
    for sc in rfc:
        print(f"{sc.name:<{width}}  {sc.title}")
    print("\nWith sockets (hosts that hold sockets, Linux's values; see them with 'ss NAME'):")
    for sc in socket_level:
        print(f"{sc.name:<{width}}  {sc.title}")
    print("\nRun one with: python -m tcplab run NAME")
    return 0


def _socket_level(name: str) -> scenarios.Scenario:
    """The scenario called ``name``, which must be written at the socket level."""
    sc = scenarios.get(name)
    if not sc.sockets:
        raise ValueError(f"{name} is told by two bare TCBs, which have no sockets to list; "
                         "ss shows the socket-level scenarios: " + ", ".join(
                             s.name for s in scenarios.SCENARIOS.values() if s.sockets))
    return sc


def _ss_prompt(net: object, host: str, timers: bool, note: str = "") -> str:
    """``server$ ss -tano`` and the table: a shell session, which ``tcplab explain`` reads."""
    table = net.ss(host, timers=timers)  # type: ignore[attr-defined]
    return f"{host}$ ss -tan{'o' if timers else ''}{note}\n{table}"


def _cmd_ss(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    sc = _socket_level(args.name)
    kw: dict[str, object] = {"seed": args.seed}
    if args.rfc_isn:
        kw["isn"] = {"client": 100, "server": 300}
    net = sc.run(**kw)
    last = len(net.history)
    at = last if args.at is None else args.at
    if not 0 <= at <= last:
        parser.error(f"--at {args.at}: {sc.name} has steps 0..{last} (0: before the first, "
                     f"{last}: after the last)")
    if args.host is not None and args.host not in net.names:
        parser.error(f"--host {args.host}: the hosts are {', '.join(net.names)}")
    view = net if at == last else net.replay(at)
    step = (f"after step {at} of {last}: " + " ".join(net.history[at - 1].summary().split())
            if at else f"before the first of {last} steps")
    for host in [args.host] if args.host else net.names:
        print(_ss_prompt(view, host, args.timers, f"    # {step}"))
    return 0


def _cmd_run_sockets(args: argparse.Namespace, sc: scenarios.Scenario, kw: dict) -> int:
    from .render.text import trace

    net, outcomes = sc.play(**kw)
    print(f"{sc.title}\n")
    print(textwrap.fill(sc.summary, 90))
    code_width = max(len(o.command.code() or "") for o in outcomes)
    print(f"\n{'time':>8}  {'host':<6}  {'call':<{code_width}}  result")
    for o in outcomes:
        cmd = o.command
        if cmd.kind == "socket":
            print(f"{o.time:8.3f}  {cmd.actor:<6}  {cmd.code():<{code_width}}  {o.result}")
        elif cmd.kind == "ss":
            print(f"{o.time:8.3f}  {cmd.text}")
            print(textwrap.indent(o.ss or "", " " * 10))
        else:
            print(f"{o.time:8.3f}  ({cmd.text})")
    if args.trace:
        print()
        print(trace(net, style=args.style, times=not args.no_times))
    if args.explain:
        print()
        for i, st in enumerate(net.history, 1):     # i: the step number of 'ss --at'
            print(textwrap.fill(f"{i:>3}. {st.summary().strip()} [{st.socket}] -- "
                                f"{st.explanation}", 100, subsequent_indent="       "))
    print(f"\nAt the end (t={net.now:.3f} s):")
    for host in net.names:
        print(_ss_prompt(net, host, True))
    if sc.notes:
        print("\n" + textwrap.fill(sc.notes, 90))
    print(f"\nSee {sc.rfc}.")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .render.text import trace

    sc = scenarios.get(args.name)
    isn = {"client": 100, "server": 300} if args.rfc_isn else None
    if sc.sockets:
        return _cmd_run_sockets(args, sc, {"seed": args.seed, **({"isn": isn} if isn else {})})
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
    print("\nFinal states: " + ", ".join(f"{n} {s}" for n, s in net.states().items()))
    if sc.notes:
        print("\n" + textwrap.fill(sc.notes, 90))
    print(f"\nSee {sc.rfc}.")
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from .explain import MAX_CHARS, explain
    try:
        if args.file == "-":
            if sys.stdin.isatty():
                print("Paste the output of ss -tano (or /proc/net/tcp), then Ctrl-D:",
                      file=sys.stderr)
            data = sys.stdin.buffer.read(MAX_CHARS + 1)
        else:
            with open(args.file, "rb") as f:
                data = f.read(MAX_CHARS + 1)
    except OSError as exc:
        raise ValueError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        return 130
    if len(data) > MAX_CHARS:
        raise ValueError(f"{args.file}: more than {MAX_CHARS:,} bytes; at most that much is "
                         "read (filter it first, e.g. ss -tan state close-wait)")
    text = explain(data.decode("utf-8", errors="replace"), pile=args.pile)
    try:
        print(text, flush=True)
    except BrokenPipeError:           # `tcplab explain | head`: the reader has had enough
        sys.stdout = open(os.devnull, "w")
    return 0


def _cmd_diagram(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .render.diagram import GraphvizNotFound, StateDiagram
    from .states import TcpState

    names = [n.strip() for n in args.names.split(",") if n.strip()]
    if len(names) != 2 or names[0] == names[1]:
        parser.error("--names takes two different names, e.g. --names client,server")
    out = _output(parser, args.output)
    try:
        current = {}
        if args.state:
            current[names[0]] = TcpState.parse(args.state)
        if args.peer:
            current[names[1]] = TcpState.parse(args.peer)
        diagram = StateDiagram(args.layers, args.codes, endpoints=names)
        written = diagram.show(current=current or None).save(out, dpi=args.dpi)
    except (ValueError, GraphvizNotFound) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    print(f"wrote {written}")
    return 0


def _cmd_ladder(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .render.ladder_diagram import ladder

    try:
        sc = scenarios.get(args.name)
    except (KeyError, ValueError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc.args[0] if exc.args else exc}\n")
    out = _output(parser, args.output or f"{sc.name}.png")
    kw: dict[str, object] = {"seed": args.seed}
    if args.rfc_isn:
        kw["isn"] = {"client": 100, "server": 300}
    net = sc.run(**kw)
    if args.upto is not None and not 0 <= args.upto < len(net.history):
        parser.error(f"--upto {args.upto}: {sc.name} has steps 0..{len(net.history) - 1}")
    try:
        fig = ladder(net, upto=args.upto, style=args.style,
                     title=None if args.no_title else sc.title)
        fig.savefig(out, format=out.suffix.lower().lstrip("."), dpi=args.dpi,
                    facecolor="white")
    except (ValueError, OSError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    print(f"wrote {out}")
    return 0


def _cmd_capture(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .capture import Capture, CaptureError, CaptureRun, save_ladder, trace

    if args.conversation is None and (args.output or args.trace):
        parser.error("-o and --trace draw one conversation: add --conversation N "
                     "(N from the list without it)")
    out = _output(parser, args.output) if args.output else None
    try:
        cap = Capture(args.file)
        if args.conversation is None:
            print(cap.table())
            if cap.conversations:
                print("\nShow one with: python -m tcplab capture FILE --conversation N "
                      "[-o ladder.png]")
            return 0
        conv = cap.conversation(args.conversation)
        inf = cap.infer(args.conversation)
        print(f"conversation {conv.number}: {conv.story()}")
        print(inf.text())
        run = CaptureRun(inf, relative=not args.absolute)
        if args.trace:
            print()
            print(trace(run, style="rfc" if args.style == "rfc" else "tcpdump"))
        if out is not None:
            print(f"\nwrote {save_ladder(run, out, style=args.style)}")
        return 0
    except (CaptureError, ValueError, OSError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    return 0


def _delegate(module: str, func: str, argv: list[str]) -> int:
    import importlib
    mod = importlib.import_module(f"tcplab.{module}")
    return int(getattr(mod, func)(argv) or 0)


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    from .transitions import LAYERS

    parser = _Parser(
        prog="python -m tcplab",
        description="TCP connection states, RFC 9293, as text and pictures.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("scenarios", help="list the named scenarios").set_defaults(func=_cmd_scenarios)
    run = sub.add_parser(
        "run", help="print a scenario's trace, RFC-figure style; a socket-level scenario's "
                    "calls, their results and the final ss",
        description="Run a named scenario in the model and print it: an RFC-level story as "
                    "the RFC's figures draw it; a socket-level story as its socket calls with "
                    "their results (fd 3, 0, EINPROGRESS, b'...', ECONNRESET ...), the ss "
                    "views it asks for, and every host's ss -tano at the end.")
    run.add_argument("name", help="scenario name (see 'scenarios')")
    run.add_argument("--style", choices=("rfc", "tcpdump"), default="rfc")
    run.add_argument("--no-times", action="store_true", help="leave out the time column")
    run.add_argument("--explain", action="store_true", help="explain every step")
    run.add_argument("--trace", action="store_true",
                     help="a socket-level scenario: print the segments' trace too")
    run.add_argument("--seed", type=int, default=0, help="seed for the random ISNs")
    run.add_argument("--rfc-isn", action="store_true",
                     help="use ISNs 100 and 300 as in the RFC's figures (for a socket-level "
                          "scenario: each host's first connection)")
    run.set_defaults(func=_cmd_run)
    ss = sub.add_parser(
        "ss", help="the model's ss -tan(o) of a socket-level scenario's hosts, at any step",
        description="Print what ss -tan (with -o: ss -tano) would show on the hosts of a "
                    "socket-level scenario (see 'scenarios'), after any step of its run: "
                    "listeners with their accept queue (Recv-Q) and backlog (Send-Q), "
                    "SYN-RECV request socks, connections, TIME-WAIT. The output is a shell "
                    "session that 'tcplab explain' reads: python -m tcplab ss backlog-overflow "
                    "--host server --at 20 | python -m tcplab explain")
    ss.add_argument("name", help="a socket-level scenario (see 'scenarios')")
    ss.add_argument("--host", help="one host (client or server); default: every host")
    ss.add_argument("--at", type=int, metavar="STEP",
                    help="after this many steps (0: before the first; the numbers of 'run "
                         "NAME --explain'); default: the end")
    ss.add_argument("-o", "--timers", action="store_true",
                    help="show the timer column, as ss -o does")
    ss.add_argument("--seed", type=int, default=0, help="seed for the random ISNs")
    ss.add_argument("--rfc-isn", action="store_true",
                    help="each host's first connection uses ISN 100 (client) or 300 (server)")
    ss.set_defaults(func=_cmd_ss)
    exp = sub.add_parser("explain", help="explain each socket of ss -tan(o) output or "
                         "/proc/net/tcp lines: state, who waits, bugs, where to read",
                         description="Explain a socket table: give it the output of "
                         "'ss -tano' (or ss -tan, ss -tanop, /proc/net/tcp, /proc/net/tcp6) "
                         "as a file or on stdin, e.g.  ss -tano | tcplab explain")
    exp.add_argument("file", nargs="?", default="-",
                     help="a file holding the output; '-' or nothing: standard input")
    exp.add_argument("--pile", type=int, default=3, metavar="N",
                     help="this many sockets in one state on one address make a finding "
                          "(default 3)")
    exp.set_defaults(func=_cmd_explain)

    dia = sub.add_parser(
        "diagram", help="draw the state diagram (RFC 9293 figure 5)",
        description="Draw the TCP state diagram (RFC 9293 figure 5), optionally with one or "
                    "two endpoints' current states highlighted.")
    dia.add_argument("--state", help="the (client's) current state, any spelling: "
                                     "ESTABLISHED, close_wait, SYN_RECV, ...")
    dia.add_argument("--peer", help="the peer's (server's) current state")
    dia.add_argument("--names", default="client,server",
                     help="names of the two endpoints (default: client,server)")
    dia.add_argument("--layers", default=None,
                     help=f"'all', or extra layers to add to the default, comma-separated: "
                          f"{', '.join(LAYERS)}")
    dia.add_argument("--codes", action="store_true", help="show the SNMP TCP-MIB state numbers")
    dia.add_argument("--dpi", type=_dpi, default=144,
                     help=f"PNG resolution, {DPI_RANGE[0]}..{DPI_RANGE[1]} (default 144)")
    dia.add_argument("-o", "--output", default="tcp-states.svg",
                     help="output file; .svg, .png or .pdf (default tcp-states.svg)")
    dia.set_defaults(func=_cmd_diagram)

    lad = sub.add_parser(
        "ladder", help="draw a scenario's ladder (sequence) diagram",
        description="Draw a named scenario's sequence (ladder) diagram to PNG, SVG or PDF.")
    lad.add_argument("name", help="scenario name (see 'python -m tcplab scenarios')")
    lad.add_argument("-o", "--output", help="output file (.png, .svg or .pdf); default NAME.png")
    lad.add_argument("--style", choices=("rfc", "tcpdump", "short"), default="rfc",
                     help="segment labels")
    lad.add_argument("--upto", type=int, default=None,
                     help="draw only up to this step (0-based)")
    lad.add_argument("--dpi", type=_dpi, default=150,
                     help=f"PNG resolution, {DPI_RANGE[0]}..{DPI_RANGE[1]} (default 150)")
    lad.add_argument("--seed", type=int, default=0, help="seed for the random ISNs")
    lad.add_argument("--rfc-isn", action="store_true",
                     help="use ISNs 100 and 300 as in the RFC's figures")
    lad.add_argument("--no-title", action="store_true", help="leave out the title")
    lad.set_defaults(func=_cmd_ladder)

    sub.add_parser("generate", help="instructors: build the course assignments with otter "
                                    "(see 'generate -h')")
    sub.add_parser("grade", help="instructors: grade a folder of submissions (see 'grade -h')")
    sub.add_parser("notebooks", help="copy the lessons and student assignments into a folder "
                                     "(see 'notebooks -h')")
    sub.add_parser("lab", help="the same, then open JupyterLab there (see 'lab -h')")
    cap = sub.add_parser(
        "capture", help="open a pcap/pcapng capture: conversations, both ends' states per "
                        "packet, ladder",
        description="Open a pcap or pcapng capture: list its TCP conversations, or show both "
                    "ends' RFC 9293 states after every packet of one of them.")
    cap.add_argument("file", help="a .pcap or .pcapng file (tcpdump -w, Wireshark)")
    cap.add_argument("-c", "--conversation", type=int, metavar="N",
                     help="the conversation to show (its number in the list)")
    cap.add_argument("-o", "--output", metavar="LADDER",
                     help="draw the conversation's ladder diagram to this .png/.svg/.pdf file")
    cap.add_argument("--trace", action="store_true",
                     help="also print the RFC-figure trace of the conversation")
    cap.add_argument("--style", choices=("tcpdump", "rfc", "short"), default="tcpdump",
                     help="segment labels on the ladder (default: tcpdump)")
    cap.add_argument("--absolute", action="store_true",
                     help="absolute sequence numbers (default: relative to each ISN)")
    cap.set_defaults(func=_cmd_capture)
    return parser, {"diagram": dia, "ladder": lad, "capture": cap, "ss": ss}


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
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141                  # 128 + SIGPIPE, what a shell reports for such a command


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("grade", "generate"):
        if importlib.util.find_spec("otter") is None and not {"-h", "--help"} & set(argv):
            print(f"tcplab {argv[0]}: error: the instructor's kit needs otter-grader, which "
                  "is not installed here: pip install 'tcplab[assignments]'", file=sys.stderr)
            return 2
        return _delegate("exercises.grading", "main", argv)
    if argv and argv[0] in ("notebooks", "lab"):
        return _delegate("course.commands", "main", argv)
    parser, subparsers = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command in subparsers:
            return args.func(args, subparsers[args.command])
        return args.func(args)
    except ValueError as exc:
        parser.exit(2, f"{parser.prog} {args.command}: error: {exc}\n")
