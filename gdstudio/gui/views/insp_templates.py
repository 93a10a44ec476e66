"""The class templates: each row of W drawn as an image, optionally beside its gradient row ∂L/∂W."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gdstudio.engine.inspect import templates
from gdstudio.gui.views.insp_common import PLOT_BACKGROUND, InspectionView, format_value
from gdstudio.kernels import reference

GRADIENT_BATCH = 256
"""The gradient rows are ∂L/∂W on this many training images (the first ones: fixed, so frames compare)."""
GRADIENT_COLOUR_MAP = "CET-D1"
"""Grey gradient rows are drawn blue (negative) – white – red (positive), so they never pass for templates."""
MAX_COLUMNS = 5
"""Templates per row of the grid before the view has a size (then the shape that makes them largest)."""
TITLE_HEIGHT = 26
"""Pixels a template's title takes above it (for choosing the grid's shape)."""


class TemplatesView(InspectionView):
    """Each class's weights as an image in the data set's shape, live, with the gradient rows on demand.

    ``shown_templates`` and ``shown_gradients`` hold the arrays drawn last, (C, H, W, channels) in [0, 1], as
    :func:`gdstudio.engine.inspect.templates` makes them (the gradients through :func:`gradient_images`).
    """

    object_name = "templatesView"
    title = "Class templates"
    refresh_hz = 2.0  # ten small plots to paint: twice a second shows W change without taxing the training

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.shown_templates: np.ndarray | None = None
        self.shown_gradients: np.ndarray | None = None
        self._batch: tuple[np.ndarray, np.ndarray] | None = None  # (x preprocessed, y) for the gradient
        self._cells: list[tuple[pg.ImageItem, pg.ImageItem | None]] = []
        diverging = pg.colormap.get(GRADIENT_COLOUR_MAP)
        self._gradient_lut = diverging.getLookupTable(0.0, 1.0, 256)
        self._layout_key = None

        self.shared_check = QCheckBox("Shared colour scale")
        self.shared_check.setObjectName("templatesSharedCheck")
        self.shared_check.setChecked(True)
        self.shared_check.setToolTip("One scale for every class (mid grey = zero weight), so classes compare;\n"
                                     "off: each template stretched over its own range, as in the lecture.")
        self.gradient_check = QCheckBox("Show ∂L/∂W beside each template")
        self.gradient_check.setObjectName("templatesGradientCheck")
        self.gradient_check.setToolTip(f"The gradient rows at the current W, on the first {GRADIENT_BATCH} "
                                       "training images (gradient descent moves W against them).")
        self.caption = QLabel()
        self.caption.setObjectName("templatesCaption")
        self.caption.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("templatesGraphics")
        self.graphics.setBackground(PLOT_BACKGROUND)
        self.graphics.ci.setSpacing(2)

        bar = QHBoxLayout()
        bar.addWidget(self.shared_check)
        bar.addWidget(self.gradient_check)
        bar.addStretch(1)
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.caption)
        self.setMinimumSize(360, 260)

        self.shared_check.toggled.connect(self._on_option_toggled)
        self.gradient_check.toggled.connect(self._on_option_toggled)

    # fed by the main window ---------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self._batch = None
        self._layout_key = None

    # drawing --------------------------------------------------------------------------------------------------
    @Slot(bool)
    def _on_option_toggled(self, _checked: bool) -> None:
        self.refresh_now()

    def refresh(self) -> None:
        problem = self.ready_message()
        if problem is None and self.info.image_shape is None:
            problem = (f"{self.info.dataset} is not image data: its {self.info.num_features} features do not "
                       "form a picture. The decision regions view shows what W does on 2-D data.")
        if problem is not None:
            self.shown_templates = self.shown_gradients = None
            self.show_message(problem)
            return
        W, b = self.weights
        shared = self.shared_check.isChecked()
        with_gradient = self.gradient_check.isChecked()
        image_shape = tuple(self.info.image_shape)
        self._ensure_cells(len(W), with_gradient)
        self.shown_templates = templates(W, image_shape, shared_scale=shared)
        self.shown_gradients = None
        text = f"W at step {self.step}: weights from {format_value(W.min())} to {format_value(W.max())}"
        if with_gradient:
            x, y = self._gradient_batch()
            loss_value, dW, _ = reference.loss_and_grad(W, b, x, y, self.loss_name, self.reg)
            self.shown_gradients = gradient_images(dW, image_shape, shared)
            text += (f" · ∂L/∂W ({self.loss_name}, λ = {self.reg:g}) on {len(y)} training images: loss "
                     f"{format_value(loss_value)}, ‖∂L/∂W‖ = {format_value(float(np.linalg.norm(dW)))}")
        for c, (template_item, gradient_item) in enumerate(self._cells):
            template_item.setImage(_displayable(self.shown_templates[c]), levels=(0.0, 1.0))
            if gradient_item is not None:
                gradient_item.setImage(_displayable(self.shown_gradients[c]), levels=(0.0, 1.0))
        scale = "shared scale: mid grey = 0" if shared else "each image on its own scale"
        if with_gradient and image_shape[-1] == 1:
            scale += " · ∂L/∂W: blue < 0 < red (a step moves W against it)"
        self.caption.setText(f"{text} · {scale}")
        self.show_content()

    def _gradient_batch(self) -> tuple[np.ndarray, np.ndarray]:
        if self._batch is None:
            X, y = self.dataset.X_train[:GRADIENT_BATCH], self.dataset.y_train[:GRADIENT_BATCH]
            self._batch = (self.preprocess.apply(X), np.asarray(y, np.int64))
        return self._batch

    def _ensure_cells(self, num_classes: int, with_gradient: bool) -> None:
        """(Re)build the grid of image items when the class count, names or the gradient toggle change."""
        span = 2 if with_gradient else 1
        columns = self._best_columns(num_classes, span)
        key = (num_classes, tuple(self.info.class_names), with_gradient, columns)
        if key == self._layout_key:
            return
        self._layout_key = key
        self.graphics.clear()
        self._cells = []
        for c in range(num_classes):
            row, column = divmod(c, columns)
            name = self.info.class_names[c]
            template_item = self._add_image(row, span * column, name)
            gradient_item = None
            if with_gradient:
                gradient_item = self._add_image(row, span * column + 1, f"∂L/∂W of {name}")
                if self.info.image_shape[-1] == 1:
                    gradient_item.setLookupTable(self._gradient_lut)
            self._cells.append((template_item, gradient_item))

    def _best_columns(self, num_classes: int, span: int) -> int:
        """Classes per row that make the images largest in the space there is (``MAX_COLUMNS`` before layout)."""
        width, height = self.graphics.width(), self.graphics.height()
        if width < 50 or height < 50:
            return max(1, min(MAX_COLUMNS, num_classes))
        best, best_size = 1, -1.0
        for columns in range(1, num_classes + 1):
            rows = math.ceil(num_classes / columns)
            size = min(width / (columns * span), height / rows - TITLE_HEIGHT)
            if size > best_size + 0.5:
                best, best_size = columns, size
        return best

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        if self._layout_key is not None and not self.showing_message and self.info is not None \
                and self.info.image_shape is not None and self.weights is not None:
            span = 2 if self.gradient_check.isChecked() else 1
            if self._best_columns(len(self.weights[0]), span) != self._layout_key[-1]:
                self._dirty = True  # rebuilt on the next tick, not on every pixel of a drag

    def _add_image(self, row: int, column: int, title: str) -> pg.ImageItem:
        plot = self.graphics.addPlot(row=row, col=column, title=title)
        plot.titleLabel.setText(title, size="9pt", color="#222222")
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.invertY(True)
        plot.setAspectLocked(True)
        item = pg.ImageItem(axisOrder="row-major")
        plot.addItem(item)
        shape = self.info.image_shape
        plot.setRange(xRange=(0, shape[1]), yRange=(0, shape[0]), padding=0.02)
        return item

    # for tests and scripts ----------------------------------------------------------------------------------
    def template_items(self) -> list[pg.ImageItem]:
        return [cell[0] for cell in self._cells]

    def gradient_items(self) -> list[pg.ImageItem]:
        return [cell[1] for cell in self._cells if cell[1] is not None]


def gradient_images(dW: np.ndarray, image_shape, shared_scale: bool) -> np.ndarray:
    """Gradient rows as images in [0, 1] with 0.5 = zero: on one scale, or each row on its own symmetric scale.

    (The templates' own per-class stretch would move zero, and the diverging colours would lie.)
    """
    if shared_scale:
        return templates(dW, image_shape, shared_scale=True)
    return np.concatenate([templates(row[None, :], image_shape, shared_scale=True) for row in dW])


def _displayable(image: np.ndarray) -> np.ndarray:
    """(H, W, 1) grey as (H, W) (a single channel is drawn as grey); colour stays (H, W, 3)."""
    return image[..., 0] if image.shape[-1] == 1 else image
