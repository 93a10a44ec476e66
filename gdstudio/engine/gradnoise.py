"""Gradient noise: the mini-batch gradient as a noisy but unbiased estimate of the full gradient.

At one point W, draw ``K`` mini-batches of ``B`` training images (with replacement) and compare each batch
gradient ``g_B`` with the full-split gradient ``g`` (both of the whole objective, data loss + ``λ·ΣW²``, over W
and b flattened together):

- **bias** ``‖mean g_B − g‖ / ‖g‖``: the mean of the draws lands on ``g`` (unbiased), up to the noise of a mean of
  ``K`` draws, ``≈ spread / √K``;
- **spread** ``sqrt(mean ‖g_B − g‖²) / ‖g‖``: the noise. Drawn with replacement, ``E‖g_B − g‖² = tr Σ / B`` (Σ
  the covariance of one image's gradient over the split), so the spread falls exactly like ``1 / √B``;
- **mean cosine** between ``g_B`` and ``g``: how well one step points downhill, rising towards 1 with B.

The cloud of one batch size's draws is also returned projected on the plane of ``ĝ = g / ‖g‖`` and a fixed random
direction orthogonal to it: ``g`` sits at ``(‖g‖, 0)`` and so does the cloud's mean.

Pure NumPy in float64 through :func:`gdstudio.kernels.reference.loss_and_grad`; no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdstudio.kernels import reference

DEFAULT_DRAWS = 200
"""Mini-batches drawn per batch size (the issue's K)."""
DEFAULT_BATCH_SIZES = (1, 4, 16, 64, 256)
"""The command line's batch sizes."""
VIEW_BATCH_SIZES = tuple(2 ** k for k in range(9))
"""The view's batch sizes: 1, 2, 4, …, 256."""
FULL_CHUNK_ROWS = 4096
"""The full gradient is summed over chunks of this many training images (CIFAR-10's whole split in float64 would
take 1.2 GB)."""
DIRECTION_SEED = 1_000_003
"""Seed of the cloud's second axis: fixed, so the picture keeps its axes while W moves."""


@dataclass(frozen=True)
class NoiseAtBatchSize:
    """What ``draws`` mini-batch gradients of size ``batch_size`` say about the full gradient ``g``."""

    batch_size: int
    draws: int
    mean_cosine: float
    bias: float
    spread: float

    def to_dict(self) -> dict:
        return {"batch_size": self.batch_size, "mean_cosine": self.mean_cosine, "bias": self.bias,
                "spread": self.spread}


@dataclass(frozen=True)
class GradientNoise:
    """The noise of the mini-batch gradient at one W.

    Attributes
    ----------
    full_gradient_norm : float
        ``‖g‖``, the full-split gradient's norm over W and b.
    batches : tuple of NoiseAtBatchSize, in the order asked for (then the cloud's batch size, if it was not asked)
    cloud_batch_size : int or None
        The batch size whose draws are in ``cloud``.
    cloud : ndarray of shape (K, 2), float64
        Each draw ``g_B`` projected on ``(ĝ, u)``, u the fixed random direction orthogonal to ``ĝ``.
    cloud_mean : ndarray of shape (2,), float64
        The projection of the draws' mean (the mean of ``cloud``).
    """

    full_gradient_norm: float
    batches: tuple
    cloud_batch_size: int | None = None
    cloud: np.ndarray | None = None
    cloud_mean: np.ndarray | None = None

    @property
    def full_point(self) -> np.ndarray:
        """``g`` in the cloud's plane: ``(‖g‖, 0)``."""
        return np.array([self.full_gradient_norm, 0.0])

    def at(self, batch_size: int) -> NoiseAtBatchSize:
        return next(row for row in self.batches if row.batch_size == batch_size)

    def to_dict(self) -> dict:
        """The ``gdstudio gradnoise --json`` document."""
        return {"full_gradient_norm": self.full_gradient_norm, "batches": [row.to_dict() for row in self.batches]}


def _rows(X, preprocess, index) -> np.ndarray:
    """Training rows ``index`` as the classifier's float64 input."""
    rows = X[index]
    return preprocess.apply(rows) if preprocess is not None else np.asarray(rows, np.float64)


def full_gradient(W, b, X, y, loss: str, reg: float, preprocess=None) -> np.ndarray:
    """The gradient of the whole objective over the training split, W and b flattened: shape (C·D + C,).

    The split is summed in chunks of ``FULL_CHUNK_ROWS`` images; each chunk's mean gradient (which carries the
    ``2λW`` term once) is weighted by its share of the images, so the weights add up to one.
    """
    N = len(y)
    total = np.zeros(W.size + b.size)
    for start in range(0, N, FULL_CHUNK_ROWS):
        index = slice(start, min(start + FULL_CHUNK_ROWS, N))
        _, dW, db = reference.loss_and_grad(W, b, _rows(X, preprocess, index), y[index], loss, reg)
        total += (index.stop - index.start) / N * np.concatenate([dW.ravel(), db])
    return total


def orthogonal_direction(unit: np.ndarray, seed: int = DIRECTION_SEED) -> np.ndarray:
    """A unit vector orthogonal to ``unit``, from a fixed random draw (Gram–Schmidt)."""
    random = np.random.default_rng(seed).standard_normal(unit.shape)
    random -= (random @ unit) * unit
    return random / max(np.linalg.norm(random), 1e-300)


def gradient_noise(W, b, X, y, loss: str, reg: float, batch_sizes=DEFAULT_BATCH_SIZES, draws: int = DEFAULT_DRAWS,
                   seed: int = 0, preprocess=None, cloud_batch_size: int | None = None, check=None) -> GradientNoise:
    """Draw ``draws`` mini-batches of each size (with replacement) at ``(W, b)`` and measure their gradients'
    noise against the full-split gradient.

    Parameters
    ----------
    W : ndarray of shape (C, D); b : ndarray of shape (C,) — the point (copied to float64).
    X : ndarray of shape (N, D) — the training split, raw (uint8) with ``preprocess``, or already float.
    y : ndarray of shape (N,), int
    loss : {"svm", "softmax"}; reg : float — the objective, as in :func:`reference.loss_and_grad`.
    batch_sizes : sequence of int
    draws : int
        K, the mini-batches per batch size.
    seed : int
        Seed of the draws.
    preprocess : :class:`~gdstudio.data.dataset.Preprocess`, optional
        Applied to rows of ``X`` as they are used.
    cloud_batch_size : int, optional
        Keep this batch size's draws, projected, as the cloud (it is measured too if not in ``batch_sizes``).
    check : callable, optional
        Called between batch sizes and every few draws (a view's job raises there when asked to stop).

    Returns
    -------
    GradientNoise
    """
    W = np.array(W, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    sizes = [int(B) for B in batch_sizes]
    if any(B < 1 for B in sizes):
        raise ValueError(f"batch sizes must be >= 1, got {sizes}")
    measured = list(dict.fromkeys(sizes + ([int(cloud_batch_size)] if cloud_batch_size else [])))
    g = full_gradient(W, b, X, y, loss, reg, preprocess)
    norm = float(np.linalg.norm(g))
    scale = max(norm, 1e-300)
    unit = g / scale
    across = orthogonal_direction(unit)
    rng = np.random.default_rng(seed)
    rows = {}
    cloud = None
    for B in measured:
        if check is not None:
            check()
        deviation_sum = np.zeros_like(g)
        squared_sum = 0.0
        cosine_sum = 0.0
        projections = np.empty((draws, 2))
        for k in range(draws):
            if check is not None and k % 16 == 15:
                check()
            index = rng.integers(0, len(y), size=B)  # with replacement: E‖g_B − g‖² = tr Σ / B exactly
            _, dW, db = reference.loss_and_grad(W, b, _rows(X, preprocess, index), y[index], loss, reg)
            g_B = np.concatenate([dW.ravel(), db])
            deviation = g_B - g
            deviation_sum += deviation
            squared_sum += float(deviation @ deviation)
            cosine_sum += float(g_B @ unit) / max(float(np.linalg.norm(g_B)), 1e-300)
            projections[k] = g_B @ unit, g_B @ across
        rows[B] = NoiseAtBatchSize(batch_size=B, draws=draws, mean_cosine=cosine_sum / draws,
                                   bias=float(np.linalg.norm(deviation_sum / draws)) / scale,
                                   spread=float(np.sqrt(squared_sum / draws)) / scale)
        if B == cloud_batch_size:
            cloud = projections
    return GradientNoise(full_gradient_norm=norm, batches=tuple(rows[B] for B in measured),
                         cloud_batch_size=int(cloud_batch_size) if cloud is not None else None, cloud=cloud,
                         cloud_mean=cloud.mean(axis=0) if cloud is not None else None)


def session_gradient_noise(session, batch_sizes=DEFAULT_BATCH_SIZES, draws: int = DEFAULT_DRAWS,
                           seed: int = 0) -> GradientNoise:
    """:func:`gradient_noise` at a session's current weights, on its training split, loss and λ."""
    W, b = session.weights()
    return gradient_noise(W, b, session.dataset.X_train, session.dataset.y_train, session.loss, session.reg,
                          batch_sizes=batch_sizes, draws=draws, seed=seed, preprocess=session.preprocess)
