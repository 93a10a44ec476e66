"""Random search over log α × log λ on the validation split, as the lecture's assignment does.

Trials run on a :class:`concurrent.futures.Executor`: by default a local process pool on every core, but any
executor with ``submit`` works, so a sweep that outgrows one machine can pass a cluster's, e.g.
``distributed.Client(...).get_executor()`` from Dask. Each trial is a plain function of plain data
(:func:`run_trial`), so it pickles to other processes or machines.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

from gdstudio.config import ConfigError, TrainConfig

EDGE_FRACTION = 0.1
"""A best point within this fraction of the log range from an edge triggers the "widen the range" warning."""


@dataclass(frozen=True)
class Trial:
    lr: float
    reg: float
    val_accuracy: float
    train_accuracy: float
    status: str

    def to_dict(self) -> dict:
        return {"lr": self.lr, "reg": self.reg, "val_accuracy": self.val_accuracy,
                "train_accuracy": self.train_accuracy, "status": self.status}


def sample_points(count: int, lr_range, reg_range, seed: int = 0) -> list[tuple[float, float]]:
    """``count`` (α, λ) pairs drawn uniformly in log space."""
    for name, (lo, hi) in (("lr", lr_range), ("reg", reg_range)):
        if not (0 < lo <= hi and math.isfinite(hi)):
            raise ConfigError(f"{name} range must be two positive numbers, low ≤ high; got {lo:g} {hi:g}")
    rng = np.random.default_rng(seed)
    lrs = 10 ** rng.uniform(np.log10(lr_range[0]), np.log10(lr_range[1]), count)
    regs = 10 ** rng.uniform(np.log10(reg_range[0]), np.log10(reg_range[1]), count)
    return [(float(a), float(r)) for a, r in zip(lrs, regs)]


def run_trial(config_dict: dict, data_path, lr: float, reg: float) -> Trial:
    """Train one (α, λ) point to the config's length; a diverged trial scores 0 validation accuracy."""
    from gdstudio.engine.session import Session

    config = TrainConfig.from_dict(config_dict).replace(lr=lr, reg=reg, threads=1)
    session = Session(config, data_path=data_path)
    last = None
    for last in session.run():
        pass
    if last.status == "diverged":
        return Trial(lr, reg, 0.0, 0.0, "diverged")
    return Trial(lr, reg, float(last.final["val_accuracy"]), float(last.final["train_accuracy"]), last.status)


def sweep(config: TrainConfig, count: int, lr_range, reg_range, seed: int = 0, data_path=None,
          executor: Executor | None = None, on_trial=None) -> dict:
    """Run ``count`` trials in parallel; ``on_trial(trial)`` as each finishes. Returns best, trials, warnings."""
    points = sample_points(count, lr_range, reg_range, seed)
    own = executor is None
    if own:
        # spawn, not fork: a fork of a process whose Numba or Qt threads are running can deadlock
        executor = ProcessPoolExecutor(max_workers=min(len(points), os.cpu_count() or 1),
                                       mp_context=multiprocessing.get_context("spawn"))
    trials = []
    try:
        base = config.to_dict()
        futures = [executor.submit(run_trial, base, None if data_path is None else str(data_path), lr, reg)
                   for lr, reg in points]
        for future in as_completed(futures):
            trial = future.result()
            trials.append(trial)
            if on_trial is not None:
                on_trial(trial)
    finally:
        if own:
            executor.shutdown(cancel_futures=True)
    trials.sort(key=lambda t: (t.lr, t.reg))
    best = max(trials, key=lambda t: t.val_accuracy)
    return {"best": best, "trials": trials, "warnings": edge_warnings(best, lr_range, reg_range)}


def edge_warnings(best: Trial, lr_range, reg_range) -> list[str]:
    """Say when the best point lies near an edge of the searched range: the optimum may lie outside it."""
    warnings = []
    for name, value, (lo, hi) in (("lr", best.lr, lr_range), ("reg", best.reg, reg_range)):
        span = np.log10(hi) - np.log10(lo)
        if span <= 0:
            continue
        position = (np.log10(value) - np.log10(lo)) / span
        if position < EDGE_FRACTION:
            warnings.append(f"the best {name} ({value:.3g}) is at the low edge of the range: try lower values")
        elif position > 1 - EDGE_FRACTION:
            warnings.append(f"the best {name} ({value:.3g}) is at the high edge of the range: try higher values")
    return warnings
