"""What a step did, in the words the pictures print: from the typed :class:`~tcplab.steps.Step`
fields, never from ``Step.event`` (display text only).

Builds on :mod:`tcplab.steps` (``call``, ``rfc_call``, ``timer``, ``wire``,
``retransmission``, ``sent``, ``transitions``).  Used by the RFC-figure trace
(:mod:`.text`) and the ladder (:mod:`.ladder_diagram`).

>>> from tcplab import scenarios
>>> net = scenarios.get("teardown-client-first").run()
>>> [call_text(s) for s in net.history if s.kind == "call"][:3]
['listen()', 'connect()', 'send(5 B)']
>>> [rfc_words(s) for s in net.history if s.kind == "timer"]
['timeout = 2*MSL']
>>> [timer_text(s) for s in net.history if s.kind == "timer"]
['2MSL expired']

A socket call of a :class:`~tcplab.sockets.SocketNetwork` (a step with ``result``) is
written as the code with what it returned, when that tells something:

>>> from tcplab.sockets import SocketNetwork
>>> net = SocketNetwork()
>>> ls = net.socket("server"); ls.bind(80); ls.listen(1)
>>> c = net.socket("client"); c.connect(("server", 80)); _ = net.run(); _ = ls.accept()
>>> for s in net.history:
...     if s.kind == "call":
...         print(call_text(s))
socket() → fd 3
bind(80)
listen(1)
socket() → fd 3
connect(server:80)
accept() → fd 4
"""

from __future__ import annotations

import re

from ..steps import Step

__all__ = ["call_text", "socket_call_text", "timer_text", "rfc_words", "gave_up", "sent_bytes",
           "WIRE_VERBS"]

#: The wire's actions as the RFC-figure trace says them.
WIRE_VERBS = {"drop": "lost", "duplicate": "duplicated", "delay": "delayed",
              "inject": "injected"}

#: RFC 9293's (and Linux's) name of each timer's expiry, as in the RFC's figures.
_TIMER_RFC = {"time-wait": "timeout = 2*MSL", "fin-wait-2": "tcp_fin_timeout",
              "retransmission": "retransmission timeout", "persist": "persist timeout"}
#: The same, short, for the ladder's margin.
_TIMER_SHORT = {"time-wait": "2MSL expired", "fin-wait-2": "FIN-WAIT-2 timeout",
                "persist": "persist timeout"}


def sent_bytes(step: Step) -> int:
    """Payload bytes the step put on the wire (a ``send`` that went out at once)."""
    return sum(len(seg.data) for seg in step.sent)


def gave_up(step: Step) -> bool:
    """A retransmission timeout that gave up (took a ``timeout``-layer transition,
    RFC 9293 §3.8.3's R2)."""
    return step.timer == "retransmission" and any(t.layer == "timeout"
                                                 for t in step.transitions)


def call_text(step: Step) -> str:
    """The user call as a sockets programmer writes it: ``listen()``, ``send(5 B)``; a
    socket call (a step with ``result``) as :func:`socket_call_text` writes it."""
    if step.result is not None and step.socket_call:
        return socket_call_text(step)
    if step.call == "send":
        n = sent_bytes(step)
        return f"send({n} B)" if n else "send()"
    if step.socket_call == "shutdown(SHUT_WR)":
        return "shutdown()"
    if step.call:
        return f"{step.call}()"
    return step.socket_call or "call()"      # e.g. a call inferred from a capture


_ADDRESS = re.compile(r"\(\('([^']*)', (\d+)\)\)")
_BYTES = re.compile(r"(\d+) bytes?")


def socket_call_text(step: Step) -> str:
    """A socket call as code, short, with its result when the result tells something:
    ``socket() → fd 3``, ``bind(80)``, ``listen(1)``, ``connect(server:80)``,
    ``accept() → fd 4``, ``send(5 B)``, ``recv() → 5 B``, ``recv() → b''``,
    ``recv() → ECONNRESET``, ``close() linger 0``.  (``0`` and ``connect()``'s
    ``EINPROGRESS`` are left out: every such call returns them.)"""
    code = step.socket_call or f"{step.call}()"
    code = _ADDRESS.sub(lambda m: f"({m.group(1)}:{m.group(2)})", code)
    if code.startswith("recv("):
        code = "recv()"
    elif code.startswith("send(") and code != "send()":
        code = _BYTES.sub(lambda m: f"{m.group(1)} B", code)
    elif code.startswith("close() with SO_LINGER"):
        code = "close() linger 0"
    result = step.result or ""
    if result in ("0", "EINPROGRESS") or (code.startswith("send(") and result.isdigit()):
        return code
    return f"{code} \u2192 {_BYTES.sub(lambda m: f'{m.group(1)} B', result)}"


def timer_text(step: Step) -> str:
    """A timer's expiry, short: ``2MSL expired``, ``RTO: retransmit``, ``RTO: give up``."""
    if step.timer == "retransmission":
        if gave_up(step):
            return "RTO: give up"
        return "RTO: retransmit" if step.sent else "RTO"
    return _TIMER_SHORT.get(step.timer or "", f"{step.timer} timeout")


def rfc_words(step: Step) -> str:
    """A call or timer as RFC 9293's figures write it: ``passive OPEN``, ``CLOSE``,
    ``SEND 5 bytes``, ``timeout = 2*MSL``."""
    if step.call is not None:
        word = step.rfc_call or step.call
        n = sent_bytes(step) if step.call == "send" else 0
        return f"{word} {n} bytes" if n else word
    if step.timer is not None:
        text = _TIMER_RFC.get(step.timer, f"{step.timer} timeout")
        return text + (": give up" if gave_up(step) else "")
    return step.kind
