"""Issue 17 item 6: an idle window costs (about) nothing, and a slow run costs no more than its steps.

A person notices the cost as a laptop's fan and battery; a test cannot measure CPU shares without timing flakiness,
so it counts what causes them: the timer events the application delivers (each one a wake-up of the process) and
the paints of the plots, over a few seconds of event loop, with an event filter on the application. Idle (just
opened, after a run, paused, minimised) there must be next to none; while a run trains slowly, no more than a few
per step that arrives; and the plots must still draw each step (their data grows). ``tests/bench/gui_cpu.py``
measures the CPU shares themselves.
"""

from __future__ import annotations

import collections
from contextlib import contextmanager

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QDoubleSpinBox, QLabel, QPushButton

from .layout_checks import raise_view_by_tab
from .person import WAIT_MS, click, curve_data, find, named_curve, pick, type_into, visible_text

RUN_MS = 60_000
COUNT_MS = 3_000
"""How long each count runs: the event loop left to itself, as when nobody touches the window."""
SETTLE_MS = 1_000
"""Let what the last action started finish (a run's last redraws, a status message) before counting."""
IDLE_WAKEUPS = 3
"""Timer events allowed in ``COUNT_MS`` of idle (the count's own end is one; a text cursor blinks twice a second
where a number box has the keyboard): the window itself must add none."""
WAKEUPS_PER_STEP = 6
"""Timer events allowed per step that arrives while a slow run trains (the curves' redraw, the view's refresh,
each with its follow-up check); a fixed-rate timer makes dozens a second whatever the pace."""


class EventCounter(QObject):
    """Counts the timer events and paints the application delivers, by receiver, so a failure says who woke."""

    def __init__(self) -> None:
        super().__init__()
        self.timers: collections.Counter = collections.Counter()
        self.paints: collections.Counter = collections.Counter()

    def eventFilter(self, watched, event) -> bool:  # Qt override
        kind = event.type()
        if kind == QEvent.Type.Timer:
            self.timers[_name(watched)] += 1
        elif kind == QEvent.Type.Paint:
            self.paints[_name(watched)] += 1
        return False

    def plot_paints(self) -> int:
        return sum(count for name, count in self.paints.items() if name.endswith((":lossPlot", ":accuracyPlot")))


def _name(receiver) -> str:
    """``Class:objectName`` of ``receiver``, or of its nearest named parent."""
    named = receiver
    while named is not None and not named.objectName():
        named = named.parent() if isinstance(named, QObject) else None
    return f"{type(receiver).__name__}:{named.objectName() if named is not None else ''}"


@contextmanager
def counting():
    counter = EventCounter()
    app = QApplication.instance()
    app.installEventFilter(counter)
    try:
        yield counter
    finally:
        app.removeEventFilter(counter)


def live_loss(window):
    return curve_data(named_curve(window.view.loss_plot, "total loss"))


def state_text(window) -> str:
    return visible_text(find(window, QLabel, "stateLabel"))


def drawn_steps(window) -> int:
    """The last step the loss plot draws (0 when it draws nothing)."""
    x, _ = live_loss(window)
    return int(x[-1]) if len(x) else 0


def count_idle(qtbot) -> EventCounter:
    qtbot.wait(SETTLE_MS)
    with counting() as counter:
        qtbot.wait(COUNT_MS)
    return counter


def start_paced_run(qtbot, window, speed: str) -> None:
    """Speed box, a long run, Start: as a lecturer who explains steps one by one."""
    pick(qtbot, find(window, QComboBox, "paceCombo"), speed)
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "100000", commit=Qt.Key.Key_Return)
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: drawn_steps(window) >= 2, timeout=RUN_MS)


@pytest.mark.parametrize("when", ["just opened", "after a run", "paused", "minimised"])
def test_an_idle_window_wakes_up_for_nothing_and_still_draws_new_steps(qtbot, window, when):
    """Issue 17 item 6: an idle window (just opened, after a run, paused, minimised) gets next to no timer events
    and paints no plot; a step made afterwards is drawn at once."""
    if when == "after a run":
        type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "2", commit=Qt.Key.Key_Return)
        click(qtbot, find(window, QPushButton, "startButton"))
        qtbot.waitUntil(lambda: state_text(window) == "Finished" and drawn_steps(window) > 0
                        and drawn_steps(window) == window.controller.last_progress.step, timeout=RUN_MS)
    elif when == "paused":
        start_paced_run(qtbot, window, "100 steps/s")
        click(qtbot, find(window, QPushButton, "startButton"))
        qtbot.waitUntil(lambda: state_text(window) == "Paused", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: drawn_steps(window) == window.controller.last_progress.step, timeout=WAIT_MS)
    elif when == "minimised":
        window.showMinimized()  # what the window manager's minimise button asks for
    counter = count_idle(qtbot)
    wakeups = sum(counter.timers.values())
    assert wakeups <= IDLE_WAKEUPS, f"{wakeups} timer events in {COUNT_MS} ms idle: {counter.timers.most_common(5)}"
    assert counter.plot_paints() == 0, counter.paints.most_common(5)
    if when == "minimised":
        window.showNormal()
    before = drawn_steps(window)
    button = "startButton" if when == "after a run" else "stepButton"  # Continue, or one step
    click(qtbot, find(window, QPushButton, button))
    qtbot.waitUntil(lambda: drawn_steps(window) > before, timeout=RUN_MS)


@pytest.mark.parametrize("speed, steps_per_second", [("1 step/s", 1), ("10 steps/s", 10)])
def test_a_slow_run_wakes_the_window_no_more_often_than_steps_arrive(qtbot, window, speed, steps_per_second):
    """Issue 17 item 6: training at 1 and 10 steps a second, the window wakes a few times per step that
    arrives (not ~35 times a second whatever happens), and the loss plot draws each new step."""
    start_paced_run(qtbot, window, speed)
    qtbot.wait(SETTLE_MS)
    first = drawn_steps(window)
    with counting() as counter:
        qtbot.wait(COUNT_MS)
    qtbot.waitUntil(lambda: drawn_steps(window) >= window.controller.last_progress.step, timeout=WAIT_MS)
    steps = window.controller.last_progress.step - first
    assert steps >= 1
    wakeups = sum(counter.timers.values())
    assert wakeups <= WAKEUPS_PER_STEP * steps + IDLE_WAKEUPS, \
        f"{wakeups} timer events for {steps} steps: {counter.timers.most_common(5)}"
    loss_paints = sum(n for name, n in counter.paints.items() if name.endswith(":lossPlot"))
    assert loss_paints <= steps + 2, f"{loss_paints} paints of the loss plot for {steps} steps"
    click(qtbot, find(window, QPushButton, "startButton"))  # Pause
    qtbot.waitUntil(lambda: state_text(window) == "Paused", timeout=WAIT_MS)


def test_a_view_behind_another_tab_draws_the_last_weights_when_brought_to_the_front(qtbot, window):
    """Issue 17 item 6: the views sleep while none on screen has anything new; a view tabbed behind another during
    a run, brought to the front once the window is idle, draws the run's last weights."""
    raise_view_by_tab(qtbot, window, "One image's maths")
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "2", commit=Qt.Key.Key_Return)
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: state_text(window) == "Finished", timeout=RUN_MS)
    last = window.controller.last_progress.step
    counter = count_idle(qtbot)
    assert sum(counter.timers.values()) <= IDLE_WAKEUPS, counter.timers.most_common(5)
    raise_view_by_tab(qtbot, window, "Class templates")
    caption = find(window, QLabel, "templatesCaption")
    qtbot.waitUntil(lambda: visible_text(caption).startswith(f"W at step {last}:"), timeout=WAIT_MS)
