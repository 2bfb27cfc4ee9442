"""``python -m tcplab ...``: the command line lives in :mod:`tcplab.cli`."""

import sys

from .cli import main

sys.exit(main())
