"""tcplab: teaching notebooks that make the life of a TCP connection visible (RFC 9293).

The core model is pure Python with no I/O::

    from tcplab import Network
    net = Network()
    net.listen("server"); net.connect("client"); net.run()

Diagrams (graphviz, matplotlib) and widgets (ipywidgets) live in their own modules and are
imported only when you use them: ``tcplab.diagram``, ``tcplab.ladder``, ``tcplab.widgets``.
"""

from .endpoint import CALLS, SOCKET_CALLS, Clock, Config, Endpoint
from .network import Network, Packet
from .scenarios import SCENARIOS, Scenario
from .script import parse_script, run_script
from .segment import Flags, Segment
from .states import MIB_DELETE_TCB, TcpState, crosswalk, crosswalk_html, crosswalk_text
from .steps import Step, TcpError
from .transitions import TRANSITIONS, Transition

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Compatibility: notebooks handed out before the layers became folders say
    # ``from tcplab import trace``.  The trace is text drawn from a run, so it lives in the
    # render layer; it is imported from there only when asked for (PEP 562), and the model
    # itself never imports a layer.
    if name == "trace":
        from .render.text import trace
        return trace
    raise AttributeError(f"module 'tcplab' has no attribute {name!r}")

__all__ = ["CALLS", "SOCKET_CALLS", "Clock", "Config", "Endpoint", "Network", "Packet",
           "SCENARIOS", "Scenario", "parse_script", "run_script", "Flags", "Segment", "MIB_DELETE_TCB", "TcpState",
           "crosswalk", "crosswalk_html", "crosswalk_text", "Step", "TcpError",
           "TRANSITIONS", "Transition"]
