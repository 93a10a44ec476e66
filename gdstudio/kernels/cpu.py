"""Numba CPU twins of :mod:`gdstudio.kernels.reference`, float32, taking uint8 pixels plus preprocessing.

``train_chunk`` runs a whole chunk of mini-batch SGD steps in one compiled call (sample the batch from a shuffled
order, preprocess, scores, loss, gradient, update), so Python's overhead is paid once per chunk. The steady state
allocates nothing: the caller makes the work buffers once per session (:class:`Buffers`).

Each kernel is compiled twice from one Python function: serially, and with ``parallel=True`` where ``prange``
splits the work. Every output element is owned by exactly one loop iteration, and every sum runs in an order that
the source fixes, so the result depends neither on the thread count nor on how the compiler treated this copy of
the code: same seed + same backend = the same bits, whether the kernels were compiled in this process or loaded
from Numba's on-disk cache. So nothing is compiled with fast-math (reassociation together with contraction let
every compiled copy of a helper sum and fuse in its own order, and which copy ran depended on the cache: issue 14;
either flag alone gave the same bits); where a sum is vectorised its lanes are explicit
(:mod:`gdstudio.kernels.lanes`) and added up in a fixed order.

Two layouts, chosen by the number of pixels ``D``:

- *short rows* (``D < SMALL_D``, such as the 8×8 digits): classes in lanes. Each step preprocesses its batch rows
  into floats, ``W`` is kept transposed for the chunk (``D`` rows of the classes rounded up to 16 lanes), and a
  row's scores are ``b + Σ_d x_d·Wᵀ[d]``: one broadcast pixel times 16 classes per instruction, no sum across
  lanes. The gradient ``dWᵀ[d] = Σ_r x_rd·dS_r`` has the same shape.
- *long rows* (CIFAR-10): pixels in lanes. uint8 pixels are widened inside the loops (exact) and the
  preprocessing ``x = (u − mean)·scale`` is folded into the algebra: ``S = scale·(u·W_cᵀ) + (b_c −
  scale·mean·W_cᵀ)`` and ``dW = scale·(dSᵀ·u − db ⊗ mean) + 2λW``. A score tile of 4 rows × 5 classes and a
  gradient tile of 5 classes × 64 pixels each keep 20 lane sums in registers.

The new weights of a step go to a second buffer and replace the old ones only once the step is known to be finite.
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
    """Let LLVM use 512-bit vectors on AVX-512 CPUs (it defaults to 256 bits there, splitting every 16-lane
    operation in two). Only before Numba's CPU target exists and when the user has not chosen the features
    (``NUMBA_CPU_FEATURES``); the features are part of Numba's cache key."""
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

from gdstudio.kernels import lanes  # noqa: E402  (after the CPU features: it reads them to choose its fma)

SVM = 0
SOFTMAX = 1
NO_LOSS = -1
LOSS_IDS = {"svm": SVM, "softmax": SOFTMAX, None: NO_LOSS}

STATUS_OK = 0
STATUS_NONFINITE = 1
STATUS_TOO_LARGE = 2

SVM_MARGIN = np.float32(1.0)
LANES = lanes.WIDTH

SMALL_D = 256
"""Below this many pixels the short-row layout (classes in lanes) is used: a sum across the 16 lanes per score costs
about as much as 128 pixels' worth of multiply-adds, so short rows put the classes in the lanes instead."""
SHORT_ROWS = 8
"""Short rows: batch rows per score block (8 independent multiply-add chains keep both FMA units busy)."""
SHORT_PIXELS = 8
"""Short rows: pixels per gradient block."""
SHORT_TASK_ROWS = 32
"""Short rows: batch rows per parallel task (a call per task; its partial sums are never split across tasks)."""
SHORT_TASK_PIXELS = 32
"""Short rows: pixels per gradient task (its share of ΣW² is one partial sum: a constant, not the thread count)."""
ROW_BLOCK = 4
"""Long rows: batch rows per score tile (each loaded weight vector feeds this many multiply-adds)."""
CLASS_BLOCK = 5
"""Long rows: classes per score and gradient tile (4 × 5 = 20 lane sums in registers)."""
TILE_CHUNKS = 4
"""Long rows: lane chunks per gradient tile (64 pixels: each row's widened pixels feed 5 classes × 4 chunks)."""


def padded_classes(C: int) -> int:
    """``C`` rounded up to whole lane vectors: the width of a score row."""
    return -(-C // LANES) * LANES


def _layout_sizes(nb_max, C, D):
    """Sizes of the layout ``D`` chooses: ``(Cp, pixel tiles, gradient tasks, weight rows, weight columns, floats of
    the short-row parts (dWᵀ, the preprocessed batch, the rows being measured and their scores))``. Plain Python for
    :func:`work_size` (a compiled function called from Python would make Numba refresh its whole target on its first
    load from the cache, which the kernels' entry points avoid: ``quick_load``); :func:`_layout` inside kernels."""
    Cp = (C + LANES - 1) // LANES * LANES
    if D < SMALL_D:  # no offsets: the rows are preprocessed
        tasks = (D + SHORT_TASK_PIXELS - 1) // SHORT_TASK_PIXELS
        return Cp, 1, tasks, D, Cp, D * Cp + nb_max * D + SHORT_ROWS * D
    pixel_tiles = (D + LANES * TILE_CHUNKS - 1) // (LANES * TILE_CHUNKS)
    return Cp, pixel_tiles, (C + CLASS_BLOCK - 1) // CLASS_BLOCK * pixel_tiles, C, D, 0


_layout = njit(nogil=True, cache=True)(_layout_sizes)


def work_size(batch_size: int, C: int, D: int) -> int:
    """Floats in the work buffer of :func:`train_chunk` (see :func:`_carve` for what they hold)."""
    Cp, pixel_tiles, tasks, w_rows, w_cols, short_parts = _layout_sizes(batch_size, C, D)
    return 2 * w_rows * w_cols + short_parts + 4 * Cp + 4 * batch_size + 2 * tasks + pixel_tiles * Cp


@njit(nogil=True, cache=True)
def _carve(work, nb_max, C, D):
    """The work buffer's parts (views): ``(w_now, w_next, grad_t, xf, b_now, b_next, db_lanes, offsets, row_loss,
    row_correct, row_norm, row_shift, square_parts, check_parts, offset_parts, eval_rows)``. The weights now and
    next are (D, Cp) for short rows (transposed) and (C, D) for long ones; long rows need no ``grad_t``, ``xf`` or
    ``eval_rows`` (empty there)."""
    Cp, pixel_tiles, tasks, w_rows, w_cols, short_parts = _layout(nb_max, C, D)
    short = short_parts > 0
    at = 0
    w_now = work[at:at + w_rows * w_cols].reshape((w_rows, w_cols))
    at += w_rows * w_cols
    w_next = work[at:at + w_rows * w_cols].reshape((w_rows, w_cols))
    at += w_rows * w_cols
    n = D if short else 0
    grad_t = work[at:at + n * Cp].reshape((n, Cp))
    at += n * Cp
    xf = work[at:at + nb_max * n].reshape((nb_max, n))
    at += nb_max * n
    eval_rows = work[at:at + SHORT_ROWS * n].reshape((SHORT_ROWS, n))
    at += SHORT_ROWS * n
    b_now = work[at:at + Cp]
    b_next = work[at + Cp:at + 2 * Cp]
    db_lanes = work[at + 2 * Cp:at + 3 * Cp]
    offsets = work[at + 3 * Cp:at + 4 * Cp]
    at += 4 * Cp
    row_loss = work[at:at + nb_max]
    row_correct = work[at + nb_max:at + 2 * nb_max]
    row_norm = work[at + 2 * nb_max:at + 3 * nb_max]
    row_shift = work[at + 3 * nb_max:at + 4 * nb_max]
    at += 4 * nb_max
    square_parts = work[at:at + tasks]
    check_parts = work[at + tasks:at + 2 * tasks]
    at += 2 * tasks
    offset_parts = work[at:at + pixel_tiles * Cp].reshape((pixel_tiles, Cp))
    return (w_now, w_next, grad_t, xf, b_now, b_next, db_lanes, offsets, row_loss, row_correct, row_norm, row_shift,
            square_parts, check_parts, offset_parts, eval_rows)


# --------------------------------------------------------------------------------------------------------------
# Helpers. A kernel calls one helper per task (a block of rows, a gradient tile), and each helper loops over its
# task's rows or blocks itself: an array handed to a helper, even an inlined one (``inline="always"``), costs a
# reference-count update (a call into Numba's runtime) per call, as does a view of a row, and per row that was
# more than a short row's arithmetic. Rows are addressed as (array, row index) for the same reason.


@njit(nogil=True, cache=True)
def _best_class(s, C):
    """Index of the first largest of ``s[0:C]``."""
    best = 0
    for c in range(1, C):
        if s[c] > s[best]:
            best = c
    return best


@njit(nogil=True, cache=True, inline="always")
def _rows_loss(S, r0, r1, y, rows, C, loss_id, inv_n, row_loss, row_correct, row_norm, row_shift):
    """``L_i`` of score rows ``S[r0 … r1 − 1]`` ((Cp,) float32 each; labels ``y[rows[i]]``) into ``row_loss``, 1.0
    into ``row_correct`` where the row is predicted right, and, in place, ``S[i] ← dL/ds`` (lanes past ``C``
    zero); ``row_norm`` and ``row_shift`` are work space. Twin of ``reference.*_data_loss``.

    Branch-free over the classes, 16 at a time (a compare per class mispredicted half the time, and each row had
    ten of them), and in passes over the rows (the best class; e^{s − max}; the logarithms, 16 rows at a time;
    dL/ds): within a pass the rows do not wait for each other, as the long chain of one row's softmax did.
    """
    Cp = S.shape[1]
    lowest = lanes.splat(-np.inf)
    zero = lanes.zeros()
    one = lanes.splat(np.float32(1.0))
    step = lanes.splat(inv_n)
    for r in range(r0, r1):  # each row's best class, and the SVM rows entirely
        label = y[rows[r]]
        top = -np.inf
        best = C
        for c in range(0, Cp, LANES):
            v = lanes.first_lanes(C - c, lanes.load_at(S, r, c), lowest)
            block_top = lanes.largest(v)
            if block_top > top:
                top = block_top
                best = c + lanes.first_index(v, block_top)
        if best >= C:  # a NaN score: the loss is NaN too and the step is refused; any valid class will do here
            best = _best_class(S[r], C)
        row_correct[r] = np.float32(1.0) if best == label else np.float32(0.0)
        row_shift[r] = top
        if loss_id == SVM:
            s_y = S[r, label]
            total = np.float32(0.0)
            active = np.float32(0.0)
            for c in range(0, Cp, LANES):
                margin = lanes.load_at(S, r, c) - lanes.splat(s_y) + lanes.splat(SVM_MARGIN)
                margin = lanes.lane_is(label - c, zero, lanes.first_lanes(C - c, margin, zero))
                total += lanes.total(lanes.where_positive(margin, margin, zero))
                active += lanes.total(lanes.where_positive(margin, one, zero))
                lanes.store_at(S, r, c, lanes.where_positive(margin, step, zero))
            S[r, label] = -active * inv_n
            row_loss[r] = total
    if loss_id == SVM:
        return
    for r in range(r0, r1):  # e^{s − max} (0 past C) and its sum; the loss's shift s_y − max
        top = np.float32(row_shift[r])
        shift = lanes.splat(top)
        row_shift[r] = S[r, y[rows[r]]] - top
        norm = np.float32(0.0)
        for c in range(0, Cp, LANES):
            e = lanes.exp(lanes.first_lanes(C - c, lanes.load_at(S, r, c), lowest) - shift)
            lanes.store_at(S, r, c, e)
            norm += lanes.total(e)
        row_norm[r] = norm
    # log-sum-exp form, L_i = ln Σ e^{s − max} − (s_y − max): log(e^{s_y − max}) would underflow to −inf for scores
    # hundreds apart.
    for r in range(r0, r1, LANES):
        n = r1 - r
        logs = lanes.log(lanes.load_first(row_norm, r, n))
        lanes.store_first(row_loss, r, n, logs - lanes.load_first(row_shift, r, n))
    for r in range(r0, r1):  # dL/ds = softmax / n − [c = y] / n
        scale = lanes.splat(inv_n / row_norm[r])
        for c in range(0, Cp, LANES):
            lanes.store_at(S, r, c, lanes.load_at(S, r, c) * scale)
        S[r, y[rows[r]]] -= inv_n


# --------------------------------------------------------------------------------------------------------------
# Short rows: classes in lanes.


@njit(nogil=True, cache=True, inline="always")
def _short_scores(X, rows, direct, r0, r1, mean, scale, xf, xo, ring, w_t, bias, out, o):
    """Rows ``r0 … r1 − 1`` of ``X`` (``X[rows[r]]``, or ``X[r]`` when ``direct``) preprocessed into ``xf`` and
    scored into ``out[o + r − r0]``: ``bias + Σ_d x_d·w_t[d]``, the first ``out.shape[1]`` lanes of each row.

    ``xf`` holds row ``r`` at ``xo + r − r0``, or, as a ``ring`` of 8 rows, at ``(r − r0) mod 8``. ``w_t`` (D, Cp)
    transposed weights, ``bias`` (Cp,). Eight rows at a time (rows past the end repeat the last one and are not
    stored), the pixels added in order, one multiply-add per pixel for 16 classes at once. Twin of
    ``reference.scores``.
    """
    D = X.shape[1]
    width = out.shape[1]
    whole = D // LANES * LANES
    factor = lanes.splat(scale)
    for r in range(r0, r1, SHORT_ROWS):
        n_rows = min(SHORT_ROWS, r1 - r)
        base = 0 if ring else xo + r - r0
        for k in range(n_rows):  # x = (u − mean)·scale
            row = r + k if direct else rows[r + k]
            i = base + k
            for d in range(0, whole, LANES):
                lanes.store_at(xf, i, d, (lanes.load_at(X, row, d) - lanes.load(mean, d)) * factor)
            for d in range(whole, D):
                xf[i, d] = (np.float32(X[row, d]) - mean[d]) * scale
        last = base + n_rows - 1
        i1, i2, i3 = min(base + 1, last), min(base + 2, last), min(base + 3, last)
        i4, i5, i6, i7 = min(base + 4, last), min(base + 5, last), min(base + 6, last), min(base + 7, last)
        for c in range(0, w_t.shape[1], LANES):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = lanes.load(bias, c)
            for d in range(D):
                w = lanes.load_at(w_t, d, c)
                a0 = lanes.fma(lanes.splat(xf[base, d]), w, a0)
                a1 = lanes.fma(lanes.splat(xf[i1, d]), w, a1)
                a2 = lanes.fma(lanes.splat(xf[i2, d]), w, a2)
                a3 = lanes.fma(lanes.splat(xf[i3, d]), w, a3)
                a4 = lanes.fma(lanes.splat(xf[i4, d]), w, a4)
                a5 = lanes.fma(lanes.splat(xf[i5, d]), w, a5)
                a6 = lanes.fma(lanes.splat(xf[i6, d]), w, a6)
                a7 = lanes.fma(lanes.splat(xf[i7, d]), w, a7)
            sums = (a0, a1, a2, a3, a4, a5, a6, a7)
            for k in range(n_rows):
                if c + LANES <= width:
                    lanes.store_at(out, o + r - r0 + k, c, sums[k])
                else:  # an unpadded row (the live accuracy's scores): only its classes
                    lanes.store_first_at(out, o + r - r0 + k, c, width - c, sums[k])


@njit(nogil=True, cache=True)
def _short_forward(X, rows, r0, r1, mean, scale, xf, w_t, bias, S, y, C, loss_id, inv_n, row_loss, row_correct,
                   row_norm, row_shift):
    """Batch rows ``r0 … r1 − 1`` of a short-row step: preprocessed into ``xf``, scored into ``S``, then each row's
    loss and correctness into ``row_loss`` and ``row_correct`` and, in place, ``S ← dL/dS``."""
    _short_scores(X, rows, False, r0, r1, mean, scale, xf, r0, False, w_t, bias, S, r0)
    _rows_loss(S, r0, r1, y, rows, C, loss_id, inv_n, row_loss, row_correct, row_norm, row_shift)


@njit(nogil=True, cache=True)
def _short_measure(X, r0, r1, mean, scale, x_buffer, w_t, bias, out, o, unused):
    """The scores of rows ``X[r0 … r1 − 1]`` into ``out[o …]`` (its first ``out.shape[1]`` classes), preprocessing
    eight rows at a time into ``x_buffer`` (8, D); ``unused`` is any int64 array (the rows are addressed directly)."""
    _short_scores(X, unused, True, r0, r1, mean, scale, x_buffer, 0, True, w_t, bias, out, o)


@njit(nogil=True, cache=True)
def _short_gradient(xf, S, nb, d0, d1, w_t, w_next, grad_t, two_reg, lr):
    """Pixels ``d0 … d1 − 1`` of a short-row step, eight at a time: ``dWᵀ[d] = Σ_r xf[r, d]·dS_r + 2λ·Wᵀ[d]`` (rows
    in order) into ``grad_t`` and ``Wᵀ[d] − lr·dWᵀ[d]`` into ``w_next``. Returns their ``(ΣW², Σ(w' − w'))``: the
    second is 0 exactly when every new weight is finite."""
    D = w_t.shape[0]
    last = D - 1
    decay = lanes.splat(two_reg)
    rate = lanes.splat(lr)
    square = lanes.zeros()
    check = lanes.zeros()
    for p in range(d0, d1, SHORT_PIXELS):
        p1, p2, p3 = min(p + 1, last), min(p + 2, last), min(p + 3, last)
        p4, p5, p6, p7 = min(p + 4, last), min(p + 5, last), min(p + 6, last), min(p + 7, last)
        for c in range(0, w_t.shape[1], LANES):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = lanes.zeros()
            for r in range(nb):
                g = lanes.load_at(S, r, c)
                a0 = lanes.fma(lanes.splat(xf[r, p]), g, a0)
                a1 = lanes.fma(lanes.splat(xf[r, p1]), g, a1)
                a2 = lanes.fma(lanes.splat(xf[r, p2]), g, a2)
                a3 = lanes.fma(lanes.splat(xf[r, p3]), g, a3)
                a4 = lanes.fma(lanes.splat(xf[r, p4]), g, a4)
                a5 = lanes.fma(lanes.splat(xf[r, p5]), g, a5)
                a6 = lanes.fma(lanes.splat(xf[r, p6]), g, a6)
                a7 = lanes.fma(lanes.splat(xf[r, p7]), g, a7)
            sums = (a0, a1, a2, a3, a4, a5, a6, a7)
            for j in range(min(SHORT_PIXELS, D - p)):
                d = p + j
                w = lanes.load_at(w_t, d, c)
                grad = sums[j] + decay * w
                lanes.store_at(grad_t, d, c, grad)
                new = w - rate * grad
                lanes.store_at(w_next, d, c, new)
                square = lanes.fma(w, w, square)
                check = check + (new - new)
    return lanes.total(square), lanes.total(check)


# --------------------------------------------------------------------------------------------------------------
# Long rows: pixels in lanes.


@njit(nogil=True, cache=True, inline="always")
def _long_scores(X, rows, direct, r0, r1, W, scale, offset, out, o):
    """``out[o + r − r0, c] = scale·(u_r · W[c]) + offset[c]`` for rows ``r0 … r1 − 1`` of ``X`` (``X[rows[r]]``, or
    ``X[r]`` when ``direct``), uint8 pixels, and every class.

    Tiles of 4 rows × 5 classes: rows past the end repeat the last one and classes past the end the last class,
    computed again but not stored, so the inner loop always has the same shape: 20 lane sums in registers, each
    then summed across its lanes and the pixels after the last whole chunk added in order. ``offset`` has C
    entries. Twin of ``reference.scores``.
    """
    C, D = W.shape
    whole = D // LANES * LANES
    for r in range(r0, r1, ROW_BLOCK):
        last = min(r + ROW_BLOCK, r1) - 1
        i0 = r if direct else rows[r]
        i1 = min(r + 1, last) if direct else rows[min(r + 1, last)]
        i2 = min(r + 2, last) if direct else rows[min(r + 2, last)]
        i3 = min(r + 3, last) if direct else rows[min(r + 3, last)]
        pixel_rows = (i0, i1, i2, i3)
        for c0 in range(0, C, CLASS_BLOCK):
            e1, e2, e3, e4 = min(c0 + 1, C - 1), min(c0 + 2, C - 1), min(c0 + 3, C - 1), min(c0 + 4, C - 1)
            a00 = a01 = a02 = a03 = a04 = lanes.zeros()
            a10 = a11 = a12 = a13 = a14 = lanes.zeros()
            a20 = a21 = a22 = a23 = a24 = lanes.zeros()
            a30 = a31 = a32 = a33 = a34 = lanes.zeros()
            for d in range(0, whole, LANES):
                x0 = lanes.load_at(X, i0, d)
                x1 = lanes.load_at(X, i1, d)
                x2 = lanes.load_at(X, i2, d)
                x3 = lanes.load_at(X, i3, d)
                v = lanes.load_at(W, c0, d)
                a00 = lanes.fma(x0, v, a00)
                a10 = lanes.fma(x1, v, a10)
                a20 = lanes.fma(x2, v, a20)
                a30 = lanes.fma(x3, v, a30)
                v = lanes.load_at(W, e1, d)
                a01 = lanes.fma(x0, v, a01)
                a11 = lanes.fma(x1, v, a11)
                a21 = lanes.fma(x2, v, a21)
                a31 = lanes.fma(x3, v, a31)
                v = lanes.load_at(W, e2, d)
                a02 = lanes.fma(x0, v, a02)
                a12 = lanes.fma(x1, v, a12)
                a22 = lanes.fma(x2, v, a22)
                a32 = lanes.fma(x3, v, a32)
                v = lanes.load_at(W, e3, d)
                a03 = lanes.fma(x0, v, a03)
                a13 = lanes.fma(x1, v, a13)
                a23 = lanes.fma(x2, v, a23)
                a33 = lanes.fma(x3, v, a33)
                v = lanes.load_at(W, e4, d)
                a04 = lanes.fma(x0, v, a04)
                a14 = lanes.fma(x1, v, a14)
                a24 = lanes.fma(x2, v, a24)
                a34 = lanes.fma(x3, v, a34)
            sums = ((a00, a01, a02, a03, a04), (a10, a11, a12, a13, a14), (a20, a21, a22, a23, a24),
                    (a30, a31, a32, a33, a34))
            for k in range(last - r + 1):
                for j in range(min(CLASS_BLOCK, C - c0)):
                    dot = lanes.total(sums[k][j])
                    for d in range(whole, D):
                        dot += np.float32(X[pixel_rows[k], d]) * W[c0 + j, d]
                    out[o + r - r0 + k, c0 + j] = scale * dot + offset[c0 + j]


@njit(nogil=True, cache=True)
def _long_forward(X, rows, r0, r1, W, scale, offsets, S, y, C, loss_id, inv_n, row_loss, row_correct, row_norm,
                  row_shift):
    """Batch rows ``r0 … r1 − 1`` of a long-row step: scored into ``S``, then each row's loss and correctness into
    ``row_loss`` and ``row_correct`` and, in place, ``S ← dL/dS``."""
    _long_scores(X, rows, False, r0, r1, W, scale, offsets, S, r0)
    _rows_loss(S, r0, r1, y, rows, C, loss_id, inv_n, row_loss, row_correct, row_norm, row_shift)


@njit(nogil=True, cache=True)
def _long_measure(X, r0, r1, W, scale, offsets, out, o, unused):
    """The scores of rows ``X[r0 … r1 − 1]`` into ``out[o …, :C]``; ``unused`` is any int64 array."""
    _long_scores(X, unused, True, r0, r1, W, scale, offsets, out, o)


@njit(nogil=True, cache=True)
def _gradient_tile(X, rows, nb, S, c0, k0, W, w_next, dW, db, mean, scale, two_reg, lr, offset_parts):
    """Classes ``c0 … c0 + 4`` × lane chunks ``k0 … k0 + 3`` (64 pixels) of a long-row step, plus the pixels after
    the last whole chunk in the tile that holds them: ``dW = scale·(Σ_r dS_rc·u_r − db_c·mean) + 2λW`` (rows in
    order) into ``dW`` and ``W − lr·dW`` into ``w_next``. Returns the tile's ``(ΣW², Σ(w' − w'))``.

    The 20 sums (5 classes × 4 chunks) stay in registers while the rows stream past; chunks past the end are
    clamped to the last whole one and computed again but not stored, classes past the end likewise.
    """
    C, D = W.shape
    whole = D // LANES
    top = max(whole - 1, 0)
    d0 = min(k0, top) * LANES
    d1 = min(k0 + 1, top) * LANES
    d2 = min(k0 + 2, top) * LANES
    d3 = min(k0 + 3, top) * LANES
    e1, e2, e3, e4 = min(c0 + 1, C - 1), min(c0 + 2, C - 1), min(c0 + 3, C - 1), min(c0 + 4, C - 1)
    a00 = a01 = a02 = a03 = a04 = lanes.zeros()
    a10 = a11 = a12 = a13 = a14 = lanes.zeros()
    a20 = a21 = a22 = a23 = a24 = lanes.zeros()
    a30 = a31 = a32 = a33 = a34 = lanes.zeros()
    if k0 < whole:
        for r in range(nb):
            row = rows[r]
            g0 = lanes.splat(S[r, c0])
            g1 = lanes.splat(S[r, e1])
            g2 = lanes.splat(S[r, e2])
            g3 = lanes.splat(S[r, e3])
            g4 = lanes.splat(S[r, e4])
            x = lanes.load_at(X, row, d0)
            a00 = lanes.fma(x, g0, a00)
            a01 = lanes.fma(x, g1, a01)
            a02 = lanes.fma(x, g2, a02)
            a03 = lanes.fma(x, g3, a03)
            a04 = lanes.fma(x, g4, a04)
            x = lanes.load_at(X, row, d1)
            a10 = lanes.fma(x, g0, a10)
            a11 = lanes.fma(x, g1, a11)
            a12 = lanes.fma(x, g2, a12)
            a13 = lanes.fma(x, g3, a13)
            a14 = lanes.fma(x, g4, a14)
            x = lanes.load_at(X, row, d2)
            a20 = lanes.fma(x, g0, a20)
            a21 = lanes.fma(x, g1, a21)
            a22 = lanes.fma(x, g2, a22)
            a23 = lanes.fma(x, g3, a23)
            a24 = lanes.fma(x, g4, a24)
            x = lanes.load_at(X, row, d3)
            a30 = lanes.fma(x, g0, a30)
            a31 = lanes.fma(x, g1, a31)
            a32 = lanes.fma(x, g2, a32)
            a33 = lanes.fma(x, g3, a33)
            a34 = lanes.fma(x, g4, a34)
    sums = ((a00, a01, a02, a03, a04), (a10, a11, a12, a13, a14), (a20, a21, a22, a23, a24),
            (a30, a31, a32, a33, a34))
    starts = (d0, d1, d2, d3)
    factor = lanes.splat(scale)
    decay = lanes.splat(two_reg)
    rate = lanes.splat(lr)
    square = lanes.zeros()
    check = lanes.zeros()
    for q in range(max(min(TILE_CHUNKS, whole - k0), 0)):
        d = starts[q]
        m = lanes.load(mean, d)
        for j in range(min(CLASS_BLOCK, C - c0)):
            c = c0 + j
            w = lanes.load_at(W, c, d)
            grad = factor * (sums[q][j] - m * lanes.splat(db[c])) + decay * w
            lanes.store_at(dW, c, d, grad)
            new = w - rate * grad
            lanes.store_at(w_next, c, d, new)
            square = lanes.fma(w, w, square)
            check = check + (new - new)
    square_sum = lanes.total(square)
    check_sum = lanes.total(check)
    if k0 <= whole < k0 + TILE_CHUNKS:  # the tile that holds the pixels after the last whole chunk
        for c in range(c0, min(c0 + CLASS_BLOCK, C)):
            for d in range(whole * LANES, D):
                acc = np.float32(0.0)
                for r in range(nb):
                    acc += S[r, c] * np.float32(X[rows[r], d])
                w = W[c, d]
                grad = scale * (acc - mean[d] * db[c]) + two_reg * w
                dW[c, d] = grad
                new = w - lr * grad
                w_next[c, d] = new
                square_sum += w * w
                check_sum += new - new
    _offset_parts(w_next, c0, min(c0 + CLASS_BLOCK, C), mean, k0 // TILE_CHUNKS, offset_parts)
    return square_sum, check_sum


@njit(nogil=True, cache=True, inline="always")
def _offset_parts(W, c0, c1, mean, tile, parts):
    """``parts[tile, c] = Σ mean[d]·W[c, d]`` for classes ``c0 … c1 − 1`` over the pixels of gradient tile column
    ``tile`` (its lane chunks, then any pixels after the last whole chunk): summed per tile so that the offsets of
    a step are the same whether its weights came from the previous step or from the start of a chunk."""
    D = W.shape[1]
    whole = D // LANES
    for c in range(c0, c1):
        acc = lanes.zeros()
        for k in range(tile * TILE_CHUNKS, min((tile + 1) * TILE_CHUNKS, whole)):
            acc = lanes.fma(lanes.load(mean, k * LANES), lanes.load_at(W, c, k * LANES), acc)
        part = lanes.total(acc)
        if tile * TILE_CHUNKS <= whole < (tile + 1) * TILE_CHUNKS:
            for d in range(whole * LANES, D):
                part += mean[d] * W[c, d]
        parts[tile, c] = part


@njit(nogil=True, cache=True)
def _offsets_from_parts(b, offset_parts, scale, C, offsets):
    """``offsets[c] = b[c] − scale·Σ_tiles offset_parts[tile, c]`` (tiles in order)."""
    for c in range(C):
        acc = np.float32(0.0)
        for tile in range(offset_parts.shape[0]):
            acc += offset_parts[tile, c]
        offsets[c] = b[c] - scale * acc


# --------------------------------------------------------------------------------------------------------------
# Steps shared by both layouts.


@njit(nogil=True, cache=True, inline="always")
def _column_sums(S, nb, db_lanes):
    """``db = Σ_r dS_r`` (rows in order), whole lane vectors."""
    for c in range(0, S.shape[1], LANES):
        acc = lanes.zeros()
        for r in range(nb):
            acc = acc + lanes.load_at(S, r, c)
        lanes.store(db_lanes, c, acc)


@njit(nogil=True, cache=True, inline="always")
def _bias_step(b_now, db_lanes, lr, b_next):
    """``b' = b − lr·db``; returns ``Σ(b' − b')`` (0 exactly when every new bias is finite)."""
    check = lanes.zeros()
    for c in range(0, b_now.shape[0], LANES):
        new = lanes.load(b_now, c) - lanes.splat(lr) * lanes.load(db_lanes, c)
        lanes.store(b_next, c, new)
        check = check + (new - new)
    return lanes.total(check)


@njit(nogil=True, cache=True)
def _count_hits(escores, ye, n_first):
    """Rows of ``escores`` (M, C) whose best class is ``ye``: ``(among the first n_first, among the rest)``;
    branch-free over the classes, as in :func:`_rows_loss`."""
    first = 0
    second = 0
    C = escores.shape[1]
    lowest = lanes.splat(-np.inf)
    for r in range(escores.shape[0]):
        top = -np.inf
        best = C
        for c in range(0, C, LANES):
            v = lanes.first_lanes(C - c, lanes.load_first_at(escores, r, c, C - c), lowest)
            block_top = lanes.largest(v)
            if block_top > top:
                top = block_top
                best = c + lanes.first_index(v, block_top)
        if best >= C:  # a NaN score
            best = _best_class(escores[r], C)
        if best == ye[r]:
            if r < n_first:
                first += 1
            else:
                second += 1
    return first, second


@njit(nogil=True, cache=True)
def _copy_in(W, b, w_now, w_next, b_now, short):
    """A chunk's own copies of ``W`` (short rows: transposed, the padding lanes zero) and ``b`` (padded)."""
    C, D = W.shape
    for c in range(b_now.shape[0]):
        b_now[c] = b[c] if c < C else 0.0
    if short:
        for d in range(D):
            for c in range(w_now.shape[1]):
                w_now[d, c] = W[c, d] if c < C else 0.0
                w_next[d, c] = 0.0
    else:
        for c in range(C):
            for d in range(D):
                w_now[c, d] = W[c, d]


@njit(nogil=True, cache=True)
def _copy_out(w_now, b_now, grad_t, db_lanes, short, W, b, dW, db):
    """The chunk's weights back into ``W`` and ``b`` (the last finite ones), the last gradient into ``dW`` and ``db``
    (long rows write ``dW`` directly)."""
    C, D = W.shape
    for c in range(C):
        b[c] = b_now[c]
        db[c] = db_lanes[c]
        for d in range(D):
            if short:
                W[c, d] = w_now[d, c]
                dW[c, d] = grad_t[d, c]
            else:
                W[c, d] = w_now[c, d]


# --------------------------------------------------------------------------------------------------------------
# Kernels


SHORT_LAYOUT = True
"""Which layout a compiled copy of a kernel implements: a constant in each copy's globals (:func:`_compile_variants`),
so Numba drops the other layout's code before it types it; this module-level value is never used by a kernel."""


def _compile_variants(func):
    """``{(short_layout, parallel): dispatcher}``: one Python function compiled four ways.

    Each copy sees its own constant ``SHORT_LAYOUT``, so a run compiles only the layout its data needs (the
    digits never compile the long-row code, nor CIFAR-10 the short-row code): a kernel compiles in a fraction of
    the time. Numba's on-disk cache names entries after the function's qualified name and does not key them on
    the ``parallel`` flag or on globals, so every copy gets a name of its own.
    """
    variants = {}
    for short in (True, False):
        namespace = dict(func.__globals__, SHORT_LAYOUT=short)
        for parallel in (False, True):
            suffix = ("_short" if short else "_long") + ("_parallel" if parallel else "")
            copy = types.FunctionType(func.__code__, namespace, func.__name__ + suffix, func.__defaults__,
                                      func.__closure__)
            copy.__qualname__ = func.__qualname__ + suffix
            copy.__module__ = func.__module__
            # the entry points: loaded from the cache without a refresh of Numba's target (quick_load)
            variants[short, parallel] = quick_load(njit(nogil=True, cache=True, parallel=parallel)(copy))
    return variants


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
    work : (work_size(B, C, D),) float32, S : (B, padded_classes(C)) float32, zeros at first,
        dW : (C, D) float32, db : (C,) float32 — work buffers (:class:`Buffers`).
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
        update is not applied, so ``W`` and ``b`` keep the last finite values; ``dW`` and ``db`` hold its gradient.
    crossed : how many epoch boundaries the chunk crossed (how many of ``next_orders`` it began).

    A step's result does not depend on where a chunk began (a chunk's length follows the machine's speed): what
    a step carries over from the previous one is exactly what the start of a chunk computes from ``W`` and ``b``.
    """
    N = order.shape[0]
    C, D = W.shape
    (w_now, w_next, grad_t, xf, b_now, b_next, db_lanes, offsets, row_loss, row_correct, row_norm, row_shift,
     square_parts, check_parts, offset_parts, eval_rows) = _carve(work, S.shape[0], C, D)
    n_class_blocks = (C + CLASS_BLOCK - 1) // CLASS_BLOCK
    n_pixel_tiles = offset_parts.shape[0]
    n_tasks = square_parts.shape[0]
    # the chunk's own copies of the weights (short rows: transposed), which the steps swap with their next ones
    _copy_in(W, b, w_now, w_next, b_now, SHORT_LAYOUT)
    if not SHORT_LAYOUT:  # serially: C·D multiply-adds, less than a parallel region costs on a busy machine
        for pixel_tile in range(n_pixel_tiles):
            _offset_parts(w_now, 0, C, mean, pixel_tile, offset_parts)
        _offsets_from_parts(b_now, offset_parts, scale, C, offsets)
    pos = start
    two_reg = np.float32(2.0) * reg
    current = order
    crossed = 0
    status = STATUS_OK
    steps_done = n_steps
    for step in range(n_steps):
        if pos >= N:
            if crossed == next_orders.shape[0]:
                steps_done = step
                break
            current = next_orders[crossed]
            pos = 0
            crossed += 1
        nb = min(batch_size, N - pos)
        rows = current[pos:pos + nb]
        inv_n = np.float32(1.0) / np.float32(nb)
        # Scores, then each row's loss and dL/dS, in blocks of rows (each block owns its rows).
        if SHORT_LAYOUT:
            for task in prange((nb + SHORT_TASK_ROWS - 1) // SHORT_TASK_ROWS):
                r = task * SHORT_TASK_ROWS
                _short_forward(X, rows, r, min(r + SHORT_TASK_ROWS, nb), mean, scale, xf, w_now, b_now, S, y, C,
                               loss_id, inv_n, row_loss, row_correct, row_norm, row_shift)
        else:
            for task in prange((nb + ROW_BLOCK - 1) // ROW_BLOCK):
                r = task * ROW_BLOCK
                _long_forward(X, rows, r, min(r + ROW_BLOCK, nb), w_now, scale, offsets, S, y, C, loss_id, inv_n,
                              row_loss, row_correct, row_norm, row_shift)
        total = 0.0
        correct = 0
        for i in range(nb):
            total += row_loss[i]
            correct += int(row_correct[i])
        _column_sums(S, nb, db_lanes)
        # The gradient and the would-be new weights, in tiles; each tile's share of ΣW² and of the finiteness
        # check is summed below in a fixed order.
        if SHORT_LAYOUT:
            for task in prange(n_tasks):
                d0 = task * SHORT_TASK_PIXELS
                square_parts[task], check_parts[task] = _short_gradient(
                    xf, S, nb, d0, min(d0 + SHORT_TASK_PIXELS, D), w_now, w_next, grad_t, two_reg, lr)
        else:
            for task in prange(n_tasks):
                # the class blocks of one pixel tile one after the other: the second finds the rows' pixels in L1
                pixel_tile = task // n_class_blocks
                square_parts[task], check_parts[task] = _gradient_tile(
                    X, rows, nb, S, (task % n_class_blocks) * CLASS_BLOCK, pixel_tile * TILE_CHUNKS, w_now, w_next,
                    dW, db_lanes, mean, scale, two_reg, lr, offset_parts)
        reg_sum = 0.0
        check = 0.0
        for task in range(n_tasks):
            reg_sum += square_parts[task]
            check += check_parts[task]
        check += _bias_step(b_now, db_lanes, lr, b_next)
        data_loss = total / nb
        loss = data_loss + reg * reg_sum
        out_loss[step] = loss
        out_data_loss[step] = data_loss
        out_correct[step] = correct
        out_batch[step] = nb
        if not np.isfinite(loss):
            status = STATUS_NONFINITE
        elif loss > loss_limit:
            status = STATUS_TOO_LARGE
        elif not np.isfinite(check):  # the step would overflow: W and b keep their last finite values
            status = STATUS_NONFINITE
        if status != STATUS_OK:
            steps_done = step
            break
        w_now, w_next = w_next, w_now
        b_now, b_next = b_next, b_now
        if not SHORT_LAYOUT:
            _offsets_from_parts(b_now, offset_parts, scale, C, offsets)
        pos += nb
        out_eval_first[step] = -1
        out_eval_second[step] = -1
        if eval_every > 0 and (step0 + step + 1) % eval_every == 0:
            # Live accuracy on the fixed subsets, inside the compiled loop.
            M = Xe.shape[0]
            if SHORT_LAYOUT:  # little work (one multiply-add per pixel and row): serially, through two small buffers
                _short_measure(Xe, 0, M, mean, scale, eval_rows, w_now, b_now, escores, 0, order)
            else:
                for task in prange((M + ROW_BLOCK - 1) // ROW_BLOCK):
                    r = task * ROW_BLOCK
                    _long_measure(Xe, r, min(r + ROW_BLOCK, M), w_now, scale, offsets, escores, r, order)
            out_eval_first[step], out_eval_second[step] = _count_hits(escores, ye, n_first)
    # The chunk's weights back into W and b (the last finite ones); the last gradient into dW and db.
    _copy_out(w_now, b_now, grad_t, db_lanes, SHORT_LAYOUT, W, b, dW, db)
    return steps_done, pos, status, crossed


def _evaluate(X, y, mean, scale, W, b, loss_id, block_rows, out_pred, out_loss):
    """Prediction and data loss ``L_i`` of every row of a split, in blocks of rows (the evaluation kernel).

    ``X`` (N, D) uint8, ``y`` (N,) int32, ``W`` (C, D) and ``b`` (C,) float32; fills ``out_pred`` (N,) int32 and
    ``out_loss`` (N,) float64. Each block of rows is one iteration's, with its own small buffers; the scores are
    those of :func:`train_chunk` (the same layout and order). Twin of ``reference.scores`` and
    ``reference.*_data_loss``.
    """
    N, D = X.shape
    C = W.shape[0]
    Cp = (C + LANES - 1) // LANES * LANES
    bias = np.zeros(Cp, np.float32)
    for c in range(C):
        bias[c] = b[c]
    w_t = np.zeros((D if SHORT_LAYOUT else 0, Cp), np.float32)
    offset = np.empty(C, np.float32)
    if SHORT_LAYOUT:
        for c in range(C):
            for d in range(D):
                w_t[d, c] = W[c, d]
    else:
        n_pixel_tiles = (D + LANES * TILE_CHUNKS - 1) // (LANES * TILE_CHUNKS)
        parts = np.zeros((n_pixel_tiles, Cp), np.float32)
        for tile in range(n_pixel_tiles):
            _offset_parts(W, 0, C, mean, tile, parts)
        _offsets_from_parts(bias, parts, scale, C, offset)
    no_rows = np.empty(0, np.int64)
    n_blocks = (N + block_rows - 1) // block_rows
    for blk in prange(n_blocks):
        lo = blk * block_rows
        hi = min(N, lo + block_rows)
        s = np.empty((hi - lo, Cp), dtype=np.float32)
        if SHORT_LAYOUT:
            _short_measure(X, lo, hi, mean, scale, np.empty((SHORT_ROWS, D), np.float32), w_t, bias, s, 0, no_rows)
        else:
            _long_measure(X, lo, hi, W, scale, offset, s, 0, no_rows)
        for i in range(lo, hi):
            row = s[i - lo]
            best = _best_class(row, C)
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


_TRAIN_CHUNK = _compile_variants(_train_chunk)
_EVALUATE = _compile_variants(_evaluate)


def dispatchers() -> dict:
    """Every compiled entry point by name (``train_chunk_short``, ``evaluate_long_parallel`` …): what a process
    compiles or loads from the cache, for tests that count the signatures a run needs."""
    return {f"{name}_{'short' if short else 'long'}{'_parallel' if parallel else ''}": dispatcher
            for name, table in (("train_chunk", _TRAIN_CHUNK), ("evaluate", _EVALUATE))
            for (short, parallel), dispatcher in table.items()}


def train_chunk_serial(*args):
    """:func:`_train_chunk` on one thread (the arguments are its own: ``W``, the ninth, chooses the layout)."""
    return _TRAIN_CHUNK[args[8].shape[1] < SMALL_D, False](*args)


def train_chunk_parallel(*args):
    """:func:`_train_chunk` on Numba's threads: the same bits as :func:`train_chunk_serial`."""
    return _TRAIN_CHUNK[args[8].shape[1] < SMALL_D, True](*args)


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
        return cls(work=np.zeros(work_size(batch_size, C, D), np.float32),
                   S=np.zeros((batch_size, padded_classes(C)), np.float32), dW=np.zeros((C, D), np.float32),
                   db=np.zeros(C, np.float32))


def evaluate(X, y, mean, scale, W, b, loss: str | None, parallel: bool = False, block_rows: int = 256):
    """``(mean data loss, accuracy, predictions)`` of ``W, b`` on every row of ``X`` (uint8); ``loss=None``
    measures accuracy only (the loss returned is then NaN)."""
    N = X.shape[0]
    pred = np.empty(N, np.int32)
    per_row = np.empty(N, np.float64)
    if N:
        kernel = _EVALUATE[X.shape[1] < SMALL_D, parallel]
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
