"""Issue 17 items 2 and 3 at the command line: a run folder keeps where its data is through every resume, and a
resumed run reports the settings in force (a live change of the loss, α, λ or batch size included)."""

import json
import shutil
from pathlib import Path

import pytest

from gdstudio.cli import main
from gdstudio.data import registry
from tests.conftest import SYSTEM_FASHION
from tests.data.fake_data_files import write_idx_folder

FASHION_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte")


def run_cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def saved(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))


@pytest.fixture
def empty_cache(monkeypatch, tmp_path):
    """No downloaded copy: the data is only where the run was told it is."""
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path / "cache"))
    registry.forget()
    yield
    registry.forget()


@pytest.fixture
def fashion_copy(tmp_path, empty_cache):
    """A small Fashion-MNIST-format folder somewhere of the user's own."""
    folder = tmp_path / "my copy of fashion"
    write_idx_folder(folder, n_train=300, n_test=60)
    return folder


def test_resume_keeps_the_data_location_and_the_next_resume_works(capsys, tmp_path, fashion_copy):
    """Issue 17 item 2: `train --data DIR --out R`, then `--resume R --epochs 2` keeps data_path (it was
    rewritten as null), and `--resume R --epochs 3` then finds the data and trains."""
    run = tmp_path / "R"
    status, _, err = run_cli(capsys, "train", "--dataset", "fashion-mnist", "--data", fashion_copy, "--epochs", "1",
                             "--out", run, "--quiet")
    assert status == 0, err
    assert saved(run)["data_path"] == str(fashion_copy.resolve())
    status, _, err = run_cli(capsys, "train", "--resume", run, "--epochs", "2", "--quiet")
    assert status == 0, err
    assert saved(run)["data_path"] == str(fashion_copy.resolve())
    status, out, err = run_cli(capsys, "train", "--resume", run, "--epochs", "3", "--quiet", "--json")
    assert status == 0, err
    assert json.loads(out)["epochs"] == pytest.approx(3)
    assert saved(run)["data_path"] == str(fashion_copy.resolve())


def test_resume_with_data_given_again_records_the_new_place(capsys, tmp_path, fashion_copy):
    """Issue 17 item 2: data moved and given again with --data: the run folder records the new place."""
    run = tmp_path / "R"
    assert run_cli(capsys, "train", "--dataset", "fashion-mnist", "--data", fashion_copy, "--epochs", "1",
                   "--out", run, "--quiet")[0] == 0
    moved = fashion_copy.rename(tmp_path / "moved")
    status, _, err = run_cli(capsys, "train", "--resume", run, "--epochs", "2", "--data", moved, "--quiet")
    assert status == 0, err
    assert saved(run)["data_path"] == str(moved.resolve())
    status, _, err = run_cli(capsys, "train", "--resume", run, "--epochs", "3", "--quiet")
    assert status == 0, err


def test_resume_of_a_run_whose_data_moved_away_names_where_it_was(capsys, tmp_path, fashion_copy):
    """Issue 17 item 2: the data gone from where the run says: one line naming that place and --data, exit 2,
    and the run folder left as it was."""
    run = tmp_path / "R"
    assert run_cli(capsys, "train", "--dataset", "fashion-mnist", "--data", fashion_copy, "--epochs", "1",
                   "--out", run, "--quiet")[0] == 0
    before = (run / "config.json").read_bytes()
    shutil.rmtree(fashion_copy)
    status, out, err = run_cli(capsys, "train", "--resume", run, "--epochs", "2", "--quiet")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert str(fashion_copy.resolve()) in err and "--data" in err, err
    assert (run / "config.json").read_bytes() == before


def test_resume_falls_back_to_the_cache_when_the_recorded_copy_is_gone(capsys, tmp_path, fashion_copy):
    """Issue 17 item 2: the recorded folder gone, but the data set downloaded since: the run resumes from the
    cache (the mean image shows it is the same data)."""
    run = tmp_path / "R"
    assert run_cli(capsys, "train", "--dataset", "fashion-mnist", "--data", fashion_copy, "--epochs", "1",
                   "--out", run, "--quiet")[0] == 0
    registry.cache_dir().mkdir(parents=True, exist_ok=True)  # it may hold the decoded copies (.decoded) already
    fashion_copy.rename(registry.cache_dir() / "fashion-mnist")
    status, _, err = run_cli(capsys, "train", "--resume", run, "--epochs", "2", "--quiet")
    assert status == 0, err
    assert saved(run)["data_path"] is None  # found where the data sets are found without --data


@pytest.mark.skipif(not all((SYSTEM_FASHION / f"{name}.gz").is_file() for name in FASHION_FILES),
                    reason="the real Fashion-MNIST is not installed here: sudo apt-get install dataset-fashion-mnist")
def test_the_issues_commands_on_the_real_fashion_mnist(capsys, tmp_path, empty_cache):
    """Issue 17 item 2, as reported: `train --data /usr/share/datasets/fashion-mnist --out R`, `--resume R`
    twice (system copies not searched here: the data is only where --data said)."""
    run = tmp_path / "R"
    status, _, err = run_cli(capsys, "train", "--data", SYSTEM_FASHION, "--dataset", "fashion-mnist", "--epochs",
                             "0.05", "--out", run, "--quiet")
    assert status == 0, err
    for epochs in ("0.1", "0.15"):
        status, out, err = run_cli(capsys, "train", "--resume", run, "--epochs", epochs, "--quiet", "--json")
        assert status == 0, err
        assert saved(run)["data_path"] == str(SYSTEM_FASHION.resolve())
    assert json.loads(out)["epochs"] == pytest.approx(0.15, abs=0.005)


def test_a_run_on_the_system_copy_keeps_a_null_data_path_and_resumes(capsys, tmp_path, empty_cache,
                                                                      system_fashion):
    """Issue 17 item 2: a run on the system copy found with no flag records no path, and resumes from it."""
    run = tmp_path / "R"
    status, _, err = run_cli(capsys, "train", "--dataset", "fashion-mnist", "--epochs", "0.05", "--out", run,
                             "--quiet")
    assert status == 0, err
    assert saved(run)["data_path"] is None
    status, _, err = run_cli(capsys, "train", "--resume", run, "--epochs", "0.1", "--quiet")
    assert status == 0, err
    assert saved(run)["data_path"] is None


# ------------------------------------------------------------------------------------------------------------------
# Item 3: the settings in force


@pytest.fixture
def run_with_live_changes(tmp_path):
    """A digits run changed live at step 200 (loss to SVM, α to 0.1, λ to 0.001, batch to 100), saved at step
    300: built through the engine calls the window's training thread makes."""
    from gdstudio.config import TrainConfig
    from gdstudio.engine.runs import save_run
    from gdstudio.engine.session import Session

    session = Session(TrainConfig(dataset="digits", loss="softmax", lr=1.0, reg=1e-4, batch_size=32, steps=300))
    for _ in session.run(max_steps=200):
        pass
    assert session.step == 200
    session.request(loss="svm", lr=0.1, reg=1e-3, batch_size=100)
    for _ in session.run(max_steps=100):
        pass
    assert session.step == 300 and session.loss == "svm"
    folder = tmp_path / "changed"
    save_run(folder, session)
    return folder


def test_resume_reports_the_settings_in_force_not_the_first_ones(capsys, run_with_live_changes):
    """Issue 17 item 3: a run switched to SVM and α = 0.1 at step 200 prints and reports (stderr line and
    --json) the loss, α, λ and batch in force, not the config's starting softmax, α = 1."""
    status, out, err = run_cli(capsys, "train", "--resume", run_with_live_changes, "--steps", "320", "--quiet",
                               "--json")
    assert status == 0, err
    first = err.splitlines()[0]
    assert "training svm on digits" in first, first
    assert "α = 0.1," in first and "λ = 0.001," in first and "batch 100," in first, first
    document = json.loads(out)
    assert document["loss_function"] == "svm"
    assert (document["lr"], document["reg"], document["batch_size"]) == (0.1, 0.001, 100)
    config = saved(run_with_live_changes)
    assert config["state"]["loss"] == "svm" and config["state"]["lr"] == 0.1
