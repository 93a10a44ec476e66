"""Every backend against the reference, and the reference against a central-difference gradient."""

import numpy as np
import pytest

from gdstudio.data.dataset import Preprocess
from gdstudio.kernels import cpu, reference

SHAPES = [(1, 2, 1), (1, 2, 3), (5, 3, 7), (33, 10, 65), (64, 10, 64), (7, 4, 1031)]
LOSSES = ["svm", "softmax"]
REGS = [0.0, 0.3]


def problem(N, C, D, seed=0, weight_scale=0.05):
    rng = np.random.default_rng(seed + 7 * N + 13 * C + D)
    X = rng.integers(0, 256, (N, D), dtype=np.uint8)
    y = rng.integers(0, C, N).astype(np.int32)
    W = rng.standard_normal((C, D)) * weight_scale
    b = rng.standard_normal(C) * 0.1
    pre = Preprocess(mean=X.mean(axis=0).astype(np.float32), scale=1 / 255)
    return X, y, W, b, pre


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("reg", REGS)
@pytest.mark.parametrize("shape", SHAPES[:5])
def test_reference_gradient_matches_central_differences(shape, loss, reg):
    X, y, W, b, pre = problem(*shape)
    x = pre.apply(X)
    value, dW, db = reference.loss_and_grad(W, b, x, y, loss, reg)
    numeric_W = reference.numerical_gradient(lambda w: reference.loss_and_grad(w, b, x, y, loss, reg)[0], W.copy())
    numeric_b = reference.numerical_gradient(lambda v: reference.loss_and_grad(W, v, x, y, loss, reg)[0], b.copy())
    # relative error where the gradient is not tiny; an absolute bound covers the round-off of the others
    np.testing.assert_allclose(dW, numeric_W, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(db, numeric_b, rtol=1e-6, atol=1e-9)
    assert np.isfinite(value)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("reg", REGS)
@pytest.mark.parametrize("shape", SHAPES)
def test_cpu_kernel_matches_reference(shape, loss, reg):
    X, y, W, b, pre = problem(*shape)
    expected = reference.loss_and_grad(W, b, pre.apply(X), y, loss, reg)
    got = cpu.loss_and_grad(W, b, X, y, loss, reg, pre.mean, pre.scale)
    assert got[0] == pytest.approx(expected[0], rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[2], expected[2], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("D", [11, 300])  # short rows (classes in lanes); long rows with pixels after the last chunk
def test_cpu_gradient_matches_central_differences(loss, D):
    X, y, W, b, pre = problem(6, 3, D)
    _, dW, _ = cpu.loss_and_grad(W, b, X, y, loss, 0.1, pre.mean, pre.scale)
    x = pre.apply(X)
    numeric = reference.numerical_gradient(lambda w: reference.loss_and_grad(w, b, x, y, loss, 0.1)[0], W.copy())
    assert reference.relative_error(dW, numeric).max() < 1e-3  # float32 against float64 differences


def test_worked_example():
    S = np.array([[0.8, 0.3, -0.4]])
    y = np.array([0])
    assert reference.svm_data_loss(S, y)[0] == pytest.approx(0.5)
    assert reference.softmax_data_loss(S, y)[0] == pytest.approx(0.6459, abs=1e-4)


def test_initial_losses_with_tiny_weights():
    X, y, W, b, pre = problem(200, 10, 30, weight_scale=1e-6)
    x = pre.apply(X)
    assert reference.loss_and_grad(W, 0 * b, x, y, "softmax", 0)[0] == pytest.approx(np.log(10), rel=1e-3)
    assert reference.loss_and_grad(W, 0 * b, x, y, "svm", 0)[0] == pytest.approx(9.0, rel=1e-3)


def test_softmax_is_stable_for_huge_scores():
    S = np.array([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0]])
    loss, dS = reference.softmax_data_loss(S, np.array([2, 0]))
    # image 0 is 2000 behind (L = 2000), image 1 is far ahead (L = 0): the mean is 1000, never inf or nan
    assert loss == pytest.approx(1000.0)
    assert np.all(np.isfinite(dS))
    np.testing.assert_allclose(dS, [[0.5, 0, -0.5], [0, 0, 0]], atol=1e-12)


@pytest.mark.parametrize("big", [1000.0, -1000.0])
def test_cpu_softmax_is_stable_for_huge_scores(big):
    X = np.array([[255, 0], [0, 255]], np.uint8)
    y = np.array([1, 0], np.int32)
    W = np.array([[big / 255, 0.0], [0.0, -big / 255]])
    value, dW, db = cpu.loss_and_grad(W, np.zeros(2), X, y, "softmax", 0.0)
    expected, dW_ref, _ = reference.loss_and_grad(W, np.zeros(2), X.astype(float), y, "softmax", 0.0)
    assert np.isfinite(value) and np.all(np.isfinite(dW))
    assert value == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(dW, dW_ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("loss", LOSSES)
def test_evaluate_kernel_matches_reference(loss):
    X, y, W, b, pre = problem(300, 10, 50)
    x = pre.apply(X)
    for parallel in (False, True):
        data_loss, accuracy, pred = cpu.evaluate(X, y, pre.mean, pre.scale, W.astype(np.float32),
                                                 b.astype(np.float32), loss, parallel=parallel, block_rows=32)
        S = reference.scores(W, b, x)
        assert data_loss == pytest.approx(reference.DATA_LOSSES[loss](S, y)[0], rel=1e-5)
        np.testing.assert_array_equal(pred, np.argmax(S, axis=1))
        assert accuracy == pytest.approx(np.mean(np.argmax(S, axis=1) == y))


def chunk(kernel, X, y, W, b, pre, n_steps, batch, loss="softmax", lr=0.5, reg=1e-3, limit=np.inf, measure_every=0):
    """One chunk of ``n_steps`` steps; ``measure_every``: the live accuracy on the first 50 rows that often."""
    W = W.astype(np.float32).copy()
    b = b.astype(np.float32).copy()
    buf = cpu.Buffers.make(batch, *W.shape)
    out = (np.zeros(n_steps, np.float32), np.zeros(n_steps, np.float32), np.zeros(n_steps, np.int32),
           np.zeros(n_steps, np.int32))
    order = np.random.default_rng(3).permutation(len(y)).astype(np.int64)
    measurement = cpu.no_measurement(X.shape[1], W.shape[0], n_steps)
    if measure_every:
        measurement = (X[:50], y[:50], 30, measure_every, 0, np.zeros((50, W.shape[0]), np.float32),
                       np.zeros(n_steps, np.int32), np.zeros(n_steps, np.int32), cpu.NO_NEXT_ORDER)
    steps, pos, status, _ = kernel(X, y, order, 0, n_steps, batch, pre.mean, np.float32(pre.scale), W, b,
                                np.float32(lr), np.float32(reg), cpu.LOSS_IDS[loss], np.float32(limit), buf.work, buf.S,
                                buf.dW, buf.db, *out, *measurement)
    if measure_every:
        out = out + measurement[6:8]
    return steps, pos, status, W, b, out, order, buf


@pytest.mark.parametrize("loss", LOSSES)
def test_train_chunk_matches_reference_sgd(loss):
    X, y, W, b, pre = problem(50, 4, 23)
    steps, pos, status, W32, b32, out, order, _ = chunk(cpu.train_chunk_serial, X, y, W, b, pre, 20, 8, loss)
    assert (steps, status) == (7, cpu.STATUS_OK) and pos == 50  # the epoch ends after ceil(50 / 8) = 7 steps
    Wr, br = W.copy(), b.copy()
    for k in range(7):
        rows = order[8 * k: 8 * k + 8]
        Wr, br, value = reference.sgd_step(Wr, br, pre.apply(X[rows]), y[rows], loss, 1e-3, 0.5)
        assert out[0][k] == pytest.approx(value, rel=1e-4)
    np.testing.assert_allclose(W32, Wr, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(b32, br, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("D", [64, 300, 1031])  # short rows; long rows; long rows with pixels after the last chunk
def test_parallel_chunk_is_bitwise_the_serial_chunk(D, loss):
    """Same seed, same bits, whichever chunk kernel runs (and whichever of them this process compiled or loaded
    first: nothing in the kernels lets the compiler choose an order of summation)."""
    X, y, W, b, pre = problem(400, 10, D)
    a = chunk(cpu.train_chunk_serial, X, y, W, b, pre, 10, 32, loss, measure_every=3)
    p = chunk(cpu.train_chunk_parallel, X, y, W, b, pre, 10, 32, loss, measure_every=3)
    assert a[:3] == p[:3] == (10, 320, cpu.STATUS_OK)
    for serial, parallel in [(a[3], p[3]), (a[4], p[4]), (a[7].dW, p[7].dW), (a[7].db, p[7].db), *zip(a[5], p[5])]:
        np.testing.assert_array_equal(serial, parallel)
    assert [k for k, hits in enumerate(a[5][4]) if hits >= 0] == [2, 5, 8]  # measured after steps 3, 6 and 9


def test_divergence_keeps_last_finite_weights():
    X, y, W, b, pre = problem(64, 3, 10)
    steps, pos, status, W32, b32, out, _, _ = chunk(cpu.train_chunk_serial, X, y, W, b, pre, 8, 8, lr=1e30)
    assert status in (cpu.STATUS_NONFINITE, cpu.STATUS_TOO_LARGE)
    assert np.all(np.isfinite(W32)) and np.all(np.isfinite(b32))
    limited = chunk(cpu.train_chunk_serial, X, y, W, b, pre, 8, 8, lr=50.0, limit=5.0)
    assert limited[2] == cpu.STATUS_TOO_LARGE and limited[5][0][limited[0]] > 5.0
