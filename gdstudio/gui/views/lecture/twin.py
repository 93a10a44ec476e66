"""Twin training: two settings trained in lock-step from the same W₀ on the same mini-batch stream."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QComboBox, QGridLayout, QLabel, QPushButton, QSpinBox, QStackedWidget, QVBoxLayout,
                               QWidget)

from gdstudio.config import LOSS_TITLES
from gdstudio.engine.lecture import run_twins, twin_sessions
from gdstudio.gui.flow import FlowLayout, flow_row, group
from gdstudio.gui.views.lecture.base import LectureView
from gdstudio.gui.views.lecture.jobs import IN_PROCESS, TWIN_COLOURS, legend_symbols, percent, template_pixmap
from gdstudio.gui.widgets import FittedPixmapLabel, ReflowingSplitter, SciSpinBox, format_number

DEFAULT_TWIN_STEPS = 400
SIDE_BY_SIDE_WIDTH = 640
"""Narrower than this, the two plots stand one above the other."""
STEPS_PER_TURN = 10
WEIGHTS_EVERY_S = 0.3
"""The twins' weights (for the templates) are sent at most this often."""
DIFFERENCES = (("loss", "Loss: SVM vs softmax"), ("lr", "Step size α"), ("batch_size", "Batch size"))


def order_digest(order: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(order).tobytes(), digest_size=16).hexdigest()


def twin_work(job, config, dataset, other: dict, steps_per_turn: int = STEPS_PER_TURN) -> dict:
    """Train the twins in lock-step; report their new curve rows each turn, and their weights now and then.

    Returns ``{"w0": (W₀ first, W₀ second), "turns": [(digest, digest, position, position), ...], "final":
    (record, record), "weights": ((W, b), (W, b))}``: ``turns`` shows, turn by turn, which shuffled order and
    position in it each twin was at (the same stream when the two match).
    """
    first, second = twin_sessions(config, dataset, **other)
    twins = (first, second)
    w0 = (first.W.astype(np.float64), second.W.astype(np.float64))
    job.report(("weights", first.weights(), second.weights()))
    turns = [(order_digest(first.order), order_digest(second.order), first.position, second.position)]
    finals = [None, None]
    sent_steps = [0, 0]  # the last step of each twin's history already reported (robust to the history halving)
    sent_evals = [0, 0]
    weights_sent = time.perf_counter()
    for pair in run_twins(first, second, steps_per_turn):
        job.check()
        for k, record in enumerate(pair):
            if record is not None and record.status != "running":
                finals[k] = record
            history = twins[k].history
            steps, evals = history.steps.column("step"), history.evals.column("step")
            new, new_evals = steps > sent_steps[k], evals > sent_evals[k]
            if new.any() or new_evals.any():
                job.report(("curves", k, steps[new].copy(), history.steps.column("epoch")[new].copy(),
                            history.steps.column("loss")[new].copy(), evals[new_evals].copy(),
                            history.evals.column("epoch")[new_evals].copy(),
                            history.evals.column("val_accuracy")[new_evals].copy()))
                sent_steps[k] = int(steps[-1]) if len(steps) else 0
                sent_evals[k] = int(evals[-1]) if len(evals) else 0
        turns.append((order_digest(first.order), order_digest(second.order), first.position, second.position))
        if time.perf_counter() - weights_sent >= WEIGHTS_EVERY_S:
            weights_sent = time.perf_counter()
            job.report(("weights", first.weights(), second.weights()))
    weights = (first.weights(), second.weights())
    job.report(("weights", *weights))
    return {"w0": w0, "turns": turns, "final": tuple(finals), "weights": weights}


class _Trace:
    """One twin's curves as the view collects them."""

    def __init__(self) -> None:
        self.x: list = []
        self.loss: list = []
        self.acc_x: list = []
        self.acc: list = []

    def add(self, item, axis: str) -> None:
        _, _, step, epoch, loss, eval_step, eval_epoch, val_accuracy = item
        self.x.append(epoch if axis == "epoch" else step)
        self.loss.append(loss)
        self.acc_x.append(eval_epoch if axis == "epoch" else eval_step)
        self.acc.append(100.0 * val_accuracy)

    def loss_data(self):
        return _joined(self.x), _joined(self.loss)

    def accuracy_data(self):
        return _joined(self.acc_x), _joined(self.acc)


def _joined(parts: list) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0)


class TwinView(LectureView):
    """SVM vs softmax, two α or two batch sizes, from one W₀ on one batch stream: curves and templates."""

    object_name = "twinView"
    title = "Twin training"

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.result: dict | None = None
        self.labels = ("", "")
        self._traces = (_Trace(), _Trace())
        self._axis = "step"
        self._weights = None

        self.difference_combo = QComboBox()
        self.difference_combo.setObjectName("twinDifferenceCombo")
        for key, title in DIFFERENCES:
            self.difference_combo.addItem(title, key)
        self.values_stack = QStackedWidget()
        self.loss_note = QLabel("first: Multiclass SVM, second: Softmax (same α, λ and batch size)")
        self.loss_note.setWordWrap(True)
        self.lr_first, self.lr_second = SciSpinBox(), SciSpinBox()
        self.batch_first, self.batch_second = QSpinBox(), QSpinBox()
        for spin in (self.lr_first, self.lr_second):
            spin.setRange(1e-12, 1e6)
        for spin in (self.batch_first, self.batch_second):
            spin.setRange(1, 100_000)
        self.lr_first.setObjectName("twinLrFirst")
        self.lr_second.setObjectName("twinLrSecond")
        self.batch_first.setObjectName("twinBatchFirst")
        self.batch_second.setObjectName("twinBatchSecond")
        self.lr_first.setValue(1.0)
        self.lr_second.setValue(0.1)
        self.batch_first.setValue(8)
        self.batch_second.setValue(256)
        self.values_stack.addWidget(self.loss_note)
        self.values_stack.addWidget(_pair("first α", self.lr_first, "second α", self.lr_second))
        self.values_stack.addWidget(_pair("first batch", self.batch_first, "second batch", self.batch_second))
        self.difference_combo.currentIndexChanged.connect(self.values_stack.setCurrentIndex)
        self.steps_spin = QSpinBox()
        self.steps_spin.setObjectName("twinStepsSpin")
        self.steps_spin.setRange(1, 10_000_000)
        self.steps_spin.setSingleStep(100)
        self.steps_spin.setValue(DEFAULT_TWIN_STEPS)
        self.steps_spin.setGroupSeparatorShown(True)
        self.steps_spin.setToolTip("Steps of each twin; with two batch sizes, both see the same number of examples "
                                   "and the smaller batch makes this many steps")
        self.start_button = QPushButton("Train twins")
        self.start_button.setObjectName("twinStartButton")
        self.start_button.clicked.connect(self._on_start_clicked)

        self.loss_plot = pg.PlotWidget()
        self.loss_plot.setObjectName("twinLossPlot")
        self.loss_plot.setLabel("left", "training loss")
        self.accuracy_plot = pg.PlotWidget()
        self.accuracy_plot.setObjectName("twinAccuracyPlot")
        self.accuracy_plot.setLabel("left", "validation accuracy (%)")
        self.accuracy_plot.setYRange(0, 100)
        self.loss_items, self.accuracy_items = [], []
        for plot, items, symbol in ((self.loss_plot, self.loss_items, None),
                                    (self.accuracy_plot, self.accuracy_items, "o")):
            plot.showGrid(x=True, y=True, alpha=0.2)
            legend = plot.addLegend(offset=(-10, 10) if symbol is None else (-10, -10))
            legend.setBrush(pg.mkBrush(255, 255, 255, 200))
            for colour in TWIN_COLOURS:
                items.append(plot.plot([], [], pen=pg.mkPen(colour, width=2 if symbol else 1), symbol=symbol,
                                       symbolSize=5, symbolBrush=colour, symbolPen=None, name=" "))
                if symbol is not None:
                    legend_symbols(items[-1])
        self.accuracy_plot.setXLink(self.loss_plot)

        self.template_titles = (QLabel(""), QLabel(""))
        self.template_images = (FittedPixmapLabel(), FittedPixmapLabel())  # narrower than a narrow dock
        templates = QGridLayout()
        for k in range(2):
            r, g, b = TWIN_COLOURS[k]
            self.template_titles[k].setStyleSheet(f"color: rgb({r},{g},{b}); font-weight: bold")
            self.template_images[k].setObjectName(("twinTemplatesFirst", "twinTemplatesSecond")[k])
            self.template_images[k].setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            templates.addWidget(self.template_titles[k], k, 0)
            templates.addWidget(self.template_images[k], k, 1)
        templates.setColumnStretch(1, 1)
        self.templates_box = QWidget()
        self.templates_box.setLayout(templates)

        # Rows that wrap in a narrow dock ("Train twins" went off its right edge).
        form = QVBoxLayout()
        form.addLayout(flow_row(group("What differs", self.difference_combo)))
        form.addWidget(self.values_stack)
        form.addLayout(flow_row(group("Steps", self.steps_spin), self.start_button))
        plots = ReflowingSplitter(SIDE_BY_SIDE_WIDTH)  # one above the other in a narrow dock
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.accuracy_plot)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(plots, 1)
        layout.addWidget(self.templates_box)

    # the form -------------------------------------------------------------------------------------------------------
    def set_difference(self, key: str) -> None:
        self.difference_combo.setCurrentIndex(self.difference_combo.findData(key))

    def plan(self) -> tuple[dict, dict, tuple[str, str]]:
        """What the first twin changes in the session's config, what the second changes, and their labels."""
        key = self.difference_combo.currentData()
        if key == "loss":
            return {"loss": "svm"}, {"loss": "softmax"}, (LOSS_TITLES["svm"], LOSS_TITLES["softmax"])
        if key == "lr":
            a, b = self.lr_first.value(), self.lr_second.value()
            return {"lr": a}, {"lr": b}, (f"α = {format_number(a)}", f"α = {format_number(b)}")
        a, b = self.batch_first.value(), self.batch_second.value()
        return {"batch_size": a}, {"batch_size": b}, (f"batch {a}", f"batch {b}")

    def on_loaded(self, info) -> None:
        fresh = self.info is None or info.dataset != self.info.dataset
        super().on_loaded(info)
        if fresh:
            self.lr_first.setValue(info.lr)
            self.lr_second.setValue(info.lr / 10)
        self.start_button.setEnabled(self.dataset is not None)
        self.templates_box.setVisible(info.image_shape is not None)
        if self.dataset is not None and not self.job_running("twins"):
            self.status_label.setText("Two runs from the same W₀ on the same mini-batch stream; only the chosen "
                                      "setting differs.")

    def refresh(self) -> None:
        """Nothing to redraw from training: the twins are sessions of their own."""

    # training -------------------------------------------------------------------------------------------------------
    def start_twins(self) -> None:
        if self.info is None or self.dataset is None or self.job_running("twins"):
            return
        first, second, self.labels = self.plan()
        steps = int(self.steps_spin.value())
        length = {"steps": steps, "epochs": None}
        if "batch_size" in first:  # the same number of examples each: the smaller batch makes ``steps`` steps
            # In steps, not epochs: a length in epochs took a step more for each epoch's short last batch, and the
            # twins asked for 400 steps made 402 (issue 17 item 9).
            smaller = min(first["batch_size"], second["batch_size"])
            length["steps"] = twin_steps(steps, first["batch_size"], smaller)
            second = {**second, "steps": twin_steps(steps, second["batch_size"], smaller)}
        config = self.run_config(budget=None, strategy="sgd", **IN_PROCESS, **length).replace(**first)
        dataset = self.dataset
        self._axis = "epoch" if "batch_size" in first else "step"  # different batch sizes compare per example
        self._traces = (_Trace(), _Trace())
        self.result = None
        for k in range(2):
            self.loss_items[k].setData([], [])
            self.accuracy_items[k].setData([], [])
            self.loss_plot.getPlotItem().legend.items[k][1].setText(self.labels[k])
            self.accuracy_plot.getPlotItem().legend.items[k][1].setText(self.labels[k])
            self.template_titles[k].setText(self.labels[k])
            self.template_images[k].clear()
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setLabel("bottom", "epoch" if self._axis == "epoch" else "step")
        self.status_label.setText(f"Training twins: {self.labels[0]} and {self.labels[1]} …")

        def work(job):
            return twin_work(job, config, dataset, second)

        self.start_job("twins", work, self._on_twin_progressed, self._on_twins_done)
        self.jobs_changed()

    @Slot()
    def _on_start_clicked(self) -> None:
        if self.job_running("twins"):
            self.cancel_job("twins")
        else:
            self.start_twins()

    @Slot(object)
    def _on_twin_progressed(self, items) -> None:
        weights = None
        for item in items:
            if item[0] == "curves":
                self._traces[item[1]].add(item, self._axis)
            else:
                weights = item[1:]
        for k, trace in enumerate(self._traces):
            self.loss_items[k].setData(*trace.loss_data())
            self.accuracy_items[k].setData(*trace.accuracy_data())
        if weights is not None:
            self._draw_templates(weights)

    def _draw_templates(self, weights) -> None:
        self._weights = weights
        if self.info is None or self.info.image_shape is None:
            return
        for k, (W, _) in enumerate(weights):
            self.template_images[k].setPixmap(template_pixmap(W, self.info.image_shape))

    @Slot(object)
    def _on_twins_done(self, result) -> None:
        self.result = result
        self._draw_templates(result["weights"])
        texts = []
        for label, record in zip(self.labels, result["final"]):
            if record is not None and record.final:
                texts.append(f"{label}: validation {percent(record.final.get('val_accuracy'))}, "
                             f"loss {record.loss:.4g}")
        same = all(a == b and p == q for a, b, p, q in result["turns"])
        stream = ("the same mini-batches at every turn" if same else
                  "the same example stream, cut into batches of different sizes")
        self.status_label.setText("; ".join(texts) + f". Both started from the same W₀ and saw {stream}.")
        self.computed.emit("twins")

    def jobs_changed(self) -> None:
        self.start_button.setText("Stop" if self.job_running("twins") else "Train twins")


def twin_steps(steps: int, batch_size: int, smaller: int) -> int:
    """The steps of a twin with ``batch_size`` when the one with the ``smaller`` batch makes ``steps``: as many as
    see the same number of examples (at least one)."""
    return max(1, round(steps * smaller / batch_size))


def _pair(first_label: str, first: QWidget, second_label: str, second: QWidget) -> QWidget:
    """Two labelled boxes on a row, or on two rows in a narrow dock."""
    box = QWidget()
    layout = FlowLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(group(first_label, first))
    layout.addWidget(group(second_label, second))
    return box
