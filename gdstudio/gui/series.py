"""The curves' data, without Qt: the GUI's copy of a run's history, smoothing and decimation for display.

:class:`RunCurves` appends each ``Progress`` record's per-step arrays to tables that grow by doubling and thin
out past a limit (:class:`gdstudio.engine.history.Table`, the same record the engine keeps), so memory stays
bounded however long a run lasts. Drawing never uses more than a few thousand points per curve: :func:`display`
reduces a column to min/max pairs per bin (the look of a noisy curve survives) and smooths bin means.
"""

from __future__ import annotations

import numpy as np

from gdstudio.engine.history import EVAL_COLUMNS, STEP_COLUMNS, Table
from gdstudio.engine.progress import RUNNING, Change, Progress

X_AXES = {"step": "steps", "epoch": "epochs", "examples": "examples seen", "evaluations": "loss evaluations"}
"""The x axes the plots offer: column name -> axis title. Loss evaluations compare strategies at equal cost (a
search step evaluates the loss twice, a gradient step once)."""
GUI_EVAL_COLUMNS = {**EVAL_COLUMNS, "evaluations": np.int64}
"""The accuracy measurements' columns, with the loss evaluations spent at each (the engine records steps, epochs
and examples; the evaluations are those of the step measured, from the step table)."""
DISPLAY_BINS = 600
"""Past ``2 · DISPLAY_BINS`` points a curve is drawn from this many bins (setData's cost grows with points)."""
GUI_HISTORY_LIMIT = 400_000
_EMA_BLOCK = 64


class RunCurves:
    """The curves of the run on screen: every step's losses, every accuracy measurement, every live change."""

    def __init__(self, limit: int = GUI_HISTORY_LIMIT) -> None:
        self.limit = limit
        self._listeners: list = []
        self.clear()

    def listen(self, callback) -> None:
        """Call ``callback()`` after every change of the data: whoever draws it can sleep until then (an idle
        window must not wake up to find nothing new, issue 17 item 6)."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    def clear(self) -> None:
        self.steps = Table(STEP_COLUMNS, self.limit)
        self.evals = Table(GUI_EVAL_COLUMNS, self.limit)
        self.changes: list[Change] = []
        # Grows on, also across a clear: back at 0, a view that had drawn revision 0 would miss the new run.
        self.revision = getattr(self, "revision", -1) + 1
        """Grows with every change of the data: views redraw when it differs from what they drew."""
        self.evals_revision = getattr(self, "evals_revision", -1) + 1
        """Grows with every change of the accuracy measurements (a few times an epoch): the accuracy plot need not
        be redrawn at every step."""
        self._changed()

    def add(self, record: Progress) -> None:
        """Append one record: see :meth:`add_many`."""
        self.add_many((record,))

    def add_many(self, records) -> None:
        """Append the records' steps, their accuracy measurements (live subsets only) and their live changes.

        One ``extend`` per batch: appending record by record cost more than drawing, at a thousand records a
        second.
        """
        chunks = [r.curves for r in records if r.curves is not None and len(r.curves.step)]
        if chunks:
            self.steps.extend(**{name: np.concatenate([getattr(c, name) for c in chunks])
                                 for name in STEP_COLUMNS})
        # Every live measurement of every chunk (a chunk may hold several). The last record's accuracies are on
        # the full splits: another quantity, shown in the status bar.
        measured = [m for r in records if r.status == RUNNING for m in r.measurements]
        if measured:
            step, epoch, examples, train, val = zip(*measured)
            step = np.array(step, np.int64)
            self.evals.extend(step=step, epoch=np.array(epoch), examples=np.array(examples, np.int64),
                              train_accuracy=np.array(train), val_accuracy=np.array(val),
                              evaluations=self._evaluations_at(step))
            self.evals_revision += 1
        for record in records:
            self.changes.extend(record.changes)
        self.revision += 1
        self._changed()

    def load(self, steps: dict, evals: dict, changes) -> None:
        """Replace everything with saved columns (``Table.as_dict()`` form) and changes."""
        self.clear()
        if len(steps.get("step", ())):
            self.steps.extend(**{name: np.asarray(steps[name]) for name in STEP_COLUMNS})
        if len(evals.get("step", ())):
            self.evals.extend(**{name: np.asarray(evals[name]) for name in EVAL_COLUMNS},
                              evaluations=self._evaluations_at(np.asarray(evals["step"])))
        self.changes = list(changes)
        self.revision += 1
        self.evals_revision += 1
        self._changed()

    def __len__(self) -> int:
        return len(self.steps)

    def _evaluations_at(self, steps: np.ndarray) -> np.ndarray:
        """Loss evaluations spent by each of ``steps`` (recorded, or between recorded steps: interpolated)."""
        if not len(self.steps) or not len(steps):
            return np.zeros(len(steps), np.int64)
        recorded = self.steps.column("step")
        # Only the rows around the measured steps (the last chunk's, usually): a long run's table is large.
        start = max(0, int(np.searchsorted(recorded, np.min(steps))) - 1)
        evaluations = np.interp(steps, recorded[start:], self.steps.column("evaluations")[start:])
        return np.round(evaluations).astype(np.int64)

    def x_of_step(self, step: int, axis: str) -> float:
        """Where step ``step`` lies on x axis ``axis`` (the last recorded step at or before it)."""
        if axis == "step" or not len(self.steps):
            return float(step) if axis == "step" else 0.0
        steps = self.steps.column("step")
        i = int(np.searchsorted(steps, step, side="right")) - 1
        return float(self.steps.column(axis)[i]) if i >= 0 else 0.0

    def rows(self) -> list[dict]:
        """One dict per recorded step, with train/val accuracy where measured (for CSV export)."""
        measured = {int(s): (t, v) for s, t, v in zip(self.evals.column("step"), self.evals.column("train_accuracy"),
                                                      self.evals.column("val_accuracy"))}
        columns = {name: self.steps.column(name) for name in STEP_COLUMNS}
        rows = []
        for i in range(len(self.steps)):
            row = {name: columns[name][i].item() for name in STEP_COLUMNS}
            row["train_accuracy"], row["val_accuracy"] = measured.pop(row["step"], (None, None))
            rows.append(row)
        return rows

    def snapshot(self, max_points: int = 2 * DISPLAY_BINS) -> dict:
        """Copies of the columns, thinned to at most about ``max_points`` rows each, for a pinned overlay."""
        return {"steps": _thin(self.steps.as_dict(), max_points), "evals": _thin(self.evals.as_dict(), max_points)}


def _thin(columns: dict, max_points: int) -> dict:
    n = len(columns["step"])
    if n <= max_points:
        return columns
    keep = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    return {name: values[keep] for name, values in columns.items()}


def finite_or_nan(values: np.ndarray) -> np.ndarray:
    """``values`` as float64 with inf replaced by NaN (pyqtgraph breaks the line there instead of scaling to it)."""
    values = np.asarray(values, dtype=np.float64)
    if np.isfinite(values).all():
        return values
    return np.where(np.isfinite(values), values, np.nan)


def forward_fill(values: np.ndarray) -> np.ndarray:
    """Non-finite entries replaced by the last finite one before them (the first finite one at the start)."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if finite.all() or not finite.any():
        return values
    index = np.where(finite, np.arange(len(values)), -1)
    np.maximum.accumulate(index, out=index)
    index[index < 0] = int(np.argmax(finite))
    return values[index]


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average ``s_t = w·s_{t−1} + (1 − w)·x_t`` with ``s_0 = x_0`` (no start-up bias).

    Vectorised in blocks of ``_EMA_BLOCK`` points: inside a block, ``s = K·x + w^(t+1)·s_before`` with the
    lower-triangular ``K[t, i] = (1 − w)·w^(t−i)``, so no power of ``w`` underflows.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Finite values (see :func:`forward_fill`).
    weight : float
        ``w`` in [0, 1); 0 returns the values unchanged.
    """
    x = np.asarray(values, dtype=np.float64)
    if weight <= 0 or len(x) < 2:
        return x.copy()
    w = float(min(weight, 0.999999))
    m = _EMA_BLOCK
    t = np.arange(m)
    lag = t[:, None] - t[None, :]
    K = np.where(lag >= 0, (1 - w) * w ** np.maximum(lag, 0), 0.0)
    carry = w ** (t + 1)
    out = np.empty_like(x)
    before = x[0]
    for lo in range(0, len(x), m):
        block = x[lo:lo + m]
        k = len(block)
        out[lo:lo + k] = K[:k, :k] @ block + carry[:k] * before
        before = out[lo + k - 1]
    return out


def display(x: np.ndarray, y: np.ndarray, smoothing: float = 0.0, bins: int = DISPLAY_BINS):
    """The points to draw for one curve: ``(x_raw, y_raw, x_smooth, y_smooth)``.

    Up to ``2 · bins`` points are drawn as they are. Beyond that, the raw curve becomes each bin's minimum and
    maximum (the band a noisy loss fills stays visible), drawn from the bin's first x to its last, and the smoothed
    curve is the EMA of bin means with the weight raised to the bin size (the same decay per step as the EMA of
    every point), each value at its bin's last x (an EMA is the state after the points it has seen). Both curves
    end at the last x: a plot drawn from them ends at the run's last point.
    """
    x = np.asarray(x, dtype=np.float64)
    y_raw = finite_or_nan(y)
    y_filled = forward_fill(y_raw)
    n = len(x)
    if n <= 2 * bins:
        return x, y_raw, x, ema(y_filled, smoothing)
    size = int(np.ceil(n / bins))
    starts = np.arange(0, n, size)
    lows = np.fmin.reduceat(y_raw, starts)
    highs = np.fmax.reduceat(y_raw, starts)
    counts = np.diff(np.append(starts, n))
    means = np.add.reduceat(y_filled, starts) / counts
    x_ends = x[starts + counts - 1]
    x_pairs = np.column_stack([x[starts], x_ends]).ravel()
    y_pairs = np.column_stack([lows, highs]).ravel()
    return x_pairs, y_pairs, x_ends, ema(means, smoothing ** size if smoothing > 0 else 0.0)
