"""The hyperparameter sweep: random search over log α × log λ on the validation split, coarse to fine, on every
core of this computer or on a Dask cluster (a scheduler's address, or ``local``)."""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from gdstudio.engine.cluster import Cluster
from gdstudio.engine.sweep import ERROR, sweep
from gdstudio.gui.flow import flow_row, group
from gdstudio.gui.views.lecture.base import LectureView
from gdstudio.gui.views.lecture.jobs import IN_PROCESS, percent
from gdstudio.gui.widgets import ReflowingSplitter, SciSpinBox, format_number

DEFAULT_TRIALS = 12
MAX_ROUNDS = 10
HERE, SCHEDULER = "here", "scheduler"
PLACES = {HERE: "on this computer", SCHEDULER: "on a scheduler address"}
"""Where the trials run: a process pool on this computer, or the Dask cluster at the address typed."""
ROUND_LOOKS = (("s", (40, 40, 40)), ("o", (31, 119, 180)), ("t", (255, 127, 14)), ("d", (44, 160, 44)),
               ("star", (148, 103, 189)), ("h", (140, 86, 75)), ("p", (227, 119, 194)), ("t1", (23, 190, 207)))
"""Each round's symbol and outline colour on the map (round 1 first; the list repeats after its end)."""
LEGEND_COLUMNS = 4
"""The rounds' legend, under the map, lists this many rounds a line."""
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


def round_look(number: int) -> tuple[str, tuple[int, int, int]]:
    """Round ``number``'s symbol and outline colour on the map."""
    return ROUND_LOOKS[(number - 1) % len(ROUND_LOOKS)]


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
        self._round_ranges: dict[int, tuple] = {}
        self._where_text = ""
        self._total = 0
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
        self.rounds_spin = QSpinBox()
        self.rounds_spin.setObjectName("sweepRoundsSpin")
        self.rounds_spin.setRange(1, MAX_ROUNDS)
        self.rounds_spin.setToolTip("Coarse to fine: each round after the first draws as many points in ranges "
                                    "narrowed around the best so far")
        self.place_combo = QComboBox()
        self.place_combo.setObjectName("sweepPlaceCombo")
        self.place_combo.setToolTip("Where the trials run: processes on this computer, or the Dask cluster whose "
                                    "scheduler's address you type")
        for key, text in PLACES.items():
            self.place_combo.addItem(text, key)
        self.place_combo.currentIndexChanged.connect(self._on_place_changed)
        self.scheduler_edit = QLineEdit()
        self.scheduler_edit.setObjectName("sweepSchedulerEdit")
        self.scheduler_edit.setPlaceholderText("tcp://host:8786, or local")
        self.scheduler_edit.setToolTip("The Dask scheduler's address (the workers need gdstudio installed), or "
                                       "local: a Dask LocalCluster of worker processes on this computer")
        self.scheduler_edit.setVisible(False)
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
        self.legend = pg.LegendItem(labelTextSize="8pt")  # under the map, never over a point
        self.map_plot.getPlotItem().layout.addItem(self.legend, 4, 1, 1, 5)
        self.legend.setVisible(False)
        self.round_boxes: list[pg.PlotDataItem] = []
        """Each later round's ranges as a dashed box on the map (index 0: round 2)."""

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

        # As many rows as the dock's width needs: one or two on a wide screen, more in the narrowest dock.
        form = flow_row(group("Trials", self.trials_spin), group("epochs each", self.epochs_spin),
                        group("α from", self.lr_low, "to", self.lr_high),
                        group("λ from", self.reg_low, "to", self.reg_high), group("Rounds", self.rounds_spin),
                        self.place_combo, self.scheduler_edit, self.start_button)
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
        for spin in (self.lr_low, self.lr_high, self.reg_low, self.reg_high):
            spin.valueChanged.connect(self._on_range_changed)
        self.set_ranges(*self._ranges)

    # the form -------------------------------------------------------------------------------------------------------
    def set_ranges(self, lr_range, reg_range) -> None:
        self.lr_low.setValue(lr_range[0])
        self.lr_high.setValue(lr_range[1])
        self.reg_low.setValue(reg_range[0])
        self.reg_high.setValue(reg_range[1])

    @Slot()
    def _on_range_changed(self) -> None:
        """Before a sweep, the map spans the ranges in the boxes: its empty axes read in α and λ, not a log axis's
        default 1 … 10 with ticks 2 … 9 (issue 17 item 9). A map with points keeps the sweep's ranges."""
        if self.trials:
            return
        (lr_low, lr_high), (reg_low, reg_high) = self.ranges()
        if lr_high > lr_low > 0 and reg_high > reg_low > 0:
            self.map_plot.setRange(xRange=(math.log10(lr_low), math.log10(lr_high)),
                                   yRange=(math.log10(reg_low), math.log10(reg_high)), padding=0.08)

    def ranges(self) -> tuple[tuple[float, float], tuple[float, float]]:
        lr = sorted((self.lr_low.value(), self.lr_high.value()))
        reg = sorted((self.reg_low.value(), self.reg_high.value()))
        return (lr[0], lr[1]), (reg[0], reg[1])

    def place(self) -> tuple[str, str]:
        """Where the trials run (``"here"`` or ``"scheduler"``) and the scheduler's address as typed."""
        return self.place_combo.currentData(), self.scheduler_edit.text().strip()

    def set_place(self, place: str, address: str = "") -> None:
        """Show ``place`` (``"here"`` or ``"scheduler"``) and ``address``, as remembered in the settings."""
        index = self.place_combo.findData(place)
        self.place_combo.setCurrentIndex(max(index, 0))
        self.scheduler_edit.setText(address)

    @Slot(int)
    def _on_place_changed(self, index: int) -> None:
        self.scheduler_edit.setVisible(self.place_combo.itemData(index) == SCHEDULER)
        if self.info is not None and not self.job_running("sweep"):
            self.status_label.setText(self._ready_text())

    def _where(self) -> str:
        place, address = self.place()
        if place == SCHEDULER:
            return "a Dask LocalCluster here" if address == "local" else f"the Dask scheduler at {address or '…'}"
        return f"{self.workers} processes"

    def _ready_text(self) -> str:
        return (f"Random search over log α × log λ, scored on the validation split of {self.info.dataset}; on "
                f"{self._where()}.")

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
            self.status_label.setText(self._ready_text())

    def refresh(self) -> None:
        """Nothing to redraw from training: the sweep runs its own sessions."""

    # the sweep ------------------------------------------------------------------------------------------------------
    def start_sweep(self) -> None:
        if self.info is None or self.dataset is None or self.job_running("sweep"):
            return
        count = int(self.trials_spin.value())
        rounds = int(self.rounds_spin.value())
        lr_range, reg_range = self.ranges()
        self._ranges = (lr_range, reg_range)
        config = self.run_config(epochs=float(self.epochs_spin.value()), steps=None, budget=None, strategy="sgd")
        self.sweep_config = config
        data_path = getattr(self.info, "data_path", None)  # a located data set: the trials load it from there
        dataset, name = self.dataset, self.info.dataset
        place, address = self.place()
        if place == SCHEDULER and not address:
            self.status_label.setText("Type the Dask scheduler's address (tcp://host:8786), or local.")
            self.scheduler_edit.setFocus()
            return
        workers = max(1, min(count, self.workers))
        local_workers = self.workers
        self.trials = []
        self.result = None
        self._round_ranges = {}
        self._where_text = ""
        self._total = count * rounds
        self.scatter.clear()
        self.best_ring.clear()
        self._draw_rounds()
        self.warning_label.setText("")
        self.best_label.setText("")
        where = self._where() if place == SCHEDULER else f"{workers} processes"
        in_rounds = f" in {rounds} rounds" if rounds > 1 else ""
        self.status_label.setText(f"Sweeping {self._total} points{in_rounds} on {where} …")

        def on_trial(job, trial):
            job.report(("trial", trial))
            job.check()

        def on_round(job, number, lr_range, reg_range):
            job.report(("round", number, lr_range, reg_range))
            job.check()

        def here(job):
            # spawn, not fork: this process runs Qt and Numba threads
            executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
            cancelled = True
            try:
                result = sweep(config, count, lr_range, reg_range, seed=config.seed, data=data_path,
                               executor=executor, on_trial=lambda t: on_trial(job, t), rounds=rounds,
                               on_round=lambda *r: on_round(job, *r))
                cancelled = False
                return result
            finally:
                executor.shutdown(wait=not cancelled, cancel_futures=True)

        def on_cluster(job):
            with Cluster(address, workers=local_workers) as cluster:
                data, how = cluster.place(name, data_path, dataset)
                job.report(("where", f"{cluster.describe()}; {how}"))
                return sweep(config, count, lr_range, reg_range, seed=config.seed, data=data,
                             executor=cluster.executor, on_trial=lambda t: on_trial(job, t), rounds=rounds,
                             on_round=lambda *r: on_round(job, *r))

        self.start_job("sweep", on_cluster if place == SCHEDULER else here, self._on_progressed, self._on_swept)
        self.jobs_changed()

    @Slot()
    def _on_start_clicked(self) -> None:
        if self.job_running("sweep"):
            self.cancel_job("sweep")
        else:
            self.start_sweep()

    @Slot(object)
    def _on_progressed(self, items) -> None:
        for kind, *values in items:
            if kind == "trial":
                self.trials.append(values[0])
            elif kind == "round":
                number, lr_range, reg_range = values
                self._round_ranges[number] = (lr_range, reg_range)
            else:
                self._where_text = values[0]
        self._draw_trials()
        self._draw_rounds()
        rounds = len(self._round_ranges)
        text = f"{len(self.trials)} of {self._total} trials done"
        if self.rounds_spin.value() > 1:
            text += f" (round {rounds} of {self.rounds_spin.value()})"
        self.status_label.setText(f"{text} on {self._where_text} …" if self._where_text else f"{text} …")

    @Slot(object)
    def _on_swept(self, result) -> None:
        self.result = result
        self.trials = list(result["trials"])
        self._round_ranges = {r["round"]: (r["lr_range"], r["reg_range"]) for r in result["rounds"]}
        self._draw_trials()
        self._draw_rounds()
        best = result["best"]
        self.best_ring.setData([math.log10(best.lr)], [math.log10(best.reg)], data=[best])
        self.best_label.setText(f"Best: α = {format_number(best.lr)}, λ = {format_number(best.reg)}: validation "
                                f"accuracy {percent(best.val_accuracy)} (training {percent(best.train_accuracy)}).")
        self.warning_label.setText("\n".join(f"⚠ {text}" for text in result["warnings"]))
        failed = sum(t.status == ERROR for t in self.trials)
        failures = f" ({failed} failed: hover over an ✕ for why)" if failed else ""
        where = f" on {self._where_text}" if self._where_text else ""
        self.status_label.setText(f"{len(self.trials)} trials done{where}{failures}. Click a point to use its α "
                                  "and λ.")
        self.computed.emit("sweep")

    def _draw_trials(self) -> None:
        if not self.trials:
            self.scatter.clear()
            return
        accuracy = np.array([t.val_accuracy for t in self.trials])
        colours = self.colour_map.map(accuracy, mode="qcolor")
        spots = []
        for t, colour in zip(self.trials, colours):
            symbol, outline = round_look(t.round)
            spots.append({"pos": (math.log10(t.lr), math.log10(t.reg)), "brush": pg.mkBrush(colour), "data": t,
                          "symbol": "x" if t.status in ("diverged", ERROR) else symbol,
                          "pen": pg.mkPen(outline, width=1.5)})
        self.scatter.setData(spots)
        (lr_lo, lr_hi), (reg_lo, reg_hi) = self._ranges
        self.map_plot.setRange(xRange=(math.log10(lr_lo), math.log10(lr_hi)),
                               yRange=(math.log10(reg_lo), math.log10(reg_hi)), padding=0.08)

    def _draw_rounds(self) -> None:
        """The legend (one entry per round, when there are several) and each later round's ranges as a box."""
        rounds = sorted(self._round_ranges.items())
        self.legend.clear()
        for number, _ in rounds:
            symbol, outline = round_look(number)
            count = sum(t.round == number for t in self.trials)
            sample = pg.ScatterPlotItem(symbol=symbol, pen=pg.mkPen(outline, width=1.5), brush=(200, 200, 200))
            self.legend.addItem(sample, f"round {number} ({count})")
        self.legend.setColumnCount(max(1, min(len(rounds), LEGEND_COLUMNS)))
        self.legend.setVisible(len(rounds) > 1)
        boxes = [(number, ranges) for number, ranges in rounds if number > 1]
        while len(self.round_boxes) < len(boxes):
            box = pg.PlotDataItem([], [])
            self.map_plot.addItem(box)
            self.round_boxes.append(box)
        for k, box in enumerate(self.round_boxes):
            if k >= len(boxes):
                box.setData([], [])
                continue
            number, ((lr_lo, lr_hi), (reg_lo, reg_hi)) = boxes[k]
            # in α and λ themselves: the map's log mode maps a curve's data (not the scatter's) to log10
            box.setData([lr_lo, lr_hi, lr_hi, lr_lo, lr_lo], [reg_lo, reg_lo, reg_hi, reg_hi, reg_lo])
            box.setPen(pg.mkPen(round_look(number)[1], width=1.5, style=Qt.PenStyle.DashLine))

    @staticmethod
    def _tip(x, y, data):
        text = (f"α = {format_number(data.lr)}, λ = {format_number(data.reg)} (round {data.round})\n"
                f"validation {percent(data.val_accuracy)}, training {percent(data.train_accuracy)} ({data.status})")
        return text + (f"\n{data.message}" if data.message else "")

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
