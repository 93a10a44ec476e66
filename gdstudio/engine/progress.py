"""The small immutable records that a session yields: what the CLI prints and the GUI plots."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RUNNING, OK, DIVERGED, STOPPED = "running", "ok", "diverged", "stopped"


@dataclass(frozen=True)
class Change:
    """A live change of a hyperparameter, applied before ``step + 1``."""

    step: int
    name: str
    old: object
    new: object

    @property
    def label(self) -> str:
        symbol = {"lr": "α", "reg": "λ", "batch_size": "batch", "loss": "loss"}.get(self.name, self.name)
        value = f"{self.new:g}" if isinstance(self.new, float) else str(self.new)
        return f"{symbol} = {value}"


@dataclass(frozen=True)
class Curves:
    """Per-step values of one chunk (read-only arrays of equal length)."""

    step: np.ndarray
    epoch: np.ndarray
    examples: np.ndarray
    evaluations: np.ndarray
    loss: np.ndarray
    data_loss: np.ndarray
    reg_loss: np.ndarray
    batch_accuracy: np.ndarray


@dataclass(frozen=True)
class Progress:
    """The state of a run after one chunk.

    ``train_accuracy`` and ``val_accuracy`` are set only on chunks that measured them (on fixed subsets), else
    ``None``. ``weights`` is a copy of ``(W, b)`` when the consumer asked for it. ``status`` is ``running`` until
    the last record, which says ``ok``, ``diverged`` or ``stopped`` (with a ``message`` for people).
    """

    step: int
    epoch: float
    examples_seen: int
    evaluations: int
    loss: float
    data_loss: float
    reg_loss: float
    batch_accuracy: float
    lr: float
    reg: float
    batch_size: int
    loss_name: str
    strategy: str
    backend: str
    examples_per_second: float
    steps_per_second: float
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    status: str = RUNNING
    message: str = ""
    curves: Curves | None = None
    changes: tuple[Change, ...] = ()
    weights: tuple[np.ndarray, np.ndarray] | None = None
    final: dict = field(default_factory=dict)
    measurements: tuple = ()
    """Every live accuracy measurement of this chunk as ``(step, epoch, examples, train, val)``; the last one is
    also in ``train_accuracy`` / ``val_accuracy``."""
