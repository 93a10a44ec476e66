"""Rebuild a live :class:`~gdstudio.engine.session.Session` from a run folder, to continue where it stopped.

Used by ``gdstudio train --resume DIR`` and the GUI's Open run. The weights, the epoch's shuffled order, the
position in it, the RNG state, the counters and the history are all restored, and chunks end at fixed steps, so
an interrupted and resumed run gives bitwise the same weights and curves as an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdstudio.config import ConfigError, DataError, DataNotFound, check_batch_size, check_loss, check_lr, check_reg
from gdstudio.data.registry import load_dataset
from gdstudio.engine.progress import Change
from gdstudio.engine.runs import Run, RunError
from gdstudio.engine.session import Session


def restore_session(run: Run, data_path=None, dataset=None, located=()) -> Session:
    """A session holding ``run``'s weights, counters, RNG, history and live changes, ready to continue.

    Parameters
    ----------
    run : Run
        What :func:`gdstudio.engine.runs.load_run` read.
    data_path : str or Path, optional
        Where the run's data set lives now (``--data``, or a folder the person just pointed to). Default: where
        the run says it was read from; where that is gone, where the data set is found without a path (the cache,
        a system copy), then each of ``located``.
    dataset : Dataset, optional
        Already loaded data (tests).
    located : sequence of str or Path
        Other places known to hold the data set (the window's remembered ones), tried last.

    Raises
    ------
    RunError
        When the run does not fit its data set (other shapes, another mean image, a bad RNG state).
    DataNotFound
        When the data set is in none of those places: its ``path`` is the place the run recorded, if any.
    DataError
        When the data set cannot be loaded (a damaged file).
    """
    if dataset is None:
        dataset, data_path = _find_data(run, data_path, located)
    else:
        data_path = data_path or run.data_path
    session = Session(run.config, dataset=dataset, data_path=data_path)
    if run.W.shape != session.W.shape or len(run.order) != len(session.order):
        raise RunError(f"the saved run (W {run.W.shape}, {len(run.order)} training images) does not fit data set "
                       f"{run.dataset!r} (W {session.W.shape}, {len(session.order)} training images)")
    if not np.allclose(run.mean, session.preprocess.mean, rtol=0, atol=1e-3) or run.scale != session.preprocess.scale:
        raise RunError(f"the data set {run.dataset!r} found now is not the one the run was trained on "
                       "(its mean image differs)")
    session.set_weights(run.W, run.b)
    state = run.state
    try:
        session.order = np.asarray(run.order, dtype=np.int64)
        session.step = int(state["step"])
        session.epochs_done = int(state["epochs_done"])
        session.position = int(state["position"])
        session.examples_seen = int(state["examples_seen"])
        session.evaluations = int(state["evaluations"])
        session.lr, session.reg = check_lr(state["lr"]), check_reg(state["reg"])
        session.batch_size, session.loss = check_batch_size(state["batch_size"]), check_loss(state["loss"])
        session.initial_loss = None if state["initial_loss"] is None else float(state["initial_loss"])
        session.status = str(state["status"])
        session.rng.bit_generator.state = state["rng_state"]
    except (ConfigError, TypeError, ValueError, KeyError) as exc:
        raise RunError(f"the saved state is not valid ({exc})") from None
    if not 0 <= session.position <= len(session.order) or session.step < 0:
        raise RunError("the saved position or step is out of range")
    _restore_history(session, run)
    queued = state.get("queued", {})
    try:  # changes asked for while the run was paused: applied where the run would have applied them
        if not isinstance(queued, dict):
            raise TypeError(f"queued must be an object, got {type(queued).__name__}")
        session.request(**queued)
    except (ConfigError, TypeError) as exc:
        raise RunError(f"the saved state is not valid ({exc})") from None
    session.apply_queued()
    return session


def _find_data(run: Run, data_path, located) -> tuple:
    """``(dataset, the path it was read from or None)`` for ``run`` (see :func:`restore_session`)."""
    def load(path=None):  # an image-folder run decodes its images at the size and in the colours it chose
        return load_dataset(run.dataset, path, image_size=run.config.image_size, grey=run.config.grey)

    if data_path is not None:
        return load(data_path), data_path
    recorded = run.data_path
    if recorded is not None and Path(recorded).exists():
        return load(recorded), recorded
    try:
        return load(), None
    except DataError as exc:  # where the recorded place is gone, any failure here means: not found
        if recorded is None and not isinstance(exc, DataNotFound):
            raise
        not_found = exc
    for place in located:
        if place is not None and Path(place).exists():
            return load(place), place
    if recorded is None:
        raise DataNotFound(str(not_found), run.dataset) from None
    raise DataNotFound(f"the run's data set {run.dataset!r} was read from {recorded}, which is not there now; "
                       "pass --data PATH to where it is", run.dataset, recorded) from None


def _restore_history(session: Session, run: Run) -> None:
    """Refill the session's history from the ``metrics.csv`` rows and the saved live changes."""
    steps = [r for r in run.metrics if r["loss"] is not None]
    if steps:
        column = {name: np.array([np.nan if r[name] is None else r[name] for r in steps], np.float64)
                  for name in ("epoch", "loss", "data_loss", "reg_loss", "batch_accuracy")}
        session.history.steps.extend(
            step=np.array([r["step"] for r in steps], np.int64),
            examples=np.array([r["examples"] or 0 for r in steps], np.int64),
            evaluations=np.array([r["evaluations"] or 0 for r in steps], np.int64), **column)
    measured = [r for r in run.metrics if r["train_accuracy"] is not None and r["val_accuracy"] is not None]
    if measured:
        session.history.evals.extend(
            step=np.array([r["step"] for r in measured], np.int64),
            epoch=np.array([r["epoch"] for r in measured], np.float64),
            examples=np.array([r["examples"] or 0 for r in measured], np.int64),
            train_accuracy=np.array([r["train_accuracy"] for r in measured], np.float64),
            val_accuracy=np.array([r["val_accuracy"] for r in measured], np.float64))
    for change in run.changes:
        try:
            session.history.changes.append(Change(int(change["step"]), str(change["name"]), change["old"],
                                                  change["new"]))
        except (KeyError, TypeError, ValueError):
            raise RunError(f"a saved live change is not valid: {change!r}") from None
