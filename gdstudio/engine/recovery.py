"""Going on after a divergence: which smaller α learns from the weights kept.

Dividing α by ten once is not always enough: on the digits with α = 25,000, α = 2,500 no longer trips the
divergence guard but ends at loss ~210 and 45 % accuracy, bouncing across the minimum. :func:`stable_lr` tries
α/10, α/100, … for a few steps each from the weights the run goes back to, on copies (the session is not
touched), and keeps the α whose trial ends at the lowest loss: the first one that is small enough to stop
overshooting, not one so small that it barely moves.
"""

from __future__ import annotations

import math

import numpy as np

from gdstudio.engine.backends import STATUS_OK

TRIAL_STEPS = 100
"""Mini-batch steps of each trial: long enough to tell a bouncing α from a learning one (six epochs of the
digits at batch size 64), short enough to be unnoticeable (~1 ms a trial on the digits, CPU kernels)."""
LR_FACTOR = 10.0
"""Each candidate α is this many times smaller than the one before."""
MAX_TRIALS = 6
"""At most this many candidates: α/10 … α/10⁶."""
TRIAL_SEED = 0


def stable_lr(session, weights: tuple[np.ndarray, np.ndarray], lr: float, steps: int = TRIAL_STEPS,
              factor: float = LR_FACTOR, trials: int = MAX_TRIALS) -> tuple[float, list[tuple[float, float]]]:
    """The α to resume with: among ``lr/factor``, ``lr/factor²``, … the one whose ``steps``-step trial from
    ``weights`` ends at the lowest loss; the walk stops once a trial ends higher than the best so far.

    Parameters
    ----------
    session : Session
        Its backend, data, batch size, λ, loss and divergence limit are used; nothing of it is changed.
    weights : tuple of ndarray
        ``(W, b)``: W of shape (C, D), b of shape (C,), the weights the run will go on from.
    lr : float
        The α that diverged.

    Returns
    -------
    lr : float
        The chosen α (the smallest candidate when every trial diverged).
    tried : list of (float, float)
        Each candidate α with its trial's final loss on the live training subset (``inf``: it diverged).
    """
    X, y = session.live_subset("train")
    tried: list[tuple[float, float]] = []
    best: tuple[float, float] | None = None
    candidate = lr
    for _ in range(trials):
        candidate = candidate / factor
        loss = _trial_loss(session, weights, candidate, steps, X, y)
        tried.append((candidate, loss))
        if math.isfinite(loss):
            if best is None or loss < best[1]:
                best = (candidate, loss)
            elif loss > best[1]:
                break  # past the best: smaller steps only learn slower from here
    return (best[0] if best is not None else candidate), tried


def _trial_loss(session, weights, lr: float, steps: int, X: np.ndarray, y: np.ndarray) -> float:
    """The total loss on ``(X, y)`` after ``steps`` SGD steps of size ``lr`` from copies of ``weights``."""
    backend = session.backend
    W = np.array(weights[0], dtype=backend.dtype, copy=True)
    b = np.array(weights[1], dtype=backend.dtype, copy=True)
    rng = np.random.default_rng(TRIAL_SEED)
    N = len(session.order)
    order = rng.permutation(N).astype(np.int64)
    position = done = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while done < steps:
            if position >= N:
                order, position = rng.permutation(N).astype(np.int64), 0
            result = backend.train_chunk(W, b, order, position, steps - done, session.batch_size, lr,
                                         session.reg, session.loss, session.loss_limit)
            if result.status != STATUS_OK or (result.steps == 0 and result.position == position):
                return math.inf
            position, done = result.position, done + result.steps
        data_loss, _, _ = backend.evaluate(X, y, W, b, session.loss)
        total = data_loss + session.reg * float(np.sum(np.square(W, dtype=np.float64)))
    return total if math.isfinite(total) else math.inf
