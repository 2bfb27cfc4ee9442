"""Wheel build hook: ship the state diagram's layouts, computed by ``dot`` now.

``tcplab.render.diagram.shipped.build`` runs Graphviz's ``dot`` once per diagram style
and writes ``tcplab/render/diagram/layouts.json.gz`` into the wheel (never into the
source tree), so that an installed tcplab draws its lessons' diagrams without Graphviz's
programs (``pip install tcplab`` alone, or a JupyterLite page).  Editable installs skip it
(a checkout runs ``dot``).  Without ``dot`` the wheel is built without the layouts, with
a warning: such a tcplab needs ``dot`` at run time, as before.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

TARGET = "tcplab/render/diagram/layouts.json.gz"


class ShippedLayoutsHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        sys.path.insert(0, self.root)
        try:
            from tcplab.render.diagram import shipped
            from tcplab.render.diagram.layout import GraphvizNotFound

            out = Path(self.directory) / ".tcplab-build" / "layouts.json.gz"
            try:
                shipped.build(out)
            except GraphvizNotFound as exc:
                warnings.warn(f"tcplab: the wheel ships no diagram layouts: {exc}",
                              stacklevel=1)
                return
            build_data["force_include"][str(out)] = TARGET
        finally:
            sys.path.remove(self.root)
            for name in [m for m in sys.modules if m == "tcplab" or m.startswith("tcplab.")]:
                del sys.modules[name]
