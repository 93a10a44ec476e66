"""The lecture's comparisons: race order, step-size probe, landscape, sweep, twins, lessons."""

import numpy as np
import pytest

from gdstudio.config import DataError, TrainConfig
from gdstudio.data.registry import load_dataset
from gdstudio.engine.lecture import (default_probe_lrs, directions, landscape_1d, landscape_2d, probe_batch, race,
                                     run_twins, step_size_probe, twin_sessions)
from gdstudio.engine.lessons import load_lessons, parse_lesson
from gdstudio.engine.session import Session
from gdstudio.engine.sweep import edge_warnings, sweep
from gdstudio.kernels import reference


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_race_shows_the_lectures_order(digits):
    results = race(TrainConfig(dataset="digits"), digits, budget=600)
    accuracy = {name: r.final["val_accuracy"] for name, r in results.items()}
    assert accuracy["random-search"] < accuracy["random-local-search"] < accuracy["sgd"]
    assert all(r.final["evaluations"] >= 598 for r in results.values())
    assert len(results["sgd"].evaluations) == len(results["sgd"].val_accuracy) > 3


def test_probe_equals_one_step_losses(digits):
    session = Session(TrainConfig(dataset="digits"), dataset=digits)
    W, b = session.weights()
    x, y = probe_batch(session)
    lrs = default_probe_lrs()
    probe = step_size_probe(W, b, x, y, "softmax", 1e-4, lrs)
    assert probe["loss"] == pytest.approx(reference.loss_and_grad(W, b, x, y, "softmax", 1e-4)[0])
    for lr, after in zip(lrs[::7], probe["losses"][::7]):
        W2, b2, _ = reference.sgd_step(W, b, x, y, "softmax", 1e-4, lr)
        assert after == pytest.approx(reference.loss_parts(W2, b2, x, y, "softmax", 1e-4)[0])
    assert min(probe["losses"]) < probe["loss"]
    big = step_size_probe(W, b, x, y, "softmax", 1e-4, [1e4])  # far too large: the loss blows up
    assert big["losses"][0] > 100 * probe["loss"]


def test_landscape_centre_is_the_current_loss(digits):
    session = Session(TrainConfig(dataset="digits", steps=30), dataset=digits)
    list(session.run())
    W, b = session.weights()
    x, y = probe_batch(session, 300)
    current = reference.loss_parts(W, b, x, y, "softmax", session.reg)[0]
    random, down = directions(W, b, x, y, "softmax", session.reg)
    line = landscape_1d(W, b, x, y, "softmax", session.reg, down, span=1.0, points=21)
    assert line["loss"][10] == pytest.approx(current)
    assert line["loss"][11] < current  # a small step down the gradient lowers the loss
    plane = landscape_2d(W, b, x, y, "softmax", session.reg, random, down, span=1.0, points=5, trajectory=[W])
    assert plane["loss"][2, 2] == pytest.approx(current)
    np.testing.assert_allclose(plane["trajectory"], [[0.0, 0.0]], atol=1e-12)


def test_sweep_runs_in_parallel_and_returns_the_best():
    config = TrainConfig(dataset="digits", epochs=2)
    result = sweep(config, count=4, lr_range=(1e-3, 1.0), reg_range=(1e-5, 1e-2), seed=1)
    assert len(result["trials"]) == 4
    assert result["best"].val_accuracy == max(t.val_accuracy for t in result["trials"])


def test_edge_warning():
    from gdstudio.engine.sweep import Trial

    warnings = edge_warnings(Trial(0.99, 1e-3, 0.9, 0.9, "ok"), (1e-3, 1.0), (1e-5, 1e-1))
    assert len(warnings) == 1 and "high edge" in warnings[0] and "lr" in warnings[0]


def test_twins_share_w0_and_batches(digits):
    first, second = twin_sessions(TrainConfig(dataset="digits", steps=30), digits, loss="svm")
    np.testing.assert_array_equal(first.W, second.W)
    orders = []
    for a, b in run_twins(first, second, steps_per_turn=10):
        orders.append((first.order.copy(), second.order.copy(), first.position, second.position))
    assert first.step == second.step == 30
    assert all(np.array_equal(o1, o2) and p1 == p2 for o1, o2, p1, p2 in orders)
    assert not np.array_equal(first.W, second.W)


def test_lessons_load_and_bad_presets_are_refused(tmp_path):
    lessons = load_lessons()
    assert len(lessons) >= 7 and all(lesson.caption for lesson in lessons)
    (tmp_path / "mine.json").write_text('{"title": "x", "caption": "y", "settings": {"lr": -1}}')
    with pytest.raises(DataError, match="mine.json.*lr"):
        load_lessons(tmp_path)
    with pytest.raises(DataError, match="JSON"):
        parse_lesson("bad", "{", "bad.json")
