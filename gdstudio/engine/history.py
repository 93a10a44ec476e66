"""Bounded history of a run: every step until a limit, then every 2nd, 4th ... (decimation)."""

from __future__ import annotations

import numpy as np

from gdstudio.config import HISTORY_LIMIT


class Table:
    """Columns of equal length that grow by doubling and decimate past ``limit`` rows.

    Rows are kept when their ``step`` is a multiple of the current ``stride``; when the table reaches ``limit``
    rows, every other row is dropped and the stride doubles. So memory stays bounded, the kept points are evenly
    spaced, and the same steps give the same table however the steps were chunked.
    """

    def __init__(self, columns: dict[str, type], limit: int = HISTORY_LIMIT) -> None:
        self.limit = max(2, int(limit))
        self.stride = 1
        self.size = 0
        self._data = {name: np.empty(64, dtype) for name, dtype in columns.items()}

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._data)

    def __len__(self) -> int:
        return self.size

    def column(self, name: str) -> np.ndarray:
        """A read-only view of one column's kept rows."""
        view = self._data[name][: self.size]
        view.flags.writeable = False
        return view

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: self.column(name).copy() for name in self._data}

    def extend(self, **values) -> None:
        """Append rows; ``values`` maps every column to an array (or scalar) of the same length."""
        steps = np.atleast_1d(np.asarray(values["step"]))
        if self.stride == 1:  # the common case: keep every row, no masks
            rows = {name: np.broadcast_to(values[name], steps.shape) if np.ndim(values[name]) == 0 else values[name]
                    for name in self._data}
        else:
            keep = steps % self.stride == 0
            if not keep.any():
                return
            rows = {name: np.broadcast_to(np.atleast_1d(values[name]), steps.shape)[keep] for name in self._data}
        n = len(rows["step"])
        while self.size + n > self.limit:
            self._halve()
            rows = {name: col[rows["step"] % self.stride == 0] for name, col in rows.items()}
            n = len(rows["step"])
        self._reserve(self.size + n)
        for name, col in rows.items():
            self._data[name][self.size:self.size + n] = col
        self.size += n

    def _halve(self) -> None:
        self.stride *= 2
        keep = self._data["step"][: self.size] % self.stride == 0
        for name, col in self._data.items():
            kept = col[: self.size][keep]
            col[: len(kept)] = kept
        self.size = int(keep.sum())

    def _reserve(self, size: int) -> None:
        capacity = len(self._data["step"])
        if size <= capacity:
            return
        while capacity < size:
            capacity *= 2
        for name, col in self._data.items():
            grown = np.empty(capacity, col.dtype)
            grown[: self.size] = col[: self.size]
            self._data[name] = grown

    def truncate(self, step: int) -> None:
        """Drop rows after ``step`` (used when a run is reset to an earlier state)."""
        self.size = int(np.searchsorted(self._data["step"][: self.size], step, side="right"))


STEP_COLUMNS = {"step": np.int64, "epoch": np.float64, "examples": np.int64, "evaluations": np.int64,
                "loss": np.float64, "data_loss": np.float64, "reg_loss": np.float64, "batch_accuracy": np.float64}
EVAL_COLUMNS = {"step": np.int64, "epoch": np.float64, "examples": np.int64, "train_accuracy": np.float64,
                "val_accuracy": np.float64}


class History:
    """The per-step curves, the accuracy measurements and the live changes of one run."""

    def __init__(self, limit: int = HISTORY_LIMIT) -> None:
        self.steps = Table(STEP_COLUMNS, limit)
        self.evals = Table(EVAL_COLUMNS, limit)
        self.changes: list[dict] = []

    def metrics_rows(self) -> list[dict]:
        """One dict per recorded step, with train/val accuracy where they were measured (else None).

        A measurement whose step was decimated out of the step table gets a row of its own, without losses.
        """
        steps = self.steps.as_dict()
        measured = {int(s): (float(t), float(v)) for s, t, v in zip(
            self.evals.column("step"), self.evals.column("train_accuracy"), self.evals.column("val_accuracy"))}
        eval_examples = dict(zip(self.evals.column("step").tolist(), self.evals.column("examples").tolist()))
        rows = []
        for i in range(len(self.steps)):
            step = int(steps["step"][i])
            train, val = measured.pop(step, (None, None))
            rows.append({"step": step, "epoch": float(steps["epoch"][i]), "loss": float(steps["loss"][i]),
                         "data_loss": float(steps["data_loss"][i]), "reg_loss": float(steps["reg_loss"][i]),
                         "batch_accuracy": float(steps["batch_accuracy"][i]),
                         "train_accuracy": train, "val_accuracy": val, "examples": int(steps["examples"][i]),
                         "evaluations": int(steps["evaluations"][i])})
        epochs = dict(zip(self.evals.column("step").tolist(), self.evals.column("epoch").tolist()))
        for step, (train, val) in measured.items():
            rows.append({"step": step, "epoch": epochs[step], "loss": None, "data_loss": None, "reg_loss": None,
                         "batch_accuracy": None, "train_accuracy": train, "val_accuracy": val,
                         "examples": eval_examples[step], "evaluations": None})
        rows.sort(key=lambda row: row["step"])
        return rows
