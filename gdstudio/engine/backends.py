"""Backends: the same training chunk and evaluation on the NumPy reference, the Numba CPU kernels or CUDA.

A backend owns nothing but its work buffers; the session owns the weights, the data and the RNG.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np

from gdstudio.config import CUDA_AUTO_MIN_FEATURES, EVAL_BLOCK_ROWS, ConfigError
from gdstudio.data.dataset import Preprocess
from gdstudio.kernels import reference

STATUS_OK, STATUS_NONFINITE, STATUS_TOO_LARGE = 0, 1, 2

# Problems at least this large (rows × D × C multiply-adds per call) use the parallel kernels: below it, waking
# the thread pool costs more than it saves, and a pool thread that loses its core (a busy machine) stalls the call.
PARALLEL_MIN_WORK = 4_000_000


@dataclass
class ChunkResult:
    """What one chunk of steps did: per-step arrays (length ``steps``) and where it stopped."""

    steps: int
    position: int
    status: int
    loss: np.ndarray
    data_loss: np.ndarray
    correct: np.ndarray
    batch: np.ndarray
    crossed: int = 0
    """How many epoch boundaries the chunk crossed, into the next epochs' orders it was given."""
    measured: tuple | None = None
    """``(train_correct, val_correct)`` per step done (−1: not measured), when the kernel measured accuracy."""


class NumpyBackend:
    """The reference kernels, one Python-level step at a time, float64. Slow; the ground truth."""

    name = "numpy"
    dtype = np.float64

    def __init__(self, X, y, preprocess: Preprocess, threads: int | None = None) -> None:
        self.X, self.y, self.preprocess = X, y, preprocess

    def train_chunk(self, W, b, order, start, n_steps, batch_size, lr, reg, loss, loss_limit) -> ChunkResult:
        # overflow is expected when α is too large; the divergence guard below reports it
        with np.errstate(over="ignore", invalid="ignore"):
            return self._train_chunk(W, b, order, start, n_steps, batch_size, lr, reg, loss, loss_limit)

    def _train_chunk(self, W, b, order, start, n_steps, batch_size, lr, reg, loss, loss_limit) -> ChunkResult:
        out = chunk_arrays(n_steps)
        pos = start
        N = len(order)
        for step in range(n_steps):
            if pos >= N:
                return ChunkResult(step, pos, STATUS_OK, *(a[:step] for a in out))
            rows = order[pos:pos + batch_size]
            x = self.preprocess.apply(self.X[rows])
            yb = self.y[rows]
            S = reference.scores(W, b, x)
            data_loss, dS = reference.DATA_LOSSES[loss](S, yb)
            value = data_loss + reg * float(np.sum(W * W))
            out[0][step], out[1][step] = value, data_loss
            out[2][step], out[3][step] = np.count_nonzero(np.argmax(S, axis=1) == yb), len(rows)
            if not np.isfinite(value):
                return ChunkResult(step, pos, STATUS_NONFINITE, *(a[:step + 1] for a in out))
            if value > loss_limit:
                return ChunkResult(step, pos, STATUS_TOO_LARGE, *(a[:step + 1] for a in out))
            W_new = W - lr * (dS.T @ x + 2.0 * reg * W)
            b_new = b - lr * dS.sum(axis=0)
            if not (np.all(np.isfinite(W_new)) and np.all(np.isfinite(b_new))):
                return ChunkResult(step, pos, STATUS_NONFINITE, *(a[:step + 1] for a in out))
            W[...] = W_new
            b[...] = b_new
            pos += len(rows)
        return ChunkResult(n_steps, pos, STATUS_OK, *out)

    def evaluate(self, X, y, W, b, loss):
        """``(mean data loss, accuracy, predictions)`` over all rows of ``X`` (uint8), in blocks."""
        N = len(y)
        if N == 0:
            return float("nan"), float("nan"), np.empty(0, np.int32)
        pred = np.empty(N, np.int32)
        total = 0.0
        for lo in range(0, N, EVAL_BLOCK_ROWS):
            x = self.preprocess.apply(X[lo:lo + EVAL_BLOCK_ROWS])
            S = reference.scores(W, b, x)
            pred[lo:lo + len(x)] = np.argmax(S, axis=1)
            if loss is not None:
                data_loss, _ = reference.DATA_LOSSES[loss](S, y[lo:lo + EVAL_BLOCK_ROWS])
                total += data_loss * len(x)
        return (total / N if loss is not None else float("nan")), float(np.count_nonzero(pred == y) / N), pred


def prepare_cpu_kernels() -> None:
    """Import Numba and the CPU kernels and initialise Numba's runtime: the ≈ 0.3 s of a fresh process that does
    not depend on the data, so a worker thread can do it while the data set loads (reading and hashing the files
    releases the GIL)."""
    from gdstudio.kernels import cpu  # noqa: F401  (first: it chooses the CPU features before the target exists)
    from gdstudio.kernels.quick_load import prepare_runtime

    prepare_runtime()


def start_preparing(backend: str) -> threading.Thread | None:
    """:func:`prepare_cpu_kernels` in a daemon thread, for every backend that runs the CPU kernels (``cuda``
    measures accuracy with them); ``None`` for ``numpy``. A failure there is left for the main thread to meet."""
    if backend == "numpy" or _prepared:
        return None
    thread = threading.Thread(target=_prepare_quietly, name="gdstudio-prepare-kernels", daemon=True)
    thread.start()
    return thread


_prepared = False


def _prepare_quietly() -> None:
    global _prepared
    try:
        prepare_cpu_kernels()
    except Exception:  # the main thread imports and loads the same things, and reports what fails
        return
    _prepared = True


def readonly(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array``: the CPU kernels are called with read-only pixels only (memory-mapped files
    are read-only), so each has one signature to load, not one per writability."""
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


class CpuBackend:
    """The Numba kernels of :mod:`gdstudio.kernels.cpu`, float32, a whole chunk per call."""

    name = "cpu"
    dtype = np.float32

    def __init__(self, X, y, preprocess: Preprocess, threads: int | None = None) -> None:
        from gdstudio.kernels import cpu  # numba compiles (or loads its cache) on first use

        self.cpu = cpu
        self.X = readonly(np.ascontiguousarray(X, dtype=np.uint8))
        self.y = np.ascontiguousarray(y, dtype=np.int32)
        self.mean = np.ascontiguousarray(preprocess.mean, dtype=np.float32)
        self.scale = np.float32(preprocess.scale)
        self.threads = threads
        self.buffers = None
        self._escores = None

    def _parallel(self, rows: int, C: int) -> bool:
        return rows * self.X.shape[1] * C >= PARALLEL_MIN_WORK and (self.threads or 2) > 1

    def _set_threads(self) -> None:
        if self.threads is not None:
            import numba

            numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))

    measures_inside = True
    """The chunk kernel measures live accuracy itself, so chunks need not end at measurement steps."""

    def train_chunk(self, W, b, order, start, n_steps, batch_size, lr, reg, loss, loss_limit,
                    measure=None, next_orders=None) -> ChunkResult:
        """``measure``: ``(X_subsets, y_subsets, n_train_rows, every, step0)`` to measure live accuracy inside;
        ``next_orders``: (K, N) the next K epochs' orders, to let the chunk run on across K epoch boundaries."""
        C, D = W.shape
        if self.buffers is None or self.buffers.S.shape[0] < batch_size:
            self.buffers = self.cpu.Buffers.make(batch_size, C, D)
        out = chunk_arrays(n_steps, np.float32, np.int32)
        if measure is None:
            measurement = self.cpu.no_measurement(D, C, n_steps)
        else:
            Xe, ye, n_first, every, step0 = measure
            if self._escores is None or self._escores.shape != (len(ye), C):
                self._escores = np.empty((len(ye), C), np.float32)
            measurement = (Xe, ye, n_first, every, step0, self._escores, np.empty(n_steps, np.int32),
                           np.empty(n_steps, np.int32), self.cpu.NO_NEXT_ORDER)
        if next_orders is not None:
            measurement = measurement[:-1] + (next_orders,)
        measurement = (readonly(measurement[0]),) + measurement[1:]
        kernel = self.cpu.train_chunk_parallel if self._parallel(batch_size, C) else self.cpu.train_chunk_serial
        self._set_threads()
        buf = self.buffers
        steps, position, status, crossed = kernel(
            self.X, self.y, order, start, n_steps, batch_size, self.mean, self.scale, W, b, np.float32(lr),
            np.float32(reg), self.cpu.LOSS_IDS[loss], np.float32(min(loss_limit, 3e38)), buf.work, buf.S, buf.dW,
            buf.db, *out, *measurement)
        recorded = steps if status == STATUS_OK else steps + 1
        result = ChunkResult(steps, position, status, *(a[:recorded] for a in out))
        result.crossed = int(crossed)
        if measure is not None:
            result.measured = (measurement[-3][:steps], measurement[-2][:steps])
        return result

    def evaluate(self, X, y, W, b, loss):
        self._set_threads()
        return self.cpu.evaluate(readonly(np.ascontiguousarray(X, dtype=np.uint8)),
                                 np.ascontiguousarray(y, dtype=np.int32),
                                 self.mean, self.scale, W, b, loss, parallel=self._parallel(len(y), W.shape[0]),
                                 block_rows=EVAL_BLOCK_ROWS)


class CudaBackend:
    """The numba-cuda kernels of :mod:`gdstudio.kernels.cuda`, float32: the training split lives on the device as
    uint8, a chunk uploads the epoch's order and the weights, runs every step on the device and reads the losses
    and weights back once. Evaluation (small subsets, the final metrics) runs on the CPU kernels."""

    name = "cuda"
    dtype = np.float32

    def __init__(self, X, y, preprocess: Preprocess, threads: int | None = None) -> None:
        from gdstudio.kernels import cuda as cuda_kernels  # imports numba.cuda: only when asked for

        self.kernels = cuda_kernels
        self.data = cuda_kernels.DeviceData.upload(X, y, preprocess.mean, preprocess.scale)
        self.cpu = CpuBackend(X, y, preprocess, threads)

    def train_chunk(self, W, b, order, start, n_steps, batch_size, lr, reg, loss, loss_limit) -> ChunkResult:
        from gdstudio import config

        steps, position, status, *arrays = self.kernels.train_chunk(
            self.data, order, start, n_steps, batch_size, W, b, lr, reg, self.kernels.LOSS_IDS[loss],
            min(loss_limit, 3e38), threads_per_block=config.CUDA_THREADS_PER_BLOCK)
        recorded = steps if status == STATUS_OK else steps + 1
        return ChunkResult(steps, position, status, *(a[:recorded] for a in arrays))

    def evaluate(self, X, y, W, b, loss):
        return self.cpu.evaluate(X, y, W, b, loss)


def chunk_arrays(n, float_dtype=np.float64, int_dtype=np.int64):
    return (np.zeros(n, float_dtype), np.zeros(n, float_dtype), np.zeros(n, int_dtype), np.zeros(n, int_dtype))


@functools.lru_cache(maxsize=1)
def cuda_status() -> str | None:
    """``None`` when the CUDA backend can run here, else the reason it cannot (for messages and the GUI).

    On a device, a one-line kernel is compiled too: an installed numba-cuda can fail only at its first compile
    (numba-cuda 0.30 with NumPy 2.5: "module 'numpy' has no attribute 'row_stack'"), and that must read as
    "CUDA not available", not as a crash in the middle of a run.
    """
    try:
        from numba import config as numba_config
        from numba import cuda
    except Exception as exc:  # numba-cuda missing or broken: say so, never crash
        return f"CUDA not available: {exc}"
    try:
        if not cuda.is_available():
            return "CUDA not available: no CUDA GPU or driver found"
        if not numba_config.ENABLE_CUDASIM:
            cuda.jit("void(float32[:])")(_cuda_probe)
    except Exception as exc:
        return f"CUDA not available: {type(exc).__name__}: {exc}"
    return None


def _cuda_probe(a):
    a[0] = 1.0


def _real_cuda() -> bool:
    """CUDA runs here on a real device (not numba's simulator)."""
    if cuda_status() is not None:
        return False
    from numba import config as numba_config

    return not numba_config.ENABLE_CUDASIM


BACKEND_CLASSES = {"numpy": NumpyBackend, "cpu": CpuBackend, "cuda": CudaBackend}


def make_backend(name: str, X, y, preprocess: Preprocess, threads: int | None = None):
    """The backend ``name`` for training data ``X, y`` (uint8, (N, D)).

    ``auto`` is ``cpu``, except on a real CUDA device for problems with at least ``CUDA_AUTO_MIN_FEATURES``
    multiply-adds per example (D·C; CIFAR-10's 30,720, not the digits' 640), where per-step launch overhead
    no longer dominates. ``cuda`` where CUDA cannot run raises ``ConfigError`` ("CUDA not available: …").
    """
    if name == "auto":
        classes = int(np.max(y)) + 1 if len(y) else 1
        big = X.shape[1] * classes >= CUDA_AUTO_MIN_FEATURES
        name = "cuda" if big and _real_cuda() else "cpu"
    if name == "cuda":
        reason = cuda_status()
        if reason is not None:
            raise ConfigError(f"backend cuda: {reason}; use --backend cpu")
    return BACKEND_CLASSES[name](X, y, preprocess, threads)
