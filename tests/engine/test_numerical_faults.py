"""Extreme data and hyperparameters: divergence is reported, never a NaN in weights, curves or run files."""

import numpy as np
import pytest

from gdstudio.config import TrainConfig
from gdstudio.data.dataset import Dataset
from gdstudio.engine.progress import DIVERGED, OK
from gdstudio.engine.runs import load_run, save_run
from gdstudio.engine.session import Session
from tests.conftest import make_dataset


def extreme_dataset():
    """Pixels only 0 or 255, a constant column, and duplicated images with different labels."""
    rng = np.random.default_rng(5)
    X = (rng.integers(0, 2, (60, 9)) * 255).astype(np.uint8)
    X[:, 3] = 255
    X[30:] = X[:30]
    y = rng.integers(0, 3, 60).astype(np.int32)
    return Dataset(X[:40], y[:40], X[40:50], y[40:50], X[50:], y[50:], ("a", "b", "c"), None, "extreme", 255)


CASES = [dict(lr=1e-12, reg=0.0), dict(lr=1e3, reg=0.0), dict(lr=1e-3, reg=1e8), dict(lr=10.0, reg=1e8),
         dict(lr=0.5, reg=0.0, batch_size=1), dict(lr=0.5, reg=1e-3, batch_size=40), dict(lr=1e30, reg=1.0)]


@pytest.mark.parametrize("loss", ["svm", "softmax"])
@pytest.mark.parametrize("backend", ["cpu", "numpy"])
@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_no_nan_reaches_weights_curves_or_files(tmp_path, loss, backend, case):
    settings = {"batch_size": 8, **case}
    session = Session(TrainConfig(dataset="extreme", loss=loss, backend=backend, epochs=3, **settings),
                      dataset=extreme_dataset())
    records = list(session.run())
    last = records[-1]
    assert last.status in (OK, DIVERGED)
    assert np.all(np.isfinite(session.W)) and np.all(np.isfinite(session.b))
    if last.status == DIVERGED:
        assert "--lr" in last.message
    assert np.all(np.isfinite(session.history.steps.column("loss")))
    assert np.all(np.isfinite(session.history.steps.column("reg_loss")))
    folder = save_run(tmp_path / "run", session, last.final)
    run = load_run(folder)
    assert np.all(np.isfinite(run.W))


def test_tiny_step_barely_moves_and_huge_step_diverges():
    crawl = Session(TrainConfig(dataset="tiny", lr=1e-9, reg=0.0, batch_size=16, epochs=2), dataset=make_dataset())
    losses = [r.loss for r in crawl.run()]
    assert abs(losses[-1] - losses[0]) < 1e-3 * losses[0]
    boom = Session(TrainConfig(dataset="extreme", lr=1e6, reg=0.0, batch_size=8, epochs=5),
                   dataset=extreme_dataset())
    assert list(boom.run())[-1].status == DIVERGED
