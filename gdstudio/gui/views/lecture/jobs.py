"""What the lecture views share: a background job thread, the views' fixed batch, and small drawing helpers.

Per ``shared/NOTES.md``: a job's signals are connected only to slots of the view that owns it (a QObject in the
GUI thread); every exception inside the job is caught and reported through ``failed``; stopping is cooperative
(``requestInterruption``, checked by the work between chunks); reports are batched at the source. Jobs are
held by a keeper until their thread ends, never by a view, so deleting a view never destroys a running thread.
"""

from __future__ import annotations

import time
import traceback

import numpy as np
import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from gdstudio.config import SPLIT_SEED
from gdstudio.data.dataset import Preprocess

REPORT_INTERVAL_S = 0.05
"""A job sends what it reported at most this often (the views redraw at a few hertz anyway)."""
STOP_WAIT_MS = 10_000
"""How long a view waits for its job to finish its current chunk when it is shut down."""

IN_PROCESS = {"backend": "cpu", "threads": 1}
"""Settings of the sessions a view trains in this process, beside the training thread: Numba's serial CPU kernels
(a second thread launching parallel kernels, or using the CUDA context, beside the training thread is asking for
trouble), so the race, the twins and a sweep point's replay never compete with the run being watched."""

STRATEGY_COLOURS = {"random-search": (214, 39, 40), "random-local-search": (255, 127, 14), "sgd": (31, 119, 180)}
TWIN_COLOURS = ((31, 119, 180), (214, 39, 40))


class Cancelled(Exception):
    """Raised inside a job's work when the view asked it to stop."""


class BackgroundJob(QThread):
    """Runs ``work(job)`` once in its own thread; ``work`` calls ``job.report(item)`` and ``job.check()``.

    Signals
    -------
    progressed(tuple)
        The items reported since the last emit, at most every ``REPORT_INTERVAL_S``.
    succeeded(object)
        What ``work`` returned (after the last ``progressed``).
    stopped()
        The work was cancelled (``work`` raised :class:`Cancelled`).
    failed(str, str)
        ``(message, traceback)`` of any other exception.
    """

    progressed = Signal(object)
    succeeded = Signal(object)
    stopped = Signal()
    failed = Signal(str, str)

    def __init__(self, work, parent=None) -> None:
        super().__init__(parent)
        self._work = work
        self._pending: list = []
        self._last_emit = 0.0
        self.ended = False  # set in the thread before its last signal: the view's buttons read it at once

    def report(self, item) -> None:
        """Queue ``item`` (plain data, copies only) for the view; sent in batches."""
        self._pending.append(item)
        if time.perf_counter() - self._last_emit >= REPORT_INTERVAL_S:
            self._flush()

    def check(self) -> None:
        """Raise :class:`Cancelled` when the view asked the job to stop."""
        if self.isInterruptionRequested():
            raise Cancelled()

    def run(self) -> None:  # QThread's entry point
        from gdstudio.gui.worker import describe_error

        try:
            result = self._work(self)
        except Cancelled:
            self._flush()
            self.ended = True
            self.stopped.emit()
        except Exception as exc:  # every failure reaches the view: a silent worker would leave it waiting
            self._flush()
            self.ended = True
            self.failed.emit(describe_error(exc), traceback.format_exc())
        else:
            self._flush()
            self.ended = True
            self.succeeded.emit(result)

    def _flush(self) -> None:
        if self._pending:
            batch, self._pending = tuple(self._pending), []
            self._last_emit = time.perf_counter()
            self.progressed.emit(batch)


def alive(job) -> bool:
    """False once Qt has deleted the job (the keeper deletes each one after it finishes): touching it then would
    crash the process, so every caller holding an old reference asks first."""
    return shiboken6.isValid(job)


def stop_job(job: BackgroundJob | None, wait_ms: int = STOP_WAIT_MS) -> bool:
    """Ask ``job`` to stop and wait up to ``wait_ms`` for it; True when it has ended."""
    if job is None or not alive(job):
        return True
    job.requestInterruption()
    return not job.isRunning() or job.wait(wait_ms)


class _JobKeeper(QObject):
    """Holds every running job until its thread has ended, whoever started it.

    A view may be deleted while its job runs (a closed dock, a test's local going out of scope); Qt aborts the
    process when a running ``QThread`` is destroyed, so no view owns its jobs: this keeper, living in the GUI
    thread, lets go of each one only after its ``finished`` signal. Quitting the application stops them all.
    """

    def __init__(self) -> None:
        super().__init__()
        self.jobs: set[BackgroundJob] = set()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop_all)

    def keep(self, job: BackgroundJob) -> None:
        self.jobs.add(job)
        job.finished.connect(self._on_finished)

    @Slot()
    def stop_all(self) -> None:
        jobs = list(self.jobs)
        for job in jobs:
            job.requestInterruption()
        for job in jobs:
            job.wait(STOP_WAIT_MS)

    @Slot()
    def _on_finished(self) -> None:
        job = self.sender()
        if job in self.jobs:
            self.jobs.discard(job)
            job.deleteLater()


_keeper: _JobKeeper | None = None


def start_job(work) -> BackgroundJob:
    """A :class:`BackgroundJob` for ``work``, kept alive until its thread ends; connect it, then ``start()``."""
    global _keeper
    if _keeper is None:
        _keeper = _JobKeeper()
    job = BackgroundJob(work)
    _keeper.keep(job)
    return job


def running_jobs() -> int:
    return 0 if _keeper is None else len(_keeper.jobs)


# ----------------------------------------------------------------------------------------------------------------
# The session's settings and data, as the views use them


def live_settings(info, record=None) -> dict:
    """The hyperparameters in force: the last progress record's, else the session's at load."""
    if record is not None:
        return {"lr": record.lr, "reg": record.reg, "batch_size": record.batch_size, "loss": record.loss_name}
    return {"lr": info.lr, "reg": info.reg, "batch_size": info.batch_size, "loss": info.loss}


def view_batch(dataset, info, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed batch of training rows, preprocessed like the session's (the rows ``probe_batch`` takes).

    Returns
    -------
    x : ndarray of shape (size, D), float64
    y : ndarray of shape (size,), int32
    """
    n = len(dataset.y_train)
    rows = np.sort(np.random.default_rng(SPLIT_SEED).permutation(n)[:min(size, n)])
    preprocess = Preprocess(np.asarray(info.mean, np.float32), float(info.scale))
    return preprocess.apply(dataset.X_train[rows]), dataset.y_train[rows]


def template_pixmap(W: np.ndarray, image_shape, cell: int = 48, gap: int = 4) -> QPixmap:
    """The rows of ``W`` (C, D) as one strip of class templates, each stretched over its own range."""
    from gdstudio.engine.inspect import templates

    images = templates(W, image_shape, shared_scale=False)  # (C, H, W, channels) in [0, 1]
    C, H, Wd, channels = images.shape
    zoom = max(1, cell // max(H, Wd))
    h, w = H * zoom, Wd * zoom
    strip = np.full((h, C * (w + gap) - gap, 3), 255, np.uint8)
    for k in range(C):
        tile = np.repeat(np.repeat(images[k], zoom, axis=0), zoom, axis=1)
        tile = np.clip(tile * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if channels == 1:
            tile = np.repeat(tile, 3, axis=2)
        strip[:, k * (w + gap):k * (w + gap) + w] = tile[:, :, :3]
    strip = np.ascontiguousarray(strip)
    image = QImage(strip.data, strip.shape[1], strip.shape[0], strip.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())  # copy: the QImage must not outlive the numpy buffer


def percent(value) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100.0 * value:.1f} %"
