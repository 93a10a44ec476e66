"""The maths behind the views: templates, one image's numbers, confusion, decision regions, gradient check."""

import numpy as np
import pytest

from gdstudio.config import TrainConfig
from gdstudio.data.builtin import make_toy2d
from gdstudio.engine.gradcheck import check_session, gradient_check
from gdstudio.engine.inspect import (confusion_matrix, decision_grid, image_maths, per_class_accuracy, templates,
                                     zero_score_lines)
from gdstudio.engine.session import Session
from gdstudio.kernels import reference


@pytest.fixture(scope="module")
def trained():
    session = Session(TrainConfig(dataset="digits", steps=60))
    list(session.run())
    return session


def test_templates_are_rows_of_w_reshaped(trained):
    W, _ = trained.weights()
    images = templates(W, (8, 8, 1))
    assert images.shape == (10, 8, 8, 1) and images.min() >= 0 and images.max() <= 1
    np.testing.assert_allclose((images.reshape(10, 64) - 0.5) * 2 * np.abs(W).max(), W, atol=1e-12)
    own = templates(W, (8, 8, 1), shared_scale=False).reshape(10, 64)
    np.testing.assert_allclose(own.min(axis=1), 0) and np.testing.assert_allclose(own.max(axis=1), 1)


def test_image_maths_matches_reference(trained):
    W, b = trained.weights()
    pixels, label = trained.dataset.X_val[7], int(trained.dataset.y_val[7])
    maths = image_maths(W, b, trained.preprocess, pixels, label)
    S = reference.scores(W, b, trained.preprocess.apply(pixels[None]))
    np.testing.assert_allclose(maths["scores"], S[0])
    assert maths["svm"]["loss"] == pytest.approx(reference.svm_data_loss(S, np.array([label]))[0])
    assert maths["softmax"]["loss"] == pytest.approx(reference.softmax_data_loss(S, np.array([label]))[0])


def test_confusion_matrix_sums_and_diagonal(trained):
    pred = trained.predict(trained.dataset.X_val)
    matrix = confusion_matrix(trained.dataset.y_val, pred, 10)
    assert matrix.sum() == len(trained.dataset.y_val)
    _, accuracy = trained.evaluate("val")
    assert np.trace(matrix) / matrix.sum() == pytest.approx(accuracy)
    assert np.all(per_class_accuracy(matrix) <= 1)


def test_decision_grid_agrees_with_predictions():
    dataset = make_toy2d("blobs", seed=0)
    session = Session(TrainConfig(dataset="toy2d", steps=200), dataset=dataset)
    list(session.run())
    W, b = session.weights()
    xs, ys, scores = decision_grid(W, b, session.preprocess, resolution=16)
    i, j = 5, 11
    point = np.array([[xs[j], ys[i]]], np.float64)
    np.testing.assert_allclose(scores[i, j], reference.scores(W, b, (point - session.preprocess.mean) *
                                                                 session.preprocess.scale)[0])
    a, c0 = zero_score_lines(W, b, session.preprocess)[0]
    # a point on class 0's line has score 0
    p = np.array([0.0, c0 / a[1]]) if a[1] else np.array([c0 / a[0], 0.0])
    x = (p - session.preprocess.mean) * session.preprocess.scale
    assert W[0] @ x + b[0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("loss", ["svm", "softmax"])
@pytest.mark.parametrize("reg", [0.0, 0.01])
def test_gradcheck_on_digits_is_below_1e6_away_from_kinks(trained, loss, reg):
    session = Session(TrainConfig(dataset="digits", loss=loss, reg=reg, steps=50))
    list(session.run())
    result = check_session(session)
    assert len(result.entries) == 650
    assert result.max_relative_error < 1e-6


def test_gradcheck_flags_kinks_and_catches_a_wrong_gradient():
    x = np.array([[1.0, 2.0], [0.5, -1.0]])
    y = np.array([0, 1])
    W = np.array([[0.0, 0.0], [1e-7, 0.0]])  # image 0: margin s_1 − s_0 + 1 ... crafted so one hinge sits at 0
    W[1, 0] = -1.0  # s_1(x0) = -1 → margin = -1 - 0 + 1 = 0: exactly on the kink
    result = gradient_check(W, np.zeros(2), x, y, "svm", 0.0)
    assert any(e.near_kink for e in result.entries)
    from gdstudio.engine import gradcheck as module

    real = reference.loss_and_grad
    try:
        module.reference.loss_and_grad = lambda *a: (lambda v, dW, db: (v, dW * 1.1, db))(*real(*a))
        broken = gradient_check(np.ones((2, 2)) * 0.1, np.zeros(2), x, y, "softmax", 0.0)
    finally:
        module.reference.loss_and_grad = real
    assert broken.max_relative_error > 1e-2
