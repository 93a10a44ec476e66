"""The command line: the contract's flags, JSON, exit statuses and one-line messages."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from gdstudio.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_explain_worked_example(capsys):
    status, out, err = run_cli(capsys, "explain", "--scores", "0.8", "0.3", "-0.4", "--label", "0")
    assert status == 0
    assert "max(0, 0.3 − 0.8 + 1) = max(0, 0.5) = 0.5" in out
    assert "L_i = 0.5 + 0 = 0.5" in out
    assert "= 0.6459" in out


def test_explain_json(capsys):
    status, out, _ = run_cli(capsys, "explain", "--scores", "0.8", "0.3", "-0.4", "--label", "0", "--json")
    result = json.loads(out)
    assert status == 0
    assert result["svm"]["loss"] == pytest.approx(0.5)
    assert result["svm"]["margins"] == pytest.approx([0.0, 0.5, 0.0])
    assert result["softmax"]["loss"] == pytest.approx(0.6459, abs=1e-4)
    assert sum(result["softmax"]["probabilities"]) == pytest.approx(1.0)


def test_train_defaults_reach_90_percent_on_digits(capsys):
    status, out, err = run_cli(capsys, "train", "--json", "--quiet")
    result = json.loads(out)
    assert status == 0 and result["status"] == "ok"
    assert result["val_accuracy"] >= 0.90
    for key in ("loss", "train_accuracy", "val_accuracy", "test_accuracy", "steps", "seconds", "backend"):
        assert key in result
    assert 0 <= result["test_accuracy"] <= 1 and result["backend"] == "cpu"
    assert "accuracy train" in err


def test_train_diverges_with_exit_3_and_finite_saved_weights(capsys, tmp_path):
    status, out, err = run_cli(capsys, "train", "--dataset", "digits", "--lr", "1e6", "--json", "--quiet",
                               "--out", str(tmp_path / "run"))
    assert status == 3
    assert json.loads(out)["status"] == "diverged"
    assert "lower --lr" in err
    with np.load(tmp_path / "run" / "weights.npz", allow_pickle=False) as weights:
        assert np.all(np.isfinite(weights["W"])) and np.all(np.isfinite(weights["b"]))


def test_train_writes_a_run_folder(capsys, tmp_path):
    status, _, _ = run_cli(capsys, "train", "--steps", "30", "--quiet", "--out", str(tmp_path / "run"),
                           "--loss", "svm", "--batch-size", "1")
    assert status == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["dataset"] == "digits" and config["config"]["loss"] == "svm"
    assert config["config"]["batch_size"] == 1
    lines = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("step,epoch,loss,data_loss,reg_loss")
    assert len(lines) == 31


BAD_INPUTS = [
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--batch-size", "-4"], "--batch-size"),
    (["train", "--batch-size", "2.5"], "--batch-size"),
    (["train", "--lr", "0"], "--lr"),
    (["train", "--lr", "-1"], "--lr"),
    (["train", "--lr", "nan"], "--lr"),
    (["train", "--lr", "fast"], "--lr"),
    (["train", "--reg", "-1"], "--reg"),
    (["train", "--reg", "inf"], "--reg"),
    (["train", "--loss", "hinge"], "--loss"),
    (["train", "--dataset", "imagenet"], "imagenet"),
    (["train", "--backend", "tpu"], "--backend"),
    (["train", "--strategy", "adam"], "--strategy"),
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--epochs", "-2"], "--epochs"),
    (["train", "--dataset", "cifar10", "--data", "/no/such/path"], "/no/such/path"),
    (["explain", "--scores", "0.8", "0.3", "--label", "2"], "--label"),
    (["explain", "--scores", "0.8", "abc", "--label", "0"], "score"),
    (["explain", "--scores", "0.8", "nan", "--label", "0"], "score"),
    (["datasets", "download", "imagenet"], "imagenet"),
    (["frobnicate"], "frobnicate"),
]


@pytest.mark.parametrize("argv, named", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line(capsys, argv, named):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2
    assert err.count("\n") == 1 and named in err
    assert "Traceback" not in err


@pytest.mark.parametrize("content", [b"", b"this is not an archive at all" * 10, None], ids=["empty", "garbage",
                                                                                              "truncated"])
def test_bad_archives_exit_2(capsys, tmp_path, content):
    path = tmp_path / "cifar-10-binary.tar.gz"
    if content is None:  # a real archive cut short
        member = tmp_path / "data_batch_1.bin"
        member.write_bytes(bytes(range(256)) * 400)
        with tarfile.open(path, "w:gz") as tar:
            tar.add(member, arcname="cifar-10-batches-bin/data_batch_1.bin")
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_bytes(content)
    status, _, err = run_cli(capsys, "train", "--dataset", "cifar10", "--data", str(path))
    assert status == 2 and err.count("\n") == 1 and str(path) in err


def test_pickle_that_runs_code_is_refused_and_not_run(capsys, tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    import pickle

    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
                 "batches.meta"]:
        (folder / name).write_bytes(pickle.dumps({"data": Evil(), "labels": [0]}, protocol=2))
    status, _, err = run_cli(capsys, "train", "--dataset", "cifar10", "--data", str(folder))
    assert status == 2 and "Traceback" not in err
    assert not marker.exists()


def test_datasets_lists_every_data_set(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GDSTUDIO_DATA_DIR", str(tmp_path))
    status, out, _ = run_cli(capsys, "datasets", "--json")
    rows = {row["name"]: row for row in json.loads(out)["datasets"]}
    assert status == 0
    assert rows["digits"]["present"] and not rows["cifar10"]["present"]
    assert {"mnist", "fashion-mnist", "toy2d"} <= set(rows)


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and "gdstudio" in capsys.readouterr().out


BLOCK_QT = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'):
            raise ImportError('blocked for this test: ' + name)
sys.meta_path.insert(0, Block())
"""


def test_core_runs_with_pyside6_absent(tmp_path):
    script = BLOCK_QT + """
import gdstudio, gdstudio.config, gdstudio.kernels.reference, gdstudio.kernels.cpu, gdstudio.data.registry
import gdstudio.engine.session, gdstudio.engine.runs, gdstudio.engine.explain
from gdstudio.cli import main
status = main(['train', '--steps', '20', '--quiet', '--json'])
assert 'PySide6' not in sys.modules and 'pyqtgraph' not in sys.modules
sys.exit(status)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "ok"


def test_bad_flag_from_a_real_process_has_no_traceback():
    done = subprocess.run([sys.executable, "-m", "gdstudio", "train", "--batch-size", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--batch-size" in done.stderr


def test_download_from_a_local_mirror_refuses_a_bad_checksum(capsys, tmp_path, monkeypatch):
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    served.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (served / name).write_bytes(b"not the real file" * 1000)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("GDSTUDIO_DATA_DIR", str(tmp_path / "cache"))
    try:
        status, _, err = run_cli(capsys, "datasets", "download", "mnist", "--mirror",
                                 f"http://127.0.0.1:{server.server_port}/", "--quiet")
    finally:
        server.shutdown()
    assert status == 1
    assert "checksum" in err.lower() or "md5" in err.lower()
    assert "Traceback" not in err
    left = list((tmp_path / "cache").rglob("*"))
    assert not [p for p in left if p.is_file()], left


def test_bench_quick_json_shape(capsys):
    status, out, err = run_cli(capsys, "bench", "--quick", "--json", "--no-torch", "--backend", "cpu",
                               "--backend", "numpy")
    assert status == 0, err
    result = json.loads(out)
    assert result["gemm_gflops"] > 0 and result["quick"] is True
    assert [w["name"] for w in result["workloads"]] == ["cifar10", "digits"]
    for work in result["workloads"]:
        names = [row["implementation"] for row in work["results"]]
        assert names == ["numpy-loop", "cpu", "numpy", "cpu-kernel"]
        assert work["flop_bound_ms"] > 0
        for row in work["results"]:
            for key in ("ms_per_epoch", "steps_per_s", "examples_per_s", "flop_bound_fraction",
                        "speedup_vs_numpy_loop"):
                assert row[key] > 0
        assert work["results"][0]["speedup_vs_numpy_loop"] == pytest.approx(1.0)


@pytest.mark.parametrize("argv, flag", [(["bench", "--workload", "imagenet"], "--workload"),
                                        (["bench", "--repeats", "0"], "--repeats"),
                                        (["bench", "--backend", "tpu"], "--backend")])
def test_bench_bad_flags_exit_2_with_one_line(capsys, argv, flag):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and flag in err and len(err.strip().splitlines()) == 1 and out == ""


@pytest.mark.parametrize("loss", ["svm", "softmax"])
@pytest.mark.parametrize("reg", [None, "0.05"])
def test_gradcheck_json(capsys, loss, reg):
    argv = ["gradcheck", "--dataset", "digits", "--loss", loss, "--json"] + (["--reg", reg] if reg else [])
    status, out, _ = run_cli(capsys, *argv)
    result = json.loads(out)
    assert status == 0
    assert result["max_relative_error"] < 1e-6
    assert len(result["entries"]) == 650 and {"analytic", "numeric", "relative_error"} <= set(result["entries"][0])


def test_compare_json_has_the_lectures_order(capsys):
    status, out, _ = run_cli(capsys, "compare", "--dataset", "digits", "--budget", "600", "--json")
    table = json.loads(out)
    assert status == 0 and list(table) == ["random-search", "random-local-search", "sgd"]
    assert table["random-search"]["val_accuracy"] < table["random-local-search"]["val_accuracy"] < \
        table["sgd"]["val_accuracy"]


def test_sweep_json(capsys):
    status, out, err = run_cli(capsys, "sweep", "--dataset", "digits", "--trials", "3", "--epochs", "1", "--json",
                               "--workers", "2")
    result = json.loads(out)
    assert status == 0 and len(result["trials"]) == 3
    assert result["best"]["val_accuracy"] == max(t["val_accuracy"] for t in result["trials"])
    assert run_cli(capsys, "sweep", "--lr-range", "1", "0.1")[0] == 2
