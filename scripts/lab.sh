#!/usr/bin/env bash
# Open tcplab's notebooks in JupyterLab:   bash scripts/lab.sh
#
# Sets everything up first (see scripts/setup.sh): Graphviz, the .venv virtual environment,
# and tcplab itself. Extra arguments go to `jupyter lab`, e.g.
#   bash scripts/lab.sh --no-browser --port=8890
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
tcplab_setup lab                      # also changes to the repository root

args=(lab notebooks/)                 # serve the notebooks/ folder
if [ "$(id -u)" -eq 0 ]; then
    args+=(--allow-root)              # jupyter refuses to run as root without it
fi
exec jupyter "${args[@]}" "$@"
