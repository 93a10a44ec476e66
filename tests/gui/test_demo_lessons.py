"""Issue 12, the lessons and the small things (items 13, 18, 19, 20, 21), as a lecturer meets them.

Every test drives the window as a person does (menus, clicks, keys, typing into dialogs) and asserts on what is
drawn or written on screen: the plots' items, the boxes' values, the labels' and dialogs' texts.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyqtgraph as pg
import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QLabel, QLineEdit, QListWidget,
                               QMessageBox, QPushButton, QSpinBox, QToolButton)

from gdstudio.gui.controller import ENDED

from .conftest import open_window
from .dialogs import DialogAnswerer, press_button, press_ok, type_path_and_accept
from .person import (WAIT_MS, click, curve_data, find, named_curve, pick, press, trigger_menu, type_into,
                     visible_text, wait_idle)

RUN_MS = 60_000
"""A whole short lesson run (a few hundred steps) on a loaded 2-core machine."""
SOFTMAX_AT_W0 = math.log(10)
"""The softmax loss of the ten digit classes at a tiny random W₀: ln 10."""
SVM_AT_W0 = 9.0
"""The multiclass SVM loss there: nine margins of about 1."""


def lesson(qtbot, window, title: str) -> None:
    """Choose a lesson from the Lessons menu and wait until its settings are in the boxes."""
    trigger_menu(window, "Lessons", title)
    qtbot.waitUntil(lambda: window.controller.ready and find(window, QLabel, "lessonTitle").isVisible()
                    and find(window, QLabel, "lessonTitle").text() == title, timeout=WAIT_MS)
    wait_idle(qtbot, 300)


def state_text(window) -> str:
    return find(window, QLabel, "stateLabel").text()


def train_to_the_end(qtbot, window, button: str = "startButton") -> None:
    with qtbot.waitSignal(window.controller.ended, timeout=RUN_MS):
        click(qtbot, find(window, QPushButton, button))
    qtbot.waitUntil(lambda: window.controller.state == ENDED and state_text(window) == "Finished", timeout=WAIT_MS)
    last = window.controller.last_progress.step
    # The plot must reach the run's last step, as drawn by the window's own timer (issue 12 item 2); a long run
    # is drawn from bins, the last one centred a few steps before the end.
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) and live_loss(window)[0][-1] >= last - last / 300,
                    timeout=WAIT_MS)


def choose(qtbot, combo: QComboBox, text: str) -> None:
    """Pick an entry of a closed combo box with the arrow keys, as a person at the keyboard does."""
    combo.setFocus()
    for key in (Qt.Key.Key_Home, *[Qt.Key.Key_Down] * combo.count()):
        if combo.currentText() == text:
            return
        press(qtbot, combo, key)
    assert combo.currentText() == text, f"no entry {text!r} in {[combo.itemText(i) for i in range(combo.count())]}"


def kept_curves(plot_widget) -> list:
    return [item for item in plot_widget.getPlotItem().listDataItems() if (item.name() or "").startswith("kept: ")]


def change_markers(plot_widget) -> list:
    return [item for item in plot_widget.getPlotItem().items
            if isinstance(item, pg.InfiniteLine) and getattr(item, "label", None) is not None]


def loss_plot(window):
    return find(window, pg.PlotWidget, "lossPlot")


def accuracy_plot(window):
    return find(window, pg.PlotWidget, "accuracyPlot")


def live_loss(window):
    return curve_data(named_curve(loss_plot(window), "total loss"))


# ----------------------------------------------------------------------------------------------------------------
# Item 13: lessons and the remembered values


def test_a_lesson_leaves_the_remembered_values_alone(qtbot, tmp_path):
    """Issue 12 item 13: after a lesson, the window reopens on the values the user chose, not the lesson's."""
    path = str(tmp_path / "gdstudio.ini")
    window = open_window(qtbot, settings=QSettings(path, QSettings.Format.IniFormat))
    type_into(qtbot, find(window, QDoubleSpinBox, "lrSpin"), "0.5", commit=Qt.Key.Key_Return)
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "7", commit=Qt.Key.Key_Return)
    wait_idle(qtbot, 300)
    lesson(qtbot, window, "Training vs validation accuracy")
    assert find(window, QDoubleSpinBox, "lrSpin").value() == pytest.approx(3.0)
    assert find(window, QDoubleSpinBox, "epochsSpin").value() == pytest.approx(100.0)
    window.close()

    again = open_window(qtbot, settings=QSettings(path, QSettings.Format.IniFormat))
    wait_idle(qtbot, 300)
    assert find(again, QDoubleSpinBox, "lrSpin").value() == pytest.approx(0.5)
    assert find(again, QDoubleSpinBox, "epochsSpin").value() == pytest.approx(7.0)
    assert find(again, QDoubleSpinBox, "regSpin").value() == pytest.approx(1e-4)
    again.close()


def test_a_lessons_speed_is_not_remembered_either(qtbot, tmp_path):
    """Issue 12 items 13 and 20: "α too small" trains at 10 steps/s; the next session opens at the user's speed."""
    path = str(tmp_path / "gdstudio.ini")
    window = open_window(qtbot, settings=QSettings(path, QSettings.Format.IniFormat))
    lesson(qtbot, window, "α too small: the loss crawls")
    assert find(window, QComboBox, "paceCombo").currentText() == "10 steps/s"
    window.close()

    again = open_window(qtbot, settings=QSettings(path, QSettings.Format.IniFormat))
    wait_idle(qtbot, 300)
    assert find(again, QComboBox, "paceCombo").currentText() == "Full speed"
    assert find(again, QDoubleSpinBox, "lrSpin").value() == pytest.approx(1.0)
    again.close()


def test_restore_defaults_brings_back_the_data_sets_values(qtbot, window):
    """Issue 12 item 13: Run → Restore defaults puts the data set's own values back after a lesson."""
    lesson(qtbot, window, "Training vs validation accuracy")
    assert find(window, QDoubleSpinBox, "regSpin").value() == 0.0
    trigger_menu(window, "Run", "Restore defaults")
    qtbot.waitUntil(lambda: window.controller.ready
                    and find(window, QDoubleSpinBox, "lrSpin").value() == pytest.approx(1.0), timeout=WAIT_MS)
    wait_idle(qtbot, 300)
    assert find(window, QDoubleSpinBox, "regSpin").value() == pytest.approx(1e-4)
    assert find(window, QDoubleSpinBox, "epochsSpin").value() == pytest.approx(20.0)
    assert find(window, QSpinBox, "batchSizeSpin").value() == 64
    assert find(window, QComboBox, "lossCombo").currentText() == "Softmax"
    assert not find(window, QLabel, "lessonTitle").isVisible()  # the lesson's caption no longer applies


def test_a_lessons_folder_with_one_bad_file_loads_the_good_ones(qtbot, window, tmp_path):
    """Issue 12 item 13: one bad file in a teacher's folder: the good lessons load, one message names the bad one."""
    folder = tmp_path / "my lessons"
    folder.mkdir()
    (folder / "a-good.json").write_text(json.dumps({"title": "My good lesson", "caption": "Watch this.",
                                                    "settings": {"dataset": "digits", "lr": 0.01}}))
    (folder / "b-bad.json").write_text(json.dumps({"title": "Broken", "caption": "x",
                                                   "settings": {"dataset": "digits", "lr": -1}}))
    (folder / "c-good.json").write_text(json.dumps({"title": "My other lesson", "caption": "And this.",
                                                    "settings": {"dataset": "digits", "reg": 0.01}}))

    def answer(dialog):
        if isinstance(dialog, QFileDialog):
            type_path_and_accept(dialog, folder)
        elif isinstance(dialog, QMessageBox):
            press_ok(dialog)

    answerer = DialogAnswerer(answer)
    try:
        trigger_menu(window, "Lessons", "Load lessons from folder…")
        qtbot.waitUntil(lambda: any(isinstance(d, QMessageBox) for d in answerer.seen), timeout=WAIT_MS)
    finally:
        answerer.stop()
    messages = [text for dialog, text in zip(answerer.seen, answerer.texts) if isinstance(dialog, QMessageBox)]
    assert len(messages) == 1, messages
    assert "b-bad.json" in messages[0] and "lr" in messages[0]
    assert "a-good.json" not in messages[0]
    titles = [action.text() for action in window.lessons_menu.actions()]
    assert "My good lesson" in titles and "My other lesson" in titles and "Broken" not in titles
    lesson(qtbot, window, "My other lesson")
    assert find(window, QDoubleSpinBox, "regSpin").value() == pytest.approx(0.01)


# ----------------------------------------------------------------------------------------------------------------
# Item 18: a comparison starts the second run from the same W₀


def test_svm_vs_softmax_caption_followed_with_clicks(qtbot, window):
    """Issue 12 item 18: Train, Keep, switch the loss, Reset & train again: two runs from one W₀, side by side."""
    lesson(qtbot, window, "SVM vs softmax")
    caption = find(window, QLabel, "lessonText").text()
    assert "Reset & train again" in caption
    train_to_the_end(qtbot, window)
    x_svm, y_svm = live_loss(window)
    assert x_svm[0] == 1 and y_svm[0] == pytest.approx(SVM_AT_W0, rel=0.05)
    click(qtbot, find(window, QPushButton, "keepRunButton"))

    # The same settings again from the same W₀: the same batches, the same curve.
    train_to_the_end(qtbot, window, "resetTrainButton")
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) == len(x_svm), timeout=WAIT_MS)
    x_again, y_again = live_loss(window)
    np.testing.assert_array_equal(x_again, x_svm)
    np.testing.assert_allclose(y_again, y_svm, rtol=1e-5)

    choose(qtbot, find(window, QComboBox, "lossCombo"), "Softmax")
    train_to_the_end(qtbot, window, "resetTrainButton")
    qtbot.waitUntil(lambda: live_loss(window)[1][0] < 3, timeout=WAIT_MS)
    x_soft, y_soft = live_loss(window)
    assert x_soft[0] == 1 and x_soft[-1] == x_svm[-1]  # a second run, not the first one continued
    assert y_soft[0] == pytest.approx(SOFTMAX_AT_W0, rel=0.05)
    assert find(window, QComboBox, "lossCombo").currentText() == "Softmax"
    assert not change_markers(loss_plot(window))  # softmax from its first step: nothing changed mid-run
    kept = kept_curves(loss_plot(window))
    assert len(kept) == 1
    x_kept, y_kept = curve_data(kept[0])
    assert x_kept[0] == 1 and x_kept[-1] == x_svm[-1] and y_kept[0] == pytest.approx(SVM_AT_W0, rel=0.05)


def test_batch_size_caption_followed_with_clicks(qtbot, window):
    """Issue 12 item 18: batch 1, Keep, batch 256, Reset & train again: both runs span the same epochs from 0."""
    lesson(qtbot, window, "Batch size 1 vs 256")
    assert "Reset & train again" in find(window, QLabel, "lessonText").text()
    epochs = find(window, QDoubleSpinBox, "epochsSpin").value()
    train_to_the_end(qtbot, window)
    click(qtbot, find(window, QPushButton, "keepRunButton"))
    click(qtbot, find(window, QToolButton, "batch256Button"))
    wait_idle(qtbot, 300)
    train_to_the_end(qtbot, window, "resetTrainButton")
    choose(qtbot, find(window, QComboBox, "xAxisCombo"), "epochs")
    qtbot.waitUntil(lambda: live_loss(window)[0][-1] == pytest.approx(epochs), timeout=WAIT_MS)
    x_live, _ = live_loss(window)
    assert x_live[0] <= 0.25  # the 256-batch run starts at epoch 0, beside the kept run, not after it
    assert find(window, QSpinBox, "batchSizeSpin").value() == 256
    assert not change_markers(loss_plot(window))
    x_kept, _ = curve_data(kept_curves(loss_plot(window))[0])
    assert x_kept[0] <= 0.01 and x_kept[-1] == pytest.approx(epochs)
    labels = [find(window, QListWidget, "keptRunsList").item(i).text() for i in range(1)]
    assert "B=1" in labels[0]


# ----------------------------------------------------------------------------------------------------------------
# Item 19: random search against gradient descent, at equal loss evaluations


def test_random_search_lesson_compares_strategies_at_equal_evaluations(qtbot, window):
    """Issue 12 item 19: kept runs name their strategy; an x axis of loss evaluations compares them at equal cost."""
    lesson(qtbot, window, "Random search vs gradient descent")
    caption = find(window, QLabel, "lessonText").text()
    assert "loss evaluations" in caption
    strategies = find(window, QComboBox, "strategyCombo")
    train_to_the_end(qtbot, window)
    steps_random = int(live_loss(window)[0][-1])
    # A new strategy replaces the trained run: the window asks first, and the person discards it (it is kept).
    answerer = DialogAnswerer(press_button("Discard run"))
    click(qtbot, find(window, QPushButton, "keepRunButton"))
    pick(qtbot, strategies, "Random local search")
    qtbot.waitUntil(lambda: window.controller.ready and len(live_loss(window)[0]) == 0, timeout=WAIT_MS)
    train_to_the_end(qtbot, window)
    click(qtbot, find(window, QPushButton, "keepRunButton"))
    pick(qtbot, strategies, "SGD (gradient steps)")
    qtbot.waitUntil(lambda: window.controller.ready and len(live_loss(window)[0]) == 0, timeout=WAIT_MS)
    answerer.stop()
    assert len(answerer.texts) == 2 and all("replaces the current run" in t for t in answerer.texts), answerer.texts
    train_to_the_end(qtbot, window)
    steps_sgd = int(live_loss(window)[0][-1])

    kept_list = find(window, QListWidget, "keptRunsList")
    labels = [kept_list.item(i).text() for i in range(kept_list.count())]
    assert len(labels) == 2 and len(set(labels)) == 2, labels
    assert labels[0].startswith("Random search") and labels[1].startswith("Random local search"), labels

    axis = find(window, QComboBox, "xAxisCombo")
    choose(qtbot, axis, "loss evaluations")
    assert loss_plot(window).getAxis("bottom").labelText == "loss evaluations"
    # A search step costs two loss evaluations, a gradient step one.
    qtbot.waitUntil(lambda: curve_data(kept_curves(loss_plot(window))[0])[0][-1] == 2 * steps_random,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: live_loss(window)[0][-1] == steps_sgd, timeout=WAIT_MS)
    kept_accuracy = kept_curves(accuracy_plot(window))
    assert len(kept_accuracy) == 2
    x_acc, _ = curve_data(kept_accuracy[0])
    assert steps_random < x_acc[-1] <= 2 * steps_random  # the measurements sit at their evaluations too
    live_val = curve_data(named_curve(accuracy_plot(window), "validation (subset)"))[0]
    assert 0 < live_val[-1] <= steps_sgd


# ----------------------------------------------------------------------------------------------------------------
# Item 20: a lesson sets the speed


def test_alpha_too_small_lesson_trains_slowly_enough_to_raise_alpha(qtbot, window):
    """Issue 12 item 20: "α too small" sets a slow Speed, so α can be raised on the slider while it trains."""
    lesson(qtbot, window, "α too small: the loss crawls")
    speed = find(window, QComboBox, "paceCombo")
    assert speed.currentText() != "Full speed"
    assert not find(window, QPushButton, "resetTrainButton").isVisible()  # one run here: nothing to compare
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) >= 5, timeout=WAIT_MS)
    assert state_text(window) == "Training"
    type_into(qtbot, find(window, QDoubleSpinBox, "lrSpin"), "0.5", commit=Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(change_markers(loss_plot(window))) == 1, timeout=WAIT_MS)
    assert state_text(window) == "Training"
    choose(qtbot, speed, "Full speed")
    qtbot.waitUntil(lambda: window.controller.state == ENDED, timeout=RUN_MS)
    marker = change_markers(loss_plot(window))[0]
    x, _ = live_loss(window)
    assert 0 < marker.value() < x[-1]  # α was raised during the run, not after it


# ----------------------------------------------------------------------------------------------------------------
# Item 21: Save run as… and the wording of errors


def test_save_run_as_makes_a_new_folder_by_name(qtbot, window, tmp_path):
    """Issue 12 item 21: Save run as… saves into a named new folder; typing an existing folder does not open it."""
    parent = tmp_path / "runs"
    (parent / "empty").mkdir(parents=True)
    click(qtbot, find(window, QPushButton, "stepButton"))
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) == 1, timeout=WAIT_MS)

    def answer(dialog):
        if isinstance(dialog, QFileDialog):  # what the unchanged window opened
            type_path_and_accept(dialog, parent / target)
            wait_idle(qtbot, 300)
            if dialog.isVisible():
                dialog.reject()
            return
        if isinstance(dialog, QMessageBox):
            press_ok(dialog)
            return
        where = dialog.findChild(QLineEdit, "runParentEdit")
        name = dialog.findChild(QLineEdit, "runNameEdit")
        assert where is not None and name is not None
        type_into(qtbot, where, str(parent), commit=None)
        type_into(qtbot, name, target, commit=None)
        click(qtbot, dialog.findChild(QPushButton, "saveRunFolderButton"))

    for target in ("first-run", "empty"):
        answerer = DialogAnswerer(answer)
        try:
            trigger_menu(window, "File", "Save run as…")
            qtbot.waitUntil(lambda: (parent / target / "config.json").exists(), timeout=WAIT_MS)
        finally:
            answerer.stop()
            for dialog in answerer.seen:
                if shiboken6.isValid(dialog) and dialog.isVisible():
                    dialog.reject()
        assert not any(isinstance(d, QMessageBox) for d in answerer.seen), answerer.texts
        assert json.loads((parent / target / "config.json").read_text())["state"]["step"] == 1


def test_save_run_as_refuses_a_folder_whose_config_json_is_not_a_run(qtbot, window, tmp_path):
    """Save run as… into a folder holding someone's own config.json (not a GD Studio run's): the dialog says so
    and Save stays disabled, as `train --out` refuses it; the file is left as it was."""
    parent = tmp_path / "projects"
    (parent / "website").mkdir(parents=True)
    theirs = parent / "website" / "config.json"
    theirs.write_text('{"theme": "dark"}')
    click(qtbot, find(window, QPushButton, "stepButton"))
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) == 1, timeout=WAIT_MS)
    seen = {}

    def answer(dialog):
        if isinstance(dialog, QMessageBox):
            press_ok(dialog)
            return
        type_into(qtbot, dialog.findChild(QLineEdit, "runParentEdit"), str(parent), commit=None)
        type_into(qtbot, dialog.findChild(QLineEdit, "runNameEdit"), "website", commit=None)
        save = dialog.findChild(QPushButton, "saveRunFolderButton")
        seen.update(note=visible_text(dialog.findChild(QLabel, "runFolderNote")), enabled=save.isEnabled())
        click(qtbot, save)
        press(qtbot, dialog.findChild(QLineEdit, "runNameEdit"), Qt.Key.Key_Return)  # Return: no save either
        seen["open_after_save"] = dialog.isVisible()
        dialog.reject()

    answerer = DialogAnswerer(answer)
    try:
        trigger_menu(window, "File", "Save run as…")
        qtbot.waitUntil(lambda: "open_after_save" in seen, timeout=WAIT_MS)
        wait_idle(qtbot, 300)
    finally:
        answerer.stop()
    assert "not a GD Studio run" in seen["note"] and not seen["enabled"] and seen["open_after_save"]
    assert theirs.read_text() == '{"theme": "dark"}'
    assert sorted(p.name for p in (parent / "website").iterdir()) == ["config.json"]


def test_errors_in_the_window_name_the_menu_not_the_command_line(qtbot):
    """Issue 12 item 21: a data set that is not here: the message says File → Data sets, not "pass --data PATH"."""
    window = open_window(qtbot, dataset="mnist")  # the last data set was MNIST, and its folder is gone
    box = find(window, QMessageBox, "errorDialog")
    qtbot.waitUntil(box.isVisible, timeout=WAIT_MS)
    text = box.text()
    assert "--data" not in text and "gdstudio datasets" not in text
    assert "File → Data sets → Locate" in text
    press_ok(box)
    window.close()


@pytest.mark.parametrize("engine, window_words", [
    ("data set 'mnist' is not on this machine (looked in /c/mnist); download it with `gdstudio datasets download "
     "mnist`, or pass --data PATH to a copy you have",
     "data set 'mnist' is not on this machine (looked in /c/mnist); download it with File → Data sets → Get MNIST "
     "handwritten digits…, or use File → Data sets → Locate… to point to a copy you have"),
    ("/f: these files hold Fashion-MNIST (clothing), not MNIST (handwritten digits); use --dataset fashion-mnist",
     "/f: these files hold Fashion-MNIST (clothing), not MNIST (handwritten digits); choose Fashion-MNIST "
     "clothing in the data set box"),
    ("backend cuda: no GPU; use --backend cpu", "backend cuda: no GPU; choose the CPU backend"),
    ("α = 10 is too large; lower --lr (try 1) or --reg", "α = 10 is too large; lower α (try 1) or λ"),
])
def test_engine_messages_in_the_windows_words(engine, window_words):
    """Issue 12 item 21: the command line's flags become the window's menus and names."""
    from gdstudio.gui.main_window import in_window_words

    assert in_window_words(engine) == window_words


def test_an_opened_runs_accuracy_sits_at_its_loss_evaluations():
    """Issue 12 item 19: measurements loaded from a run folder get the evaluations of their steps (2 per search
    step), so the "loss evaluations" axis places them too."""
    from gdstudio.gui.series import RunCurves

    steps = np.arange(1, 101)
    curves = RunCurves()
    curves.load({"step": steps, "epoch": steps / 20, "examples": 64 * steps, "evaluations": 2 * steps,
                 "loss": np.ones(100), "data_loss": np.ones(100), "reg_loss": np.zeros(100),
                 "batch_accuracy": np.zeros(100)},
                {"step": np.array([40, 80]), "epoch": np.array([2.0, 4.0]), "examples": np.array([2560, 5120]),
                 "train_accuracy": np.array([0.2, 0.3]), "val_accuracy": np.array([0.2, 0.25])}, [])
    assert curves.evals.column("evaluations").tolist() == [80, 160]
