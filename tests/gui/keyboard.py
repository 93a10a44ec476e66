"""Using the window from the keyboard alone, as a person without a mouse does (issue 17 item 4).

A key goes where the keyboard focus is: :func:`key` sends it to the focused widget (the active window when no
widget has focus), so a shortcut fires or a focused box takes the key exactly as it would on a person's screen.
:func:`tab_to` walks the focus chain with Tab until a widget holds the focus and records every stop on the way.
Nothing here calls the window's own slots: what a test asserts is what the keys did to what is shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QTabBar, QWidget

from tests.gui.person import WAIT_MS, show_view

MAX_TAB_PRESSES = 300
"""More Tab presses than the window has stops: a walk that has not arrived by then is stuck or lost."""


def focused() -> QWidget | None:
    """The widget that holds the keyboard focus."""
    return QApplication.focusWidget()


def key(qtbot, which, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Press and release ``which`` where the keyboard focus is."""
    target = focused() or QApplication.activeWindow()
    assert target is not None, "no widget and no window has the keyboard"
    qtbot.keyClick(target, which, modifier)


def describe(widget: QWidget | None) -> str:
    """``QPushButton 'raceButton' in raceView``: enough to read a focus walk in a failure message."""
    if widget is None:
        return "nothing"
    names = []
    parent = widget.parentWidget()
    while parent is not None and len(names) < 2:
        if parent.objectName() and not parent.objectName().startswith("qt_"):
            names.append(parent.objectName())
        parent = parent.parentWidget()
    where = f" in {'/'.join(names)}" if names else ""
    return f"{type(widget).__name__} {widget.objectName()!r}{where}"


def dock_of(widget: QWidget) -> QDockWidget | None:
    while widget is not None and not isinstance(widget, QDockWidget):
        widget = widget.parentWidget()
    return widget


def behind_a_tab(window, widget: QWidget) -> bool:
    """``widget`` lies in a view whose dock is tabbed behind another one: a person cannot see it."""
    dock = dock_of(widget)
    for name, view_dock in window.view_docks.items():
        if dock is view_dock:
            view = window.views[name]
            return view.visibleRegion().isEmpty()
    return False


def tab_to(qtbot, window, target: QWidget, backwards: bool = False, walk: list | None = None) -> int:
    """Press Tab (Shift+Tab when ``backwards``) until ``target`` holds the focus; the number of presses. Every
    widget the focus stops on is appended to ``walk``."""
    which, modifier = ((Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier) if backwards
                       else (Qt.Key.Key_Tab, Qt.KeyboardModifier.NoModifier))
    stops = walk if walk is not None else []
    for presses in range(1, MAX_TAB_PRESSES + 1):
        key(qtbot, which, modifier)
        qtbot.wait(5)
        stops.append(focused())
        if focused() is target:
            return presses
    tail = ", ".join(describe(w) for w in stops[-8:])
    raise AssertionError(f"{MAX_TAB_PRESSES} presses of {'Shift+' if backwards else ''}Tab never reached "
                         f"{describe(target)}; the last stops: {tail}")


def current_tab_title(window, dock: QDockWidget) -> str:
    """The title of the tab in front in the tab bar that holds ``dock``'s tab."""
    title = dock.windowTitle()
    for bar in window.findChildren(QTabBar):
        titles = [bar.tabText(i) for i in range(bar.count())]
        if bar.isVisible() and title in titles:
            return bar.tabText(bar.currentIndex())
    return ""


def wait_for_focus(qtbot, widget: QWidget) -> None:
    qtbot.waitUntil(lambda: focused() is widget, timeout=WAIT_MS)


def click_view_tab(qtbot, window, name: str):
    """Click the tab of view ``name`` (see :func:`tests.gui.person.show_view`); the view, once it can be seen."""
    return show_view(qtbot, window, name)
