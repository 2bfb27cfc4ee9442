"""Every ``>>>`` example in tcplab's docstrings runs and shows what it says.

The model's modules, the layers and the command line: each module is imported and its
examples run with :func:`doctest.testmod` (``...`` matches any text where an example's
output varies).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tcplab

MODULES = sorted(m.name for m in pkgutil.walk_packages(tcplab.__path__, "tcplab.")
                 if not m.name.endswith("__main__"))


def test_every_module_is_found():
    assert {"tcplab.sockets", "tcplab.network", "tcplab.render.ladder_diagram.layout",
            "tcplab.ui.cards"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_doc_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
