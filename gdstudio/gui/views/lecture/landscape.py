"""The loss landscape through the current W: along a random direction and along −∇L, and on their plane."""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Slot
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QPushButton, QVBoxLayout, QWidget

from gdstudio.engine.lecture import directions, landscape_1d, landscape_2d
from gdstudio.gui.flow import flow_row
from gdstudio.gui.views.lecture.base import LectureView
from gdstudio.gui.views.lecture.jobs import fit_axis_label, view_batch
from gdstudio.gui.widgets import ReflowingSplitter
from gdstudio.kernels import reference

LANDSCAPE_BATCH = 300
"""Training images the landscape's losses are computed on (each 2-D map costs ``PLANE_POINTS²`` losses)."""
LINE_POINTS = 41
PLANE_POINTS = 25
TRAJECTORY_LENGTH = 40
"""W snapshots kept for the trajectory (the records carry one at most a few times a second)."""
SCORE_SWING = 4.0
"""The span reaches where the scores have moved by this much (rms over the batch): a few units of loss."""
CONTOUR_LEVELS = 8
RANDOM_COLOUR = (127, 127, 127)
DOWN_COLOUR = (31, 119, 180)
PATH_COLOUR = (255, 127, 14)
NOW_COLOUR = (214, 39, 40)
SIDE_BY_SIDE_WIDTH = 640
"""Narrower than this, the two plots stand one above the other (side by side they would cut their axes' titles)."""
AXIS_LABELS = {"line": ("distance from W (‖ΔW‖)", "‖ΔW‖ from W", "‖ΔW‖"),
               "random": ("random direction", "random dir.", "random"), "down": ("−∇L direction", "−∇L")}
"""The axes' labels, longest first: an axis shorter than its label gets the next wording (a narrow dock)."""


def natural_span(x: np.ndarray, *unit_directions: np.ndarray, swing: float = SCORE_SWING) -> float:
    """How far to look along unit directions ``d`` (C, D) so that the scores ``x·dᵀ`` move by ``swing`` (rms).

    Scale-free: the same picture for raw and unit-scaled pixels.
    """
    rms = max(float(np.sqrt(np.mean(np.square(x @ d.T)))) for d in unit_directions)
    return swing / max(rms, 1e-300)


def compute_landscape(W, b, x, y, loss: str, reg: float, trajectory, seed: int = 0, zoom: float = 1.0,
                      line_points: int = LINE_POINTS, plane_points: int = PLANE_POINTS) -> dict:
    """Everything the view draws, computed off the GUI thread.

    Returns ``{"loss": L(W), "span": ..., "random": landscape_1d, "down": landscape_1d, "plane": landscape_2d}``;
    the plane's first axis is the random direction, its second −∇L; the trajectory is projected on it.
    """
    random, down = directions(W, b, x, y, loss, reg, seed=seed)
    span = natural_span(x, random, down)
    if trajectory:
        offsets = np.array([np.asarray(w, np.float64) - W for w in trajectory])
        reach = max(np.abs((offsets * random).sum(axis=(1, 2))).max(), np.abs((offsets * down).sum(axis=(1, 2))).max())
        span = max(span, 1.15 * reach)  # the recent path stays on the map
    span *= zoom
    return {"loss": reference.loss_parts(W, b, x, y, loss, reg)[0], "span": span, "loss_name": loss,
            "random": landscape_1d(W, b, x, y, loss, reg, random, span, line_points),
            "down": landscape_1d(W, b, x, y, loss, reg, down, span, line_points),
            "plane": landscape_2d(W, b, x, y, loss, reg, random, down, span, plane_points,
                                  trajectory=list(trajectory) if trajectory else None)}


class LandscapeView(LectureView):
    """1-D slices of the loss through W and the 2-D map on their plane, with the recent path of W."""

    object_name = "landscapeView"
    title = "Loss landscape"
    refresh_hz = 0.5  # a job of 625 loss evaluations (about 0.1 s of CPU): every two seconds while training

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.result: dict | None = None
        self.batch: tuple[np.ndarray, np.ndarray] | None = None
        self.trajectory: deque = deque(maxlen=TRAJECTORY_LENGTH)
        self.seed = 0

        self.zoom_spin = QDoubleSpinBox()
        self.zoom_spin.setObjectName("landscapeZoomSpin")
        self.zoom_spin.setRange(0.05, 100.0)
        self.zoom_spin.setDecimals(2)
        self.zoom_spin.setValue(1.0)
        self.zoom_spin.setSingleStep(0.5)
        self.zoom_spin.setPrefix("span × ")
        self.zoom_spin.setToolTip("Look further from W (> 1) or closer (< 1)")
        self.zoom_spin.valueChanged.connect(self._on_settings_changed)
        self.direction_button = QPushButton("New random direction")
        self.direction_button.setObjectName("landscapeDirectionButton")
        self.direction_button.clicked.connect(self._on_new_direction)

        self.line_plot = pg.PlotWidget()
        self.line_plot.setObjectName("landscapeLinePlot")
        self.line_plot.setLabel("bottom", AXIS_LABELS["line"][0])
        self.line_plot.setLabel("left", "loss")
        self.line_plot.showGrid(x=True, y=True, alpha=0.2)
        legend = self.line_plot.addLegend(offset=(-10, 10))
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.random_curve = self.line_plot.plot([], [], pen=pg.mkPen(RANDOM_COLOUR, width=2),
                                                name="random direction")
        self.down_curve = self.line_plot.plot([], [], pen=pg.mkPen(DOWN_COLOUR, width=2), name="−∇L direction")
        self.centre_dot = self.line_plot.plot([], [], pen=None, symbol="o", symbolSize=9, symbolBrush=NOW_COLOUR,
                                              symbolPen=None, name="W now")
        self.line_plot.addItem(pg.InfiniteLine(pos=0, angle=90, movable=False,
                                               pen=pg.mkPen((0, 0, 0, 60), style=Qt.PenStyle.DashLine)))

        self.plane_plot = pg.PlotWidget()
        self.plane_plot.setObjectName("landscapePlanePlot")
        self.plane_plot.setLabel("bottom", AXIS_LABELS["random"][0])
        self.plane_plot.setLabel("left", AXIS_LABELS["down"][0])
        self.plane_plot.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plane_plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False,
                                          label="log₁₀ loss")
        self.colour_bar.setImageItem(self.image, insert_in=self.plane_plot.getPlotItem())
        self.contours = pg.PlotDataItem(pen=pg.mkPen((255, 255, 255, 150), width=1))  # every level, one item
        self.plane_plot.addItem(self.contours)
        self.path_curve = self.plane_plot.plot([], [], pen=pg.mkPen(PATH_COLOUR, width=2), symbol="o",
                                               symbolSize=4, symbolBrush=PATH_COLOUR, symbolPen=None)
        self.path_start = self.plane_plot.plot([], [], pen=None, symbol="o", symbolSize=9, symbolBrush=None,
                                               symbolPen=pg.mkPen(PATH_COLOUR, width=2))
        self.now_dot = self.plane_plot.plot([], [], pen=None, symbol="star", symbolSize=14, symbolBrush=NOW_COLOUR,
                                            symbolPen=pg.mkPen("w", width=1))

        self.summary_label = QLabel("")
        self.summary_label.setObjectName("landscapeSummary")
        self.summary_label.setWordWrap(True)

        form = flow_row(self.zoom_spin, self.direction_button)  # two rows in a narrow dock
        plots = ReflowingSplitter(SIDE_BY_SIDE_WIDTH)  # one above the other in a narrow dock
        plots.addWidget(self.line_plot)
        plots.addWidget(self.plane_plot)
        plots.setSizes([500, 500])
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(plots, 1)
        layout.addWidget(self.summary_label)
        for plot in (self.line_plot, self.plane_plot):
            plot.getPlotItem().vb.sigResized.connect(self._on_plot_resized)

    # fed by the window ----------------------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self.batch = None
        self.result = None
        self.trajectory.clear()
        if info.weights is not None:
            self.trajectory.append(info.weights[0])
        if self.dataset is not None:
            self.status_label.setText(f"The loss on {min(LANDSCAPE_BATCH, info.sizes[0])} training images around "
                                      "the current W; the orange path is W's recent trajectory, seen on the plane.")

    def on_progress(self, batch) -> None:
        super().on_progress(batch)
        for record in batch:
            if record.weights is not None:
                self.trajectory.append(record.weights[0])

    def on_ended(self, record) -> None:
        super().on_ended(record)
        if record.weights is not None:
            self.trajectory.append(record.weights[0])

    # computing ------------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.info is None or self.dataset is None or self.weights is None:
            return
        if self.job_running("landscape"):
            self._dirty = True
            return
        if self.batch is None:
            self.batch = view_batch(self.dataset, self.info, LANDSCAPE_BATCH)
        W, b = self.weights
        x, y = self.batch
        settings = self.settings()
        trajectory = list(self.trajectory)
        if not trajectory or not np.array_equal(trajectory[-1], W):
            trajectory.append(W)
        loss, reg, seed, zoom = settings["loss"], settings["reg"], self.seed, self.zoom_spin.value()

        def work(job):
            result = compute_landscape(W, b, x, y, loss, reg, trajectory, seed=seed, zoom=zoom)
            result["shading"] = plane_shading(result["plane"], result["span"])  # here, not in the GUI thread
            return result

        self.start_job("landscape", work, succeeded=self._on_computed)

    @Slot(object)
    def _on_plot_resized(self, view_box=None) -> None:
        fit_axis_label(self.line_plot, "bottom", AXIS_LABELS["line"])
        fit_axis_label(self.plane_plot, "bottom", AXIS_LABELS["random"])
        fit_axis_label(self.plane_plot, "left", AXIS_LABELS["down"])

    @Slot()
    def _on_settings_changed(self) -> None:
        self._dirty = True

    @Slot()
    def _on_new_direction(self) -> None:
        self.seed += 1
        self._dirty = True

    @Slot(object)
    def _on_computed(self, result) -> None:
        self.result = result
        self.random_curve.setData(result["random"]["t"], result["random"]["loss"])
        self.down_curve.setData(result["down"]["t"], result["down"]["loss"])
        self.centre_dot.setData([0.0], [result["loss"]])
        self._draw_plane(result["plane"], result["span"], result["shading"])
        down, random = result["down"], result["random"]["loss"]
        lowest = int(np.argmin(down["loss"]))
        self.summary_label.setText(
            f"L(W) = {result['loss']:.4g} ({result['loss_name']}). Along −∇L the lowest loss on this span is "
            f"{down['loss'][lowest]:.4g}, at ‖ΔW‖ = {down['t'][lowest]:.3g}; along the random direction the loss "
            f"ranges {random.min():.4g} … {random.max():.4g}.")
        self.computed.emit("landscape")

    def _draw_plane(self, plane: dict, span: float, shading: dict) -> None:
        low, high = shading["levels"]
        self.image.setImage(shading["logs"], autoLevels=False, levels=(low, high))
        cell = shading["cell"]
        self.image.setRect(QRectF(-span - cell / 2, -span - cell / 2, 2 * span + cell, 2 * span + cell))
        self.colour_bar.setLevels((low, high))
        self.contours.setData(*shading["contours"], connect="finite")
        path = plane["trajectory"]
        if path is not None and len(path):
            self.path_curve.setData(path[:, 0], path[:, 1])
            self.path_start.setData(path[:1, 0], path[:1, 1])
        else:
            self.path_curve.setData([], [])
            self.path_start.setData([], [])
        self.now_dot.setData([0.0], [0.0])
        for item in (self.path_curve, self.path_start, self.now_dot):
            item.setZValue(10)
        self.plane_plot.setRange(xRange=(-span, span), yRange=(-span, span), padding=0.02)


def plane_shading(plane: dict, span: float) -> dict:
    """What the plane's picture needs, computed off the GUI thread: log₁₀ of the loss (the bowl's floor and its
    walls differ by orders of magnitude), the colour levels, the pixel size and every contour line as one pair of
    x, y arrays with NaN between lines (drawn as one item)."""
    grid = plane["loss"]
    cell = 2 * span / (len(plane["s"]) - 1)
    finite = grid[np.isfinite(grid)]
    floor = max(float(finite[finite > 0].min()) if (finite > 0).any() else 1e-12, 1e-12)
    logs = np.log10(np.clip(np.where(np.isfinite(grid), grid, finite.max() if len(finite) else 1.0), floor, None))
    low, high = float(logs.min()), float(np.percentile(logs, 95))
    if high <= low:
        high = low + 1e-9
    pieces = []
    for level in np.linspace(low, high, CONTOUR_LEVELS + 1)[1:]:
        for line in pg.functions.isocurve(logs.T, level, connected=True):
            pieces.append(-span + cell * np.asarray(line, float))
            pieces.append(np.full((1, 2), np.nan))
    xy = np.concatenate(pieces) if pieces else np.empty((0, 2))
    return {"logs": logs, "levels": (low, high), "cell": cell, "contours": (xy[:, 0], xy[:, 1])}
