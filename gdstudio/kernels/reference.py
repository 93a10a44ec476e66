"""The ground truth: the lecture's formulas in plain NumPy, float64.

Every other backend (:mod:`gdstudio.kernels.cpu`, :mod:`gdstudio.kernels.cuda`) is tested against these
functions, and these against a central-difference numerical gradient. Written to read like the formulas, not to be
fast.

Shapes: ``W`` (C, D), ``b`` (C,), ``X`` (N, D), ``y`` (N,) int. Scores ``S = X·Wᵀ + b``, shape (N, C).
"""

from __future__ import annotations

import numpy as np

SVM_MARGIN = 1.0  # Δ of the hinge loss (mirrors gdstudio.config.SVM_MARGIN; kernels import nothing)


def scores(W: np.ndarray, b: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Class scores ``S = X·Wᵀ + b``.

    Parameters
    ----------
    W : ndarray of shape (C, D), float64
    b : ndarray of shape (C,), float64
    X : ndarray of shape (N, D), float64

    Returns
    -------
    S : ndarray of shape (N, C), float64
    """
    return X @ W.T + b


def svm_margins(S: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-class hinge terms ``max(0, s_j − s_y + Δ)``, with the correct class's own term set to 0.

    Returns an ndarray of shape (N, C), float64.
    """
    N = S.shape[0]
    correct = S[np.arange(N), y][:, None]
    margins = np.maximum(0.0, S - correct + SVM_MARGIN)
    margins[np.arange(N), y] = 0.0
    return margins


def softmax_probabilities(S: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by each row's maximum so that ``exp`` never overflows.

    Returns an ndarray of shape (N, C), float64, each row summing to 1.
    """
    shifted = S - S.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def svm_data_loss(S: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean multiclass SVM loss ``L_i = Σ_{j≠y} max(0, s_j − s_y + 1)`` and its gradient ``dS`` (N, C)."""
    N = S.shape[0]
    margins = svm_margins(S, y)
    loss = margins.sum() / N
    # Each active margin pushes its class's score up by one and the correct class's score down by one.
    active = (margins > 0).astype(np.float64)
    active[np.arange(N), y] = -active.sum(axis=1)
    return float(loss), active / N


def softmax_data_loss(S: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy ``L_i = −log(e^{s_y} / Σ_k e^{s_k})`` and its gradient ``dS`` (N, C)."""
    N = S.shape[0]
    shifted = S - S.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1))
    log_p_correct = shifted[np.arange(N), y] - log_sum
    loss = -log_p_correct.mean()
    dS = softmax_probabilities(S)
    dS[np.arange(N), y] -= 1.0
    return float(loss), dS / N


DATA_LOSSES = {"svm": svm_data_loss, "softmax": softmax_data_loss}


def loss_and_grad(W, b, X, y, loss: str, reg: float):
    """Full loss (mean data loss + ``reg·ΣW²``) and its gradient with respect to ``W`` and ``b``.

    Parameters
    ----------
    W : ndarray of shape (C, D), float64
    b : ndarray of shape (C,), float64
    X : ndarray of shape (N, D), float64 (already preprocessed)
    y : ndarray of shape (N,), int, values in ``range(C)``
    loss : {"svm", "softmax"}
    reg : float
        λ of the L2 penalty, applied to ``W`` only (the bias is not regularised).

    Returns
    -------
    loss_value : float
    dW : ndarray of shape (C, D), float64
    db : ndarray of shape (C,), float64
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    S = scores(W, b, X)
    data_loss, dS = DATA_LOSSES[loss](S, y)
    loss_value = data_loss + reg * float(np.sum(W * W))
    dW = dS.T @ X + 2.0 * reg * W
    db = dS.sum(axis=0)
    return loss_value, dW, db


def loss_parts(W, b, X, y, loss: str, reg: float) -> tuple[float, float, float]:
    """``(total, data, regularisation)`` loss, float64."""
    S = scores(np.asarray(W, np.float64), np.asarray(b, np.float64), np.asarray(X, np.float64))
    data_loss, _ = DATA_LOSSES[loss](S, np.asarray(y, np.int64))
    reg_loss = reg * float(np.sum(np.asarray(W, np.float64) ** 2))
    return data_loss + reg_loss, data_loss, reg_loss


def numerical_gradient(f, W: np.ndarray, h: float = 1e-5, entries=None) -> np.ndarray:
    """Central-difference gradient ``(f(W + h) − f(W − h)) / 2h`` of a scalar function of ``W``.

    Parameters
    ----------
    f : callable taking an ndarray shaped like ``W`` and returning a float
    W : ndarray, float64; restored to its original values on return
    entries : iterable of index tuples, optional
        Only these entries (all when None); the others are left 0.
    """
    W = np.asarray(W, dtype=np.float64)
    grad = np.zeros_like(W)
    indices = np.ndindex(W.shape) if entries is None else entries
    for index in indices:
        old = W[index]
        W[index] = old + h
        plus = f(W)
        W[index] = old - h
        minus = f(W)
        W[index] = old
        grad[index] = (plus - minus) / (2.0 * h)
    return grad


def relative_error(analytic, numeric) -> np.ndarray:
    """``|a − n| / max(|a| + |n|, 1e-8)``, elementwise; 0 where both are ~0."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-8)


def predict(W, b, X) -> np.ndarray:
    """Predicted class per row: ``argmax_c S[:, c]`` (the first one on ties), int64 of shape (N,)."""
    return np.argmax(scores(np.asarray(W, np.float64), np.asarray(b, np.float64), np.asarray(X, np.float64)),
                     axis=1)


def sgd_step(W, b, X, y, loss: str, reg: float, lr: float):
    """One step ``W ← W − α∇L``; returns ``(W, b, loss_before_the_step)`` (new arrays)."""
    value, dW, db = loss_and_grad(W, b, X, y, loss, reg)
    return W - lr * dW, b - lr * db, value
