"""The CUDA kernels against the reference, run by ``test_cuda.py`` in a child process (the simulator must be on
before numba is imported; the rest of the suite imports numba normally). On a machine with a GPU,
``GDSTUDIO_CUDA_REAL=1`` runs the same checks on the device (``tests/bench/gpu_check.sh``).

Tiny grids: 8 threads per block, so small inputs span several blocks and every tree reduction has levels.
"""

import os
import sys

if os.environ.get("GDSTUDIO_CUDA_REAL") != "1":
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import numpy as np  # noqa: E402

from gdstudio import config  # noqa: E402
from gdstudio.data.dataset import Preprocess  # noqa: E402
from gdstudio.kernels import cuda as ck  # noqa: E402
from gdstudio.kernels import reference  # noqa: E402

TPB = int(os.environ.get("GDSTUDIO_CUDA_TPB", "8"))
SHAPES = [(1, 2, 1), (5, 3, 7), (9, 4, 19)]


def problem(N, C, D, seed=0, weight_scale=0.05):
    rng = np.random.default_rng(seed + 7 * N + 13 * C + D)
    X = rng.integers(0, 256, (N, D), dtype=np.uint8)
    y = rng.integers(0, C, N).astype(np.int32)
    W = rng.standard_normal((C, D)) * weight_scale
    b = rng.standard_normal(C) * 0.1
    return X, y, W, b, Preprocess(mean=X.mean(axis=0).astype(np.float32), scale=1 / 255)


def check_loss_and_grad():
    for shape in SHAPES:
        for loss in ("svm", "softmax"):
            for reg in (0.0, 0.3):
                X, y, W, b, pre = problem(*shape)
                expected = reference.loss_and_grad(W, b, pre.apply(X), y, loss, reg)
                got = ck.loss_and_grad(W, b, X, y, loss, reg, pre.mean, pre.scale, threads_per_block=TPB)
                assert abs(got[0] - expected[0]) <= 1e-5 * abs(expected[0]) + 1e-6, (shape, loss, reg, got[0])
                np.testing.assert_allclose(got[1], expected[1], rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(got[2], expected[2], rtol=1e-4, atol=1e-6)


def run_chunk(X, y, W, b, pre, n_steps, batch, loss, lr=0.5, reg=1e-3, limit=np.inf, seed=3):
    W = W.astype(np.float32).copy()
    b = b.astype(np.float32).copy()
    order = np.random.default_rng(seed).permutation(len(y)).astype(np.int64)
    data = ck.DeviceData.upload(X, y, pre.mean, pre.scale)
    result = ck.train_chunk(data, order, 0, n_steps, batch, W, b, lr, reg, ck.LOSS_IDS[loss], limit,
                            threads_per_block=TPB)
    return result, W, b, order


def check_chunk_matches_reference_sgd():
    X, y, W, b, pre = problem(20, 3, 11)
    for loss in ("svm", "softmax"):
        (steps, pos, status, out_loss, *_), W32, b32, order = run_chunk(X, y, W, b, pre, 9, 6, loss)
        assert (steps, pos, status) == (4, 20, ck.STATUS_OK), (steps, pos, status)  # ceil(20 / 6) = 4 steps
        Wr, br = W.copy(), b.copy()
        for k in range(4):
            rows = order[6 * k: 6 * k + 6]
            Wr, br, value = reference.sgd_step(Wr, br, pre.apply(X[rows]), y[rows], loss, 1e-3, 0.5)
            assert abs(out_loss[k] - value) <= 1e-4 * abs(value), (loss, k, out_loss[k], value)
        np.testing.assert_allclose(W32, Wr, rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(b32, br, rtol=1e-3, atol=1e-5)


def check_deterministic_and_agrees_with_cpu():
    from gdstudio.kernels import cpu

    X, y, W, b, pre = problem(16, 3, 10)
    first = run_chunk(X, y, W, b, pre, 3, 5, "softmax")
    second = run_chunk(X, y, W, b, pre, 3, 5, "softmax")
    np.testing.assert_array_equal(first[1], second[1])
    W32, b32 = W.astype(np.float32).copy(), b.astype(np.float32).copy()
    buf = cpu.Buffers.make(5, *W32.shape)
    outs = (np.zeros(3, np.float32), np.zeros(3, np.float32), np.zeros(3, np.int32), np.zeros(3, np.int32))
    cpu.train_chunk_serial(X, y, first[3], 0, 3, 5, pre.mean, np.float32(pre.scale), W32, b32, np.float32(0.5),
                           np.float32(1e-3), cpu.SOFTMAX, np.float32(np.inf), buf.work, buf.S, buf.dW, buf.db, *outs,
                           *cpu.no_measurement(X.shape[1], W32.shape[0], 3))
    np.testing.assert_allclose(first[1], W32, rtol=1e-4, atol=1e-6)


def check_divergence_keeps_last_finite_weights():
    X, y, W, b, pre = problem(24, 3, 6)
    (steps, pos, status, *_), W32, b32, _ = run_chunk(X, y, W, b, pre, 4, 6, "softmax", lr=1e30)
    assert status in (ck.STATUS_NONFINITE, ck.STATUS_TOO_LARGE) and pos == 6 * steps
    assert np.all(np.isfinite(W32)) and np.all(np.isfinite(b32))
    (steps, pos, status, out_loss, *_), _, _, _ = run_chunk(X, y, W, b, pre, 4, 6, "svm", lr=50.0, limit=5.0)
    assert status == ck.STATUS_TOO_LARGE and out_loss[steps] > 5.0


def check_backend_through_session():
    from gdstudio.config import TrainConfig
    from gdstudio.engine.session import Session
    from tests.conftest import make_dataset

    config.CUDA_THREADS_PER_BLOCK = TPB
    data = make_dataset(n_train=24, n_val=8, n_test=8, C=3, D=6)
    runs = {}
    for backend in ("cuda", "cpu"):
        session = Session(TrainConfig(dataset=data.name, backend=backend, lr=0.5, reg=1e-3, batch_size=8,
                                      steps=4), dataset=data)
        records = list(session.run())
        assert records[-1].status == "ok" and session.backend.name == backend
        runs[backend] = session.W.copy()
    np.testing.assert_allclose(runs["cuda"], runs["cpu"], rtol=1e-4, atol=1e-6)


CHECKS = [check_loss_and_grad, check_chunk_matches_reference_sgd, check_deterministic_and_agrees_with_cpu,
          check_divergence_keeps_last_finite_weights, check_backend_through_session]

if __name__ == "__main__":
    names = sys.argv[1:] or [c.__name__ for c in CHECKS]
    for check in CHECKS:
        if check.__name__ in names:
            check()
            print(f"ok {check.__name__}", flush=True)
