"""``python -m tcplab capture FILE``: the command line of the capture layer.

Without ``--conversation`` it lists the TCP conversations of FILE, each with its story;
with ``--conversation N`` it prints both ends' states after every packet of conversation N
(and what the RFC explains), ``--trace`` adds the RFC-figure trace, ``-o ladder.png`` draws
the ladder (PNG, SVG or PDF by the suffix).  Every error is one line on stderr, exit
status 2.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tcplab capture",
        description="Open a pcap or pcapng capture: list its TCP conversations, or show both "
                    "ends' RFC 9293 states after every packet of one of them.")
    p.add_argument("file", help="a .pcap or .pcapng file (tcpdump -w, Wireshark)")
    p.add_argument("-c", "--conversation", type=int, metavar="N",
                   help="the conversation to show (its number in the list)")
    p.add_argument("-o", "--output", metavar="LADDER",
                   help="draw the conversation's ladder diagram to this .png/.svg/.pdf file")
    p.add_argument("--trace", action="store_true",
                   help="also print the RFC-figure trace of the conversation")
    p.add_argument("--style", choices=("tcpdump", "rfc", "short"), default="tcpdump",
                   help="segment labels on the ladder (default: tcpdump)")
    p.add_argument("--absolute", action="store_true",
                   help="absolute sequence numbers (default: relative to each ISN)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from . import Capture, CaptureError, CaptureRun, save_ladder, trace
    try:
        cap = Capture(args.file)
        if args.conversation is None:
            if args.output or args.trace:
                raise CaptureError("-o and --trace draw one conversation: add "
                                   "--conversation N (N from the list without it)")
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
        if args.output:
            path = save_ladder(run, args.output, style=args.style)
            print(f"\nladder written to {path}")
        return 0
    except (CaptureError, ValueError, OSError) as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0
