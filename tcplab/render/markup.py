"""Small, safe text markup for questions and feedback: text in, HTML out.

Questions, hints and checker messages are written as plain text with three marks --
```code```, ``**bold**`` and ``*italic*`` -- and shown as HTML in a notebook.  It is text,
not a widget, so both the widgets (:mod:`tcplab.ui`) and the course checkers
(:mod:`tcplab.exercises`) use it without importing each other.  Built on the standard
library only (:mod:`html`, :mod:`re`); a Markdown library would be far more than three
marks need, and would let a learner's answer inject links or images.

>>> markup("**SYN** `a<b` waits for *our own application*")
'<b>SYN</b> <code>a&lt;b</code> waits for <i>our own application</i>'
>>> markup("2*MSL and 2*MSL")     # a lone star is a star, not italics
'2*MSL and 2*MSL'
"""

from __future__ import annotations

import html
import re

__all__ = ["markup"]


def markup(text: object) -> str:
    """``text`` (anything with a ``str()``) as HTML: escaped first, then ```code``` becomes
    ``<code>``, ``**bold**`` ``<b>`` and ``*italic*`` ``<i>``.  Never raises."""
    out = html.escape(str(text), quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<i>\1</i>", out)
    return out
