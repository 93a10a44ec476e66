"""The same sweep on the local process pool, on ``--scheduler local`` and on an already running Dask cluster
(issue 15's figure in the README): interleaved timed runs of whole ``gdstudio sweep`` commands, each run's result
compared with the pool's trial for trial.

    .venv/bin/python tests/bench/sweep_cluster.py [--repeats 5] [--workers 2]

The running cluster is a ``dask scheduler`` and a ``dask worker --nworkers W --nthreads 1`` that this script
starts on free ports and stops at the end. Not a test: it prints times and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = {
    "digits, 2 rounds of 12 trials, 20 epochs": ["--dataset", "digits", "--trials", "12", "--rounds", "2"],
    "fashion-mnist, 2 rounds of 4 trials, 5 epochs": ["--dataset", "fashion-mnist", "--trials", "4", "--rounds", "2",
                                                      "--epochs", "5"],
}
KINDS = ("pool", "local", "running cluster")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cluster(workers: int, env: dict) -> tuple[str, list[subprocess.Popen]]:
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"
    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler = subprocess.Popen([dask, "scheduler", "--port", address.rsplit(":", 1)[1], "--dashboard-address",
                                  ":0"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([dask, "worker", address, "--nworkers", str(workers), "--nthreads", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import distributed

    with distributed.Client(address, timeout=60, set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, [worker, scheduler]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    address, processes = start_cluster(args.workers, env)
    try:
        for name, flags in WORKLOADS.items():
            times = {kind: [] for kind in KINDS}
            trials = {}
            loads = []
            for _ in range(args.repeats):
                for kind in KINDS:
                    where = {"pool": ["--workers", str(args.workers)],
                             "local": ["--workers", str(args.workers), "--scheduler", "local"],
                             "running cluster": ["--scheduler", address]}[kind]
                    loads.append(os.getloadavg()[0])
                    started = time.perf_counter()
                    done = subprocess.run([sys.executable, "-m", "gdstudio", "sweep", *flags, "--json", *where],
                                          env=env, capture_output=True, text=True)
                    times[kind].append(time.perf_counter() - started)
                    if done.returncode != 0:
                        sys.exit(done.stderr)
                    trials.setdefault(kind, json.loads(done.stdout)["trials"])
            same = all(trials[kind] == trials["pool"] for kind in KINDS)
            print(f"{name}: the same trials everywhere: {same}; load average (1 min) {min(loads):.1f} to "
                  f"{max(loads):.1f} on {os.cpu_count()} cores")
            pool = statistics.median(times["pool"])
            for kind in KINDS:
                median = statistics.median(times[kind])
                runs = ", ".join(f"{t:.1f}" for t in times[kind])
                print(f"  {kind:<16} median {median:6.2f} s ({median / pool:.2f}× the pool)   runs: {runs}",
                      flush=True)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
