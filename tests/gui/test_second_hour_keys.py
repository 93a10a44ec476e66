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
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QLabel, QPushButton, QSlider,
                               QSpinBox, QTableWidget, QToolButton)

from .conftest import LOAD_TIMEOUT_MS
from .keyboard import (behind_a_tab, click_view_tab, current_tab_title, describe, focused, key, tab_to,
                       wait_for_focus)
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
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "1000000", commit=Qt.Key.Key_Return)
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
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "1000000", commit=Qt.Key.Key_Return)
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
    in it), Ctrl+Tab and Ctrl+Shift+Tab go to the next and previous view, and View → Views → a view does the
    same."""
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


BUTTONS = {  # the view, the button, and what the view says once it has started (or ended)
    "Train twins": ("twinView", "twinStartButton",
                    lambda window: ("Training twins" in status_of(window, "twinView")
                                    or "Both started" in status_of(window, "twinView"))),
    "Race": ("raceView", "raceButton", lambda window: status_of(window, "raceView").startswith(("Racing", "Raced"))),
    "Check gradient": ("gradcheckView", "gradcheckButton",
                       lambda window: visible_text(find(window.views["gradcheckView"], QLabel,
                                                        "gradcheckSummary")).startswith(("Checking", "<b"))),
    "Start sweep": ("sweepView", "sweepStartButton",
                    lambda window: (status_of(window, "sweepView").startswith("Sweeping")
                                    or "trials done" in status_of(window, "sweepView"))),
}
PRESS_KEYS = {"Space": Qt.Key.Key_Space, "Return": Qt.Key.Key_Return}
"""Either presses a focused button."""


@needs_x_server
@pytest.mark.parametrize("which", list(PRESS_KEYS))
@pytest.mark.parametrize("title", list(BUTTONS))
def test_a_views_button_is_reached_by_tab_and_pressed_by_key(qtbot, window, sweeps_in_threads, title, which):
    """Issue 17 item 4: Train twins, Race, Check gradient and Start sweep: the view brought to the front with its
    key, the button walked to with Tab and pressed with Space or Return: it starts its work."""
    name, button_name, started = BUTTONS[title]
    view = front_view(qtbot, window, name)
    button = find(view, QPushButton, button_name)
    tab_to(qtbot, window, button)
    key(qtbot, PRESS_KEYS[which])
    qtbot.waitUntil(lambda: started(window), timeout=RUN_TIMEOUT_MS)
    assert state_text(window) == "Ready"  # Space pressed the button, not Start


@needs_x_server
@pytest.mark.parametrize("which", list(PRESS_KEYS))
def test_keep_this_run_and_get_are_reached_by_tab_and_pressed_by_key(qtbot, window, which):
    """Issue 17 item 4: after a step (S), Keep this run walked to with Tab and pressed with Space or Return keeps
    the run; Get… walked to with Tab and pressed with the same key opens its menu, which Escape closes."""
    start_from(qtbot, window)
    key(qtbot, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: shown_step(window) == 1, timeout=RUN_TIMEOUT_MS)
    tab_to(qtbot, window, find(window, QPushButton, "keepRunButton"))
    key(qtbot, PRESS_KEYS[which])
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
    key(qtbot, PRESS_KEYS[which])
    qtbot.waitUntil(lambda: bool(seen) and not menu.isVisible(), timeout=WAIT_MS)
    assert any(text.startswith("Get ") for text in seen[0]), seen
    assert shown_step(window) == 1


# ----------------------------------------------------------------------------------------------------------------
# Item 9: the small ones


def contrast(first: QColor, second: QColor) -> float:
    """The WCAG contrast ratio of two colours (1 … 21)."""
    def luminance(colour: QColor) -> float:
        channels = [c / 255 for c in (colour.red(), colour.green(), colour.blue())]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def scene_rect_in_widget(plot_widget, item) -> QRect:
    """Where a plot's graphics item is drawn, in the pixels of the plot widget's viewport (which it draws on)."""
    return plot_widget.mapFromScene(item.sceneBoundingRect()).boundingRect()


def test_the_landscape_x_labels_are_whole_where_they_are_seen(qtbot, window):
    """Issue 17 item 9: the loss landscape's axis labels ("distance from W …", "random direction") are drawn whole:
    inside their plot, and inside the width of the dock that shows the view (it read "stance from W along…")."""
    view = click_view_tab(qtbot, window, "landscapeView")
    qtbot.waitUntil(lambda: bool(visible_text(find(view, QLabel, "landscapeSummary"))), timeout=RUN_TIMEOUT_MS)
    qtbot.wait(300)
    holder = window.view_docks["landscapeView"].widget().viewport()  # what the dock shows of the view
    shown_left = holder.mapToGlobal(QPoint(0, 0)).x()
    sideways = []
    for plot in (find(view, pg.PlotWidget, "landscapeLinePlot"), find(view, pg.PlotWidget, "landscapePlanePlot")):
        label = plot.getAxis("bottom").label
        text = label.toPlainText().strip()
        drawn = scene_rect_in_widget(plot, label)
        width = label.document().idealWidth() - 2 * label.document().documentMargin()  # the text's own width
        canvas = plot.viewport()
        left = QPoint(int(drawn.center().x() - width / 2), drawn.center().y())
        right = QPoint(int(drawn.center().x() + width / 2), drawn.center().y())
        assert canvas.rect().contains(left) and canvas.rect().contains(right), (text, drawn, canvas.rect())
        assert "W" in text or "random" in text, text
        if not shown_left <= canvas.mapToGlobal(left).x() <= canvas.mapToGlobal(right).x() <= \
                shown_left + holder.width():
            sideways.append(text)
    assert sideways == [], f"cut by the dock: {sideways}"


def test_the_race_legend_shows_the_strategies_colours_before_the_first_race(qtbot, window):
    """Issue 17 item 9: before any race, each legend entry's marker is drawn in its strategy's colour (they were
    grey until the first race)."""
    from gdstudio.gui.views.lecture.jobs import STRATEGY_COLOURS
    from gdstudio.gui.views.lecture.race import STRATEGY_TITLES

    view = click_view_tab(qtbot, window, "raceView")
    plot = find(view, pg.PlotWidget, "racePlot")
    qtbot.wait(300)
    image = plot.grab().toImage()
    ratio = image.devicePixelRatio()
    legend = plot.getPlotItem().legend
    assert len(legend.items) == len(STRATEGY_TITLES)
    for sample, label in legend.items:
        name = next(n for n, title in STRATEGY_TITLES.items() if title == label.text)
        wanted = QColor(*STRATEGY_COLOURS[name]) if isinstance(STRATEGY_COLOURS[name], tuple) \
            else QColor(STRATEGY_COLOURS[name])
        # the marker's upper half, above the line drawn through the sample's middle in the same colour
        top = plot.mapFromScene(sample.mapToScene(sample.boundingRect().center()))
        pixels = [image.pixelColor(int((top.x() + dx) * ratio), int((top.y() + dy) * ratio))
                  for dx in (-1, 0, 1) for dy in (-2, -1)]
        assert any(max(abs(p.red() - wanted.red()), abs(p.green() - wanted.green()),
                       abs(p.blue() - wanted.blue())) < 40 for p in pixels), \
            (label.text, wanted.name(), [p.name() for p in pixels])


def log_range(box) -> float:
    return math.log10(box.value())


def test_the_sweep_map_is_framed_in_alpha_and_lambda_before_it_runs(qtbot, window):
    """Issue 17 item 9: before a sweep, the map's axes span the α and λ ranges in the sweep's boxes (log axes), not
    a meaningless 1 … 10 with ticks 2 … 9; typing another range frames the map anew."""
    view = click_view_tab(qtbot, window, "sweepView")
    plot = find(view, pg.PlotWidget, "sweepPlot")
    boxes = {name: find(view, QDoubleSpinBox, name) for name in ("sweepLrLow", "sweepLrHigh", "sweepRegLow",
                                                                 "sweepRegHigh")}

    def framed() -> bool:
        (x_low, x_high), (y_low, y_high) = plot.getPlotItem().getViewBox().viewRange()
        lr = sorted((log_range(boxes["sweepLrLow"]), log_range(boxes["sweepLrHigh"])))
        reg = sorted((log_range(boxes["sweepRegLow"]), log_range(boxes["sweepRegHigh"])))
        return (x_low <= lr[0] < lr[1] <= x_high and x_high - x_low < 1.5 * (lr[1] - lr[0])
                and y_low <= reg[0] < reg[1] <= y_high and y_high - y_low < 1.5 * (reg[1] - reg[0]))

    qtbot.waitUntil(framed, timeout=WAIT_MS)
    type_into(qtbot, boxes["sweepRegHigh"], "1e5", commit=Qt.Key.Key_Return)
    qtbot.waitUntil(framed, timeout=WAIT_MS)


def test_the_gradient_checks_headline_is_readable_on_a_projector(qtbot, window):
    """Issue 17 item 9: the gradient check's headline ("max relative error … (acceptable)") has a contrast of at
    least 4.5 : 1 against the view's background (its yellow-green on grey had 2.2 : 1)."""
    view = click_view_tab(qtbot, window, "gradcheckView")
    summary = find(view, QLabel, "gradcheckSummary")
    button = find(view, QPushButton, "gradcheckButton")
    qtbot.waitUntil(button.isVisible, timeout=WAIT_MS)
    click(qtbot, button)
    qtbot.waitUntil(lambda: "max relative error" in visible_text(summary), timeout=RUN_TIMEOUT_MS)
    colour = QColor(re.search(r"color:\s*(#[0-9a-fA-F]{6})", summary.text())[1])
    background = summary.palette().color(summary.backgroundRole())
    assert contrast(colour, background) >= 4.5, (colour.name(), background.name(), summary.text()[:80])
    # every verdict's headline colour, not only the one this check found
    from gdstudio.gui.views.inspection import gradcheck

    for verdict, text_colour in gradcheck.VERDICT_TEXT_COLOURS.items():
        assert contrast(QColor(text_colour), background) >= 4.5, (verdict, text_colour, background.name())


TWIN_DIFFERENCES = {"Loss: SVM vs softmax": (None, (400, 400)), "Step size α": (None, (400, 400)),
                    "Batch size": ((8, 256), (400, round(400 * 8 / 256))),
                    "Batch size, the smaller second": ((100, 30), (round(400 * 30 / 100), 400))}
"""Points drawn by each twin asked for 400 steps (with the twins' batch sizes, where they differ in it): the larger
batch sees as many examples as the smaller one's 400 steps do in 400 · small / large steps. A twin's curve has a
point per step and none for the start (step 1's loss is the loss of the weights it started from)."""


@pytest.mark.parametrize("difference", list(TWIN_DIFFERENCES))
def test_twins_asked_for_400_steps_draw_400_points(qtbot, window, difference):
    """Issue 17 item 9: twins asked for 400 steps draw exactly 400 points each (the larger batch: as many steps as
    see the same examples); they drew 408 and 402."""
    from .person import pick

    view = click_view_tab(qtbot, window, "twinView")
    batches, _ = TWIN_DIFFERENCES[difference]
    pick(qtbot, find(view, QComboBox, "twinDifferenceCombo"), difference.split(",")[0])
    if batches is not None:
        for name, size in zip(("twinBatchFirst", "twinBatchSecond"), batches):
            type_into(qtbot, find(view, QSpinBox, name), str(size))
    type_into(qtbot, find(view, QSpinBox, "twinStepsSpin"), "400", commit=Qt.Key.Key_Return)
    click(qtbot, find(view, QPushButton, "twinStartButton"))
    qtbot.waitUntil(lambda: "Both started" in status_of(window, "twinView"), timeout=RUN_TIMEOUT_MS)
    plot = find(view, pg.PlotWidget, "twinLossPlot")
    counts = tuple(len(curve_data(item)[0]) for item in plot.getPlotItem().listDataItems())
    assert counts == TWIN_DIFFERENCES[difference][1]
