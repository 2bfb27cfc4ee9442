"""The starting points the exercises share: initial sequence numbers and the handshake.

Every exercise runs the model (:class:`~tcplab.network.Network` driven by the script
language of :mod:`tcplab.scenarios`) from the same start, so its numbers match the RFC's
figures and the lessons.

>>> from tcplab.network import Network
>>> from tcplab.scenarios import run_script
>>> net = Network(isn=ISN)
>>> _ = run_script(net, HANDSHAKE)
>>> net.state("client").rfc, net["client"].iss
('ESTABLISHED', 100)
"""

from __future__ import annotations

from ..scenarios import HANDSHAKE

__all__ = ["ISN", "HANDSHAKE"]

#: Initial sequence numbers of every exercise run: the RFC's figures use 100 and 300.
ISN = {"client": 100, "server": 300}
