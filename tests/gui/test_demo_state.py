"""Issue 12, state and behaviour (items 1, 9, 10, 12, 16, 17): the window driven as a person drives it.

Each test clicks, types, presses keys and waits for the event loop, then reads what the window shows: the text of
visible labels and buttons, whether a button can be pressed, the values in the boxes, the plots' items. None calls
the window's own redraw or a private member before it looks.

Typed values are committed with Return, as a person often does: under Xvfb with no window manager the window is
never active, so Tab moves no focus and a box that applies its value when left would keep the old one.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtWidgets import (QApplication, QComboBox, QDoubleSpinBox, QFileDialog, QLabel, QMessageBox, QPushButton,
                               QSpinBox)

from gdstudio.data.catalog import DATASETS

from .conftest import LOAD_TIMEOUT_MS
from .person import WAIT_MS, click, curve_data, find, named_curve, pick, show_view, type_into, visible_text

RUN_TIMEOUT_MS = 30_000
SWEEP_TIMEOUT_MS = 90_000


# ----------------------------------------------------------------------------------------------------------------
# Looking and acting (this file's helpers; person.py is shared)


def start_button(window) -> QPushButton:
    return find(window, QPushButton, "startButton")


def state_text(window) -> str:
    return visible_text(find(window, QLabel, "stateLabel"))


def lr_box(window) -> QDoubleSpinBox:
    return find(window, QDoubleSpinBox, "lrSpin")


def reg_box(window) -> QDoubleSpinBox:
    return find(window, QDoubleSpinBox, "regSpin")


def epochs_box(window) -> QDoubleSpinBox:
    return find(window, QDoubleSpinBox, "epochsSpin")


def marker_labels(window) -> list[str]:
    """The texts of the labelled change markers drawn on the loss plot."""
    plot = find(window, pg.PlotWidget, "lossPlot").getPlotItem()
    return [item.label.format for item in plot.items
            if isinstance(item, pg.InfiniteLine) and getattr(item, "label", None) is not None]


def lesson(window, words: str):
    """The Lessons menu entry whose text holds ``words``."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Lessons")
    matches = [a for a in menu.actions() if words in a.text()]
    assert matches, f"no lesson with {words!r}: {[a.text() for a in menu.actions()]}"
    return matches[0]


def data_set_action(window, text: str):
    """File → Data sets → ``text``."""
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File")
    data_menu = next(a.menu() for a in file_menu.actions() if a.text() == "Data sets")
    matches = [a for a in data_menu.actions() if a.text() == text]
    assert matches, f"no entry {text!r} in File → Data sets"
    return matches[0]


_answering: list[list] = []
"""The ``seen`` lists of this test's armed answers: a test's answer must never click a later test's box."""


@pytest.fixture(autouse=True)
def _disarm_answers():
    yield
    _answering.clear()


def answer_next_box(qtbot, button_text: str, seen: list) -> None:
    """Arm a timer that clicks ``button_text`` in the next question box to appear (a modal box blocks the test's
    own code, so the answer must be ready before the action that asks); records the box's text in ``seen``."""
    _answering.append(seen)

    def answer() -> None:
        if not any(armed is seen for armed in _answering):
            return  # the test is over
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        if not boxes:
            if len(seen) < 200:  # not there yet: look again shortly (10 s at most)
                seen.append(None)
                QTimer.singleShot(50, answer)
            return
        box = boxes[-1]
        seen.append(box.text())
        _answering[:] = [armed for armed in _answering if armed is not seen]  # one answer per arming
        buttons = [b for b in box.buttons() if b.text().replace("&", "") == button_text]
        assert buttons, f"no button {button_text!r} in {[b.text() for b in box.buttons()]}"
        buttons[0].click()

    QTimer.singleShot(50, answer)


def questions(seen: list) -> list[str]:
    return [text for text in seen if text is not None]


def wait_for_steps(qtbot, window, more_than: int) -> None:
    qtbot.waitUntil(lambda: window.controller.last_progress is not None
                    and window.controller.last_progress.step > more_than, timeout=RUN_TIMEOUT_MS)


def start_long_run(qtbot, window) -> None:
    type_into(qtbot, epochs_box(window), "1000000", commit=Qt.Key.Key_Return)
    click(qtbot, start_button(window))
    wait_for_steps(qtbot, window, 50)


# ----------------------------------------------------------------------------------------------------------------
# Item 1: Start pressed while the window is loading


@pytest.mark.parametrize("attempt", range(6))
def test_start_pressed_while_loading_is_honoured_and_the_controls_show_the_settings(qtbot, monkeypatch, attempt):
    """Issue 12 item 1: a Start pressed while "Loading…" (a slow first compile) starts the run once loading ends;
    meanwhile the button says so and the controls show the settings being loaded, not their minimum values."""
    from gdstudio.engine.session import Session
    from gdstudio.gui import MainWindow

    warm_up = Session.warm_up

    def slow_warm_up(session):
        time.sleep(0.8)  # Numba compiling on a fresh install takes seconds
        warm_up(session)

    monkeypatch.setattr(Session, "warm_up", slow_warm_up)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.wait(20)
    assert state_text(window) == "Loading…"
    defaults = DATASETS["digits"].defaults
    assert lr_box(window).value() == pytest.approx(defaults["lr"])
    assert reg_box(window).value() == pytest.approx(defaults["reg"])
    assert find(window, QSpinBox, "batchSizeSpin").value() == defaults["batch_size"]
    assert epochs_box(window).value() == pytest.approx(defaults["epochs"])

    click(qtbot, start_button(window))
    qtbot.waitUntil(lambda: start_button(window).text() == "Starting…", timeout=RUN_TIMEOUT_MS)
    assert state_text(window) == "Loading…"
    qtbot.waitUntil(lambda: state_text(window) == "Finished", timeout=RUN_TIMEOUT_MS)
    assert window.controller.last_final.step > 300
    assert start_button(window).text() == "Continue"
    window.close()


# ----------------------------------------------------------------------------------------------------------------
# Item 9: going on after a divergence


def diverge_on_the_lesson(qtbot, window) -> int:
    """Choose the "α too large" lesson, press Start, wait for the banner; the step where it diverged."""
    lesson(window, "too large").trigger()
    qtbot.waitUntil(lambda: lr_box(window).value() == 25_000 and state_text(window) == "Ready", timeout=WAIT_MS)
    click(qtbot, start_button(window))
    banner = window.findChild(QLabel, "divergenceMessage")
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=RUN_TIMEOUT_MS)
    assert state_text(window) == "Diverged"
    return window.controller.last_final.step


def test_after_divergence_a_lower_alpha_typed_in_lets_the_run_go_on(qtbot, window):
    """Issue 12 item 9: after a divergence and a dismissed banner, typing a lower α enables Start, and Start goes
    on from the weights kept (the step count goes on, the loss is finite), not from a new W."""
    diverged_at = diverge_on_the_lesson(qtbot, window)
    assert not start_button(window).isEnabled()
    click(qtbot, find(window, QPushButton, "dismissBannerButton"))
    type_into(qtbot, lr_box(window), "250", commit=Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: start_button(window).isEnabled(), timeout=WAIT_MS)
    assert state_text(window) != "Diverged"
    click(qtbot, start_button(window))
    qtbot.waitUntil(lambda: state_text(window) == "Finished", timeout=RUN_TIMEOUT_MS)
    final = window.controller.last_final
    assert final.step > diverged_at + 100 and final.lr == 250
    assert math.isfinite(final.loss) and final.final["val_accuracy"] > 0.7
    steps, _ = curve_data(window.view.loss_plot.getPlotItem().listDataItems()[0])
    assert len(steps) and steps.min() <= diverged_at  # the curve goes on from before the divergence
    # the new α is marked where the run went on (drawn by the curves' timer: item 2 makes it draw the end of a run)
    qtbot.waitUntil(lambda: "α = 250" in marker_labels(window), timeout=WAIT_MS)


def test_the_banners_one_click_fix_reaches_a_run_that_learns(qtbot, window):
    """Issue 12 item 9: on the "α too large" lesson, the banner's one click ends in a run that learns (or the
    banner comes back with the next suggestion); the α box shows the α in force."""
    diverge_on_the_lesson(qtbot, window)
    banner = window.findChild(QLabel, "divergenceMessage")
    for _ in range(4):
        click(qtbot, find(window, QPushButton, "lowerLrButton"))
        qtbot.waitUntil(lambda: not banner.isVisible(), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: state_text(window) in ("Finished", "Diverged"), timeout=RUN_TIMEOUT_MS)
        if state_text(window) == "Finished":
            break
        qtbot.waitUntil(lambda: banner.isVisible(), timeout=WAIT_MS)
    assert state_text(window) == "Finished"
    final = window.controller.last_final
    assert final.final["val_accuracy"] > 0.75, f"ended at {final.final['val_accuracy']:.0%} with α = {final.lr}"
    assert lr_box(window).value() == pytest.approx(final.lr)


# ----------------------------------------------------------------------------------------------------------------
# Item 10: α and λ chosen in the lecture views


def click_in_plot(qtbot, plot_widget, x: float, y: float) -> None:
    """A left click on the point (x, y) of ``plot_widget``'s view coordinates (log10 on log axes)."""
    scene_point = plot_widget.getPlotItem().vb.mapViewToScene(QPointF(x, y))
    pos = plot_widget.mapFromScene(scene_point)
    click(qtbot, plot_widget.viewport(), pos=pos)


def test_alpha_chosen_in_the_step_size_probe_shows_in_the_alpha_box_and_is_marked(qtbot, window):
    """Issue 12 item 10: a click on the step-size probe's curve sets α in the α box too, and the change is
    marked on the loss plot."""
    start_long_run(qtbot, window)
    view = show_view(qtbot, window, "stepProbeView")
    qtbot.waitUntil(lambda: len(curve_data(view.curve)[0]) > 5, timeout=WAIT_MS)
    qtbot.wait(300)  # the plot ranges itself to the new curve
    log_lrs, log_losses = curve_data(view.curve)  # what is drawn: log10 of α and of the loss
    now = math.log10(lr_box(window).value())
    index = next(i for i in range(len(log_lrs)) if np.isfinite(log_losses[i]) and abs(log_lrs[i] - now) >= 1)
    click_in_plot(qtbot, view.plot, log_lrs[index], log_losses[index])
    chosen = 10 ** float(log_lrs[index])
    qtbot.waitUntil(lambda: lr_box(window).value() == pytest.approx(chosen, rel=1e-6), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: any(text.startswith("α = ") for text in marker_labels(window)), timeout=WAIT_MS)
    assert window.controller.last_progress.lr == pytest.approx(chosen)
    click(qtbot, start_button(window))


@pytest.fixture
def sweeps_in_threads(monkeypatch):
    """The sweep's trials in threads of this process: spawning processes costs seconds per test on CI."""
    from gdstudio.gui.views.lecture import sweep as sweep_view

    monkeypatch.setattr(sweep_view, "ProcessPoolExecutor",
                        lambda max_workers, mp_context=None: ThreadPoolExecutor(max_workers))


def run_sweep(qtbot, window, trials: int = 3, epochs: str = "1") -> None:
    view = show_view(qtbot, window, "sweepView")
    type_into(qtbot, find(view, QSpinBox, "sweepTrialsSpin"), str(trials), commit=Qt.Key.Key_Return)
    type_into(qtbot, find(view, QDoubleSpinBox, "sweepEpochsSpin"), epochs, commit=Qt.Key.Key_Return)
    click(qtbot, find(view, QPushButton, "sweepStartButton"))


def test_the_sweeps_best_point_can_be_clicked_and_its_values_show_in_the_boxes(qtbot, window, sweeps_in_threads):
    """Issue 12 item 10: the sweep's best point (the red ring) can be clicked; its α and λ show in the boxes."""
    run_sweep(qtbot, window)
    view = window.views["sweepView"]
    qtbot.waitUntil(lambda: "Best:" in visible_text(find(view, QLabel, "sweepBest")), timeout=SWEEP_TIMEOUT_MS)
    ring = view.best_ring.getData()
    x, y = float(ring[0][0]), float(ring[1][0])
    qtbot.wait(200)
    click_in_plot(qtbot, view.map_plot, x, y)
    qtbot.waitUntil(lambda: lr_box(window).value() == pytest.approx(10 ** x, rel=1e-3), timeout=WAIT_MS)
    assert reg_box(window).value() == pytest.approx(10 ** y, rel=1e-3)
    qtbot.waitUntil(lambda: "training" in view.curve_plot.getPlotItem().titleLabel.text
                    or "validation" in view.curve_plot.getPlotItem().titleLabel.text, timeout=WAIT_MS)
    # the chosen point, ringed now, can be clicked again
    type_into(qtbot, lr_box(window), "1", commit=Qt.Key.Key_Return)
    click_in_plot(qtbot, view.map_plot, x, y)
    qtbot.waitUntil(lambda: lr_box(window).value() == pytest.approx(10 ** x, rel=1e-3), timeout=WAIT_MS)


# ----------------------------------------------------------------------------------------------------------------
# Item 12: Reset after Continue


def test_reset_after_continue_keeps_the_epochs_field(qtbot, window):
    """Issue 12 item 12: Continue twice, then Reset: the Epochs field still says what the person typed, and the
    next run is that long."""
    type_into(qtbot, epochs_box(window), "2", commit=Qt.Key.Key_Return)
    click(qtbot, start_button(window))
    qtbot.waitUntil(lambda: state_text(window) == "Finished", timeout=RUN_TIMEOUT_MS)
    for target in (4.0, 6.0):
        click(qtbot, start_button(window))  # "Continue"
        qtbot.waitUntil(lambda: state_text(window) == "Finished" and window.controller.last_final.epoch
                        == pytest.approx(target), timeout=RUN_TIMEOUT_MS)
    click(qtbot, find(window, QPushButton, "resetButton"))
    qtbot.waitUntil(lambda: state_text(window) == "Ready", timeout=WAIT_MS)
    assert epochs_box(window).value() == 2
    click(qtbot, start_button(window))
    qtbot.waitUntil(lambda: state_text(window) == "Finished", timeout=RUN_TIMEOUT_MS)
    assert window.controller.last_final.epoch == pytest.approx(2.0)


# ----------------------------------------------------------------------------------------------------------------
# Item 16: a run is never thrown away without asking


def test_a_lesson_chosen_mid_run_asks_before_discarding_the_run(qtbot, window):
    """Issue 12 item 16: a lesson chosen while a run trains asks first; Cancel keeps the run training, the
    other answer loads the lesson."""
    start_long_run(qtbot, window)
    seen: list = []
    answer_next_box(qtbot, "Cancel", seen)
    lesson(window, "too large").trigger()
    qtbot.waitUntil(lambda: bool(questions(seen)), timeout=WAIT_MS)
    step = window.controller.last_progress.step
    wait_for_steps(qtbot, window, step + 10)
    assert state_text(window) == "Training" and lr_box(window).value() == 1.0
    assert "discard" in questions(seen)[0].lower() or "throw" in questions(seen)[0].lower()

    seen = []
    answer_next_box(qtbot, "Discard run", seen)
    lesson(window, "too large").trigger()
    qtbot.waitUntil(lambda: bool(questions(seen)), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: state_text(window) == "Ready" and lr_box(window).value() == 25_000, timeout=WAIT_MS)


def test_a_lesson_on_a_fresh_run_asks_nothing(qtbot, window):
    """Issue 12 item 16: nothing to lose (no step trained), nothing asked."""
    seen: list = []
    answer_next_box(qtbot, "Cancel", seen)
    lesson(window, "too large").trigger()
    qtbot.waitUntil(lambda: lr_box(window).value() == 25_000 and state_text(window) == "Ready", timeout=WAIT_MS)
    qtbot.wait(300)
    assert questions(seen) == []


def pick_next_entry(qtbot, combo) -> None:
    """Open ``combo``'s list with a click and click the entry below the current one."""
    click(qtbot, combo)
    popup = combo.view()
    qtbot.waitUntil(popup.isVisible, timeout=WAIT_MS)
    qtbot.wait(QApplication.doubleClickInterval() + 100)  # a list ignores a release this soon after it opened
    entry = popup.model().index(combo.currentIndex() + 1, 0)
    click(qtbot, popup.viewport(), pos=popup.visualRect(entry).center())


def step_three_times(qtbot, window) -> None:
    for _ in range(3):
        click(qtbot, find(window, QPushButton, "stepButton"))
    qtbot.waitUntil(lambda: state_text(window) == "Paused" and window.controller.last_progress.step == 3,
                    timeout=WAIT_MS)


@pytest.mark.parametrize("name", ["strategyCombo", "datasetCombo"])
def test_another_strategy_or_data_set_after_some_steps_asks_before_discarding_the_run(qtbot, window, name):
    """Issue 12 item 16: a strategy or data set chosen for a paused run (both need a new session) asks first;
    Cancel keeps the run and puts the box back."""
    from PySide6.QtWidgets import QComboBox

    step_three_times(qtbot, window)
    combo = find(window, QComboBox, name)
    before = combo.currentText()
    seen: list = []
    answer_next_box(qtbot, "Cancel", seen)
    pick_next_entry(qtbot, combo)
    qtbot.waitUntil(lambda: bool(questions(seen)), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: combo.currentText() == before, timeout=WAIT_MS)
    qtbot.wait(300)
    assert state_text(window) == "Paused" and window.controller.last_progress.step == 3
    assert window.controller.info.dataset == "digits"


@pytest.fixture
def saved_run(tmp_path):
    """A run folder of 30 digits steps at α = 0.5, written as `gdstudio train --out` writes it."""
    from gdstudio.config import TrainConfig
    from gdstudio.engine.runs import save_run
    from gdstudio.engine.session import Session

    session = Session(TrainConfig(dataset="digits", steps=30, lr=0.5))
    for record in session.run():
        pass
    folder = tmp_path / "saved-run"
    save_run(folder, session, dict(record.final))
    return folder


def test_opening_a_run_mid_run_asks_before_discarding_the_run(qtbot, window, monkeypatch, saved_run):
    """Issue 12 item 16: File → Open run… while a run trains asks first; Cancel keeps the run."""
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args, **kw: str(saved_run)))
    start_long_run(qtbot, window)
    seen: list = []
    answer_next_box(qtbot, "Cancel", seen)
    assert window.open_action.isEnabled(), window.controller.state
    window.open_action.trigger()  # File → Open run… (Ctrl+O)
    qtbot.waitUntil(lambda: bool(questions(seen)), timeout=WAIT_MS)
    step = window.controller.last_progress.step
    wait_for_steps(qtbot, window, step + 10)
    assert lr_box(window).value() == 1.0

    seen = []
    answer_next_box(qtbot, "Discard run", seen)
    window.open_action.trigger()
    qtbot.waitUntil(lambda: bool(questions(seen)), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: lr_box(window).value() == 0.5, timeout=LOAD_TIMEOUT_MS)


def test_locating_a_data_set_mid_run_asks_before_discarding_the_run(qtbot, window, monkeypatch, tmp_path):
    """Issue 12 item 16: File → Data sets → Locate … folder while a run trains asks first; Cancel keeps the
    run on its data set."""
    from tests.data.fake_data_files import write_idx_folder

    folder = tmp_path / "my-mnist"
    write_idx_folder(folder, n_train=200, n_test=40)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args, **kw: str(folder)))
    start_long_run(qtbot, window)
    seen: list = []
    answer_next_box(qtbot, "Cancel", seen)
    data_set_action(window, "Locate MNIST handwritten digits folder…").trigger()
    qtbot.waitUntil(lambda: bool(questions(seen)), timeout=WAIT_MS)
    step = window.controller.last_progress.step
    wait_for_steps(qtbot, window, step + 10)
    assert window.controller.info.dataset == "digits" and state_text(window) == "Training"


# ----------------------------------------------------------------------------------------------------------------
# Item 17: the sweep on a located data set


@pytest.fixture
def located_mnist(qtbot, window, monkeypatch, tmp_path):
    """The window on a small MNIST-format folder opened with File → Data sets → Locate … folder."""
    from tests.data.fake_data_files import write_idx_folder

    folder = tmp_path / "my-mnist"
    write_idx_folder(folder, n_train=300, n_test=60)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args, **kw: str(folder)))
    data_set_action(window, "Locate MNIST handwritten digits folder…").trigger()
    qtbot.waitUntil(lambda: window.controller.info.dataset == "mnist" and state_text(window) == "Ready",
                    timeout=LOAD_TIMEOUT_MS)
    return folder


def test_the_sweep_runs_on_a_located_data_set(qtbot, window, located_mnist, sweeps_in_threads):
    """Issue 12 item 17: the sweep trains on the folder the data set was located in, not the (empty) cache."""
    run_sweep(qtbot, window, trials=2, epochs="1")
    view = window.views["sweepView"]
    status = find(view, QLabel, "sweepViewStatus")
    qtbot.waitUntil(lambda: "Best:" in visible_text(find(view, QLabel, "sweepBest")) or "ailed" in status.text(),
                    timeout=SWEEP_TIMEOUT_MS)
    assert "Best:" in visible_text(find(view, QLabel, "sweepBest")), status.text()
    assert window.last_error is None


def test_a_failed_sweep_says_so_in_a_dialog_and_the_log(qtbot, window, located_mnist, sweeps_in_threads,
                                                       monkeypatch):
    """Issue 12 item 17: a sweep that fails (here: the located folder was moved away) says why in an error
    dialog, writes it to the log, and the view's own line fits in the view."""
    import os
    from pathlib import Path

    located_mnist.rename(located_mnist.with_name("moved-away"))
    run_sweep(qtbot, window, trials=2, epochs="1")
    view = window.views["sweepView"]
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=SWEEP_TIMEOUT_MS)
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and box.isVisible()
    assert "my-mnist" in box.text() or "my-mnist" in box.detailedText()
    log = Path(os.environ["GDSTUDIO_LOG_DIR"]) / "gdstudio.log"
    assert log.exists() and "my-mnist" in log.read_text()
    status = find(view, QLabel, "sweepViewStatus")
    qtbot.waitUntil(lambda: "ailed" in status.text(), timeout=WAIT_MS)
    assert status.isVisible() and status.minimumSizeHint().width() <= max(status.width(), 1)
    box.close()


# ----------------------------------------------------------------------------------------------------------------
# The table behind the buttons


def test_the_runs_table_names_every_state_and_leads_only_to_known_states():
    """Issue 12 items 1 and 9: the run's life is one table (state × event → state, state → enabled actions);
    Start is allowed while loading (it queues the run) and not after a divergence until α or λ changes."""
    from gdstudio.gui import controller as table
    from gdstudio.gui.main_window import START_TEXTS, STATE_TEXTS

    states = {table.NO_SESSION, table.LOADING, table.STARTING, table.READY, table.RUNNING_STATE, table.PAUSED,
              table.ENDED, table.DIVERGED_STATE, table.BUSY}
    assert set(table.ENABLED) == states
    assert all(actions <= set(table.ACTIONS) for actions in table.ENABLED.values())
    for (state, _event), following in table.NEXT_STATE.items():
        assert state in states and following in states
    assert states - {table.BUSY} <= set(START_TEXTS) and states - {table.BUSY} <= set(STATE_TEXTS)
    assert "start" in table.ENABLED[table.LOADING] and "start" not in table.ENABLED[table.DIVERGED_STATE]
    assert table.NEXT_STATE[(table.LOADING, "start")] == table.STARTING
    assert table.NEXT_STATE[(table.STARTING, table.READY)] == table.RUNNING_STATE


def test_a_loss_switched_after_a_run_and_reset_is_the_new_runs_loss_from_its_first_step(qtbot, window):
    """Issue 12 item 18's path (Train, switch the loss, Reset, Train): the loss box keeps the switched loss after
    Reset, and the new run trains it from step 1, with no live-change marker at its start."""
    loss_box = find(window, QComboBox, "lossCombo")
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: window.controller.state == "ended", timeout=WAIT_MS)
    pick(qtbot, loss_box, "Multiclass SVM")
    click(qtbot, find(window, QPushButton, "resetButton"))
    qtbot.waitUntil(lambda: window.controller.state == "ready", timeout=WAIT_MS)
    qtbot.wait(200)
    assert loss_box.currentText() == "Multiclass SVM"
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: window.controller.state == "ended", timeout=WAIT_MS)
    assert loss_box.currentText() == "Multiclass SVM"
    assert window.view.marker_lines() == []
    total = named_curve(find(window, pg.PlotWidget, "lossPlot"), "total loss")
    qtbot.waitUntil(lambda: len(curve_data(total)[1]) > 0, timeout=WAIT_MS)
    assert curve_data(total)[1][0] > 5  # the SVM's starting loss (≈ C − 1 = 9 with W ≈ 0), not softmax's ln 10 ≈ 2.3
