"""Issue 13: the lecture on real data — Debian's Fashion-MNIST, found with no flag.

These run where the system copy is installed (CI installs it); elsewhere they are skipped with the apt command as
the reason (the ``system_fashion`` fixture).
"""

import json

import pytest

from gdstudio.cli import main


def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_defaults_reach_the_linear_baseline(capsys, system_fashion):
    """The Fashion-MNIST paper's LogisticRegression: 0.842 test accuracy. The defaults get there, with no flag."""
    status, out, err = run_cli(capsys, "train", "--dataset", "fashion-mnist", "--json", "--quiet")
    result = json.loads(out)
    assert status == 0 and result["status"] == "ok", err
    assert result["test_accuracy"] >= 0.84
    assert "55,000 train images, D = 784, C = 10" in err


def test_datasets_lists_the_system_copy(capsys, system_fashion):
    status, out, _ = run_cli(capsys, "datasets")
    line = next(line for line in out.splitlines() if line.startswith("fashion-mnist"))
    assert status == 0 and "yes" in line and f"system copy: {system_fashion}" in line
    document = json.loads(run_cli(capsys, "datasets", "--json")[1])
    row = {r["name"]: r for r in document["datasets"]}["fashion-mnist"]
    assert row["present"] and row["origin"] == "system" and row["where"] == str(system_fashion)


def test_mnist_asked_of_fashion_mnist_stops_with_one_line_naming_both(capsys, system_fashion):
    status, out, err = run_cli(capsys, "train", "--dataset", "mnist", "--data", str(system_fashion), "--quiet")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "Fashion-MNIST" in err and "not MNIST" in err and "Traceback" not in err


def test_the_strategy_race_orders_random_search_local_search_sgd(capsys, system_fashion):
    """The lecture's table at 1,000 loss evaluations each: random search < random local search < SGD."""
    status, out, err = run_cli(capsys, "compare", "--dataset", "fashion-mnist", "--budget", "1000", "--json")
    table = json.loads(out)
    assert status == 0, err
    random, local, sgd = (table[name]["test_accuracy"] for name in ("random-search", "random-local-search", "sgd"))
    assert random < local < sgd
    assert random < 0.4 and sgd > 0.75


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_the_gradient_check_passes_on_real_images(capsys, system_fashion, loss):
    status, out, err = run_cli(capsys, "gradcheck", "--dataset", "fashion-mnist", "--loss", loss, "--json")
    result = json.loads(out)
    assert status == 0, err
    assert result["verdict"] != "wrong" and result["max_relative_error"] < 1e-4
    assert result["dataset"] == "fashion-mnist" and len(result["entries"]) == 100


@pytest.mark.slow
def test_the_sweep_finds_a_good_point(capsys, system_fashion):
    status, out, err = run_cli(capsys, "sweep", "--dataset", "fashion-mnist", "--trials", "4", "--lr-range", "0.03",
                               "1", "--reg-range", "1e-6", "1e-4", "--epochs", "5", "--workers", "2", "--json")
    result = json.loads(out)
    assert status == 0, err
    assert len(result["trials"]) == 4 and result["best"]["val_accuracy"] >= 0.83


def test_without_the_package_fashion_mnist_is_absent_and_the_message_names_both_ways(capsys, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.setenv("GDSTUDIO_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GDSTUDIO_SYSTEM_DATA_DIRS", str(tmp_path / "no-system-copies"))
    document = json.loads(run_cli(capsys, "datasets", "--json")[1])
    assert not {r["name"]: r for r in document["datasets"]}["fashion-mnist"]["present"]
    status, out, err = run_cli(capsys, "train", "--dataset", "fashion-mnist", "--quiet")
    assert status == 2 and err.count("\n") == 1
    assert "apt-get install dataset-fashion-mnist" in err and "gdstudio datasets download fashion-mnist" in err
