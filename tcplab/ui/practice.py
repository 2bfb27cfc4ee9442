"""The practice box: an exercise's prompt, an answer box, a Check button and the feedback.

For lesson notebooks: the learner types an answer and gets, at once, the feedback of the
very checker the graded assignments use (:func:`tcplab.exercises.check_text`).  Built on
ipywidgets and :mod:`tcplab.exercises`; ``from tcplab.exercises import practice`` still
works (it forwards here).

>>> box = practice("steer/both-closing")
>>> box.answer.value = "deliver client FIN,ACK\\ndeliver server FIN,ACK"
>>> box.check()
>>> "✓ Right" in box.feedback.value
True
"""

from __future__ import annotations

import ipywidgets as widgets

from ..exercises.registry import Exercise, check_text, exercise
from ..render.markup import markup

__all__ = ["practice"]


def practice(exercise_id: "str | Exercise", *, reveal: bool = False) -> widgets.VBox:
    """A widget for a lesson notebook: the prompt, an answer box, a Check button and the
    feedback -- from the same checker the graded assignments use.

    Answers are typed as text, one entry per line: ``FIN-WAIT-1, ESTABLISHED`` (predict),
    ``LISTEN`` or ``LISTEN, syn`` (decode), ``deliver client FIN,ACK`` (steer), or a letter
    followed by scenario lines (find the bug).  The implement exercises take a function, so
    they raise ``ValueError`` here: call :func:`tcplab.exercises.check` with the function.
    The box has ``answer`` (the text area), ``feedback`` (an HTML widget) and ``check()``.
    """
    ex = exercise(exercise_id)
    if ex.kind == "implement":
        raise ValueError(f"{ex.id} takes a Python function: write it in a cell and call "
                         f"check({ex.id!r}, next_state)")
    prompt = widgets.HTML(f"<p><b>{markup(ex.title)}</b></p><p>{markup(ex.answer_help)}</p>")
    box = widgets.Textarea(placeholder="one entry per line",
                           layout=widgets.Layout(width="100%", height="8em"))
    button = widgets.Button(description="Check", button_style="primary")
    out = widgets.HTML("")

    def run(_: object = None) -> None:
        out.value = check_text(ex, box.value, reveal).html()

    button.on_click(run)
    ui = widgets.VBox([prompt, box, button, out])
    ui.add_class("t-practice")
    ui.check = run  # type: ignore[attr-defined]
    ui.answer = box  # type: ignore[attr-defined]
    ui.feedback = out  # type: ignore[attr-defined]
    return ui
