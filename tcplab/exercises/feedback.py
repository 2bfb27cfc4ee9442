"""The verdict on one answer: :class:`Feedback`, shown as text, as HTML, or as an assertion.

Every checker in :mod:`tcplab.exercises` returns a :class:`Feedback`; the graded
assignments' otter tests call :meth:`Feedback.require` on it, and the lesson notebooks
display it, so a course and a self-learner are told the same thing.  Built on the standard
library and :func:`tcplab.render.markup.markup` (the small text markup of messages).

>>> fb = Feedback("predict/demo", False, 0.5, "1 of 2 states right.", ("#", "you"),
...               (("1", "LISTEN"), ("2", "CLOSED")), (True, False))
>>> print(fb.text())
✗ Partly right (50%) [predict/demo]: 1 of 2 states right.
<BLANKLINE>
#  you
-  ------  -
1  LISTEN  ✓
2  CLOSED  ✗
>>> fb.require(at_least=0.5)          # silent: the score is high enough
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..render.markup import markup
from ..render.theme import COLORS

__all__ = ["Feedback", "malformed"]


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer.

    ``ok`` -- entirely right; ``score`` -- the fraction right (0..1); ``message`` -- what to
    tell the learner; ``columns``/``rows`` -- a table (``marks`` says per row: True right,
    False wrong, None neither); ``detail`` -- preformatted text such as a trace;
    ``malformed`` -- the answer could not be read (``message`` says what is accepted).

    Shows as HTML in a notebook and as text elsewhere.  :meth:`require` turns it into an
    assertion for a grader's test.
    """

    exercise: str
    ok: bool
    score: float
    message: str
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    marks: tuple["bool | None", ...] = ()
    detail: str = ""
    grid_html: str = ""
    malformed: bool = False

    def __bool__(self) -> bool:
        return self.ok

    @property
    def verdict(self) -> str:
        if self.malformed:
            return "Cannot check this answer"
        if self.ok:
            return "Right"
        return "Not yet right" if self.score == 0 else f"Partly right ({self.score:.0%})"

    def text(self) -> str:
        """Plain text: verdict, message, table (as aligned columns) and detail."""
        sym = "?" if self.malformed else ("✓" if self.ok else "✗")
        out = [f"{sym} {self.verdict} [{self.exercise}]: {self.message}"]
        if self.rows:
            sign = {True: "✓", False: "✗"}
            table = [list(self.columns) + [""]]
            for k, r in enumerate(self.rows):
                m = self.marks[k] if k < len(self.marks) else None
                table.append([str(c) for c in r] + [sign.get(m, "")])  # type: ignore[arg-type]
            widths = [max(len(r[i]) for r in table if i < len(r)) for i in range(len(table[0]))]
            out.append("")
            for n, r in enumerate(table):
                out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
                if n == 0:
                    out.append("  ".join("-" * w for w in widths).rstrip())
        if self.detail:
            out += ["", self.detail]
        return "\n".join(out)

    def html(self) -> str:
        colour = COLORS["malformed"] if self.malformed else \
            COLORS["right"] if self.ok else COLORS["wrong"]
        sym = "?" if self.malformed else ("✓" if self.ok else "✗")
        parts = [f'<div class="t-feedback" style="border-left:4px solid {colour};'
                 f'padding:2px 0 4px 10px;margin:6px 0">',
                 f'<p><b style="color:{colour}">{sym} {html.escape(self.verdict)}</b> '
                 f'{markup(self.message)}</p>']
        if self.grid_html:
            parts.append(self.grid_html)
        elif self.rows:
            head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns) + "<th></th>"
            body = []
            for k, r in enumerate(self.rows):
                m = self.marks[k] if k < len(self.marks) else None
                bg = {True: COLORS["right-fill"], False: COLORS["wrong-fill"]}.get(m, "")
                cells = "".join(f"<td>{html.escape(str(c))}</td>" for c in r)
                sign = {True: "✓", False: "✗"}.get(m, "")
                body.append(f'<tr style="background:{bg}">{cells}<td>{sign}</td></tr>')
            parts.append('<table class="t-feedback-table"><thead><tr>' + head
                         + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>")
        if self.detail:
            parts.append(f"<pre>{html.escape(self.detail)}</pre>")
        parts.append("</div>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.html()

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__

    def require(self, at_least: float = 1.0) -> None:
        """Raise ``AssertionError`` (with the whole feedback) unless the answer is readable
        and scores at least ``at_least``; otherwise print nothing and return ``None``.

        This is what the assignments' otter tests call, so a failing test shows the learner
        the same feedback the lesson notebooks give.
        """
        if self.malformed or self.score + 1e-9 < at_least:
            raise AssertionError("\n" + self.text())

    def require_readable(self) -> None:
        """Raise ``AssertionError`` only if the answer could not be read (a format check)."""
        if self.malformed:
            raise AssertionError("\n" + self.text())


def malformed(exercise: str, message: str) -> Feedback:
    """The feedback for an answer that cannot be read: ``message`` says what is accepted."""
    return Feedback(exercise, False, 0.0, message, malformed=True)
