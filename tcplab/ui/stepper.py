"""The stepper: a recorded run, played one step at a time, optionally predicting each step.

``stepper("simultaneous-close")`` shows Step, Back, Reset, Play (with a speed) and a
slider over the run's steps, and the picture of the moment (:class:`tcplab.ui.view.View`:
state diagram, ladder, badges, clock, explanation).  With the widget focused, ← and →
step back and forward and space plays or pauses (:mod:`tcplab.ui.screen`).  Play runs in
the kernel, one step per tick, so every step is drawn even at 4× (once shown, a step
redraws the picture on the visible tab; the other is drawn when its tab is chosen);
"edges taken" marks on the diagram every edge the run has taken so far (and shows the
diagram's tab).  With ``predict=True`` the learner
first picks the state the next step leads to, graded by
:func:`tcplab.exercises.checks.check_prediction` (the check quizzes and assignments use),
and the question is told from the step's typed fields
(:func:`tcplab.exercises.questions.describe_step`).  Ladder pictures (and, for hosts with
sockets, their ``ss`` lines) of the next steps are drawn ahead while the kernel is idle.
Given a :class:`~tcplab.sockets.SocketNetwork`, each host's badge shows all its TCBs and
its ``ss -tano`` at the step shown.  Built on ipywidgets, :mod:`tcplab.ui.view` and
:mod:`tcplab.exercises`.

Stable CSS classes: ``t-stepper``, ``t-step``, ``t-back``, ``t-reset``, ``t-play``,
``t-speed``, ``t-slider``, ``t-whole``, ``t-coverage``, ``t-pictures``, ``t-predict`` (with
``t-predict-choice``, ``t-choice-<STATE>``, ``t-predict-skip``, ``t-predict-feedback``),
``t-error``, and the view's ``t-diagram``, ``t-ladder``, ``t-badge-<endpoint>``, ``t-clock``,
``t-explain``.

>>> s = stepper("handshake")
>>> s.step(); s.step(); s.index, s.current_step.after.rfc
(2, 'SYN-SENT')
>>> s.goto(99)
Traceback (most recent call last):
...
ValueError: goto() takes a step number 0..5, got 99
"""

from __future__ import annotations

import asyncio
from typing import Iterable

import ipywidgets as widgets

from ..exercises.checks import check_prediction, prediction_choices
from ..exercises.questions import describe_step
from ..network import Network
from ..scenarios import Scenario
from ..render.socket_names import socket_names
from ..sockets import SocketNetwork
from ..states import TcpState
from ..steps import Step
from .cards import esc, head_html
from .style import stylesheet
from .screen import keys_html
from .view import (Guarded, ShownLazily, View, button, check_style, html_widget, pictures,
                   scenario_of, show_diagram_tab)

__all__ = ["Stepper", "stepper", "SPEEDS"]

#: Play speeds: label -> milliseconds between steps.
SPEEDS = (("½×", 1600), ("1×", 800), ("2×", 400), ("4×", 200))


class Stepper(Guarded, ShownLazily, widgets.VBox):
    """A recorded run, shown one step at a time (see :func:`stepper`).

    ``index`` is the number of steps shown: 0 is before the first step, ``len(history)``
    after the last.  :meth:`step`, :meth:`back`, :meth:`goto` and :meth:`reset` move it, as
    do the buttons (``buttons["step"|"back"|"reset"|"play"]``), the keys and the
    ``slider``.  ``playing`` is true while Play runs; ``shown`` counts the steps drawn.
    """

    def __init__(self, source: "str | Scenario | Network", *, predict: bool = False,
                 style: str = "rfc", layers: "str | Iterable[str] | None" = None,
                 prefetch: bool = True) -> None:
        net, sc = scenario_of(source)
        if sc is None:
            net = net.replay()                   # a private copy: the run cannot change
        check_style(style)
        self.net = net
        self.scenario = sc
        self.history: list[Step] = list(net.history)
        self.n = len(self.history)
        self.predict_mode = bool(predict)
        self.prefetch = prefetch
        self._prefetch_handle = None
        self.view = View(net.names, style=style, layers=layers)
        self.score = [0, 0]                      # right, asked (Reset starts it again)
        self._player: "asyncio.Task | None" = None
        self.shown: list[int] = []               # the index of every picture drawn
        self.last_prediction: tuple[bool, str] | None = None

        # controls
        b = self.buttons = {
            "reset": button("↺ Reset", "t-reset", "Back to the start (step 0)", width="88px"),
            "back": button("◀ Back", "t-back", "One step back", width="84px"),
            "step": button("Step ▶", "t-step", "Show the next step", "primary", width="88px"),
            "play": button("▶ Play", "t-play", "Play the steps one after another",
                            width="88px"),
        }
        b["reset"].on_click(lambda _: self._safe(self.reset))
        b["back"].on_click(lambda _: self._safe(self.back))
        b["step"].on_click(lambda _: self._safe(self.step))
        b["play"].on_click(lambda _: self._safe(self.toggle_play))
        self.slider = widgets.IntSlider(value=0, min=0, max=self.n, step=1, description="step",
                                        continuous_update=False, readout=True,
                                        layout=widgets.Layout(flex="1 1 240px",
                                                              min_width="200px"),
                                        style={"description_width": "34px"})
        self.slider.add_class("t-slider")
        self.speed = widgets.Dropdown(options=list(SPEEDS), value=800, description="speed",
                                      layout=widgets.Layout(width="120px"),
                                      style={"description_width": "40px"})
        self.speed.add_class("t-speed")
        self.error = html_widget("t-error")
        self.error.layout.display = "none"

        self.main, self.whole = pictures(self.view)
        self.coverage = widgets.Checkbox(value=False, description="edges taken", indent=False,
                                         tooltip="Mark on the state diagram every edge this "
                                                 "run has taken so far",
                                         layout=widgets.Layout(width="auto", flex="0 0 auto"))
        self.coverage.add_class("t-coverage")
        self.coverage.observe(lambda ch: self._safe(self._set_coverage, ch["new"]), "value")
        bar = widgets.HBox([b["reset"], b["back"], b["step"], b["play"], self.speed,
                            self.slider, self.coverage])
        bar.add_class("tl-bar")

        # predict-first
        self.question = html_widget("t-predict-question")
        self.choice_buttons: dict[TcpState, widgets.Button] = {}
        for s in TcpState:
            cb = button(s.rfc, "t-predict-choice", f"Predict: {s.rfc}")
            cb.add_class(f"t-choice-{s.name}")
            cb.layout.display = "none"
            cb.on_click(lambda _, s=s: self._safe(self.predict, s))
            self.choice_buttons[s] = cb
        self.skip = button("Show me", "t-predict-skip", "Reveal the step without predicting")
        self.skip.on_click(lambda _: self._safe(self.step))
        choices = widgets.HBox([*self.choice_buttons.values(), self.skip])
        choices.add_class("tl-choices")
        self.feedback = html_widget("t-predict-feedback")
        self.predict_box = widgets.VBox([self.question, choices, self.feedback])
        self.predict_box.add_class("t-predict")
        self.predict_box.add_class("tl-predict")
        if not self.predict_mode:
            self.predict_box.layout.display = "none"

        v = self.view
        badges = widgets.HBox([*v.badges.values(), v.clock])
        badges.add_class("tl-badges")
        head = html_widget("tl-head", head_html(sc, net))
        super().__init__([html_widget(None, stylesheet()), html_widget("tl-keyhook",
                          keys_html("stepper")), head, bar, self.error, badges, v.explain,
                          self.predict_box, self.main],
                         layout=widgets.Layout(width="100%"))
        self.add_class("tl-w")
        self.add_class("t-stepper")
        if isinstance(net, SocketNetwork):
            self.add_class("tl-sockets")      # hosts with sockets: badges hold ss lines,
            for badge in v.badges.values():   # as wide as those need (else they wrap)
                badge.layout.flex, badge.layout.min_width = "1 1 0", "min-content"
            v.clock.layout.display = "none"   # t is in the explanation, timers in ss
        self.slider.observe(self._on_index, "value")
        self._render()

    # -- the Python API ----------------------------------------------------------------------
    @property
    def index(self) -> int:
        """Steps shown so far: 0 (before the first) .. ``len(history)``."""
        return self.slider.value

    @property
    def current_step(self) -> Step | None:
        """The step shown last (``None`` at index 0)."""
        return self.history[self.index - 1] if self.index else None

    @property
    def next_step(self) -> Step | None:
        return self.history[self.index] if self.index < self.n else None

    def goto(self, k: int) -> None:
        """Show the run after its first ``k`` steps (0 .. len(history))."""
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= self.n:
            raise ValueError(f"goto() takes a step number 0..{self.n}, got {k!r}")
        self.slider.value = k

    def step(self) -> None:
        """Reveal the next step (at the end: nothing happens)."""
        if self.index < self.n:
            self.slider.value = self.index + 1

    def back(self) -> None:
        if self.index > 0:
            self.slider.value = self.index - 1

    def reset(self) -> None:
        """Back to step 0; in predict-first mode the score starts again."""
        self.pause()
        self.score = [0, 0]
        self.last_prediction = None
        self.feedback.value = ""
        if self.slider.value == 0:
            self._render()
        self.slider.value = 0

    @property
    def playing(self) -> bool:
        return self._player is not None

    def toggle_play(self) -> None:
        """Start or pause playing: one step every ``speed`` milliseconds, each one drawn
        before the next (the kernel runs the player, so no step is skipped).  Needs a
        running event loop (a notebook kernel); plain Python raises ``ValueError``."""
        if self.predict_mode:
            raise ValueError("Play is off in predict-first mode: predict each step instead.")
        if self.playing:
            self.pause()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise ValueError("Play needs a notebook kernel (a running event loop); in a "
                             "script call step() instead") from None
        if self.index >= self.n:
            self.slider.value = 0
        self._player = loop.create_task(self._play())
        self.buttons["play"].description = "❚❚ Pause"

    def pause(self) -> None:
        """Stop playing (nothing happens if not playing)."""
        if self._player is not None:
            self._player.cancel()
            self._player = None
        self.buttons["play"].description = "▶ Play"

    async def _play(self) -> None:
        try:
            while self.index < self.n:
                await asyncio.sleep(self.speed.value / 1000)
                self.step()
        finally:
            if self._player is asyncio.current_task():
                self._player = None
                self.buttons["play"].description = "▶ Play"

    def predict(self, answer: object) -> tuple[bool, str]:
        """Predict the state after the next step (as a learner's click does), then reveal it.

        Returns ``(ok, message)`` from :func:`tcplab.exercises.checks.check_prediction`.
        """
        nxt = self.next_step
        if nxt is None:
            raise ValueError("There is no next step: the run is over. Press Reset.")
        ok, msg = check_prediction(nxt, answer)
        self.score[1] += 1
        self.score[0] += ok
        self.last_prediction = (ok, msg)
        cls, mark = ("tl-ok", "✔ Right.") if ok else ("tl-bad", "✘ Not quite.")
        text = msg.split(":", 1)[1].strip() if ":" in msg else msg
        text = text[:1].upper() + text[1:]
        self.feedback.value = (f'<div class="tl-fb {cls}-box">Step {nxt.index + 1}: '
                               f'<span class="{cls}">{mark}</span> {esc(text)} '
                               f'<span class="tl-muted">· score {self.score[0]} of '
                               f'{self.score[1]}</span></div>')
        self.step()
        return ok, msg

    # -- callbacks ---------------------------------------------------------------------------
    def _on_index(self, change: dict) -> None:
        self._safe(self._render)

    def _set_coverage(self, on: bool) -> None:
        self.view.coverage = bool(on)
        if on:
            show_diagram_tab(self.main)          # the overlay is on the diagram: show it
        self._render()

    # -- drawing -----------------------------------------------------------------------------
    def _render(self) -> None:
        k = self.index
        self.view.show(self.net, k - 1, ladder_key=k, ladder_upto=k - 1, total=self.n)
        self.shown.append(k)
        b = self.buttons
        b["back"].disabled = b["reset"].disabled = k == 0
        at_end = k >= self.n
        b["step"].disabled = at_end
        b["step"].tooltip = "This is the last step" if at_end else "Show the next step"
        if self.predict_mode:
            self._pose_question()
            b["play"].disabled = True
            b["play"].tooltip = "Play is off in predict-first mode"
        self._schedule_prefetch()

    def _pose_question(self) -> None:
        nxt = self.next_step
        choices = prediction_choices(nxt) if nxt is not None else []
        for s, cb in self.choice_buttons.items():
            cb.layout.display = "" if s in choices else "none"
        self.skip.layout.display = "" if nxt is not None else "none"
        step_btn = self.buttons["step"]
        if nxt is None:
            self.question.value = ('<div class="tl-q">The run is over. Press Reset to try '
                                   'again.</div>')
            return
        if not choices:        # a wire step changes no state: nothing to predict
            self.question.value = (f'<div class="tl-q">Next, on the wire: {esc(nxt.explanation)} '
                                   f'No state changes here: press Step.</div>')
            step_btn.disabled = False
            return
        who = nxt.actor
        if isinstance(self.net, SocketNetwork):     # which of the host's sockets
            tag = socket_names(self.history).tag(nxt.socket)
            who = f"{nxt.actor}'s socket {tag}" if tag else who
        self.question.value = (f'<div class="tl-q">Predict: next, {esc(describe_step(nxt))}. '
                               f'Which state will the {esc(who)} be in?</div>')
        step_btn.disabled = True
        step_btn.tooltip = "Make your prediction first (or press Show me)"

    # -- drawing ahead while the kernel is idle ----------------------------------------------
    def _schedule_prefetch(self) -> None:
        if not self.prefetch or self._prefetch_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return                      # plain Python (tests, scripts): nothing to overlap
        self._prefetch_handle = loop.call_later(0.05, self._prefetch_one)

    def _prefetch_one(self) -> None:
        self._prefetch_handle = None
        k = self.index
        order = [*range(k + 1, self.n + 1), *range(k - 1, -1, -1)]
        hosts = isinstance(self.net, SocketNetwork)      # their ss lines, too
        todo = next((j for j in order if not self.view.has_ladder(j) or
                     hosts and not self.view.has_ss(j)), None)
        if todo is None:
            return
        try:
            self.view.ladder_svg(self.net, todo - 1, todo)
            self.view.ss_texts(self.net, todo - 1, todo)
        except Exception:
            return
        self._schedule_prefetch()


def stepper(scenario_or_network: "str | Scenario | Network", *, predict: bool = False,
            style: str = "rfc", **kwargs: object) -> Stepper:
    """A widget that plays a named scenario (or a recorded :class:`Network`) step by step.

    Step forward, Step back, Reset, Play/Pause with a speed control and a slider.  With
    ``predict=True`` the learner first picks the state the next step leads to and is told
    whether it was right (:func:`tcplab.exercises.checks.check_prediction`).  ``style`` names the
    segment notation of the ladder: ``"rfc"``, ``"tcpdump"`` or ``"short"``.
    """
    return Stepper(scenario_or_network, predict=predict, style=style, **kwargs)  # type: ignore
