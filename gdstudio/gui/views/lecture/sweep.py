"""The hyperparameter sweep: random search over log α × log λ on the validation split, on every core."""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from gdstudio.engine.sweep import sweep
from gdstudio.gui.flow import flow_row, group
from gdstudio.gui.views.lecture.base import LectureView
from gdstudio.gui.views.lecture.jobs import IN_PROCESS, percent
from gdstudio.gui.widgets import ReflowingSplitter, SciSpinBox, format_number

DEFAULT_TRIALS = 12
DEFAULT_TRIAL_EPOCHS = 5.0
LR_SPAN = (1e-3, 3.0)
"""Default α range: the session's α times these (the ``gdstudio sweep`` defaults on digits)."""
REG_SPAN = (1e-2, 1e3)
BEST_COLOUR = (214, 39, 40)
ACCURACY_MAP = "viridis"
SIDE_BY_SIDE_WIDTH = 640
"""Narrower than this, the two plots stand one above the other."""


def default_ranges(lr: float, reg: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """α and λ ranges around the session's values, in whole 1-2-5 numbers."""
    reg = reg if reg > 0 else 1e-4
    return (_round(lr * LR_SPAN[0]), _round(lr * LR_SPAN[1])), (_round(reg * REG_SPAN[0]), _round(reg * REG_SPAN[1]))


def _round(value: float) -> float:
    return float(f"{value:.1g}")


class SweepView(LectureView):
    """Trials as points of log α × log λ coloured by validation accuracy; a click loads that point."""

    object_name = "sweepView"
    title = "Hyperparameter sweep"

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.result: dict | None = None
        self.trials: list = []
        self.selected = None
        self.sweep_config = None
        self.workers = os.cpu_count() or 1
        self._ranges = ((1e-3, 3.0), (1e-6, 1e-1))
        self._curve_steps: list = []
        self._curve_loss: list = []
        self._curve_acc: tuple[list, list] = ([], [])

        self.trials_spin = QSpinBox()
        self.trials_spin.setObjectName("sweepTrialsSpin")
        self.trials_spin.setRange(1, 10_000)
        self.trials_spin.setValue(DEFAULT_TRIALS)
        self.epochs_spin = QDoubleSpinBox()
        self.epochs_spin.setObjectName("sweepEpochsSpin")
        self.epochs_spin.setRange(0.1, 1000.0)
        self.epochs_spin.setDecimals(1)
        self.epochs_spin.setValue(DEFAULT_TRIAL_EPOCHS)
        self.lr_low, self.lr_high = SciSpinBox(), SciSpinBox()
        self.reg_low, self.reg_high = SciSpinBox(), SciSpinBox()
        for spin, name in ((self.lr_low, "sweepLrLow"), (self.lr_high, "sweepLrHigh"), (self.reg_low, "sweepRegLow"),
                           (self.reg_high, "sweepRegHigh")):
            spin.setObjectName(name)
            spin.setRange(1e-12, 1e8)
        self.start_button = QPushButton("Start sweep")
        self.start_button.setObjectName("sweepStartButton")
        self.start_button.clicked.connect(self._on_start_clicked)

        self.map_plot = pg.PlotWidget()
        self.map_plot.setObjectName("sweepPlot")
        self.map_plot.setLogMode(x=True, y=True)  # the points are placed at log10 coordinates; the axes say so
        self.map_plot.setLabel("bottom", "step size α")
        self.map_plot.setLabel("left", "regularisation λ")
        self.map_plot.showGrid(x=True, y=True, alpha=0.2)
        for name in ("bottom", "left"):
            self.map_plot.getAxis(name).enableAutoSIPrefix(False)
        self.colour_map = pg.colormap.get(ACCURACY_MAP)
        self.scatter = pg.ScatterPlotItem(size=16, symbol="s", pen=pg.mkPen((40, 40, 40), width=1), hoverable=True,
                                          tip=self._tip)
        self.scatter.sigClicked.connect(self._on_point_clicked)
        self.map_plot.addItem(self.scatter)
        self.best_ring = pg.ScatterPlotItem(size=26, symbol="o", pen=pg.mkPen(BEST_COLOUR, width=3), brush=None)
        self.map_plot.addItem(self.best_ring)
        self.selected_ring = pg.ScatterPlotItem(size=30, symbol="s", pen=pg.mkPen((0, 0, 0), width=2,
                                                                                   style=Qt.PenStyle.DotLine),
                                                brush=None)
        self.map_plot.addItem(self.selected_ring)
        # The rings lie over their points and take the clicks meant for them: a click on a ring chooses its point.
        self.best_ring.sigClicked.connect(self._on_point_clicked)
        self.selected_ring.sigClicked.connect(self._on_point_clicked)
        self.colour_bar = pg.ColorBarItem(values=(0, 100), colorMap=self.colour_map, interactive=False,
                                          label="validation accuracy (%)")
        self.map_plot.getPlotItem().layout.addItem(self.colour_bar, 2, 5)

        self.curve_plot = pg.PlotWidget()
        self.curve_plot.setObjectName("sweepCurvePlot")
        self.curve_plot.setLabel("bottom", "step")
        self.curve_plot.setLabel("left", "loss")
        self.curve_plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve_plot.setTitle("Click a point: its curves here")
        self.loss_curve = self.curve_plot.plot([], [], pen=pg.mkPen((31, 119, 180), width=1))
        self.accuracy_axis_view = pg.ViewBox()
        plot_item = self.curve_plot.getPlotItem()
        plot_item.showAxis("right")
        plot_item.scene().addItem(self.accuracy_axis_view)
        plot_item.getAxis("right").linkToView(self.accuracy_axis_view)
        plot_item.getAxis("right").setLabel("validation accuracy (%)", color="#d62728")
        self.accuracy_axis_view.setXLink(plot_item)
        self.accuracy_axis_view.setYRange(0, 100)
        self.accuracy_curve = pg.PlotDataItem([], [], pen=pg.mkPen(BEST_COLOUR, width=2), symbol="o", symbolSize=5,
                                              symbolBrush=BEST_COLOUR, symbolPen=None)
        self.accuracy_axis_view.addItem(self.accuracy_curve)
        plot_item.vb.sigResized.connect(self._on_curve_plot_resized)

        self.warning_label = QLabel("")
        self.warning_label.setObjectName("sweepWarnings")
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet("color: #b35900")
        self.best_label = QLabel("")
        self.best_label.setObjectName("sweepBest")
        self.best_label.setWordWrap(True)

        # As many rows as the dock's width needs: one on a wide screen, five in the narrowest dock.
        form = flow_row(group("Trials", self.trials_spin), group("epochs each", self.epochs_spin),
                        group("α from", self.lr_low, "to", self.lr_high),
                        group("λ from", self.reg_low, "to", self.reg_high), self.start_button)
        # The map above the curves in a narrow dock; the curves' plot has a title, and its axis title needs room.
        plots = ReflowingSplitter(SIDE_BY_SIDE_WIDTH, stacked_height=260)
        plots.addWidget(self.map_plot)
        plots.addWidget(self.curve_plot)
        plots.setSizes([550, 450])
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(plots, 1)
        layout.addWidget(self.best_label)
        layout.addWidget(self.warning_label)
        self.set_ranges(*self._ranges)

    # the form -------------------------------------------------------------------------------------------------------
    def set_ranges(self, lr_range, reg_range) -> None:
        self.lr_low.setValue(lr_range[0])
        self.lr_high.setValue(lr_range[1])
        self.reg_low.setValue(reg_range[0])
        self.reg_high.setValue(reg_range[1])

    def ranges(self) -> tuple[tuple[float, float], tuple[float, float]]:
        lr = sorted((self.lr_low.value(), self.lr_high.value()))
        reg = sorted((self.reg_low.value(), self.reg_high.value()))
        return (lr[0], lr[1]), (reg[0], reg[1])

    def on_loaded(self, info) -> None:
        fresh = self.info is None or info.dataset != self.info.dataset or info.config.preprocess != \
            self.info.config.preprocess
        super().on_loaded(info)
        if fresh:  # a new data set: ranges around its defaults (a reset keeps the teacher's ranges)
            self.set_ranges(*default_ranges(info.lr, info.reg))
            epochs = info.config.epochs or DEFAULT_TRIAL_EPOCHS
            self.epochs_spin.setValue(min(epochs, DEFAULT_TRIAL_EPOCHS))
        self.start_button.setEnabled(self.dataset is not None)
        if self.dataset is not None and not self.job_running("sweep"):
            self.status_label.setText(f"Random search over log α × log λ, scored on the validation split of "
                                      f"{info.dataset}; {self.workers} processes.")

    def refresh(self) -> None:
        """Nothing to redraw from training: the sweep runs its own sessions."""

    # the sweep ------------------------------------------------------------------------------------------------------
    def start_sweep(self) -> None:
        if self.info is None or self.dataset is None or self.job_running("sweep"):
            return
        count = int(self.trials_spin.value())
        lr_range, reg_range = self.ranges()
        self._ranges = (lr_range, reg_range)
        config = self.run_config(epochs=float(self.epochs_spin.value()), steps=None, budget=None, strategy="sgd")
        self.sweep_config = config
        data_path = getattr(self.info, "data_path", None)  # a located data set: the trials load it from there
        workers = max(1, min(count, self.workers))
        self.trials = []
        self.result = None
        self.scatter.clear()
        self.best_ring.clear()
        self.warning_label.setText("")
        self.best_label.setText("")
        self.status_label.setText(f"Sweeping {count} points on {workers} processes …")

        def work(job):
            # spawn, not fork: this process runs Qt and Numba threads
            executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
            cancelled = True
            try:
                def on_trial(trial):
                    job.report(trial)
                    job.check()

                result = sweep(config, count, lr_range, reg_range, seed=config.seed, data_path=data_path,
                               executor=executor, on_trial=on_trial)
                cancelled = False
                return result
            finally:
                executor.shutdown(wait=not cancelled, cancel_futures=True)

        self.start_job("sweep", work, self._on_trials, self._on_swept)
        self.jobs_changed()

    @Slot()
    def _on_start_clicked(self) -> None:
        if self.job_running("sweep"):
            self.cancel_job("sweep")
        else:
            self.start_sweep()

    @Slot(object)
    def _on_trials(self, trials) -> None:
        self.trials.extend(trials)
        self._draw_trials()
        self.status_label.setText(f"{len(self.trials)} of {self.trials_spin.value()} trials done …")

    @Slot(object)
    def _on_swept(self, result) -> None:
        self.result = result
        self.trials = list(result["trials"])
        self._draw_trials()
        best = result["best"]
        self.best_ring.setData([math.log10(best.lr)], [math.log10(best.reg)], data=[best])
        self.best_label.setText(f"Best: α = {format_number(best.lr)}, λ = {format_number(best.reg)}: validation "
                                f"accuracy {percent(best.val_accuracy)} (training {percent(best.train_accuracy)}).")
        self.warning_label.setText("\n".join(f"⚠ {text}" for text in result["warnings"]))
        self.status_label.setText(f"{len(self.trials)} trials done. Click a point to use its α and λ.")
        self.computed.emit("sweep")

    def _draw_trials(self) -> None:
        if not self.trials:
            self.scatter.clear()
            return
        accuracy = np.array([t.val_accuracy for t in self.trials])
        colours = self.colour_map.map(accuracy, mode="qcolor")
        spots = [{"pos": (math.log10(t.lr), math.log10(t.reg)), "brush": pg.mkBrush(colour), "data": t,
                  "symbol": "x" if t.status == "diverged" else "s"}
                 for t, colour in zip(self.trials, colours)]
        self.scatter.setData(spots)
        (lr_lo, lr_hi), (reg_lo, reg_hi) = self._ranges
        self.map_plot.setRange(xRange=(math.log10(lr_lo), math.log10(lr_hi)),
                               yRange=(math.log10(reg_lo), math.log10(reg_hi)), padding=0.08)

    @staticmethod
    def _tip(x, y, data):
        return (f"α = {format_number(data.lr)}, λ = {format_number(data.reg)}\n"
                f"validation {percent(data.val_accuracy)}, training {percent(data.train_accuracy)} ({data.status})")

    # a chosen point ---------------------------------------------------------------------------------------------
    @Slot(object, object, object)
    def _on_point_clicked(self, item, points, event=None) -> None:
        if len(points):
            self.choose(points[0].data())

    def choose(self, trial) -> None:
        """Load ``trial``'s α and λ into the training, and train it here to show its curves."""
        self.selected = trial
        self.selected_ring.setData([math.log10(trial.lr)], [math.log10(trial.reg)], data=[trial])
        if self.controller is not None:
            self.controller.request(lr=trial.lr, reg=trial.reg)
        if self.dataset is None or self.info is None:
            return
        # the sweep's own settings, so that the curve ends at the trial's accuracy (run_trial uses one thread too)
        base = self.sweep_config or self.run_config(epochs=float(self.epochs_spin.value()), steps=None, budget=None,
                                                    strategy="sgd")
        config = base.replace(lr=trial.lr, reg=trial.reg, **IN_PROCESS)
        dataset = self.dataset
        self._curve_steps, self._curve_loss, self._curve_acc = [], [], ([], [])
        self.loss_curve.setData([], [])
        self.accuracy_curve.setData([], [])
        self.curve_plot.setTitle(f"α = {format_number(trial.lr)}, λ = {format_number(trial.reg)}: training …")

        def work(job):
            from gdstudio.engine.session import Session

            session = Session(config, dataset=dataset)
            last = None
            for last in session.run():
                job.check()
                if last.curves is not None and len(last.curves.step):
                    job.report(("loss", last.curves.step.copy(), last.curves.loss.copy()))
                if last.status == "running":
                    for step, _, _, _, val in last.measurements:
                        job.report(("accuracy", step, val))
            return last

        self.start_job("trial", work, self._on_trial_progressed, self._on_trial_trained)

    @Slot(object)
    def _on_trial_progressed(self, items) -> None:
        for kind, first, second in items:
            if kind == "loss":
                self._curve_steps.append(first)
                self._curve_loss.append(second)
            else:
                self._curve_acc[0].append(first)
                self._curve_acc[1].append(100.0 * second)
        if self._curve_steps:
            self.loss_curve.setData(np.concatenate(self._curve_steps), np.concatenate(self._curve_loss))
        self.accuracy_curve.setData(*self._curve_acc)

    @Slot(object)
    def _on_trial_trained(self, last) -> None:
        trial = self.selected
        text = f"α = {format_number(trial.lr)}, λ = {format_number(trial.reg)}"
        if last is not None and last.final:
            text += f": validation {percent(last.final.get('val_accuracy'))} ({last.status})"
            if last.final.get("val_accuracy") is not None:  # the curve ends at the trial's accuracy (full split)
                self._curve_acc[0].append(last.step)
                self._curve_acc[1].append(100.0 * last.final["val_accuracy"])
                self.accuracy_curve.setData(*self._curve_acc)
        self.curve_plot.setTitle(text)
        self.computed.emit("trial")

    @Slot()
    def _on_curve_plot_resized(self) -> None:
        self.accuracy_axis_view.setGeometry(self.curve_plot.getPlotItem().vb.sceneBoundingRect())

    def jobs_changed(self) -> None:
        self.start_button.setText("Stop sweep" if self.job_running("sweep") else "Start sweep")
