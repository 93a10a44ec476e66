"""The sweep's coarse-to-fine rounds, its failed trials and its interruption, on local executors (issue 15)."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from gdstudio.config import GDStudioError, TrainConfig
from gdstudio.engine.session import dataset_defaults
from gdstudio.engine.sweep import FINE_MAX_WIDTH, FINE_MIN_WIDTH, Trial, narrowed_ranges, sample_points, sweep
from tests.engine.sweep_trials import FAILING_LR, failing_trial

LR_RANGE, REG_RANGE = (1e-3, 3.0), (1e-6, 1e-1)


def digits_config(epochs=1.0) -> TrainConfig:
    return TrainConfig(dataset="digits", epochs=epochs).with_defaults(dataset_defaults("digits"))


def log_width(low_high) -> float:
    return math.log10(low_high[1]) - math.log10(low_high[0])


def inside(value, low_high) -> bool:
    return low_high[0] * (1 - 1e-12) <= value <= low_high[1] * (1 + 1e-12)


def test_each_round_samples_inside_ranges_narrowed_around_the_best_so_far():
    with ThreadPoolExecutor(2) as executor:
        result = sweep(digits_config(), 4, LR_RANGE, REG_RANGE, seed=3, executor=executor, rounds=3)
    rounds = result["rounds"]
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert rounds[0]["lr_range"] == LR_RANGE and rounds[0]["reg_range"] == REG_RANGE
    assert len(result["trials"]) == 12 and all(len(r["trials"]) == 4 for r in rounds)
    for k, this in enumerate(rounds):
        assert all(t.round == this["round"] for t in this["trials"])
        assert all(inside(t.lr, this["lr_range"]) and inside(t.reg, this["reg_range"]) for t in this["trials"])
        if k == 0:
            continue
        before = rounds[k - 1]
        so_far = [t for r in rounds[:k] for t in r["trials"]]
        best = max(so_far, key=lambda t: t.val_accuracy)
        for name, value in (("lr_range", best.lr), ("reg_range", best.reg)):
            assert inside(value, this[name])  # around the best point so far
            assert inside(this[name][0], before[name]) and inside(this[name][1], before[name])
            assert log_width(this[name]) <= FINE_MAX_WIDTH * log_width(before[name]) * (1 + 1e-9)
    assert result["best"] == max(result["trials"], key=lambda t: t.val_accuracy)


def test_one_round_draws_the_points_a_sweep_always_drew():
    with ThreadPoolExecutor(2) as executor:
        result = sweep(digits_config(), 3, LR_RANGE, REG_RANGE, seed=5, executor=executor)
    assert sorted((t.lr, t.reg) for t in result["trials"]) == sorted(sample_points(3, LR_RANGE, REG_RANGE, 5))
    assert [r["round"] for r in result["rounds"]] == [1]


def test_narrowing_keeps_inside_the_previous_range_with_the_best_at_an_edge():
    trials = [Trial(3.0, 1e-6, 0.9, 0.9, "ok"), Trial(2.0, 1e-5, 0.8, 0.8, "ok"), Trial(1e-3, 0.1, 0.1, 0.1, "ok"),
              Trial(1e-2, 1e-2, 0.95, 0.95, "error", message="broke")]  # an error never counts as the best
    lr_range, reg_range = narrowed_ranges(trials, LR_RANGE, REG_RANGE)
    for narrowed, before, best in ((lr_range, LR_RANGE, 3.0), (reg_range, REG_RANGE, 1e-6)):
        assert inside(best, narrowed) and inside(narrowed[0], before) and inside(narrowed[1], before)
        assert FINE_MIN_WIDTH * log_width(before) * (1 - 1e-9) <= log_width(narrowed) \
            <= FINE_MAX_WIDTH * log_width(before) * (1 + 1e-9)


def test_without_a_finished_trial_the_next_round_searches_the_same_ranges():
    trials = [Trial(1.0, 1e-3, 0.0, 0.0, "diverged"), Trial(0.1, 1e-3, 0.0, 0.0, "error", message="x")]
    assert narrowed_ranges(trials, LR_RANGE, REG_RANGE) == (LR_RANGE, REG_RANGE)


def test_a_trial_that_raises_is_an_error_with_its_message_and_the_others_go_on():
    with ThreadPoolExecutor(2) as executor:
        result = sweep(digits_config(), 6, (1e-3, 1.0), REG_RANGE, seed=0, executor=executor,
                       trial_function=failing_trial)
    broken = [t for t in result["trials"] if t.lr > FAILING_LR]
    fine = [t for t in result["trials"] if t.lr <= FAILING_LR]
    assert broken and fine and len(result["trials"]) == 6
    assert all(t.status == "error" and f"broke on purpose at α = {t.lr:.3g}" in t.message for t in broken)
    assert all(t.status == "ok" and t.val_accuracy > 0.3 and t.message is None for t in fine)
    assert result["best"].status == "ok"
    assert broken[0].to_dict()["status"] == "error" and "broke on purpose" in broken[0].to_dict()["message"]


def test_a_sweep_whose_every_trial_fails_says_why():
    with ThreadPoolExecutor(2) as executor, pytest.raises(GDStudioError, match="broke on purpose"):
        sweep(digits_config(), 2, (0.1, 1.0), REG_RANGE, executor=executor, trial_function=failing_trial)


def test_an_interrupted_sweep_cancels_the_trials_not_yet_started():
    started = []
    lock = threading.Lock()
    interrupted = threading.Event()

    def counted_trial(config_dict, data, lr, reg):
        from gdstudio.engine.sweep import run_trial

        with lock:
            started.append(lr)
            first = len(started) == 1
        if not first:  # the worker holds the next trial until the interrupt is handled, however slow the machine
            interrupted.wait(timeout=60)
        return run_trial(config_dict, data, lr, reg)

    def interrupt(trial):
        raise KeyboardInterrupt

    with ThreadPoolExecutor(1) as executor:
        with pytest.raises(KeyboardInterrupt):
            sweep(digits_config(), 8, LR_RANGE, REG_RANGE, executor=executor, on_trial=interrupt,
                  trial_function=counted_trial)
        interrupted.set()
    assert 1 <= len(started) <= 2  # the finished one, and at most the one the worker had already taken
