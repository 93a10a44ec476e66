"""The class templates: each row of W drawn as an image, optionally beside its gradient row ∂L/∂W."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

from gdstudio.engine.inspect import templates
from gdstudio.gui.flow import flow_row
from gdstudio.gui.views.inspection.common import PLOT_BACKGROUND, InspectionView, format_value
from gdstudio.kernels import reference

GRADIENT_BATCH = 256
"""The gradient rows are ∂L/∂W on this many training images (the first ones: fixed, so frames compare)."""
GRADIENT_COLOUR_MAP = "CET-D1"
"""Grey gradient rows are drawn blue (negative) – white – red (positive), so they never pass for templates."""
MAX_COLUMNS = 5
"""Templates per row of the grid before the view has a size (then the shape that makes them largest)."""
TITLE_HEIGHT = 18
"""Screen pixels a template's title takes above it (for choosing the grid's shape)."""


class TemplatesView(InspectionView):
    """Each class's weights as an image in the data set's shape, live, with the gradient rows on demand.

    ``shown_templates`` and ``shown_gradients`` hold the arrays drawn last, (C, H, W, channels) in [0, 1], as
    :func:`gdstudio.engine.inspect.templates` makes them (the gradients through :func:`gradient_images`).
    """

    object_name = "templatesView"
    title = "Class templates"
    refresh_hz = 4.0

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.shown_templates: np.ndarray | None = None
        self.shown_gradients: np.ndarray | None = None
        self._batch: tuple[np.ndarray, np.ndarray] | None = None  # (x preprocessed, y) for the gradient
        diverging = pg.colormap.get(GRADIENT_COLOUR_MAP)
        self._gradient_colours = diverging.getLookupTable(0.0, 1.0, 256)[:, :3].astype(np.float32) / 255.0
        self._layout_key = None
        self._grid: MosaicGrid | None = None
        self._titles: list[pg.TextItem] = []

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
        # One image holds every template (and gradient row), with the class names over it: one item to paint
        # per frame, not a plot per class (ten plots cost a tenth of the training's speed while it ran).
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("templatesGraphics")
        self.graphics.setBackground(PLOT_BACKGROUND)
        self.view_box = self.graphics.addViewBox()
        self.view_box.setMouseEnabled(x=False, y=False)
        self.view_box.setMenuEnabled(False)
        self.view_box.invertY(True)
        self.view_box.setAspectLocked(True)
        self.mosaic_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.mosaic_item)

        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(flow_row(self.shared_check, self.gradient_check))  # two rows in a narrow dock
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.caption)
        self.setMinimumSize(240, 260)

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
        self._ensure_layout(len(W), with_gradient)
        self.shown_templates = templates(W, image_shape, shared_scale=shared)
        self.shown_gradients = None
        text = f"W at step {self.step}: weights from {format_value(W.min())} to {format_value(W.max())}"
        if with_gradient:
            x, y = self._gradient_batch()
            loss_value, dW, _ = reference.loss_and_grad(W, b, x, y, self.loss_name, self.reg)
            self.shown_gradients = gradient_images(dW, image_shape, shared)
            text += (f" · ∂L/∂W ({self.loss_name}, λ = {self.reg:g}) on {len(y)} training images: loss "
                     f"{format_value(loss_value)}, ‖∂L/∂W‖ = {format_value(float(np.linalg.norm(dW)))}")
        gradients = None if self.shown_gradients is None else self._gradient_rgb(self.shown_gradients)
        self.mosaic_item.setImage(self._grid.compose(_rgb(self.shown_templates), gradients), levels=(0.0, 1.0))
        scale = "shared scale: mid grey = 0" if shared else "each image on its own scale"
        if with_gradient and image_shape[-1] == 1:
            scale += " · ∂L/∂W: blue < 0 < red (a step moves W against it)"
        self.caption.setText(f"{text} · {scale}")
        self.show_content()

    def _gradient_rgb(self, images: np.ndarray) -> np.ndarray:
        """Grey gradient rows through the diverging colours; colour ones as they are."""
        if images.shape[-1] != 1:
            return images
        index = np.clip(np.rint(images[..., 0] * 255), 0, 255).astype(np.intp)
        return self._gradient_colours[index]

    def _gradient_batch(self) -> tuple[np.ndarray, np.ndarray]:
        if self._batch is None:
            X, y = self.dataset.X_train[:GRADIENT_BATCH], self.dataset.y_train[:GRADIENT_BATCH]
            self._batch = (self.preprocess.apply(X), np.asarray(y, np.int64))
        return self._batch

    def _ensure_layout(self, num_classes: int, with_gradient: bool) -> None:
        """(Re)place the grid and the class names when the class count, names, gradient toggle or shape change."""
        span = 2 if with_gradient else 1
        columns = self._best_columns(num_classes, span)
        key = (num_classes, tuple(self.info.class_names), with_gradient, columns)
        if key == self._layout_key:
            return
        self._layout_key = key
        height, width = self.info.image_shape[:2]
        self._grid = MosaicGrid(num_classes, columns, span, height, width)
        for title in self._titles:
            self.view_box.removeItem(title)
        self._titles = []
        for c in range(num_classes):
            top, left = self._grid.origin(c)
            names = [(self.info.class_names[c], left)]
            if with_gradient:
                names.append(("∂L/∂W", left + width + self._grid.inner))
            for text, x in names:
                title = pg.TextItem(text, color="#222222", anchor=(0.5, 1.0))
                title.setPos(x + width / 2, top)
                self.view_box.addItem(title)
                self._titles.append(title)
        rows, cols = self._grid.shape
        self.view_box.setRange(xRange=(0, cols), yRange=(0, rows), padding=0.01)

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

    # for tests and scripts ----------------------------------------------------------------------------------
    def cell_image(self, c: int, gradient: bool = False) -> np.ndarray:
        """The RGB pixels (H, W, 3) in [0, 1] drawn for class ``c``'s template (or its gradient row)."""
        return self._grid.cell(self.mosaic_item.image, c, gradient)

    @property
    def shows_gradients(self) -> bool:
        return self._grid is not None and self._grid.span == 2


class MosaicGrid:
    """Where each class's template (and gradient row, beside it) sits in one RGB mosaic image.

    Cells are ``height × width`` pixels; a class takes ``span`` cells side by side, classes fill ``columns`` per
    row, with a gap of ``gap`` pixels between classes and ``title`` rows above each for its name.
    """

    def __init__(self, num_classes: int, columns: int, span: int, height: int, width: int) -> None:
        self.num_classes, self.columns, self.span = num_classes, columns, span
        self.height, self.width = height, width
        self.gap = max(1, round(width / 8))
        self.inner = max(1, round(width / 16)) if span == 2 else 0  # between a template and its gradient
        self.title = max(2, round(height / 3))
        rows = math.ceil(num_classes / columns)
        self.cell_w = span * width + self.inner + self.gap
        self.cell_h = height + self.title
        self.shape = (rows * self.cell_h, columns * self.cell_w - self.gap)

    def origin(self, c: int) -> tuple[int, int]:
        """Top-left pixel of class ``c``'s template."""
        row, column = divmod(c, self.columns)
        return row * self.cell_h + self.title, column * self.cell_w

    def _box(self, c: int, gradient: bool) -> tuple[slice, slice]:
        top, left = self.origin(c)
        if gradient:
            left += self.width + self.inner
        return slice(top, top + self.height), slice(left, left + self.width)

    def compose(self, templates_rgb: np.ndarray, gradients_rgb: np.ndarray | None) -> np.ndarray:
        """The mosaic (rows, columns, 3) float32 on a white ground."""
        mosaic = np.ones((*self.shape, 3), np.float32)
        for c in range(self.num_classes):
            mosaic[self._box(c, False)] = templates_rgb[c]
            if gradients_rgb is not None and self.span == 2:
                mosaic[self._box(c, True)] = gradients_rgb[c]
        return mosaic

    def cell(self, mosaic: np.ndarray, c: int, gradient: bool) -> np.ndarray:
        return mosaic[self._box(c, gradient)]


def gradient_images(dW: np.ndarray, image_shape, shared_scale: bool) -> np.ndarray:
    """Gradient rows as images in [0, 1] with 0.5 = zero: on one scale, or each row on its own symmetric scale.

    (The templates' own per-class stretch would move zero, and the diverging colours would lie.)
    """
    if shared_scale:
        return templates(dW, image_shape, shared_scale=True)
    return np.concatenate([templates(row[None, :], image_shape, shared_scale=True) for row in dW])


def _rgb(images: np.ndarray) -> np.ndarray:
    """(C, H, W, 1) grey or (C, H, W, 3) colour images as (C, H, W, 3)."""
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
