#!/usr/bin/env bash
# Mutation testing of the model (issue 19): mutmut on tcplab/endpoint.py, network.py and
# segment.py against the fast model tests; prints the score per module and the survivors.
#
#   bash scripts/mutation.sh                  # every behaviour mutant (about an hour on 2 cores)
#   bash scripts/mutation.sh --sample 0.3     # a seeded 30 % sample per module
#   bash scripts/mutation.sh --fail-under 90 --jobs 4 --workdir /tmp/mut
#
# Needs mutmut (in the dev extra: pip install -e '.[dev]'). Runs in a copy of the tree
# (default /tmp/tcplab-mutation), never in the repository. Settings: [tool.mutmut] in
# pyproject.toml (modules and tests), scripts/mutation.toml (text-only and equivalent mutants).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
exec "$PY" scripts/mutation.py "$@"
