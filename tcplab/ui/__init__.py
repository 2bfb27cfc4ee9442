"""Widgets for the notebooks: the only layer that imports ipywidgets.

Built on the model, the pictures (:mod:`tcplab.render`) and the questions
(:mod:`tcplab.exercises`).

>>> from tcplab.ui import stepper    # doctest: +SKIP
>>> stepper("handshake")             # doctest: +SKIP
"""

from .practice import practice
from .quiz import Quiz, quiz, self_check
from .widgets import SPEEDS, Explorer, Stepper, explorer, stepper

__all__ = ["stepper", "explorer", "Stepper", "Explorer", "SPEEDS", "Quiz", "quiz", "self_check",
           "practice"]
