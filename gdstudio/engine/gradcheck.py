"""The numerical gradient check: analytic gradient against finite differences, in float64.

Two finite differences, as the lecture writes them: the **forward** difference ``[L(W + h) − L(W)] / h``, whose
error falls like h, and the **centred** one ``[L(W + h) − L(W − h)] / 2h`` (the default), whose error falls like
h². :func:`h_sweep` shows both against h, in float64 as a practitioner computes them: each falls until rounding
(``ε·L / h``) takes over, the V every practitioner should see once. :func:`time_gradients` measures what the
lecture calls "very slow": one loss evaluation or two per entry, against one analytic gradient for all of them.

``relative error = |a − n| / max(|a| + |n|, 1e-8)`` per entry (0 where both are below ``GRADCHECK_ZERO``). The
losses for the differences are evaluated in extended precision (``np.longdouble``, 80-bit on x86): in float64 the
round-off of ``f(W + h) − f(W − h)`` alone is ≈ 1e-11, which would swamp the relative error of small gradient
entries. An SVM entry whose
perturbation ``±h`` moves some hinge term across its kink (``|s_j − s_y + Δ| ≤ h·|x_d|`` for an image the entry
touches) is flagged ``near_kink``: the loss is not differentiable there, so the numerical check is unreliable
and such entries are reported but left out of ``max_relative_error``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from gdstudio.config import GRADCHECK_GOOD, GRADCHECK_STEP, GRADCHECK_WRONG, GRADCHECK_ZERO, SVM_MARGIN
from gdstudio.kernels import reference

ALL_ENTRIES_UP_TO = 1000
"""Check every entry of W and b when there are at most this many; otherwise sample."""
METHODS = ("centred", "forward")
"""The finite differences: ``[L(W + h) − L(W − h)] / 2h`` and ``[L(W + h) − L(W)] / h``."""
LOSS_EVALUATIONS = {"centred": 2, "forward": 1}
"""Loss evaluations per entry (the forward difference also needs ``L(W)``, once for all entries)."""
SWEEP_STEPS = tuple(float(h) for h in np.logspace(-1, -10, 19))
"""The h-sweep's steps: 1e-1 down to 1e-10, two per decade."""
SWEEP_ENTRIES = 5
"""The h-sweep follows this many entries: those with the largest analytic gradient (a relative error of an entry
whose gradient is ~0 says nothing)."""
TIMING_BUDGET_S = 1.0
"""The timing differences entries for about this long; past it the time for all entries is extrapolated."""
CIFAR10_CLASSES, CIFAR10_FEATURES = 10, 3072
"""The W whose numerical gradient's time is extrapolated: CIFAR-10's, 10 × 3,072 (+ 10 biases)."""


@dataclass(frozen=True)
class Entry:
    param: str  # "W" or "b"
    index: tuple[int, ...]
    analytic: float
    numeric: float
    relative_error: float
    near_kink: bool

    @property
    def verdict(self) -> str:
        return verdict(self.relative_error)


@dataclass(frozen=True)
class GradCheck:
    loss: str
    reg: float
    h: float
    batch: int
    entries: list[Entry] = field(default_factory=list)
    method: str = "centred"

    @property
    def max_relative_error(self) -> float:
        """Largest relative error over the entries away from kinks."""
        errors = [e.relative_error for e in self.entries if not e.near_kink]
        return max(errors, default=0.0)

    @property
    def max_relative_error_all(self) -> float:
        return max((e.relative_error for e in self.entries), default=0.0)

    def to_dict(self) -> dict:
        return {"loss": self.loss, "reg": self.reg, "method": self.method, "h": self.h, "batch": self.batch,
                "max_relative_error": self.max_relative_error,
                "max_relative_error_with_kinks": self.max_relative_error_all,
                "verdict": verdict(self.max_relative_error),
                "near_kink": sum(e.near_kink for e in self.entries),
                "entries": [{"param": e.param, "index": list(e.index), "analytic": e.analytic, "numeric": e.numeric,
                             "relative_error": e.relative_error, "near_kink": e.near_kink, "verdict": e.verdict}
                            for e in self.entries]}


def verdict(relative_error: float) -> str:
    """The usual reading of a relative error: good < 1e-7 ≤ acceptable < 1e-4 ≤ suspicious < 1e-2 ≤ wrong."""
    if relative_error < GRADCHECK_GOOD:
        return "good"
    if relative_error < 1e-4:
        return "acceptable"
    if relative_error < GRADCHECK_WRONG:
        return "suspicious"
    return "wrong"


def _precise_loss(W, b, x, y, loss: str, reg: float):
    """The full loss in ``np.longdouble``, returned unrounded (the formulas of :mod:`reference`, wider)."""
    N = len(y)
    S = x @ W.T + b
    correct = S[np.arange(N), y]
    if loss == "svm":
        margins = np.maximum(0, S - correct[:, None] + SVM_MARGIN)
        data = (margins.sum() - N * SVM_MARGIN) / N  # the correct class's own term is exactly Δ
    else:
        top = S.max(axis=1)
        data = (np.log(np.exp(S - top[:, None]).sum(axis=1)) + top - correct).sum() / N
    return data + reg * (W * W).sum()


def _near_kinks(W, b, x, y, h) -> np.ndarray:
    """Boolean (C, D + 1) mask: W entries (and, in the last column, b entries) whose ±h step crosses a kink."""
    N, D = x.shape
    S = reference.scores(W, b, x)
    raw = S - S[np.arange(N), y][:, None] + SVM_MARGIN
    raw[np.arange(N), y] = np.inf  # the correct class has no hinge term of its own
    reach = h * np.abs(np.hstack([x, np.ones((N, 1))]))  # how far ±h on (c, d) moves each image's score s_c
    closest = np.abs(raw).min(axis=1)  # an entry of the correct class moves every margin of its image
    C = W.shape[0]
    mask = np.zeros((C, D + 1), bool)
    for c in range(C):
        own = y == c
        hits = np.where(own[:, None], closest[:, None] <= reach, np.abs(raw[:, c])[:, None] <= reach)
        mask[c] = hits.any(axis=0)
    return mask


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return method


def gradient_check(W, b, x, y, loss: str, reg: float, count: int | None = None, seed: int = 0,
                   h: float = GRADCHECK_STEP, method: str = "centred") -> GradCheck:
    """Compare the analytic gradient of ``reference.loss_and_grad`` with finite differences (extended precision).

    Parameters
    ----------
    W : ndarray of shape (C, D); b : ndarray of shape (C,) — the point to check at (copied, float64).
    x : ndarray of shape (N, D), float64 (preprocessed); y : ndarray of shape (N,), int.
    count : int, optional
        Entries to sample (W and b together); all of them when ``None`` and there are at most
        ``ALL_ENTRIES_UP_TO``.
    method : {"centred", "forward"}
        ``[L(W + h) − L(W − h)] / 2h`` or ``[L(W + h) − L(W)] / h``.
    """
    check_method(method)
    W, b, x, y = _float64_problem(W, b, x, y)
    C, D = W.shape
    _, dW, db = reference.loss_and_grad(W, b, x, y, loss, reg)
    wide = np.longdouble
    W_wide, b_wide, x_wide, reg_wide = W.astype(wide), b.astype(wide), x.astype(wide), wide(reg)
    total = C * (D + 1)
    if count is None and total <= ALL_ENTRIES_UP_TO:
        flat = np.arange(total)
    else:
        count = min(count or 100, total)
        flat = np.sort(np.random.default_rng(seed).choice(total, size=count, replace=False))
    kinks = _near_kinks(W, b, x, y, h) if loss == "svm" else np.zeros((C, D + 1), bool)
    base = _precise_loss(W_wide, b_wide, x_wide, y, loss, reg_wide) if method == "forward" else None
    entries = []
    for position in flat:
        c, d = divmod(int(position), D + 1)
        is_bias = d == D
        target, index = (b_wide, (c,)) if is_bias else (W_wide, (c, d))
        old = target[index]
        target[index] = old + wide(h)
        plus = _precise_loss(W_wide, b_wide, x_wide, y, loss, reg_wide)
        if method == "forward":
            target[index] = old
            numeric = float((plus - base) / wide(h))
        else:
            target[index] = old - wide(h)
            minus = _precise_loss(W_wide, b_wide, x_wide, y, loss, reg_wide)
            target[index] = old
            numeric = float((plus - minus) / (2 * wide(h)))
        analytic = float(db[c] if is_bias else dW[c, d])
        both_zero = abs(analytic) + abs(numeric) < GRADCHECK_ZERO
        error = 0.0 if both_zero else float(reference.relative_error(analytic, numeric))
        entries.append(Entry("b" if is_bias else "W", index, analytic, float(numeric), error, bool(kinks[c, d])))
    return GradCheck(loss=loss, reg=reg, h=h, batch=len(y), entries=entries, method=method)


def session_batch(session, batch: int = 100):
    """A session's weights and its first ``batch`` training images, preprocessed: ``(W, b, x, y)``."""
    X, y = session.dataset.X_train[:batch], session.dataset.y_train[:batch]
    W, b = session.weights()
    return W, b, session.preprocess.apply(X), y


def check_session(session, count: int | None = None, batch: int = 100, seed: int = 0,
                  method: str = "centred") -> GradCheck:
    """Gradient check at a session's current weights, on its first ``batch`` training images."""
    W, b, x, y = session_batch(session, batch)
    return gradient_check(W, b, x, y, session.loss, session.reg, count=count, seed=seed, method=method)


# ----------------------------------------------------------------------------------------------------------------
# The error against h, in float64


def _float64_difference(W, b, x, y, loss: str, reg: float, c: int, d: int, h: float, method: str,
                        base: float) -> float:
    """The finite difference of entry ``(c, d)`` (``d == D``: the bias ``b[c]``) in float64, as a practitioner
    computes it; ``W`` and ``b`` are restored."""
    target, index = (b, (c,)) if d == W.shape[1] else (W, (c, d))
    old = target[index]
    target[index] = old + h
    plus = reference.loss_parts(W, b, x, y, loss, reg)[0]
    if method == "forward":
        target[index] = old
        return (plus - base) / h
    target[index] = old - h
    minus = reference.loss_parts(W, b, x, y, loss, reg)[0]
    target[index] = old
    return (plus - minus) / (2.0 * h)


@dataclass(frozen=True)
class HSweep:
    """Relative errors of both finite differences against h, for a few entries.

    Attributes
    ----------
    steps : ndarray of shape (H,) — the h values, largest first.
    entries : list of (param, index) — the entries followed.
    errors : dict of method -> ndarray of shape (H, E), the relative error of each entry at each h.
    """

    loss: str
    reg: float
    batch: int
    steps: np.ndarray
    entries: list
    errors: dict

    def median(self, method: str) -> np.ndarray:
        """The median relative error over the entries at each h, shape (H,)."""
        return np.median(self.errors[method], axis=1)

    def best(self, method: str) -> tuple[float, float]:
        """``(h, median relative error)`` where the median is smallest: the bottom of the V."""
        median = self.median(method)
        k = int(np.argmin(median))
        return float(self.steps[k]), float(median[k])

    def to_dict(self) -> dict:
        return {"h": [float(h) for h in self.steps],
                "entries": [{"param": p, "index": list(i)} for p, i in self.entries],
                **{method: {"median_relative_error": [float(e) for e in self.median(method)],
                            "relative_errors": self.errors[method].tolist(),
                            "best_h": self.best(method)[0]} for method in self.errors}}


def h_sweep(W, b, x, y, loss: str, reg: float, steps=SWEEP_STEPS, count: int = SWEEP_ENTRIES,
            methods=METHODS) -> HSweep:
    """The relative error of each finite difference, evaluated in float64, against h, for the ``count`` entries
    of W and b with the largest analytic gradient.

    Parameters
    ----------
    W : ndarray of shape (C, D); b : ndarray of shape (C,); x : ndarray of shape (N, D), float64 (preprocessed);
    y : ndarray of shape (N,), int.
    steps : sequence of float — the h values.
    """
    W, b, x, y = _float64_problem(W, b, x, y)
    C, D = W.shape
    base, dW, db = reference.loss_and_grad(W, b, x, y, loss, reg)
    analytic = np.hstack([dW, db[:, None]]).ravel()  # row c: W[c, 0..D-1], then b[c]
    chosen = np.argsort(-np.abs(analytic), kind="stable")[:count]
    steps = np.asarray(steps, dtype=np.float64)
    errors = {}
    for method in methods:
        check_method(method)
        table = np.empty((len(steps), len(chosen)))
        for i, h in enumerate(steps):
            for j, position in enumerate(chosen):
                c, d = divmod(int(position), D + 1)
                numeric = _float64_difference(W, b, x, y, loss, reg, c, d, float(h), method, base)
                table[i, j] = float(reference.relative_error(analytic[position], numeric))
        errors[method] = table
    entries = [("b", (c,)) if d == D else ("W", (c, d)) for c, d in (divmod(int(p), D + 1) for p in chosen)]
    return HSweep(loss=loss, reg=reg, batch=len(y), steps=steps, entries=entries, errors=errors)


# ----------------------------------------------------------------------------------------------------------------
# How slow: the numerical gradient of every entry against one analytic gradient


@dataclass(frozen=True)
class GradientTiming:
    """Seconds for the numerical gradient of every entry (float64) against one analytic gradient.

    ``numerical_seconds`` is measured when ``timed_entries == entries``, else extrapolated from the entries timed;
    the ``cifar10_`` fields are extrapolated for a CIFAR-10-sized W (10 × 3,072 + 10) on the same batch size from
    single evaluations timed on a CIFAR-shaped batch.
    """

    method: str
    batch: int
    entries: int
    timed_entries: int
    analytic_seconds: float
    numerical_seconds: float
    cifar10_entries: int
    cifar10_analytic_seconds: float
    cifar10_numerical_seconds: float

    @property
    def measured(self) -> bool:
        return self.timed_entries == self.entries

    @property
    def evaluations(self) -> int:
        """Loss evaluations the numerical gradient of every entry takes."""
        return loss_evaluations(self.method, self.entries)

    @property
    def ratio(self) -> float:
        return self.numerical_seconds / max(self.analytic_seconds, 1e-12)

    @property
    def cifar10_ratio(self) -> float:
        return self.cifar10_numerical_seconds / max(self.cifar10_analytic_seconds, 1e-12)

    def to_dict(self) -> dict:
        return {"method": self.method, "batch": self.batch, "entries": self.entries,
                "timed_entries": self.timed_entries, "measured": self.measured, "evaluations": self.evaluations,
                "analytic_seconds": self.analytic_seconds, "numerical_seconds": self.numerical_seconds,
                "ratio": self.ratio,
                "cifar10": {"entries": self.cifar10_entries, "evaluations": loss_evaluations(self.method,
                                                                                             self.cifar10_entries),
                            "analytic_seconds": self.cifar10_analytic_seconds,
                            "numerical_seconds": self.cifar10_numerical_seconds, "ratio": self.cifar10_ratio}}


def format_seconds(value: float) -> str:
    """A duration as a person reads it: µs, ms, s, min or h."""
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    if value < 120:
        return f"{value:.3g} s"
    return f"{value / 60:.3g} min" if value < 7200 else f"{value / 3600:.3g} h"


def loss_evaluations(method: str, entries: int) -> int:
    return LOSS_EVALUATIONS[method] * entries + (1 if method == "forward" else 0)


def _seconds_per_call(*functions, least_s: float = 0.05, most: int = 1000, rounds: int = 5) -> list[float]:
    """Seconds per call of each of ``functions``: the best of ``rounds`` timings, each over enough calls to last
    about ``least_s``. The functions take turns round by round, so a busy spell on a shared machine slows them
    alike and their ratio stays honest."""
    counts = []
    for function in functions:
        calls = 1
        while True:
            started = time.perf_counter()
            for _ in range(calls):
                function()
            if time.perf_counter() - started >= least_s or calls >= most:
                break
            calls = min(most, calls * 4)
        counts.append(calls)
    best = [np.inf] * len(functions)
    for _ in range(rounds):
        for k, (function, calls) in enumerate(zip(functions, counts)):
            started = time.perf_counter()
            for _ in range(calls):
                function()
            best[k] = min(best[k], (time.perf_counter() - started) / calls)
    return best


def time_gradients(W, b, x, y, loss: str, reg: float, method: str = "centred", h: float = GRADCHECK_STEP,
                   budget_s: float = TIMING_BUDGET_S) -> GradientTiming:
    """Time the numerical gradient of every entry of W and b (float64, one loss evaluation or two per entry)
    against one analytic gradient (``reference.loss_and_grad``) on the same batch, here and for CIFAR-10's W.

    Entries are differenced in order for about ``budget_s``; the rest is extrapolated at the same pace.
    """
    check_method(method)
    W, b, x, y = _float64_problem(W, b, x, y)
    C, D = W.shape
    total = C * (D + 1)
    analytic, = _seconds_per_call(lambda: reference.loss_and_grad(W, b, x, y, loss, reg))
    started = time.perf_counter()
    base = reference.loss_parts(W, b, x, y, loss, reg)[0]
    timed = 0
    for position in range(total):
        c, d = divmod(position, D + 1)
        _float64_difference(W, b, x, y, loss, reg, c, d, h, method, base)
        timed += 1
        if time.perf_counter() - started >= budget_s:
            break
    elapsed = time.perf_counter() - started
    numerical = elapsed if timed == total else elapsed / timed * total
    # CIFAR-10's W on a batch as large: the same formulas, one evaluation of each timed on random numbers.
    rng = np.random.default_rng(0)
    big_W = 1e-3 * rng.standard_normal((CIFAR10_CLASSES, CIFAR10_FEATURES))
    big_b = np.zeros(CIFAR10_CLASSES)
    big_x = rng.standard_normal((len(y), CIFAR10_FEATURES))
    big_y = rng.integers(0, CIFAR10_CLASSES, len(y))
    big_analytic, big_loss = _seconds_per_call(lambda: reference.loss_and_grad(big_W, big_b, big_x, big_y, loss, reg),
                                               lambda: reference.loss_parts(big_W, big_b, big_x, big_y, loss, reg))
    big_entries = CIFAR10_CLASSES * (CIFAR10_FEATURES + 1)
    return GradientTiming(method=method, batch=len(y), entries=total, timed_entries=timed,
                          analytic_seconds=analytic, numerical_seconds=numerical, cifar10_entries=big_entries,
                          cifar10_analytic_seconds=big_analytic,
                          cifar10_numerical_seconds=big_loss * loss_evaluations(method, big_entries))


def _float64_problem(W, b, x, y) -> tuple:
    """Copies of ``W`` and ``b`` and views of ``x`` and ``y`` in float64 (int64 labels): the checks perturb ``W``
    and ``b`` in place and evaluate the reference loss in double precision."""
    return (np.array(W, dtype=np.float64), np.array(b, dtype=np.float64), np.asarray(x, dtype=np.float64),
            np.asarray(y, dtype=np.int64))
