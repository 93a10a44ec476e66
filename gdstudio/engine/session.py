"""The training loop: one session owns W, b, the RNG, the history and the backend's buffers.

``Session.run()`` is a generator. Each ``next()`` runs one chunk (about ``CHUNK_SECONDS`` of work, sized from the
measured step time) and yields a small immutable :class:`~gdstudio.engine.progress.Progress`. The CLI prints
these; the GUI's worker turns them into signals. Changes of α, λ, batch size and loss are queued from any thread
and applied between chunks; stopping is cooperative.

Chunks end at fixed points (epoch ends, accuracy measurements, the step target), so the results do not depend on
how fast the machine is: same seed + same backend = the same weights and curves.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from pathlib import Path

import numpy as np

from gdstudio.config import (CHUNK_SECONDS, DIVERGENCE_FACTOR, DIVERGENCE_FLOOR, EVAL_COST_SHARE, EVAL_MAX_STEPS,
                             EVAL_SUBSET,
                             EVALS_PER_EPOCH, MAX_CHUNK_STEPS, SPLIT_SEED, ConfigError, TrainConfig, check_batch_size,
                             check_loss, check_lr, check_reg)
from gdstudio.data.dataset import Dataset
from gdstudio.engine.backends import STATUS_OK, make_backend, start_preparing
from gdstudio.engine.history import History
from gdstudio.engine.progress import DIVERGED, OK, RUNNING, STOPPED, Change, Curves, Progress
from gdstudio.engine.strategies import EVALUATIONS_PER_STEP, STRATEGY_CHUNKS

GENERIC_DEFAULTS = {"lr": 0.1, "reg": 1e-4, "batch_size": 64, "epochs": 10, "init_scale": 1e-3,
                    "preprocess": "unit"}
_CHECKS = {"lr": check_lr, "reg": check_reg, "batch_size": check_batch_size, "loss": check_loss}


def dataset_defaults(name: str) -> dict:
    """The training defaults of data set ``name`` (generic ones for a data set the registry doesn't know)."""
    from gdstudio.data.registry import DATASETS

    spec = DATASETS.get(name)
    return dict(spec.defaults) if spec is not None else dict(GENERIC_DEFAULTS)


def divergence_message(start: float, value: float, step: int, lr: float, reg: float) -> str:
    """Why a run diverged, naming the hyperparameter to lower."""
    what = f"loss went from {start:.3g} to {value:.3g} at step {step}: "
    if 2.0 * lr * reg >= 1.0:
        return what + (f"α·λ = {lr * reg:.3g} is too large (the L2 pull overshoots zero); "
                       f"lower --lr (try {lr / 10:g}) or --reg")
    return what + f"α = {lr:g} is too large; lower --lr (try {lr / 10:g})"


class Session:
    """One training run on one data set.

    Parameters
    ----------
    config : TrainConfig
        ``None`` fields take the data set's defaults (see ``session.config`` for the values in force).
    dataset : Dataset, optional
        Already loaded data; else loaded by ``config.dataset`` (and ``data_path``).
    data_path : str or Path, optional
        An archive or folder holding the data set (``--data``); for ``images``, the folder of class folders,
        decoded with the config's ``image_size`` and ``grey``.

    Attributes
    ----------
    data_path : str or None
        Where the data set was read from, as an absolute path, when a path was given; None: built in, or found
        without one (the cache, a system copy). A saved run records it, so that it finds its data again.
    """

    def __init__(self, config: TrainConfig, dataset: Dataset | None = None, data_path=None) -> None:
        self.config = config.with_defaults(dataset_defaults(config.dataset))
        # Numba's set-up (≈ 0.3 s in a fresh process) runs in a thread while the data load and the mean image are
        # computed here; both wait for it only where they need it (the import lock, Numba's compiler lock).
        preparing = start_preparing(config.backend)
        try:
            if dataset is None:
                from gdstudio.data.registry import load_dataset

                dataset = load_dataset(config.dataset, data_path, image_size=self.config.image_size,
                                       grey=self.config.grey)
            self.data_path = None if data_path is None else str(Path(data_path).expanduser().resolve())
            self.dataset = dataset
            self.preprocess = dataset.preprocess(self.config.preprocess)
            self.backend = make_backend(self.config.backend, dataset.X_train, dataset.y_train, self.preprocess,
                                        self.config.threads)
        finally:
            if preparing is not None:  # never left running: a process may be about to exit (a missing data set)
                preparing.join()
        self.lr = self.config.lr
        self.reg = self.config.reg
        self.batch_size = self.config.batch_size
        self.loss = self.config.loss
        self.strategy = self.config.strategy
        self.history = History()
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        subset = np.random.default_rng(SPLIT_SEED)
        self._train_subset = np.sort(subset.permutation(len(dataset.y_train))[:EVAL_SUBSET])
        self._val_subset = np.sort(subset.permutation(len(dataset.y_val))[:EVAL_SUBSET])
        # contiguous copies, made once: the live measurements read them every few chunks
        self._subsets = {"train": (dataset.X_train[self._train_subset], dataset.y_train[self._train_subset]),
                         "val": (dataset.X_val[self._val_subset], dataset.y_val[self._val_subset])}
        # Both subsets in one array, for backends whose chunk kernel measures the accuracy itself.
        self._measure_rows = (np.ascontiguousarray(np.concatenate([self._subsets["train"][0], self._subsets["val"][0]])),
                              np.ascontiguousarray(np.concatenate([self._subsets["train"][1], self._subsets["val"][1]]),
                                                   dtype=np.int32))
        self.measures_inside = getattr(self.backend, "measures_inside", False) and self.config.strategy == "sgd"
        self.next_orders = None
        self._ahead = None  # the buffer _draw_ahead shuffles into
        self.reset()

    # ----------------------------------------------------------------------------------------------------------
    # State

    def reset(self, seed: int | None = None) -> None:
        """New random ``W`` (``init_scale · randn``), zero ``b``, fresh RNG and history, from ``seed``.

        The new run starts from the hyperparameters in force, changes still queued included, as if it had been made
        with them: a change asked for before the reset is no live change of the new run."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for name, value in pending.items():
            setattr(self, name, value)
        self.config = self.config.replace(lr=self.lr, reg=self.reg, batch_size=self.batch_size, loss=self.loss,
                                          **({} if seed is None else {"seed": seed}))
        self.rng = np.random.default_rng(self.config.seed)
        C, D = self.dataset.num_classes, self.dataset.num_features
        dtype = self.backend.dtype
        self.W = (self.rng.standard_normal((C, D)) * self.config.init_scale).astype(dtype)
        self.b = np.zeros(C, dtype)
        self.order = self.rng.permutation(len(self.dataset.y_train)).astype(np.int64)
        self.position = 0
        self.epochs_done = 0
        self.step = 0
        self.examples_seen = 0
        self.evaluations = 0
        self.initial_loss: float | None = None
        self.status = RUNNING
        self.message = ""
        self.history = History()
        self._chunk_steps = 1
        self._stop.clear()

    @property
    def epoch(self) -> float:
        """Epochs done, fractional: full passes plus the part of the current pass."""
        return (self.epochs_done * len(self.order) + self.position) / len(self.order)

    @property
    def loss_limit(self) -> float:
        """Above this loss a run counts as diverged."""
        if self.initial_loss is None:
            return math.inf
        return max(DIVERGENCE_FACTOR * self.initial_loss, DIVERGENCE_FLOOR)

    def live_subset(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)``: the fixed rows of ``split`` (``"train"`` or ``"val"``) that the live accuracy is measured on
        (raw pixels, uint8; the backend preprocesses)."""
        return self._subsets[split]

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of ``(W, b)`` as float64."""
        return self.W.astype(np.float64), self.b.astype(np.float64)

    def set_weights(self, W: np.ndarray, b: np.ndarray) -> None:
        """Replace the weights (shapes must match the data set)."""
        if W.shape != self.W.shape or b.shape != self.b.shape:
            raise ConfigError(f"weights of shape {W.shape} do not fit this data set ({self.W.shape})")
        self.W[...] = W
        self.b[...] = b

    # ----------------------------------------------------------------------------------------------------------
    # Control, from any thread

    def request(self, **changes) -> None:
        """Queue changes of ``lr``, ``reg``, ``batch_size`` or ``loss``, applied before the next chunk.

        Each value is validated now (``ConfigError`` with a plain message), so a bad value never reaches a run.
        """
        checked = {}
        for name, value in changes.items():
            if name not in _CHECKS:
                raise ConfigError(f"{name} cannot be changed while training")
            checked[name] = _CHECKS[name](value)
        with self._lock:
            self._pending.update(checked)

    def configure(self, **values) -> None:
        """Set ``lr``, ``reg``, ``batch_size`` or ``loss`` before the first step, as if the run had started with
        them (no live change is recorded). After the first step use :meth:`request`."""
        if self.step:
            raise ConfigError("the run has started: change hyperparameters with request()")
        checked = {}
        for name, value in values.items():
            if name not in _CHECKS:
                raise ConfigError(f"{name} is not a hyperparameter that can be set here")
            checked[name] = _CHECKS[name](value)
        for name, value in checked.items():
            setattr(self, name, value)
        self.config = self.config.replace(**checked)
        self.initial_loss = None

    def set_target(self, epochs: float | None = None, steps: int | None = None) -> None:
        """Change where the run ends (total epochs or steps); validated like the config."""
        self.config = self.config.replace(epochs=epochs if epochs is not None else self.config.epochs,
                                          steps=steps, budget=None if (epochs or steps) else self.config.budget)

    def resume_after_divergence(self, lr: float, weights=None) -> None:
        """Carry on after a divergence with a smaller ``lr`` (recorded as a live change), from ``weights``
        ``(W, b)`` if given (e.g. the best ones seen) or else from the last finite ones."""
        lr = check_lr(lr)
        if weights is not None:
            self.set_weights(*weights)
        self.status = RUNNING
        self.message = ""
        self.request(lr=lr)

    def warm_up(self) -> None:
        """Compile (or load from Numba's cache) the kernels now, changing nothing: call it in a worker thread
        before the first Start so that the first chunk is not a multi-second compile."""
        self.evaluate("val", subset=True)
        self.backend.train_chunk(self.W.copy(), self.b.copy(), self.order, 0, 0, self.batch_size, self.lr,
                                 self.reg, self.loss, math.inf)

    def request_stop(self) -> None:
        """Ask the run to stop after the chunk in progress; its last record then says ``stopped``."""
        self._stop.set()

    def queued(self) -> dict:
        """The changes asked for with :meth:`request` and not applied yet (α typed while paused): a save keeps
        them, so that the resumed run applies them where this one would have."""
        with self._lock:
            return dict(self._pending)

    def apply_queued(self) -> tuple[Change, ...]:
        """Apply the queued changes now (each chunk starts so): marked as live changes at the current step."""
        with self._lock:
            pending, self._pending = self._pending, {}
        changes = []
        for name, value in pending.items():
            old = getattr(self, name)
            if value != old:
                setattr(self, name, value)
                changes.append(Change(self.step, name, old, value))
        if any(c.name == "loss" for c in changes):
            self.initial_loss = None  # the guard restarts from the new loss's scale
        self.history.changes.extend(changes)
        return tuple(changes)

    # ----------------------------------------------------------------------------------------------------------
    # Evaluation

    def evaluate(self, split: str, subset: bool = False, with_loss: bool = True) -> tuple[float, float]:
        """``(data loss, accuracy)`` of the current weights on a split (``subset``: the fixed live subset;
        ``with_loss=False``: accuracy only, the loss is NaN)."""
        X, y = self._subsets[split] if subset else self.dataset.split(split)
        loss, accuracy, _ = self.backend.evaluate(X, y, self.W, self.b, self.loss if with_loss else None)
        return loss, accuracy

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted classes of uint8 rows ``X`` (N, D)."""
        return self.backend.evaluate(X, np.zeros(len(X), np.int32), self.W, self.b, self.loss)[2]

    def final_metrics(self) -> dict:
        """Loss and accuracy of the current weights on the full train, validation and test splits."""
        metrics = {}
        for split in ("train", "val", "test"):
            loss, accuracy = self.evaluate(split)
            metrics[f"{split}_loss"] = loss
            metrics[f"{split}_accuracy"] = accuracy
        return metrics

    def _start_loss(self) -> float:
        data_loss, _ = self.evaluate("train", subset=True)
        return data_loss + self.reg * float(np.sum(np.square(self.W, dtype=np.float64)))

    # ----------------------------------------------------------------------------------------------------------
    # The loop

    def target_reached(self) -> bool:
        if self.config.budget is not None and self.config.steps is None:
            return self.evaluations >= self.config.budget
        if self.config.steps is not None:
            return self.step >= self.config.steps
        return self.epoch >= self.config.epochs - 1e-12

    def _steps_allowed(self) -> int:
        """The next chunk's length: from the measured speed, cut at the epoch end, the next accuracy
        measurement and the run's target."""
        N = len(self.order)
        B = self.batch_size
        this_epoch = math.ceil((N - self.position) / B)
        if self.measures_inside:  # the kernel measures and may run on across epoch boundaries
            n = self._chunk_steps
        else:  # a chunk ends at the epoch's end and where the accuracy is measured
            n = min(self._chunk_steps, this_epoch, self._eval_every() - self.step % self._eval_every())
        per_step = EVALUATIONS_PER_STEP[self.strategy]
        if self.config.budget is not None and self.config.steps is None:
            n = min(n, max(1, (self.config.budget - self.evaluations) // per_step))
        elif self.config.steps is not None:
            n = min(n, self.config.steps - self.step)
        else:
            target_examples = math.ceil(self.config.epochs * N - 1e-9) - self.epochs_done * N - self.position
            left = N - self.position
            if target_examples <= left:
                to_target = math.ceil(target_examples / B)
            else:  # the last batch of an epoch is short: count the rest of this one, then the next
                to_target = this_epoch + math.ceil((target_examples - left) / B)
            n = min(n, max(1, to_target))
        return max(1, n)

    def measure_arguments(self) -> tuple:
        """What a chunk kernel needs to measure the live accuracy at the usual steps itself."""
        X, y = self._measure_rows
        return X, y, len(self._train_subset), self._eval_every(), self.step

    def _eval_every(self) -> int:
        """Steps between live accuracy measurements: ``EVALS_PER_EPOCH`` a pass, within the cost share."""
        steps_per_epoch = math.ceil(len(self.order) / self.batch_size)
        measured_rows = len(self._train_subset) + len(self._val_subset)
        affordable = math.ceil(measured_rows / (2 * self.batch_size * EVAL_COST_SHARE))
        return max(1, min(EVAL_MAX_STEPS, max(steps_per_epoch // EVALS_PER_EPOCH, affordable)))

    def run(self, max_steps: int | None = None, weights_every: float | None = None):
        """Train until the target (``epochs``, ``steps`` or ``budget``), yielding one ``Progress`` per chunk.

        Parameters
        ----------
        max_steps : int, optional
            Return after this many steps of this call (the GUI's single step), without a final record unless
            the target is reached.
        weights_every : float, optional
            Attach a copy of ``(W, b)`` to a record at most this often, in seconds (0: every record).
        """
        if self.status in (DIVERGED,):
            return
        self.status = RUNNING
        done_this_call = 0
        last_weights = -math.inf
        while True:
            if max_steps is not None and done_this_call >= max_steps:
                return  # before applying requests: they would be applied but never reported
            changes = self.apply_queued()
            if self._stop.is_set():
                self._stop.clear()
                yield self._final(STOPPED, "stopped by request", changes)
                return
            if self.target_reached():
                yield self._final(OK, "", changes)
                return
            if self.position >= len(self.order):
                self.order = self.rng.permutation(len(self.order)).astype(np.int64)
                self.position = 0
                self.epochs_done += 1
            if self.initial_loss is None:
                self.initial_loss = self._start_loss()
            n = self._steps_allowed()
            if max_steps is not None:
                n = min(n, max_steps - done_this_call)
            drawn_from = None
            if self.measures_inside:
                drawn_from = self._draw_ahead(n)
            started = time.perf_counter()
            result = STRATEGY_CHUNKS[self.strategy](self, n)
            elapsed = time.perf_counter() - started
            curves = self._record(result)
            if drawn_from is not None:
                # Keep the shuffles the chunk used and undo the draws of those it did not reach, so the random
                # stream is exactly what it is when each shuffle is drawn at its epoch's start.
                if result.crossed:
                    self.order = self.next_orders[result.crossed - 1].copy()  # the buffer is drawn into again
                    self.epochs_done += result.crossed
                if result.crossed < len(self.next_orders):  # stopped early (diverged): replay the draws it used
                    self.rng.bit_generator.state = drawn_from
                    for _ in range(result.crossed):
                        self.rng.shuffle(self.next_orders[0])
            self.next_orders = None
            done_this_call += result.steps
            if result.steps:
                per_step = elapsed / result.steps
                self._chunk_steps = int(min(MAX_CHUNK_STEPS, max(1, CHUNK_SECONDS / max(per_step, 1e-9))))
            if result.status != STATUS_OK:
                value = float(result.loss[-1])
                # self.step counts the failing step (see _record): the step the message, the curves, the status
                # bar and the CLI's "steps" all name.
                self.message = divergence_message(self.initial_loss, value, self.step, self.lr, self.reg)
                final = self._final(DIVERGED, self.message, changes, curves)
                if not math.isfinite(value):  # not in the curves: the record says it, as the message does
                    final = dataclasses.replace(final, loss=value)
                yield final
                return
            measurements = self._measurements(result, curves)
            train_acc = val_acc = None
            if measurements:
                _, _, _, train_acc, val_acc = measurements[-1]
            weights = None
            if weights_every is not None and time.perf_counter() - last_weights >= weights_every:
                weights, last_weights = self.weights(), time.perf_counter()
            rate = result.batch.sum() / elapsed if elapsed > 0 else 0.0
            yield self._progress(curves, changes, train_acc, val_acc, weights, float(rate),
                                 result.steps / elapsed if elapsed > 0 else 0.0, measurements=measurements)

    def _draw_ahead(self, n: int) -> dict | None:
        """Draw the shuffles of the epochs that a chunk of ``n`` steps begins (``self.next_orders``, (K, N)), for a
        kernel that runs on across epoch boundaries; returns the RNG state before the draws (``None``: K = 0).

        A small data set then trains in chunks of many epochs (the digits: hundreds in 30 ms) instead of paying a
        chunk's Python overhead at every epoch. Each shuffle is ``rng.shuffle`` of ``0 … N − 1`` in a buffer kept
        between chunks, which is what ``rng.permutation(N)`` draws, without a new array per epoch."""
        N = len(self.order)
        B = self.batch_size
        left = math.ceil((N - self.position) / B)
        if n <= left:
            return None
        k = math.ceil((n - left) / math.ceil(N / B))
        if self._ahead is None or self._ahead.shape[0] < k or self._ahead.shape[1] != N:
            self._ahead = np.empty((max(k, 2 * (0 if self._ahead is None else self._ahead.shape[0])), N), np.int64)
            self._identity = np.arange(N, dtype=np.int64)
        state = self.rng.bit_generator.state
        orders = self._ahead[:k]
        for j in range(k):
            orders[j] = self._identity
            self.rng.shuffle(orders[j])
        self.next_orders = orders
        return state

    def _measurements(self, result, curves) -> tuple:
        """The chunk's live accuracy measurements (fixed steps: a resumed run measures where the original did),
        recorded in the history: from the kernel when it measured them, else measured now at the chunk's end."""
        found = []
        if result.measured is not None:
            first, second = result.measured
            n_train, n_val = len(self._train_subset), len(self._val_subset)
            for k in np.flatnonzero(first >= 0):
                found.append((int(curves.step[k]), float(curves.epoch[k]), int(curves.examples[k]),
                              first[k] / max(n_train, 1), second[k] / max(n_val, 1)))
        elif self.step % self._eval_every() == 0:
            train_acc = self.evaluate("train", subset=True, with_loss=False)[1]
            val_acc = self.evaluate("val", subset=True, with_loss=False)[1]
            found.append((self.step, self.epoch, self.examples_seen, train_acc, val_acc))
        if found:
            columns = list(zip(*found))
            self.history.evals.extend(step=np.array(columns[0], np.int64), epoch=np.array(columns[1]),
                                      examples=np.array(columns[2], np.int64), train_accuracy=np.array(columns[3]),
                                      val_accuracy=np.array(columns[4]))
        return tuple(found)

    def _record(self, result) -> Curves:
        """Advance the counters by a chunk's steps and append them to the history.

        A step that tripped the divergence guard counts as taken (its loss was computed, its update refused): the
        step counter, the position, the examples and the evaluations include it, so the run's last step, epoch and
        example count are those of the step that diverged, as the curves and the message say.
        """
        k = len(result.loss)
        batch = result.batch.astype(np.int64)
        N = len(self.order)
        steps = self.step + 1 + np.arange(k, dtype=np.int64)
        ends = self.position + np.cumsum(batch)
        epochs = (self.epochs_done * N + ends) / N  # integer numerator: the same bits whichever epoch a chunk began in
        examples = self.examples_seen + np.cumsum(batch)
        per_step = EVALUATIONS_PER_STEP[self.strategy]
        evaluations = self.evaluations + per_step * (1 + np.arange(k, dtype=np.int64))
        loss = result.loss.astype(np.float64)
        data_loss = result.data_loss.astype(np.float64)
        reg_loss = loss - data_loss
        accuracy = result.correct / np.maximum(batch, 1)
        # A non-finite loss (the step that tripped the guard) is reported in the message, never kept in the curves.
        kept = k if k == 0 or np.isfinite(loss[-1]) else k - 1
        if kept:
            self.history.steps.extend(step=steps[:kept], epoch=epochs[:kept], examples=examples[:kept],
                                      evaluations=evaluations[:kept], loss=loss[:kept], data_loss=data_loss[:kept],
                                      reg_loss=reg_loss[:kept], batch_accuracy=accuracy[:kept])
        done = result.steps
        counted = k if result.status != STATUS_OK else done
        if counted:
            self.step += counted
            # the kernel stops at the start of the failing batch
            self.position = result.position + (int(batch[-1]) if counted > done else 0)
            self.examples_seen += int(batch[:counted].sum())
            self.evaluations += per_step * counted
        columns = [a[:kept] for a in (steps, epochs, examples, evaluations, loss, data_loss, reg_loss, accuracy)]
        for array in columns:
            array.flags.writeable = False
        curves = Curves(*columns)
        return curves

    def _progress(self, curves, changes, train_acc, val_acc, weights, examples_rate, steps_rate,
                  status=RUNNING, message="", final=None, measurements=()) -> Progress:
        last = self.history.steps
        if curves is not None and len(curves.loss):
            loss, data_loss, reg_loss = curves.loss[-1], curves.data_loss[-1], curves.reg_loss[-1]
            batch_acc = curves.batch_accuracy[-1]
        elif len(last):
            loss, data_loss, reg_loss = (last.column(c)[-1] for c in ("loss", "data_loss", "reg_loss"))
            batch_acc = last.column("batch_accuracy")[-1]
        else:
            loss = data_loss = reg_loss = batch_acc = math.nan
        return Progress(step=self.step, epoch=self.epoch, examples_seen=self.examples_seen,
                        evaluations=self.evaluations, loss=float(loss), data_loss=float(data_loss),
                        reg_loss=float(reg_loss), batch_accuracy=float(batch_acc), lr=self.lr, reg=self.reg,
                        batch_size=self.batch_size, loss_name=self.loss, strategy=self.strategy,
                        backend=self.backend.name, examples_per_second=examples_rate, steps_per_second=steps_rate,
                        train_accuracy=train_acc, val_accuracy=val_acc, status=status, message=message,
                        curves=curves, changes=changes, weights=weights, final=final or {},
                        measurements=measurements)

    def _final(self, status, message, changes, curves=None, evaluate=True) -> Progress:
        self.status = status
        self.message = message
        final = self.final_metrics() if evaluate else {}
        final.update(status=status, steps=self.step, epoch=self.epoch)
        return self._progress(curves, changes, final.get("train_accuracy"), final.get("val_accuracy"),
                              self.weights(), 0.0, 0.0, status=status, message=message, final=final)
