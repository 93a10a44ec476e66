"""Numba CPU twins of :mod:`gdstudio.kernels.reference`, float32, taking uint8 pixels plus preprocessing.

``train_chunk`` runs a whole chunk of mini-batch SGD steps in one compiled call (sample the batch from a shuffled
order, preprocess, scores, loss, gradient, update), so Python's overhead is paid once per chunk. The steady state
allocates nothing: the caller makes the work buffers once per session (:class:`Buffers`).

Each kernel is compiled twice from one Python function: serially, and with ``parallel=True`` where ``prange``
splits the work. Every output element is owned by exactly one loop iteration and reductions run in a fixed
order, so the result does not depend on the thread count: same seed + same backend = the same bits.

All kernels are ``nogil=True`` so that a GUI thread stays live while a worker thread trains.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

SVM = 0
SOFTMAX = 1
LOSS_IDS = {"svm": SVM, "softmax": SOFTMAX}

STATUS_OK = 0
STATUS_NONFINITE = 1
STATUS_TOO_LARGE = 2

SVM_MARGIN = np.float32(1.0)
# reassoc lets reductions use SIMD lanes; never nnan/ninf, since the divergence guard relies on isfinite.
_FASTMATH = {"reassoc", "contract", "nsz"}


def _compile_twice(func):
    """``(serial, parallel)`` dispatchers of one Python function.

    Numba's on-disk cache names entries after the function's qualified name and does not key them on the
    ``parallel`` flag, so the parallel twin gets a copy of the function under a name of its own.
    """
    serial = njit(nogil=True, cache=True, fastmath=_FASTMATH)(func)
    twin = types.FunctionType(func.__code__, func.__globals__, func.__name__ + "_parallel", func.__defaults__,
                              func.__closure__)
    twin.__qualname__ = func.__qualname__ + "_parallel"
    twin.__module__ = func.__module__
    parallel = njit(nogil=True, cache=True, fastmath=_FASTMATH, parallel=True)(twin)
    return serial, parallel


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _data_loss_and_dscores(S, y, rows, nb, loss_id):
    """Data loss of a batch and, in place, ``S ← dL/dS`` (N, C) float32 (rows of ``y`` picked by ``rows``).

    Returns ``(sum of L_i, number correct)``; the caller divides by ``nb``. Twin of ``reference.*_data_loss``.
    """
    C = S.shape[1]
    total = 0.0
    correct = 0
    inv_n = np.float32(1.0) / np.float32(nb)
    for r in range(nb):
        label = y[rows[r]]
        best = 0
        for c in range(1, C):
            if S[r, c] > S[r, best]:
                best = c
        if best == label:
            correct += 1
        if loss_id == SVM:
            s_y = S[r, label]
            active = 0
            for c in range(C):
                if c == label:
                    continue
                margin = S[r, c] - s_y + SVM_MARGIN
                if margin > 0:
                    total += margin
                    S[r, c] = inv_n
                    active += 1
                else:
                    S[r, c] = 0.0
            S[r, label] = -active * inv_n
        else:
            top = S[r, best]
            shifted_label = S[r, label] - top
            norm = 0.0
            for c in range(C):
                e = np.exp(S[r, c] - top)
                S[r, c] = e
                norm += e
            # log-sum-exp form: log(e^{s_y − max}) would underflow to −inf for scores hundreds apart.
            total += np.log(norm) - shifted_label
            scale = inv_n / norm
            for c in range(C):
                S[r, c] *= scale
            S[r, label] -= inv_n
    return total, correct


def _train_chunk(X, y, order, start, n_steps, batch_size, mean, scale, W, b, lr, reg, loss_id, loss_limit,
                 xb, S, dW, db, out_loss, out_data_loss, out_correct, out_batch):
    """Run up to ``n_steps`` SGD steps in place on ``W`` and ``b``.

    Parameters
    ----------
    X : ndarray of shape (N, D), uint8
    y : ndarray of shape (N,), int32
    order : ndarray of shape (N,), int64 — this epoch's shuffled order; step k uses
        ``order[pos : pos + batch_size]``, the last batch of an epoch may be shorter.
    start : int — position in ``order`` of the chunk's first batch.
    mean : ndarray of shape (D,), float32; scale : float32 — ``x = (pixels − mean)·scale``.
    W : ndarray of shape (C, D), float32; b : ndarray of shape (C,), float32 — updated in place.
    lr, reg : float32; loss_id : 0 (SVM) or 1 (softmax); loss_limit : float32 — the divergence guard.
    xb : (B, D) float32, S : (B, C) float32, dW : (C, D) float32, db : (C,) float32 — work buffers.
    out_loss, out_data_loss : (n_steps,) float32; out_correct, out_batch : (n_steps,) int32 — per step, the loss
        before that step's update, its data part, and the batch's correct count and size.

    Returns
    -------
    steps_done : int
    position : int — where the next batch starts in ``order``.
    status : 0 ok; 1 a non-finite loss or gradient; 2 loss above ``loss_limit``. On 1 and 2 the failing step's
        update is not applied, so ``W`` and ``b`` keep the last finite values.
    """
    N = order.shape[0]
    C, D = W.shape
    pos = start
    two_reg = np.float32(2.0) * reg
    for step in range(n_steps):
        if pos >= N:
            return step, pos, STATUS_OK
        nb = min(batch_size, N - pos)
        # x = (pixels − mean)·scale, then S = x·Wᵀ + b; each row is one iteration's.
        for r in prange(nb):
            i = order[pos + r]
            for d in range(D):
                xb[r, d] = (np.float32(X[i, d]) - mean[d]) * scale
            for c in range(C):
                acc = np.float32(0.0)
                for d in range(D):
                    acc += xb[r, d] * W[c, d]
                S[r, c] = acc + b[c]
        total, correct = _data_loss_and_dscores(S, y, order[pos:pos + nb], nb, loss_id)
        reg_sum = 0.0
        for c in range(C):
            for d in range(D):
                reg_sum += W[c, d] * W[c, d]
        data_loss = total / nb
        loss = data_loss + reg * reg_sum
        out_loss[step] = loss
        out_data_loss[step] = data_loss
        out_correct[step] = correct
        out_batch[step] = nb
        if not np.isfinite(loss):
            return step, pos, STATUS_NONFINITE
        if loss > loss_limit:
            return step, pos, STATUS_TOO_LARGE
        # dW = dSᵀ·x + 2λW, one class row per iteration; db = column sums of dS.
        for c in prange(C):
            for d in range(D):
                dW[c, d] = two_reg * W[c, d]
            for r in range(nb):
                g = S[r, c]
                if g != 0.0:
                    for d in range(D):
                        dW[c, d] += g * xb[r, d]
            acc = np.float32(0.0)
            for r in range(nb):
                acc += S[r, c]
            db[c] = acc
        # Check that the step stays finite before taking it, so W and b keep their last finite values if a
        # gradient or the step overflows; dW and db keep the gradient.
        check = 0.0
        for c in range(C):
            check += b[c] - lr * db[c]
            for d in range(D):
                check += W[c, d] - lr * dW[c, d]
        if not np.isfinite(check):
            return step, pos, STATUS_NONFINITE
        for c in range(C):
            for d in range(D):
                W[c, d] -= lr * dW[c, d]
            b[c] -= lr * db[c]
        pos += nb
    return n_steps, pos, STATUS_OK


def _evaluate(X, y, mean, scale, W, b, loss_id, block_rows, out_pred, out_loss):
    """Prediction and data loss ``L_i`` of every row of a split, in blocks of rows (the evaluation kernel).

    ``X`` (N, D) uint8, ``y`` (N,) int32, ``W`` (C, D) and ``b`` (C,) float32; fills ``out_pred`` (N,) int32 and
    ``out_loss`` (N,) float64. Each block of rows is one iteration's, with its own small buffers.
    """
    N, D = X.shape
    C = W.shape[0]
    n_blocks = (N + block_rows - 1) // block_rows
    for blk in prange(n_blocks):
        x = np.empty(D, dtype=np.float32)
        s = np.empty(C, dtype=np.float32)
        for i in range(blk * block_rows, min(N, (blk + 1) * block_rows)):
            for d in range(D):
                x[d] = (np.float32(X[i, d]) - mean[d]) * scale
            best = 0
            for c in range(C):
                acc = np.float32(0.0)
                for d in range(D):
                    acc += x[d] * W[c, d]
                s[c] = acc + b[c]
                if s[c] > s[best]:
                    best = c
            out_pred[i] = best
            label = y[i]
            if loss_id == SVM:
                total = 0.0
                for c in range(C):
                    if c != label:
                        margin = s[c] - s[label] + SVM_MARGIN
                        if margin > 0:
                            total += margin
                out_loss[i] = total
            else:
                norm = 0.0
                for c in range(C):
                    norm += np.exp(np.float64(s[c] - s[best]))
                out_loss[i] = np.log(norm) - np.float64(s[label] - s[best])


train_chunk_serial, train_chunk_parallel = _compile_twice(_train_chunk)
evaluate_serial, evaluate_parallel = _compile_twice(_evaluate)


@dataclass
class Buffers:
    """Work buffers of :func:`train_chunk`, made once per session (and again only when the batch size grows)."""

    xb: np.ndarray
    S: np.ndarray
    dW: np.ndarray
    db: np.ndarray

    @classmethod
    def make(cls, batch_size: int, C: int, D: int) -> "Buffers":
        return cls(xb=np.empty((batch_size, D), np.float32), S=np.empty((batch_size, C), np.float32),
                   dW=np.empty((C, D), np.float32), db=np.empty(C, np.float32))


def evaluate(X, y, mean, scale, W, b, loss: str, parallel: bool = False, block_rows: int = 256):
    """``(mean data loss, accuracy, predictions)`` of ``W, b`` on every row of ``X`` (uint8)."""
    N = X.shape[0]
    pred = np.empty(N, np.int32)
    per_row = np.empty(N, np.float64)
    if N:
        kernel = evaluate_parallel if parallel else evaluate_serial
        kernel(X, y, mean, np.float32(scale), W, b, LOSS_IDS[loss], block_rows, pred, per_row)
    if N == 0:
        return float("nan"), float("nan"), pred
    return float(per_row.sum() / N), float(np.count_nonzero(pred == y) / N), pred


def loss_and_grad(W, b, X, y, loss: str, reg: float, mean=None, scale: float = 1.0):
    """The contract's operation on this backend: ``(loss, dW, db)`` of one batch, float32.

    Twin of :func:`gdstudio.kernels.reference.loss_and_grad`, taking uint8 ``X`` (N, D) plus the preprocessing
    (``mean`` (D,) float32, default zeros; ``scale``). Runs one step of :func:`train_chunk` with ``lr = 0``.
    """
    X = np.ascontiguousarray(X, dtype=np.uint8)
    N, D = X.shape
    W = np.array(W, dtype=np.float32)
    C = W.shape[0]
    b = np.array(b, dtype=np.float32)
    mean = np.zeros(D, np.float32) if mean is None else np.ascontiguousarray(mean, dtype=np.float32)
    buffers = Buffers.make(N, C, D)
    out_f = np.empty(1, np.float32)
    out_d = np.empty(1, np.float32)
    out_i = np.empty(1, np.int32)
    out_n = np.empty(1, np.int32)
    train_chunk_serial(X, np.ascontiguousarray(y, dtype=np.int32), np.arange(N, dtype=np.int64), 0, 1, N, mean,
                       np.float32(scale), W, b, np.float32(0.0), np.float32(reg), LOSS_IDS[loss],
                       np.float32(np.inf), buffers.xb, buffers.S, buffers.dW, buffers.db, out_f, out_d, out_i, out_n)
    return float(out_f[0]), buffers.dW.copy(), buffers.db.copy()
