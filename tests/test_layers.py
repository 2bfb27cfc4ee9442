"""The package's layers, enforced: the model at the top of ``tcplab/``, one folder per layer.

* Every ``.py`` file at the top of ``tcplab/`` is the TCP model: it imports only the
  standard library and other model modules (``__init__``'s documented lazy ``trace`` alias
  aside), never a layer.
* Imports point one way: model <- render / exercises / live <- capture <- ui; ``cli.py`` may
  use every layer.  Nothing but ``ui/`` imports ipywidgets.
* ``import tcplab``, the questions, the grading and the live lab work with ipywidgets,
  matplotlib and graphviz made unimportable.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "tcplab"
LAYERS = sorted(p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists())
MODEL = sorted(p.stem for p in PKG.glob("*.py") if p.stem not in ("__init__", "__main__", "cli"))
#: which layers each layer may import (besides the model and itself)
MAY_IMPORT = {"render": set(), "exercises": {"render"}, "live": set(), "capture": {"render", "live"},
              "course": set(), "ui": {"render", "exercises", "live", "capture"}}
# render/diagram/viz.py: Pyodide's JavaScript bridge (``js``, ``pyodide``), in a web page only
THIRD_PARTY_OK = {"render": {"matplotlib", "graphviz", "PIL", "numpy", "js", "pyodide"},
                  "exercises": {"otter", "nbformat", "nbconvert", "rich", "IPython", "traitlets"},
                  "ui": {"ipywidgets", "IPython", "ipykernel", "traitlets", "anywidget"},
                  "live": set(), "capture": {"dpkt"}, "course": {"jupyterlab"}}


#: The only upward imports: made lazily, inside a display hook or a compatibility alias
#: (as python-statemachine's ``_repr_svg_`` does), never when the module is imported.
LAZY_UPWARD = {
    ("tcplab/__init__.py", "__getattr__"): "from tcplab import trace, in handed-out notebooks",
    ("tcplab/exercises/__init__.py", "__getattr__"): "from tcplab.exercises import practice",
    ("tcplab/exercises/questions.py", "widget"): "a question shows itself as a quiz widget",
}


def _enclosing_functions(tree: ast.AST) -> dict[int, str]:
    """line -> name of the function an import on that line sits in."""
    where = {}
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    where[node.lineno] = fn.name
    return where


def lazy_upward(path: Path, line: int) -> bool:
    fn = _enclosing_functions(ast.parse(path.read_text())).get(line)
    return (str(path.relative_to(ROOT)), fn) in LAZY_UPWARD


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, also inside functions."""
    rel = path.relative_to(ROOT).with_suffix("").parts
    package = rel[:-1] if rel[-1] != "__init__" else rel[:-1]
    if rel[-1] == "__init__":
        package = rel[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                mod = ".".join(base + ([node.module] if node.module else []))
                if not node.module:        # from . import x
                    found += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
                    continue
            else:
                mod = node.module or ""
            found.append((node.lineno, mod))
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "tcplab" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS or parts[1] == "cli" else "model"


def test_the_top_level_modules_are_the_model():
    assert MODEL, "no model modules found"
    bad = []
    for name in [*MODEL, "__init__"]:
        path = PKG / f"{name}.py"
        for line, mod in imports(path):
            top = mod.split(".")[0]
            if top == "tcplab":
                if layer_of(mod) != "model" and not lazy_upward(path, line):
                    bad.append(f"tcplab/{name}.py:{line} imports the layer {mod}")
            elif top not in sys.stdlib_module_names:
                bad.append(f"tcplab/{name}.py:{line} imports {mod}, not the standard library")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_model_and_the_layers_below_it(layer):
    allowed = MAY_IMPORT.get(layer)
    assert allowed is not None, f"new layer tcplab/{layer}/: say what it may import in " \
                                "MAY_IMPORT and THIRD_PARTY_OK"
    bad = []
    for path in sorted((PKG / layer).rglob("*.py")):
        for line, mod in imports(path):
            top = mod.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line}"
            if top == "tcplab":
                target = layer_of(mod)
                if target not in ("model", layer, *allowed) and not lazy_upward(path, line):
                    bad.append(f"{where} imports {mod} (layer {target})")
            elif top not in sys.stdlib_module_names and top not in THIRD_PARTY_OK[layer]:
                bad.append(f"{where} imports {mod}")
    assert not bad, "\n".join(bad)


def test_only_ui_imports_ipywidgets():
    bad = [f"{p.relative_to(ROOT)}:{line}" for p in PKG.rglob("*.py")
           if "ui" not in p.relative_to(PKG).parts[:1]
           for line, mod in imports(p) if mod.split(".")[0] == "ipywidgets"]
    assert not bad, bad


BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("ipywidgets", "matplotlib", "graphviz"):
            raise ImportError(f"{name} is made unimportable for this test")
sys.meta_path.insert(0, Block())
"""


def test_the_model_questions_grading_and_live_lab_need_no_picture_or_widget_library():
    code = BLOCKER + """
import tcplab, tcplab.exercises, tcplab.exercises.grading, tcplab.live, tcplab.render.text
from tcplab import Network, scenarios, trace
net = scenarios.get("handshake").run()
assert "SYN" in trace(net)
from tcplab.exercises import state_after
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_import_tcplab_stays_light():
    code = ("import sys, tcplab\n"
            "heavy = [m for m in ('ipywidgets', 'matplotlib', 'graphviz', 'numpy') "
            "if m in sys.modules]\n"
            "layers = [m for m in sys.modules if m.startswith('tcplab.') and m.split('.')[1] in "
            f"{LAYERS!r}]\n"
            "print(heavy, layers)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.stdout.strip() == "[] []", r.stdout + r.stderr
