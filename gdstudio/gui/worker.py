"""The training thread: runs ``Session.run()`` one chunk at a time and forwards plain records to the GUI thread.

The session lives in this thread and only here: the GUI thread sends commands through a queue, which the thread
reads between chunks (about 30 ms apart), and receives frozen :class:`~gdstudio.engine.progress.Progress`
records and :class:`SessionInfo` snapshots through signals. Nothing the GUI thread holds is ever written by this
thread, and the GUI thread never waits for it.

Per ``shared/NOTES.md``: the signals are connected only to slots of QObjects living in the GUI thread; stopping is
a command checked between chunks (a busy thread's event loop would not deliver a queued slot); every exception is
caught here and reported through ``failed``; progress is throttled at the source.
"""

from __future__ import annotations

import math
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal

from gdstudio.config import DataNotFound, GDStudioError, TrainConfig
from gdstudio.engine.progress import DIVERGED, OK, RUNNING, STOPPED, Change, Progress

PROGRESS_INTERVAL_S = 1 / 30
"""Progress records are sent to the GUI in batches at most this often (the curves redraw at ~30 Hz anyway)."""
WEIGHTS_INTERVAL_S = 0.25
"""A copy of (W, b) rides on a record at most this often: for the views, and as the last good weights."""
PACE_TICK_S = 0.05
"""With a pace set (steps per second), the thread trains ``pace · PACE_TICK_S`` steps, then sleeps the tick out."""

# What the thread is doing, as the GUI shows it.
NO_SESSION, LOADING, READY, RUNNING_STATE, PAUSED, ENDED, DIVERGED_STATE, BUSY = (
    "no-session", "loading", "ready", "running", "paused", "ended", "diverged", "busy")


@dataclass(frozen=True)
class SessionInfo:
    """A snapshot of a session for the GUI: plain values and copies, never the live arrays.

    Attributes
    ----------
    config : TrainConfig
        With the data set's defaults filled in (the values the run started from).
    source : str
        ``"new"`` (a fresh session), ``"reset"`` or ``"opened"`` (from a run folder).
    mean : ndarray of shape (D,), float32
        The mean image that the preprocessing subtracts (a copy).
    history : dict or None
        For an opened run: ``{"steps": {column: array}, "evals": {column: array}}``; else None.
    """

    config: TrainConfig
    source: str
    dataset: str
    class_names: tuple
    image_shape: tuple | None
    sizes: tuple[int, int, int]
    num_features: int
    max_value: int
    mean: np.ndarray
    scale: float
    backend: str
    step: int
    epoch: float
    status: str
    lr: float
    reg: float
    batch_size: int
    loss: str
    folder: str | None = None
    data_path: str | None = None
    """Where the data set was loaded from when it was located (an archive or folder); None: the cache or built in.
    Work in other processes (the sweep's trials) loads it from there."""
    history: dict | None = None
    changes: tuple[Change, ...] = ()
    weights: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    data: object = field(default=None, repr=False, compare=False)
    """The session's :class:`~gdstudio.data.dataset.Dataset` itself (its arrays are never written after loading):
    the views draw the images the run trains on, also when they came from a ``--data`` path."""


def session_info(session, source: str, folder: str | None = None, with_history: bool = False,
                 data_path=None) -> SessionInfo:
    """The :class:`SessionInfo` of ``session`` (called in the training thread)."""
    dataset = session.dataset
    history = None
    if with_history:
        history = {"steps": session.history.steps.as_dict(), "evals": session.history.evals.as_dict()}
    return SessionInfo(
        config=session.config, source=source, dataset=dataset.name, class_names=tuple(dataset.class_names),
        image_shape=dataset.image_shape, sizes=(len(dataset.y_train), len(dataset.y_val), len(dataset.y_test)),
        num_features=dataset.num_features, max_value=int(getattr(dataset, "max_value", 255)),
        mean=np.array(session.preprocess.mean, copy=True), scale=float(session.preprocess.scale),
        backend=session.backend.name, step=session.step, epoch=float(session.epoch), status=session.status,
        lr=float(session.lr), reg=float(session.reg), batch_size=int(session.batch_size), loss=session.loss,
        folder=folder, data_path=None if data_path is None else str(data_path), history=history,
        changes=tuple(session.history.changes), weights=session.weights(), data=dataset)


def describe_error(exc: BaseException) -> str:
    """A one-line message for a person: the project's own errors as they are, others with their type."""
    if isinstance(exc, GDStudioError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class TrainingThread(QThread):
    """Owns one session at a time and trains it on command.

    Call the public methods from the GUI thread; each queues a command that the thread runs between chunks.

    Signals
    -------
    loaded(SessionInfo)
        A session was made, reset or opened.
    progressed(tuple of Progress)
        Records since the last batch, at most every ``PROGRESS_INTERVAL_S``.
    ended(Progress)
        A run's last record (status ``ok``, ``stopped`` or ``diverged``).
    state_changed(str)
        One of the state names of this module.
    saved(str)
        A run folder was written.
    failed(str, str, str)
        ``(what was being done, message, traceback)``; the thread goes on and the session stays usable.
    backends_checked(str)
        Why CUDA cannot run here ("" when it can), found once at start (importing numba.cuda takes a while).
    resumed(float)
        After a divergence, the α the run goes on with, when the thread chose it (``resume_diverged(None)``).
    run_data_missing(str, str, str, str)
        A run folder could not be opened because its data set is not where it was looked for:
        ``(folder, data set name, the place the run recorded or "", message)``; the session kept is unchanged.
    """

    loaded = Signal(object)
    progressed = Signal(object)
    ended = Signal(object)
    state_changed = Signal(str)
    saved = Signal(str)
    failed = Signal(str, str, str)
    backends_checked = Signal(str)
    resumed = Signal(float)
    run_data_missing = Signal(str, str, str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._commands: queue.Queue = queue.Queue()
        self._quit = threading.Event()
        # Everything below is touched by the training thread only (after start()).
        self._session = None
        self._generator = None
        self._running = False
        self._pace: float | None = None
        self._tick_started = 0.0
        self._tick_steps: int | None = None
        self._next_chunk_at = 0.0
        self._pending: list[Progress] = []
        self._last_emit = 0.0
        self._best: tuple | None = None  # (loss, step, W, b): the lowest-loss weights seen, for "resume"
        self._state = NO_SESSION
        self._backends_checked = False

    # ----------------------------------------------------------------------------------------------------------
    # Commands, from the GUI thread

    def load(self, config: TrainConfig, data_path=None, dataset=None) -> None:
        """Make a new session (loading the data set, unless a loaded ``Dataset`` is given); the old one stays
        until the new one is ready. A given data set is only read, never written, by this thread."""
        self._put("load", config, data_path, dataset)

    def open_run(self, folder, data_paths: dict | None = None, data_path=None) -> None:
        """Open a run folder; its data set is read from ``data_path`` if given, else from where the run says,
        else from where it is found without a path, else from ``data_paths[name]`` (the located ones)."""
        self._put("open", str(folder), dict(data_paths or {}), None if data_path is None else str(data_path))

    def save_run(self, folder) -> None:
        self._put("save", str(folder))

    def train(self, extend_epochs: float | None = None) -> None:
        """Train on; a run that reached its target continues for ``extend_epochs`` more epochs.

        (Not ``start``: that is QThread's.)"""
        self._put("train", extend_epochs)

    def pause(self) -> None:
        self._put("pause")

    def single_step(self) -> None:
        self._put("step")

    def reset(self, seed: int | None = None, epochs: float | None = None) -> None:
        """A new random W from ``seed``; ``epochs``: the run's target from now on (Continue moves it on)."""
        self._put("reset", seed, epochs)

    def request(self, **changes) -> None:
        """Live changes of ``lr``, ``reg``, ``batch_size`` or ``loss`` (see ``Session.request``)."""
        self._put("request", changes)

    def set_epochs(self, epochs: float) -> None:
        self._put("epochs", float(epochs))

    def set_pace(self, steps_per_second: float | None) -> None:
        self._put("pace", steps_per_second)

    def resume_diverged(self, lr: float | None = None) -> None:
        """After a divergence: go back to the best weights seen, set α to ``lr`` and train on; ``None``: to the
        α that :func:`~gdstudio.engine.recovery.stable_lr` finds (reported by ``resumed``)."""
        self._put("resume", None if lr is None else float(lr))

    def stop(self) -> None:
        """Ask the thread to finish after the chunk in progress (then ``wait()`` for it)."""
        self._quit.set()
        self.requestInterruption()
        self._commands.put(("quit", ()))

    def _put(self, name: str, *args) -> None:
        self._commands.put((name, args))

    # ----------------------------------------------------------------------------------------------------------
    # The loop, in the training thread

    def run(self) -> None:  # QThread's entry point
        while not self._should_quit():
            command = self._next_command()
            if command is not None:
                name, args = command
                if name == "quit":
                    break
                self._safely(name, getattr(self, f"_do_{name}"), *args)
            elif self._running:
                self._safely("train", self._train_chunk)
        self._flush()

    def _should_quit(self) -> bool:
        return self._quit.is_set() or self.isInterruptionRequested()

    def _next_command(self):
        """The next command; waits while idle, or while a paced run sleeps out its tick."""
        if not self._running:
            self._flush()
            if not self._backends_checked and self._commands.empty():
                self._check_backends()  # importing numba.cuda takes a while: only once the first load is done
            return self._commands.get()
        wait = self._next_chunk_at - time.perf_counter()
        if wait > 0:
            self._flush()
            try:
                return self._commands.get(timeout=wait)
            except queue.Empty:
                return None
        try:
            return self._commands.get_nowait()
        except queue.Empty:
            return None

    def _safely(self, what: str, action, *args) -> None:
        try:
            action(*args)
        except Exception as exc:  # every failure reaches the user; the thread and the session go on
            self._generator = None
            self._running = False
            self._flush()
            self.failed.emit(what, describe_error(exc), traceback.format_exc())
            self._set_state(self._resting_state(), force=True)

    def _check_backends(self) -> None:
        self._backends_checked = True
        try:
            from gdstudio.engine.backends import cuda_status

            reason = cuda_status() or ""
        except Exception as exc:
            reason = f"CUDA not available: {describe_error(exc)}"
        self.backends_checked.emit(reason)

    # ----------------------------------------------------------------------------------------------------------
    # Command handlers

    def _do_load(self, config: TrainConfig, data_path, dataset) -> None:
        from gdstudio.engine.session import Session

        self._set_state(LOADING)  # on failure, _safely puts back the state of the session kept
        session = Session(config, dataset=dataset, data_path=data_path)
        self._warm_up(session)
        self._replace(session)
        self.loaded.emit(session_info(session, "new", data_path=session.data_path))
        self._set_state(READY)

    def _do_open(self, folder: str, data_paths: dict, data_path: str | None = None) -> None:
        from gdstudio.engine.runs import load_run

        from gdstudio.engine.resume import restore_session

        self._set_state(LOADING)
        run = load_run(folder)
        try:
            session = restore_session(run, data_path, located=[data_paths.get(run.dataset)])
        except DataNotFound as exc:  # a person can point to it: the window asks where it is
            self.run_data_missing.emit(folder, run.dataset, exc.path or "", str(exc))
            self._set_state(self._resting_state(), force=True)
            return
        self._warm_up(session)
        self._replace(session)
        self.loaded.emit(session_info(session, "opened", folder=folder, with_history=True,
                                      data_path=session.data_path))
        self._set_state(self._resting_state())

    def _do_save(self, folder: str) -> None:
        from gdstudio.engine.runs import save_run

        session = self._require_session()
        final = session.final_metrics()
        final.update(status=session.status, steps=session.step, epoch=session.epoch)
        save_run(Path(folder), session, final)  # with where the session's data was read from, if from a path
        self.saved.emit(folder)

    def _do_train(self, extend_epochs) -> None:
        session = self._require_session()
        if session.status == DIVERGED:
            self._set_state(DIVERGED_STATE, force=True)
            return
        if session.target_reached():  # Continue: an epochs target moved on (a --steps or --budget run's too)
            extra = float(extend_epochs or session.config.epochs or 1.0)
            session.set_target(epochs=session.epoch + extra)
            self._generator = None
        self._running = True
        self._schedule_now()
        self._set_state(RUNNING_STATE, force=True)

    def _do_pause(self) -> None:
        if self._running:
            self._running = False
            self._flush()
        self._set_state(self._resting_state(), force=True)

    def _do_step(self) -> None:
        session = self._require_session()
        if self._running or session.status == DIVERGED:
            return
        if session.target_reached():
            return
        # A generator of its own; a paused run's generator is kept, and reads the counters from the session.
        for record in session.run(max_steps=1, weights_every=0.0):
            self._note(record)
        self._flush()
        self._set_state(self._resting_state())

    def _do_reset(self, seed, epochs=None) -> None:
        session = self._require_session()
        self._flush()
        session.reset(seed)
        if epochs is not None and session.config.steps is None and session.config.budget is None:
            session.set_target(epochs=epochs)  # not the target that Continue had moved on
        self._generator = None
        self._running = False
        self._best = None
        self.loaded.emit(session_info(session, "reset", data_path=session.data_path))
        self._set_state(READY)

    def _do_request(self, changes: dict) -> None:
        session = self._require_session()
        if session.status == DIVERGED and ("lr" in changes or "reg" in changes):
            # a new α or λ is what the divergence asked for: the run can go on, from the best weights seen
            session.resume_after_divergence(changes.get("lr", session.lr), weights=self._best_weights())
            session.request(**{name: value for name, value in changes.items() if name != "lr"})
            self._generator = None
            self._set_state(self._resting_state())
            return
        if session.step == 0 and not self._running:
            session.configure(**changes)  # before the first step there is nothing to mark
            return
        session.request(**changes)

    def _do_epochs(self, epochs: float) -> None:
        session = self._require_session()
        if session.config.steps is None and session.config.budget is None:
            session.set_target(epochs=epochs)

    def _do_pace(self, steps_per_second) -> None:
        pace = None if not steps_per_second else float(steps_per_second)
        if pace != self._pace:
            self._pace = pace
            self._generator = None  # the next generator is made for the new pace
            self._schedule_now()

    def _do_resume(self, lr: float | None) -> None:
        from gdstudio.engine.recovery import LR_FACTOR, stable_lr

        session = self._require_session()
        if lr is None and session.status != DIVERGED:  # a typed α already made the run resumable: go on with it
            self._do_train(None)
            return
        best = self._best_weights()
        if lr is None:
            lr = session.lr / LR_FACTOR  # the search strategies take no gradient step to try α on
            if session.strategy == "sgd":
                lr, _ = stable_lr(session, best if best is not None else session.weights(), session.lr)
            self.resumed.emit(lr)
        session.resume_after_divergence(lr, weights=best)
        self._generator = None
        self._running = True
        self._schedule_now()
        self._set_state(RUNNING_STATE, force=True)

    # ----------------------------------------------------------------------------------------------------------
    # Training

    def _train_chunk(self) -> None:
        session = self._session
        if self._generator is None:
            max_steps = None if self._pace is None else max(1, round(self._pace * PACE_TICK_S))
            self._generator = session.run(max_steps=max_steps, weights_every=WEIGHTS_INTERVAL_S)
            self._tick_started = time.perf_counter()
            self._tick_steps = max_steps
        try:
            record = next(self._generator)
        except StopIteration:
            self._generator = None
            if session.status == DIVERGED:
                self._stop_running(DIVERGED_STATE)
            elif self._pace is not None:
                self._next_chunk_at = self._tick_started + (self._tick_steps or 1) / self._pace
            return
        self._note(record)
        if record.status != RUNNING:
            self._generator = None
            self._stop_running(DIVERGED_STATE if record.status == DIVERGED else ENDED)

    def _note(self, record: Progress) -> None:
        """Queue a record for the GUI; keep the best weights; send the batch when it is due or final."""
        if any(change.name == "loss" for change in record.changes):
            self._best = None  # losses of different kinds do not compare
        if record.weights is not None and record.status == RUNNING and math.isfinite(record.loss):
            if self._best is None or record.loss <= self._best[0]:
                self._best = (record.loss, record.step, *record.weights)
        self._pending.append(record)
        if record.status != RUNNING:
            self._flush()
            self.ended.emit(record)
        elif time.perf_counter() - self._last_emit >= PROGRESS_INTERVAL_S:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            batch, self._pending = tuple(self._pending), []
            self._last_emit = time.perf_counter()
            self.progressed.emit(batch)

    def _stop_running(self, state: str) -> None:
        self._running = False
        self._flush()
        self._set_state(state)

    def _schedule_now(self) -> None:
        self._next_chunk_at = time.perf_counter()

    # ----------------------------------------------------------------------------------------------------------
    # Helpers

    def _require_session(self):
        if self._session is None:
            raise GDStudioError("no data set is loaded yet")
        return self._session

    def _replace(self, session) -> None:
        self._flush()
        self._session = session
        self._generator = None
        self._running = False
        self._best = None

    def _best_weights(self):
        """The lowest-loss ``(W, b)`` seen in this run, or None."""
        return None if self._best is None else self._best[2:]

    def _resting_state(self) -> str:
        session = self._session
        if session is None:
            return NO_SESSION
        if session.status == DIVERGED:
            return DIVERGED_STATE
        if session.status in (OK, STOPPED) or session.target_reached():
            return ENDED
        return PAUSED if session.step else READY

    def _set_state(self, state: str, force: bool = False) -> None:
        """Tell the GUI; ``force`` repeats an unchanged state (the GUI may have guessed otherwise after a click)."""
        if force or state != self._state:
            self._state = state
            self.state_changed.emit(state)

    @staticmethod
    def _warm_up(session) -> None:
        session.warm_up()
