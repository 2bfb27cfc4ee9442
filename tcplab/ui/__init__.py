"""Widgets for the notebooks: the only layer that imports ipywidgets.

Built on the model, the pictures (:mod:`tcplab.render`) and the course content
(:mod:`tcplab.exercises`).  The modules:

- :mod:`.stepper` -- :func:`stepper`, a recorded run step by step (with predict-first);
- :mod:`.explorer` -- :func:`explorer`, drive both endpoints and the wire by hand;
- :mod:`.quiz` -- :func:`quiz` and :func:`self_check`, questions with instant feedback;
- :mod:`.practice` -- :func:`practice`, an exercise's answer box and checker;
- :mod:`.view` -- the picture of one moment both widgets show (ladder and diagram on tabs);
- :mod:`.screen` -- fitting the pictures to a laptop's screen, and the keys (pure HTML);
- :mod:`.challenge` -- "reach every edge": the edges a run has taken, and hints (pure);
- :mod:`.cards` -- the pure-HTML cards (badges, clock, explanation, segments);
- :mod:`.style` and ``tcplab.css`` -- the one style sheet, with the theme's colours.

>>> from tcplab.ui import stepper    # doctest: +SKIP
>>> stepper("handshake")             # doctest: +SKIP
"""

from .explorer import Explorer, explorer
from .practice import practice
from .quiz import Quiz, quiz, self_check
from .stepper import SPEEDS, Stepper, stepper

__all__ = ["stepper", "explorer", "Stepper", "Explorer", "SPEEDS", "Quiz", "quiz",
           "self_check", "practice"]
