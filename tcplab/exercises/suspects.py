"""The find-the-bug stacks: four TCP endpoints with one bug each, and the bug catalogue.

Each suspect is a subclass of the reference :class:`~tcplab.endpoint.Endpoint` that
overrides one step of RFC 9293 §3.10 wrongly.  Their names say nothing about the bug: a
learner finds it by running scenarios with two hosts of one stack
(:func:`suspect_network`) and comparing the run with the reference endpoint's.
:data:`BUGS` is the catalogue to choose from: eight bugs, four of them in no stack.

Which bug is in which stack -- the graded answer key of assignment 3 -- is deliberately
*not* here: it lives with the instructor (see :mod:`tcplab.exercises.find_bug`).

>>> net = suspect_network("dune")
>>> type(net["client"]).__name__, type(suspect_network(None)["client"]).__name__
('DuneTCP', 'Endpoint')
>>> print(bug_list().splitlines()[0])
- **A** The passive closer waits in TIME-WAIT after the last ACK instead of deleting its TCB.
"""

from __future__ import annotations

from typing import Any

from ..endpoint import Endpoint
from ..network import Network
from ..segment import Flags, Segment, seq_add
from ..states import TcpState
from ..transitions import Key as K
from .setups import ISN

__all__ = ["AcmeTCP", "BorealTCP", "CobaltTCP", "DuneTCP", "SUSPECTS", "BUGS",
           "suspect_key", "suspect_network", "bug_list"]

S = TcpState

class AcmeTCP(Endpoint):
    """A TCP stack from Acme."""

    def _process_fin(self, out: Any) -> None:
        if self.state is S.FIN_WAIT_1 and self.fin_acked:
            self.rcv_nxt = seq_add(self.rcv_nxt, 1)
            self._peer_fin = True
            self._held.clear()
            out.need_ack = True
            self._go(out, K.FIN_WAIT_1_RCV_FIN)
            out.notes.append("The peer's FIN arrives: ACK it and wait in CLOSING.")
            return
        super()._process_fin(out)


class BorealTCP(Endpoint):
    """A TCP stack from Boreal."""

    def _arrive_synchronized(self, seg: Segment, out: Any) -> tuple[str, str]:
        deadline = self.timers.get("time-wait")
        result = super()._arrive_synchronized(seg, out)
        if deadline is not None and self.state is S.TIME_WAIT and "time-wait" in self.timers:
            self.timers["time-wait"] = deadline
        return result


class CobaltTCP(Endpoint):
    """A TCP stack from Cobalt."""

    def _arrive_closed(self, seg: Segment, out: Any) -> tuple[str, str]:
        if seg.rst:
            if seg.has_ack:
                self._send_now(out, Segment(Flags.RST, seg.ack, 0, 0))
            else:
                self._send_now(out, Segment(Flags.RST | Flags.ACK, 0,
                                            seq_add(seg.seq, seg.len), 0))
            return ("No TCB exists here (CLOSED), so the segment is answered with RST.",
                    "§3.10.7.1")
        return super()._arrive_closed(seg, out)


class DuneTCP(Endpoint):
    """A TCP stack from Dune."""

    def _process_fin(self, out: Any) -> None:
        if self.state is S.FIN_WAIT_2:
            self.rcv_nxt = seq_add(self.rcv_nxt, 1)
            self._send_now(out, self._ack_segment())
            self._go(out, K.FIN_WAIT_2_TIMEOUT)
            out.notes.append("The peer's FIN: ACK it. Both directions are finished.")
            return
        super()._process_fin(out)


#: The bug catalogue a learner chooses from: (letter, key, description).  Four are real
#: (one per suspect), four are distractors.
BUGS: tuple[tuple[str, str, str], ...] = (
    ("A", "passive-time-wait", "The passive closer waits in TIME-WAIT after the last ACK "
          "instead of deleting its TCB."),
    ("B", "rst-answers-rst", "A RST that reaches a closed port is answered with a RST."),
    ("C", "time-wait-not-restarted", "A retransmitted FIN in TIME-WAIT is acknowledged, "
          "but the 2*MSL timer is not restarted."),
    ("D", "listen-rejects-syn", "A listener answers a SYN with RST."),
    ("E", "note-2-ignored", "In FIN-WAIT-1, a FIN that also acknowledges our FIN leads to "
          "CLOSING instead of TIME-WAIT."),
    ("F", "fin-wait-2-drops-data", "Data that arrives in FIN-WAIT-2 is not delivered to "
          "the application."),
    ("G", "skips-time-wait", "The active closer skips TIME-WAIT: FIN-WAIT-2 goes straight "
          "to CLOSED when the peer's FIN arrives."),
    ("H", "close-wait-no-fin", "close() in CLOSE-WAIT does not send a FIN."),
)

SUSPECTS: dict[str, type[Endpoint]] = {"acme": AcmeTCP, "boreal": BorealTCP,
                                        "cobalt": CobaltTCP, "dune": DuneTCP}


def suspect_key(suspect: "str | type[Endpoint]") -> str:
    """The short name of a suspect (``"acme"``) from a name, ``"AcmeTCP"`` or the class.

    Raises ``KeyError`` naming the suspects for anything else."""
    if isinstance(suspect, type):
        for k, cls in SUSPECTS.items():
            if cls is suspect:
                return k
    key = str(suspect).lower().removesuffix("tcp")
    if key not in SUSPECTS:
        raise KeyError(f"no suspect {suspect!r}; the suspects are "
                       + ", ".join(c.__name__ for c in SUSPECTS.values()))
    return key


def suspect_network(suspect: "str | type[Endpoint] | None", **kwargs: Any) -> Network:
    """A network whose two hosts both run the suspect stack (``None``: the reference).

    ``kwargs`` go to :class:`~tcplab.network.Network` (default ISNs 100 and 300).
    """
    kwargs.setdefault("isn", ISN)
    net = Network(**kwargs)
    if suspect is not None:
        cls = SUSPECTS[suspect_key(suspect)]
        for ep in net.endpoints.values():
            ep.__class__ = cls      # same TCB, same random generator: only the code differs
    return net


def bug_list() -> str:
    """The bug catalogue as Markdown, for prompts."""
    return "\n".join(f"- **{letter}** {text}" for letter, _, text in BUGS)

