"""CUDA twin of :mod:`gdstudio.kernels.cpu` (numba-cuda), float32, with the same chunk semantics.

Imported only when the CUDA backend is asked for (``import gdstudio`` never imports ``numba.cuda``). The data
stay on the device as uint8 (:class:`DeviceData`). A chunk is **one cooperative launch**: the host uploads the
epoch's shuffled order and the weights, launches :func:`chunk_kernel` once, and reads the per-step losses, the
status and the weights back at its end. Inside, every step runs four phases separated by grid-wide barriers
(``cuda.cg.this_grid().sync()``):

1. scores: each block takes batch rows; its threads stride over the pixels, widen and preprocess them on the
   fly, keep one partial sum per class and reduce them in shared memory in a fixed tree order; every block also
   adds up its share of ``ΣW²``;
2. loss: one thread per batch row turns ``S`` into ``dL/dS`` in place and keeps ``L_i``;
3. gradient: one thread per entry of ``dW`` (and of ``db``) sums over the batch rows in order (their indices and
   ``dL/dS`` staged in shared memory by tiles) and flags a non-finite new weight; block 0 first sums the data loss,
   the correct count and ``ΣW²`` in fixed trees, records the step and sets the status (1: non-finite, 2: above the
   limit);
4. update: ``W ← W − α·dW``, ``b ← b − α·db`` unless the status or the flag says otherwise, so a failing step is
   never applied (W keeps its last finite values, as on the CPU).

No host round trip per step, no launch per step (launching through numba costs tens of microseconds per
kernel, more than a CIFAR-10-shaped step's arithmetic on a data-centre GPU). The grid is at most one block per
multiprocessor, so a cooperative launch always fits; its size depends only on the shapes and the device, and
every sum runs in an order fixed by it, so the same inputs give the same bits. Tests run the kernel under
``NUMBA_ENABLE_CUDASIM=1`` (one block: the simulator runs a cooperative grid of one block only) with a small
``threads_per_block``; ``tests/bench/gpu_check.sh`` runs the same checks on a device with many blocks.
"""

from __future__ import annotations

import math
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import config as numba_config
from numba import cuda

from gdstudio import config

SVM = 0
SOFTMAX = 1
LOSS_IDS = {"svm": SVM, "softmax": SOFTMAX}
STATUS_OK, STATUS_NONFINITE, STATUS_TOO_LARGE = 0, 1, 2
SVM_MARGIN = 1.0


@lru_cache(maxsize=None)
def chunk_kernel(threads_per_block: int, C: int):
    """The chunk kernel compiled for ``threads_per_block`` (a power of two: the shared-memory trees) and ``C``
    classes (the per-thread score accumulators live in registers)."""
    tpb = int(threads_per_block)
    if tpb < 1 or tpb & (tpb - 1):
        raise ValueError(f"threads_per_block must be a power of two, got {tpb}")

    @cuda.jit(device=True)
    def _block_sum(partial, t, value):
        """``partial[0] ←`` the sum of every thread's ``value`` (a tree in shared memory, in a fixed order)."""
        partial[t] = value
        cuda.syncthreads()
        step = tpb // 2
        while step > 0:
            if t < step:
                partial[t] += partial[t + step]
            cuda.syncthreads()
            step //= 2

    @cuda.jit(device=True)
    def _row_loss(S, r, label, inv_n, loss_id):
        """Row ``r`` of ``S`` becomes ``dL/dS`` (already divided by the batch size); returns ``(L_i, correct)``."""
        best = 0
        for c in range(1, C):
            if S[r, c] > S[r, best]:
                best = c
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
            factor = inv_n / norm
            for c in range(C):
                S[r, c] *= factor
            S[r, label] -= inv_n
        return total, 1 if best == label else 0

    @cuda.jit
    def chunk(X, y, order, start, n_steps, B, mean, scale, W, b, lr, reg, loss_id, loss_limit, S, dW, db,
              row_loss, row_correct, reg_partials, out_loss, out_data_loss, out_correct, out_batch, status):
        grid = cuda.cg.this_grid()
        t = cuda.threadIdx.x
        block = cuda.blockIdx.x
        n_blocks = cuda.gridDim.x
        thread = block * tpb + t
        n_threads = n_blocks * tpb
        N = order.shape[0]
        D = X.shape[1]
        CD = C * D
        sums = cuda.local.array(C, np.float32)
        tree = cuda.shared.array((C, tpb), np.float32)
        tree64 = cuda.shared.array(tpb, np.float64)
        tile_rows = cuda.shared.array(tpb, np.int64)  # a tile of the batch's row indices and dL/dS rows
        tile_dS = cuda.shared.array((tpb, C), np.float32)
        for step in range(n_steps):
            pos = start + step * B
            if pos >= N or status[0] != STATUS_OK:  # read after a grid barrier: every thread agrees
                break
            nb = min(B, N - pos)
            # 1. scores S = W·x + b of the block's rows, and this block's share of ΣW²
            for r in range(block, nb, n_blocks):
                i = order[pos + r]
                for c in range(C):
                    sums[c] = 0.0
                for d in range(t, D, tpb):
                    x = np.float32(X[i, d]) - mean[d]
                    for c in range(C):
                        sums[c] += x * W[c, d]
                for c in range(C):
                    tree[c, t] = sums[c]
                cuda.syncthreads()
                half = tpb // 2
                while half > 0:
                    if t < half:
                        for c in range(C):
                            tree[c, t] += tree[c, t + half]
                    cuda.syncthreads()
                    half //= 2
                for c in range(t, C, tpb):
                    S[r, c] = scale * tree[c, 0] + b[c]
                cuda.syncthreads()
            square_sum = 0.0
            for k in range(thread, CD, n_threads):
                w = W[k // D, k % D]
                square_sum += w * w
            _block_sum(tree64, t, square_sum)
            if t == 0:
                reg_partials[block] = tree64[0]
            grid.sync()
            # 2. each row's loss, and dL/dS in place
            inv_n = np.float32(1.0) / np.float32(nb)
            for r in range(thread, nb, n_threads):
                row_loss[r], row_correct[r] = _row_loss(S, r, y[order[pos + r]], inv_n, loss_id)
            grid.sync()
            # 3. block 0 records the step (each sum a fixed tree); every thread computes its entries of dW and db
            if block == 0:
                value = 0.0
                correct = 0.0
                for r in range(t, nb, tpb):
                    value += row_loss[r]
                    correct += row_correct[r]
                _block_sum(tree64, t, value)
                data_loss = tree64[0] / nb  # only thread 0 reads or writes entry 0 between trees
                _block_sum(tree64, t, correct)
                correct = tree64[0]
                reg_sum = 0.0
                for k in range(t, n_blocks, tpb):
                    reg_sum += reg_partials[k]
                _block_sum(tree64, t, reg_sum)
                if t == 0:
                    total = data_loss + reg * tree64[0]
                    out_loss[step] = total
                    out_data_loss[step] = data_loss
                    out_correct[step] = int(correct)
                    out_batch[step] = nb
                    if not math.isfinite(total):
                        status[0] = STATUS_NONFINITE
                        status[1] = step
                    elif total > loss_limit:
                        status[0] = STATUS_TOO_LARGE
                        status[1] = step
            # dW[c, d] = scale·Σ_r dS[r, c]·(x_r[d] − mean[d]) + 2λW[c, d]: the rows go through shared memory in
            # tiles (their indices and dL/dS rows), so a thread's loop issues independent pixel loads
            for base in range(block * tpb, CD, n_threads):  # the same trips for every thread of a block
                k = base + t
                active = k < CD
                c = k // D
                d = k - c * D
                m = mean[d] if active else np.float32(0.0)
                acc = np.float32(0.0)
                for first in range(0, nb, tpb):
                    rows = min(tpb, nb - first)
                    cuda.syncthreads()
                    if t < rows:
                        tile_rows[t] = order[pos + first + t]
                    for j in range(t, rows * C, tpb):
                        tile_dS[j // C, j % C] = S[first + j // C, j % C]
                    cuda.syncthreads()
                    if active:
                        for r in range(rows):
                            acc += tile_dS[r, c] * (np.float32(X[tile_rows[r], d]) - m)
                if active:
                    g = scale * acc + np.float32(2.0) * reg * W[c, d]
                    dW[c, d] = g
                    if not math.isfinite(W[c, d] - lr * g):
                        status[2] = 1
            for c in range(thread, C, n_threads):
                acc = np.float32(0.0)
                for r in range(nb):
                    acc += S[r, c]
                db[c] = acc
                if not math.isfinite(b[c] - lr * acc):
                    status[2] = 1
            grid.sync()
            # 4. the update, unless the step failed
            if status[0] == STATUS_OK:
                if status[2] != 0:  # a gradient or the step overflows: keep the last finite weights
                    if thread == 0:
                        status[0] = STATUS_NONFINITE
                        status[1] = step
                else:
                    for k in range(thread, CD, n_threads):
                        c = k // D
                        d = k - c * D
                        W[c, d] -= lr * dW[c, d]
                    for c in range(thread, C, n_threads):
                        b[c] -= lr * db[c]
            grid.sync()

    return chunk


@dataclass
class DeviceData:
    """The training split on the device, uploaded once per session: ``X`` (N, D) uint8, ``y`` (N,) int32,
    ``mean`` (D,) float32 and the preprocessing scale."""

    X: object
    y: object
    mean: object
    scale: np.float32

    @classmethod
    def upload(cls, X, y, mean, scale) -> "DeviceData":
        return cls(cuda.to_device(np.ascontiguousarray(X, dtype=np.uint8)),
                   cuda.to_device(np.ascontiguousarray(y, dtype=np.int32)),
                   cuda.to_device(np.ascontiguousarray(mean, dtype=np.float32)), np.float32(scale))


def grid_blocks(batch_size: int, C: int, D: int, threads_per_block: int) -> int:
    """Blocks of a chunk's cooperative grid: enough for one gradient entry per thread or two batch rows per block,
    at most one per multiprocessor (so the whole grid is resident, as a cooperative launch needs); one block
    under the simulator (the only cooperative grid it runs)."""
    if numba_config.ENABLE_CUDASIM:
        return 1
    wanted = max(1, -(-C * D // threads_per_block), -(-int(batch_size) // 2))
    return min(wanted, cuda.get_current_device().MULTIPROCESSOR_COUNT)


def launch_threads(threads_per_block: int) -> int:
    """The threads per block a launch uses: ``threads_per_block`` on a device; under the simulator at most
    ``config.CUDA_SIM_THREADS_PER_BLOCK`` (it runs every thread as a Python thread, and every barrier waits for
    all of them), so the CUDA path can be tried end to end without a GPU."""
    tpb = int(threads_per_block)
    if numba_config.ENABLE_CUDASIM:
        return min(tpb, config.CUDA_SIM_THREADS_PER_BLOCK)
    return tpb


def _launch(data: DeviceData, order, start, n_steps, batch_size, W, b, lr, reg, loss_id, loss_limit,
            threads_per_block):
    """One cooperative launch of :func:`chunk_kernel`; returns the device arrays it filled."""
    tpb = launch_threads(threads_per_block)
    C, D = W.shape
    B = int(batch_size)
    blocks = grid_blocks(B, C, D, tpb)
    dev = {
        "order": cuda.to_device(np.ascontiguousarray(order, dtype=np.int64)),
        "W": cuda.to_device(np.ascontiguousarray(W, dtype=np.float32)),
        "b": cuda.to_device(np.ascontiguousarray(b, dtype=np.float32)),
        "dW": cuda.device_array((C, D), np.float32),
        "db": cuda.device_array(C, np.float32),
        "outs": [cuda.to_device(np.zeros(max(n_steps, 1), dt)) for dt in (np.float32, np.float32, np.int32,
                                                                           np.int32)],
        "status": cuda.to_device(np.zeros(3, np.int64)),  # [status, failing step, overflow flag]
    }
    with _simulator_pace():
        chunk_kernel(tpb, C)[blocks, tpb](
            data.X, data.y, dev["order"], int(start), int(n_steps), B, data.mean, data.scale, dev["W"], dev["b"],
            np.float32(lr), np.float32(reg), int(loss_id), np.float32(loss_limit),
            cuda.device_array((B, C), np.float32), dev["dW"], dev["db"], cuda.device_array(B, np.float32),
            cuda.device_array(B, np.int32), cuda.device_array(blocks, np.float64), *dev["outs"], dev["status"])
    return dev


@contextmanager
def _simulator_pace():
    """Under the simulator, a short interpreter switch interval for the launch: its manager thread polls the
    block's threads while holding the GIL, so at Python's default 5 ms every barrier waited milliseconds for
    each thread to be let back in (``config.CUDA_SIM_SWITCH_INTERVAL``; the previous interval is restored)."""
    if not numba_config.ENABLE_CUDASIM:
        yield
        return
    previous = sys.getswitchinterval()
    sys.setswitchinterval(config.CUDA_SIM_SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def train_chunk(data: DeviceData, order, start, n_steps, batch_size, W, b, lr, reg, loss_id, loss_limit,
                threads_per_block: int = 256):
    """Run up to ``n_steps`` SGD steps on the device; ``W`` (C, D) and ``b`` (C,) float32 host arrays are updated
    in place. Same contract as :func:`gdstudio.kernels.cpu._train_chunk`.

    Returns ``(steps_done, position, status, loss, data_loss, correct, batch)``, the per-step arrays of length
    ``n_steps`` (entries past the last recorded step are zero).
    """
    N = len(order)
    B = int(batch_size)
    n_steps = max(0, min(int(n_steps), -(-(N - int(start)) // B)))
    if n_steps == 0:
        return (0, int(start), STATUS_OK, *(np.zeros(0, dt) for dt in (np.float32, np.float32, np.int32, np.int32)))
    dev = _launch(data, order, start, n_steps, B, W, b, lr, reg, loss_id, loss_limit, threads_per_block)
    host_status = dev["status"].copy_to_host()
    W[...] = dev["W"].copy_to_host()
    b[...] = dev["b"].copy_to_host()
    arrays = [o.copy_to_host() for o in dev["outs"]]
    code = int(host_status[0])
    if code != STATUS_OK:
        failed = int(host_status[1])
        return (failed, int(start) + failed * B, code, *arrays)
    return (n_steps, min(N, int(start) + n_steps * B), STATUS_OK, *arrays)


def loss_and_grad(W, b, X, y, loss: str, reg: float, mean=None, scale: float = 1.0, threads_per_block: int = 256):
    """The contract's operation on the device: ``(loss, dW, db)`` of one batch, float32 — the chunk kernel run for
    one step over the whole of ``X`` with α = 0.

    Twin of :func:`gdstudio.kernels.reference.loss_and_grad`, taking uint8 ``X`` (N, D) plus the preprocessing.
    """
    X = np.ascontiguousarray(X, dtype=np.uint8)
    N, D = X.shape
    W = np.array(W, dtype=np.float32)
    b = np.array(b, dtype=np.float32)
    mean = np.zeros(D, np.float32) if mean is None else np.asarray(mean, np.float32)
    data = DeviceData.upload(X, y, mean, scale)
    dev = _launch(data, np.arange(N), 0, 1, N, W, b, 0.0, reg, LOSS_IDS[loss], np.float32(3e38), threads_per_block)
    return float(dev["outs"][0].copy_to_host()[0]), dev["dW"].copy_to_host(), dev["db"].copy_to_host()
