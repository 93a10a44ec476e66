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

from gdstudio.config import CPU_WIDE_VECTORS
from gdstudio.kernels.quick_load import quick_load


def _prefer_wide_vectors() -> None:
    """Let LLVM use 512-bit vectors on AVX-512 CPUs (it defaults to 256 bits there; 512 made these kernels
    1.6× faster on the 2-core AVX-512 VM). Only before Numba's CPU target exists and when the user has not
    chosen the features (``NUMBA_CPU_FEATURES``); the features are part of Numba's cache key."""
    from numba.core import config as numba_config
    from numba.core.registry import cpu_target

    if not CPU_WIDE_VECTORS or numba_config.CPU_FEATURES is not None:
        return
    if "_toplevel_target_context" in vars(cpu_target):  # already compiled with the defaults: leave it be
        return
    try:
        import llvmlite.binding as llvm

        features = llvm.get_host_cpu_features().flatten()
    except Exception:  # an llvmlite without the query: keep Numba's defaults
        return
    if "+avx512f" in features.split(","):
        numba_config.CPU_FEATURES = features + ",-prefer-256-bit"


_prefer_wide_vectors()

SVM = 0
SOFTMAX = 1
NO_LOSS = -1
LOSS_IDS = {"svm": SVM, "softmax": SOFTMAX, None: NO_LOSS}

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
    return quick_load(serial), quick_load(parallel)  # the entry points: loaded from the cache without a refresh


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


# --------------------------------------------------------------------------------------------------------------
# Tiles. The preprocessing x = (u − mean)·scale is folded into the algebra, so no float copy of the batch is
# made: S = scale·(u·W_cᵀ) + (b_c − scale·mean·W_cᵀ) and dW = scale·(dSᵀ·u − (Σ_r dS_r) ⊗ mean) + 2λW. uint8
# pixels are widened to float32 inside the inner loops (exact), which are written over whole 0-based rows or
# column slices so that LLVM emits plain vector loads (index arithmetic on full rows compiled to gathers).

ROW_BLOCK = 4
"""Batch rows per inner loop (register blocking): each loaded weight or accumulator feeds this many FMAs."""
CLASS_BLOCK = 5
"""Classes per inner loop: each widened pixel vector feeds this many FMAs (4 × 5 = 20 accumulators)."""
D_BLOCK = 512
"""Pixels per gradient tile: the tile's CLASS_BLOCK accumulator rows (10 KiB) stay in L1 across the batch."""


WORK_PAD = 16
"""Extra floats per work-buffer row, so that rows are not 4 KiB apart (loads would wait on unrelated stores)."""


def work_shape(C: int, D: int) -> tuple[int, int]:
    """Shape of the gradient work buffer: ``C`` rounded up to whole class blocks, ``D + WORK_PAD``."""
    return -(-C // CLASS_BLOCK) * CLASS_BLOCK, D + WORK_PAD


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _store_row(out, r, c0, scale, offset, v0, v1, v2, v3, v4):
    C = offset.shape[0]
    out[r, c0] = scale * v0 + offset[c0]
    if c0 + 1 < C:
        out[r, c0 + 1] = scale * v1 + offset[c0 + 1]
    if c0 + 2 < C:
        out[r, c0 + 2] = scale * v2 + offset[c0 + 2]
    if c0 + 3 < C:
        out[r, c0 + 3] = scale * v3 + offset[c0 + 3]
    if c0 + 4 < C:
        out[r, c0 + 4] = scale * v4 + offset[c0 + 4]


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _scores_tile(u0, u1, u2, u3, W, c0, out, r, n_rows, scale, offset):
    """``out[r + i, c0 + j] = scale·(u_i · W[c0 + j]) + offset[c0 + j]`` for ``i < n_rows ≤ 4``, ``j < 5``.

    ``u0 … u3`` are pixel rows (D,) uint8 (repeat the last one when there are fewer than four); classes past
    the end are clamped to the last one and computed again but not stored, so the inner loop always has the
    same shape: 20 float32 accumulators that LLVM keeps in vector registers. Twin of ``reference.scores``.
    """
    C = W.shape[0]
    w0 = W[c0]
    w1 = W[min(c0 + 1, C - 1)]
    w2 = W[min(c0 + 2, C - 1)]
    w3 = W[min(c0 + 3, C - 1)]
    w4 = W[min(c0 + 4, C - 1)]
    z = np.float32(0.0)
    a00 = a01 = a02 = a03 = a04 = z
    a10 = a11 = a12 = a13 = a14 = z
    a20 = a21 = a22 = a23 = a24 = z
    a30 = a31 = a32 = a33 = a34 = z
    for d in range(W.shape[1]):
        x0 = np.float32(u0[d])
        x1 = np.float32(u1[d])
        x2 = np.float32(u2[d])
        x3 = np.float32(u3[d])
        v = w0[d]
        a00 += x0 * v
        a10 += x1 * v
        a20 += x2 * v
        a30 += x3 * v
        v = w1[d]
        a01 += x0 * v
        a11 += x1 * v
        a21 += x2 * v
        a31 += x3 * v
        v = w2[d]
        a02 += x0 * v
        a12 += x1 * v
        a22 += x2 * v
        a32 += x3 * v
        v = w3[d]
        a03 += x0 * v
        a13 += x1 * v
        a23 += x2 * v
        a33 += x3 * v
        v = w4[d]
        a04 += x0 * v
        a14 += x1 * v
        a24 += x2 * v
        a34 += x3 * v
    _store_row(out, r, c0, scale, offset, a00, a01, a02, a03, a04)
    if n_rows > 1:
        _store_row(out, r + 1, c0, scale, offset, a10, a11, a12, a13, a14)
    if n_rows > 2:
        _store_row(out, r + 2, c0, scale, offset, a20, a21, a22, a23, a24)
    if n_rows > 3:
        _store_row(out, r + 3, c0, scale, offset, a30, a31, a32, a33, a34)


SMALL_D = 512
"""Below this many pixels one row × one class per inner loop is faster than the register-blocked tile (the tile's
20 horizontal reductions do not pay off over short rows: 3× slower at D = 64, 1.4× faster at D = 3,072)."""


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _scores_row(u, W, out, r, scale, offset):
    """``out[r, c] = scale·(u · W[c]) + offset[c]`` for every class: the short-row twin of :func:`_scores_tile`."""
    for c in range(W.shape[0]):
        w = W[c]
        acc = np.float32(0.0)
        for d in range(W.shape[1]):
            acc += np.float32(u[d]) * w[d]
        out[r, c] = scale * acc + offset[c]


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _coefficients(S, r, nb, c0):
    """``S[r, c0 … c0 + 4]``, zero past the batch (``r ≥ nb``) or past the classes."""
    C = S.shape[1]
    z = np.float32(0.0)
    if r >= nb:
        return z, z, z, z, z
    return (S[r, c0], S[r, c0 + 1] if c0 + 1 < C else z, S[r, c0 + 2] if c0 + 2 < C else z,
            S[r, c0 + 3] if c0 + 3 < C else z, S[r, c0 + 4] if c0 + 4 < C else z)


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _gradient_tile(X, rows, nb, S, c0, d0, dn, acc):
    """``acc[c0 + j, d0:d0 + dn] = Σ_r S[r, c0 + j]·X[rows[r], d0:d0 + dn]`` over the batch, for ``j < 5``.

    ``acc`` (work_shape(C, D)) float32 has a row for every class of the block; a class past the end gets
    zero coefficients. Four batch rows per pass, so each accumulator load and store feeds four FMAs. Twin of
    the ``dSᵀ·X`` product of ``reference.loss_and_grad`` (on pixels; the caller applies mean and scale).
    """
    t0 = acc[c0, d0:d0 + dn]
    t1 = acc[c0 + 1, d0:d0 + dn]
    t2 = acc[c0 + 2, d0:d0 + dn]
    t3 = acc[c0 + 3, d0:d0 + dn]
    t4 = acc[c0 + 4, d0:d0 + dn]
    for d in range(dn):
        t0[d] = 0.0
        t1[d] = 0.0
        t2[d] = 0.0
        t3[d] = 0.0
        t4[d] = 0.0
    last = nb - 1
    for r in range(0, nb, ROW_BLOCK):
        u0 = X[rows[r], d0:d0 + dn]
        u1 = X[rows[min(r + 1, last)], d0:d0 + dn]
        u2 = X[rows[min(r + 2, last)], d0:d0 + dn]
        u3 = X[rows[min(r + 3, last)], d0:d0 + dn]
        g00, g01, g02, g03, g04 = _coefficients(S, r, nb, c0)
        g10, g11, g12, g13, g14 = _coefficients(S, r + 1, nb, c0)
        g20, g21, g22, g23, g24 = _coefficients(S, r + 2, nb, c0)
        g30, g31, g32, g33, g34 = _coefficients(S, r + 3, nb, c0)
        for d in range(dn):
            x0 = np.float32(u0[d])
            x1 = np.float32(u1[d])
            x2 = np.float32(u2[d])
            x3 = np.float32(u3[d])
            t0[d] += g00 * x0 + g10 * x1 + g20 * x2 + g30 * x3
            t1[d] += g01 * x0 + g11 * x1 + g21 * x2 + g31 * x3
            t2[d] += g02 * x0 + g12 * x1 + g22 * x2 + g32 * x3
            t3[d] += g03 * x0 + g13 * x1 + g23 * x2 + g33 * x3
            t4[d] += g04 * x0 + g14 * x1 + g24 * x2 + g34 * x3


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _finish_gradient_tile(S, nb, c0, d0, dn, acc, W, b, mean, scale, two_reg, lr, dW, db):
    """The gradient of one tile from its ``dSᵀ·u`` sums in ``acc``: ``dW = scale·(dSᵀ·u − db ⊗ mean) + 2λW`` on
    ``[c0, c0 + 5) × [d0, d0 + dn)`` and, in the tile at ``d0 = 0``, ``db`` (column sums of ``dS``).

    Returns the tile's ``(ΣW², Σ of the would-be new weights)``: the second is finite only if the step is.
    """
    C = W.shape[0]
    square_sum = 0.0
    check = 0.0
    for c in range(c0, min(c0 + CLASS_BLOCK, C)):
        column = np.float32(0.0)
        for r in range(nb):
            column += S[r, c]
        if d0 == 0:
            db[c] = column
            check += b[c] - lr * column
        g = acc[c, d0:d0 + dn]
        w = W[c, d0:d0 + dn]
        m = mean[d0:d0 + dn]
        out = dW[c, d0:d0 + dn]
        for d in range(dn):
            out[d] = scale * (g[d] - m[d] * column) + two_reg * w[d]
            square_sum += w[d] * w[d]
            check += w[d] - lr * out[d]
    return square_sum, check


@njit(nogil=True, cache=True, fastmath=_FASTMATH)
def _score_offsets(W, b, mean, scale, offset):
    """``offset[c] = b[c] − scale·(mean · W[c])``: the preprocessing's constant part of each class score."""
    C, D = W.shape
    for c in range(C):
        w = W[c]
        acc = np.float32(0.0)
        for d in range(D):
            acc += mean[d] * w[d]
        offset[c] = b[c] - scale * acc


# --------------------------------------------------------------------------------------------------------------
# Kernels


def _train_chunk(X, y, order, start, n_steps, batch_size, mean, scale, W, b, lr, reg, loss_id, loss_limit,
                 work, S, dW, db, out_loss, out_data_loss, out_correct, out_batch,
                 Xe, ye, n_first, eval_every, step0, escores, out_eval_first, out_eval_second, next_orders):
    """Run up to ``n_steps`` SGD steps in place on ``W`` and ``b``. Twin of ``reference.sgd_step``.

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
    work : work_shape(C, D) float32, S : (B, C) float32, dW : (C, D) float32, db : (C,) float32 — work
        buffers (:class:`Buffers`).
    out_loss, out_data_loss : (n_steps,) float32; out_correct, out_batch : (n_steps,) int32 — per step, the loss
        before that step's update, its data part, and the batch's correct count and size.
    Xe : (M, D) uint8, ye : (M,) int32 — the live accuracy subsets, the first ``n_first`` rows (training images)
        then the others (validation images); measured after every step whose number ``step0 + k + 1`` is a
        multiple of ``eval_every`` (0: never), so the measurement needs no chunk boundary. escores : (M, C)
        float32 work buffer. out_eval_first, out_eval_second : (n_steps,) int32 — correct counts of the two parts
        after that step, or −1 where nothing was measured.
    next_orders : (K, N) int64, K ≥ 0 — the shuffled orders of the next K epochs: the chunk may cross K epoch
        boundaries, going on from the start of each (so a chunk on a small data set need not end at every epoch).

    Returns
    -------
    steps_done : int
    position : int — where the next batch starts in ``order`` (in ``next_orders[crossed − 1]`` when ``crossed``).
    status : 0 ok; 1 a non-finite loss or gradient; 2 loss above ``loss_limit``. On 1 and 2 the failing step's
        update is not applied, so ``W`` and ``b`` keep the last finite values.
    crossed : how many epoch boundaries the chunk crossed (how many of ``next_orders`` it began).

    Each parallel loop gives every output element one owner (a tile of scores, a tile of the gradient), and the
    sums inside a tile run in a fixed order, so the result does not depend on the number of threads.
    """
    N = order.shape[0]
    C, D = W.shape
    n_class_blocks = (C + CLASS_BLOCK - 1) // CLASS_BLOCK
    n_d_blocks = (D + D_BLOCK - 1) // D_BLOCK
    n_tiles = n_class_blocks * n_d_blocks
    partials = np.empty((2, n_tiles), np.float64)
    pos = start
    two_reg = np.float32(2.0) * reg
    current = order
    crossed = 0
    for step in range(n_steps):
        if pos >= N:
            if crossed == next_orders.shape[0]:
                return step, pos, STATUS_OK, crossed
            current = next_orders[crossed]
            pos = 0
            crossed += 1
        nb = min(batch_size, N - pos)
        rows = current[pos:pos + nb]
        last = nb - 1
        # db holds the score offsets until the gradient replaces them.
        _score_offsets(W, b, mean, scale, db)
        if D < SMALL_D:
            for r in prange(nb):
                _scores_row(X[rows[r]], W, S, r, scale, db)
        else:
            n_row_blocks = (nb + ROW_BLOCK - 1) // ROW_BLOCK
            for tile in prange(n_row_blocks * n_class_blocks):
                r = (tile // n_class_blocks) * ROW_BLOCK
                c0 = (tile % n_class_blocks) * CLASS_BLOCK
                _scores_tile(X[rows[r]], X[rows[min(r + 1, last)]], X[rows[min(r + 2, last)]],
                             X[rows[min(r + 3, last)]], W, c0, S, r, min(ROW_BLOCK, nb - r), scale, db)
        total, correct = _data_loss_and_dscores(S, y, rows, nb, loss_id)
        # One parallel pass over the gradient tiles: dSᵀ·u, then dW and db of the tile, its share of ΣW² and of
        # the finiteness check of the step (per-tile partials, summed below in a fixed order).
        for tile in prange(n_tiles):
            c0 = (tile // n_d_blocks) * CLASS_BLOCK
            d0 = (tile % n_d_blocks) * D_BLOCK
            dn = min(D_BLOCK, D - d0)
            _gradient_tile(X, rows, nb, S, c0, d0, dn, work)
            partials[0, tile], partials[1, tile] = _finish_gradient_tile(S, nb, c0, d0, dn, work, W, b, mean, scale,
                                                                         two_reg, lr, dW, db)
        reg_sum = 0.0
        check = 0.0
        for tile in range(n_tiles):
            reg_sum += partials[0, tile]
            check += partials[1, tile]
        data_loss = total / nb
        loss = data_loss + reg * reg_sum
        out_loss[step] = loss
        out_data_loss[step] = data_loss
        out_correct[step] = correct
        out_batch[step] = nb
        if not np.isfinite(loss):
            return step, pos, STATUS_NONFINITE, crossed
        if loss > loss_limit:
            return step, pos, STATUS_TOO_LARGE, crossed
        # The step is taken only when it stays finite, so W and b keep their last finite values if a gradient or
        # the step overflows; dW and db keep the gradient.
        if not np.isfinite(check):
            return step, pos, STATUS_NONFINITE, crossed
        for tile in prange(n_tiles):
            c0 = (tile // n_d_blocks) * CLASS_BLOCK
            d0 = (tile % n_d_blocks) * D_BLOCK
            for c in range(c0, min(c0 + CLASS_BLOCK, C)):
                w = W[c, d0:d0 + D_BLOCK]
                g = dW[c, d0:d0 + D_BLOCK]
                for d in range(w.shape[0]):
                    w[d] -= lr * g[d]
                if d0 == 0:
                    b[c] -= lr * db[c]
        pos += nb
        out_eval_first[step] = -1
        out_eval_second[step] = -1
        if eval_every > 0 and (step0 + step + 1) % eval_every == 0:
            # Live accuracy on the fixed subsets, inside the compiled loop: db holds the score offsets now.
            _score_offsets(W, b, mean, scale, db)
            M = Xe.shape[0]
            if D < SMALL_D:
                for r in prange(M):
                    _scores_row(Xe[r], W, escores, r, scale, db)
            else:
                n_eval_blocks = (M + ROW_BLOCK - 1) // ROW_BLOCK
                for tile in prange(n_eval_blocks * n_class_blocks):
                    r = (tile // n_class_blocks) * ROW_BLOCK
                    c0 = (tile % n_class_blocks) * CLASS_BLOCK
                    _scores_tile(Xe[r], Xe[min(r + 1, M - 1)], Xe[min(r + 2, M - 1)], Xe[min(r + 3, M - 1)], W,
                                 c0, escores, r, min(ROW_BLOCK, M - r), scale, db)
            first = 0
            second = 0
            for r in range(M):
                best = 0
                for c in range(1, C):
                    if escores[r, c] > escores[r, best]:
                        best = c
                if best == ye[r]:
                    if r < n_first:
                        first += 1
                    else:
                        second += 1
            out_eval_first[step] = first
            out_eval_second[step] = second
    return n_steps, pos, STATUS_OK, crossed


def _evaluate(X, y, mean, scale, W, b, loss_id, block_rows, out_pred, out_loss):
    """Prediction and data loss ``L_i`` of every row of a split, in blocks of rows (the evaluation kernel).

    ``X`` (N, D) uint8, ``y`` (N,) int32, ``W`` (C, D) and ``b`` (C,) float32; fills ``out_pred`` (N,) int32 and
    ``out_loss`` (N,) float64. Each block of rows is one iteration's, with its own small score buffer. Twin of
    ``reference.scores`` and ``reference.*_data_loss``.
    """
    N, D = X.shape
    C = W.shape[0]
    offset = np.empty(C, dtype=np.float32)
    _score_offsets(W, b, mean, scale, offset)
    n_blocks = (N + block_rows - 1) // block_rows
    for blk in prange(n_blocks):
        lo = blk * block_rows
        hi = min(N, lo + block_rows)
        s = np.empty((hi - lo, C), dtype=np.float32)
        if D < SMALL_D:
            for r in range(lo, hi):
                _scores_row(X[r], W, s, r - lo, scale, offset)
        for r in range(lo, hi if D >= SMALL_D else lo, ROW_BLOCK):
            for c0 in range(0, C, CLASS_BLOCK):
                _scores_tile(X[r], X[min(r + 1, hi - 1)], X[min(r + 2, hi - 1)], X[min(r + 3, hi - 1)], W, c0, s,
                             r - lo, min(ROW_BLOCK, hi - r), scale, offset)
        for i in range(lo, hi):
            row = s[i - lo]
            best = 0
            for c in range(1, C):
                if row[c] > row[best]:
                    best = c
            out_pred[i] = best
            label = y[i]
            if loss_id == NO_LOSS:  # accuracy only: skips the exponentials, most of the work on short rows
                out_loss[i] = 0.0
            elif loss_id == SVM:
                total = 0.0
                for c in range(C):
                    if c != label:
                        margin = row[c] - row[label] + SVM_MARGIN
                        if margin > 0:
                            total += margin
                out_loss[i] = total
            else:
                norm = 0.0
                for c in range(C):
                    norm += np.exp(np.float64(row[c] - row[best]))
                out_loss[i] = np.log(norm) - np.float64(row[label] - row[best])


train_chunk_serial, train_chunk_parallel = _compile_twice(_train_chunk)
evaluate_serial, evaluate_parallel = _compile_twice(_evaluate)


def no_measurement(D: int, C: int, n_steps: int) -> tuple:
    """The trailing arguments of :func:`train_chunk` for a chunk that measures no live accuracy."""
    return (np.zeros((1, D), np.uint8), np.zeros(1, np.int32), 0, 0, 0, np.zeros((1, C), np.float32),
            np.empty(n_steps, np.int32), np.empty(n_steps, np.int32), NO_NEXT_ORDER)


NO_NEXT_ORDER = np.empty((0, 0), np.int64)
"""``next_orders`` for a chunk that must stop at the end of its epoch."""


@dataclass
class Buffers:
    """Work buffers of :func:`train_chunk`, made once per session (and again only when the batch size grows)."""

    work: np.ndarray
    S: np.ndarray
    dW: np.ndarray
    db: np.ndarray

    @classmethod
    def make(cls, batch_size: int, C: int, D: int) -> "Buffers":
        return cls(work=np.empty(work_shape(C, D), np.float32), S=np.empty((batch_size, C), np.float32),
                   dW=np.empty((C, D), np.float32), db=np.empty(C, np.float32))


def evaluate(X, y, mean, scale, W, b, loss: str | None, parallel: bool = False, block_rows: int = 256):
    """``(mean data loss, accuracy, predictions)`` of ``W, b`` on every row of ``X`` (uint8); ``loss=None``
    measures accuracy only (the loss returned is then NaN)."""
    N = X.shape[0]
    pred = np.empty(N, np.int32)
    per_row = np.empty(N, np.float64)
    if N:
        kernel = evaluate_parallel if parallel else evaluate_serial
        kernel(X, y, mean, np.float32(scale), W, b, LOSS_IDS[loss], block_rows, pred, per_row)
    if N == 0:
        return float("nan"), float("nan"), pred
    data_loss = float(per_row.sum() / N) if loss is not None else float("nan")
    return data_loss, float(np.count_nonzero(pred == y) / N), pred


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
                       np.float32(np.inf), buffers.work, buffers.S, buffers.dW, buffers.db, out_f, out_d, out_i, out_n,
                       *no_measurement(D, C, 1))
    return float(out_f[0]), buffers.dW.copy(), buffers.db.copy()
