"""Lay out the JupyterLite site's sources: Pyodide offline, tcplab preloaded, the lessons.

Used by ``scripts/build-lite.sh`` (read it first); builds on the recipe in the project's
notes (JupyterLite 0.8 with the Pyodide kernel, booted with no network).  Two commands:

``python lite/prepare.py lock-specs NPM_PYODIDE``
    prints ``name==version`` of the pure wheels the kernel loads from Pyodide's lock
    (the closure of micropip, ipython and jedi): npm's ``pyodide`` package is Pyodide's
    core only, its lock names the wheels but does not hold them, so they come from PyPI.

``python lite/prepare.py site --npm DIR --lock-wheels DIR --wheels DIR --repo DIR --out DIR``
    writes the folder ``jupyter lite build`` reads:

    * ``static/pyodide/``: Pyodide's core, the lock's wheels, and *our* wheels (tcplab,
      ipywidgets, comm, graphviz, dpkt) added to ``pyodide-lock.json`` -- each entry's
      ``sha256`` set to the file's (Pyodide checks it).  ``loadPyodideOptions.packages``
      in ``jupyter-lite.json`` then loads tcplab and its closure when the kernel starts,
      so the lessons run unchanged (no ``%pip`` cell), and PyPI is never asked
      (``disablePyPIFallback``);
    * ``files/``: the lessons (``notebooks/*.ipynb``) and the student assignments
      (``files/assignments/``), with the kernel set to the page's ("python"); each
      assignment gets a first cell saying that its self-checks need otter-grader, which
      cannot run in the page.

Hand-written (no library does it): patching Pyodide's lock, which only ``pyodide-build``
knows how to write, and which cannot be installed here (it needs Python 3.12 and
downloads a cross-build environment).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

#: The packages the kernel loads from Pyodide's lock at start (with their closure).
KERNEL_ROOTS = ("micropip", "ipython", "jedi")
#: Files of npm's ``pyodide`` package the page needs.
PYODIDE_CORE = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                "pyodide.js", "pyodide-lock.json")
#: What the kernel preloads: tcplab and its closure (they must all be in --wheels).
PRELOAD = ("tcplab",)
#: Lock entries for our wheels: name -> (import names, dependencies in the lock).
#: tcplab's own metadata also asks for jupyterlab and matplotlib, which are neither
#: needed nor available in the page: the lock lists what the page needs.
OWN = {
    "comm": (["comm"], ["traitlets"]),
    "ipywidgets": (["ipywidgets"], ["comm", "ipython", "traitlets"]),
    "graphviz": (["graphviz"], []),
    "dpkt": (["dpkt"], []),
    "tcplab": (["tcplab"], ["ipywidgets", "graphviz", "dpkt"]),
}

SELF_CHECK_NOTE = """\
> **In this web page the self-checks do not run.** `grader.check(...)` needs otter-grader,
> which needs libraries (pandas among them) that are not built for the Python of this page
> (Pyodide), so the first code cell below stops with `No module named 'otter'`. Everything
> else works here: read the questions, try things in the cells, write your answers.
> To check them, download this notebook (File > Download) and open it on your computer:
> `pip install "tcplab[assignments]"`, then `tcplab lab my-course` (see the README), or
> hand it in as your course says.
"""


def norm(name: str) -> str:
    """A distribution name as Pyodide's lock and PyPI compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_specs(npm: Path) -> list[str]:
    """``name==version`` of every package in the closure of :data:`KERNEL_ROOTS`."""
    packages = json.loads((npm / "pyodide-lock.json").read_text())["packages"]
    byname = {norm(k): k for k in packages}
    todo, seen = list(KERNEL_ROOTS), set()
    while todo:
        name = byname[norm(todo.pop())]
        if name in seen:
            continue
        seen.add(name)
        todo.extend(packages[name]["depends"])
    return sorted(f"{packages[n]['name']}=={packages[n]['version']}" for n in seen)


def wheel_name_version(whl: Path) -> tuple[str, str]:
    with zipfile.ZipFile(whl) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        msg = Parser().parsestr(z.read(meta).decode("utf-8"))
    return msg["Name"], msg["Version"]


def pyodide_dir(npm: Path, lock_wheels: Path, wheels: Path, out: Path) -> dict:
    """``out`` = Pyodide's core + the kernel's wheels + ours, in one patched lock."""
    out.mkdir(parents=True, exist_ok=True)
    for name in PYODIDE_CORE:
        shutil.copy2(npm / name, out / name)
    lock = json.loads((npm / "pyodide-lock.json").read_text())
    packages = lock["packages"]
    byname = {norm(k): k for k in packages}
    for whl in sorted(lock_wheels.glob("*.whl")):
        name, version = wheel_name_version(whl)
        entry = packages[byname[norm(name)]]
        if entry["version"] != version:
            raise SystemExit(f"{whl.name}: the lock pins {name} {entry['version']}")
        shutil.copy2(whl, out / whl.name)
        entry.update(file_name=whl.name, sha256=sha256(whl))
    for whl in sorted(wheels.glob("*.whl")):
        name, version = wheel_name_version(whl)
        if norm(name) not in OWN:
            continue
        imports, depends = OWN[norm(name)]
        shutil.copy2(whl, out / whl.name)
        packages[norm(name)] = {
            "name": norm(name), "version": version, "file_name": whl.name,
            "install_dir": "site", "sha256": sha256(whl), "package_type": "package",
            "imports": imports, "depends": depends, "unvendored_tests": False}
    missing = sorted(set(OWN) - set(packages))
    if missing:
        raise SystemExit(f"no wheel for {', '.join(missing)} in {wheels}")
    # keep only what the site serves: a package that is not here fails at once with
    # "No known package" instead of a request for a missing file
    lock["packages"] = {k: v for k, v in packages.items() if (out / v["file_name"]).exists()}
    (out / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))
    return lock


def lite_notebook(src: Path, dest: Path, note: str | None = None) -> None:
    """Copy a notebook for the page: its kernel is the page's, an optional first note."""
    nb = json.loads(src.read_text(encoding="utf-8"))
    nb["metadata"]["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)",
                                    "language": "python"}
    if note:
        nb["cells"].insert(0, {"cell_type": "markdown", "id": "tcplab-lite-note",
                               "metadata": {}, "source": note.splitlines(keepends=True)})
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def site(args: argparse.Namespace) -> None:
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    pyodide_dir(args.npm, args.lock_wheels, args.wheels, out / "static" / "pyodide")
    config = json.loads((Path(__file__).with_name("jupyter-lite.json")).read_text())
    kernel = config["jupyter-config-data"]["litePluginSettings"][
        "@jupyterlite/pyodide-kernel-extension:kernel"]
    kernel["loadPyodideOptions"] = {"packages": list(PRELOAD)}
    (out / "jupyter-lite.json").write_text(json.dumps(config, indent=2))
    shutil.copy2(Path(__file__).with_name("jupyter_lite_config.json"),
                 out / "jupyter_lite_config.json")
    repo: Path = args.repo
    for nb in sorted((repo / "notebooks").glob("*.ipynb")):
        lite_notebook(nb, out / "files" / nb.name)
    for nb in sorted((repo / "assignments" / "student").glob("*.ipynb")):
        lite_notebook(nb, out / "files" / "assignments" / nb.name, SELF_CHECK_NOTE)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="lite/prepare.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("lock-specs", help="the kernel's wheels the lock names")
    ls.add_argument("npm", type=Path, help="npm's pyodide package (its folder)")
    s = sub.add_parser("site", help="write the folder `jupyter lite build` reads")
    s.add_argument("--npm", type=Path, required=True, help="npm's pyodide package")
    s.add_argument("--lock-wheels", type=Path, required=True,
                   help="the wheels printed by lock-specs")
    s.add_argument("--wheels", type=Path, required=True,
                   help=f"wheels of {', '.join(OWN)}")
    s.add_argument("--repo", type=Path, required=True, help="the tcplab checkout")
    s.add_argument("--out", type=Path, required=True, help="the folder to write (replaced)")
    args = p.parse_args(argv)
    if args.command == "lock-specs":
        print("\n".join(lock_specs(args.npm)))
    else:
        site(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
