"""The step-size probe: the loss after one gradient step of size α from the current W, for α over decades."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gdstudio.config import EVAL_SUBSET
from gdstudio.engine.lecture import default_probe_lrs, step_size_probe
from gdstudio.gui.views.lecture.base import LectureView
from gdstudio.gui.views.lecture.jobs import view_batch
from gdstudio.gui.widgets import format_number

PROBE_LOW = 1e-3
PROBE_HIGH = 1e6
"""The probe spans α from ``PROBE_LOW / m`` to ``PROBE_HIGH / m``, m the mean squared norm of the images: the
largest stable step is about ``1 / m`` (the loss's curvature grows with ``‖x‖²``). On CIFAR-10 with raw pixels
(m ≈ 1.2e7) that is the lecture's 1e-10 … 1e-1; unit-scaled pixels (÷255) shift it up by 255²."""
PROBE_PER_DECADE = 3
CURRENT_COLOUR = (214, 39, 40)


def probe_range(x: np.ndarray, lr: float | None = None) -> tuple[float, float]:
    """Whole decades of α to probe for the preprocessed images ``x`` (N, D), widened to hold ``lr``."""
    m = max(float(np.mean(np.sum(np.square(x), axis=1))), 1e-300)
    lo, hi = 10.0 ** round(math.log10(PROBE_LOW / m)), 10.0 ** round(math.log10(PROBE_HIGH / m))
    if lr is not None and lr > 0 and math.isfinite(lr):
        lo = min(lo, 10.0 ** (math.floor(math.log10(lr)) - 1))
        hi = max(hi, 10.0 ** (math.ceil(math.log10(lr)) + 1))
    return lo, hi


class StepProbeView(LectureView):
    """Log-log: loss after one step of size α against α; the current α is marked; a click uses that α."""

    object_name = "stepProbeView"
    title = "Step-size probe"
    refresh_hz = 1.0  # each refresh is a job of one trial step per probed α: once a second while training

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.result: dict | None = None
        self.batch: tuple[np.ndarray, np.ndarray] | None = None
        self.current_lr: float | None = None

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("stepProbePlot")
        self.plot.setLogMode(x=True, y=True)
        self.plot.setLabel("bottom", "step size α")
        self.plot.setLabel("left", "loss after one step")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        for name in ("bottom", "left"):
            self.plot.getAxis(name).enableAutoSIPrefix(False)
        legend = self.plot.addLegend(offset=(10, 10))  # top left: large steps climb on the right
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.curve = self.plot.plot([], [], pen=pg.mkPen((31, 119, 180), width=2), symbol="o", symbolSize=8,
                                    symbolBrush=(31, 119, 180), symbolPen=None, connect="finite",
                                    name="L(W − α∇L)")
        self.now_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen((90, 90, 90), width=1,
                                                                             style=Qt.PenStyle.DashLine),
                                        label="L(W) now", labelOpts={"position": 0.08, "color": (60, 60, 60)})
        self.lr_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURRENT_COLOUR, width=2),
                                       label="current α", labelOpts={"position": 0.92, "color": CURRENT_COLOUR})
        self.plot.addItem(self.now_line)
        self.plot.addItem(self.lr_line)
        self.now_line.hide()
        self.lr_line.hide()
        self.plot.scene().sigMouseClicked.connect(self._on_plot_clicked)

        self.summary_label = QLabel("")
        self.summary_label.setObjectName("stepProbeSummary")
        self.summary_label.setWordWrap(True)
        self.hint_label = QLabel("Click the curve to use that α for training.")
        self.hint_label.setStyleSheet("color: #666")
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.hint_label)

    # fed by the window ----------------------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self.batch = None
        self.result = None
        self.current_lr = info.lr
        if self.dataset is not None:
            self.status_label.setText("One gradient step from the current W, on a fixed batch of "
                                      f"{min(EVAL_SUBSET, info.sizes[0]):,} training images.")

    def on_progress(self, batch) -> None:
        super().on_progress(batch)
        if batch and batch[-1].lr != self.current_lr:
            self.current_lr = batch[-1].lr
            self._mark_current()

    # computing ------------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.info is None or self.dataset is None or self.weights is None:
            return
        if self.job_running("probe"):
            self._dirty = True  # the weights moved on while computing: probe again when this one is drawn
            return
        if self.batch is None:
            self.batch = view_batch(self.dataset, self.info, EVAL_SUBSET)
        W, b = self.weights
        x, y = self.batch
        settings = self.settings()
        lo, hi = probe_range(x, settings["lr"])
        lrs = default_probe_lrs(lo, hi, PROBE_PER_DECADE)
        loss, reg = settings["loss"], settings["reg"]

        def work(job):
            return step_size_probe(W, b, x, y, loss, reg, lrs)

        self.start_job("probe", work, succeeded=self._on_probed)

    @Slot(object)
    def _on_probed(self, result) -> None:
        self.result = result
        lrs = np.asarray(result["lrs"])
        losses = np.asarray(result["losses"], float)
        shown = np.where(np.isfinite(losses) & (losses > 0), losses, np.nan)
        self.curve.setData(lrs, shown)
        if np.isfinite(result["loss"]) and result["loss"] > 0:
            self.now_line.setPos(math.log10(result["loss"]))
            self.now_line.show()
        self._mark_current()
        best = int(np.nanargmin(np.where(np.isfinite(losses), losses, np.nan))) if np.isfinite(losses).any() else None
        text = f"L(W) = {result['loss']:.4g}."
        if best is not None:
            text += f" Lowest after one step: {losses[best]:.4g} at α = {format_number(lrs[best])}."
        blown = lrs[np.isfinite(losses) & (losses > 10 * result["loss"])]
        overflow = lrs[~np.isfinite(losses)]
        if len(blown):
            text += f" From α = {format_number(blown[0])} one step multiplies the loss by more than 10."
        if len(overflow):
            text += f" From α = {format_number(overflow[0])} it overflows."
        self.summary_label.setText(text)
        self.computed.emit("probe")

    def _mark_current(self) -> None:
        if self.current_lr is not None and self.current_lr > 0:
            self.lr_line.show()  # first: a hidden line's label ignores a new text
            self.lr_line.setPos(math.log10(self.current_lr))
            self.lr_line.label.setFormat(f"current α = {format_number(self.current_lr)}")

    # "use this α" ------------------------------------------------------------------------------------------------
    def use_lr(self, lr: float) -> None:
        """Ask the training to use step size ``lr`` from now on."""
        self.current_lr = float(lr)
        if self.controller is not None:
            self.controller.request(lr=float(lr))
        self._mark_current()
        self.hint_label.setText(f"Training now uses α = {format_number(lr)} (click the curve to change it).")

    def nearest_lr(self, log_alpha: float) -> float | None:
        """The probed α nearest to ``10**log_alpha`` (in log space)."""
        if self.result is None:
            return None
        lrs = np.asarray(self.result["lrs"])
        return float(lrs[int(np.argmin(np.abs(np.log10(lrs) - log_alpha)))])

    @Slot(object)
    def _on_plot_clicked(self, event) -> None:
        view_box = self.plot.getPlotItem().vb
        if event.button() != Qt.MouseButton.LeftButton or not view_box.sceneBoundingRect().contains(event.scenePos()):
            return
        point = view_box.mapSceneToView(event.scenePos())  # log10 coordinates in log mode
        lr = self.nearest_lr(point.x())
        if lr is not None:
            self.use_lr(lr)
