"""Run folders survive kills mid-save, broken files are refused cleanly, resumed runs are bitwise the same."""

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdstudio.cli import main
from gdstudio.config import DataError, TrainConfig
from gdstudio.engine.resume import restore_session
from gdstudio.engine.runs import RunError, load_run, save_run
from gdstudio.engine.session import Session
from tests.conftest import make_dataset

ROOT = Path(__file__).resolve().parents[2]

SAVER = """
import sys
from gdstudio.config import TrainConfig
from gdstudio.engine.runs import save_run
from gdstudio.engine.session import Session
from tests.conftest import make_dataset
dataset = make_dataset()
sessions = []
for steps in (5, 9):
    s = Session(TrainConfig(dataset="tiny", lr=0.5, reg=1e-3, batch_size=16, steps=steps), dataset=dataset)
    list(s.run())
    sessions.append(s)
save_run(sys.argv[1], sessions[0])
print("ready", flush=True)
i = 0
while True:  # alternate old and new runs until killed
    save_run(sys.argv[1], sessions[i % 2])
    i += 1
"""


def test_sigkill_during_saves_leaves_a_whole_old_or_new_run(tmp_path):
    dataset = make_dataset()
    expected = {}
    for steps in (5, 9):
        s = Session(TrainConfig(dataset="tiny", lr=0.5, reg=1e-3, batch_size=16, steps=steps), dataset=dataset)
        list(s.run())
        expected[steps] = s.W.copy()
    folder = tmp_path / "run"
    rng = random.Random(0)
    kills = 0
    for attempt in range(25):
        process = subprocess.Popen([sys.executable, "-c", SAVER, str(folder)], cwd=ROOT, stdout=subprocess.PIPE,
                                   text=True)
        assert process.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.05))
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        run = load_run(folder)
        step = run.state["step"]
        assert step in expected
        np.testing.assert_array_equal(run.W, expected[step])
        assert len([r for r in run.metrics if r["loss"] is not None]) == step
    assert kills == 25


def make_run(tmp_path, dataset, **settings):
    settings = {"lr": 0.5, "reg": 1e-3, "batch_size": 16, "steps": 12, **settings}
    session = Session(TrainConfig(dataset="tiny", **settings), dataset=dataset)
    records = list(session.run())
    return save_run(tmp_path / "run", session, records[-1].final), session


def test_resumed_run_is_bitwise_the_uninterrupted_one(tmp_path):
    dataset = make_dataset()
    whole = Session(TrainConfig(dataset="tiny", lr=0.5, reg=1e-3, batch_size=16, steps=40), dataset=dataset)
    list(whole.run())
    folder, _ = make_run(tmp_path, dataset, steps=13)  # stops mid-epoch, between two measurements
    run = load_run(folder)
    run.config = run.config.replace(steps=40)
    resumed = restore_session(run, dataset=dataset)
    list(resumed.run())
    np.testing.assert_array_equal(resumed.W, whole.W)
    np.testing.assert_array_equal(resumed.b, whole.b)
    for name in ("step", "loss", "epoch", "examples"):
        np.testing.assert_array_equal(resumed.history.steps.column(name), whole.history.steps.column(name))
    np.testing.assert_array_equal(resumed.history.evals.column("val_accuracy"),
                                  whole.history.evals.column("val_accuracy"))


def test_a_change_asked_for_while_paused_is_saved_and_resumed_bitwise(tmp_path):
    """α typed while a run is paused is queued for the next step; a save then must not lose it: the resumed run
    trains with it from that step, marked there, bitwise as the run that was never saved."""
    dataset = make_dataset()
    whole = Session(TrainConfig(dataset="tiny", lr=0.5, reg=1e-3, batch_size=16, steps=40), dataset=dataset)
    list(whole.run(max_steps=13))
    whole.request(lr=0.05, loss="svm")
    list(whole.run())
    folder, paused = make_run(tmp_path, dataset, steps=13)
    paused.request(lr=0.05, loss="svm")  # typed while paused, then File → Save
    save_run(folder, paused)
    run = load_run(folder)
    run.config = run.config.replace(steps=40)
    resumed = restore_session(run, dataset=dataset)
    assert (resumed.lr, resumed.loss) == (0.05, "svm")  # what `train --resume` reports as in force
    assert [(c.step, c.name, c.new) for c in resumed.history.changes] == [(13, "lr", 0.05), (13, "loss", "svm")]
    list(resumed.run())
    np.testing.assert_array_equal(resumed.W, whole.W)
    np.testing.assert_array_equal(resumed.history.steps.column("loss"), whole.history.steps.column("loss"))
    assert [(c.step, c.name, c.new) for c in resumed.history.changes] == \
        [(c.step, c.name, c.new) for c in whole.history.changes]


def test_cli_resume_refuses_changed_settings(tmp_path, capsys):
    assert main(["train", "--steps", "5", "--quiet", "--out", str(tmp_path / "r")]) == 0
    assert main(["train", "--resume", str(tmp_path / "r"), "--lr", "0.1"]) == 2
    assert "--lr" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "missing"), "--steps", "9"]) == 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["config.json", "metrics.csv", "weights.npz"]), data=st.data())
def test_mutated_run_files_are_refused_with_a_run_error(tmp_path_factory, which, data):
    folder = tmp_path_factory.mktemp("fuzz")
    dataset = make_dataset()
    folder, _ = make_run(folder, dataset, steps=3)
    path = folder / which
    content = bytearray(path.read_bytes())
    kind = data.draw(st.sampled_from(["flip", "truncate", "garbage", "insert"]))
    if kind == "flip" and content:
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(content) - 1))
            content[i] = data.draw(st.integers(0, 255))
    elif kind == "truncate":
        content = content[: data.draw(st.integers(0, max(0, len(content) - 1)))]
    elif kind == "garbage":
        content = bytearray(data.draw(st.binary(max_size=300)))
    else:
        i = data.draw(st.integers(0, len(content)))
        content[i:i] = data.draw(st.binary(min_size=1, max_size=40))
    path.write_bytes(bytes(content))
    try:
        run = load_run(folder)
    except RunError:
        return  # the project's own clear error
    # a mutation that still parses must give a valid run that resumes or is refused cleanly
    assert np.all(np.isfinite(run.W))
    try:
        restore_session(run, dataset=dataset)
    except (RunError, DataError):
        pass


def test_config_with_unknown_keys_is_refused(tmp_path):
    folder, _ = make_run(tmp_path, make_dataset(), steps=2)
    document = json.loads((folder / "config.json").read_text())
    document["config"]["evil"] = "__import__('os')"
    (folder / "config.json").write_text(json.dumps(document))
    with pytest.raises(RunError, match="unknown config keys: evil"):
        load_run(folder)


def test_unfinished_pending_save_is_ignored(tmp_path):
    folder, session = make_run(tmp_path, make_dataset(), steps=4)
    pending = folder / ".pending"
    pending.mkdir()
    (pending / "weights.npz").write_bytes(b"half a file")  # no COMPLETE marker: a save cut short
    run = load_run(folder)
    np.testing.assert_array_equal(run.W, session.W)
    save_run(folder, session)
    assert not pending.exists()
