"""Looking at a layout as a person does: is a text cut, is a widget cut by its parent, is a plot's axis title
cut (issue 12, items 3–7). Helper B's additions to :mod:`tests.gui.person` (which is shared).

Each check reads geometry and size hints only (what Qt draws a widget at, against what its text needs); nothing
here calls the app's own code.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (QAbstractButton, QAbstractScrollArea, QComboBox, QLabel, QStyle, QStyleOptionComboBox,
                               QTabBar, QToolButton, QWidget)

from tests.gui.person import click, global_rect, screen_rect, wait_idle


def shown(widget: QWidget) -> bool:
    return widget.isVisible() and widget.width() > 0 and widget.height() > 0


def _text_cut(widget: QWidget) -> str | None:
    """Why ``widget``'s own text is drawn cut, or ``None``."""
    if isinstance(widget, QLabel):
        if not widget.text().strip() or widget.pixmap() is not None and not widget.pixmap().isNull():
            return None
        if widget.wordWrap():
            need = widget.heightForWidth(widget.width())
            return f"needs {need} px of height, has {widget.height()}" if widget.height() + 1 < need else None
        need = widget.sizeHint().width()
        return f"needs {need} px, has {widget.width()}" if widget.width() + 1 < need else None
    if isinstance(widget, QComboBox):
        option = QStyleOptionComboBox()
        widget.initStyleOption(option)
        field = widget.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                              QStyle.SubControl.SC_ComboBoxEditField, widget)
        need = widget.fontMetrics().horizontalAdvance(widget.currentText())
        if widget.isEditable() or not widget.currentText():
            return None
        return f"its text needs {need} px, the field has {field.width()}" if field.width() + 1 < need else None
    if isinstance(widget, QAbstractButton) and widget.text():
        need = widget.sizeHint().width()
        return f"needs {need} px, has {widget.width()}" if widget.width() + 1 < need else None
    return None


def _cut_by_parents(widget: QWidget, top: QWidget) -> str | None:
    """Whether an ancestor below ``top`` (or ``top``) cuts ``widget``'s rectangle; the viewport of a scroll area
    does not count (it scrolls to what it hides)."""
    rect = QRect(QPoint(0, 0), widget.size())
    child = widget
    parent = widget.parentWidget()
    while parent is not None:
        rect = rect.translated(child.pos())
        if isinstance(parent.parentWidget(), QAbstractScrollArea) and parent is parent.parentWidget().viewport():
            return None  # it scrolls
        if not parent.rect().contains(rect):
            return f"cut by {parent.objectName() or type(parent).__name__} ({rect} not in {parent.rect()})"
        if parent is top:
            return None
        child, parent = parent, parent.parentWidget()
    return None


def _axis_titles_cut(graphics: pg.GraphicsView) -> list[str]:
    """Axis titles and plot titles of ``graphics``' plots that are longer than their axis or plot."""
    problems = []
    for item in graphics.scene().items():
        if isinstance(item, pg.AxisItem) and item.isVisible() and item.label.isVisible() and item.labelText:
            length = item.width() if item.orientation in ("top", "bottom") else item.height()
            need = item.label.boundingRect().width()
            if length > 0 and need > length + 1:
                problems.append(f"axis title {item.labelText!r} needs {need:.0f} px, the axis is {length:.0f}")
        if isinstance(item, pg.PlotItem) and item.titleLabel.isVisible() and item.titleLabel.text:
            need = item.titleLabel.item.boundingRect().width()
            if need > item.width() + 1:
                problems.append(f"title {item.titleLabel.text!r} needs {need:.0f} px, the plot is {item.width():.0f}")
    return problems


def cut_things(top: QWidget) -> list[str]:
    """Everything visible inside ``top`` whose text or rectangle is drawn cut (empty when nothing is)."""
    problems = []
    for widget in [top, *top.findChildren(QWidget)]:
        if not shown(widget) or isinstance(widget.parentWidget(), QTabBar) and isinstance(widget, QToolButton):
            continue
        name = widget.objectName() or type(widget).__name__
        text = widget.text() if hasattr(widget, "text") and callable(widget.text) else ""
        why = _text_cut(widget)
        if why:
            problems.append(f"{name} {text!r}: {why}")
        if widget is not top:
            why = _cut_by_parents(widget, top)
            if why:
                problems.append(f"{name} {text!r}: {why}")
        if isinstance(widget, pg.GraphicsView):
            problems.extend(f"{name}: {why}" for why in _axis_titles_cut(widget))
    return problems


def off_screen(widgets) -> list[str]:
    """The widgets (of ``widgets``) not wholly inside their screen's available area."""
    return [f"{w.objectName() or type(w).__name__} at {global_rect(w)} (screen {screen_rect(w)})"
            for w in widgets if not (w.isVisible() and screen_rect(w).contains(global_rect(w)))]


def tab_bars(window) -> list[QTabBar]:
    """The main window's visible dock tab bars."""
    return [bar for bar in window.findChildren(QTabBar) if bar.isVisible() and bar.parentWidget() is window]


def tab_titles_cut(window) -> list[str]:
    """Tab titles drawn shorter than they are (Qt elides them: "Cl…")."""
    problems = []
    for bar in tab_bars(window):
        for i in range(bar.count()):
            need = bar.fontMetrics().horizontalAdvance(bar.tabText(i))
            if bar.tabRect(i).width() < need:
                problems.append(f"{bar.tabText(i)!r}: tab {bar.tabRect(i).width()} px, text {need} px")
    return problems


def raise_view_by_tab(qtbot, window, title: str) -> None:
    """Click the dock tab titled ``title``, scrolling the tab bar with its arrow buttons as a person would."""
    for bar in tab_bars(window):
        titles = [bar.tabText(i) for i in range(bar.count())]
        if title not in titles:
            continue
        index = titles.index(title)
        arrows = [b for b in bar.findChildren(QToolButton) if b.isVisible()]
        for _ in range(2 * bar.count()):
            rect = bar.tabRect(index)
            if bar.rect().contains(rect.center()) and all(not a.geometry().intersects(rect) for a in arrows):
                break
            left = sorted(arrows, key=lambda a: a.x())
            arrow = left[0] if rect.center().x() < bar.width() // 2 else left[-1]
            click(qtbot, arrow)
            wait_idle(qtbot, 50)
        click(qtbot, bar, pos=bar.tabRect(index).center())
        wait_idle(qtbot, 200)
        return
    raise AssertionError(f"no dock tab titled {title!r}")
