"""CUDA twins of :mod:`gdstudio.kernels.cpu` (numba-cuda), float32, with the same chunk semantics.

Imported only when the CUDA backend is asked for (``import gdstudio`` never imports ``numba.cuda``). The data
stay on the device as uint8 (:class:`DeviceData`); a chunk uploads the epoch's shuffled order and the weights once,
launches four kernels per step, and reads the per-step losses, the status and the weights back once at its end:

1. ``scores``: one block per (batch row, class); its threads stride over the pixels, widen and preprocess them on
   the fly, and reduce in shared memory in a fixed order;
2. ``loss``: one block; each thread takes batch rows, turns ``S`` into ``dL/dS`` in place and keeps ``L_i``; the
   block then sums the data loss, the correct count and ``ΣW²`` in a fixed tree order, records the step and sets
   the device status (1: non-finite, 2: above the limit) that makes every later launch of the chunk a no-op;
3. ``gradient``: one thread per element of ``dW`` (and of ``db``), summing over the batch rows in order; a
   non-finite new weight sets status 1;
4. ``update``: ``W ← W − α·dW``, ``b ← b − α·db`` unless the status says otherwise, so a failing step is never
   applied (W keeps its last finite values, as on the CPU).

Every sum runs in an order fixed by the launch shape, so the same inputs give the same bits. Tests run these
kernels under ``NUMBA_ENABLE_CUDASIM=1`` with a small ``threads_per_block``. Twin of ``reference.sgd_step``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import cuda

SVM = 0
SOFTMAX = 1
LOSS_IDS = {"svm": SVM, "softmax": SOFTMAX}
STATUS_OK, STATUS_NONFINITE, STATUS_TOO_LARGE = 0, 1, 2
SVM_MARGIN = 1.0


@lru_cache(maxsize=None)
def kernels(threads_per_block: int):
    """The four step kernels compiled for ``threads_per_block`` (a power of two: the shared-memory trees)."""
    tpb = int(threads_per_block)
    if tpb < 1 or tpb & (tpb - 1):
        raise ValueError(f"threads_per_block must be a power of two, got {tpb}")

    @cuda.jit(device=True)
    def _block_sum(partial, t, tpb, value):
        """``partial[0] ←`` the sum of every thread's ``value`` (a tree in shared memory, in a fixed order)."""
        partial[t] = value
        cuda.syncthreads()
        step = tpb // 2
        while step > 0:
            if t < step:
                partial[t] += partial[t + step]
            cuda.syncthreads()
            step //= 2

    @cuda.jit
    def scores(X, order, pos, nb, mean, scale, W, b, S, status):
        r = cuda.blockIdx.x
        c = cuda.blockIdx.y
        t = cuda.threadIdx.x
        partial = cuda.shared.array(tpb, dtype=np.float32)
        if status[0] != STATUS_OK or r >= nb:
            return
        i = order[pos + r]
        D = X.shape[1]
        acc = np.float32(0.0)
        for d in range(t, D, tpb):
            acc += (np.float32(X[i, d]) - mean[d]) * W[c, d]
        _block_sum(partial, t, tpb, acc)
        if t == 0:
            S[r, c] = scale * partial[0] + b[c]

    @cuda.jit
    def loss(S, y, order, pos, nb, W, reg, loss_id, loss_limit, step_index, row_loss, row_correct, out_loss,
             out_data_loss, out_correct, out_batch, status):
        t = cuda.threadIdx.x
        partial = cuda.shared.array(tpb, dtype=np.float64)
        if status[0] != STATUS_OK:
            return
        C = S.shape[1]
        inv_n = np.float32(1.0) / np.float32(nb)
        for r in range(t, nb, tpb):
            label = y[order[pos + r]]
            best = 0
            for c in range(1, C):
                if S[r, c] > S[r, best]:
                    best = c
            row_correct[r] = 1 if best == label else 0
            total = np.float32(0.0)
            if loss_id == SVM:
                s_y = S[r, label]
                active = 0
                for c in range(C):
                    if c != label:
                        margin = S[r, c] - s_y + np.float32(SVM_MARGIN)
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
                norm = np.float32(0.0)
                for c in range(C):
                    e = math.exp(S[r, c] - top)
                    S[r, c] = e
                    norm += e
                total = math.log(norm) - shifted_label
                scale = inv_n / norm
                for c in range(C):
                    S[r, c] *= scale
                S[r, label] -= inv_n
            row_loss[r] = total
        # ΣW², then the batch's losses, each as a fixed tree over the block's threads
        C, D = W.shape
        acc = 0.0
        for k in range(t, C * D, tpb):
            w = W[k // D, k % D]
            acc += w * w
        _block_sum(partial, t, tpb, acc)
        reg_sum = partial[0]
        cuda.syncthreads()
        acc = 0.0
        for r in range(t, nb, tpb):
            acc += row_loss[r]
        _block_sum(partial, t, tpb, acc)
        if t == 0:
            correct = 0
            for r in range(nb):
                correct += row_correct[r]
            data_loss = partial[0] / nb
            value = data_loss + reg * reg_sum
            out_loss[step_index] = value
            out_data_loss[step_index] = data_loss
            out_correct[step_index] = correct
            out_batch[step_index] = nb
            if not math.isfinite(value):
                status[0] = STATUS_NONFINITE
                status[1] = step_index
            elif value > loss_limit:
                status[0] = STATUS_TOO_LARGE
                status[1] = step_index

    @cuda.jit
    def gradient(X, order, pos, nb, mean, scale, W, b, lr, reg, S, dW, db, step_index, status):
        d = cuda.blockIdx.x * tpb + cuda.threadIdx.x
        c = cuda.blockIdx.y
        if status[0] != STATUS_OK:
            return
        C, D = W.shape
        if d < D:
            m = mean[d]
            acc = np.float32(0.0)
            for r in range(nb):
                acc += S[r, c] * (np.float32(X[order[pos + r], d]) - m)
            g = scale * acc + np.float32(2.0) * reg * W[c, d]
            dW[c, d] = g
            if not math.isfinite(W[c, d] - lr * g):
                status[2] = 1
        if d == 0:
            acc = np.float32(0.0)
            for r in range(nb):
                acc += S[r, c]
            db[c] = acc
            if not math.isfinite(b[c] - lr * acc):
                status[2] = 1

    @cuda.jit
    def update(W, b, dW, db, lr, step_index, status):
        d = cuda.blockIdx.x * tpb + cuda.threadIdx.x
        c = cuda.blockIdx.y
        if status[0] != STATUS_OK:
            return
        if status[2] != 0:  # a gradient or the step overflows: keep the last finite weights
            if d == 0 and c == 0:
                status[0] = STATUS_NONFINITE
                status[1] = step_index
            return
        if d < W.shape[1]:
            W[c, d] -= lr * dW[c, d]
        if d == 0:
            b[c] -= lr * db[c]

    return scores, loss, gradient, update


@dataclass
class DeviceData:
    """The training split on the device, uploaded once per session: ``X`` (N, D) uint8, ``y`` (N,) int32,
    ``mean`` (D,) float32, plus the work arrays of a batch of up to ``capacity`` rows."""

    X: object
    y: object
    mean: object
    scale: np.float32

    @classmethod
    def upload(cls, X, y, mean, scale) -> "DeviceData":
        return cls(cuda.to_device(np.ascontiguousarray(X, dtype=np.uint8)),
                   cuda.to_device(np.ascontiguousarray(y, dtype=np.int32)),
                   cuda.to_device(np.ascontiguousarray(mean, dtype=np.float32)), np.float32(scale))


def train_chunk(data: DeviceData, order, start, n_steps, batch_size, W, b, lr, reg, loss_id, loss_limit,
                threads_per_block: int = 128):
    """Run up to ``n_steps`` SGD steps on the device; ``W`` (C, D) and ``b`` (C,) float32 host arrays are updated
    in place. Same contract as :func:`gdstudio.kernels.cpu._train_chunk`.

    Returns ``(steps_done, position, status, loss, data_loss, correct, batch)``, the per-step arrays of length
    ``n_steps`` (entries past the last recorded step are zero).
    """
    scores, loss, gradient, update = kernels(threads_per_block)
    tpb = int(threads_per_block)
    N = len(order)
    C, D = W.shape
    B = int(batch_size)
    d_order = cuda.to_device(np.ascontiguousarray(order, dtype=np.int64))
    d_W = cuda.to_device(np.ascontiguousarray(W, dtype=np.float32))
    d_b = cuda.to_device(np.ascontiguousarray(b, dtype=np.float32))
    d_S = cuda.device_array((B, C), np.float32)
    d_dW = cuda.device_array((C, D), np.float32)
    d_db = cuda.device_array(C, np.float32)
    d_row_loss = cuda.device_array(B, np.float32)
    d_row_correct = cuda.device_array(B, np.int32)
    outs = [cuda.to_device(np.zeros(n_steps, dt)) for dt in (np.float32, np.float32, np.int32, np.int32)]
    status = cuda.to_device(np.zeros(3, np.int64))  # [status, failing step, overflow flag]
    lr32, reg32, limit32 = np.float32(lr), np.float32(reg), np.float32(loss_limit)
    pos = int(start)
    steps_planned = 0
    starts = []
    for step in range(n_steps):
        if pos >= N:
            break
        nb = min(B, N - pos)
        starts.append(pos)
        scores[(nb, C), tpb](data.X, d_order, pos, nb, data.mean, data.scale, d_W, d_b, d_S, status)
        loss[1, tpb](d_S, data.y, d_order, pos, nb, d_W, reg32, loss_id, limit32, step, d_row_loss, d_row_correct,
                     *outs, status)
        grid = ((D + tpb - 1) // tpb, C)
        gradient[grid, tpb](data.X, d_order, pos, nb, data.mean, data.scale, d_W, d_b, lr32, reg32, d_S, d_dW,
                            d_db, step, status)
        update[grid, tpb](d_W, d_b, d_dW, d_db, lr32, step, status)
        pos += nb
        steps_planned += 1
    host_status = status.copy_to_host()
    W[...] = d_W.copy_to_host()
    b[...] = d_b.copy_to_host()
    arrays = [o.copy_to_host() for o in outs]
    code = int(host_status[0])
    if code != STATUS_OK:
        failed = int(host_status[1])
        return (failed, starts[failed], code, *arrays)
    return (steps_planned, pos, STATUS_OK, *arrays)


def loss_and_grad(W, b, X, y, loss: str, reg: float, mean=None, scale: float = 1.0, threads_per_block: int = 128):
    """The contract's operation on the device: ``(loss, dW, db)`` of one batch, float32 (one step with α = 0).

    Twin of :func:`gdstudio.kernels.reference.loss_and_grad`, taking uint8 ``X`` (N, D) plus the preprocessing.
    """
    X = np.ascontiguousarray(X, dtype=np.uint8)
    N, D = X.shape
    W = np.array(W, dtype=np.float32)
    C = W.shape[0]
    b = np.array(b, dtype=np.float32)
    mean = np.zeros(D, np.float32) if mean is None else np.asarray(mean, np.float32)
    data = DeviceData.upload(X, y, mean, scale)
    scores, loss_kernel, gradient, _ = kernels(threads_per_block)
    tpb = int(threads_per_block)
    d_order = cuda.to_device(np.arange(N, dtype=np.int64))
    d_W, d_b = cuda.to_device(W), cuda.to_device(b)
    d_S = cuda.device_array((N, C), np.float32)
    d_dW = cuda.device_array((C, D), np.float32)
    d_db = cuda.device_array(C, np.float32)
    outs = [cuda.to_device(np.zeros(1, dt)) for dt in (np.float32, np.float32, np.int32, np.int32)]
    status = cuda.to_device(np.zeros(3, np.int64))
    zero, reg32 = np.float32(0.0), np.float32(reg)
    scores[(N, C), tpb](data.X, d_order, 0, N, data.mean, data.scale, d_W, d_b, d_S, status)
    loss_kernel[1, tpb](d_S, data.y, d_order, 0, N, d_W, reg32, LOSS_IDS[loss], np.float32(np.inf), 0,
                        cuda.device_array(N, np.float32), cuda.device_array(N, np.int32), *outs, status)
    gradient[((D + tpb - 1) // tpb, C), tpb](data.X, d_order, 0, N, data.mean, data.scale, d_W, d_b, zero, reg32,
                                             d_S, d_dW, d_db, 0, status)
    return float(outs[0].copy_to_host()[0]), d_dW.copy_to_host(), d_db.copy_to_host()
