"""Self-check questions with immediate feedback: the :func:`quiz` widget and :func:`self_check`.

:func:`quiz` makes one multiple-choice question as an ipywidgets widget: click a choice and
the feedback appears at once.  A wrong choice is marked and disabled, with a hint when one
is given, and the learner tries again; the right choice shows the explanation and ends the
question.  The questions computed from the model (``state_after``, ``ack_number``, ...) are
plain Python in :mod:`tcplab.exercises.questions`; pass them to :func:`self_check` or
display them.  Built on ipywidgets, :func:`tcplab.render.markup.markup` and the style sheet
:mod:`tcplab.ui.style`::

    from tcplab.exercises import state_after, who_ends_in
    from tcplab.ui import quiz, self_check
    self_check(state_after("handshake", "client rcv SYN,ACK"), who_ends_in("abort"))

CSS classes, for styling and for browser tests: the question is a ``t-quiz`` box holding a
``t-quiz-question``, one ``t-quiz-choice`` button per choice (marked ``t-quiz-right`` or
``t-quiz-wrong`` once clicked) and a ``t-quiz-feedback`` area; a solved question also gets
``t-quiz-solved``.  :func:`self_check` groups questions in a ``t-quiz-set`` with a score.

>>> q = quiz("2 + 2?", ["3", "4"], "4")
>>> q.choose("3"), q.choose("4"), q.solved, q.attempts
(False, True, True, ['3', '4'])
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence

import ipywidgets as widgets

from ..exercises.questions import QuestionSpec
from ..render.markup import markup
from .style import stylesheet

__all__ = ["Quiz", "quiz", "self_check"]


class Quiz(widgets.VBox):
    """One multiple-choice question with immediate feedback (see :func:`quiz`).

    Read-outs for tests and notebooks: :attr:`buttons`, :attr:`feedback`, :attr:`solved`,
    :attr:`attempts` (the labels clicked, in order), :attr:`first_try`.
    """

    def __init__(self, question: str, choices: Sequence[object], answer: object,
                 explain: str = "", *, hints: Mapping[object, str] | None = None) -> None:
        if not isinstance(question, str) or not question.strip():
            raise ValueError("quiz() needs a question: a non-empty string")
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
            raise TypeError("quiz() choices must be a list of answers, e.g. "
                            "['SYN-SENT', 'ESTABLISHED'], not a single string")
        labels = [str(c) for c in choices]
        if len(labels) < 2:
            raise ValueError(f"quiz() needs at least two choices, got {labels!r}")
        dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
        if dupes:
            raise ValueError(f"quiz() choices must be different; repeated: {dupes!r}")
        if any(not lab.strip() for lab in labels):
            raise ValueError("quiz() choices must not be empty strings")
        if isinstance(answer, (list, tuple, set)):
            raise TypeError("quiz() takes exactly one correct answer (one of the choices), "
                            f"not a collection: {answer!r}")
        key = str(answer)
        if key not in labels:
            raise ValueError(f"quiz() answer {key!r} is not one of the choices {labels!r}")
        hint_map = {str(k): v for k, v in (hints or {}).items()}
        unknown = sorted(set(hint_map) - set(labels))
        if unknown:
            raise ValueError(f"quiz() hints name choices that do not exist: {unknown!r}; "
                             f"the choices are {labels!r}")
        if key in hint_map:
            raise ValueError("quiz() hints are for the wrong choices; the explanation of the "
                             "right one goes in explain=")

        self.question = question
        self.choices = tuple(labels)
        self.answer = key
        self.explain = explain
        self.hints = hint_map
        self.attempts: list[str] = []

        self.question_html = widgets.HTML(f"<p>{markup(question)}</p>")
        self.question_html.add_class("t-quiz-question")
        self.buttons: list[widgets.Button] = []
        for lab in labels:
            b = widgets.Button(description=lab, tooltip=lab,
                               layout=widgets.Layout(width="auto"))
            b.add_class("t-quiz-choice")
            b.on_click(self._clicked)
            self.buttons.append(b)
        self.feedback = widgets.HTML("")
        self.feedback.add_class("t-quiz-feedback")
        super().__init__([widgets.HTML(stylesheet()), self.question_html,
                          widgets.HBox(self.buttons, layout=widgets.Layout(flex_flow="row wrap")),
                          self.feedback])
        self.add_class("t-quiz")
        self._listeners: list[Callable[["Quiz"], None]] = []

    # -- state ------------------------------------------------------------------------------
    @property
    def solved(self) -> bool:
        return self.answer in self.attempts

    @property
    def first_try(self) -> bool:
        return self.attempts[:1] == [self.answer]

    def on_answer(self, callback: Callable[["Quiz"], None]) -> None:
        """Call ``callback(quiz)`` after every click (used by :func:`self_check`)."""
        self._listeners.append(callback)

    # -- answering --------------------------------------------------------------------------
    def choose(self, choice: object) -> bool:
        """Answer as if ``choice`` had been clicked; True if it is right."""
        label = str(choice)
        if label not in self.choices:
            raise ValueError(f"{label!r} is not one of the choices {list(self.choices)!r}")
        self._clicked(self.buttons[self.choices.index(label)])
        return label == self.answer

    def _clicked(self, button: widgets.Button) -> None:
        label = button.description
        if self.solved or label in self.attempts:
            return
        self.attempts.append(label)
        if label == self.answer:
            button.button_style = "success"
            button.icon = "check"
            button.add_class("t-quiz-right")
            for b in self.buttons:
                b.disabled = True
            self.add_class("t-quiz-solved")
            head = "Right" + (" first time!" if self.first_try else "!")
            text = f"<b>✓ {head}</b>"
            if self.explain:
                text += f" {markup(self.explain)}"
            self.feedback.value = f'<div class="t-quiz-ok">{text}</div>'
        else:
            button.button_style = "danger"
            button.icon = "times"
            button.disabled = True
            button.add_class("t-quiz-wrong")
            hint = self.hints.get(label, "")
            text = f"<b>✗ Not {markup(label)}.</b>"
            if hint:
                text += f" {markup(hint)}"
            text += " Try again."
            self.feedback.value = f'<div class="t-quiz-no">{text}</div>'
        for cb in list(self._listeners):
            cb(self)

    def __repr__(self) -> str:
        return f"<Quiz {self.question!r} choices={list(self.choices)!r}>"


def quiz(question: str, choices: Sequence[object], answer: object, explain: str = "", *,
         hints: Mapping[object, str] | None = None) -> Quiz:
    """A multiple-choice self-check question with immediate feedback.

    ``choices`` are shown in the order given (anything with a ``str()``: text, numbers,
    :class:`~tcplab.states.TcpState`); ``answer`` must be one of them.  ``explain`` is
    shown when the right choice is clicked; ``hints`` maps wrong choices to a nudge shown
    when that choice is clicked.  Text may use ```code``` and ``**bold**``.

    Raises ``ValueError``/``TypeError`` at once for a malformed question (answer not among
    the choices, fewer than two choices, repeated choices), so a typo in a notebook fails
    when the cell runs, not when a learner clicks.
    """
    return Quiz(question, choices, answer, explain, hints=hints)


def self_check(*questions: "Quiz | QuestionSpec", title: str = "Self-check") -> widgets.VBox:
    """Several questions under one title, with a running score line."""
    qs = [q.widget() if isinstance(q, QuestionSpec) else q for q in questions]
    if not qs:
        raise ValueError("self_check() needs at least one question")
    for q in qs:
        if not isinstance(q, Quiz):
            raise TypeError(f"self_check() takes quiz() questions, not {type(q).__name__}")
    score = widgets.HTML("")
    score.add_class("t-quiz-score")

    def update(_: Quiz | None = None) -> None:
        done = sum(q.solved for q in qs)
        first = sum(q.first_try for q in qs)
        score.value = (f"<i>{done} of {len(qs)} answered"
                       + (f", {first} right first time" if done else "") + ".</i>")

    for q in qs:
        q.on_answer(update)
    update()
    box = widgets.VBox([widgets.HTML(f"<h4>{markup(title)}</h4>"), *qs, score])
    box.add_class("t-quiz-set")
    box.questions = qs  # type: ignore[attr-defined]
    return box
