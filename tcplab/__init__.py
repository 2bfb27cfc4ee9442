"""tcplab: teaching notebooks that make the life of a TCP connection visible (RFC 9293).

The top of the package is the TCP model: pure Python (standard library only), no I/O, on a
virtual clock.  Read it in this order:

``states``       the 11 states and every spelling of them (RFC, ss, netstat, Linux, MIB)
``segment``      segments, flags and sequence-number arithmetic (mod 2**32)
``transitions``  the transition table: the only way an endpoint changes state
``steps``        :class:`Step`, the typed record of one event; :class:`TcpError`
``actions``      the typed actions a network records (Call, Deliver, Drop, ...)
``endpoint``     one TCB, RFC 9293 §3.10 event processing in RFC order
``wire``         packets in flight and their event queue
``network``      two endpoints, the wire and the clock; history and replay
``sockets``      hosts that hold sockets: listen(backlog), accept(), errno results, ``ss``
``script``       the scenario script language; ``scenarios`` the named stories
``procnet``      the one parser of /proc/net/tcp and ``ss`` output

Each folder is one layer built on the model, imported only when used: ``tcplab.render``
(state diagram, ladder, text traces), ``tcplab.ui`` (widgets: the only user of ipywidgets),
``tcplab.exercises`` (questions, graded exercises, grading), ``tcplab.live`` (real sockets),
``tcplab.course`` (the lessons in a folder of your own); ``tcplab.cli`` is every command.

>>> from tcplab import Network
>>> net = Network()
>>> _ = net.listen("server"); _ = net.connect("client"); _ = net.run()
>>> net.states()
{'client': TcpState.ESTABLISHED, 'server': TcpState.ESTABLISHED}
"""

from .endpoint import CALLS, SOCKET_CALLS, Clock, Config, Endpoint
from .network import Network, Packet
from .scenarios import SCENARIOS, Scenario
from .script import parse_script, play_script, run_script
from .segment import Flags, Segment
from .sockets import Socket, SocketNetwork
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
           "SCENARIOS", "Scenario", "Socket", "SocketNetwork", "parse_script", "play_script", "run_script", "Flags", "Segment", "MIB_DELETE_TCB", "TcpState",
           "crosswalk", "crosswalk_html", "crosswalk_text", "Step", "TcpError",
           "TRANSITIONS", "Transition"]
