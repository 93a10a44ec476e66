"""Helpers of ``test_demo_curves.py`` beyond ``person.py``: answering a question box as a person does."""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox


@contextmanager
def answering(qtbot, button_text: str, interval_ms: int = 50):
    """While the block runs, click ``button_text`` in any question box that opens (a box run with ``exec()``
    blocks the test until someone answers it), e.g. "Discard run" when a new session would replace a trained run.
    Nothing happens when no box opens."""
    answered = []

    def answer() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                for button in widget.buttons():
                    if button.text().replace("&", "") == button_text:
                        answered.append(widget.text())
                        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(answer)
    timer.start()
    try:
        yield answered
    finally:
        timer.stop()
