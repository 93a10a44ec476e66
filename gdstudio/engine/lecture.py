"""The lecture's comparisons as functions: the strategy race, the step-size probe, the loss landscape, twins.

All of them work on one data set's training split and are deterministic for a seed. The GUI's views and the
``compare`` command call these; none of them knows about Qt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from gdstudio.config import EVAL_SUBSET, SPLIT_SEED, TrainConfig
from gdstudio.kernels import reference

# ----------------------------------------------------------------------------------------------------------------
# The strategy race


@dataclass(frozen=True)
class RaceResult:
    """One strategy's run: accuracy against loss evaluations spent, and the final numbers."""

    strategy: str
    evaluations: np.ndarray
    val_accuracy: np.ndarray
    final: dict
    seconds: float

    def row(self) -> dict:
        return {"val_accuracy": self.final["val_accuracy"], "train_accuracy": self.final["train_accuracy"],
                "test_accuracy": self.final["test_accuracy"], "loss": self.final["train_loss"],
                "evaluations": int(self.final["evaluations"]), "seconds": self.seconds}


LECTURE_ORDER = ("random-search", "random-local-search", "sgd")


def race(config: TrainConfig, dataset, budget: int, strategies=LECTURE_ORDER, on_progress=None) -> dict:
    """Run each strategy from the same seed on the same data for ``budget`` mini-batch loss evaluations.

    ``on_progress(strategy, progress)`` is called for every record (for live views). Returns
    ``{strategy: RaceResult}`` in the order given.
    """
    from gdstudio.engine.session import Session

    results = {}
    for strategy in strategies:
        session = Session(config.replace(strategy=strategy, budget=budget, steps=None, epochs=None),
                          dataset=dataset)
        started = time.perf_counter()
        last = None
        for last in session.run():
            if on_progress is not None:
                on_progress(strategy, last)
        seconds = time.perf_counter() - started
        final = dict(last.final, evaluations=session.evaluations)
        results[strategy] = RaceResult(strategy, _evaluations_at(session),
                                       session.history.evals.column("val_accuracy").copy(), final, seconds)
    return results


def _evaluations_at(session) -> np.ndarray:
    """Loss evaluations spent at each accuracy measurement of a session."""
    from gdstudio.engine.strategies import EVALUATIONS_PER_STEP

    return session.history.evals.column("step") * EVALUATIONS_PER_STEP[session.strategy]


# ----------------------------------------------------------------------------------------------------------------
# One step of size α, and the loss around W


def probe_batch(session, size: int = EVAL_SUBSET):
    """A fixed batch of training images (preprocessed, float64) and labels for the probe and the landscape."""
    rows = np.sort(np.random.default_rng(SPLIT_SEED).permutation(len(session.dataset.y_train))[:size])
    return session.preprocess.apply(session.dataset.X_train[rows]), session.dataset.y_train[rows]


def step_size_probe(W, b, x, y, loss: str, reg: float, lrs) -> dict:
    """The loss before, and after one full gradient step ``W ← W − α∇L`` for each ``α`` in ``lrs``.

    Returns ``{"loss": L(W), "lrs": [...], "losses": [...]}``; a step that overflows gives ``inf``.
    """
    value, dW, db = reference.loss_and_grad(W, b, x, y, loss, reg)
    after = []
    with np.errstate(over="ignore", invalid="ignore"):
        for lr in lrs:
            total, _, _ = reference.loss_parts(W - lr * dW, b - lr * db, x, y, loss, reg)
            after.append(total if np.isfinite(total) else float("inf"))
    return {"loss": value, "lrs": [float(lr) for lr in lrs], "losses": after}


def default_probe_lrs(lo: float = 1e-10, hi: float = 1e-1, per_decade: int = 3) -> np.ndarray:
    decades = int(round(np.log10(hi / lo)))
    return np.logspace(np.log10(lo), np.log10(hi), decades * per_decade + 1)


def directions(W, b, x, y, loss: str, reg: float, seed: int = 0):
    """Two unit-Frobenius directions in W-space: a random one and −∇L (the bias is held fixed)."""
    _, dW, _ = reference.loss_and_grad(W, b, x, y, loss, reg)
    random = np.random.default_rng(seed).standard_normal(W.shape)
    random /= np.linalg.norm(random)
    down = -dW / max(np.linalg.norm(dW), 1e-300)
    return random, down


def landscape_1d(W, b, x, y, loss: str, reg: float, direction, span: float, points: int = 41) -> dict:
    """The loss at ``W + t·direction`` for ``t`` in ``[−span, span]`` (the middle point is ``L(W)``)."""
    ts = np.linspace(-span, span, points)
    losses = [reference.loss_parts(W + t * direction, b, x, y, loss, reg)[0] for t in ts]
    return {"t": ts, "loss": np.array(losses)}


def landscape_2d(W, b, x, y, loss: str, reg: float, first, second, span: float, points: int = 25,
                 trajectory=None) -> dict:
    """The loss on the plane ``W + s·first + t·second``, and ``trajectory`` (a list of W) projected on it."""
    ss = np.linspace(-span, span, points)
    grid = np.empty((points, points))
    for i, t in enumerate(ss):
        for j, s in enumerate(ss):
            grid[i, j] = reference.loss_parts(W + s * first + t * second, b, x, y, loss, reg)[0]
    projected = None
    if trajectory:
        offsets = np.array([np.asarray(w, np.float64) - W for w in trajectory])
        projected = np.stack([(offsets * first).sum(axis=(1, 2)), (offsets * second).sum(axis=(1, 2))], axis=1)
    return {"s": ss, "t": ss, "loss": grid, "trajectory": projected}


# ----------------------------------------------------------------------------------------------------------------
# Twins: two settings, the same W₀ and the same mini-batch stream


def twin_sessions(config: TrainConfig, dataset, **other):
    """Two sessions from one seed (so the same W₀ and the same shuffles) differing only in ``other``."""
    from gdstudio.engine.session import Session

    first = Session(config, dataset=dataset)
    second = Session(config.replace(**other), dataset=dataset)
    second.W[...] = first.W
    second.b[...] = first.b
    return first, second


def run_twins(first, second, steps_per_turn: int = 10):
    """Step the twins in lock-step; yields ``(progress_first, progress_second)`` pairs until both are done."""
    done = [False, False]
    while not all(done):
        pair = []
        for k, session in enumerate((first, second)):
            record = None
            if not done[k]:
                for record in session.run(max_steps=steps_per_turn):
                    if record.status != "running":
                        done[k] = True
                if record is None:  # nothing left to run: its target was reached on the last turn
                    done[k] = True
            pair.append(record)
        yield tuple(pair)
