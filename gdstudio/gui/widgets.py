"""Small widgets of the controls (a spin box for numbers spanning decades, paired with a log-scale slider), and
keeping a window inside its screen."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication, QPixmap, QValidator
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QSlider, QSplitter,
                               QWidget)

SLIDER_STEPS_PER_DECADE = 24
_NICE = (1.0, 2.0, 5.0)


def format_number(value: float) -> str:
    """Short text for α or λ: ``0.5``, ``0.0001``, ``2.5e+04`` -> ``25000``, ``1e-07``-> ``1e-7``."""
    if value == 0:
        return "0"
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def nice_step(value: float, up: bool, floor: float) -> float:
    """The next value of the 1-2-5 sequence above (or below) ``value``; below ``floor`` comes 0."""
    if value <= 0:
        return floor if up else 0.0
    exponent = math.floor(math.log10(value))
    candidates = sorted(m * 10.0 ** e for e in (exponent - 1, exponent, exponent + 1) for m in _NICE)
    if up:
        return next(c for c in candidates if c > value * (1 + 1e-9))
    below = [c for c in candidates if c < value * (1 - 1e-9)]
    result = below[-1] if below else value / 2
    return result if result >= floor * (1 - 1e-9) else 0.0


class SciSpinBox(QDoubleSpinBox):
    """A ``QDoubleSpinBox`` that shows and accepts numbers like ``1e-7`` and steps through 1, 2, 5, 10 …

    Qt's spin box rounds its value to ``decimals()`` places; this one keeps 300 so tiny α values survive, and
    draws its own text.
    """

    def __init__(self, parent: QWidget | None = None, allow_zero: bool = False) -> None:
        super().__init__(parent)
        self.allow_zero = allow_zero
        self.floor = 1e-12
        self.setDecimals(300)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        # An emptied or unfinished box ("", " ", "1e") left with Tab or Return goes back to the value it had: the
        # nearest value Qt would pick is the minimum (α 1e-12, λ 0), a run that learns nothing (issue 17 item 1).
        self.setCorrectionMode(QDoubleSpinBox.CorrectionMode.CorrectToPreviousValue)

    def textFromValue(self, value: float) -> str:  # Qt override
        return format_number(value)

    def valueFromText(self, text: str) -> float:  # Qt override
        try:
            return float(text.strip().replace(",", ""))
        except ValueError:
            return self.value()

    def validate(self, text: str, position: int):  # Qt override
        stripped = text.strip().replace(",", "")
        try:
            value = float(stripped)
        except ValueError:
            partial = stripped == "" or stripped[-1:] in ("e", "E", "-", "+", ".")
            state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
            return state, text, position
        if not math.isfinite(value) or not self.minimum() <= value <= self.maximum():
            return QValidator.State.Intermediate, text, position
        return QValidator.State.Acceptable, text, position

    def stepBy(self, steps: int) -> None:  # Qt override
        value = self.value()
        for _ in range(abs(steps)):
            value = nice_step(value, steps > 0, self.floor if self.allow_zero else 0.0)
        if not self.allow_zero and value <= 0:
            value = self.minimum()
        self.setValue(min(max(value, self.minimum()), self.maximum()))

    def sizeHint(self):  # Qt override: 300 decimals would make Qt's guess very wide
        hint = super().sizeHint()
        hint.setWidth(self.fontMetrics().horizontalAdvance("0.00000000") + 40)
        return hint

    def minimumSizeHint(self):  # Qt override
        return self.sizeHint()


class LogSpinSlider(QWidget):
    """A :class:`SciSpinBox` and a slider on a log scale that spans ``decades`` around a value.

    Signals
    -------
    value_changed(float)
        From the spin box (typed or stepped) or the slider (while dragging too).
    slider_released()
        The slider was let go: a good moment to apply a value that was dragged.
    """

    value_changed = Signal(float)
    slider_released = Signal()

    def __init__(self, spin_name: str, slider_name: str, allow_zero: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spin = SciSpinBox(allow_zero=allow_zero)
        self.spin.setObjectName(spin_name)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName(slider_name)
        self.slider.setMinimumWidth(90)
        self._low_exponent = -6
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.spin)
        layout.addWidget(self.slider, 1)
        self.spin.valueChanged.connect(self._on_spin_changed)
        self.slider.valueChanged.connect(self._on_slider_moved)
        self.slider.sliderReleased.connect(self.slider_released)
        self.set_span(1e-6, 1.0)

    def value(self) -> float:
        return self.spin.value()

    def set_value(self, value: float, quiet: bool = True) -> None:
        """Show ``value`` (widening the span when it lies outside), without ``value_changed`` when ``quiet``."""
        if value > 0:
            low, high = 10.0 ** self._low_exponent, 10.0 ** self._high_exponent
            if not low <= value <= high:
                self.set_span(min(low, value), max(high, value))
        self.spin.blockSignals(quiet)
        try:
            self.spin.setValue(value)
        finally:
            self.spin.blockSignals(False)
        self._move_slider(self.spin.value())

    def set_span(self, low: float, high: float, maximum: float | None = None) -> None:
        """Let the slider run from the decade of ``low`` to that of ``high``; the spin box accepts
        ``[0 or low's decade, maximum]``."""
        self._low_exponent = math.floor(math.log10(low))
        self._high_exponent = max(math.ceil(math.log10(high)), self._low_exponent + 1)
        self.slider.blockSignals(True)
        self.slider.setRange(0, (self._high_exponent - self._low_exponent) * SLIDER_STEPS_PER_DECADE)
        self.slider.setPageStep(SLIDER_STEPS_PER_DECADE)
        self.slider.setSingleStep(max(1, SLIDER_STEPS_PER_DECADE // 8))
        self.slider.blockSignals(False)
        self.spin.floor = 10.0 ** self._low_exponent
        lowest = 0.0 if self.spin.allow_zero else min(1e-12, 10.0 ** self._low_exponent)
        self.spin.setRange(lowest, maximum if maximum is not None else max(1e12, 10.0 ** self._high_exponent))
        self.slider.setToolTip(f"log scale, {format_number(10.0 ** self._low_exponent)} … "
                               f"{format_number(10.0 ** self._high_exponent)}")
        self._move_slider(self.spin.value())

    def _move_slider(self, value: float) -> None:
        if value > 0:
            position = (math.log10(value) - self._low_exponent) * SLIDER_STEPS_PER_DECADE
        else:
            position = 0
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(min(max(position, 0), self.slider.maximum()))))
        self.slider.blockSignals(False)

    @Slot(float)
    def _on_spin_changed(self, value: float) -> None:
        self._move_slider(value)
        self.value_changed.emit(value)

    @Slot(int)
    def _on_slider_moved(self, position: int) -> None:
        exponent = self._low_exponent + position / SLIDER_STEPS_PER_DECADE
        value = float(f"{10.0 ** exponent:.2g}")  # two significant digits read better than 0.0316227766
        if position == 0 and self.spin.allow_zero and self.spin.value() == 0:
            return
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        self.value_changed.emit(value)


REFLOWED_HEIGHT = 220
"""The height a reflowing splitter's widget asks for (by default) when they stand one above the other: enough for
a plot's axis title ("validation accuracy (%)"); a dock lower than their sum scrolls to them."""


class ReflowingSplitter(QSplitter):
    """A splitter whose widgets stand side by side when it is at least ``side_by_side_width`` wide, and one above
    the other when it is narrower (a view in a narrow dock), so that no plot is squeezed until its axes' titles
    are cut. One above the other, each asks for ``stacked_height`` (or its minimum height)."""

    def __init__(self, side_by_side_width: int, parent: QWidget | None = None,
                 stacked_height: int = REFLOWED_HEIGHT) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.side_by_side_width = side_by_side_width
        self.stacked_height = stacked_height
        self.setChildrenCollapsible(False)

    def sizeHint(self) -> QSize:  # Qt override
        """One above the other, each ``stacked_height`` tall (or its minimum): the plots' own preferred heights
        added up made a view taller than a 1920×1080 screen's dock, and a view whose height follows its width (a
        wrapped label) is shown at its preferred height by its dock's scroll area, which then scrolled."""
        hint = super().sizeHint()
        if self.orientation() == Qt.Orientation.Vertical and self.count():
            heights = [max(self.widget(i).minimumSizeHint().height(), self.widget(i).minimumHeight(),
                           self.stacked_height) for i in range(self.count())]
            hint.setHeight(sum(heights) + self.handleWidth() * (self.count() - 1))
        return hint

    def resizeEvent(self, event) -> None:  # Qt override
        wide = event.size().width() >= self.side_by_side_width
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.orientation() != orientation:
            self.setOrientation(orientation)
            count = self.count()
            length = event.size().width() if wide else event.size().height()
            self.setSizes([max(length // max(count, 1), 1)] * count)
        super().resizeEvent(event)


class SharingSplitter(QSplitter):
    """A splitter that asks for no more than its widgets' minimum sizes and shares whatever its dock has: the
    widgets' own size hints (a table's rows, a plot's scene) would make a view taller than its dock, while an
    ignored size hint (Qt's ``Ignored`` policy) let the dock squeeze a plot below its minimum and cut it."""

    def sizeHint(self) -> QSize:  # Qt override
        return self.minimumSizeHint()


class WrappingColumn(QWidget):
    """A page whose minimum height follows its width: a wrapped label above a plot. Tabs and splitters ask
    only for a widget's minimum size, not its height for a width, so a summary that wraps onto a third line in a
    narrow dock pushed the plot below the page's edge."""

    def minimumSizeHint(self) -> QSize:  # Qt override
        hint = super().minimumSizeHint()
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth() and self.width() > 0:
            hint.setHeight(max(hint.height(), layout.totalMinimumHeightForWidth(self.width())))
        return hint

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()  # another width: another height for its label

    def event(self, event) -> bool:  # Qt override
        if event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # a new text: its holder asks again how low the page can be
        return super().event(event)


class _RowsFollowFont(QObject):
    """Sets a table's row height from its font now and at each change of it (presenter mode's larger font)."""

    def __init__(self, table, padding: int) -> None:
        super().__init__(table)
        self.padding = padding
        self._fit(table)
        table.installEventFilter(self)

    def _fit(self, table) -> None:
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + self.padding)

    def eventFilter(self, watched, event) -> bool:  # Qt override
        if event.type() == QEvent.Type.FontChange:
            self._fit(watched)
        return False


def rows_follow_font(table, padding: int = 6) -> None:
    """Keep ``table``'s rows as high as its font needs: a height set once from the normal font cut the row
    titles by a pixel in presenter mode (issue 17 item 5)."""
    _RowsFollowFont(table, padding)


class FittedPixmapLabel(QLabel):
    """A picture (a strip of class templates) drawn at its own size where there is room and shrunk to the width
    it is given where there is not: at its own size it made a view wider than a narrow dock, which then scrolled
    sideways (issue 17 item 5)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = QPixmap()
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def setPixmap(self, pixmap: QPixmap) -> None:  # Qt override
        self._full = QPixmap(pixmap)
        self.updateGeometry()
        self._fit()

    def clear(self) -> None:  # Qt override
        self._full = QPixmap()
        super().clear()
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # Qt override
        return self._full.size() if not self._full.isNull() else super().sizeHint()

    def minimumSizeHint(self) -> QSize:  # Qt override
        return QSize(min(self._full.width(), 40), 0) if not self._full.isNull() else super().minimumSizeHint()

    def hasHeightForWidth(self) -> bool:  # Qt override
        return not self._full.isNull()

    def heightForWidth(self, width: int) -> int:  # Qt override
        if self._full.isNull() or self._full.width() <= 0:
            return super().heightForWidth(width)
        return math.ceil(self._full.height() * min(1.0, width / self._full.width()))

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._full.isNull():
            return
        if self.width() >= self._full.width():
            super().setPixmap(self._full)
        else:
            super().setPixmap(self._full.scaledToWidth(max(self.width(), 1),
                                                       Qt.TransformationMode.SmoothTransformation))


class VerticalScrollArea(QScrollArea):
    """Scrolls its widget up and down, never sideways: it is always as wide as the widget wants to be, and
    follows it when that changes (presenter mode's larger fonts), so no text in it is ever cut at the side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def _wanted_width(self) -> int:
        widget = self.widget()
        if widget is None:
            return 0
        return widget.sizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def minimumSizeHint(self) -> QSize:  # Qt override
        hint = super().minimumSizeHint()
        return QSize(max(hint.width(), self._wanted_width()), hint.height())

    def sizeHint(self) -> QSize:  # Qt override
        hint = super().sizeHint()
        return QSize(max(hint.width(), self._wanted_width()), hint.height())

    def eventFilter(self, watched, event) -> bool:  # Qt override (QScrollArea filters its widget's events)
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the widget wants another size: so does this area, and its dock
        return super().eventFilter(watched, event)


# ----------------------------------------------------------------------------------------------------------------
# A window inside its screen


def _available(window: QWidget):
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def _frame_extra(window: QWidget) -> QSize:
    """What the window manager's frame adds to the window (nothing before it is mapped, or with no manager)."""
    frame, inner = window.frameGeometry(), window.geometry()
    return QSize(max(frame.width() - inner.width(), 0), max(frame.height() - inner.height(), 0))


def fitted_size(window: QWidget, wanted: QSize) -> QSize:
    """``wanted``, cut to the available area of the window's screen (its frame included)."""
    area, extra = _available(window), _frame_extra(window)
    return QSize(min(wanted.width(), area.width() - extra.width()),
                 min(wanted.height(), area.height() - extra.height()))


def fitted_position(window: QWidget) -> QPoint:
    """Where the window goes so that its frame lies inside its screen's available area (as near as it can to
    where it is)."""
    area, frame = _available(window), window.frameGeometry()
    x = min(max(frame.x(), area.left()), max(area.left(), area.right() + 1 - frame.width()))
    y = min(max(frame.y(), area.top()), max(area.top(), area.bottom() + 1 - frame.height()))
    return QPoint(x, y)
