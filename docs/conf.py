"""Sphinx configuration of tcplab's documentation site (``bash scripts/docs.sh``).

The site is built offline, with warnings as errors, from:

- the lessons in ``notebooks/``, executed at build time by myst-nb (outputs and pictures
  included); they are copied into ``docs/lessons/`` (generated, not committed) because
  Sphinx reads sources only from inside this folder;
- the instructor guide ``assignments/README.md`` and the ``CHANGELOG.md``, included as
  they are;
- the API reference, by autodoc, from the docstrings of the public packages;
- the CLI reference, from the argparse parsers themselves (``_ext/tcplab_cli.py``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))                 # autodoc imports this checkout's tcplab ...
sys.path.insert(0, str(DOCS / "_ext"))
# ... and so do the kernels that execute the lessons
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])

import tcplab  # noqa: E402


def _copy_lessons() -> None:
    """notebooks/*.ipynb -> docs/lessons/, rewriting only what changed (Sphinx rebuilds by
    modification time) and removing lessons that are gone."""
    src_dir, out_dir = ROOT / "notebooks", DOCS / "lessons"
    out_dir.mkdir(exist_ok=True)
    wanted = {p.name: p for p in src_dir.glob("*.ipynb")}
    for old in out_dir.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for name, src in wanted.items():
        dest = out_dir / name
        if not dest.exists() or dest.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dest)


_copy_lessons()

project = "tcplab"
author = "The tcplab authors"
copyright = "2026, the tcplab authors (code: BSD-3-Clause; prose: CC BY 4.0)"
version = release = tcplab.__version__

extensions = [
    "myst_nb",                    # Markdown pages and executed notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "tcplab_cli",                 # docs/_ext: the CLI reference from the parsers
]
exclude_patterns = ["_build", "lessons/.ipynb_checkpoints", "**/.ipynb_checkpoints",
                    "Thumbs.db", ".DS_Store"]

# ---- MyST and the notebooks
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "cache"           # executed at build time; unchanged lessons are reused
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_timeout = 180            # seconds per cell
nb_execution_raise_on_error = True    # a lesson that fails fails the build
nb_execution_show_tb = True
nb_merge_streams = True
# Static HTML cannot run widgets; show the picture or text every tcplab widget also carries.
nb_ipywidgets_js = {}                 # ... and loads no widget JavaScript from a CDN
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/vnd.jupyter.widget-state+json", None),
]

# ---- autodoc
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True

# ---- HTML
html_theme = "furo"
html_title = f"tcplab {release}"
html_static_path = ["_static"]
html_css_files = ["tcplab.css"]
html_show_sourcelink = False
