"""Getting a data set from the window: a download in its own thread behind a progress dialog that can cancel."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QThread, Qt, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from gdstudio.data.registry import DATASETS, download_dataset
from gdstudio.gui.worker import describe_error

PROGRESS_INTERVAL_S = 0.1


class DownloadCancelled(Exception):
    """Raised from the progress callback to stop a download; the data layer then removes the partial file."""


class DownloadThread(QThread):
    """Runs ``download_dataset(name)`` and reports through signals (connect them to GUI-thread slots).

    Signals
    -------
    progressed(str, object, object)
        ``(file name, bytes done, bytes in all or None)``, at most every ``PROGRESS_INTERVAL_S``.
    succeeded(str), failed(str), cancelled()
    """

    progressed = Signal(str, object, object)
    succeeded = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, name: str, download=download_dataset, parent=None) -> None:
        super().__init__(parent)
        self.name = name
        self._download = download
        self._cancel = threading.Event()
        self._last = 0.0

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            folder = self._download(self.name, progress=self._on_progress)
        except DownloadCancelled:
            self.cancelled.emit()
        except Exception as exc:  # every failure reaches the dialog
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.failed.emit(describe_error(exc))
        else:
            self.succeeded.emit(str(folder))

    def _on_progress(self, filename: str, done: int, total: int | None) -> None:
        if self._cancel.is_set():
            raise DownloadCancelled()
        now = time.perf_counter()
        if now - self._last >= PROGRESS_INTERVAL_S or (total is not None and done >= total):
            self._last = now
            self.progressed.emit(filename, done, total)


class DownloadDialog(QProgressDialog):
    """Downloads one data set with a progress bar and a Cancel button.

    Signals
    -------
    download_finished(str, bool, str)
        ``(data set, succeeded, message)``: the message says why it failed, or is empty.
    """

    download_finished = Signal(str, bool, str)

    def __init__(self, name: str, parent: QWidget | None = None, download=download_dataset) -> None:
        super().__init__(parent)
        self.setObjectName("downloadDialog")
        self.name = name
        title = DATASETS[name].title if name in DATASETS else name
        self.setWindowTitle(f"Getting {title}")
        self.setLabelText(f"Connecting to download {title}…")
        self.setRange(0, 1000)
        self.setValue(0)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(460)
        self.thread = DownloadThread(name, download)
        self.thread.progressed.connect(self._on_progressed)
        self.thread.succeeded.connect(self._on_succeeded)
        self.thread.failed.connect(self._on_failed)
        self.thread.cancelled.connect(self._on_cancelled)
        self.canceled.connect(self._on_cancel_clicked)

    def start(self) -> None:
        self.show()
        self.thread.start()

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Cancel and wait for the thread (closing the window)."""
        self.thread.cancel()
        return self.thread.wait(timeout_ms)

    @Slot(str, object, object)
    def _on_progressed(self, filename: str, done: int, total) -> None:
        megabytes = done / 1e6
        if total:
            self.setRange(0, 1000)
            self.setValue(int(1000 * done / total))
            self.setLabelText(f"{filename}: {megabytes:,.1f} of {total / 1e6:,.1f} MB")
        else:
            self.setRange(0, 0)
            self.setLabelText(f"{filename}: {megabytes:,.1f} MB")

    @Slot()
    def _on_cancel_clicked(self) -> None:
        self.thread.cancel()
        self.setLabelText("Cancelling…")

    @Slot(str)
    def _on_succeeded(self, folder: str) -> None:
        self._finish(True, "")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish(False, message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._finish(False, "cancelled")

    def _finish(self, ok: bool, message: str) -> None:
        self.thread.wait(1000)
        self.hide()
        self.download_finished.emit(self.name, ok, message)
        self.deleteLater()
