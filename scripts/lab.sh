#!/usr/bin/env bash
# Open tcplab's lessons in JupyterLab:   bash scripts/lab.sh
#
# Sets everything up first (see scripts/setup.sh): Graphviz, the .venv virtual environment,
# and tcplab itself. Then copies the lessons, the field guide and the student assignments into
# a folder of your own -- $TCPLAB_LESSONS, default ~/tcplab-lessons -- with `tcplab notebooks`
# (your changed notebooks are never overwritten), writes its landing page START-HERE.ipynb, and
# opens JupyterLab there. You work on copies, so `git pull` in this repository never conflicts
# with your work. Extra arguments go to `jupyter lab`, e.g.
#   bash scripts/lab.sh --no-browser --port=8890
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
tcplab_setup lab                      # also changes to the repository root

lessons="${TCPLAB_LESSONS:-$HOME/tcplab-lessons}"
python -m tcplab notebooks "$lessons"
python scripts/landing.py "$lessons"
lessons="$(cd "$lessons" && pwd)"

args=(lab "--ServerApp.root_dir=$lessons" "$lessons/START-HERE.ipynb")
if [ "$(id -u)" -eq 0 ]; then
    args+=(--allow-root)              # jupyter refuses to run as root without it
fi
exec jupyter "${args[@]}" "$@"
