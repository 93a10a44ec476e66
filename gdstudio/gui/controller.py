"""The GUI thread's handle on training: starts the training thread, forwards commands, re-emits its news.

Views connect to :class:`TrainingController` (a QObject of the GUI thread), never to the thread itself, and read
the latest :class:`~gdstudio.gui.worker.SessionInfo` and ``Progress`` from it.
"""

from __future__ import annotations

import atexit
import sys
import weakref

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from gdstudio.config import TrainConfig
from gdstudio.engine.progress import Progress
from gdstudio.gui.worker import (BUSY, DIVERGED_STATE, ENDED, LOADING, NO_SESSION, PAUSED, READY, RUNNING_STATE,
                                 SessionInfo, TrainingThread)

GIL_SWITCH_INTERVAL_S = 0.0005
"""While the training thread runs Python between kernel calls, the GUI thread waits up to the interpreter's switch
interval (5 ms by default) each time it needs the GIL back, and painting a plot needs it dozens of times (every
pyqtgraph item paints in Python): 5 ms × 30 items made 150 ms stalls. A shorter interval bounds them."""
STARTING = "starting"
"""The GUI's own state: a data set is loading and Start was pressed; the run starts when loading ends."""

# One table for a run's life (STYLE.md): what each state lets a person do, and where the commands lead at once
# (the training thread then confirms or corrects the state). A command missing from a state's row does nothing.
ACTIONS = ("start", "pause", "step", "reset", "open", "save", "restore")
ENABLED: dict[str, frozenset] = {
    NO_SESSION: frozenset(),
    LOADING: frozenset({"start"}),  # queues the run: it starts when loading ends
    STARTING: frozenset({"start"}),  # a second press takes the queued run back
    READY: frozenset({"start", "step", "reset", "open", "save", "restore"}),
    RUNNING_STATE: frozenset({"start", "pause", "reset", "open", "save"}),  # start = pause while running
    PAUSED: frozenset({"start", "step", "reset", "open", "save", "restore"}),
    ENDED: frozenset({"start", "reset", "open", "save", "restore"}),  # start = continue for the Epochs field
    DIVERGED_STATE: frozenset({"reset", "open", "save", "restore"}),  # a new α or λ (or the banner): PAUSED
    BUSY: frozenset(),
}
NEXT_STATE: dict[tuple[str, str], str] = {
    (NO_SESSION, "load"): LOADING, (READY, "load"): LOADING, (RUNNING_STATE, "load"): LOADING,
    (PAUSED, "load"): LOADING, (ENDED, "load"): LOADING, (DIVERGED_STATE, "load"): LOADING,
    (LOADING, "load"): LOADING, (STARTING, "load"): STARTING,
    (LOADING, "start"): STARTING, (STARTING, "start"): LOADING,
    (READY, "start"): RUNNING_STATE, (PAUSED, "start"): RUNNING_STATE, (ENDED, "start"): RUNNING_STATE,
    (RUNNING_STATE, "start"): PAUSED, (RUNNING_STATE, "pause"): PAUSED,
    (DIVERGED_STATE, "resume"): RUNNING_STATE,
    # news from the thread while a run is queued: loading goes on, or it ended and the run starts
    (STARTING, LOADING): STARTING, (STARTING, READY): RUNNING_STATE, (STARTING, PAUSED): RUNNING_STATE,
    (STARTING, ENDED): RUNNING_STATE,
}
"""``(state, event) -> state``; events are commands (``"load"``, ``"start"``, ...) or the thread's state news.
A pair not listed leads to the thread's news itself (it knows best), or leaves a command's state unchanged."""
SHUTDOWN_TIMEOUT_MS = 15_000
"""How long closing the window waits for the training thread: one chunk (~30 ms) in the usual case, but a data set
that is loading or a kernel that is compiling cannot be interrupted."""


class TrainingController(QObject):
    """Owns the :class:`~gdstudio.gui.worker.TrainingThread` and mirrors its state in the GUI thread.

    Signals
    -------
    loaded(SessionInfo), progressed(tuple of Progress), ended(Progress), state_changed(str), saved(str),
    failed(str, str, str), backends_checked(str)
        As the thread's, re-emitted in the GUI thread after the controller has updated its own fields
        (``state_changed`` also carries the GUI's own ``STARTING``; ``failed`` also a view's failure, ``"view"``).
    settings_requested(dict)
        ``{"lr"|"reg"|"batch_size"|"loss": value}`` asked of the training by anyone (a view, the banner's
        choice of α), so that the window's boxes show the values in force.
    run_data_missing(str, str, str, str)
        As the thread's: a run folder's data set is not where it was looked for (the window asks where it is).
    """

    loaded = Signal(object)
    progressed = Signal(object)
    ended = Signal(object)
    state_changed = Signal(str)
    saved = Signal(str)
    failed = Signal(str, str, str)
    backends_checked = Signal(str)
    settings_requested = Signal(dict)
    run_data_missing = Signal(str, str, str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.info: SessionInfo | None = None
        self.last_progress: Progress | None = None
        self.last_final: Progress | None = None
        self.state = NO_SESSION
        self.cuda_reason: str | None = None
        self._start_epochs: float | None = None  # extend_epochs of the Start pressed while loading (STARTING)
        self._thread = TrainingThread()
        # Methods of this GUI-thread object, never lambdas: Qt then queues each signal into the GUI thread.
        self._thread.loaded.connect(self._on_loaded)
        self._thread.progressed.connect(self._on_progressed)
        self._thread.ended.connect(self._on_ended)
        self._thread.state_changed.connect(self._on_state_changed)
        self._thread.saved.connect(self._on_saved)
        self._thread.failed.connect(self._on_failed)
        self._thread.backends_checked.connect(self._on_backends_checked)
        self._thread.resumed.connect(self._on_resumed)
        self._thread.run_data_missing.connect(self._on_run_data_missing)
        if sys.getswitchinterval() > GIL_SWITCH_INTERVAL_S:
            sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        self._thread.start()
        # A window that is never closed (a script, an interactive session) must still not leave the thread
        # running when Qt or Python shuts down ("QThread: Destroyed while thread is still running").
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        reference = weakref.ref(self)
        atexit.register(_shutdown_at_exit, reference)

    # ----------------------------------------------------------------------------------------------------------
    # Commands

    @property
    def running(self) -> bool:
        return self.state == RUNNING_STATE

    @property
    def ready(self) -> bool:
        """A session is there and nothing is loading."""
        return self.info is not None and self.state not in (LOADING, STARTING, BUSY, NO_SESSION)

    def can(self, action: str) -> bool:
        """Whether ``action`` (one of ``ACTIONS``) may be done now (the buttons and menu entries follow this)."""
        return action in ENABLED.get(self.state, frozenset())

    @property
    def steps_done(self) -> int:
        """Steps of the current run: what would be lost if it were replaced."""
        if self.last_progress is not None:
            return self.last_progress.step
        return self.info.step if self.info is not None else 0

    def load(self, config: TrainConfig, data_path=None, dataset=None) -> None:
        self._thread.load(config, data_path, dataset)
        self._command("load")

    def open_run(self, folder, data_paths: dict | None = None, data_path=None) -> None:
        """Open a run folder (see :meth:`TrainingThread.open_run`); ``data_path``: where its data set is now."""
        self._thread.open_run(folder, data_paths, data_path)
        self._command("load")

    def save_run(self, folder) -> None:
        self._thread.save_run(folder)

    def start(self, extend_epochs: float | None = None) -> None:
        if self.state == LOADING:  # honoured when loading ends (the STARTING state says a run is queued)
            self._start_epochs = extend_epochs
        elif self.state != STARTING:  # in STARTING, a second press takes the queued run back
            self._thread.train(extend_epochs)
        self._command("start")  # at once, so a second click means Pause; the thread confirms

    def pause(self) -> None:
        self._thread.pause()
        self._command("pause")

    def toggle(self, extend_epochs: float | None = None) -> None:
        if self.running:
            self.pause()
        else:
            self.start(extend_epochs)

    def single_step(self) -> None:
        self._thread.single_step()

    def reset(self, seed: int | None = None, epochs: float | None = None) -> None:
        """A new random W from ``seed``; ``epochs``: the run's length from now on (the Epochs field), not the
        target that Continue had moved on."""
        self._thread.reset(seed, epochs)

    def request(self, **changes) -> None:
        self._thread.request(**changes)
        self.settings_requested.emit(dict(changes))

    def set_epochs(self, epochs: float) -> None:
        self._thread.set_epochs(epochs)

    def set_pace(self, steps_per_second: float | None) -> None:
        self._thread.set_pace(steps_per_second)

    def resume_diverged(self, lr: float | None = None) -> None:
        """After a divergence: back to the best weights and train on with ``lr``, or (``None``) with the largest
        of α/10, α/100, … that a short trial from those weights finds stable (the thread reports its choice)."""
        self._thread.resume_diverged(lr)
        self._command("resume")

    def report_error(self, what: str, message: str, details: str = "") -> None:
        """A failure outside the training thread (a view's job) that the person must hear of: ``failed``."""
        self.failed.emit(what, message, details)

    def _command(self, event: str) -> None:
        self._set_state(NEXT_STATE.get((self.state, event), self.state))

    def shutdown(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> bool:
        """Stop the thread after its chunk in progress and wait for it; True when it has finished."""
        if not self._thread.isRunning():
            return True
        self._thread.stop()
        return self._thread.wait(timeout_ms)

    @property
    def thread_running(self) -> bool:
        return self._thread.isRunning()

    # ----------------------------------------------------------------------------------------------------------
    # The thread's news

    @Slot(object)
    def _on_loaded(self, info: SessionInfo) -> None:
        self.info = info
        self.last_progress = None
        self.last_final = None
        self.loaded.emit(info)

    @Slot(object)
    def _on_progressed(self, batch) -> None:
        if batch:
            self.last_progress = batch[-1]
        self.progressed.emit(batch)

    @Slot(object)
    def _on_ended(self, record: Progress) -> None:
        self.last_final = record
        self.ended.emit(record)

    @Slot(str)
    def _on_state_changed(self, state: str) -> None:
        following = NEXT_STATE.get((self.state, state), state)
        if self.state == STARTING and following == RUNNING_STATE:
            self._thread.train(self._start_epochs)
        self._set_state(following)

    @Slot(float)
    def _on_resumed(self, lr: float) -> None:
        self.settings_requested.emit({"lr": lr})

    @Slot(str, str, str, str)
    def _on_run_data_missing(self, folder: str, dataset: str, recorded: str, message: str) -> None:
        if self.state == STARTING:
            self._set_state(LOADING)  # the run pressed for is not there; the thread's next state says what is
        self.run_data_missing.emit(folder, dataset, recorded, message)

    @Slot(str)
    def _on_saved(self, folder: str) -> None:
        self.saved.emit(folder)

    @Slot(str, str, str)
    def _on_failed(self, what: str, message: str, details: str) -> None:
        if what in ("load", "open") and self.state == STARTING:
            self._set_state(LOADING)  # the run pressed for is not there; the thread's next state says what is
        self.failed.emit(what, message, details)

    @Slot(str)
    def _on_backends_checked(self, reason: str) -> None:
        self.cuda_reason = reason or None
        self.backends_checked.emit(reason)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)


def _shutdown_at_exit(reference) -> None:
    controller = reference()
    if controller is not None:
        try:
            controller.shutdown()
        except RuntimeError:  # the C++ object is gone already
            pass


__all__ = ["TrainingController", "NO_SESSION", "LOADING", "READY", "RUNNING_STATE", "PAUSED", "ENDED",
           "DIVERGED_STATE", "BUSY", "STARTING", "ACTIONS", "ENABLED", "NEXT_STATE"]
