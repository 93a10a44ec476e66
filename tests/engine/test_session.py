"""The training loop: determinism, divergence, live changes, strategies, history, run folders."""

import math

import numpy as np
import pytest

from gdstudio.config import ConfigError, TrainConfig
from gdstudio.engine.history import Table
from gdstudio.engine.progress import DIVERGED, OK, STOPPED
from gdstudio.engine.runs import RunError, load_run, save_run
from gdstudio.engine.session import Session


def train(dataset, **settings):
    settings.setdefault("lr", 0.5)
    settings.setdefault("reg", 1e-3)
    settings.setdefault("batch_size", 16)
    settings.setdefault("epochs", 3)
    session = Session(TrainConfig(dataset=dataset.name, **settings), dataset=dataset)
    records = list(session.run())
    return session, records


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_training_learns_and_ends_ok(tiny, backend, loss):
    session, records = train(tiny, backend=backend, loss=loss)
    last = records[-1]
    assert last.status == OK
    assert last.final["val_accuracy"] > 0.9
    assert session.epoch == pytest.approx(3.0)
    assert session.step == 3 * math.ceil(120 / 16)
    losses = session.history.steps.column("loss")
    assert losses[-5:].mean() < losses[0]


def test_same_seed_same_bits_different_seed_different(tiny):
    a, _ = train(tiny, seed=1)
    b, _ = train(tiny, seed=1)
    c, _ = train(tiny, seed=2)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.history.steps.column("loss"), b.history.steps.column("loss"))
    assert not np.array_equal(a.W, c.W)


def test_cpu_backend_follows_numpy_reference(tiny):
    cpu, _ = train(tiny, backend="cpu", loss="svm")
    ref, _ = train(tiny, backend="numpy", loss="svm")
    np.testing.assert_allclose(cpu.history.steps.column("loss"), ref.history.steps.column("loss"), rtol=1e-3)
    np.testing.assert_allclose(cpu.W, ref.W, rtol=1e-2, atol=1e-3)


def test_results_do_not_depend_on_chunking(tiny):
    a, _ = train(tiny)
    session = Session(TrainConfig(dataset="tiny", lr=0.5, reg=1e-3, batch_size=16, epochs=3), dataset=tiny)
    while True:  # one step per call, as the GUI's Step button does
        records = list(session.run(max_steps=1))
        if records and records[-1].status != "running":
            break
    np.testing.assert_array_equal(a.W, session.W)


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_divergence_stops_with_finite_weights_and_names_lr(backend):
    from gdstudio.data.builtin import load_digits

    session, records = train(load_digits(), lr=1e6, reg=0.0, backend=backend)
    last = records[-1]
    assert last.status == DIVERGED
    assert "α = 1e+06 is too large" in last.message and "--lr" in last.message
    assert np.all(np.isfinite(session.W)) and np.all(np.isfinite(session.b))
    assert session.step < 10


def test_live_changes_apply_between_chunks_and_are_recorded(tiny):
    session = Session(TrainConfig(dataset="tiny", lr=0.5, reg=1e-3, batch_size=16, epochs=6), dataset=tiny)
    run = session.run()
    first = next(run)
    session.request(lr=0.01, loss="svm", batch_size=8)
    second = next(run)
    assert (second.lr, second.loss_name, second.batch_size) == (0.01, "svm", 8)
    assert {c.name for c in second.changes} == {"lr", "loss", "batch_size"}
    assert all(c.step == first.step for c in second.changes)
    assert [c.label for c in second.changes if c.name == "lr"] == ["α = 0.01"]
    with pytest.raises(ConfigError, match="lr must be > 0"):
        session.request(lr=-1)
    session.request_stop()
    assert next(run).status == STOPPED


@pytest.mark.parametrize("settings", [{"lr": 0}, {"lr": float("nan")}, {"lr": "abc"}, {"reg": -1},
                                      {"reg": float("inf")}, {"batch_size": 0}, {"batch_size": 2.5},
                                      {"batch_size": -3}, {"loss": "hinge"}, {"strategy": "adam"},
                                      {"backend": "tpu"}, {"epochs": 0}])
def test_config_refuses_bad_values_with_plain_messages(settings):
    with pytest.raises(ConfigError) as error:
        TrainConfig(**settings)
    assert next(iter(settings)) in str(error.value)


def test_strategies_show_the_lectures_order():
    from gdstudio.data.builtin import load_digits

    digits = load_digits()
    accuracy = {}
    for strategy in ("random-search", "random-local-search", "sgd"):
        session = Session(TrainConfig(dataset="digits", strategy=strategy, budget=600, seed=0), dataset=digits)
        last = list(session.run())[-1]
        assert session.evaluations >= 600 - 2
        accuracy[strategy] = last.final["val_accuracy"]
    assert accuracy["random-search"] < accuracy["random-local-search"] < accuracy["sgd"]


def test_history_decimates_but_keeps_even_spacing():
    table = Table({"step": np.int64, "loss": np.float64}, limit=100)
    for lo in range(1, 1001, 37):
        steps = np.arange(lo, min(lo + 37, 1001))
        table.extend(step=steps, loss=steps * 1.0)
    steps = table.column("step")
    assert len(steps) <= 100
    assert np.all(np.diff(steps) == table.stride)
    assert steps[-1] >= 1000 - table.stride


def test_run_folder_round_trip(tiny, tmp_path):
    session, records = train(tiny)
    save_run(tmp_path / "run", session, records[-1].final)
    run = load_run(tmp_path / "run")
    np.testing.assert_array_equal(run.W, session.W)
    assert run.config == session.config
    assert len(run.metrics) == len(session.history.steps)
    measured = [r for r in run.metrics if r["val_accuracy"] is not None]
    assert len(measured) == len(session.history.evals)
    assert run.final["val_accuracy"] == pytest.approx(records[-1].final["val_accuracy"])
    assert not list((tmp_path / "run").glob("*.tmp"))


def test_broken_run_folders_are_refused(tiny, tmp_path):
    session, records = train(tiny)
    folder = save_run(tmp_path / "run", session)
    (folder / "weights.npz").write_bytes(b"garbage")
    with pytest.raises(RunError, match="weights.npz"):
        load_run(folder)
    save_run(folder, session)
    (folder / "config.json").write_text('{"format": 1}')
    with pytest.raises(RunError, match="config.json"):
        load_run(folder)
    with pytest.raises(RunError, match="no such run folder"):
        load_run(tmp_path / "nothing")


def test_nonfinite_weights_are_never_saved(tiny, tmp_path):
    session, _ = train(tiny)
    session.W[0, 0] = np.nan
    with pytest.raises(RunError, match="non-finite"):
        save_run(tmp_path / "run", session)


def test_a_request_made_while_a_paced_call_ends_is_reported_by_the_next_record():
    """The GUI's paced runs call ``run(max_steps=k)`` again and again; a change requested while one call is
    finishing must reach a record (the plots mark it), not be applied silently."""
    session = Session(TrainConfig(dataset="digits", steps=10_000, seed=0))
    records = []
    for record in session.run(max_steps=5):
        records.append(record)
        if record.step == 5:  # the call's last chunk: the request comes as the call ends
            session.request(reg=0.5)
    assert records[-1].step == 5
    records += list(session.run(max_steps=5))
    reported = [change for record in records for change in record.changes]
    assert [(c.name, c.new) for c in reported] == [("reg", 0.5)]
    assert [(c.name, c.new) for c in session.history.changes] == [("reg", 0.5)]


def test_a_change_queued_before_a_reset_is_where_the_new_run_starts_not_a_live_change():
    """Issue 12 (found following the SVM-vs-softmax caption): switch the loss after a run, press Reset, then Start:
    the new run trains softmax from its first step, with no 'loss = softmax' marker at step 0."""
    session = Session(TrainConfig(dataset="digits", loss="svm", steps=20))
    for _ in session.run():
        pass
    session.request(loss="softmax", lr=0.5)
    session.reset()
    assert (session.loss, session.lr) == ("softmax", 0.5)
    assert (session.config.loss, session.config.lr) == ("softmax", 0.5)
    for _ in session.run():
        pass
    assert session.history.changes == [] and session.loss == "softmax"
