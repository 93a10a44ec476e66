"""Gradient noise, live: the mini-batch gradient as a noisy but unbiased estimate of the full gradient.

At the current W the view's job draws K mini-batches of each size B = 1, 2, 4, …, 256 (and of the batch size in
force), with replacement, and compares their gradients with the full-split gradient g
(:func:`gdstudio.engine.gradnoise.gradient_noise`). It draws

- the cloud of the current batch size's K gradients on the plane of ĝ and a fixed random direction orthogonal to
  it, with g and the cloud's mean marked: the mean lands on g (unbiased), the cloud is the noise;
- the spread ``RMS ‖g_B − g‖ / ‖g‖`` against B on log-log axes with a ``1/√B`` line, and the mean cosine between
  g_B and g against B, the current batch size marked on both.

A refresh is a job of K·(1 + 2 + … + 256) images' gradients plus one pass over the training split, in a thread of
its own: about 0.3 s on the digits, seconds on CIFAR-10. The view refreshes no more often than keeps its job busy
a quarter of the time (``COST_SHARE``).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QVBoxLayout, QWidget

from gdstudio.data.dataset import Preprocess
from gdstudio.engine.gradnoise import DEFAULT_DRAWS, VIEW_BATCH_SIZES, GradientNoise, gradient_noise
from gdstudio.gui.views.lecture.base import LectureView
from gdstudio.gui.widgets import ReflowingSplitter

MAX_REFRESH_HZ = 1.0
COST_SHARE = 0.25
"""The view's job may keep a core busy at most this share of the time: after a job of s seconds the next
refresh waits at least ``s / COST_SHARE``."""
SIDE_BY_SIDE_WIDTH = 640
"""Narrower than this, the cloud stands above the curves."""
CLOUD_COLOUR = (31, 119, 180, 90)
FULL_COLOUR = (214, 39, 40)
MEAN_COLOUR = (20, 20, 20)
SPREAD_COLOUR = (31, 119, 180)
LAW_COLOUR = (127, 127, 127)
COSINE_COLOUR = (44, 160, 44)
CURRENT_COLOUR = (255, 127, 14)


def log_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Ticks 1, 2, 5 × 10^k from ``low`` to ``high`` for a log axis (at log10 positions): a few plain numbers
    rather than pyqtgraph's crowded minor labels in a short plot."""
    ticks = []
    for power in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0 ** power
            if low / 1.3 <= value <= high * 1.3:
                ticks.append((math.log10(value), f"{value:g}"))
    return ticks


class GradientNoiseView(LectureView):
    """The cloud of K mini-batch gradients around the full gradient, and the noise against the batch size.

    Attributes
    ----------
    result : GradientNoise or None
        The last one drawn.
    seconds : float or None
        What its job took.
    """

    object_name = "gradientNoiseView"
    title = "Gradient noise"
    refresh_hz = MAX_REFRESH_HZ  # lowered after each job to what its cost allows

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.result: GradientNoise | None = None
        self.seconds: float | None = None
        self.batch_size: int | None = None
        self._draw_seed = 0
        self._generation = 0  # which session a job's result belongs to

        self.draws_spin = QSpinBox()
        self.draws_spin.setObjectName("gradientNoiseDrawsSpin")
        self.draws_spin.setRange(10, 5000)
        self.draws_spin.setSingleStep(50)
        self.draws_spin.setValue(DEFAULT_DRAWS)
        self.draws_spin.setPrefix("K = ")
        self.draws_spin.setSuffix(" mini-batches per B")
        self.draws_spin.setToolTip("Mini-batches drawn (with replacement) for each batch size: more draws, steadier "
                                   "estimates, a slower refresh")
        self.draws_spin.valueChanged.connect(self._on_draws_changed)

        self.cloud_plot = pg.PlotWidget()
        self.cloud_plot.setObjectName("gradientNoiseCloudPlot")
        self.cloud_plot.setLabel("bottom", "along ĝ (the full gradient)")
        self.cloud_plot.setLabel("left", "random ⊥ ĝ")
        self.cloud_plot.showGrid(x=True, y=True, alpha=0.2)
        self.cloud_plot.setAspectLocked(True)  # lengths along both axes compare truly
        for name in ("bottom", "left"):
            self.cloud_plot.getAxis(name).enableAutoSIPrefix(False)
        # no legend (in a narrow dock it would cover the cloud): the title names the marks
        self.cloud = self.cloud_plot.plot([], [], pen=None, symbol="o", symbolSize=5, symbolPen=None,
                                          symbolBrush=CLOUD_COLOUR, name="mini-batch gradients g_B")
        self.origin = self.cloud_plot.plot([0.0], [0.0], pen=None, symbol="+", symbolSize=10,
                                           symbolPen=pg.mkPen((120, 120, 120), width=1))  # where g_B = 0
        self.full_marker = self.cloud_plot.plot([], [], pen=None, symbol="star", symbolSize=15,
                                                symbolBrush=FULL_COLOUR, symbolPen=pg.mkPen("w", width=1),
                                                name="full gradient g")
        # a ring around the star when the mean lands on g, as it should
        self.mean_marker = self.cloud_plot.plot([], [], pen=None, symbol="o", symbolSize=22, symbolBrush=None,
                                                symbolPen=pg.mkPen(MEAN_COLOUR, width=2), name="mean of the g_B")

        self.spread_plot = pg.PlotWidget()
        self.spread_plot.setObjectName("gradientNoiseSpreadPlot")
        self.spread_plot.setLogMode(x=True, y=True)
        self.spread_plot.setLabel("bottom", "batch size B")
        self.spread_plot.setLabel("left", "spread")
        # no legend (in a short plot it would cover the curve): the title names the curves
        self.spread_plot.setTitle("spread = RMS ‖g_B − g‖ / ‖g‖; dashed: ∝ 1/√B", size="9pt")
        self.spread_plot.showGrid(x=True, y=True, alpha=0.2)
        for name in ("bottom", "left"):
            self.spread_plot.getAxis(name).enableAutoSIPrefix(False)
        self.spread_curve = self.spread_plot.plot([], [], pen=pg.mkPen(SPREAD_COLOUR, width=2), symbol="o",
                                                  symbolSize=7, symbolBrush=SPREAD_COLOUR, symbolPen=None,
                                                  name="spread")
        self.law_curve = self.spread_plot.plot([], [], pen=pg.mkPen(LAW_COLOUR, width=1, style=Qt.PenStyle.DashLine),
                                               name="∝ 1/√B")
        self.current_spread = self.spread_plot.plot([], [], pen=None, symbol="o", symbolSize=12, symbolBrush=None,
                                                    symbolPen=pg.mkPen(CURRENT_COLOUR, width=2))

        self.cosine_plot = pg.PlotWidget()
        self.cosine_plot.setObjectName("gradientNoiseCosinePlot")
        self.cosine_plot.setLogMode(x=True, y=False)
        self.cosine_plot.setLabel("bottom", "batch size B")
        self.cosine_plot.setLabel("left", "mean cos")
        self.cosine_plot.showGrid(x=True, y=True, alpha=0.2)
        self.cosine_plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.cosine_plot.setYRange(0.0, 1.0, padding=0.05)
        self.cosine_plot.getPlotItem().setMouseEnabled(y=False)
        self.cosine_plot.setXLink(self.spread_plot)
        self.cosine_curve = self.cosine_plot.plot([], [], pen=pg.mkPen(COSINE_COLOUR, width=2), symbol="o",
                                                  symbolSize=7, symbolBrush=COSINE_COLOUR, symbolPen=None)
        ticks = [[(math.log10(B), str(B)) for B in VIEW_BATCH_SIZES], []]  # the batch sizes drawn, no minor ones
        for plot in (self.spread_plot, self.cosine_plot):
            plot.getAxis("bottom").setTicks(ticks)
        self.current_lines = []
        for plot, label in ((self.spread_plot, "current B"), (self.cosine_plot, None)):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURRENT_COLOUR, width=2), label=label,
                                   labelOpts={"position": 0.12, "color": CURRENT_COLOUR})
            plot.addItem(line)
            line.hide()
            self.current_lines.append(line)

        self.summary_label = QLabel("")
        self.summary_label.setObjectName("gradientNoiseSummary")
        self.summary_label.setWordWrap(True)

        curves = QWidget()
        column = QVBoxLayout(curves)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.spread_plot, 3)
        column.addWidget(self.cosine_plot, 2)
        plots = ReflowingSplitter(SIDE_BY_SIDE_WIDTH)  # one above the other in a narrow dock
        plots.addWidget(self.cloud_plot)
        plots.addWidget(curves)
        plots.setSizes([500, 500])
        # The plots share what the dock has: their own size hints (tall, from their scenes) would make the view
        # taller than a 1280×720 dock, and only the cloud would be seen without scrolling.
        for plot, least in ((self.cloud_plot, 150), (self.spread_plot, 160), (self.cosine_plot, 130)):
            plot.setMinimumHeight(least)
            plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        form = QHBoxLayout()
        form.addWidget(self.draws_spin)
        form.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(plots, 1)
        layout.addWidget(self.summary_label)

    # fed by the window ----------------------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self._generation += 1  # a job still running belongs to the old session: its result is dropped
        self.cancel_job("noise")
        self.result = None
        self.seconds = None
        self.refresh_hz = MAX_REFRESH_HZ
        self.batch_size = info.batch_size
        for item in (self.cloud, self.full_marker, self.mean_marker, self.spread_curve, self.law_curve,
                     self.current_spread, self.cosine_curve):
            item.setData([], [])
        for line in self.current_lines:
            line.hide()
        self.summary_label.setText("")
        if self.dataset is not None:
            self.status_label.setText(f"K mini-batches of each size B (drawn with replacement) against the "
                                      f"gradient g on all {info.sizes[0]:,} training images.")

    def on_progress(self, batch) -> None:
        super().on_progress(batch)
        if batch and batch[-1].batch_size != self.batch_size:
            self.batch_size = batch[-1].batch_size
            self._dirty = True  # the cloud and the mark belong to the batch size in force

    # computing ------------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.info is None or self.dataset is None or self.weights is None:
            return
        if self.job_running("noise"):
            self._dirty = True  # the weights moved on while computing: draw again when this one is done
            return
        W, b = self.weights
        settings = self.settings()
        loss, reg, batch_size = settings["loss"], settings["reg"], int(settings["batch_size"])
        X, y = self.dataset.X_train, self.dataset.y_train
        preprocess = Preprocess(np.asarray(self.info.mean, np.float32), float(self.info.scale))
        draws = int(self.draws_spin.value())
        seed = self._draw_seed  # fresh draws each time, the same for the same refresh count
        self._draw_seed += 1
        generation = self._generation

        def work(job):
            started = time.perf_counter()
            result = gradient_noise(W, b, X, y, loss, reg, batch_sizes=VIEW_BATCH_SIZES, draws=draws, seed=seed,
                                    preprocess=preprocess, cloud_batch_size=batch_size, check=job.check)
            return generation, result, time.perf_counter() - started, loss

        self.start_job("noise", work, succeeded=self._on_computed, stopped=self._on_cancelled)

    @Slot()
    def _on_cancelled(self) -> None:
        """A job stops only when a new session replaced its own: the status already speaks of the new one."""

    @Slot(int)
    def _on_draws_changed(self, _value: int) -> None:
        self._dirty = True

    @Slot(object)
    def _on_computed(self, outcome) -> None:
        generation, result, seconds, loss = outcome
        if generation != self._generation:
            return
        self.result = result
        self.seconds = seconds
        self.refresh_hz = min(MAX_REFRESH_HZ, COST_SHARE / max(seconds, 1e-3))
        self._draw_cloud(result)
        self._draw_curves(result)
        self._say(result, seconds, loss)
        self.computed.emit("noise")

    def _draw_cloud(self, result: GradientNoise) -> None:
        cloud = result.cloud
        self.cloud.setData(cloud[:, 0], cloud[:, 1])
        self.full_marker.setData([result.full_point[0]], [result.full_point[1]])
        self.mean_marker.setData([result.cloud_mean[0]], [result.cloud_mean[1]])
        self.full_marker.setZValue(11)
        self.mean_marker.setZValue(10)
        self.cloud_plot.setTitle(f"{len(cloud)} g_B at B = {result.cloud_batch_size} · <span style='color:#d62728'>"
                                 "★ g</span> · ○ their mean", size="9pt")

    def _draw_curves(self, result: GradientNoise) -> None:
        rows = sorted((row for row in result.batches if row.batch_size in VIEW_BATCH_SIZES),
                      key=lambda row: row.batch_size)
        sizes = np.array([row.batch_size for row in rows], float)
        spreads = np.array([row.spread for row in rows])
        self.spread_curve.setData(sizes, spreads)
        # the 1/√B law through the points (least squares in log space: spread·√B is what should stay put)
        level = float(np.exp(np.mean(np.log(spreads * np.sqrt(sizes)))))
        self.law_curve.setData(sizes, level / np.sqrt(sizes))
        self.spread_plot.getAxis("left").setTicks([log_ticks(spreads.min(), spreads.max()), []])
        cosines = [row.mean_cosine for row in rows]
        self.cosine_curve.setData(sizes, cosines)
        self.cosine_plot.setYRange(min(0.0, min(cosines)), 1.0, padding=0.05)  # one SVM image may point uphill
        current = result.at(result.cloud_batch_size)
        self.current_spread.setData([current.batch_size], [current.spread])
        for line in self.current_lines:
            line.show()  # first: a hidden line's label ignores a new text
            line.setPos(math.log10(current.batch_size))
        self.current_lines[0].label.setFormat(f"current B = {current.batch_size}")

    def _say(self, result: GradientNoise, seconds: float, loss: str) -> None:
        current = result.at(result.cloud_batch_size)
        rows = {row.batch_size: row for row in result.batches}
        first, last = rows[VIEW_BATCH_SIZES[0]], rows[VIEW_BATCH_SIZES[-1]]
        self.summary_label.setText(
            f"‖g‖ = {result.full_gradient_norm:.3g} ({loss}). At the current B = {current.batch_size}: spread "
            f"{current.spread:.3g}, mean cosine {current.mean_cosine:.2f}; the mean of the {current.draws} draws "
            f"misses g by {current.bias:.2g}·‖g‖ ≈ spread / √K: unbiased, only noise. B = {first.batch_size} → "
            f"{last.batch_size}: spread ÷ {first.spread / last.spread:.1f} (√{last.batch_size} = "
            f"{math.sqrt(last.batch_size):g}). Job {seconds:.2f} s, redrawn at most every "
            f"{1.0 / self.refresh_hz:.1f} s.")
