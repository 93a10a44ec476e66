"""Issue 16: the mini-batch gradient is a noisy but unbiased estimate of the full gradient, and the numerical
gradient as the lecture writes it (forward against centred differences, the error against h, the cost).

The statistical tests use fixed seeds with enough draws to be steady: each was run with seeds 0–19 once, and the
margins below hold for all of them (the spread ratio at K = 1,000 stayed within 15.2–16.6; the bias ratio between
K = 10 and K = 1,000 within 5.6–13.8; the cosines rose with B at K = 200 for every seed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdstudio.config import TrainConfig
from gdstudio.engine import gradnoise
from gdstudio.engine.gradcheck import (METHODS, SWEEP_STEPS, gradient_check, h_sweep, session_batch,
                                       time_gradients)
from gdstudio.engine.gradnoise import full_gradient, gradient_noise, session_gradient_noise
from gdstudio.engine.session import Session
from gdstudio.kernels import reference


def _trained(loss: str, steps: int = 50) -> Session:
    session = Session(TrainConfig(dataset="digits", loss=loss, steps=steps, backend="numpy"))
    for _ in session.run():
        pass
    return session


@pytest.fixture(scope="module")
def softmax():
    return _trained("softmax")


@pytest.fixture(scope="module")
def svm():
    return _trained("svm")


# -- the noise of the mini-batch gradient ---------------------------------------------------------------------------


def test_spread_at_batch_1_is_12_to_20_times_the_spread_at_256(softmax):
    """√256 = 16: drawn with replacement, E‖g_B − g‖² = tr Σ / B, so the RMS spread falls like 1/√B."""
    result = session_gradient_noise(softmax, batch_sizes=(1, 256), draws=1000, seed=0)
    ratio = result.at(1).spread / result.at(256).spread
    assert 12 <= ratio <= 20, ratio


def test_the_bias_of_the_mean_of_k_draws_falls_as_k_grows(softmax):
    """The mean of K draws lands on g up to the noise of a mean, ≈ spread / √K: 100× the draws, ≈ 10× less bias."""
    few = session_gradient_noise(softmax, batch_sizes=(16,), draws=10, seed=3).at(16)
    many = session_gradient_noise(softmax, batch_sizes=(16,), draws=1000, seed=3).at(16)
    assert many.bias < 0.4 * few.bias, (few.bias, many.bias)
    for row in (few, many):
        assert 0.5 < row.bias / (row.spread / math.sqrt(row.draws)) < 2.0, row


def test_the_cosine_between_batch_and_full_gradient_rises_with_the_batch_size(softmax):
    result = session_gradient_noise(softmax, batch_sizes=(1, 4, 16, 64, 256), draws=200, seed=0)
    cosines = [row.mean_cosine for row in result.batches]
    assert all(later > earlier for earlier, later in zip(cosines, cosines[1:])), cosines
    assert cosines[-1] > 0.5 > cosines[0]


def test_the_cloud_is_drawn_on_the_plane_of_g_and_its_mean_lands_near_g(softmax):
    W, b = softmax.weights()
    X, y = softmax.dataset.X_train, softmax.dataset.y_train
    result = gradient_noise(W, b, X, y, "softmax", softmax.reg, batch_sizes=(1, 64), draws=400, seed=1,
                            preprocess=softmax.preprocess, cloud_batch_size=32)
    assert [row.batch_size for row in result.batches] == [1, 64, 32]  # the cloud's batch size is measured too
    assert result.cloud_batch_size == 32 and result.cloud.shape == (400, 2)
    np.testing.assert_allclose(result.cloud_mean, result.cloud.mean(axis=0))
    np.testing.assert_allclose(result.full_point, [result.full_gradient_norm, 0.0])
    # unbiased: on each axis the cloud's mean is g's coordinate, up to 4 standard errors of a mean of 400 draws
    standard_error = result.cloud.std(axis=0) / math.sqrt(400)
    assert np.all(np.abs(result.cloud_mean - result.full_point) < 4 * standard_error)
    # the plane shows part of each draw's deviation from g, never more than all of it (the spread)
    in_plane = np.sqrt(np.mean(np.sum((result.cloud - result.full_point) ** 2, axis=1)))
    assert 0 < in_plane <= result.at(32).spread * result.full_gradient_norm


def test_the_full_gradient_summed_in_chunks_is_the_whole_splits_gradient(softmax, monkeypatch):
    W, b = softmax.weights()
    X, y = softmax.dataset.X_train, softmax.dataset.y_train
    _, dW, db = reference.loss_and_grad(W, b, softmax.preprocess.apply(X), y, "softmax", 0.01)
    monkeypatch.setattr(gradnoise, "FULL_CHUNK_ROWS", 100)  # 13 chunks, the last one short
    g = full_gradient(W, b, X, y, "softmax", 0.01, softmax.preprocess)
    np.testing.assert_allclose(g, np.concatenate([dW.ravel(), db]), rtol=1e-12, atol=1e-15)


def test_the_second_axis_is_a_fixed_unit_direction_orthogonal_to_g():
    unit = np.ones(50) / math.sqrt(50)
    first, second = gradnoise.orthogonal_direction(unit), gradnoise.orthogonal_direction(unit)
    np.testing.assert_array_equal(first, second)
    assert abs(first @ unit) < 1e-12 and np.linalg.norm(first) == pytest.approx(1.0)


def test_the_json_document_has_the_issues_shape(softmax):
    document = session_gradient_noise(softmax, batch_sizes=(1, 4), draws=5).to_dict()
    assert set(document) == {"full_gradient_norm", "batches"}
    assert [set(row) for row in document["batches"]] == [{"batch_size", "mean_cosine", "bias", "spread"}] * 2


def test_bad_arguments_are_refused(softmax):
    with pytest.raises(ValueError, match="draws"):
        session_gradient_noise(softmax, draws=0)
    with pytest.raises(ValueError, match="batch sizes"):
        session_gradient_noise(softmax, batch_sizes=(0, 4))


# -- the numerical gradient as the lecture writes it ------------------------------------------------------------------


def _typical_error(check) -> float:
    return float(np.median([entry.relative_error for entry in check.entries]))


def test_the_forward_difference_is_at_least_10_times_worse_than_the_centred_one_at_h_1e_4(softmax):
    W, b, x, y = session_batch(softmax, 100)
    forward = gradient_check(W, b, x, y, "softmax", softmax.reg, h=1e-4, method="forward")
    centred = gradient_check(W, b, x, y, "softmax", softmax.reg, h=1e-4, method="centred")
    assert forward.method == "forward" and centred.method == "centred"
    assert _typical_error(forward) >= 10 * _typical_error(centred)
    assert forward.max_relative_error >= 10 * centred.max_relative_error
    assert centred.max_relative_error < 1e-6  # the centred difference still says "correct"


def test_the_default_method_is_the_centred_difference(softmax):
    W, b, x, y = session_batch(softmax, 20)
    check = gradient_check(W, b, x, y, "softmax", softmax.reg, count=5)
    assert check.method == "centred" and check.to_dict()["method"] == "centred"
    with pytest.raises(ValueError, match="method"):
        gradient_check(W, b, x, y, "softmax", softmax.reg, count=5, method="backward")


@pytest.mark.parametrize("method", METHODS)
def test_the_h_sweep_has_its_minimum_inside_the_swept_range(softmax, method):
    """The V: truncation error falls with h, rounding error (ε·L / h, float64) rises as h shrinks."""
    W, b, x, y = session_batch(softmax, 100)
    sweep = h_sweep(W, b, x, y, "softmax", softmax.reg)
    assert sweep.steps[0] == pytest.approx(1e-1) and sweep.steps[-1] == pytest.approx(1e-10)
    median = sweep.median(method)
    lowest = int(np.argmin(median))
    assert 0 < lowest < len(SWEEP_STEPS) - 1
    assert median[0] > 10 * median[lowest] and median[-1] > 10 * median[lowest]
    assert sweep.best(method) == (pytest.approx(sweep.steps[lowest]), pytest.approx(median[lowest]))


def test_the_forward_error_falls_like_h_and_the_centred_like_h_squared(softmax):
    W, b, x, y = session_batch(softmax, 100)
    sweep = h_sweep(W, b, x, y, "softmax", softmax.reg, steps=(1e-1, 1e-3))
    slopes = {method: math.log10(sweep.median(method)[0] / sweep.median(method)[1]) / 2 for method in METHODS}
    assert slopes["forward"] == pytest.approx(1.0, abs=0.15)
    assert slopes["centred"] == pytest.approx(2.0, abs=0.15)


def test_the_h_sweep_follows_the_largest_entries(svm):
    W, b, x, y = session_batch(svm, 50)
    _, dW, db = reference.loss_and_grad(W, b, x, y, "svm", svm.reg)
    sweep = h_sweep(W, b, x, y, "svm", svm.reg, count=3, steps=(1e-2, 1e-6))
    values = [abs(db[i[0]]) if p == "b" else abs(dW[i]) for p, i in sweep.entries]
    everything = np.sort(np.abs(np.concatenate([dW.ravel(), db])))[::-1]
    assert values == pytest.approx(list(everything[:3]))
    assert sweep.errors["forward"].shape == sweep.errors["centred"].shape == (2, 3)


@pytest.mark.parametrize("method, evaluations", [("centred", 2 * 650), ("forward", 650 + 1)])
def test_the_timing_counts_every_entry_and_extrapolates_to_cifar10(softmax, method, evaluations):
    W, b, x, y = session_batch(softmax, 30)
    timing = time_gradients(W, b, x, y, "softmax", softmax.reg, method=method, budget_s=60.0)
    assert timing.measured and timing.entries == timing.timed_entries == 650
    assert timing.evaluations == evaluations
    assert timing.cifar10_entries == 30_730
    document = timing.to_dict()
    assert document["cifar10"]["evaluations"] == (2 * 30_730 if method == "centred" else 30_731)
    for value in (timing.analytic_seconds, timing.numerical_seconds, timing.cifar10_analytic_seconds,
                  timing.cifar10_numerical_seconds):
        assert math.isfinite(value) and value > 0


def test_the_timing_extrapolates_past_its_budget(softmax):
    W, b, x, y = session_batch(softmax, 30)
    timing = time_gradients(W, b, x, y, "softmax", softmax.reg, budget_s=0.0)
    assert timing.timed_entries == 1 and not timing.measured and timing.to_dict()["measured"] is False
