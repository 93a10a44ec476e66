"""What the inspection views share: the base with a "not for this data" page, colours, numbers, small images.

Each inspection view subclasses :class:`InspectionView`; it puts its widgets on ``self.content`` and calls
``self.show_message(text)`` when the loaded data set does not suit it (the view then shows only that text).
The maths stays in :mod:`gdstudio.engine.inspect`; this module only turns numbers into pixels and text.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from gdstudio.data.dataset import Preprocess
from gdstudio.gui.views.base import LiveView

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
"""One colour per class (matplotlib's tab10), the same in every view; more classes wrap around."""
CORRECT_COLOUR = "#2ca02c"
WRONG_COLOUR = "#d62728"
NEUTRAL_COLOUR = "#7f8c9d"
PLOT_BACKGROUND = "w"
PLOT_FOREGROUND = "#333333"
FLOAT64_CACHE_LIMIT = 4_000_000
"""Preprocessed splits up to this many values (32 MB) are cached in float64 (exactly the reference kernels'
numbers); larger ones in float32."""


def class_colour(index: int) -> QColor:
    return QColor(CLASS_COLOURS[index % len(CLASS_COLOURS)])


def light_colour(index: int, amount: float = 0.35) -> tuple[int, int, int]:
    """The class colour mixed with white (``amount`` of the colour), as an RGB triple."""
    colour = class_colour(index)
    return tuple(round(255 - amount * (255 - channel)) for channel in colour.getRgb()[:3])


def format_value(value: float) -> str:
    """Four significant digits, with a typographic minus (the lecture's notation)."""
    return f"{value + 0.0:.4g}".replace("-", "−")  # + 0.0 turns −0 into 0


def short_names(names, limit: int = 5) -> list[str]:
    """Class names short enough for a tick label under a narrow bar."""
    return [name if len(name) <= limit else name[:limit - 1] + "." for name in names]


def preprocess_of(info) -> Preprocess:
    """The preprocessing record of a session, rebuilt from its :class:`~gdstudio.gui.worker.SessionInfo`."""
    return Preprocess(mean=np.asarray(info.mean, np.float32), scale=float(info.scale))


def preprocess_rows(preprocess: Preprocess, X: np.ndarray) -> np.ndarray:
    """``preprocess.apply(X)``, in float32 when the result would be large (see ``FLOAT64_CACHE_LIMIT``)."""
    if X.size <= FLOAT64_CACHE_LIMIT:
        return preprocess.apply(X)
    return ((X.astype(np.float32) - preprocess.mean.astype(np.float32)) * np.float32(preprocess.scale))


def style_plot(plot: pg.PlotItem) -> None:
    """Plots of the inspection views: no mouse panning or zooming (the views size themselves), no menu."""
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.hideButtons()


def pixels_pixmap(pixels: np.ndarray, image_shape, max_value: int, size: int, border: str | None = None,
                  border_width: int = 3) -> QPixmap:
    """A raw image as a square pixmap of ``size`` pixels (nearest-neighbour), with an optional coloured frame.

    Parameters
    ----------
    pixels : ndarray of shape (D,), uint8 — one row of a data set
    image_shape : (H, W, channels) with channels 1 or 3
    """
    height, width, channels = image_shape
    values = np.asarray(pixels, np.float64).reshape(height, width, channels)
    data = np.ascontiguousarray(np.clip(values * (255.0 / max(max_value, 1)), 0, 255).astype(np.uint8))
    if channels == 1:
        image = QImage(data.tobytes(), width, height, width, QImage.Format.Format_Grayscale8).copy()
    else:
        image = QImage(data[..., :3].tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    pixmap = QPixmap.fromImage(image).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.FastTransformation)
    if border:
        painter = QPainter(pixmap)
        pen = QPen(QColor(border))
        pen.setWidth(border_width)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        half = border_width // 2
        painter.drawRect(half, half, pixmap.width() - border_width, pixmap.height() - border_width)
        painter.end()
    return pixmap


def image_for_display(pixels: np.ndarray, image_shape) -> np.ndarray:
    """A raw image as an ImageItem wants it in row-major order: (H, W) for grey, (H, W, 3) for colour."""
    height, width, channels = image_shape
    image = np.asarray(pixels).reshape(height, width, channels)
    return image[..., 0] if channels == 1 else image


class InspectionView(LiveView):
    """A :class:`LiveView` with a page of content and a page holding one message.

    Subclasses build their widgets on ``self.content`` in ``__init__`` and, in ``refresh``, call
    :meth:`show_message` when they cannot draw (wrong kind of data, no weights yet) or :meth:`show_content`.
    ``loss_name`` and ``reg`` are the values in force: the newest record's, else the session's.
    """

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.preprocess: Preprocess | None = None
        self.content = QWidget(self)
        self.message_label = QLabel(self)
        self.message_label.setObjectName(f"{self.object_name}Message")
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        self.message_label.setMargin(24)
        self._pages = QStackedLayout(self)
        self._pages.addWidget(self.content)
        self._pages.addWidget(self.message_label)
        self.show_message("Waiting for a session…")

    # fed by the main window ---------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self.last_record = None  # the previous session's record would name the wrong loss
        self.preprocess = preprocess_of(info)

    # state ----------------------------------------------------------------------------------------------------
    @property
    def loss_name(self) -> str:
        if self.last_record is not None:
            return self.last_record.loss_name
        return self.info.loss if self.info is not None else "softmax"

    @property
    def reg(self) -> float:
        if self.last_record is not None:
            return float(self.last_record.reg)
        return float(self.info.reg) if self.info is not None else 0.0

    @property
    def step(self) -> int:
        if self.last_record is not None:
            return int(self.last_record.step)
        return int(self.info.step) if self.info is not None else 0

    def ready_message(self) -> str | None:
        """Why the view cannot draw yet (no session, no weights, the data set not readable here), or None."""
        if self.info is None:
            return "Waiting for a session…"
        if self.dataset is None:
            return (f"The views cannot read the data set {self.info.dataset!r} here (it was opened from a path "
                    "only the training thread knows).")
        if self.weights is None:
            return "Waiting for the first weights…"
        return None

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self._pages.setCurrentWidget(self.message_label)

    def show_content(self) -> None:
        self._pages.setCurrentWidget(self.content)

    @property
    def showing_message(self) -> bool:
        return self._pages.currentWidget() is self.message_label

    def refresh_now(self) -> None:
        """Redraw at once (after a click on the view's own controls), rather than on the next tick."""
        self._dirty = False
        self.refresh()
