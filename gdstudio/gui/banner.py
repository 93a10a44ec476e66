"""The divergence banner: where and why a run blew up, and one click to lower α and carry on."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from gdstudio.engine.progress import Progress
from gdstudio.gui.widgets import format_number

LR_FACTOR = 0.1
""""Lower α" divides it by ten, as the engine's message suggests."""


def plain_message(message: str) -> str:
    """The engine's message in the window's words: the CLI's ``--lr``/``--reg`` become α and λ."""
    return message.replace("--lr", "α").replace("--reg", "λ")


class DivergenceBanner(QFrame):
    """Hidden until a run diverges; then says why and offers "Lower α to … and resume".

    Signals
    -------
    resume_requested(float)
        The new α; the run goes back to the best weights it had and trains on.
    """

    resume_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("divergenceBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#divergenceBanner { background: #fde2e1; border: 1px solid #e0a09c; border-radius: 4px; }"
                           "#divergenceBanner QLabel { color: #7a1712; }")
        self.message_label = QLabel(objectName="divergenceMessage")
        self.message_label.setWordWrap(True)
        self.resume_button = QPushButton(objectName="lowerLrButton")
        self.resume_button.clicked.connect(self._on_resume)
        self.dismiss_button = QPushButton("Dismiss", objectName="dismissBannerButton")
        self.dismiss_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.message_label, 1)
        layout.addWidget(self.resume_button)
        layout.addWidget(self.dismiss_button)
        self.suggested_lr: float | None = None
        self.hide()

    def show_divergence(self, record: Progress) -> None:
        """Show the banner for a record whose status is ``diverged``."""
        self.suggested_lr = record.lr * LR_FACTOR
        self.message_label.setText(f"<b>Training diverged and is paused.</b> {plain_message(record.message)}")
        self.resume_button.setText(f"Lower α to {format_number(self.suggested_lr)} and resume")
        self.resume_button.setToolTip("Go back to the weights with the lowest loss seen, set α ten times lower, "
                                      "and train on")
        self.show()

    @Slot()
    def _on_resume(self) -> None:
        if self.suggested_lr is not None:
            self.hide()
            self.resume_requested.emit(self.suggested_lr)
