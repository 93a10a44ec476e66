"""Issue 14 goal 5: ``gdstudio bench --workload fashion-mnist`` trains the real data set with GD Studio, the NumPy
loop, PyTorch and scikit-learn (those installed), in one run, with the data set's defaults.

The figures are the benchmark's business; these tests check the report's shape, that GD Studio's row is the run
``gdstudio train`` makes, and the refusals. The real copy comes from the system package (skipped without it).
"""

import json

import pytest

from gdstudio.cli import main
from gdstudio.engine import bench_real


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """One quick run (2 epochs) on the real copy, shared by the tests that read it."""
    import os

    from tests.conftest import SYSTEM_FASHION

    if not (SYSTEM_FASHION / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("the real Fashion-MNIST is not installed here: sudo apt-get install dataset-fashion-mnist")
    saved = {name: os.environ.get(name) for name in ("GDSTUDIO_SYSTEM_DATA_DIRS", "GDSTUDIO_DATA_DIR")}
    os.environ.pop("GDSTUDIO_SYSTEM_DATA_DIRS", None)
    os.environ["GDSTUDIO_DATA_DIR"] = str(tmp_path_factory.mktemp("cache"))
    try:
        return bench_real.run_real_bench("fashion-mnist", quick=True)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_the_report_has_a_row_per_implementation_that_runs_here(quick_report):
    report = quick_report
    assert report["workload"] == "fashion-mnist" and (report["N"], report["D"], report["C"]) == (55_000, 784, 10)
    assert report["hyperparameters"] == {"loss": "softmax", "lr": 0.3, "reg": 1e-5, "batch_size": 256, "epochs": 2,
                                         "init_scale": 1e-3, "preprocess": "unit", "seed": 0}
    names = [row["implementation"] for row in report["results"]]
    assert names[:2] == ["gdstudio-cpu", "numpy-loop"]
    expected = {"torch": "torch-cpu", "sklearn-sgd": "sklearn-sgd"}
    for tool, row_name in expected.items():  # each tool is either timed or named as skipped, never both
        assert (row_name in names) != (tool in report["skipped"]), (tool, names, report["skipped"])
    for row in report["results"]:
        assert row["epochs"] == 2 and len(row["test_accuracy"]) == 2 and len(row["epoch_seconds"]) == 2
        assert row["ms_per_epoch"] > 0 and 0.5 < row["final_test_accuracy"] <= 1.0
        assert row["final_test_accuracy"] == row["test_accuracy"][-1]
        if row["seconds_to_target"] is not None:
            reached = row["epochs_to_target"]
            assert row["test_accuracy"][reached - 1] >= 0.82 > max([0.0] + row["test_accuracy"][:reached - 1])
            assert row["seconds_to_target"] == pytest.approx(sum(row["epoch_seconds"][:reached]))
    numpy_row = names.index("numpy-loop")
    assert report["results"][numpy_row]["speedup_vs_numpy_loop"] == 1.0


def test_gdstudio_row_is_the_run_gdstudio_train_makes(quick_report, system_fashion, capsys):
    status, out, _ = run(capsys, "train", "--dataset", "fashion-mnist", "--epochs", "2", "--json", "--quiet")
    assert status == 0
    trained = json.loads(out)
    gdstudio = next(row for row in quick_report["results"] if row["implementation"] == "gdstudio-cpu")
    assert gdstudio["final_test_accuracy"] == trained["test_accuracy"]


def test_the_table_names_every_row_and_what_was_skipped(quick_report):
    table = bench_real.format_real_table(quick_report)
    assert "time to 0.82 test accuracy" in table and "final test accuracy" in table
    for row in quick_report["results"]:
        assert f"| {row['implementation']} |" in table
    for tool, why in quick_report["skipped"].items():
        assert f"{tool} ({why})" in table


def test_without_a_copy_it_says_how_to_get_one_and_exits_2(capsys, tmp_path, monkeypatch):
    from gdstudio.data import registry

    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path))
    registry.forget()
    status, out, err = run(capsys, "bench", "--workload", "fashion-mnist", "--quick")
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "fashion-mnist" in err and "apt-get install dataset-fashion-mnist" in err


@pytest.mark.parametrize("argv, flag", [
    (["bench", "--workload", "fashion-mnist", "--workload", "digits"], "--workload"),
    (["bench", "--workload", "fashion-mnist", "--backend", "numpy"], "--backend"),
    (["bench", "--workload", "digits", "--epochs", "3"], "--epochs"),
])
def test_combinations_it_cannot_run_exit_2_naming_the_flag(capsys, argv, flag):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == "" and flag in err and len(err.strip().splitlines()) == 1
