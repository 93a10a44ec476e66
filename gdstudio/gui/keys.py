"""The keyboard: which keys the focused widget keeps, and which the window's one-key shortcuts take.

The window's shortcuts are single keys (Space: Start/Pause; S, R, K, L), and Qt gives a window shortcut the key
before the focused widget unless that widget claims it. Buttons and combo boxes do not claim theirs, so Space
started the run instead of pressing the focused button, and R typed to pick "Random search" in a combo box reset
the run (issue 17 item 4). :class:`KeyboardRouter` claims for the focused widget the keys it uses (Space and Return
for a button, typing for a combo box or a text box), and lets Return press a focused button, as Space does; every
other key (and every key where nothing that takes it has the focus) is still the window's shortcut.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QAbstractButton, QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QPlainTextEdit,
                               QTextEdit, QWidget)

TYPING_WIDGETS = (QComboBox, QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)
"""Widgets a person types into: a combo box picks the entry that starts with the letters typed."""
PRESS_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter)
RETURN_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
PLAIN_MODIFIERS = (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
"""Modifiers that leave a key a typed character; with Ctrl, Alt or Meta it is a shortcut."""


def plain(event: QKeyEvent) -> bool:
    """No modifier but Shift (or the keypad's): the key types, it is no Ctrl/Alt shortcut."""
    return not (event.modifiers() & ~PLAIN_MODIFIERS)


def keeps_key(widget: QWidget | None, event: QKeyEvent) -> bool:
    """Whether the focused ``widget`` uses the key of ``event`` itself, before any one-key shortcut."""
    if widget is None or not widget.isEnabled() or not plain(event):
        return False
    if isinstance(widget, QAbstractButton):
        return event.key() in PRESS_KEYS
    if isinstance(widget, TYPING_WIDGETS):
        text = event.text()
        return bool(text) and text.isprintable()
    return False


class KeyboardRouter(QObject):
    """An event filter for the main window and its docks (a floating dock is a window of its own).

    A key first goes to the focused widget as a ``ShortcutOverride`` event, which travels up its parents until one
    accepts it; accepted, the key goes to the focused widget and no shortcut fires. This filter accepts it for the
    keys :func:`keeps_key` gives the focused widget, and presses a focused button on Return (Qt presses only a
    dialog's buttons on Return; Space presses any).
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride:
            if keeps_key(QApplication.focusWidget(), event):
                event.accept()
                return True
        elif kind == QEvent.Type.KeyPress and event.key() in RETURN_KEYS and plain(event):
            button = QApplication.focusWidget()
            # The key reached the window: the button did not take it (a dialog's default button does).
            if isinstance(button, QAbstractButton) and button.isEnabled():
                button.animateClick()  # pressed and released as a click shows it; a tool button opens its menu
                return True
        return False
