#!/usr/bin/env bash
# Build tcplab's documentation site:   bash scripts/docs.sh
#
# Sets everything up first (scripts/setup.sh, as for the tests: the .venv with the docs extra),
# then runs Sphinx with warnings as errors.  The lessons are executed while the site is built
# (myst-nb; unchanged ones are taken from the cache in docs/_build/.jupyter_cache).  Offline:
# nothing is fetched.  Open docs/_build/html/index.html in a browser.
# Extra arguments go to sphinx-build, e.g.
#   bash scripts/docs.sh -E          # rebuild every page
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
tcplab_setup test                     # also changes to the repository root

# The same command as tests/test_docs.py runs.
exec python -m sphinx -W --keep-going -b html docs docs/_build/html "$@"
