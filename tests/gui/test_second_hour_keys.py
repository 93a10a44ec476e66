"""Issue 17, items 1, 4, 8 and 9: emptied boxes, the keyboard, an opened finished run, and the small ones.

Each test drives the window as a person does (clicks, keys, the focus walked with Tab, waiting for the event loop)
and reads what the window shows: a box's text, a slider's position, the labels of the status bar, the data and
ranges of the plots, the pixels of a legend. Keyboard and focus tests need a real X server (``@needs_x_server``);
.ci/run runs this file under Xvfb at 1024×768, 1366×768, 1280×720 and 1920×1080, and at scale 2 on 2560×1440.
"""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QLabel, QMenu,
                               QPushButton, QSlider, QSpinBox, QTableWidget, QToolButton)

from gdstudio.engine.progress import OK

from .conftest import LOAD_TIMEOUT_MS
from .keyboard import behind_a_tab, current_tab_title, describe, focused, key, tab_to, wait_for_focus
from .person import (WAIT_MS, click, curve_data, find, named_curve, needs_x_server, trigger_menu, type_into,
                     visible_text)

RUN_TIMEOUT_MS = 60_000
CTRL = Qt.KeyboardModifier.ControlModifier


# ----------------------------------------------------------------------------------------------------------------
# Looking


def state_text(window) -> str:
    return visible_text(find(window, QLabel, "stateLabel"))


def final_text(window) -> str:
    return visible_text(find(window, QLabel, "finalLabel"))


def loss_text(window) -> str:
    return visible_text(find(window, QLabel, "lossLabel"))


def drawn_loss(window) -> np.ndarray:
    """The total loss curve as drawn on the loss plot."""
    return curve_data(named_curve(find(window, pg.PlotWidget, "lossPlot"), "total loss"))[1]


def drawn_steps(window) -> np.ndarray:
    return curve_data(named_curve(find(window, pg.PlotWidget, "lossPlot"), "total loss"))[0]


def change_labels(window) -> list[str]:
    """The texts of the labelled change markers drawn on the loss plot."""
    plot = find(window, pg.PlotWidget, "lossPlot").getPlotItem()
    return [item.label.format for item in plot.items
            if isinstance(item, pg.InfiniteLine) and getattr(item, "label", None) is not None]


def shown_step(window) -> int:
    """The step in the status bar ("step 1,234")."""
    return int(find(window, QLabel, "stepLabel").text().split()[-1].replace(",", ""))


def percentages(text: str) -> dict[str, float]:
    """``{"train": 93.1, "validation": 91.0, "test": 90.2}`` from the final accuracies line."""
    return {name: float(value) for name, value in re.findall(r"(train|validation|test) ([\d.]+) %", text)}


def train_to_the_end(qtbot, window, epochs: str = "2") -> None:
    """Type the epochs, press Start, and wait until the window says the run has finished."""
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), epochs, commit=Qt.Key.Key_Return)
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: state_text(window) == "Finished" and bool(final_text(window)), timeout=RUN_TIMEOUT_MS)
    last = shown_step(window)
    # the plot reaches the run's last step as the window's own timer draws it (a long run is drawn from bins)
    qtbot.waitUntil(lambda: len(drawn_steps(window)) and drawn_steps(window)[-1] >= last - last / 300,
                    timeout=WAIT_MS)


# ----------------------------------------------------------------------------------------------------------------
# Item 1: an emptied or unfinished α or λ box goes back to its last value


ERASURES = {"Backspace": [Qt.Key.Key_Backspace], "Space": [Qt.Key.Key_Space], "unfinished 1e": "1e",
            "a lone minus": "-"}


def erase(qtbot, box: QDoubleSpinBox, how) -> None:
    """Click into the box, select its text (Ctrl+A) and type over it: a key, or an unfinished number."""
    click(qtbot, box)
    wait_for_focus(qtbot, box)
    key(qtbot, Qt.Key.Key_A, CTRL)
    if isinstance(how, str):
        qtbot.keyClicks(box.lineEdit(), how)
    else:
        for which in how:
            key(qtbot, which)


@pytest.mark.parametrize("how", list(ERASURES))
@pytest.mark.parametrize("box_name, slider_name", [("lrSpin", "lrSlider"), ("regSpin", "regSlider")])
def test_an_emptied_box_goes_back_to_its_last_value(qtbot, window, box_name, slider_name, how):
    """Issue 17 item 1: click into α (or λ), Ctrl+A, Backspace or Space (or an unfinished "1e"), Tab: the box
    reads its last value again, the slider has not moved, and the next run learns (not 1e-12 / 0, 10 %)."""
    box = find(window, QDoubleSpinBox, box_name)
    slider = find(window, QSlider, slider_name)
    text_before, slider_before = box.text(), slider.value()
    erase(qtbot, box, ERASURES[how])
    assert box.text().strip() in ("", "1e", "-"), box.text()
    key(qtbot, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: not box.hasFocus(), timeout=WAIT_MS)
    qtbot.wait(300)  # a value sent live is sent within LIVE_DELAY_MS
    assert box.text() == text_before
    assert slider.value() == slider_before

    train_to_the_end(qtbot, window)
    accuracies = percentages(final_text(window))
    assert accuracies["validation"] > 50, final_text(window)
    loss = drawn_loss(window)
    assert len(loss) and loss[-1] < 0.5 * loss[0], (loss[0], loss[-1])
    assert box.text() == text_before


@pytest.mark.parametrize("box_name", ["lrSpin", "regSpin"])
def test_an_box_emptied_during_a_run_sends_nothing(qtbot, window, box_name):
    """Issue 17 item 1: during a run, an α or λ box emptied (Ctrl+A, Backspace, Tab) changes nothing: no change is
    marked on the loss plot, the box reads its value again, and the run goes on learning."""
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "100000", commit=Qt.Key.Key_Return)
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: state_text(window) == "Training" and shown_step(window) > 20, timeout=RUN_TIMEOUT_MS)
    box = find(window, QDoubleSpinBox, box_name)
    text_before = box.text()
    erase(qtbot, box, [Qt.Key.Key_Backspace])
    key(qtbot, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: not box.hasFocus(), timeout=WAIT_MS)
    step = shown_step(window)
    qtbot.waitUntil(lambda: shown_step(window) > step + 100, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: drawn_steps(window)[-1] > step + 50, timeout=WAIT_MS)
    assert change_labels(window) == []
    assert box.text() == text_before
    loss = drawn_loss(window)
    assert loss[-1] < 0.5 * loss[0], (loss[0], loss[-1])
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: state_text(window) == "Paused", timeout=RUN_TIMEOUT_MS)


# ----------------------------------------------------------------------------------------------------------------
# Item 8: an opened finished run


@pytest.fixture
def finished_run(tmp_path):
    """A run folder of two epochs on the digits, written by ``gdstudio train --out``."""
    from gdstudio.cli import main

    folder = tmp_path / "finished-run"
    assert main(["train", "--dataset", "digits", "--epochs", "2", "--out", str(folder), "--quiet"]) == 0
    return folder


def test_an_opened_finished_run_shows_its_loss_and_final_accuracies(qtbot, window, monkeypatch, finished_run):
    """Issue 17 item 8: File → Open run… on a finished run: the status bar shows the run's last loss (not
    "loss —") and the "Finished: accuracy train …, validation …, test …" line of its config.json."""
    document = json.loads((finished_run / "config.json").read_text())
    final = document["final"]
    with open(finished_run / "metrics.csv", newline="") as file:
        losses = [float(row["loss"]) for row in csv.DictReader(file) if row["loss"]]
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args, **kw: str(finished_run)))
    trigger_menu(window, "File", "Open run…")
    qtbot.waitUntil(lambda: state_text(window) == "Finished", timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: loss_text(window) != "loss —", timeout=WAIT_MS)
    assert loss_text(window) == f"loss {losses[-1]:.4g}"
    shown = percentages(final_text(window))
    assert shown == {"train": round(100 * final["train_accuracy"], 1),
                     "validation": round(100 * final["val_accuracy"], 1),
                     "test": round(100 * final["test_accuracy"], 1)}, final_text(window)


# ----------------------------------------------------------------------------------------------------------------
# Item 4: the keyboard


VIEW_KEYS = {"templatesView": Qt.Key.Key_1, "inspectorView": Qt.Key.Key_2, "gradcheckView": Qt.Key.Key_3,
             "regionsView": Qt.Key.Key_4, "confusionView": Qt.Key.Key_5, "raceView": Qt.Key.Key_6,
             "stepProbeView": Qt.Key.Key_7, "landscapeView": Qt.Key.Key_8, "sweepView": Qt.Key.Key_9,
             "twinView": Qt.Key.Key_0}
"""The README's keyboard table: Ctrl+1 … Ctrl+9, Ctrl+0 bring these views to the front."""


def start_from(qtbot, window, name: str = "startButton"):
    """The keyboard's first stop: Tab from wherever the window put the focus until ``name`` has it."""
    target = find(window, QPushButton, name)
    if focused() is not target:
        tab_to(qtbot, window, target)
    return target


def front_view(qtbot, window, name: str):
    """Bring view ``name`` to the front with its Ctrl+digit; the view, once it can be seen."""
    view = window.views[name]
    key(qtbot, VIEW_KEYS[name], CTRL)
    qtbot.waitUntil(lambda: not view.visibleRegion().isEmpty(), timeout=WAIT_MS)
    return view


def kept_curves(window) -> list:
    plot = find(window, pg.PlotWidget, "lossPlot").getPlotItem()
    return [item for item in plot.listDataItems() if (item.name() or "").startswith("kept: ")]


@needs_x_server
def test_space_and_return_press_the_focused_button(qtbot, window):
    """Issue 17 item 4: with a batch quick pick or a check box focused (walked to with Tab), Space and Return press
    it; they do not start the run."""
    start_from(qtbot, window)
    batch = find(window, QSpinBox, "batchSizeSpin")
    tab_to(qtbot, window, find(window, QToolButton, "batch32Button"))
    key(qtbot, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: batch.text() == "32", timeout=WAIT_MS)
    tab_to(qtbot, window, find(window, QToolButton, "batch256Button"))
    key(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: batch.text() == "256", timeout=WAIT_MS)
    log_check = find(window, QCheckBox, "logLossCheck")
    tab_to(qtbot, window, log_check)
    key(qtbot, Qt.Key.Key_Space)
    qtbot.waitUntil(log_check.isChecked, timeout=WAIT_MS)
    qtbot.wait(500)
    assert state_text(window) == "Ready" and shown_step(window) == 0
    # and where no button has the focus, Space is Start / Pause
    start = find(window, QPushButton, "startButton")
    tab_to(qtbot, window, find(window, pg.PlotWidget, "lossPlot"))
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "100000", commit=Qt.Key.Key_Return)
    tab_to(qtbot, window, find(window, pg.PlotWidget, "lossPlot"))
    key(qtbot, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: state_text(window) == "Training", timeout=RUN_TIMEOUT_MS)
    key(qtbot, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: state_text(window) == "Paused", timeout=RUN_TIMEOUT_MS)
    assert start.text() == "Resume"


@needs_x_server
def test_letters_typed_in_a_combo_box_choose_entries_and_fire_no_shortcut(qtbot, window):
    """Issue 17 item 4: R typed in the Strategy box picks "Random search" (and asks before the trained run is
    replaced) instead of resetting the run; S makes no step and K keeps no run while a combo box has the focus."""
    from .dialogs import answering

    start_from(qtbot, window)
    key(qtbot, Qt.Key.Key_S)  # on a button, S is still Step
    qtbot.waitUntil(lambda: shown_step(window) == 1, timeout=RUN_TIMEOUT_MS)
    strategy = find(window, QComboBox, "strategyCombo")
    tab_to(qtbot, window, strategy)
    with answering("Cancel") as asked:
        key(qtbot, Qt.Key.Key_R)
        qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT_MS)
    assert "replaces the current run" in asked[0]
    # With no window manager under Xvfb, nothing gives the window the keyboard back when the box closes; a
    # person's window manager does, and the focus is where it was.
    window.activateWindow()
    wait_for_focus(qtbot, strategy)
    qtbot.waitUntil(lambda: strategy.currentText().startswith("SGD"), timeout=WAIT_MS)  # the run was kept
    for letter in (Qt.Key.Key_S, Qt.Key.Key_K):
        key(qtbot, letter)
    qtbot.wait(500)
    assert shown_step(window) == 1 and len(drawn_loss(window)) == 1
    assert kept_curves(window) == []
    assert strategy.currentText().startswith("SGD")


@needs_x_server
def test_r_picks_random_search_in_a_fresh_window(qtbot, window):
    """Issue 17 item 4: in a window that has not trained, R in the Strategy box picks "Random search"."""
    strategy = find(window, QComboBox, "strategyCombo")
    start_from(qtbot, window)
    tab_to(qtbot, window, strategy)
    key(qtbot, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: strategy.currentText() == "Random search", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: state_text(window) == "Ready", timeout=LOAD_TIMEOUT_MS)


@needs_x_server
@pytest.mark.parametrize("backwards", [False, True], ids=["Tab", "Shift+Tab"])
def test_tab_walks_only_what_can_be_seen_and_comes_round(qtbot, window, backwards):
    """Issue 17 item 4: Tab (Shift+Tab) from Start never stops in a view hidden behind another tab, never sticks
    (the race table included) and comes round to Start again."""
    start = start_from(qtbot, window)
    walk: list = []
    presses = tab_to(qtbot, window, start, backwards=backwards, walk=walk)
    hidden = [describe(widget) for widget in walk if widget is not None and behind_a_tab(window, widget)]
    assert hidden == [], f"Tab stopped in views hidden behind a tab: {hidden}"
    assert presses > 20, [describe(widget) for widget in walk]  # the controls, the curves and the view in front
    # once more, with the race view in front: its table lets the focus go on
    front_view(qtbot, window, "raceView")
    table = find(window, QTableWidget, "raceTable")
    tab_to(qtbot, window, table, backwards=backwards)
    for which, modifier in ((Qt.Key.Key_Tab, Qt.KeyboardModifier.NoModifier),
                            (Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)):
        key(qtbot, which, modifier)
        qtbot.waitUntil(lambda: focused() is not table, timeout=WAIT_MS)
        tab_to(qtbot, window, table)
    key(qtbot, Qt.Key.Key_Tab, CTRL)  # the next view, in front of the race
    qtbot.waitUntil(lambda: focused() is not table and window.views["raceView"].visibleRegion().isEmpty(),
                    timeout=WAIT_MS)


@needs_x_server
def test_keys_and_the_views_menu_bring_a_view_to_the_front(qtbot, window):
    """Issue 17 item 4: Ctrl+1 … Ctrl+0 bring the views to the front (their tab in front, the view drawn, the focus
    in it), Ctrl+Tab and Ctrl+Shift+Tab go to the next and previous view, and View → Views → a view does the same."""
    start_from(qtbot, window)
    for name in VIEW_KEYS:
        view = front_view(qtbot, window, name)
        dock = window.view_docks[name]
        assert current_tab_title(window, dock) == type(view).title
        # the keyboard in it: its first control (or the view's scroll area, where it has none, as the regions
        # view on the digits, which are not 2-D)
        qtbot.waitUntil(lambda: focused() is not None and dock.isAncestorOf(focused()), timeout=WAIT_MS)
    names = list(window.views)
    twin, after = window.views["twinView"], window.views[names[names.index("twinView") + 1]]
    key(qtbot, Qt.Key.Key_Tab, CTRL)
    qtbot.waitUntil(lambda: not after.visibleRegion().isEmpty() and twin.visibleRegion().isEmpty(), timeout=WAIT_MS)
    key(qtbot, Qt.Key.Key_Backtab, CTRL | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not twin.visibleRegion().isEmpty() and after.visibleRegion().isEmpty(), timeout=WAIT_MS)
    race = window.views["raceView"]
    trigger_menu(window, "View", "Views", type(race).title)
    qtbot.waitUntil(lambda: not race.visibleRegion().isEmpty(), timeout=WAIT_MS)
    assert current_tab_title(window, window.view_docks["raceView"]) == type(race).title


@pytest.fixture
def sweeps_in_threads(monkeypatch):
    """The sweep's trials in threads of this process: spawning processes costs seconds per test on CI."""
    from concurrent.futures import ThreadPoolExecutor

    from gdstudio.gui.views.lecture import sweep as sweep_view

    monkeypatch.setattr(sweep_view, "ProcessPoolExecutor",
                        lambda max_workers, mp_context=None: ThreadPoolExecutor(max_workers))


def status_of(window, name: str) -> str:
    return visible_text(find(window.views[name], QLabel, f"{name}Status"))


BUTTONS = {  # the view, the button, the key that presses it, and what the view says once it has started (or ended)
    "Train twins": ("twinView", "twinStartButton", Qt.Key.Key_Space,
                    lambda window: ("Training twins" in status_of(window, "twinView")
                                    or "Both started" in status_of(window, "twinView"))),
    "Race": ("raceView", "raceButton", Qt.Key.Key_Return,
             lambda window: status_of(window, "raceView").startswith(("Racing", "Raced"))),
    "Check gradient": ("gradcheckView", "gradcheckButton", Qt.Key.Key_Space,
                       lambda window: visible_text(find(window.views["gradcheckView"], QLabel,
                                                        "gradcheckSummary")).startswith(("Checking", "<b"))),
    "Start sweep": ("sweepView", "sweepStartButton", Qt.Key.Key_Return,
                    lambda window: (status_of(window, "sweepView").startswith("Sweeping")
                                    or "trials done" in status_of(window, "sweepView"))),
}


@needs_x_server
@pytest.mark.parametrize("title", list(BUTTONS))
def test_a_views_button_is_reached_by_tab_and_pressed_by_key(qtbot, window, sweeps_in_threads, title):
    """Issue 17 item 4: Train twins, Race, Check gradient and Start sweep: the view brought to the front with its
    key, the button walked to with Tab and pressed with Space or Return: it starts its work."""
    name, button_name, which, started = BUTTONS[title]
    view = front_view(qtbot, window, name)
    button = find(view, QPushButton, button_name)
    tab_to(qtbot, window, button)
    key(qtbot, which)
    qtbot.waitUntil(lambda: started(window), timeout=RUN_TIMEOUT_MS)
    assert state_text(window) == "Ready"  # Space pressed the button, not Start


@needs_x_server
def test_keep_this_run_and_get_are_reached_by_tab_and_pressed_by_key(qtbot, window):
    """Issue 17 item 4: after a step (S), Keep this run walked to with Tab and pressed with Return keeps the run;
    Get… walked to with Tab and pressed with Space opens its menu, which Escape closes."""
    start_from(qtbot, window)
    key(qtbot, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: shown_step(window) == 1, timeout=RUN_TIMEOUT_MS)
    tab_to(qtbot, window, find(window, QPushButton, "keepRunButton"))
    key(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(kept_curves(window)) == 1, timeout=WAIT_MS)
    get = find(window, QToolButton, "dataMenuButton")
    tab_to(qtbot, window, get)
    menu = get.menu()
    seen: list = []

    def read_and_close(tries: int = 200) -> None:
        """The menu runs its own event loop while open: look at it and close it with Escape from a timer."""
        if menu.isVisible():
            seen.append([action.text() for action in menu.actions() if action.isVisible()])
            QTest.keyClick(menu, Qt.Key.Key_Escape)
        elif tries > 1:
            QTimer.singleShot(50, lambda: read_and_close(tries - 1))

    QTimer.singleShot(50, read_and_close)
    key(qtbot, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: bool(seen) and not menu.isVisible(), timeout=WAIT_MS)
    assert any(text.startswith("Get ") for text in seen[0]), seen
    assert shown_step(window) == 1
