"""Random search over log α × log λ on the validation split, coarse to fine, as the lecture's assignment does.

The first round draws its points uniformly in log space over the given ranges; each later round draws as many
in ranges narrowed around the best points so far (:func:`narrowed_ranges`). Trials run on a
:class:`concurrent.futures.Executor`: by default a local process pool on every core; :mod:`gdstudio.engine.cluster`
gives one on a Dask cluster, and any executor with ``submit`` works. Each trial is a plain function of plain data
(:func:`run_trial`): the config (with its seed), α and λ decide its numbers, whichever process or machine runs it.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import signal
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

from gdstudio.config import ConfigError, GDStudioError, TrainConfig
from gdstudio.data.dataset import Dataset

EDGE_FRACTION = 0.1
"""A best point within this fraction of the log range from an edge triggers the "widen the range" warning."""
FINE_TOP = 3
"""A later round's ranges are drawn around the best this many finished trials so far."""
FINE_MAX_WIDTH = 0.5
"""Each later round's range is at most this fraction of the round before's (in log space)..."""
FINE_MIN_WIDTH = 0.2
"""...and at least this fraction, so that it never shrinks to a point."""
ERROR = "error"
"""The status of a trial that raised (its ``message`` says why); the other trials go on."""


@dataclass(frozen=True)
class Trial:
    lr: float
    reg: float
    val_accuracy: float
    train_accuracy: float
    status: str
    round: int = 1
    message: str | None = None

    def to_dict(self) -> dict:
        return {"lr": self.lr, "reg": self.reg, "val_accuracy": self.val_accuracy,
                "train_accuracy": self.train_accuracy, "status": self.status, "round": self.round,
                "message": self.message}


def ignore_interrupts() -> None:
    """A process pool's initializer: Ctrl-C at a terminal reaches every process of its group; the sweep's own
    process cancels the trials and closes the pool, so its workers need not die with tracebacks of their own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def sample_points(count: int, lr_range, reg_range, seed=0) -> list[tuple[float, float]]:
    """``count`` (α, λ) pairs drawn uniformly in log space; ``seed`` is an int or a tuple of ints."""
    for name, (lo, hi) in (("lr", lr_range), ("reg", reg_range)):
        if not (0 < lo <= hi and math.isfinite(hi)):
            raise ConfigError(f"{name} range must be two positive numbers, low ≤ high; got {lo:g} {hi:g}")
    rng = np.random.default_rng(seed)
    lrs = 10 ** rng.uniform(np.log10(lr_range[0]), np.log10(lr_range[1]), count)
    regs = 10 ** rng.uniform(np.log10(reg_range[0]), np.log10(reg_range[1]), count)
    return [(float(a), float(r)) for a, r in zip(lrs, regs)]


def run_trial(config_dict: dict, data, lr: float, reg: float) -> Trial:
    """Train one (α, λ) point to the config's length; a diverged trial scores 0 validation accuracy.

    ``data`` is ``None`` (the data set loads by its name), the path of an archive or folder holding it, or the
    loaded :class:`Dataset` itself (on a Dask cluster: the one copy scattered to the workers).
    """
    from gdstudio.engine.session import Session

    config = TrainConfig.from_dict(config_dict).replace(lr=lr, reg=reg, threads=1)
    if isinstance(data, Dataset):
        session = Session(config, dataset=data)
    else:
        session = Session(config, data_path=data)
    last = None
    for last in session.run():
        pass
    if last.status == "diverged":
        return Trial(lr, reg, 0.0, 0.0, "diverged")
    return Trial(lr, reg, float(last.final["val_accuracy"]), float(last.final["train_accuracy"]), last.status)


def sweep(config: TrainConfig, count: int, lr_range, reg_range, seed: int = 0, data=None,
          executor: Executor | None = None, on_trial=None, rounds: int = 1, on_round=None,
          trial_function=run_trial) -> dict:
    """Run ``rounds`` rounds of ``count`` trials each, in parallel on ``executor``.

    Parameters
    ----------
    data
        What each trial receives to find the data set (see :func:`run_trial`): ``None``, a path or a Dataset.
    on_trial : callable, optional
        ``on_trial(trial)`` as each trial finishes, in this thread. An exception it raises (a ``KeyboardInterrupt``,
        a cancelled GUI job) ends the sweep: the trials not yet started are cancelled first.
    on_round : callable, optional
        ``on_round(number, lr_range, reg_range)`` as each round starts (numbered from 1).
    trial_function : callable
        :func:`run_trial`, or one with its signature (tests inject faults with it).

    Returns
    -------
    dict
        ``best`` (the finished trial with the highest validation accuracy), ``trials`` (every trial, by round,
        then α, then λ), ``warnings`` (the best point near an edge of the first round's ranges) and ``rounds``
        (each round's ``round``, ``lr_range``, ``reg_range`` and ``trials``).

    Raises
    ------
    GDStudioError
        When every trial failed (the first one's message).
    """
    own = executor is None
    if own:
        # spawn, not fork: a fork of a process whose Numba or Qt threads are running can deadlock
        executor = ProcessPoolExecutor(max_workers=min(count, os.cpu_count() or 1),
                                       mp_context=multiprocessing.get_context("spawn"), initializer=ignore_interrupts)
    base = config.to_dict()
    ranges = (tuple(lr_range), tuple(reg_range))
    done: list[Trial] = []
    records = []
    try:
        for number in range(1, rounds + 1):
            if number > 1:
                ranges = narrowed_ranges(done, *ranges)
            if on_round is not None:
                on_round(number, *ranges)
            points = sample_points(count, *ranges, seed=seed if number == 1 else (seed, number))
            finished = sorted(_run_round(executor, trial_function, base, data, points, number, on_trial),
                              key=_order)
            records.append({"round": number, "lr_range": ranges[0], "reg_range": ranges[1], "trials": finished})
            done.extend(finished)
    finally:
        if own:
            executor.shutdown(cancel_futures=True)
    scored = [t for t in done if t.status != ERROR]
    if not scored:
        raise GDStudioError(f"every trial of the sweep failed: {done[0].message}")
    best = max(scored, key=lambda t: t.val_accuracy)  # the first of equals in (round, α, λ) order: deterministic
    return {"best": best, "trials": done, "warnings": edge_warnings(best, lr_range, reg_range), "rounds": records}


def _order(trial: Trial):
    return trial.round, trial.lr, trial.reg


def _run_round(executor, trial_function, base, data, points, number, on_trial) -> list[Trial]:
    futures = {executor.submit(trial_function, base, data, lr, reg): (lr, reg) for lr, reg in points}
    finished = []
    try:
        for future in as_completed(futures):
            lr, reg = futures[future]
            try:
                trial = dataclasses.replace(future.result(), round=number)
            except Exception as exc:  # this trial's failure (or a worker lost too often): the others go on
                trial = Trial(lr, reg, 0.0, 0.0, ERROR, round=number, message=_one_line(exc))
            finished.append(trial)
            if on_trial is not None:
                on_trial(trial)
    finally:
        for future in futures:  # after an interruption the trials not yet started never start
            future.cancel()
    return finished


def _one_line(exc: Exception) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text if isinstance(exc, GDStudioError) and text else f"{type(exc).__name__}: {text}".rstrip(": ")


def narrowed_ranges(trials, lr_range, reg_range) -> tuple[tuple[float, float], tuple[float, float]]:
    """The next round's α and λ ranges: around the best ``FINE_TOP`` finished trials, inside the ranges given.

    On each axis (in log space) the range is centred on the best trial and reaches the farthest of the others,
    its width kept between ``FINE_MIN_WIDTH`` and ``FINE_MAX_WIDTH`` of the given range's, and shifted back
    inside that range when it sticks out. Without a finished trial the ranges stay as they are.
    """
    scored = sorted((t for t in trials if t.status == "ok"), key=lambda t: -t.val_accuracy)  # stable: ties keep order
    if not scored:
        return tuple(lr_range), tuple(reg_range)
    top = scored[:FINE_TOP]
    return _narrow([t.lr for t in top], lr_range), _narrow([t.reg for t in top], reg_range)


def _narrow(values, low_high) -> tuple[float, float]:
    low, high = math.log10(low_high[0]), math.log10(low_high[1])
    width = high - low
    best = math.log10(values[0])
    half = max(abs(math.log10(v) - best) for v in values)
    half = min(max(half, FINE_MIN_WIDTH * width / 2), FINE_MAX_WIDTH * width / 2)
    if best - half <= low:
        return float(low_high[0]), float(10 ** (low + 2 * half))
    if best + half >= high:
        return float(10 ** (high - 2 * half)), float(low_high[1])
    return float(10 ** (best - half)), float(10 ** (best + half))


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
