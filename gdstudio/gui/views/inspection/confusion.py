"""The validation confusion matrix and per-class accuracy, live; a click on a cell lists its images."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPen
from PySide6.QtWidgets import QApplication, QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from gdstudio.engine.inspect import confusion_matrix, per_class_accuracy
from gdstudio.gui.views.inspection.common import (CORRECT_COLOUR, PLOT_BACKGROUND, InspectionView, preprocess_rows,
                                                  style_plot)

HEAT_COLOURS = ("#ffffff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
"""White to dark blue: a cell's share of its true class."""
DARK_TEXT_ABOVE = 0.5
"""Counts on cells darker than this share are written in white."""
ACCURACY_TEXT_INSIDE = 0.3
"""A per-class accuracy at least this high has its percentage written inside its bar."""
COLUMN_LABEL_GAP = 6
"""Pixels between two columns' names, at least; closer names are replaced by class numbers."""


class _ClickableImage(pg.ImageItem):
    """An image that reports left clicks as ``on_click(column, row)`` in image cells."""

    def __init__(self, on_click, **options) -> None:
        super().__init__(**options)
        self._on_click = on_click

    def mouseClickEvent(self, event) -> None:  # pyqtgraph override
        if event.button() != Qt.MouseButton.LeftButton or self.image is None:
            event.ignore()
            return
        position = event.pos()
        rows, columns = self.image.shape[:2]
        column, row = int(np.floor(position.x())), int(np.floor(position.y()))
        if 0 <= row < rows and 0 <= column < columns:
            event.accept()
            self._on_click(column, row)


class ConfusionView(InspectionView):
    """Rows: true class; columns: predicted class; colour: the cell's share of its row; text: the count.

    Signals
    -------
    cell_clicked(int, int, object)
        ``(true_class, predicted_class, indices)``: the validation indices of the clicked cell (int64 ndarray).

    Attributes
    ----------
    on_cell_clicked : callable or None
        Called with the same arguments as ``cell_clicked`` (the main window points it at the inspector).
    matrix : ndarray of shape (C, C), int64 or None
    predictions : ndarray of shape (N_val,), int64 or None
    """

    object_name = "confusionView"
    title = "Confusion matrix"
    refresh_hz = 2.0
    cell_clicked = Signal(int, int, object)

    def __init__(self, controller=None, parent: QWidget | None = None, on_cell_clicked=None) -> None:
        super().__init__(controller, parent)
        self.on_cell_clicked = on_cell_clicked
        self.matrix: np.ndarray | None = None
        self.predictions: np.ndarray | None = None
        self.accuracy: float | None = None
        self.class_accuracy: np.ndarray | None = None
        self.selected_cell: tuple[int, int] | None = None
        self._x_val: np.ndarray | None = None
        self._count_texts: list[list[pg.TextItem]] = []
        self._accuracy_texts: list[pg.TextItem] = []
        self._build()

    def _build(self) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("confusionGraphics")
        self.graphics.setBackground(PLOT_BACKGROUND)
        self.matrix_plot = self.graphics.addPlot(row=0, col=0)
        self.accuracy_plot = self.graphics.addPlot(row=0, col=1)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 1)
        for plot in (self.matrix_plot, self.accuracy_plot):
            style_plot(plot)
            plot.invertY(True)
        self.matrix_plot.setAspectLocked(True)
        self._column_labels: list[str] | None = None
        # The columns' width decides between names and numbers under them.
        self.matrix_plot.getViewBox().sigResized.connect(self._on_matrix_resized)
        self.matrix_plot.getViewBox().sigRangeChanged.connect(self._on_matrix_resized)
        self.matrix_plot.setLabel("left", "true class")
        self.matrix_plot.setLabel("bottom", "predicted class")
        self.accuracy_plot.setLabel("bottom", "accuracy")  # of each row's class; a longer title is cut
        self.accuracy_plot.setYLink(self.matrix_plot)
        self.accuracy_plot.getAxis("left").setStyle(showValues=False)
        self.accuracy_plot.setXRange(-0.06, 1.1, padding=0)
        self.accuracy_plot.getAxis("bottom").setTicks([[(0, "0"), (0.5, "50 %"), (1, "100 %")]])
        self.heat = _ClickableImage(self._on_heat_clicked, axisOrder="row-major")
        colour_map = pg.ColorMap(np.linspace(0, 1, len(HEAT_COLOURS)), [QColor(c) for c in HEAT_COLOURS])
        self.heat.setLookupTable(colour_map.getLookupTable(0.0, 1.0, 256))
        self.matrix_plot.addItem(self.heat)
        self.highlight = QGraphicsRectItem()
        pen = QPen(QColor("#d62728"))
        pen.setWidth(3)
        pen.setCosmetic(True)
        self.highlight.setPen(pen)
        self.highlight.setZValue(20)
        self.highlight.hide()
        self.matrix_plot.addItem(self.highlight)
        self.frame = QGraphicsRectItem()
        frame_pen = QPen(QColor("#999999"))
        frame_pen.setCosmetic(True)
        self.frame.setPen(frame_pen)
        self.matrix_plot.addItem(self.frame)
        self.accuracy_bars = pg.BarGraphItem(x0=[0], y=[0.5], width=[0], height=0.7,
                                             brush=pg.mkBrush(CORRECT_COLOUR), pen=pg.mkPen(None))
        self.accuracy_plot.addItem(self.accuracy_bars)
        self.summary = QLabel()
        self.summary.setObjectName("confusionSummary")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.summary)
        self.setMinimumSize(300, 300)  # a narrow dock or one below the curves (issue 17 item 5)

    # fed by the main window ---------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self.matrix = self.predictions = self.accuracy = self.class_accuracy = None
        self.selected_cell = None
        self.highlight.hide()
        self._x_val = None
        if self.dataset is not None:
            self._x_val = preprocess_rows(self.preprocess, self.dataset.X_val)
        self._make_texts(len(info.class_names))
        self._column_labels = None
        self._label_classes()
        count = len(info.class_names)
        self.matrix_plot.setRange(xRange=(0, count), yRange=(0, count), padding=0.01)

    def _label_classes(self) -> None:
        """Name each column under it when every name fits its column's width; otherwise number the columns
        and the rows, and name the rows ("3  Dress"): whole names that overlap, or names cut to "class.", tell
        no class apart."""
        if self.info is None:
            return
        names = [str(name) for name in self.info.class_names]
        bottom = self.matrix_plot.getAxis("bottom")
        metrics = QFontMetrics(bottom.style.get("tickFont") or QApplication.font())
        pixel_width = self.matrix_plot.getViewBox().viewPixelSize()[0]
        column_px = 1.0 / pixel_width if pixel_width > 0 else 0.0
        fits = max(metrics.horizontalAdvance(name) for name in names) + COLUMN_LABEL_GAP <= column_px
        numbers = [str(c) for c in range(len(names))]
        columns = names if fits or names == numbers else numbers
        if columns == self._column_labels:
            return
        self._column_labels = columns
        rows = names if columns is names else [f"{c}  {name}" for c, name in enumerate(names)]
        centres = np.arange(len(names)) + 0.5
        self.matrix_plot.getAxis("left").setTicks([list(zip(centres, rows))])
        bottom.setTicks([list(zip(centres, columns))])

    def _on_matrix_resized(self, *_) -> None:
        self._label_classes()

    def _make_texts(self, num_classes: int) -> None:
        for row in self._count_texts:
            for text in row:
                self.matrix_plot.removeItem(text)
        for text in self._accuracy_texts:
            self.accuracy_plot.removeItem(text)
        self._count_texts = []
        for t in range(num_classes):
            row = []
            for p in range(num_classes):
                text = pg.TextItem(anchor=(0.5, 0.5))
                text.setPos(p + 0.5, t + 0.5)
                self.matrix_plot.addItem(text)
                row.append(text)
            self._count_texts.append(row)
        self._accuracy_texts = []
        for t in range(num_classes):
            text = pg.TextItem(anchor=(1, 0.5), color="w")
            text.setPos(0, t + 0.5)
            self.accuracy_plot.addItem(text)
            self._accuracy_texts.append(text)

    # drawing ----------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        problem = self.ready_message()
        if problem is not None:
            self.matrix = None
            self.show_message(problem)
            return
        if not len(self.dataset.y_val):
            self.show_message(f"{self.info.dataset} has no validation images.")
            return
        self.show_content()
        W, b = self.weights
        scores = self._x_val @ W.T.astype(self._x_val.dtype) + b.astype(self._x_val.dtype)
        self.predictions = np.argmax(scores, axis=1)
        C = len(self.info.class_names)
        self.matrix = confusion_matrix(self.dataset.y_val, self.predictions, C)
        self.class_accuracy = per_class_accuracy(self.matrix)
        total = int(self.matrix.sum())
        correct = int(np.trace(self.matrix))
        self.accuracy = correct / total
        rows = self.matrix.sum(axis=1, keepdims=True)
        share = np.divide(self.matrix, rows, out=np.zeros(self.matrix.shape), where=rows > 0)
        self.heat.setImage(share, levels=(0.0, 1.0), autoLevels=False)
        self.heat.setRect(QRectF(0, 0, C, C))
        self.frame.setRect(QRectF(0, 0, C, C))
        for t in range(C):
            for p in range(C):
                count = int(self.matrix[t, p])
                text = self._count_texts[t][p]
                text.setText(str(count) if count else "")
                text.setColor("w" if share[t, p] > DARK_TEXT_ABOVE else "#222222")
        accuracy = np.nan_to_num(self.class_accuracy)
        self.accuracy_bars.setOpts(x0=np.zeros(C), y=np.arange(C) + 0.5, width=accuracy, height=0.7)
        for t, text in enumerate(self._accuracy_texts):
            value = self.class_accuracy[t]
            text.setText("—" if np.isnan(value) else f"{100 * value:.0f} %")
            inside = accuracy[t] >= ACCURACY_TEXT_INSIDE  # in white at the bar's end, else dark just after it
            text.setAnchor((1, 0.5) if inside else (0, 0.5))
            text.setColor("w" if inside else "#222222")
            text.setPos(float(accuracy[t]), t + 0.5)
        selected = ""
        if self.selected_cell is not None:
            t, p = self.selected_cell
            selected = f" · selected: {self._cell_text(t, p)}"
        self.summary.setText(f"Validation accuracy {100 * self.accuracy:.1f} % ({correct} / {total}) at step "
                             f"{self.step} · click a cell to list its images in the inspector{selected}")

    # clicks ---------------------------------------------------------------------------------------------------
    def _on_heat_clicked(self, column: int, row: int) -> None:
        self.select_cell(true_class=row, predicted_class=column)

    def select_cell(self, true_class: int, predicted_class: int) -> None:
        """Select the cell (row ``true_class``, column ``predicted_class``) and tell the inspector its images."""
        if self.ready_message() is not None:
            return
        self.selected_cell = (int(true_class), int(predicted_class))
        self.highlight.setRect(QRectF(predicted_class, true_class, 1, 1))
        self.highlight.show()
        self.refresh_now()  # the indices must match the matrix on screen
        if self.predictions is None:
            return
        indices = np.flatnonzero((self.dataset.y_val == true_class) & (self.predictions == predicted_class))
        indices = indices.astype(np.int64)
        self.cell_clicked.emit(int(true_class), int(predicted_class), indices)
        if self.on_cell_clicked is not None:
            self.on_cell_clicked(int(true_class), int(predicted_class), indices)

    def _cell_text(self, t: int, p: int) -> str:
        names = self.info.class_names
        count = int(self.matrix[t, p]) if self.matrix is not None else 0
        return f"class {names[t]} predicted as {names[p]} ({count} images)"
