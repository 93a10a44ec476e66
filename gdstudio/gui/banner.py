"""The divergence banner: where and why a run blew up, and one click to lower α and carry on.

The click does not just divide α by ten: ten times too large often still bounces (the "α too large" lesson's
α = 2,500 ends at 45 % accuracy), so the training thread tries α/10, α/100, … from the weights kept and goes on
with the one that learns (:func:`~gdstudio.engine.recovery.stable_lr`). If the run diverges again, the banner
comes back."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from gdstudio.engine.progress import Progress
from gdstudio.engine.recovery import LR_FACTOR, TRIAL_STEPS
from gdstudio.gui.widgets import format_number


def plain_message(message: str) -> str:
    """The engine's message in the window's words: the CLI's ``--lr``/``--reg`` become α and λ."""
    return message.replace("--lr", "α").replace("--reg", "λ")


class DivergenceBanner(QFrame):
    """Hidden until a run diverges; then says why and offers "Lower α to … and resume".

    Signals
    -------
    resume_requested()
        "Lower α and resume": the run goes back to the best weights it had and trains on with an α that the
        training thread finds stable.
    """

    resume_requested = Signal()

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
        self.diverged_lr: float | None = None
        self.hide()

    def show_divergence(self, record: Progress) -> None:
        """Show the banner for a record whose status is ``diverged``."""
        self.diverged_lr = record.lr
        message = plain_message(record.message).rstrip(".")
        self.message_label.setText(f"<b>Training diverged and is paused.</b> {message}. "
                                   "Or type a smaller α (or λ) and press Start.")
        self.resume_button.setText("Lower α and resume")
        self.resume_button.setToolTip(
            f"Go back to the weights with the lowest loss seen, try α = {format_number(record.lr / LR_FACTOR)}, "
            f"{format_number(record.lr / LR_FACTOR ** 2)}, … for {TRIAL_STEPS} steps each from them, and train on "
            "with the one that lowers the loss most")
        self.show()

    @Slot()
    def _on_resume(self) -> None:
        if self.diverged_lr is not None:
            self.hide()
            self.resume_requested.emit()
