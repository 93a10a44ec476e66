"""Answering dialogs as a person does, whether the window opens them modally (a nested event loop) or not.

:class:`DialogAnswerer` looks at the application's top-level windows every few milliseconds, from a timer that
also fires inside a dialog's own event loop, and hands each dialog that has become visible to the test's answer
(type a path, click a button). A test then asserts on what the dialogs said and on what the window did.
"""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QLineEdit, QMessageBox

POLL_MS = 50


class DialogAnswerer(QObject):
    """Calls ``answer(dialog)`` once for every dialog that shows, until :meth:`stop`.

    Attributes
    ----------
    seen : list of QDialog
        The dialogs answered, in order.
    texts : list of str
        What each one said: a message box's text, a dialog's window title otherwise.
    """

    def __init__(self, answer) -> None:
        super().__init__(QApplication.instance())
        self.answer = answer
        self.seen: list[QDialog] = []
        self.texts: list[str] = []
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._on_timeout)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.deleteLater()

    @Slot()
    def _on_timeout(self) -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible() and widget not in self.seen:
                self.seen.append(widget)
                self.texts.append(widget.text() if isinstance(widget, QMessageBox) else widget.windowTitle())
                self.answer(widget)
                return  # one at a time: answering may open or close others


def type_path_and_accept(dialog: QFileDialog, path) -> None:
    """Type ``path`` into a (non-native) file dialog's name box and press Return, as a person does."""
    box = dialog.findChild(QLineEdit, "fileNameEdit")
    assert box is not None, "not Qt's own file dialog: a test cannot type into it"
    box.selectAll()
    QTest.keyClicks(box, str(path))
    QTest.keyClick(box, Qt.Key.Key_Return)


def press_ok(box: QMessageBox) -> None:
    """Click a message box's default (or first) button."""
    button = box.defaultButton() or (box.buttons()[0] if box.buttons() else None)
    if button is not None:
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    else:
        box.close()


def press_button(text: str):
    """An answer that clicks the button reading ``text`` (``&`` accelerators ignored) in a message box."""

    def answer(box) -> None:
        buttons = [b for b in box.buttons() if b.text().replace("&", "") == text] if isinstance(box, QMessageBox) \
            else []
        assert buttons, f"no button {text!r} in the dialog {box.windowTitle()!r}"
        QTest.mouseClick(buttons[0], Qt.MouseButton.LeftButton)

    return answer


@contextmanager
def answering(button_text: str):
    """While the block runs, click ``button_text`` in each dialog that opens (a box run with ``exec()`` blocks the
    test's own code until someone answers it); yields the list of what the answered dialogs said. A dialog without
    that button fails the test."""
    answerer = DialogAnswerer(press_button(button_text))
    try:
        yield answerer.texts
    finally:
        answerer.stop()
