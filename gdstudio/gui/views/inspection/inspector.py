"""One image's maths: its scores, the SVM margins or softmax probabilities, the loss L_i and ∂L_i/∂s.

Pick a validation image from the strip (a green frame: predicted right; red: wrong), or type your own scores to
redo the lecture's worked example. Every number comes from :mod:`gdstudio.engine.inspect` /
:mod:`gdstudio.engine.explain`, which use :mod:`gdstudio.kernels.reference`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QIcon
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QListView, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from gdstudio.config import ConfigError
from gdstudio.engine.explain import explain_scores, explain_text
from gdstudio.engine.inspect import image_maths
from gdstudio.gui.views.inspection.common import (CORRECT_COLOUR, NEUTRAL_COLOUR, PLOT_BACKGROUND, WRONG_COLOUR,
                                                  InspectionView, format_value, image_for_display, pixels_pixmap,
                                                  short_names, style_plot)
from gdstudio.gui.flow import flow_row, group
from gdstudio.gui.widgets import ReflowingSplitter, rows_follow_font
from gdstudio.kernels import reference

STRIP_SIZE = 24
INSPECTOR_SIDE_BY_SIDE_WIDTH = 720
"""Below this width the image, the bars and the table stand one above the other."""
"""Validation images in the strip by default (the first ones)."""
STRIP_LIST_LIMIT = 500
"""At most this many images of a confusion cell are listed in the strip."""
STRIP_ICON = 44
WORKED_EXAMPLE = "0.8, 0.3, -0.4"
"""The lecture's worked example (label 0): SVM loss 0.5, softmax loss ≈ 0.646."""
SPLIT_TITLES = {"train": "training", "val": "validation", "test": "test"}
TABLE_COLUMNS = ("s_j", "SVM margin", "∂L_i/∂s_j SVM", "softmax p_j", "∂L_i/∂s_j softmax")
"""The table's columns; its rows are the classes (named in the vertical header)."""
LOSS_CHOICES = (("the training loss", None), ("SVM", "svm"), ("softmax", "softmax"))


class InspectorView(InspectionView):
    """The numbers of one image (or of typed scores), step by step.

    Attributes
    ----------
    maths : dict or None
        What is shown: :func:`~gdstudio.engine.explain.explain_scores`'s dict (from
        :func:`~gdstudio.engine.inspect.image_maths` for an image, with ``x`` and ``predicted``).
    selected : (split, index) or None
        The image shown (None in the typed-scores mode or before a pick).
    """

    object_name = "inspectorView"
    title = "One image's maths"
    refresh_hz = 2.0  # a refresh redraws the strip and the maths (about 14 ms): twice a second while training

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.maths: dict | None = None
        self.selected: tuple[str, int] | None = None
        self.strip_indices = np.zeros(0, np.int64)  # validation indices of the strip's items
        self._strip_caption = ""
        self._build()

    def _build(self) -> None:
        self.strip_label = QLabel()
        self.strip_label.setObjectName("inspectorStripLabel")
        self.strip_label.setWordWrap(True)  # wraps in a narrow dock rather than being cut
        self.first_button = QPushButton(f"First {STRIP_SIZE}")
        self.first_button.setObjectName("inspectorFirstButton")
        self.first_button.setToolTip(f"List the first {STRIP_SIZE} validation images again")
        self.strip = QListWidget()
        self.strip.setObjectName("inspectorStrip")
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setMovement(QListView.Movement.Static)
        self.strip.setIconSize(QSize(STRIP_ICON, STRIP_ICON))
        self.strip.setGridSize(QSize(STRIP_ICON + 18, STRIP_ICON + 24))
        self.strip.setFixedHeight(STRIP_ICON + 46)
        self.strip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.strip.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

        self.typed_check = QCheckBox("Type your own scores:")
        self.typed_check.setObjectName("typedScoresCheck")
        self.scores_edit = QLineEdit(WORKED_EXAMPLE)
        self.scores_edit.setObjectName("scoresEdit")
        self.scores_edit.setToolTip("Scores s_0, s_1, … separated by commas or spaces")
        self.label_spin = QSpinBox()
        self.label_spin.setObjectName("labelSpin")
        self.label_spin.setRange(0, 2)
        self.label_spin.setPrefix("correct class ")
        self.loss_combo = QComboBox()
        self.loss_combo.setObjectName("inspectorLossCombo")
        for text, name in LOSS_CHOICES:
            self.loss_combo.addItem(text, name)
        self.error_label = QLabel()
        self.error_label.setObjectName("inspectorErrorLabel")
        self.error_label.setStyleSheet(f"color: {WRONG_COLOUR};")

        self.image_graphics = pg.GraphicsLayoutWidget()
        self.image_graphics.setObjectName("inspectorImage")
        self.image_graphics.setBackground(PLOT_BACKGROUND)
        self.image_box = self.image_graphics.addViewBox(lockAspect=True, enableMouse=False, enableMenu=False,
                                                        invertY=True)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_box.addItem(self.image_item)
        self.image_graphics.setMinimumSize(120, 120)
        self.image_caption = QLabel()
        self.image_caption.setObjectName("inspectorImageCaption")
        self.image_caption.setWordWrap(True)
        self.loss_label = QLabel()
        self.loss_label.setObjectName("inspectorLossLabel")
        self.loss_label.setWordWrap(True)
        self.loss_label.setTextFormat(Qt.TextFormat.RichText)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setObjectName("inspectorPlots")
        self.plots.setBackground(PLOT_BACKGROUND)
        self.score_plot = self.plots.addPlot(row=0, col=0, title="scores s = W·x + b")
        self.second_plot = self.plots.addPlot(row=1, col=0)
        self.gradient_plot = self.plots.addPlot(row=2, col=0, title="∂L_i/∂s")
        self.bars = []
        for plot in (self.score_plot, self.second_plot, self.gradient_plot):
            style_plot(plot)
            plot.addLine(y=0, pen=pg.mkPen("#999999"))
            bar = pg.BarGraphItem(x=[0], height=[0], width=0.7)
            plot.addItem(bar)
            self.bars.append(bar)
        self.plots.setMinimumSize(220, 300)

        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setObjectName("inspectorTable")
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        rows_follow_font(self.table)
        self.steps_text = QPlainTextEdit()
        self.steps_text.setObjectName("inspectorStepsText")
        self.steps_text.setReadOnly(True)
        self.steps_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.steps_text.setFont(font)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Numbers")
        self.tabs.addTab(self.steps_text, "Step by step")

        top = QHBoxLayout()
        top.addWidget(self.strip_label, 1)
        top.addWidget(self.first_button)
        # Rows that wrap in a narrow dock: one row of all five is wider than the default dock.
        typed = flow_row(self.typed_check, self.scores_edit, self.label_spin)
        shown = flow_row(group("Plots show:", self.loss_combo))
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.image_graphics, 1)
        left_layout.addWidget(self.image_caption)
        left_layout.addWidget(self.loss_label)
        # Side by side in a wide dock; one above the other in the default one (a projector's 1280×720), where side
        # by side they were wider than the dock and the table was cut at its right edge.
        splitter = ReflowingSplitter(INSPECTOR_SIDE_BY_SIDE_WIDTH)
        splitter.addWidget(left)
        splitter.addWidget(self.plots)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 4)
        splitter.setSizes([200, 330, 470])
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.strip)
        layout.addLayout(typed)
        layout.addLayout(shown)
        layout.addWidget(self.error_label)
        layout.addWidget(splitter, 1)
        self.setMinimumHeight(420)  # its width: what its parts need (an explicit one would cut them)

        self.strip.currentRowChanged.connect(self._on_strip_row_changed)
        self.first_button.clicked.connect(self.show_first)
        self.typed_check.toggled.connect(self._on_option_changed)
        self.scores_edit.textChanged.connect(self._on_option_changed)
        self.label_spin.valueChanged.connect(self._on_option_changed)
        self.loss_combo.currentIndexChanged.connect(self._on_option_changed)

    # fed by the main window ---------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self.selected = None
        self.maths = None
        self._set_strip(np.arange(min(STRIP_SIZE, info.sizes[1]), dtype=np.int64),
                        f"The first {min(STRIP_SIZE, info.sizes[1])} validation images")

    # public -----------------------------------------------------------------------------------------------------
    def show_image(self, split: str, index: int) -> None:
        """Show image ``index`` of ``split`` (``"train"``, ``"val"`` or ``"test"``), leaving typed mode."""
        if split not in SPLIT_TITLES:
            raise ValueError(f"split must be one of {', '.join(SPLIT_TITLES)}, got {split!r}")
        self.selected = (split, int(index))
        self.typed_check.blockSignals(True)
        self.typed_check.setChecked(False)
        self.typed_check.blockSignals(False)
        self._select_in_strip()
        self.refresh_now()

    def show_cell(self, true_class: int, predicted_class: int, indices) -> None:
        """List the validation images of one confusion-matrix cell in the strip and show the first."""
        indices = np.asarray(indices, np.int64)
        names = self.info.class_names if self.info is not None else ()
        def name(c):
            return names[c] if 0 <= c < len(names) else str(c)
        caption = (f"Validation images of class {name(true_class)} predicted as {name(predicted_class)}: "
                   f"{len(indices)}")
        if len(indices) > STRIP_LIST_LIMIT:
            caption += f" (the first {STRIP_LIST_LIMIT} listed)"
        self._set_strip(indices[:STRIP_LIST_LIMIT], caption)
        if len(indices):
            self.show_image("val", int(indices[0]))
        else:
            self.refresh_now()

    @Slot()
    def show_first(self) -> None:
        """Back to the first validation images."""
        if self.info is None:
            return
        count = min(STRIP_SIZE, self.info.sizes[1])
        self._set_strip(np.arange(count, dtype=np.int64), f"The first {count} validation images")
        if count:
            self.show_image("val", 0)

    def set_typed_scores(self, text: str, label: int) -> None:
        """Switch to the typed-scores mode with these scores (as typed) and correct class."""
        self.scores_edit.setText(text)
        self.typed_check.setChecked(True)
        self._sync_label_range()
        self.label_spin.setValue(int(label))
        self.refresh_now()

    # slots ------------------------------------------------------------------------------------------------------
    @Slot(int)
    def _on_strip_row_changed(self, row: int) -> None:
        if 0 <= row < len(self.strip_indices):
            self.show_image("val", int(self.strip_indices[row]))

    @Slot()
    def _on_option_changed(self, *_args) -> None:
        self._sync_label_range()
        self.refresh_now()

    # drawing ----------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        problem = self.ready_message()
        if problem is not None:
            self.maths = None
            self.show_message(problem)
            return
        self.show_content()
        W, b = self.weights
        self._update_strip(W, b)
        self.error_label.clear()
        self.scores_edit.setEnabled(self.typed_check.isChecked())
        self.label_spin.setEnabled(self.typed_check.isChecked())
        if self.typed_check.isChecked():
            self._show_typed()
            return
        if self.selected is None and len(self.strip_indices):
            self.selected = ("val", int(self.strip_indices[0]))
            self._select_in_strip()
        if self.selected is None:
            self.maths = None
            return
        split, index = self.selected
        X, y = self.dataset.split(split)
        if not 0 <= index < len(y):
            self.error_label.setText(f"There is no {SPLIT_TITLES[split]} image #{index}.")
            return
        label = int(y[index])
        self.maths = image_maths(W, b, self.preprocess, X[index], label)
        predicted = self.maths["predicted"]
        names = self.info.class_names
        mark = "✓ predicted right" if predicted == label else f"✗ predicted {names[predicted]}"
        caption = f"{SPLIT_TITLES[split]} image #{index}: class {names[label]} · {mark} (step {self.step})"
        if self.info.image_shape is not None:
            self.image_graphics.show()
            self.image_item.setImage(image_for_display(X[index], self.info.image_shape),
                                     levels=(0, self.info.max_value))
            height, width = self.info.image_shape[:2]
            self.image_box.setRange(xRange=(0, width), yRange=(0, height), padding=0.02)
        else:
            self.image_graphics.hide()
            caption += "\npoint (" + ", ".join(str(int(v)) for v in X[index]) + ")"
        self.image_caption.setText(caption)
        self._draw_maths(self.maths, names)

    def _show_typed(self) -> None:
        self.image_item.clear()
        self.image_graphics.hide()
        self.strip.clearSelection()
        try:
            scores = _parse_scores(self.scores_edit.text())
            maths = explain_scores(scores, int(self.label_spin.value()))
        except ConfigError as exc:
            self.error_label.setText(str(exc))
            return
        self.maths = maths
        self.image_caption.setText(f"Typed scores, class {maths['label']} correct")
        self._draw_maths(maths, [str(c) for c in range(len(scores))])

    def _draw_maths(self, maths: dict, names) -> None:
        s = np.asarray(maths["scores"])
        y = maths["label"]
        C = len(s)
        shown = self.loss_combo.currentData() or (self.loss_name if self.info is not None else "softmax")
        svm, softmax = maths["svm"], maths["softmax"]
        predicted = int(np.argmax(s))
        positions = np.arange(C)
        ticks = [list(zip(positions, short_names(names)))]
        colours = [CORRECT_COLOUR if c == y else (WRONG_COLOUR if c == predicted else NEUTRAL_COLOUR)
                   for c in range(C)]
        second = np.asarray(svm["margins"] if shown == "svm" else softmax["probabilities"])
        gradient = np.asarray(svm["dscores"] if shown == "svm" else softmax["dscores"])
        self.second_plot.setTitle("SVM margins max(0, s_j − s_y + 1)" if shown == "svm"
                                  else "softmax probabilities p_j")
        self.gradient_plot.setTitle(f"∂L_i/∂s ({'SVM' if shown == 'svm' else 'softmax'})")
        for plot, bar, values in zip((self.score_plot, self.second_plot, self.gradient_plot), self.bars,
                                     (s, second, gradient)):
            bar.setOpts(x=positions, height=values, width=0.7, brushes=[pg.mkBrush(c) for c in colours],
                        pens=[pg.mkPen(None)] * C)
            plot.getAxis("bottom").setTicks(ticks)
            plot.setXRange(-0.6, C - 0.4, padding=0)
            low, high = min(0.0, float(values.min())), max(0.0, float(values.max()))
            if shown == "softmax" and plot is self.second_plot:
                low, high = 0.0, 1.0
            pad = 0.08 * (high - low) if high > low else 0.5
            plot.setYRange(low - pad, high + pad, padding=0)

        columns = (s, svm["margins"], svm["dscores"], softmax["probabilities"], softmax["dscores"])
        self.table.setRowCount(C)
        bold = QFont()
        bold.setBold(True)
        for row in range(C):
            name_item = QTableWidgetItem(names[row] + (" ✓" if row == y else ""))
            if row == y:
                name_item.setFont(bold)
            name_item.setForeground(QBrush(QColor(colours[row])))
            name_item.setToolTip("the correct class" if row == y else "")
            self.table.setVerticalHeaderItem(row, name_item)
            for column, values in enumerate(columns):
                value = float(values[row])
                item = QTableWidgetItem("—" if column == 1 and row == y else format_value(value))
                item.setData(Qt.ItemDataRole.UserRole, value)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        training = self.loss_name if self.info is not None else None
        parts = []
        for key, title in (("svm", "SVM"), ("softmax", "softmax")):
            text = f"{title} L<sub>i</sub> = {format_value(maths[key]['loss'])}"
            parts.append(f"<b>{text}</b>" if key == shown else text)
        note = f"<br><small>training with {training}</small>" if training and not self.typed_check.isChecked() \
            else ""
        self.loss_label.setText(" · ".join(parts) + note)
        self.steps_text.setPlainText(explain_text(maths))

    # the strip ------------------------------------------------------------------------------------------------
    def _set_strip(self, indices: np.ndarray, caption: str) -> None:
        self.strip_indices = np.asarray(indices, np.int64)
        self._strip_caption = caption
        self.strip.blockSignals(True)
        self.strip.clear()
        for index in self.strip_indices:
            item = QListWidgetItem(f"#{index}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.strip.addItem(item)
        self.strip.blockSignals(False)
        self.strip_label.setText(caption)
        self._dirty = True

    def _update_strip(self, W: np.ndarray, b: np.ndarray) -> None:
        """Marks and icons of the strip's images for the current weights."""
        if not len(self.strip_indices):
            self.strip_label.setText(self._strip_caption)
            return
        X, y = self.dataset.X_val[self.strip_indices], self.dataset.y_val[self.strip_indices]
        predicted = reference.predict(W, b, self.preprocess.apply(X))
        names = self.info.class_names
        image_shape = self.info.image_shape
        for row, (index, label, guess) in enumerate(zip(self.strip_indices, y, predicted)):
            item = self.strip.item(row)
            right = int(label) == int(guess)
            colour = CORRECT_COLOUR if right else WRONG_COLOUR
            short = short_names(names, 6)
            item.setText(f"✓ {short[label]}" if right else f"✗ {short[label]}→{short[guess]}")
            item.setForeground(QBrush(QColor(colour)))
            item.setToolTip(f"validation #{index}: class {names[label]}, predicted {names[guess]}")
            item.setData(Qt.ItemDataRole.UserRole, bool(right))
            if image_shape is not None:
                item.setIcon(QIcon(pixels_pixmap(X[row], image_shape, self.info.max_value, STRIP_ICON,
                                                 border=colour)))
        wrong = int(np.sum(predicted != y))
        self.strip_label.setText(f"{self._strip_caption} · {len(y) - wrong} right, {wrong} wrong at step "
                                 f"{self.step} · click one")

    def _select_in_strip(self) -> None:
        self.strip.blockSignals(True)
        row = -1
        if self.selected is not None and self.selected[0] == "val":
            rows = np.flatnonzero(self.strip_indices == self.selected[1])
            row = int(rows[0]) if len(rows) else -1
        if row >= 0:
            self.strip.setCurrentRow(row)
            self.strip.scrollToItem(self.strip.item(row))
        else:
            self.strip.clearSelection()
        self.strip.blockSignals(False)

    def _sync_label_range(self) -> None:
        try:
            count = len(_parse_scores(self.scores_edit.text()))
        except ConfigError:
            return
        self.label_spin.blockSignals(True)
        self.label_spin.setRange(0, max(1, count - 1))
        self.label_spin.blockSignals(False)

    # for tests and scripts ----------------------------------------------------------------------------------
    def table_values(self) -> np.ndarray:
        """The table's numbers, (C, 5) float64: score, SVM margin, SVM ∂L/∂s, softmax p, softmax ∂L/∂s."""
        rows = self.table.rowCount()
        return np.array([[self.table.item(r, c).data(Qt.ItemDataRole.UserRole) for c in range(5)]
                         for r in range(rows)], dtype=np.float64).reshape(rows, 5)


def _parse_scores(text: str) -> list[float]:
    parts = [p for p in text.replace(",", " ").replace(";", " ").split() if p]
    try:
        values = [float(p.replace("−", "-")) for p in parts]
    except ValueError:
        raise ConfigError("scores: type numbers separated by commas, e.g. 0.8, 0.3, -0.4") from None
    if len(values) < 2:
        raise ConfigError("scores: give at least two scores, one per class")
    return values
