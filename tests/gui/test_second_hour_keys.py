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
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor
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
