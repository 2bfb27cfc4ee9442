#!/usr/bin/env bash
# Build tcplab's JupyterLite site: the lessons in a web page, Python in the learner's browser.
#
#   bash scripts/build-lite.sh            # -> out/lite/site/  (serve it with any web server)
#   python3 -m http.server 8000 --bind 127.0.0.1 --directory out/lite/site
#   # then open http://127.0.0.1:8000/lab/index.html
#
# The site is static files only: no server runs Python, no request goes to a CDN or PyPI.
# Pyodide (Python compiled to WebAssembly) comes from npm's `pyodide` package; the pure
# wheels its kernel needs, ipywidgets, graphviz and dpkt from PyPI (pip download); tcplab is our
# own wheel, built here (its build runs Graphviz's `dot` once per diagram style, so the
# page draws the state diagram with no Graphviz); @viz-js/viz (Graphviz in WebAssembly)
# from npm.  lite/prepare.py lays the site out (see its docstring), `jupyter lite build`
# writes it.  matplotlib cannot run in this Pyodide (no WebAssembly wheels can be had), so
# the page draws the ladder as SVG.
#
# Needs: python3 (3.10+), npm, Graphviz's `dot`, and the package registries (PyPI, npm)
# the first time; the downloads are kept in out/lite/cache/ and reused.
# Knobs: LITE_OUT (default out/lite), PYTHON (default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${LITE_OUT:-$ROOT/out/lite}"
CACHE="$OUT/cache"
PYTHON="${PYTHON:-python3}"

# Pins: what was proven together (see lite/prepare.py).
JUPYTERLITE=0.8.6          # jupyterlite-core and jupyterlite-pyodide-kernel
PYODIDE=314.0.6            # npm `pyodide`: the version jupyterlite-pyodide-kernel 0.8.6 expects
VIZ=3.31.0                 # npm `@viz-js/viz`
KERNEL_PY=3.14             # the Python of that Pyodide (pip downloads wheels for it)
PAGE_WHEELS=(ipywidgets==8.1.9 comm==0.2.3 graphviz==0.21 dpkt==1.9.8)

say() { printf '[build-lite] %s\n' "$*"; }
die() { printf '[build-lite] ERROR: %s\n' "$*" >&2; exit 1; }

command -v npm >/dev/null || die "npm is needed: it comes with Node.js (https://nodejs.org, or your system's nodejs package)"
command -v dot >/dev/null || die "Graphviz's dot is needed to build tcplab's wheel with its diagram layouts (Debian/Ubuntu: sudo apt-get install graphviz)"
mkdir -p "$CACHE"
t0=$(date +%s)

# 1. The build tools, in their own virtual environment.  jupyter_server: the build needs it
#    to index the contents; jupyterlab_widgets: the widgets' front-end extension.
VENV="$CACHE/venv"
STAMP="$VENV/.tcplab-lite-$JUPYTERLITE"
if [ ! -f "$STAMP" ]; then
    say "build tools -> $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q "jupyterlite-core==$JUPYTERLITE" \
        "jupyterlite-pyodide-kernel==$JUPYTERLITE" jupyter_server "jupyterlab_widgets==3.0.17"
    touch "$STAMP"
fi

# 2. npm: Pyodide's core and Graphviz in WebAssembly.
NPM="$CACHE/npm"
mkdir -p "$NPM"
if [ ! -f "$NPM/pyodide-$PYODIDE/pyodide-lock.json" ]; then
    say "npm pyodide@$PYODIDE"
    (cd "$NPM" && npm pack -q "pyodide@$PYODIDE" >/dev/null && rm -rf package \
        && tar xzf "pyodide-$PYODIDE.tgz" && mv package "pyodide-$PYODIDE")
fi
if [ ! -f "$NPM/viz-$VIZ/dist/viz.js" ]; then
    say "npm @viz-js/viz@$VIZ"
    (cd "$NPM" && npm pack -q "@viz-js/viz@$VIZ" >/dev/null && rm -rf package \
        && tar xzf "viz-js-viz-$VIZ.tgz" && mv package "viz-$VIZ")
fi

# 3. Wheels: the kernel's (named by Pyodide's lock), the page's, and tcplab's own.
LOCKW="$CACHE/wheels-lock-$PYODIDE"
if [ ! -f "$LOCKW/.done" ]; then
    say "the kernel's wheels (Pyodide $PYODIDE's lock)"
    mkdir -p "$LOCKW"
    specs_text="$("$VENV/bin/python" "$ROOT/lite/prepare.py" lock-specs "$NPM/pyodide-$PYODIDE")"
    mapfile -t specs <<<"$specs_text"
    "$VENV/bin/pip" download -q --no-deps --only-binary=:all: --python-version "$KERNEL_PY" \
        -d "$LOCKW" "${specs[@]}"
    touch "$LOCKW/.done"
fi
WHEELS="$OUT/wheels"
rm -rf "$WHEELS"; mkdir -p "$WHEELS"
"$VENV/bin/pip" download -q --no-deps --only-binary=:all: --python-version "$KERNEL_PY" \
    -d "$CACHE/wheels-page" "${PAGE_WHEELS[@]}"
for spec in "${PAGE_WHEELS[@]}"; do
    name="${spec%%==*}"; version="${spec##*==}"
    cp "$CACHE/wheels-page/${name}-${version}-"*.whl "$WHEELS/"
done
say "tcplab's wheel (dot lays out the diagram styles)"
"$VENV/bin/pip" wheel -q --no-deps "$ROOT" -w "$WHEELS"
"$VENV/bin/python" - "$WHEELS" <<'EOF'
import sys, zipfile, pathlib
whl = next(pathlib.Path(sys.argv[1]).glob("tcplab-*.whl"))
if "tcplab/render/diagram/layouts.json.gz" not in zipfile.ZipFile(whl).namelist():
    sys.exit(f"{whl.name} has no diagram layouts: the page could not draw the state diagram")
EOF

# 4. The site.
say "site sources -> $OUT/src"
"$VENV/bin/python" "$ROOT/lite/prepare.py" site --npm "$NPM/pyodide-$PYODIDE" \
    --lock-wheels "$LOCKW" --wheels "$WHEELS" \
    --repo "$ROOT" --out "$OUT/src"
say "jupyter lite build -> $OUT/site"
rm -rf "$OUT/site"
(cd "$OUT/src" && "$VENV/bin/jupyter" lite build --output-dir "$OUT/site" >"$OUT/build.log" 2>&1) \
    || { tail -n 30 "$OUT/build.log" >&2; die "jupyter lite build failed (log: $OUT/build.log)"; }
rm -f "$OUT/site/.jupyterlite.doit.db"
# Graphviz in WebAssembly, for diagram styles whose layout the wheel does not ship
mkdir -p "$OUT/site/static/viz" && cp "$NPM/viz-$VIZ/dist/viz.js" "$OUT/site/static/viz/"
size=$(du -sm "$OUT/site" | cut -f1)
files=$(find "$OUT/site" -type f | wc -l)
say "done in $(( $(date +%s) - t0 )) s: $OUT/site, $size MB in $files files"
say "serve it: python3 -m http.server 8000 --bind 127.0.0.1 --directory $OUT/site"
say "          then open http://127.0.0.1:8000/lab/index.html"
