"""Mutation testing of tcplab's model: how many wrong models do the fast tests catch?

Runs mutmut (https://mutmut.readthedocs.io, 3.x) on ``tcplab/endpoint.py``,
``tcplab/network.py`` and ``tcplab/segment.py`` against the fast model tests (listed in
``[tool.mutmut]`` of ``pyproject.toml``), prints the score per module and lists the
survivors with the line each one changes.  Usage (from the repository root)::

    bash scripts/mutation.sh                   # every behaviour mutant (slow: see README)
    bash scripts/mutation.sh --sample 0.3      # a seeded 30 % sample of each module
    bash scripts/mutation.sh --fail-under 90   # exit 1 if a module scores below 90 %
    bash scripts/mutation.sh --report-only     # score the last run again (after editing
                                               # scripts/mutation.toml), without running

mutmut does the mutating and the running; this script adds what it cannot do:

- it runs in a copy of the tree (``--workdir``), so mutmut's ``mutants/`` folder never
  lands in the repository and a worktree can be tested while others work in it;
- it leaves out, by configuration (``scripts/mutation.toml``, ``[text]``), the mutants that
  only change explanation text: a mutant whose syntax tree differs from the original only
  in prose string literals (a word and a space), changed or replaced by None, unless that
  string is behaviour -- the error an application is told, listed in ``behaviour_strings``;
  and the mutants listed in ``[[text_only]]`` (a condition that only picks which
  explanation to give), each with its reason;
- it leaves out the survivors marked equivalent (``[[equivalent]]``: the function, the
  changed line, and why no run can tell the mutant apart) and reports them apart;
- it samples behaviour mutants per module with a fixed seed (``--sample``, ``--seed``),
  because a full run takes long on a small machine.

A timeout counts as caught (the mutant made the model hang and a test noticed); a mutant
no test reaches counts as a survivor.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("tcplab/endpoint.py", "tcplab/network.py", "tcplab/segment.py")
CAUGHT = {1: "killed", 3: "killed", 36: "timeout", -24: "timeout", 24: "timeout",
          152: "timeout", 255: "timeout", -11: "crashed", -9: "crashed"}
PROSE = re.compile(r"[A-Za-z]{2}.* |[^ ]* .*[A-Za-z]{2}")   # words and a space: not ' ', ', '
NAME = re.compile(r"^(?P<func>.+)__mutmut_(?P<n>\d+|orig)$")


@dataclass
class Mutant:
    key: str          # mutmut's name, e.g. tcplab.endpoint.xǁEndpointǁ_push__mutmut_3
    module: str       # tcplab/endpoint.py
    function: str     # Endpoint._push
    before: str       # the original line(s) it changes
    after: str        # ... and what they become
    kind: str = "behaviour"     # or "text", or "equivalent"
    reason: str = ""
    status: str = ""


def readable(func: str) -> str:
    """mutmut's mangled name (``xǁEndpointǁ_push``, ``x_seq_add``) as Python spells it."""
    if func.startswith("xǁ"):
        return ".".join(part for part in func[2:].split("ǁ") if part)
    return func[2:] if func.startswith("x_") else func


class _FStrings(ast.NodeTransformer):
    """An f-string with prose in it becomes one prose literal (mutmut does not mutate
    inside f-strings, but it does replace a whole argument by None)."""

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        if any(isinstance(v, ast.Constant) and PROSE.search(str(v.value)) for v in node.values):
            return ast.copy_location(ast.Constant(ast.unparse(node)), node)
        return node


def text_only(orig: ast.AST, mutant: ast.AST, behaviour: set[str]) -> bool:
    """True if ``mutant`` differs from ``orig`` only in prose string literals (a literal
    with a word and a space, not one of ``behaviour``), replaced by other text or None."""
    orig, mutant = _FStrings().visit(copy.deepcopy(orig)), _FStrings().visit(copy.deepcopy(mutant))
    nodes, others = list(ast.walk(orig)), list(ast.walk(mutant))
    if len(nodes) != len(others):
        return False
    changed = False
    for a, b in zip(nodes, others):
        if type(a) is not type(b):
            return False
        for (field, x), (_, y) in zip(ast.iter_fields(a), ast.iter_fields(b)):
            if isinstance(x, list) and isinstance(y, list):
                if len(x) != len(y):
                    return False
            elif isinstance(x, ast.AST) or x == y and type(x) is type(y):
                continue
            elif isinstance(a, ast.Constant) and field == "value" and isinstance(x, str) \
                    and PROSE.search(x) and x.lower() not in behaviour:
                changed = True
            else:
                return False
    return changed


def mutants_of(path: Path, module: str, behaviour: set[str]) -> list[Mutant]:
    """Every mutant mutmut generated in ``path`` (its copy of ``module``), classified."""
    tree = ast.parse(path.read_text("utf-8"))
    funcs: dict[str, dict[str, ast.FunctionDef]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            m = NAME.match(node.name)
            if m:
                funcs.setdefault(m["func"], {})[m["n"]] = node
    prefix = module[:-3].replace("/", ".")
    found = []
    for func, variants in funcs.items():
        orig = variants.pop("orig")
        orig.name = "f"
        orig_lines = ast.unparse(orig).splitlines()
        for n, node in variants.items():
            node.name = "f"
            lines = ast.unparse(node).splitlines()
            diff = [d for d in difflib.ndiff(orig_lines, lines) if d[:2] in ("- ", "+ ")]
            mutant = Mutant(f"{prefix}.{func}__mutmut_{n}", module, readable(func),
                            " / ".join(d[2:].strip() for d in diff if d[0] == "-"),
                            " / ".join(d[2:].strip() for d in diff if d[0] == "+"))
            if text_only(orig, node, behaviour):
                mutant.kind = "text"
            found.append(mutant)
    return found


def mark(mutants: list[Mutant], entries: list[dict], kind: str) -> None:
    """Apply ``[[equivalent]]`` or ``[[text_only]]`` entries: a function, a fragment of the
    mutated line (``after``) and optionally of the original line (``before``)."""
    for entry in entries:
        hits = [m for m in mutants if m.kind == "behaviour" and m.function == entry["function"]
                and entry["after"] in m.after and entry.get("before", "") in m.before]
        if not hits:
            print(f"note: a {kind} entry matches no mutant (source changed?): {entry}")
        for m in hits:
            m.kind, m.reason = kind, entry["reason"]


def copy_tree(workdir: Path) -> None:
    """The repository's files (tracked and new, not ignored) into a fresh ``workdir``."""
    if workdir.resolve() == ROOT or ROOT in workdir.resolve().parents:
        sys.exit(f"--workdir must be outside the repository, got {workdir}")
    if workdir.exists():
        shutil.rmtree(workdir)
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (workdir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, workdir / name)


def mutmut(workdir: Path, env: dict, *args: str) -> None:
    exe = Path(sys.executable).with_name("mutmut")
    if not exe.exists():
        sys.exit("mutmut is not installed: pip install -e '.[dev]' (or pip install mutmut)")
    done = subprocess.run([str(exe), "run", *args], cwd=workdir, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = done.stdout.decode(errors="replace").replace("\r", "\n").splitlines()[-25:]
        sys.exit("mutmut failed:\n" + "\n".join(tail))


def results(workdir: Path) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for module in MODULES:
        meta = workdir / "mutants" / (module + ".meta")
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=float, default=1.0,
                    help="fraction (0 < F <= 1) of each module's behaviour mutants to run")
    ap.add_argument("--seed", type=int, default=19, help="seed of the sample")
    ap.add_argument("--jobs", type=int, default=2, help="mutants run in parallel")
    ap.add_argument("--schedules", type=int, default=200,
                    help="TCPLAB_SCHEDULES for the property tests")
    ap.add_argument("--modules", default=",".join(MODULES),
                    help="comma-separated modules to score (default: all three)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/tcplab-mutation"))
    ap.add_argument("--report-only", action="store_true",
                    help="score the mutants already run in --workdir again with the current "
                         "scripts/mutation.toml, without running mutmut")
    ap.add_argument("--fail-under", type=float, default=0.0,
                    help="exit 1 if a module catches fewer than this percentage")
    args = ap.parse_args(argv)
    modules = tuple(m.strip() for m in args.modules.split(","))
    if not set(modules) <= set(MODULES):
        ap.error(f"--modules takes some of {', '.join(MODULES)}, got {args.modules}")
    if not 0 < args.sample <= 1:
        ap.error(f"--sample takes a fraction 0 < F <= 1, got {args.sample}")
    config = tomllib.loads((ROOT / "scripts" / "mutation.toml").read_text("utf-8"))
    behaviour = {s.lower() for s in config["text"]["behaviour_strings"]}

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TCPLAB_SCHEDULES"] = str(args.schedules)
    if not args.report_only:
        copy_tree(args.workdir)
        print(f"mutmut in {args.workdir}: generating mutants and mapping tests (minutes)")
        mutmut(args.workdir, env, "--max-children", str(args.jobs),
               "tcplab.segment.x_seq_add__mutmut_1")

    mutants: list[Mutant] = []
    for module in modules:
        mutants += mutants_of(args.workdir / "mutants" / module, module, behaviour)
    mark(mutants, config.get("text_only", []), "text")
    mark(mutants, config.get("equivalent", []), "equivalent")
    codes = results(args.workdir)
    if args.report_only:       # what was run, less what the configuration now leaves out
        chosen = [m for m in mutants if m.kind == "behaviour" and codes.get(m.key) is not None]
        print(f"scoring the {len(chosen)} behaviour mutants already run in {args.workdir}")
    else:
        rng = random.Random(args.seed)
        chosen = []
        for module in modules:
            pool = sorted((m for m in mutants if m.module == module and m.kind == "behaviour"),
                          key=lambda m: m.key)
            chosen += rng.sample(pool, max(1, round(len(pool) * args.sample))) if pool else []
        print(f"running {len(chosen)} behaviour mutants with {args.jobs} jobs"
              + (f" (a {args.sample:.0%} sample, seed {args.seed})" if args.sample < 1 else ""))
        for i in range(0, len(chosen), 400):
            mutmut(args.workdir, env, "--max-children", str(args.jobs),
                   *(m.key for m in chosen[i:i + 400]))
        codes = results(args.workdir)

    worst = 100.0
    print(f"\n{'module':<20}{'mutants':>8}{'text':>6}{'equiv':>6}{'run':>6}{'caught':>8}"
          f"{'score':>8}")
    for module in modules:
        mine = [m for m in mutants if m.module == module]
        ran = [m for m in chosen if m.module == module]
        for m in ran:
            m.status = CAUGHT.get(codes.get(m.key), "survived")  # type: ignore[arg-type]
        caught = sum(m.status != "survived" for m in ran)
        score = 100 * caught / len(ran) if ran else 100.0
        worst = min(worst, score)
        print(f"{module:<20}{len(mine):>8}{sum(m.kind == 'text' for m in mine):>6}"
              f"{sum(m.kind == 'equivalent' for m in mine):>6}{len(ran):>6}{caught:>8}"
              f"{score:>7.1f}%")
    survivors = [m for m in chosen if m.status == "survived"]
    print(f"\n{len(survivors)} survivors (see one with: cd {args.workdir} && mutmut show NAME):")
    for m in survivors:
        print(f"  {m.key}\n      {m.function}: {m.before[:150]}\n      -> {m.after[:150]}")
    if args.fail_under and worst < args.fail_under:
        print(f"\nFAIL: a module catches {worst:.1f} % < {args.fail_under:g} %")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
