"""Issue 16 in the window: the gradient noise view and the gradient check's forward/centred choice, h-sweep and
timing, driven as a person does (tabs, buttons, combo entries chosen with the mouse) and read from what is drawn.

The numbers the issue asks for (the spread ratio, the bias against K, the cosine, forward against centred, the V)
are tested precisely on the engine in ``tests/engine/test_gradnoise.py``; here the window must draw them.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QPushButton, QSpinBox, QToolButton, QWidget

from tests.gui.layout_checks import raise_view_by_tab
from tests.gui.person import WAIT_MS, click, curve_data, find, named_curve, pick, type_into, visible_text

JOB_MS = 60_000
"""A view's job on a loaded 2-core CI machine, with the training running beside it."""


def _start_long_run(qtbot, window) -> None:
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "100000", commit=Qt.Key.Key_Return)
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: window.controller.last_progress is not None
                    and window.controller.last_progress.step > 50, timeout=WAIT_MS)


def _train_briefly(qtbot, window) -> None:
    """Train 2.5 epochs of the digits (about 50 steps, as ``gdstudio gradnoise`` does) and let the run end: far
    from the minimum the full gradient is large against the noise (near it, g → 0 and every cosine is ≈ 0)."""
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "2.5", commit=Qt.Key.Key_Return)
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: window.controller.state == "ended", timeout=WAIT_MS)


def _pause(qtbot, window) -> None:
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: not window.controller.running, timeout=WAIT_MS)


def _log_mode(plot_widget) -> tuple[bool, bool]:
    plot = plot_widget.getPlotItem()
    return plot.getAxis("bottom").logMode, plot.getAxis("left").logMode


def _vertical_lines(plot_widget) -> list[pg.InfiniteLine]:
    return [item for item in plot_widget.getPlotItem().items
            if isinstance(item, pg.InfiniteLine) and item.angle == 90 and item.isVisible()]


@pytest.mark.parametrize("name", ["gradientNoiseView", "gradcheckView"])
def test_both_views_are_created_with_the_window(window, name):
    view = window.findChild(QWidget, name)
    assert view is not None and view is window.views[name]
    assert window.view_docks[name].windowTitle() == type(view).title


def test_gradient_noise_view_draws_the_cloud_and_the_noise_against_the_batch_size(qtbot, window):
    _train_briefly(qtbot, window)
    raise_view_by_tab(qtbot, window, "Gradient noise")
    view = window.views["gradientNoiseView"]
    spread_plot = find(view, pg.PlotWidget, "gradientNoiseSpreadPlot")
    cosine_plot = find(view, pg.PlotWidget, "gradientNoiseCosinePlot")
    cloud_plot = find(view, pg.PlotWidget, "gradientNoiseCloudPlot")
    spread = named_curve(spread_plot, "spread")
    qtbot.waitUntil(lambda: len(curve_data(spread)[0]) == 9, timeout=JOB_MS)
    qtbot.waitUntil(lambda: not view.stale and not view.job_running("noise"), timeout=JOB_MS)
    qtbot.wait(200)

    assert _log_mode(spread_plot) == (True, True)
    log_b, log_spread = curve_data(spread)  # drawn in log10 on log axes
    np.testing.assert_allclose(log_b, np.log10([1, 2, 4, 8, 16, 32, 64, 128, 256]))
    assert np.all(np.diff(log_spread) < 0)  # more images, less noise
    assert 10 <= 10 ** (log_spread[0] - log_spread[-1]) <= 25  # ≈ √256 = 16 (K = 200, the W of this moment)
    law_x, law_y = curve_data(named_curve(spread_plot, "∝ 1/√B"))
    slope = np.polyfit(law_x, law_y, 1)[0]
    assert slope == pytest.approx(-0.5)
    assert np.max(np.abs(log_spread - law_y)) < math.log10(1.5)  # the points follow the 1/√B line
    # the current batch size (the digits' 64) is marked on both curves
    for plot in (spread_plot, cosine_plot):
        lines = _vertical_lines(plot)
        assert len(lines) == 1 and lines[0].value() == pytest.approx(math.log10(64))
    assert lines and "current B = 64" in _vertical_lines(spread_plot)[0].label.format
    cos_b, cosines = curve_data(cosine_plot.getPlotItem().listDataItems()[0])
    assert _log_mode(cosine_plot)[0] and np.all(np.diff(cosines) > 0) and cosines[-1] > cosines[0] + 0.3
    # the cloud: K = 200 draws at B = 64 around g; the mean of the draws is marked on g
    cloud_x, cloud_y = curve_data(named_curve(cloud_plot, "mini-batch gradients g_B"))
    g_x, g_y = curve_data(named_curve(cloud_plot, "full gradient g"))
    mean_x, mean_y = curve_data(named_curve(cloud_plot, "mean of the g_B"))
    assert len(cloud_x) == 200 and g_y[0] == 0 and g_x[0] > 0
    assert mean_x[0] == pytest.approx(cloud_x.mean()) and mean_y[0] == pytest.approx(cloud_y.mean())
    standard_error = np.array([cloud_x.std(), cloud_y.std()]) / math.sqrt(200)
    assert np.all(np.abs([mean_x[0] - g_x[0], mean_y[0] - g_y[0]]) < 4.5 * standard_error)
    assert "B = 64" in cloud_plot.getPlotItem().titleLabel.text
    summary = visible_text(find(view, QLabel, "gradientNoiseSummary"))
    assert "current B = 64" in summary and "unbiased" in summary
    # its own job, throttled by its cost: it waits at least four times what a job took before the next one
    assert view.seconds > 0 and 1.0 / view.refresh_hz >= 4 * view.seconds * 0.999


def test_the_view_follows_the_training_and_a_new_batch_size(qtbot, window):
    _start_long_run(qtbot, window)
    raise_view_by_tab(qtbot, window, "Gradient noise")
    view = window.views["gradientNoiseView"]
    spread_plot = find(view, pg.PlotWidget, "gradientNoiseSpreadPlot")
    cloud_plot = find(view, pg.PlotWidget, "gradientNoiseCloudPlot")
    norm = named_curve(cloud_plot, "full gradient g")  # at (‖g‖, 0): ‖g‖ changes as W moves
    qtbot.waitUntil(lambda: len(curve_data(norm)[0]) == 1, timeout=JOB_MS)
    first = curve_data(norm)[0][0]
    qtbot.waitUntil(lambda: curve_data(norm)[0][0] != first, timeout=JOB_MS)  # redrawn from later weights
    click(qtbot, find(window, QToolButton, "batch256Button"))
    qtbot.waitUntil(lambda: _vertical_lines(spread_plot)[0].value() == pytest.approx(math.log10(256)),
                    timeout=JOB_MS)
    qtbot.waitUntil(lambda: "B = 256" in cloud_plot.getPlotItem().titleLabel.text, timeout=JOB_MS)
    _pause(qtbot, window)


def test_fewer_draws_typed_in_make_a_smaller_cloud(qtbot, window):
    _train_briefly(qtbot, window)
    raise_view_by_tab(qtbot, window, "Gradient noise")
    view = window.views["gradientNoiseView"]
    type_into(qtbot, find(view, QSpinBox, "gradientNoiseDrawsSpin"), "50", commit=Qt.Key.Key_Return)
    cloud = named_curve(find(view, pg.PlotWidget, "gradientNoiseCloudPlot"), "mini-batch gradients g_B")
    qtbot.waitUntil(lambda: len(curve_data(cloud)[0]) == 50, timeout=JOB_MS)


def _relative_errors(table) -> np.ndarray:
    return np.array([table.item(row, 4).data(Qt.ItemDataRole.UserRole) for row in range(table.rowCount())])


def _check_with(qtbot, view, method_text: str) -> np.ndarray:
    """Choose the difference in the method box, press Check gradient, wait for the table; its relative errors."""
    pick(qtbot, find(view, QComboBox, "gradcheckMethodCombo"), method_text)
    summary = find(view, QLabel, "gradcheckSummary")
    click(qtbot, find(view, QPushButton, "gradcheckButton"))
    method = method_text.split(":")[0]
    qtbot.waitUntil(lambda: "max relative error" in visible_text(summary)
                    and f"{method} difference" in visible_text(summary), timeout=JOB_MS)
    return _relative_errors(find(view, pg.QtWidgets.QTableWidget, "gradcheckTable"))


def test_gradient_check_forward_against_centred_sweep_and_time(qtbot, window):
    _train_briefly(qtbot, window)
    raise_view_by_tab(qtbot, window, "Gradient check")
    view = window.views["gradcheckView"]
    combo = find(view, QComboBox, "gradcheckMethodCombo")
    assert combo.currentText().startswith("centred")  # the default, as before
    type_into(qtbot, find(view, QSpinBox, "gradcheckBatchSpin"), "40", commit=Qt.Key.Key_Return)  # a quicker check
    forward = _check_with(qtbot, view, "forward: [L(W+h) − L(W)] / h")
    centred = _check_with(qtbot, view, "centred: [L(W+h) − L(W−h)] / 2h")
    assert len(forward) == len(centred) == 650
    assert np.median(forward) >= 10 * np.median(centred) and centred.max() < 1e-6
    timing = visible_text(find(view, QLabel, "gradcheckTiming"))
    assert "all 650 entries (centred, 1,300 loss evaluations" in timing and "slower" in timing
    assert "CIFAR-10's W (30,730 entries" in timing

    click(qtbot, find(view, QPushButton, "gradcheckSweepButton"))
    sweep_plot = find(view, pg.PlotWidget, "gradcheckSweepPlot")
    qtbot.waitUntil(lambda: len(curve_data(named_curve(sweep_plot, "centred"))[0]) == 19, timeout=JOB_MS)
    qtbot.waitUntil(sweep_plot.isVisible, timeout=WAIT_MS)  # its tab comes to the front
    assert _log_mode(sweep_plot) == (True, True)
    for method in ("forward", "centred"):
        log_h, log_error = curve_data(named_curve(sweep_plot, method))
        assert log_h[0] == pytest.approx(-1) and log_h[-1] == pytest.approx(-10)
        lowest = int(np.argmin(log_error))
        assert 0 < lowest < len(log_h) - 1  # the V: its bottom inside the swept range
        assert log_error[0] > log_error[lowest] + 1 and log_error[-1] > log_error[lowest] + 1
    f_h, f_error = curve_data(named_curve(sweep_plot, "forward"))
    c_h, c_error = curve_data(named_curve(sweep_plot, "centred"))
    assert f_error[0] - f_error[4] == pytest.approx(2, abs=0.3)  # two decades of h: forward falls 100×
    assert c_error[0] - c_error[4] == pytest.approx(4, abs=0.3)  # centred 10,000×
    assert "Lowest:" in visible_text(find(view, QLabel, "gradcheckSweepSummary"))


def test_a_result_of_the_previous_session_is_not_drawn(qtbot):
    """A job still running when another session is loaded (Reset, another data set) must not draw its cloud."""
    from gdstudio.config import TrainConfig
    from gdstudio.engine.gradnoise import full_gradient
    from gdstudio.engine.session import Session
    from gdstudio.gui.views.lecture import GradientNoiseView
    from gdstudio.gui.worker import session_info

    digits = Session(TrainConfig(dataset="digits", steps=5))
    toy = Session(TrainConfig(dataset="toy2d", steps=5))
    view = GradientNoiseView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.on_loaded(session_info(digits, "new"))
    view.show()
    qtbot.waitUntil(lambda: view.job_running("noise"), timeout=WAIT_MS)
    view.on_loaded(session_info(toy, "new"))
    qtbot.waitUntil(lambda: view.result is not None, timeout=JOB_MS)
    W, b = toy.weights()
    g = full_gradient(W, b, toy.dataset.X_train, toy.dataset.y_train, toy.loss, toy.reg, toy.preprocess)
    drawn_g = curve_data(named_curve(find(view, pg.PlotWidget, "gradientNoiseCloudPlot"), "full gradient g"))[0][0]
    assert drawn_g == pytest.approx(np.linalg.norm(g), rel=1e-6)  # the toy's g, not the digits' one
    assert "on all" in visible_text(find(view, QLabel, "gradientNoiseViewStatus"))
    view.shutdown()
