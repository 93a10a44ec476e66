"""Trial functions for the sweep's fault tests, importable by worker processes (pool or Dask) as
``tests.engine.sweep_trials``: each is :func:`gdstudio.engine.sweep.run_trial` plus one fault."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, fields
from pathlib import Path

from gdstudio.data.dataset import Dataset
from gdstudio.engine.sweep import run_trial

FAILING_LR = 0.05
"""``failing_trial`` raises for α above this."""


def failing_trial(config_dict, data, lr, reg):
    """Raises for α > ``FAILING_LR`` (as a broken kernel or a full disk would), else a real trial."""
    if lr > FAILING_LR:
        raise ValueError(f"this trial broke on purpose at α = {lr:.3g}")
    return run_trial(config_dict, data, lr, reg)


def announcing_trial(config_dict, data, lr, reg, folder: str, pause: float = 1.0):
    """A real trial that first writes ``<folder>/<pid>-<lr>`` (so that a test can kill this very process while
    it trains), then waits ``pause`` seconds."""
    Path(folder, f"{os.getpid()}-{lr!r}").touch()
    time.sleep(pause)
    return run_trial(config_dict, data, lr, reg)


@dataclass(frozen=True)
class CountedDataset(Dataset):
    """A :class:`Dataset` that appends a line to the file ``log`` each time a process unpickles it: how many
    times its arrays travelled to a worker."""

    log: str = ""

    def __setstate__(self, state) -> None:
        self.__dict__.update(state)
        with open(state["log"], "a") as file:
            file.write(f"{os.getpid()}\n")


def counted(dataset: Dataset, log) -> CountedDataset:
    return CountedDataset(**{f.name: getattr(dataset, f.name) for f in fields(Dataset)}, log=str(log))
