"""``gdstudio sweep --rounds R --scheduler ADDRESS|local`` (issue 15): coarse-to-fine rounds in the JSON, Dask's
LocalCluster against the process pool trial for trial, Ctrl-C, a missing Dask, an unreachable scheduler."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gdstudio import config as cfg
from gdstudio.cli import main
from tests.dask_cluster import needs_dask

ROOT = Path(__file__).resolve().parents[2]
SUBPROCESS_TIMEOUT_S = 300
SWEEP = ["sweep", "--dataset", "digits", "--trials", "3", "--rounds", "2", "--epochs", "1", "--seed", "2", "--json"]


def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def gdstudio(*argv) -> list[str]:
    return [sys.executable, "-m", "gdstudio", *argv]


def environment() -> dict:
    """This checkout first on the path, for this process's children and the Dask workers they start."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_rounds_narrow_and_the_json_gives_each_rounds_ranges_and_trials(capsys):
    status, out, err = run_cli(capsys, *SWEEP, "--workers", "2")
    result = json.loads(out)
    assert status == 0, err
    rounds = result["rounds"]
    assert [r["round"] for r in rounds] == [1, 2] and all(len(r["trials"]) == 3 for r in rounds)
    assert rounds[0]["lr_range"] == [1e-3, 3.0] and rounds[0]["reg_range"] == [1e-6, 0.1]
    for name in ("lr_range", "reg_range"):
        (low, high), (fine_low, fine_high) = rounds[0][name], rounds[1][name]
        assert low <= fine_low < fine_high <= high and (fine_high / fine_low) < (high / low)
    assert len(result["trials"]) == 6 and {t["round"] for t in result["trials"]} == {1, 2}
    assert all(t["status"] == "ok" and t["message"] is None for t in result["trials"])
    assert "round 2 of 2" in err


@needs_dask
def test_scheduler_local_gives_the_process_pools_numbers_trial_for_trial(capsys):
    """The acceptance test: a 6-trial, 2-round sweep on digits, on a LocalCluster of 2 worker processes, equals
    the local pool's, trial for trial."""
    done = subprocess.run(gdstudio(*SWEEP, "--scheduler", "local", "--workers", "2"), cwd=ROOT, env=environment(),
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    on_dask = json.loads(done.stdout)
    status, out, err = run_cli(capsys, *SWEEP, "--workers", "2")
    on_pool = json.loads(out)
    assert status == 0, err
    assert on_dask["trials"] == on_pool["trials"] and on_dask["rounds"] == on_pool["rounds"]
    assert len(on_dask["trials"]) == 6 and on_dask["best"] == on_pool["best"]
    assert "LocalCluster of 2 worker processes" in done.stderr and "digits by name" in done.stderr


@pytest.mark.parametrize("where, to", [pytest.param("local", "the command", marks=needs_dask),
                                       pytest.param("local", "its process group", marks=needs_dask),
                                       ("pool", "its process group")])
def test_ctrl_c_cancels_the_outstanding_trials_and_prints_what_finished(where, to):
    """Ctrl-C at a terminal signals the whole process group (the workers too); ``kill -INT`` only the command.
    Either way: no tracebacks, the trials not started are cancelled, the finished ones printed, exit 130."""
    psutil = pytest.importorskip("psutil")
    command = gdstudio("sweep", "--trials", "40", "--epochs", "300", "--workers", "2", "--json",
                       *(["--scheduler", "local"] if where == "local" else []))
    process = subprocess.Popen(command, cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        lines = []
        for line in process.stderr:  # the first finished trial: the workers are up and trials are running
            lines.append(line)
            if line.startswith("  α = "):
                break
        children = psutil.Process(process.pid).children(recursive=True)
        assert children, "".join(lines)
        if to == "the command":
            process.send_signal(signal.SIGINT)
        else:
            os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=SUBPROCESS_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    err = "".join(lines) + err
    assert process.returncode == 130, err
    result = json.loads(out)
    finished = len(result["trials"])
    assert result["interrupted"] is True and 1 <= finished < 40
    assert f"interrupted: {finished} of 40 trials finished; the other {40 - finished} were cancelled" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    gone, alive = psutil.wait_procs(children, timeout=30)  # the pool's or cluster's processes end with it
    assert not alive, [p.cmdline() for p in alive]


def test_scheduler_without_dask_is_one_line_naming_the_extra(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed: importing it fails
    status, out, err = run_cli(capsys, "sweep", "--trials", "2", "--scheduler", "local")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and 'pip install "gdstudio[dask]"' in err and "--scheduler" in err


@needs_dask
def test_an_unreachable_scheduler_is_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.setattr(cfg, "SCHEDULER_CONNECT_SECONDS", 1.0)
    address = f"tcp://127.0.0.1:{closed_port()}"
    status, out, err = run_cli(capsys, "sweep", "--trials", "2", "--scheduler", address)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "--scheduler" in err and "cannot reach" in err and address in err


@needs_dask
@pytest.mark.parametrize("address", ["not an address", "tcp://", "ftp://127.0.0.1:8786"])
def test_a_malformed_scheduler_address_is_one_line_and_exit_2(capsys, monkeypatch, address):
    monkeypatch.setattr(cfg, "SCHEDULER_CONNECT_SECONDS", 1.0)
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    status, out, err = run_cli(capsys, "sweep", "--trials", "2", "--scheduler", address)
    gc.collect()  # a half-made Dask Client, once collected, hung for 10 s and printed a traceback
    assert status == 2 and out == "" and err.count("\n") == 1 and "--scheduler" in err, err
    assert "not a Dask scheduler address" in err and not unraisable


def test_workers_with_a_scheduler_address_is_refused(capsys):
    status, _, err = run_cli(capsys, "sweep", "--scheduler", "tcp://127.0.0.1:8786", "--workers", "3")
    assert status == 2 and err.count("\n") == 1 and "--workers" in err and "dask worker" in err
