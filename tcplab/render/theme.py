"""The one home of the pictures' colours and fonts, so a learner sees one look everywhere.

Every picture module of :mod:`tcplab.render` takes its colours and fonts from here, by
role (``COLORS["lost"]``), never as literals.  Builds on nothing (pure data and two small
colour helpers).

Endpoints use the Okabe-Ito colour-blind-safe palette: the first endpoint blue, the second
vermillion, in the state diagram, the ladder and the widgets alike.  TIME-WAIT has *one*
orange, the palette's: the ladder's band and its TIME-WAIT state box are the same colour.

>>> PALETTE[0], COLORS["coverage"]
('#0072B2', '#009E73')
>>> darker("#0072B2")
'#005686'
>>> tint(COLORS["time-wait"], 0.45)
'#f4d48c'
"""

from __future__ import annotations

__all__ = ["PALETTE", "COLORS", "FONTS", "STATE_FILL", "darker", "tint"]

#: One colour per endpoint, in the order of ``Network.names``; then spares (Okabe-Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9")

#: Fonts: the state diagram's (a Graphviz/SVG family) and the ladder's (matplotlib's
#: bundled DejaVu, so widths are the same on every machine).
FONTS = {
    "diagram": "Helvetica",
    "diagram-svg": "Helvetica,sans-Serif",
    "mono": "DejaVu Sans Mono",
    "sans": "DejaVu Sans",
}

#: Colours by role.
COLORS = {
    # both pictures
    "background": "#ffffff",
    "coverage": "#009E73",            # "used in this run" (Okabe-Ito bluish green)
    "time-wait": PALETTE[3],          # TIME-WAIT, the one orange (Okabe-Ito, as the widgets' timer)
    # state diagram: nodes, edges, labels
    "node-fill": "#f5f5f5",
    "node-stroke": "#333333",
    "node-text": "#111111",
    "sink-fill": "#ffffff",
    "sink-stroke": "#8c8c8c",
    "sink-text": "#666666",
    "edge": "#4d4d4d",
    "sink-edge": "#8c8c8c",
    "label": "#1a1a1a",
    "sink-label": "#4d4d4d",
    "faded-edge": "#c9c9c9",
    "faded-label": "#9a9a9a",
    "current-text": "#ffffff",        # the state name on an endpoint-coloured box
    "split-stroke": "#333333",        # a box shared by two endpoints
    "legend-text": "#000000",
    "legend-note": "#555555",
    "caption": "#1a1a1a",
    # ladder
    "timeline": "#444444",
    "muted": "#6b6b6b",               # time axis, breaks
    "rst": "#c62828",
    "lost": "#d32f2f",
    "now": "#2e7d32",
    "time-wait-text": "#8a4b00",
    "listen": "#9cc3e6",              # a listening socket's band along its host's line
    "call": "#222222",
    "timer": "#6a3d9a",
    "leader": "#9a9a9a",              # dotted line from a call/timer text to its line
    "state-leader": "#777777",
    "state-edge": "#555555",
    "state-edge-faded": "#999999",
    "state-text": "#222222",
    "state-text-faded": "#666666",
    "state-fill": "#eeeeee",          # a state without its own fill below
    # feedback on a learner's answer (exercises): right, wrong, unreadable, and row fills
    "right": "#009E73",
    "wrong": "#D55E00",
    "malformed": "#B8860B",
    "right-fill": "#E6F5EF",
    "wrong-fill": "#FBE9E0",
}


def darker(color: str, f: float = 0.75) -> str:
    """``#rrggbb`` scaled towards black by ``f`` (a box's outline from its fill)."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(v * f):02x}" for v in (r, g, b))


def tint(color: str, alpha: float) -> str:
    """``#rrggbb`` as it looks painted with opacity ``alpha`` on white."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - (255 - v) * alpha):02x}" for v in (r, g, b))


#: The ladder's state boxes: one pale colour per phase of a connection.
STATE_FILL = {
    "CLOSED": "#e6e6e6", "LISTEN": "#d7e7f7", "SYN-SENT": "#fff0b0",
    "SYN-RECEIVED": "#fff0b0", "ESTABLISHED": "#c9ebc9", "FIN-WAIT-1": "#fde2c8",
    "FIN-WAIT-2": "#fde2c8", "CLOSING": "#fde2c8", "TIME-WAIT": tint(COLORS["time-wait"], 0.45),
    "CLOSE-WAIT": "#f2d3e8", "LAST-ACK": "#f2d3e8",
}
