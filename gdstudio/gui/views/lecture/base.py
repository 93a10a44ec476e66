"""The base of the lecture views: a :class:`LiveView` that runs its computations as background jobs."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from gdstudio.gui.views.base import LiveView
from gdstudio.gui.views.lecture.jobs import BackgroundJob, alive, live_settings, start_job, stop_job


class LectureView(LiveView):
    """A view whose heavy work runs in :class:`BackgroundJob` threads, one per ``key`` at a time.

    Signals
    -------
    computed(str)
        A job's result was drawn (the job's key): tests and scripted demos wait on it.
    """

    computed = Signal(str)
    refresh_hz = 2.0

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self._jobs: dict[str, BackgroundJob] = {}
        self.error: str | None = None
        self.status_label = QLabel("Load a data set to start.")
        self.status_label.setObjectName(f"{self.object_name}Status")
        self.status_label.setWordWrap(True)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # jobs ---------------------------------------------------------------------------------------------------------
    def start_job(self, key: str, work, progressed=None, succeeded=None, stopped=None) -> BackgroundJob:
        """Run ``work(job)`` in a thread; its signals go to the given slots of this view (GUI thread)."""
        if self._stopped:
            raise RuntimeError("the view has been shut down")
        stop_job(self._jobs.pop(key, None))
        job = start_job(work)  # not a child of this view: a running thread must outlive a deleted view
        job.setObjectName(key)
        if progressed is not None:
            job.progressed.connect(progressed)
        if succeeded is not None:
            job.succeeded.connect(succeeded)
        job.stopped.connect(stopped if stopped is not None else self._on_job_stopped)
        job.failed.connect(self._on_job_failed)
        job.finished.connect(self._on_job_finished)
        self._jobs[key] = job
        self.error = None
        job.start()
        return job

    def job_running(self, key: str) -> bool:
        job = self._jobs.get(key)
        # ``ended``: its outcome is on the way, so a Failed line never sits beside a Stop button while the
        # thread winds down (the finished signal can come well after the failed one on a loaded machine)
        return job is not None and alive(job) and not job.ended and not job.isFinished()

    def cancel_job(self, key: str) -> None:
        """Ask job ``key`` to stop after its current chunk (its ``stopped`` slot then runs)."""
        job = self._jobs.get(key)
        if job is not None and alive(job):
            job.requestInterruption()

    @Slot()
    def shutdown(self) -> None:
        """Stop every job and wait for them (the window calls this on close; so does quitting the app)."""
        self.stop_refreshing()  # or the next tick could start a job after this
        jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:
            if alive(job):
                job.requestInterruption()
        for job in jobs:
            stop_job(job)

    def closeEvent(self, event) -> None:  # Qt override
        self.shutdown()
        super().closeEvent(event)

    @Slot()
    def _on_job_finished(self) -> None:
        job = self.sender()
        for key, running in list(self._jobs.items()):
            if running is job or not alive(running) or running.isFinished():
                del self._jobs[key]
        self.jobs_changed()

    @Slot()
    def _on_job_stopped(self) -> None:
        self.status_label.setText("Stopped.")

    @Slot(str, str)
    def _on_job_failed(self, message: str, details: str) -> None:
        """Say it where the person looks: an error dialog (and the log) through the window, whose message wraps;
        the view's own line stays short (a path in the message would not wrap and be cut at the edge)."""
        self.error = message
        report = getattr(self.controller, "report_error", None)
        if report is not None:
            report("view", f"{self.title}: {message}", details)
            self.status_label.setText("<span style='color:#b00020'>Failed.</span> The error dialog says why "
                                      "(it is also in the log).")
            self.status_label.setToolTip(message)
        else:
            self.status_label.setText(f"<span style='color:#b00020'>Failed: {message}</span>")
        self.jobs_changed()

    def jobs_changed(self) -> None:
        """A job ended: subclasses update their buttons."""

    # helpers ------------------------------------------------------------------------------------------------------
    def settings(self) -> dict:
        """``lr``, ``reg``, ``batch_size`` and ``loss`` in force now."""
        return live_settings(self.info, self.last_record)

    def run_config(self, **changes):
        """The session's config with the live settings, and ``changes``: what a job trains from."""
        return self.info.config.replace(**{**self.settings(), **changes})

    def on_loaded(self, info) -> None:
        super().on_loaded(info)
        self.last_record = None
        if self.dataset is None:
            self.status_label.setText(f"The data set {info.dataset!r} cannot be read here.")
