"""The window's parts on their own: curve data, number widgets, settings, downloads, the display check."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QObject, QSettings, Signal, Slot

from gdstudio.config import TrainConfig
from gdstudio.engine.progress import Change, Curves, Progress
from gdstudio.gui.app import display_problem
from gdstudio.gui.series import RunCurves, display, ema, forward_fill
from gdstudio.gui.settings import Preferences
from gdstudio.gui.widgets import LogSpinSlider, SciSpinBox, format_number, nice_step


def record(first_step, n, status="running", train=None, val=None, changes=()):
    steps = np.arange(first_step, first_step + n, dtype=np.int64)
    loss = 2.0 / steps
    curves = Curves(steps, steps / 10.0, steps * 8, steps, loss, loss * 0.9, loss * 0.1, np.full(n, 0.5))
    return Progress(step=int(steps[-1]), epoch=steps[-1] / 10.0, examples_seen=int(steps[-1]) * 8,
                    evaluations=int(steps[-1]), loss=float(loss[-1]), data_loss=float(loss[-1] * 0.9),
                    reg_loss=float(loss[-1] * 0.1), batch_accuracy=0.5, lr=0.1, reg=1e-4, batch_size=8,
                    loss_name="softmax", strategy="sgd", backend="cpu", examples_per_second=1.0,
                    steps_per_second=1.0, train_accuracy=train, val_accuracy=val, status=status, curves=curves,
                    changes=tuple(changes),
                    measurements=() if train is None else ((int(steps[-1]), steps[-1] / 10.0, int(steps[-1]) * 8,
                                                            train, val),))


# -- curve data ---------------------------------------------------------------------------------------------------


def test_run_curves_append_records_and_place_changes():
    curves = RunCurves()
    curves.add(record(1, 5, train=0.3, val=0.25))
    curves.add(record(6, 5, changes=[Change(5, "lr", 0.1, 0.01)]))
    curves.add(record(11, 1, status="ok", train=0.9, val=0.8))  # full-split accuracies: not a live point
    assert len(curves) == 11 and list(curves.steps.column("step")) == list(range(1, 12))
    assert list(curves.evals.column("step")) == [5]
    assert curves.x_of_step(5, "epoch") == pytest.approx(0.5) and curves.x_of_step(5, "step") == 5
    rows = curves.rows()
    assert rows[4]["train_accuracy"] == 0.3 and rows[3]["train_accuracy"] is None
    assert curves.revision == 3


def ema_loop(x, w):
    out, s = [], x[0]
    for v in x:
        s = w * s + (1 - w) * v
        out.append(s)
    return np.array(out)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=300), st.floats(0.0, 0.99))
def test_blocked_ema_equals_the_recurrence(values, weight):
    x = np.array(values)
    np.testing.assert_allclose(ema(x, weight), ema_loop(x, weight), rtol=1e-9, atol=1e-9)


def test_forward_fill_and_display_decimation():
    np.testing.assert_array_equal(forward_fill(np.array([np.nan, 1, np.inf, 3])), [1, 1, 1, 3])
    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 1000) + np.where(x % 2 == 0, 1.0, -1.0)  # a noisy band
    y[500] = np.inf
    x_raw, y_raw, x_smooth, y_smooth = display(x, y, smoothing=0.5, bins=1000)
    assert len(x_raw) <= 2000 and len(x_smooth) <= 1000
    assert np.nanmax(y_raw) == pytest.approx(np.max(y[np.isfinite(y)]))  # the band's edges survive
    assert np.nanmin(y_raw) == pytest.approx(np.min(y))
    assert np.all(np.isfinite(y_smooth))
    few = display(x[:10], y[:10], smoothing=0.0)
    np.testing.assert_array_equal(few[0], x[:10])


# -- number widgets -----------------------------------------------------------------------------------------------


def test_format_number_and_nice_steps():
    assert [format_number(v) for v in (0.5, 1e-4, 1e-7, 25000.0, 0)] == ["0.5", "0.0001", "1e-7", "2.5e4", "0"]
    assert nice_step(0.1, True, 1e-6) == pytest.approx(0.2)
    assert nice_step(0.2, True, 1e-6) == pytest.approx(0.5)
    assert nice_step(0.5, True, 1e-6) == pytest.approx(1.0)
    assert nice_step(0.3, False, 1e-6) == pytest.approx(0.2)
    assert nice_step(1e-6, False, 1e-6) == 0.0 and nice_step(0.0, True, 1e-6) == 1e-6


def test_sci_spin_box_keeps_tiny_values_and_reads_exponents(qtbot):
    spin = SciSpinBox()
    qtbot.addWidget(spin)
    spin.setRange(1e-12, 1e6)
    spin.setValue(1e-7)
    assert spin.value() == 1e-7 and spin.text() == "1e-7"
    assert spin.valueFromText("2.5e-3") == 0.0025
    state, _, _ = spin.validate("1e-", 3)
    assert state.name == "Intermediate"
    spin.stepBy(1)
    assert spin.value() == pytest.approx(2e-7)


def test_log_slider_spans_decades_and_follows_the_spin(qtbot):
    pair = LogSpinSlider("lrSpin", "lrSlider")
    qtbot.addWidget(pair)
    pair.set_span(1e-4, 10.0)
    seen = []
    pair.value_changed.connect(seen.append)
    pair.slider.setValue(pair.slider.maximum())
    assert pair.value() == pytest.approx(10.0) and seen[-1] == pytest.approx(10.0)
    pair.slider.setValue(0)
    assert pair.value() == pytest.approx(1e-4)
    pair.set_value(1e-2)
    assert pair.slider.value() == 2 * pair.slider.maximum() // 5
    pair.set_value(1e3)  # outside the span: the span grows
    assert pair.slider.value() == pair.slider.maximum()


# -- controls -----------------------------------------------------------------------------------------------------


def test_controls_make_a_train_config_and_send_live_changes(qtbot):
    from gdstudio.gui.controls import ControlsPanel

    panel = ControlsPanel()
    qtbot.addWidget(panel)
    panel.lr.set_value(0.3)
    panel.reg.set_value(0.0)
    panel.batch_spin.setValue(16)
    config = panel.config()
    assert isinstance(config, TrainConfig)
    assert (config.lr, config.reg, config.batch_size, config.dataset) == (0.3, 0.0, 16, "digits")
    with qtbot.waitSignal(panel.live_changed, timeout=15_000) as blocker:
        panel.lr.spin.setValue(0.03)
    assert blocker.args == [{"lr": 0.03}]


def test_picking_a_data_set_that_is_not_downloaded_asks_instead(qtbot):
    from gdstudio.gui.controls import MISSING_SUFFIX, ControlsPanel

    panel = ControlsPanel()
    qtbot.addWidget(panel)
    panel.refresh_datasets({"digits": True, "cifar10": False})
    combo = panel.dataset_combo
    index = combo.findData("cifar10")
    assert combo.itemText(index).endswith(MISSING_SUFFIX)
    with qtbot.waitSignal(panel.dataset_missing, timeout=15_000) as blocker:
        combo.activated.emit(index)
    assert blocker.args == ["cifar10"] and combo.currentData() == "digits"
    assert any(action.text().startswith("Get CIFAR-10") for action in panel.data_menu.actions())


# -- settings -----------------------------------------------------------------------------------------------------


def test_preferences_ignore_damaged_values(tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    prefs = Preferences(settings)
    prefs.remember_hyperparameters("digits", {"lr": 0.25, "reg": 0.0, "batch_size": 32, "epochs": 3.0,
                                              "preprocess": "raw"})
    assert prefs.hyperparameters("digits") == {"lr": 0.25, "reg": 0.0, "batch_size": 32, "epochs": 3.0,
                                               "preprocess": "raw"}
    settings.setValue("hyper/digits/lr", "-5")
    settings.setValue("hyper/digits/batch_size", "lots")
    settings.setValue("run/loss", "hinge")
    settings.setValue("run/seed", "1.5")
    assert "lr" not in prefs.hyperparameters("digits") and "batch_size" not in prefs.hyperparameters("digits")
    assert prefs.run_settings() == {}
    memory = Preferences()
    memory.remember_data_path("cifar10", "/data/cifar")
    assert memory.data_paths() == {"cifar10": "/data/cifar"}


# -- downloads ----------------------------------------------------------------------------------------------------


def test_download_dialog_reports_progress_and_success(qtbot):
    from gdstudio.gui.datasets import DownloadDialog

    def fake_download(name, progress):
        for done in range(0, 1001, 250):
            progress("file.gz", done, 1000)
        return "/tmp/folder"

    dialog = DownloadDialog("mnist", download=fake_download)
    with qtbot.waitSignal(dialog.download_finished, timeout=30_000) as blocker:
        dialog.start()
    assert blocker.args == ["mnist", True, ""]


def test_download_dialog_cancel_stops_the_download(qtbot):
    from gdstudio.gui.datasets import DownloadDialog

    started = threading.Event()

    def endless_download(name, progress):
        while True:
            progress("file.gz", 1, None)
            started.set()

    dialog = DownloadDialog("cifar10", download=endless_download)
    with qtbot.waitSignal(dialog.download_finished, timeout=30_000) as blocker:
        dialog.start()
        started.wait(30)
        dialog.canceled.emit()  # what the Cancel button does
    assert blocker.args == ["cifar10", False, "cancelled"]
    assert dialog.thread.wait(30_000)


# -- Qt regressions and the display check ---------------------------------------------------------------------------


class _Emitter(QObject):
    fired = Signal(object)


class _Receiver(QObject):
    def __init__(self):
        super().__init__()
        self.count = 0

    @Slot(object)
    def on_fired(self, value):
        self.count += 1


def test_emitting_signals_does_not_leak_references_to_true(qapp, qtbot):
    """PySide6 6.12.0 on Python < 3.12 lost a reference to True per emit and aborted (shared/NOTES.md).

    Half the emits are direct, half come from another thread (queued), as the training thread's do."""
    emitter, receiver = _Emitter(), _Receiver()
    emitter.fired.connect(receiver.on_fired)
    before = sys.getrefcount(True)
    for _ in range(5_000):
        emitter.fired.emit(True)
    sender = threading.Thread(target=lambda: [emitter.fired.emit(True) for _ in range(5_000)])
    sender.start()
    sender.join()
    qtbot.waitUntil(lambda: receiver.count == 10_000, timeout=10_000)
    qapp.processEvents()
    after = sys.getrefcount(True)
    assert abs(after - before) < 100, f"sys.getrefcount(True) went from {before} to {after}"


def test_display_problem_is_one_line_naming_the_way_out():
    assert display_problem({}, "win32") is None and display_problem({}, "darwin") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    message = display_problem({}, "linux")
    assert "DISPLAY" in message and "gdstudio train" in message and "\n" not in message


def test_gdstudio_without_a_display_says_so_and_exits(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "gdstudio"], env=env, capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "gdstudio train" in lines[0] and "qt." not in done.stderr.lower()


def test_main_refuses_an_unknown_data_set_in_one_line(capsys):
    from gdstudio.gui.app import EXIT_USAGE, main

    assert main(dataset="no-such-set") == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-set" in err[0] and "digits" in err[0]
