"""Course content built on the model: questions, graded exercises and their feedback.

Plain Python on the model (:mod:`tcplab.network`, :mod:`tcplab.scenarios`, the step
records); no widget code, so grading runs anywhere.  Every answer is computed by running
the model, never written by hand.  The modules, in the order a reader meets them:

- :mod:`.questions` -- self-check questions computed from a run (``state_after``,
  ``ack_number``, ``who_ends_in``, ...); the widget that asks them is :mod:`tcplab.ui.quiz`;
- :mod:`.checks` -- :func:`check_prediction`, the one grader of "which state next?";
- :mod:`.answers` and :mod:`.feedback` -- reading a learner's answer, and the verdict;
- the exercises, one module per kind: :mod:`.predict` (``SCHEDULES``), :mod:`.decode`
  (``DUMPS``), :mod:`.steer` (``TARGETS``), :mod:`.closing` (implement the closing states),
  :mod:`.suspects` and :mod:`.find_bug` (find the bug; the answer key is not in the
  package);
- :mod:`.registry` -- ``EXERCISES`` and :func:`check`, the entry point of the graded
  assignments' tests and of the lessons;
- :mod:`.grading` -- the instructor's kit (otter-grader).

Every name the handed-out student notebooks and the autograder zips use is exported here::

    check("predict/simultaneous-close", [("FIN-WAIT-1", "ESTABLISHED"), ...])
    check("decode/web-server", ["LISTEN", "ESTABLISHED", ...], waiting_for=["syn", ...])
    check("steer/both-closing", ["deliver client FIN,ACK", "deliver server FIN,ACK"])
    check("implement/closing-states", next_state)        # a function (state, event) -> state
    check("find-bug/acme", choice="C", scenario=["server listen", ...])

>>> check("steer/both-closing", ["deliver client FIN,ACK", "deliver server FIN,ACK"]).ok
True
>>> state_after("handshake", "client rcv SYN,ACK").answer
'ESTABLISHED'
"""

from __future__ import annotations

from .answers import AnswerError, read_lines, read_state
from .checks import check_prediction, expected_states, prediction_choices
from .closing import (CLOSING_EVENTS, CLOSING_STATES, EXTENDED_EVENTS, check_closing_states,
                      closing_transitions, reference_next_state)
from .decode import DUMPS, WAITING_FOR, Dump, check_dump, waits_for
from .feedback import Feedback
from .find_bug import KEY_VARIABLE, check_bug
from .predict import SCHEDULES, Schedule, check_schedule
from .questions import (QuestionSpec, ack_number, describe_step, find_step, next_state,
                        segment_count, state_after, time_wait_duration, who_ends_in)
from .registry import EXERCISES, Exercise, check, check_text, exercise
from .setups import ISN
from .steer import TARGETS, WIRE_COMMANDS, Target, check_target
from .suspects import (BUGS, SUSPECTS, AcmeTCP, BorealTCP, CobaltTCP, DuneTCP, bug_list,
                       suspect_network)

__all__ = [
    "Feedback", "Exercise", "EXERCISES", "exercise", "check", "check_text",
    "AnswerError", "read_state", "read_lines", "ISN",
    "Schedule", "SCHEDULES", "check_schedule",
    "Dump", "DUMPS", "WAITING_FOR", "waits_for", "check_dump",
    "Target", "TARGETS", "WIRE_COMMANDS", "check_target",
    "CLOSING_STATES", "CLOSING_EVENTS", "EXTENDED_EVENTS", "closing_transitions",
    "reference_next_state", "check_closing_states",
    "BUGS", "SUSPECTS", "AcmeTCP", "BorealTCP", "CobaltTCP", "DuneTCP", "suspect_network",
    "bug_list", "check_bug", "KEY_VARIABLE",
    "check_prediction", "expected_states", "prediction_choices",
    "QuestionSpec", "state_after", "next_state", "ack_number", "who_ends_in",
    "segment_count", "time_wait_duration", "find_step", "describe_step",
]


def __getattr__(name: str) -> object:
    # Compatibility: lessons and the assignments' README say
    # ``from tcplab.exercises import practice``.  The practice box is a widget, so it lives
    # in the widget layer (tcplab.ui.practice); it is imported from there only when asked
    # for (PEP 562), so importing the exercises never imports ipywidgets.
    if name == "practice":
        from ..ui.practice import practice
        return practice
    raise AttributeError(f"module 'tcplab.exercises' has no attribute {name!r}")
