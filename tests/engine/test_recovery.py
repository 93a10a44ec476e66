"""Going on after a divergence: the α that :func:`gdstudio.engine.recovery.stable_lr` picks (issue 12 item 9)."""

from __future__ import annotations

import numpy as np
import pytest

from gdstudio.config import TrainConfig
from gdstudio.engine.recovery import stable_lr
from gdstudio.engine.session import Session

ALPHA_TOO_LARGE = dict(dataset="digits", loss="softmax", lr=25_000, reg=1e-4, batch_size=64, epochs=20,
                       strategy="sgd")


def diverged_session():
    """The lesson's run, diverged, and the weights the window's training thread goes back to: those of the
    lowest-loss record (as ``TrainingThread._note`` keeps them)."""
    session = Session(TrainConfig(**ALPHA_TOO_LARGE))
    best = None
    for record in session.run(weights_every=0.0):
        if record.status == "running" and (best is None or record.loss <= best.loss):
            best = record
    assert record.status == "diverged"
    return session, best.weights


def test_the_alpha_too_large_lesson_gets_an_alpha_that_learns_and_the_session_is_untouched():
    session, weights = diverged_session()
    W, b, step = session.W.copy(), session.b.copy(), session.step
    lr, tried = stable_lr(session, weights, session.lr)
    assert [a for a, _ in tried][:3] == [2500.0, 250.0, 25.0]
    losses = dict(tried)
    assert lr == 250.0 and losses[250.0] < losses[2500.0] and losses[250.0] < losses[25.0]
    np.testing.assert_array_equal(session.W, W)
    np.testing.assert_array_equal(session.b, b)
    assert session.step == step

    session.resume_after_divergence(lr, weights=weights)
    for record in session.run():
        pass
    assert record.status == "ok" and record.final["val_accuracy"] > 0.75


def test_when_every_trial_diverges_the_smallest_alpha_is_returned():
    session, weights = diverged_session()
    lr, tried = stable_lr(session, weights, 1e30, trials=2)
    assert [a for a, _ in tried] == pytest.approx([1e29, 1e28]) and lr == tried[-1][0]
    assert all(loss == float("inf") for _, loss in tried)
