"""A row of controls that wraps onto more rows when its width runs out (Qt's *Flow Layout* example), so that a
view's options fit a narrow dock, a small screen or presenter mode's larger fonts, instead of widening the view
until its dock scrolls sideways (issue 17 item 5)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QLayoutItem, QSizePolicy, QStyle, QWidget


class FlowLayout(QLayout):
    """Lays its items out left to right at their preferred widths, starting a new row where the next one would
    not fit; each row's items are centred on the row's height.

    Its minimum width is its widest item's, and its height follows its width (``heightForWidth``), so a box
    layout or a scroll area above it gives it the rows it needs.
    """

    def __init__(self, parent: QWidget | None = None, spacing: int = -1) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        if parent is None:
            self.setContentsMargins(0, 0, 0, 0)

    # QLayout's interface ---------------------------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:  # Qt override
        self._items.append(item)

    def count(self) -> int:  # Qt override
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # Qt override
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # Qt override
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # Qt override
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # Qt override
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # Qt override
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # Qt override
        """All items in one row."""
        shown = self._shown()
        left, top, right, bottom = self.getContentsMargins()
        width = sum(item.sizeHint().width() for item in shown) + self._gap(Qt.Orientation.Horizontal) * max(
            len(shown) - 1, 0)
        height = max((item.sizeHint().height() for item in shown), default=0)
        return QSize(width + left + right, height + top + bottom)

    def minimumSize(self) -> QSize:  # Qt override
        """The widest item alone on its row."""
        left, top, right, bottom = self.getContentsMargins()
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        return size + QSize(left + right, top + bottom)

    # the arrangement ---------------------------------------------------------------------------------------------
    def _shown(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _gap(self, orientation: Qt.Orientation) -> int:
        if self._spacing >= 0:
            return self._spacing
        parent = self.parentWidget()
        if parent is None:
            return 6
        metric = (QStyle.PixelMetric.PM_LayoutHorizontalSpacing if orientation == Qt.Orientation.Horizontal
                  else QStyle.PixelMetric.PM_LayoutVerticalSpacing)
        gap = parent.style().pixelMetric(metric, None, parent)
        return gap if gap >= 0 else 6

    def _arrange(self, rect: QRect, move: bool) -> int:
        """Place the items in ``rect`` (when ``move``); the height the rows take."""
        left, top, right, bottom = self.getContentsMargins()
        area = rect.adjusted(left, top, -right, -bottom)
        across, down = self._gap(Qt.Orientation.Horizontal), self._gap(Qt.Orientation.Vertical)
        rows: list[list[tuple[QLayoutItem, int]]] = [[]]
        x = 0
        for item in self._shown():
            # As wide as it would like, but no wider than the row (down to its minimum): a long label wraps.
            width = max(min(item.sizeHint().width(), area.width()), item.minimumSize().width())
            if rows[-1] and x + width > area.width():
                rows.append([])
                x = 0
            rows[-1].append((item, width))
            x += width + across
        y = area.y()
        for row in rows:
            if not row:
                continue
            heights = [item.heightForWidth(width) if item.hasHeightForWidth() else item.sizeHint().height()
                       for item, width in row]
            height = max(heights)
            x = area.x()
            if move:
                for (item, width), item_height in zip(row, heights):
                    item.setGeometry(QRect(QPoint(x, y + (height - item_height) // 2), QSize(width, item_height)))
                    x += width + across
            y += height + down
        return y - down - area.y() + top + bottom if any(rows) else top + bottom


def group(*parts: str | QWidget) -> QWidget:
    """Widgets (and texts, as labels) that stay together on one row of a :class:`FlowLayout`: a label and its
    box, "α from [ ] to [ ]"."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    last_label = None
    for part in parts:
        if isinstance(part, str):
            last_label = QLabel(part)
            layout.addWidget(last_label)
            continue
        if last_label is not None and last_label.buddy() is None:
            last_label.setBuddy(part)
        layout.addWidget(part)
    box.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return box


def flow_row(*items: QWidget, spacing: int = -1) -> FlowLayout:
    """A :class:`FlowLayout` holding ``items`` (widgets, or :func:`group` s of them)."""
    layout = FlowLayout(spacing=spacing)
    for item in items:
        layout.addWidget(item)
    return layout
