"""What the views show, computed without Qt: class templates, one image's maths, confusion, decision regions."""

from __future__ import annotations

import numpy as np

from gdstudio.engine.explain import explain_scores
from gdstudio.kernels import reference


def templates(W: np.ndarray, image_shape, shared_scale: bool = True) -> np.ndarray:
    """Each row of ``W`` as an image with values in [0, 1] (0.5 is a zero weight when ``shared_scale``).

    Parameters
    ----------
    W : ndarray of shape (C, D)
    image_shape : (H, W, channels) with H·W·channels = D
    shared_scale : bool
        One colour scale for all classes (``w / (2·max|W|) + 0.5``, so classes compare), else each class
        stretched over its own range (``(w − min) / (max − min)``, as the lecture's pictures).

    Returns
    -------
    ndarray of shape (C, H, W, channels), float64 in [0, 1]
    """
    W = np.asarray(W, dtype=np.float64)
    if image_shape is None or int(np.prod(image_shape)) != W.shape[1]:
        raise ValueError(f"W rows of length {W.shape[1]} are not images of shape {image_shape}")
    if shared_scale:
        top = np.abs(W).max()
        scaled = W / (2 * top) + 0.5 if top > 0 else np.full_like(W, 0.5)
    else:
        low = W.min(axis=1, keepdims=True)
        span = W.max(axis=1, keepdims=True) - low
        scaled = np.divide(W - low, span, out=np.full_like(W, 0.5), where=span > 0)
    return scaled.reshape((W.shape[0], *image_shape))


def image_maths(W, b, preprocess, pixels: np.ndarray, label: int) -> dict:
    """Scores ``s = W·x + b`` of one image and the step-by-step losses of :func:`explain_scores`.

    ``pixels`` (D,) uint8 is preprocessed as the kernels do. Adds ``x`` (the preprocessed input, float64) and
    ``predicted`` to the explanation.
    """
    x = preprocess.apply(np.asarray(pixels)[None, :])
    S = reference.scores(np.asarray(W, np.float64), np.asarray(b, np.float64), x)[0]
    result = explain_scores(S, int(label))
    result["x"] = x[0]
    result["predicted"] = int(np.argmax(S))
    return result


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``M[t, p]`` = how many images of true class ``t`` were predicted as ``p``; (C, C) int64."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Diagonal over row sums (NaN for a class with no images)."""
    totals = matrix.sum(axis=1)
    return np.divide(np.diag(matrix), totals, out=np.full(len(matrix), np.nan), where=totals > 0)


def decision_grid(W, b, preprocess, resolution: int = 128, lo: float = 0.0, hi: float = 255.0):
    """Scores over a grid of 2-D inputs in pixel coordinates, for drawing decision regions.

    Returns ``(xs, ys, scores)`` with ``xs``, ``ys`` of shape (resolution,) in pixel units and ``scores`` of
    shape (resolution, resolution, C) (``scores[i, j]`` at ``(xs[j], ys[i])``).
    """
    W = np.asarray(W, np.float64)
    if W.shape[1] != 2:
        raise ValueError("decision regions need 2-D inputs")
    xs = np.linspace(lo, hi, resolution)
    ys = np.linspace(lo, hi, resolution)
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    x = (points - preprocess.mean.astype(np.float64)) * float(preprocess.scale)
    scores = reference.scores(W, np.asarray(b, np.float64), x)
    return xs, ys, scores.reshape(resolution, resolution, -1)


def zero_score_lines(W, b, preprocess):
    """For each class, the line ``s_c = 0`` in pixel coordinates as ``(a, c0)`` with ``a·p = c0`` (a (2,))."""
    W = np.asarray(W, np.float64)
    scale = float(preprocess.scale)
    mean = preprocess.mean.astype(np.float64)
    # s_c = scale·W_c·(p − mean) + b_c = 0  ⇔  (scale·W_c)·p = scale·W_c·mean − b_c
    return [(scale * W[c], scale * W[c] @ mean - float(b[c])) for c in range(W.shape[0])]
