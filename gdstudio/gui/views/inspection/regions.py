"""Decision regions of 2-D data: the plane coloured by the winning class, each class's line s_c = 0, the points.

Dragging a point moves it and clicking the plane adds one, in this view's own copy of the points (the session
trains on its data, untouched); the loss and gradient of the current W on these points are shown as they change,
for the loss and λ in force or just chosen. The edited points outlive a Reset of the run (a new W on the same
data); the view's own "Reset points" goes back to the training points.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Slot
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QVBoxLayout, QWidget

from gdstudio.engine.inspect import decision_grid, zero_score_lines
from gdstudio.gui.flow import flow_row, group
from gdstudio.gui.plotitems import remove_line
from gdstudio.gui.views.inspection.common import (PLOT_BACKGROUND, InspectionView, class_colour, format_value,
                                                  light_colour, style_plot)
from gdstudio.kernels import reference

GRID_RESOLUTION = 128
POINT_SIZE = 9
ADDED_POINT_SIZE = 13
LOSS_LABEL_LINES = 5
"""The loss read-out's height in lines at least (more where a narrow view wraps it further)."""
PLOT_MINIMUM_SIZE = (240, 220)


class _DraggablePoints(pg.ScatterPlotItem):
    """Scatter points that report drags of a single point to ``on_drag(index, x, y, finished)``."""

    def __init__(self, on_drag, **options) -> None:
        super().__init__(**options)
        self._on_drag = on_drag
        self._dragged: int | None = None

    def mouseDragEvent(self, event) -> None:  # pyqtgraph override
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        if event.isStart():
            hits = self.pointsAt(event.buttonDownPos())
            if len(hits) == 0:
                event.ignore()
                return
            self._dragged = int(hits[0].index())
        elif self._dragged is None:
            event.ignore()
            return
        event.accept()
        position = event.pos()
        index = self._dragged
        if event.isFinish():
            self._dragged = None
        self._on_drag(index, position.x(), position.y(), event.isFinish())


class RegionsView(InspectionView):
    """The linear classifier on 2-D data, live.

    Attributes
    ----------
    grid : (xs, ys, scores) or None
        :func:`~gdstudio.engine.inspect.decision_grid`'s output drawn last.
    region_classes : ndarray of shape (R, R), int or None
        The winning class of each grid cell (``region_classes[i, j]`` at ``(xs[j], ys[i])``).
    points, labels : ndarray of shape (N, 2) float64, (N,) int64
        The view's copy of the training points, in pixel units (moved and added ones included).
    loss_value, dW, db :
        ``reference.loss_and_grad`` of the current W on ``points``.
    """

    object_name = "regionsView"
    title = "Decision regions"

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.grid = None
        self.region_classes: np.ndarray | None = None
        self.points = np.zeros((0, 2))
        self.labels = np.zeros(0, np.int64)
        self.changed = np.zeros(0, bool)
        self.loss_value: float | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None
        self.original_loss: float | None = None
        self.zero_lines: list[pg.InfiniteLine] = []
        self._extent = (0.0, 255.0)
        self._requested: dict = {}
        """A loss or λ chosen in the window that no record carries yet (paused, finished): the text shows it."""
        self._build()
        if controller is not None and hasattr(controller, "settings_requested"):
            controller.settings_requested.connect(self._on_settings_requested)

    def _build(self) -> None:
        self.class_combo = QComboBox()
        self.class_combo.setObjectName("regionsClassCombo")
        self.reset_button = QPushButton("Reset points")
        self.reset_button.setObjectName("regionsResetButton")
        self.reset_button.setToolTip("Back to the training points")
        hint = QLabel("Drag a point to move it, or click the plane to add one.")
        hint.setObjectName("regionsHint")
        hint.setWordWrap(True)
        # The plot's title as a label above it, which wraps: pyqtgraph's title widened the plot beyond its dock.
        self.caption = QLabel()
        self.caption.setObjectName("regionsCaption")
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.plot_widget = pg.PlotWidget(background=PLOT_BACKGROUND)
        self.plot_widget.setObjectName("regionsPlot")
        self.plot = self.plot_widget.getPlotItem()
        style_plot(self.plot)
        # Not aspect-locked: the plane fills the view whatever the dock's shape (the lines' angles stay true in
        # data units, which is what s_c = 0 means).
        self.plot.setLabel("bottom", "x₁ (raw units)")
        self.plot.setLabel("left", "x₂ (raw units)")
        self.regions = pg.ImageItem(axisOrder="row-major")
        self.regions.setZValue(-10)
        self.plot.addItem(self.regions)
        self.scatter = _DraggablePoints(self._on_point_dragged, size=POINT_SIZE, pxMode=True)
        self.scatter.setZValue(10)
        self.plot.addItem(self.scatter)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self.loss_label = QLabel()
        self.loss_label.setObjectName("regionsLossLabel")
        self.loss_label.setWordWrap(True)
        self.loss_label.setTextFormat(Qt.TextFormat.RichText)
        self.loss_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # A minimum height with a line to spare (see _fit_loss_label): a label that grew by a line while a point
        # is dragged would resize the plot under the mouse. Not a fixed one: that cut the per-class gradients
        # when the text grew (presenter mode's font, more points) without the view being resized.
        self.loss_label.setMinimumHeight(LOSS_LABEL_LINES * self.loss_label.fontMetrics().lineSpacing() + 4)

        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(hint)
        layout.addLayout(flow_row(group("New points' class:", self.class_combo), self.reset_button))
        layout.addWidget(self.caption)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.loss_label)
        self.plot_widget.setMinimumSize(*PLOT_MINIMUM_SIZE)
        self.reset_button.clicked.connect(self.reset_points)

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        self._fit_loss_label(shrink=True)

    def _fit_loss_label(self, shrink: bool) -> None:
        """At least as tall as the read-out at this width (a narrow dock wraps it into more lines), with a line
        to spare: the longer numbers of a drag then fit without the label, and the plot above it, changing height
        under the mouse. Only a resize of the view makes it shorter. The layout gives the label more whenever its
        text needs more (its height follows its width), so nothing of it is ever cut."""
        label = self.loss_label
        lines = label.fontMetrics().lineSpacing()
        width = max(label.width(), self.content.width() - 8)
        if width < self.plot_widget.minimumWidth():
            return  # not laid out yet: at a few pixels' width the text wraps into hundreds of lines (seen: 742 px)
        held = label.minimumHeight()
        label.setMinimumHeight(0)  # QLabel's heightForWidth is never below its minimum height: measure the text
        text_height = label.heightForWidth(width)
        label.setMinimumHeight(held)
        wanted = max(text_height + lines, LOSS_LABEL_LINES * lines + 4)
        if text_height > held or (shrink and abs(wanted - held) > lines // 2):
            label.setMinimumHeight(wanted)

    # fed by the main window ---------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        previous = self.dataset
        super().on_loaded(info)
        self._requested = {}  # the new session's settings are the values in force, queued changes included
        self.grid = self.region_classes = None
        for line in self.zero_lines:
            remove_line(self.plot, line)
        self.zero_lines = []
        if info.num_features != 2 or self.dataset is None:
            return
        self._extent = (0.0, float(info.max_value))
        chosen_class = self.class_combo.currentIndex()
        self.class_combo.clear()
        for c, name in enumerate(info.class_names):
            self.class_combo.addItem(name, c)
        for c, name in enumerate(info.class_names):
            line = pg.InfiniteLine(angle=0, movable=False,
                                   pen=pg.mkPen(class_colour(c), width=2, style=Qt.PenStyle.DashLine),
                                   label=f"s{_subscript(c)} = 0", labelOpts={"position": 0.92, "color": class_colour(c),
                                                                             "fill": (255, 255, 255, 180)})
            self.plot.addItem(line)
            self.zero_lines.append(line)
        low, high = self._extent
        self.plot.setRange(xRange=(low, high), yRange=(low, high), padding=0.02)
        if self.changed.any() and _same_points(previous, self.dataset):
            # A Reset of the run (a new W, the same data): the points the person moved or added stay.
            self.class_combo.setCurrentIndex(max(min(chosen_class, self.class_combo.count() - 1), 0))
            self._draw_points()
            self._update_loss()
        else:
            self.reset_points()

    def on_progress(self, batch) -> None:
        super().on_progress(batch)
        if batch:
            self._forget_applied(batch[-1])

    def on_ended(self, record) -> None:
        super().on_ended(record)
        self._forget_applied(record)

    def _forget_applied(self, record) -> None:
        """A chosen loss or λ that training now runs with is the record's: it need not be remembered here."""
        carried = {"loss": record.loss_name, "reg": float(record.reg)}
        self._requested = {name: value for name, value in self._requested.items() if carried[name] != value}

    @Slot(dict)
    def _on_settings_requested(self, changes: dict) -> None:
        """A loss or λ chosen in the window: the text on the edited points uses it now (while paused or after the
        run, no record brings it until training goes on)."""
        chosen = {name: (float(value) if name == "reg" else value) for name, value in changes.items()
                  if name in ("loss", "reg")}
        if chosen:
            self._requested.update(chosen)
            self._dirty = True  # drawn at the next refresh while the view is on screen

    @property
    def loss_name(self) -> str:
        return self._requested.get("loss", super().loss_name)

    @property
    def reg(self) -> float:
        return self._requested.get("reg", super().reg)

    # the points -------------------------------------------------------------------------------------------------
    @Slot()
    def reset_points(self) -> None:
        """Back to a copy of the training points."""
        if self.dataset is None or self.info is None or self.info.num_features != 2:
            return
        self.points = self.dataset.X_train.astype(np.float64)
        self.labels = self.dataset.y_train.astype(np.int64)
        self.changed = np.zeros(len(self.labels), bool)
        self._draw_points()
        self._update_loss()

    def move_point(self, index: int, x: float, y: float) -> None:
        """Move point ``index`` to ``(x, y)`` (raw units), clipped to the plane."""
        low, high = self._extent
        self.points[index] = (min(max(x, low), high), min(max(y, low), high))
        self.changed[index] = True
        self._draw_points()
        self._update_loss()

    def add_point(self, x: float, y: float, label: int) -> None:
        low, high = self._extent
        self.points = np.vstack([self.points, [[min(max(x, low), high), min(max(y, low), high)]]])
        self.labels = np.append(self.labels, np.int64(label))
        self.changed = np.append(self.changed, True)
        self._draw_points()
        self._update_loss()

    def _on_point_dragged(self, index: int, x: float, y: float, _finished: bool) -> None:
        self.move_point(index, x, y)

    @Slot(object)
    def _on_scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.showing_message or self.info is None:
            return
        box = self.plot.getViewBox()
        if not box.sceneBoundingRect().contains(event.scenePos()):
            return
        position = box.mapSceneToView(event.scenePos())
        if len(self.scatter.pointsAt(position)):
            return  # a click on a point: that is for dragging
        low, high = self._extent
        if low <= position.x() <= high and low <= position.y() <= high:
            self.add_point(position.x(), position.y(), int(self.class_combo.currentData() or 0))
            event.accept()

    def _draw_points(self) -> None:
        brushes = [pg.mkBrush(class_colour(int(c))) for c in self.labels]
        pens = [pg.mkPen("k" if moved else "w", width=2 if moved else 1) for moved in self.changed]
        sizes = np.where(self.changed, ADDED_POINT_SIZE, POINT_SIZE)
        self.scatter.setData(pos=self.points, brush=brushes, pen=pens, size=sizes)

    def _update_loss(self) -> None:
        """Loss and gradient of the current W on the view's points, as text."""
        if self.weights is None or self.preprocess is None or not len(self.labels):
            self.loss_value = self.dW = self.db = None
            return
        W, b = self.weights
        loss, reg = self.loss_name, self.reg
        x = self.preprocess.apply(self.points)
        self.loss_value, self.dW, self.db = reference.loss_and_grad(W, b, x, self.labels, loss, reg)
        data_loss = self.loss_value - reg * float(np.sum(W * W))
        accuracy = float(np.mean(reference.predict(W, b, x) == self.labels))
        self.original_loss = None
        if self.changed.any():
            X0, y0 = self.dataset.X_train, self.dataset.y_train
            self.original_loss = reference.loss_parts(W, b, self.preprocess.apply(X0), y0, loss, reg)[0]
        lines = [(f"<b>Loss on the {len(self.labels)} points shown: {format_value(self.loss_value)}</b> "
                  f"(data {format_value(data_loss)} + λ‖W‖² {format_value(self.loss_value - data_loss)}; {loss}, "
                  f"λ = {reg:g}) · accuracy {100 * accuracy:.1f} % · ‖∂L/∂W‖ = "
                  f"{format_value(float(np.linalg.norm(self.dW)))}, ‖∂L/∂b‖ = "
                  f"{format_value(float(np.linalg.norm(self.db)))}")]
        if self.changed.any():
            moved = int(self.changed.sum())
            lines.append(f"On the training points as they were: {format_value(self.original_loss)} "
                         f"({moved} point{'' if moved == 1 else 's'} moved or added here; training does not see "
                         "them)")
        else:
            lines.append("These are the training points; moved or added ones stay in this view (training does not "
                         "see them).")
        gradients = " · ".join(
            f"<span style='color:{class_colour(c).name()}'>class {c}: ∂L/∂w = ({format_value(self.dW[c, 0])}, "
            f"{format_value(self.dW[c, 1])}), ∂L/∂b = {format_value(self.db[c])}</span>" for c in range(len(W)))
        lines.append(gradients)
        self.loss_label.setText("<br>".join(lines))
        self._fit_loss_label(shrink=False)

    # drawing ----------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        problem = self.ready_message()
        if problem is None and self.info.num_features != 2:
            shape = self.info.image_shape
            what = f"{shape[0]}×{shape[1]} images" if shape else f"{self.info.num_features} features"
            problem = (f"Decision regions need 2-D inputs (such as toy2d): {self.info.dataset} has {what}, "
                       f"{self.info.num_features} dimensions. The class templates show what W does on images.")
        if problem is not None:
            self.grid = self.region_classes = None
            self.show_message(problem)
            return
        self.show_content()
        W, b = self.weights
        low, high = self._extent
        self.grid = decision_grid(W, b, self.preprocess, GRID_RESOLUTION, low, high)
        scores = self.grid[2]
        self.region_classes = np.argmax(scores, axis=2)
        palette = np.array([light_colour(c) for c in range(len(W))], np.uint8)
        self.regions.setImage(palette[self.region_classes], levels=None, autoLevels=False)
        step = (high - low) / (GRID_RESOLUTION - 1)
        self.regions.setRect(QRectF(low - step / 2, low - step / 2, high - low + step, high - low + step))
        for line, (normal, offset) in zip(self.zero_lines, zero_score_lines(W, b, self.preprocess)):
            norm = float(normal @ normal)
            if norm < 1e-300 or not math.isfinite(norm):
                line.hide()
                continue
            foot = normal * (offset / norm)
            line.setPos(QPointF(float(foot[0]), float(foot[1])))
            line.setAngle(math.degrees(math.atan2(normal[0], -normal[1])))
            line.show()
        self.caption.setText(f"Winning class (shaded), s<sub>c</sub> = 0 (dashed), training points · step "
                             f"{self.step}")
        self._update_loss()


def _same_points(before, after) -> bool:
    """Two data sets with the same training points and labels (a Reset keeps the session's data)."""
    if before is None or after is None:
        return False
    if before is after:
        return True
    return (np.array_equal(before.X_train, after.X_train) and np.array_equal(before.y_train, after.y_train))


def _subscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
