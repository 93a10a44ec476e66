"""The three optimisation strategies of the lecture, on one session's data and mini-batch stream.

Each strategy runs a chunk of "steps" and returns a :class:`~gdstudio.engine.backends.ChunkResult`. Budgets are
counted in mini-batch loss evaluations so that the strategies race fairly:

- ``sgd``: one evaluation per step (the loss and its gradient on the batch), then ``W ← W − α∇L``;
- ``random-search``: a fresh random ``W`` each step, kept if its loss on the batch beats the best so far on the
  same batch (two evaluations);
- ``random-local-search``: a random step from the current ``W``, kept if the loss on the batch falls (two
  evaluations).
"""

from __future__ import annotations

import numpy as np

from gdstudio.config import SEARCH_STEP_SCALE
from gdstudio.engine.backends import STATUS_NONFINITE, STATUS_OK, STATUS_TOO_LARGE, ChunkResult, chunk_arrays

EVALUATIONS_PER_STEP = {"sgd": 1, "random-search": 2, "random-local-search": 2}


def sgd_chunk(session, n_steps: int) -> ChunkResult:
    extra = {"measure": session.measure_arguments(), "next_orders": session.next_orders} \
        if session.measures_inside else {}
    return session.backend.train_chunk(session.W, session.b, session.order, session.position, n_steps,
                                       session.batch_size, session.lr, session.reg, session.loss,
                                       session.loss_limit, **extra)


def _batch_loss(session, W, b, rows) -> tuple[float, float, int]:
    """``(total loss, data loss, correct)`` of ``W, b`` on the training rows ``rows``."""
    y = session.dataset.y_train[rows]
    data_loss, accuracy, _ = session.backend.evaluate(session.dataset.X_train[rows], y, W, b, session.loss)
    total = data_loss + session.reg * float(np.sum(np.square(W, dtype=np.float64)))
    return total, data_loss, int(round(accuracy * len(rows)))


def _search_chunk(session, n_steps: int, propose, keep_bias: bool) -> ChunkResult:
    """Try ``propose(W)`` against the current ``W`` on each batch; keep whichever has the lower loss."""
    out = chunk_arrays(n_steps)
    pos = session.position
    N = len(session.order)
    for step in range(n_steps):
        if pos >= N:
            return ChunkResult(step, pos, STATUS_OK, *(a[:step] for a in out))
        rows = session.order[pos:pos + session.batch_size]
        W_try = propose(session.W).astype(session.W.dtype)
        b_try = session.b if keep_bias else np.zeros_like(session.b)
        best = _batch_loss(session, session.W, session.b, rows)
        trial = _batch_loss(session, W_try, b_try, rows)
        if trial[0] < best[0]:
            session.W[...] = W_try
            session.b[...] = b_try
            best = trial
        out[0][step], out[1][step], out[2][step], out[3][step] = best[0], best[1], best[2], len(rows)
        if not np.isfinite(best[0]):
            return ChunkResult(step, pos, STATUS_NONFINITE, *(a[:step + 1] for a in out))
        if best[0] > session.loss_limit:
            return ChunkResult(step, pos, STATUS_TOO_LARGE, *(a[:step + 1] for a in out))
        pos += len(rows)
    return ChunkResult(n_steps, pos, STATUS_OK, *out)


def random_search_chunk(session, n_steps: int) -> ChunkResult:
    """Random search: each proposal is a fresh ``init_scale · randn`` matrix, with a zero bias."""
    scale = session.config.init_scale
    return _search_chunk(session, n_steps, lambda W: session.rng.standard_normal(W.shape) * scale,
                         keep_bias=False)


def random_local_search_chunk(session, n_steps: int) -> ChunkResult:
    """Random local search: each proposal is ``W + SEARCH_STEP_SCALE · init_scale · randn``."""
    step_size = session.config.init_scale * SEARCH_STEP_SCALE
    return _search_chunk(session, n_steps, lambda W: W + session.rng.standard_normal(W.shape) * step_size,
                         keep_bias=True)


STRATEGY_CHUNKS = {"sgd": sgd_chunk, "random-search": random_search_chunk,
                   "random-local-search": random_local_search_chunk}
