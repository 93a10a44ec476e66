"""The numerical gradient check: analytic gradient against central differences, in float64.

``relative error = |a − n| / max(|a| + |n|, 1e-8)`` per entry (0 where both are below ``GRADCHECK_ZERO``). The
losses for the differences are evaluated in extended precision (``np.longdouble``, 80-bit on x86): in float64 the
round-off of ``f(W + h) − f(W − h)`` alone is ≈ 1e-11, which would swamp the relative error of small gradient
entries. An SVM entry whose
perturbation ``±h`` moves some hinge term across its kink (``|s_j − s_y + Δ| ≤ h·|x_d|`` for an image the entry
touches) is flagged ``near_kink``: the loss is not differentiable there, so the numerical check is unreliable
and such entries are reported but left out of ``max_relative_error``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gdstudio.config import GRADCHECK_GOOD, GRADCHECK_STEP, GRADCHECK_WRONG, GRADCHECK_ZERO, SVM_MARGIN
from gdstudio.kernels import reference

ALL_ENTRIES_UP_TO = 1000
"""Check every entry of W and b when there are at most this many; otherwise sample."""


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

    @property
    def max_relative_error(self) -> float:
        """Largest relative error over the entries away from kinks."""
        errors = [e.relative_error for e in self.entries if not e.near_kink]
        return max(errors, default=0.0)

    @property
    def max_relative_error_all(self) -> float:
        return max((e.relative_error for e in self.entries), default=0.0)

    def to_dict(self) -> dict:
        return {"loss": self.loss, "reg": self.reg, "h": self.h, "batch": self.batch,
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


def gradient_check(W, b, x, y, loss: str, reg: float, count: int | None = None, seed: int = 0,
                   h: float = GRADCHECK_STEP) -> GradCheck:
    """Compare the analytic gradient of ``reference.loss_and_grad`` with central differences.

    Parameters
    ----------
    W : ndarray of shape (C, D); b : ndarray of shape (C,) — the point to check at (copied, float64).
    x : ndarray of shape (N, D), float64 (preprocessed); y : ndarray of shape (N,), int.
    count : int, optional
        Entries to sample (W and b together); all of them when ``None`` and there are at most
        ``ALL_ENTRIES_UP_TO``.
    """
    W = np.array(W, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
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
    entries = []
    for position in flat:
        c, d = divmod(int(position), D + 1)
        is_bias = d == D
        target, index = (b_wide, (c,)) if is_bias else (W_wide, (c, d))
        old = target[index]
        target[index] = old + wide(h)
        plus = _precise_loss(W_wide, b_wide, x_wide, y, loss, reg_wide)
        target[index] = old - wide(h)
        minus = _precise_loss(W_wide, b_wide, x_wide, y, loss, reg_wide)
        target[index] = old
        numeric = float((plus - minus) / (2 * wide(h)))
        analytic = float(db[c] if is_bias else dW[c, d])
        both_zero = abs(analytic) + abs(numeric) < GRADCHECK_ZERO
        error = 0.0 if both_zero else float(reference.relative_error(analytic, numeric))
        entries.append(Entry("b" if is_bias else "W", index, analytic, float(numeric), error, bool(kinks[c, d])))
    return GradCheck(loss=loss, reg=reg, h=h, batch=len(y), entries=entries)


def check_session(session, count: int | None = None, batch: int = 100, seed: int = 0) -> GradCheck:
    """Gradient check at a session's current weights, on its first ``batch`` training images."""
    X, y = session.dataset.X_train[:batch], session.dataset.y_train[:batch]
    W, b = session.weights()
    return gradient_check(W, b, session.preprocess.apply(X), y, session.loss, session.reg, count=count, seed=seed)
