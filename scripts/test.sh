#!/usr/bin/env bash
# Run tcplab's whole test suite:   bash scripts/test.sh
#
# Sets everything up first (see scripts/setup.sh): the Debian packages in
# scripts/apt-test-packages.txt, the .venv virtual environment, and tcplab with its test
# dependencies. Extra arguments go to pytest, e.g.
#   bash scripts/test.sh -x -q
#   bash scripts/test.sh -m "not browser"
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
tcplab_setup test                     # also changes to the repository root

exec python -m pytest "$@"
