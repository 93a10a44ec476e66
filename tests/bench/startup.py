"""What a person waits for before training starts: a benchmark script, not a test (issue 14 goal 2).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/bench/startup.py [--rounds 5] [--datasets digits fashion-mnist]

For each data set, in interleaved rounds (a busy spell on a shared machine hits every row alike), medians and
minima of:

- ``gdstudio train --dataset D --steps 1 --json`` in a fresh process: the process's wall time (what ``hyperfine``
  measures), the run's ``seconds`` and ``startup_seconds`` (README, "What a run's seconds measure");
- the window, in a fresh process: process start → the data set loaded and the kernels ready (Start enabled), and
  Start (pressed a second later, as a person would) → the first point of the loss curve drawn.

The caches are warm (one unmeasured round first): Numba's kernel cache and the decompressed copies of the data.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli_round(dataset: str) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gdstudio", "train", "--dataset", dataset, "--steps", "1", "--json",
                           "--quiet"], capture_output=True, text=True, cwd=ROOT, env=_env())
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"gdstudio train failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout)
    return {"process": wall, "seconds": result["seconds"], "startup_seconds": result["startup_seconds"]}


def window_round(dataset: str) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--window-child", dataset], capture_output=True, text=True,
                          cwd=ROOT, env=_env())
    if proc.returncode != 0:
        raise SystemExit(f"window child failed: {proc.stderr[-2000:]}")
    wall = time.perf_counter() - started
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # the process from its start (interpreter, imports, window, data, kernels) until Start is enabled
    return {"process_to_ready": wall - result.pop("after_ready"),
            "start_to_first_point": result["start_to_first_point"]}


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def window_child(dataset: str) -> None:
    """In a fresh process: open the window on ``dataset``, wait until it is ready, press Start, wait for the first
    point of the loss curve; print the times as JSON."""
    config_home = tempfile.mkdtemp(prefix="gdstudio-bench-")
    os.environ["XDG_CONFIG_HOME"] = config_home  # a fresh person: no saved settings
    os.environ.setdefault("GDSTUDIO_LOG_DIR", config_home)
    import pyqtgraph as pg
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QPushButton

    from gdstudio.gui import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(dataset=dataset)
    window.show()

    def wait(condition, limit=120.0):
        deadline = time.perf_counter() + limit
        while not condition():
            if time.perf_counter() > deadline:
                raise SystemExit("timed out")
            app.processEvents()
            time.sleep(0.001)
        return time.perf_counter()

    ready = wait(lambda: window.controller.ready and window.controller.info.config.dataset == dataset)
    plot = window.findChild(pg.PlotWidget, "lossPlot")
    total = next(item for item in plot.getPlotItem().listDataItems() if item.name() == "total loss")

    def points() -> int:
        x, _ = total.getData()
        return 0 if x is None else len(x)

    # A person presses Start a while after the window is ready, when the thread has done its idle work (the
    # CUDA check imports numba.cuda, ~0.2 s): wait a second, as they would.
    wait(lambda: time.perf_counter() > ready + 1.0)
    pressed = time.perf_counter()
    QTest.mouseClick(window.findChild(QPushButton, "startButton"), Qt.MouseButton.LeftButton)
    first = wait(lambda: points() > 0)
    window.close()
    print(json.dumps({"start_to_first_point": first - pressed, "after_ready": time.perf_counter() - ready}),
          flush=True)
    os._exit(0)  # the figures are out; skip Qt's and Python's teardown


def summary(rows: list[dict]) -> dict:
    keys = rows[0].keys()
    return {key: (statistics.median(r[key] for r in rows), min(r[key] for r in rows)) for key in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    parser.add_argument("--no-window", action="store_true")
    parser.add_argument("--window-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.window_child:
        window_child(args.window_child)
        return
    kinds = [("cli", cli_round)] + ([] if args.no_window else [("window", window_round)])
    for dataset in args.datasets:  # warm the caches
        for _, run in kinds:
            run(dataset)
    rows: dict = {(dataset, kind): [] for dataset in args.datasets for kind, _ in kinds}
    for _ in range(args.rounds):
        for dataset in args.datasets:
            for kind, run in kinds:
                rows[(dataset, kind)].append(run(dataset))
    load = os.getloadavg()
    print(f"{args.rounds} rounds, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (1/5/15 min); "
          "median (min), seconds")
    for (dataset, kind), found in rows.items():
        figures = ", ".join(f"{key} {med:.3f} ({low:.3f})" for key, (med, low) in summary(found).items())
        print(f"{dataset:<14} {kind:<7} {figures}")


if __name__ == "__main__":
    main()
