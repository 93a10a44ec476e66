"""Rebuild a live :class:`~gdstudio.engine.session.Session` from a saved run folder.

This is the engine's job (``gdstudio train --resume DIR`` needs the same thing); until the engine offers it, the
GUI does it here with the engine's own records and nothing else, so the two cannot disagree about the format.
"""

from __future__ import annotations

import numpy as np

from gdstudio.engine.progress import Change
from gdstudio.engine.runs import Run, RunError
from gdstudio.engine.session import Session
from gdstudio.engine.strategies import EVALUATIONS_PER_STEP


def restore_session(run: Run, data_path=None) -> Session:
    """A session holding ``run``'s weights, counters, RNG, history and live changes, ready to continue.

    Parameters
    ----------
    run : Run
        What :func:`gdstudio.engine.runs.load_run` read.
    data_path : str or Path, optional
        Where the run's data set lives, for a downloadable data set found outside the cache.

    Raises
    ------
    RunError
        When the run does not fit its data set (another number of classes or features).
    DataError
        When the data set cannot be loaded.
    """
    session = Session(run.config, data_path=data_path)
    if run.W.shape != session.W.shape or run.mean.shape != session.preprocess.mean.shape:
        raise RunError(f"the saved weights {run.W.shape} do not fit data set {run.dataset!r} "
                       f"({session.W.shape})")
    if len(run.order) != len(session.order):
        raise RunError(f"the saved run has {len(run.order)} training examples; {run.dataset!r} has "
                       f"{len(session.order)}")
    session.set_weights(run.W, run.b)
    state = run.state
    session.order = np.asarray(run.order, dtype=np.int64)
    session.step = int(state["step"])
    session.epochs_done = int(state["epochs_done"])
    session.position = int(state["position"])
    session.examples_seen = int(state["examples_seen"])
    session.evaluations = int(state["evaluations"])
    session.lr = float(state["lr"])
    session.reg = float(state["reg"])
    session.batch_size = int(state["batch_size"])
    session.loss = str(state["loss"])
    session.initial_loss = None if state["initial_loss"] is None else float(state["initial_loss"])
    session.status = str(state["status"])
    try:
        session.rng.bit_generator.state = state["rng_state"]
    except (TypeError, ValueError, KeyError) as exc:
        raise RunError(f"the saved random generator state is not valid ({exc})") from None
    _restore_history(session, run)
    return session


def _restore_history(session: Session, run: Run) -> None:
    """Refill the session's history from ``metrics.csv`` rows (examples and evaluations are estimated from the
    epoch and step, since the file does not keep them)."""
    rows = run.metrics
    n_train = len(session.order)
    per_step = EVALUATIONS_PER_STEP.get(session.strategy, 1)
    if rows:
        step = np.array([r["step"] for r in rows], np.int64)
        epoch = np.array([_number(r["epoch"]) for r in rows])
        session.history.steps.extend(
            step=step, epoch=epoch, examples=np.round(epoch * n_train).astype(np.int64),
            evaluations=step * per_step, loss=np.array([_number(r["loss"]) for r in rows]),
            data_loss=np.array([_number(r["data_loss"]) for r in rows]),
            reg_loss=np.array([_number(r["reg_loss"]) for r in rows]),
            batch_accuracy=np.array([_number(r["batch_accuracy"]) for r in rows]))
        measured = [r for r in rows if r["train_accuracy"] is not None and r["val_accuracy"] is not None]
        if measured:
            eval_epoch = np.array([_number(r["epoch"]) for r in measured])
            session.history.evals.extend(
                step=np.array([r["step"] for r in measured], np.int64), epoch=eval_epoch,
                examples=np.round(eval_epoch * n_train).astype(np.int64),
                train_accuracy=np.array([r["train_accuracy"] for r in measured], np.float64),
                val_accuracy=np.array([r["val_accuracy"] for r in measured], np.float64))
    for change in run.changes:
        try:
            session.history.changes.append(Change(int(change["step"]), str(change["name"]), change["old"],
                                                  change["new"]))
        except (KeyError, TypeError, ValueError):
            raise RunError(f"a saved live change is not valid: {change!r}") from None


def _number(value) -> float:
    return float("nan") if value is None else float(value)
