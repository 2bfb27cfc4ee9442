"""The course around the model: the lessons, the field guide and the student assignments that
ship inside tcplab, and the commands that hand them to a learner.

- :mod:`tcplab.course.lessons` -- where the material is (an installed wheel's
  ``tcplab/_lessons/``, or a checkout's ``notebooks/`` and ``assignments/student/``) and
  :func:`copy_lessons`, which never overwrites a learner's edited files;
- :mod:`tcplab.course.commands` -- ``tcplab notebooks [DIR]`` and ``tcplab lab [DIR]``.

Standard library only; JupyterLab is started as a separate program by ``tcplab lab``.
"""

from .lessons import MANIFEST, CopyReport, LessonSource, copy_lessons, find_lessons

__all__ = ["MANIFEST", "CopyReport", "LessonSource", "copy_lessons", "find_lessons"]
