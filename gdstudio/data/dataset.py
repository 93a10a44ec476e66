"""The in-memory data set record and its preprocessing record."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Preprocess:
    """How raw uint8 pixels become the classifier's input: ``x = (pixels - mean) * scale``.

    Applied inside the kernels, so the same raw images serve every run.

    Attributes
    ----------
    mean : ndarray of shape (D,), float32
        The mean image of the training split (zeros for no centring).
    scale : float
        Multiplier after centring (1 for raw pixels, 1/255 for pixels scaled to unit range).
    """

    mean: np.ndarray
    scale: float

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Preprocess rows of ``X`` (N, D) uint8 into float64, as the reference kernels want."""
        return (np.asarray(X, dtype=np.float64) - self.mean.astype(np.float64)) * float(self.scale)


@dataclass(frozen=True)
class Dataset:
    """Raw data of one data set, split three ways. Pixels stay uint8; labels are int32.

    Attributes
    ----------
    X_train, X_val, X_test : ndarray of shape (N, D), uint8
    y_train, y_val, y_test : ndarray of shape (N,), int32, values in ``range(len(class_names))``
    class_names : tuple of str
    image_shape : (H, W, channels) or None for data that are not images (``toy2d``)
    name : str
        The registry name (``digits``, ``cifar10`` ...).
    max_value : int
        The largest value a pixel can take (255, or 16 for the 8×8 digits); the ``unit`` preprocessing divides
        by it.
    notice : str
        One line the user should read about how the data were loaded (files an image folder skipped, and why),
        or ``""``. The CLI prints it on stderr; the window shows it in its status bar.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    image_shape: tuple | None
    name: str
    max_value: int = 255
    notice: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_features(self) -> int:
        return int(self.X_train.shape[1])

    def split(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of ``"train"``, ``"val"`` or ``"test"``."""
        return getattr(self, f"X_{which}"), getattr(self, f"y_{which}")

    def preprocess(self, kind: str) -> Preprocess:
        """The preprocessing record: mean image of the training split, and the scale ``kind`` asks for."""
        mean = self.X_train.mean(axis=0, dtype=np.float64).astype(np.float32)
        scale = 1.0 / self.max_value if kind == "unit" else 1.0
        return Preprocess(mean=mean, scale=scale)


def split_fixed(X: np.ndarray, y: np.ndarray, sizes: tuple[int, int, int], seed: int):
    """Split ``X, y`` into train/val/test of ``sizes`` after one permutation drawn from ``seed``."""
    order = np.random.default_rng(seed).permutation(len(y))
    n_train, n_val, _ = sizes
    parts = np.split(order, [n_train, n_train + n_val])
    return [(np.ascontiguousarray(X[p]), np.ascontiguousarray(y[p], dtype=np.int32)) for p in parts]


def holdout_size(n_available: int, full_size: int, full_holdout: int) -> int:
    """How many of the last ``n_available`` training-file examples become the validation split.

    The real files hold ``full_size`` training examples of which the last ``full_holdout`` are kept for
    validation (CIFAR-10: 1,000 of 50,000; MNIST: 5,000 of 60,000). Smaller files (test fixtures, subsets) keep
    the same fraction, rounded down, but at least one example, and always leave at least one for training.
    """
    if n_available < 2:
        raise ValueError(f"need at least 2 training examples to split off a validation set, got {n_available}")
    return min(max(1, n_available * full_holdout // full_size), n_available - 1)


def split_tail(X: np.ndarray, y: np.ndarray, n_val: int):
    """Split ``X, y`` into the first ``len(y) - n_val`` rows (train) and the last ``n_val`` rows (validation).

    Returns ``[(X_train, y_train), (X_val, y_val)]``; the parts are views of ``X`` (row slices stay contiguous)
    and ``y`` as int32.
    """
    cut = len(y) - n_val
    y = np.asarray(y, dtype=np.int32)
    return [(X[:cut], y[:cut]), (X[cut:], y[cut:])]
