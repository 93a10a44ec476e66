"""Sweeps on a real Dask cluster (issue 15): a ``LocalCluster`` of two worker processes, against the local
process pool trial for trial; a worker killed mid-trial; a trial that raises; how the data reach the workers;
a scheduler that cannot be reached."""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import socket
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from gdstudio.config import ConfigError, TrainConfig
from gdstudio.data.registry import load_dataset
from gdstudio.engine.cluster import Cluster
from gdstudio.engine.session import dataset_defaults
from gdstudio.engine.sweep import sweep
from tests.conftest import make_dataset
from tests.dask_cluster import WORKERS, dask_cluster  # noqa: F401 (a fixture)
from tests.data.fake_data_files import write_idx_folder
from tests.engine.sweep_trials import FAILING_LR, announcing_trial, counted, failing_trial

pytest.importorskip("distributed", reason='Dask is not installed: pip install ".[dask]"')

LR_RANGE, REG_RANGE = (1e-3, 3.0), (1e-6, 1e-1)
TRIALS, ROUNDS = 3, 2
KILL_WAIT_S = 120
"""How long the killer thread looks for a trial to kill before giving up (the test then fails)."""


def digits_config() -> TrainConfig:
    return TrainConfig(dataset="digits", epochs=1.0, seed=4).with_defaults(dataset_defaults("digits"))


def table(result) -> list[dict]:
    return [t.to_dict() for t in result["trials"]]


def rounds_table(result) -> list[tuple]:
    return [(r["round"], r["lr_range"], r["reg_range"], [t.to_dict() for t in r["trials"]]) for r in result["rounds"]]


@pytest.fixture(scope="module")
def pool_result():
    """The 6-trial, 2-round digits sweep on the local process pool (two spawned processes)."""
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        return sweep(digits_config(), TRIALS, LR_RANGE, REG_RANGE, seed=4, executor=executor, rounds=ROUNDS)


def test_a_two_round_sweep_on_dask_gives_the_pools_numbers_trial_for_trial(dask_cluster, pool_result):
    with Cluster(dask_cluster.scheduler_address) as cluster:
        data, how = cluster.place("digits", None, None)
        result = sweep(digits_config(), TRIALS, LR_RANGE, REG_RANGE, seed=4, executor=cluster.executor, data=data,
                       rounds=ROUNDS)
    assert data is None and "by name" in how
    assert len(result["trials"]) == TRIALS * ROUNDS and all(t.status == "ok" for t in result["trials"])
    assert table(result) == table(pool_result)  # exactly: trials are pure functions of their settings and seed
    assert rounds_table(result) == rounds_table(pool_result)
    assert result["best"] == pool_result["best"]


def test_a_worker_killed_mid_trial_runs_that_trial_again_and_every_trial_completes(dask_cluster, pool_result,
                                                                                    tmp_path):
    killed = []

    def kill_the_first_trial_seen():
        deadline = time.monotonic() + KILL_WAIT_S
        while time.monotonic() < deadline:
            started = sorted(tmp_path.iterdir())
            if started:
                pid, lr = started[0].name.split("-", 1)
                if int(pid) != os.getpid():
                    os.kill(int(pid), signal.SIGKILL)
                    killed.append((int(pid), lr))
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_first_trial_seen, daemon=True)
    trial = functools.partial(announcing_trial, folder=str(tmp_path), pause=1.0)
    with Cluster(dask_cluster.scheduler_address) as cluster:
        workers_before = set(cluster.client.run(os.getpid).values())
        killer.start()
        result = sweep(digits_config(), TRIALS, LR_RANGE, REG_RANGE, seed=4, executor=cluster.executor,
                       rounds=ROUNDS, trial_function=trial)
    killer.join()
    assert killed, "no trial was seen running"
    pid, lr = killed[0]
    assert pid in workers_before
    runs_of_that_trial = [f.name.split("-", 1)[0] for f in tmp_path.iterdir() if f.name.endswith(f"-{lr}")]
    assert len(runs_of_that_trial) >= 2 and str(pid) in runs_of_that_trial  # killed, then run again elsewhere
    assert len(result["trials"]) == TRIALS * ROUNDS and all(t.status == "ok" for t in result["trials"])
    assert table(result) == table(pool_result)


def test_a_trial_that_raises_on_a_worker_is_an_error_with_its_message_and_the_others_go_on(dask_cluster):
    with Cluster(dask_cluster.scheduler_address) as cluster:
        result = sweep(digits_config(), 6, (1e-3, 1.0), REG_RANGE, seed=0, executor=cluster.executor,
                       trial_function=failing_trial)
    broken = [t for t in result["trials"] if t.lr > FAILING_LR]
    assert broken and len(broken) < 6 and len(result["trials"]) == 6
    assert all(t.status == "error" and "broke on purpose" in t.message for t in broken)
    assert all(t.status == "ok" for t in result["trials"] if t.lr <= FAILING_LR)


def test_arrays_the_workers_cannot_load_are_sent_once_not_once_per_trial(dask_cluster, tmp_path):
    log = tmp_path / "unpickled"
    log.touch()
    dataset = counted(make_dataset(), log)  # "tiny": in memory only, no name or path a worker could load
    config = TrainConfig(dataset="tiny", epochs=2.0).with_defaults(dataset_defaults("tiny"))
    with Cluster(dask_cluster.scheduler_address) as cluster:
        data, how = cluster.place("tiny", None, dataset)
        result = sweep(config, 6, (1e-3, 1.0), REG_RANGE, executor=cluster.executor, data=data)
    assert "sent" in how and all(t.status == "ok" for t in result["trials"]) and len(result["trials"]) == 6
    arrivals = log.read_text().split()
    assert 1 <= len(arrivals) <= WORKERS, arrivals  # once to each worker at most, not once per trial
    with ThreadPoolExecutor(2) as executor:
        here = sweep(config, 6, (1e-3, 1.0), REG_RANGE, executor=executor, data=make_dataset())
    assert table(result) == table(here)


def test_a_data_set_at_a_path_the_workers_can_read_is_read_there(dask_cluster, tmp_path):
    folder = tmp_path / "my-mnist"
    write_idx_folder(folder, n_train=300, n_test=60)
    config = TrainConfig(dataset="mnist", epochs=1.0).with_defaults(dataset_defaults("mnist"))
    with Cluster(dask_cluster.scheduler_address) as cluster:
        data, how = cluster.place("mnist", str(folder), load_dataset("mnist", folder))
        result = sweep(config, 2, (1e-3, 0.1), REG_RANGE, executor=cluster.executor, data=data)
    assert data == str(folder) and str(folder) in how
    assert all(t.status == "ok" for t in result["trials"])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_scheduler_that_cannot_be_reached_is_one_plain_message():
    address = f"tcp://127.0.0.1:{closed_port()}"
    with pytest.raises(ConfigError) as caught:
        with Cluster(address, timeout=1.0):
            pass
    message = str(caught.value)
    assert "cannot reach" in message and address in message and "\n" not in message


def test_a_scheduler_without_workers_is_refused_instead_of_waiting_for_ever():
    import distributed

    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty:
        with Cluster(empty.scheduler_address) as cluster, pytest.raises(ConfigError) as caught:
            cluster.place("digits", None, None)
    assert "no workers yet" in str(caught.value) and f"dask worker {empty.scheduler_address}" in str(caught.value)
