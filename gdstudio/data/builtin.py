"""The data sets that need no download: the embedded 8×8 digits and the generated 2-D toy sets."""

from __future__ import annotations

import gzip
import io
from importlib import resources

import numpy as np

from gdstudio.config import SPLIT_SEED, DataError
from gdstudio.data.dataset import Dataset, split_fixed

DIGITS_RESOURCE = "digits.csv.gz"
DIGITS_COUNT = 1797
DIGITS_SPLIT = (1257, 270, 270)
DIGITS_MAX_VALUE = 16

TOY2D_KINDS = ("blobs", "spiral", "circles")
TOY2D_CLASSES = 3
TOY2D_MAX_VALUE = 255
TOY2D_FRACTIONS = (0.70, 0.15)
"""Train and validation fractions of the toy sets; the test split gets the rest (15 %)."""
TOY2D_MIN_PER_CLASS = 4
TOY2D_MAX_PER_CLASS = 1_000_000
TOY2D_EXTENT = 1.0
"""Generated points lie in [-TOY2D_EXTENT, TOY2D_EXTENT]², which maps linearly onto the 0..255 grid."""


def load_digits() -> Dataset:
    """The UCI 8×8 optical digits (Alpaydin & Kaynak, 1998; CC BY 4.0), embedded in ``gdstudio.resources``.

    Returns
    -------
    Dataset
        ``X_*`` of shape (N, 64), uint8 in 0..16 (``max_value=16``), ``image_shape=(8, 8, 1)``, class names
        ``"0"`` .. ``"9"``; train/val/test of 1,257/270/270 images, split once with ``SPLIT_SEED``.

    Raises
    ------
    DataError
        If the embedded file is missing or damaged (a broken install).
    """
    try:
        # importlib.resources reads the file from source, from a wheel and from a PyInstaller bundle alike.
        packed = resources.files("gdstudio.resources").joinpath(DIGITS_RESOURCE).read_bytes()
        table = np.loadtxt(io.StringIO(gzip.decompress(packed).decode("ascii")), delimiter=",", dtype=np.int64)
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as error:
        raise DataError(f"the embedded {DIGITS_RESOURCE} cannot be read ({error}); reinstall gdstudio") from error
    if table.shape != (DIGITS_COUNT, 65) or table.min() < 0 or table[:, :64].max() > DIGITS_MAX_VALUE \
            or table[:, 64].max() > 9:
        raise DataError(f"the embedded {DIGITS_RESOURCE} is damaged (shape {table.shape}); reinstall gdstudio")
    X = table[:, :64].astype(np.uint8)
    y = table[:, 64].astype(np.int32)
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = split_fixed(X, y, DIGITS_SPLIT, seed=SPLIT_SEED)
    return Dataset(X_train, y_train, X_val, y_val, X_test, y_test,
                   class_names=tuple(str(d) for d in range(10)), image_shape=(8, 8, 1), name="digits",
                   max_value=DIGITS_MAX_VALUE)


def toy2d_name(kind: str) -> str:
    """The registry name of a toy kind: ``toy2d`` for blobs, ``toy2d-spiral``, ``toy2d-circles``."""
    return "toy2d" if kind == "blobs" else f"toy2d-{kind}"


def make_toy2d(kind: str = "blobs", seed: int = 0, n_per_class: int = 100) -> Dataset:
    """Three classes of 2-D points, quantised onto a 256 × 256 grid so that they are uint8 like images.

    The points are drawn in [-1, 1]² and mapped linearly onto 0..255 (``max_value=255``), so the ``unit``
    preprocessing brings them back to a unit-sized square around the origin.

    Parameters
    ----------
    kind : {"blobs", "spiral", "circles"}
        Three Gaussian blobs; the three-armed spiral of the CS231n notes; three concentric rings.
    seed : int
        Seed of the points; the same seed gives the same bits.
    n_per_class : int
        Points per class, at least 4.

    Returns
    -------
    Dataset
        ``X_*`` of shape (N, 2), uint8; ``image_shape=None``; classes ``"class 0"`` .. ``"class 2"``; train/val/test
        are 70/15/15 % of the ``3 * n_per_class`` points, split with ``SPLIT_SEED``.

    Raises
    ------
    DataError
        If ``kind`` is unknown or ``n_per_class`` is out of range.
    """
    if kind not in TOY2D_KINDS:
        raise DataError(f"unknown toy2d kind {kind!r}; choose one of {', '.join(TOY2D_KINDS)}")
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) \
            or not TOY2D_MIN_PER_CLASS <= n_per_class <= TOY2D_MAX_PER_CLASS:
        raise DataError(f"n_per_class must be a whole number in [{TOY2D_MIN_PER_CLASS}, {TOY2D_MAX_PER_CLASS:,}],"
                        f" got {n_per_class!r}")
    rng = np.random.default_rng(seed)
    n = int(n_per_class)
    points = _TOY2D_MAKERS[kind](rng, n)
    X = _quantise(points)
    y = np.repeat(np.arange(TOY2D_CLASSES, dtype=np.int32), n)
    total = len(y)
    n_train = round(TOY2D_FRACTIONS[0] * total)
    n_val = round(TOY2D_FRACTIONS[1] * total)
    sizes = (n_train, n_val, total - n_train - n_val)
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = split_fixed(X, y, sizes, seed=SPLIT_SEED)
    return Dataset(X_train, y_train, X_val, y_val, X_test, y_test,
                   class_names=tuple(f"class {k}" for k in range(TOY2D_CLASSES)), image_shape=None,
                   name=toy2d_name(kind), max_value=TOY2D_MAX_VALUE)


def _quantise(points: np.ndarray) -> np.ndarray:
    """Map float points (N, 2) in [-1, 1] linearly onto uint8 0..255 (clipping the rare outlier)."""
    grid = np.rint((points + TOY2D_EXTENT) / (2 * TOY2D_EXTENT) * TOY2D_MAX_VALUE)
    return np.clip(grid, 0, TOY2D_MAX_VALUE).astype(np.uint8)


def _blobs(rng: np.random.Generator, n: int) -> np.ndarray:
    # Centres on a circle, 120° apart, with spread small enough that the blobs barely overlap.
    angles = np.deg2rad([90.0, 210.0, 330.0])
    centres = 0.55 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return np.concatenate([centre + 0.15 * rng.standard_normal((n, 2)) for centre in centres])


def _spiral(rng: np.random.Generator, n: int) -> np.ndarray:
    # The CS231n "spiral data": class k winds from the centre along angles 4k .. 4(k + 1), with angle noise.
    arms = []
    for k in range(TOY2D_CLASSES):
        radius = np.linspace(0.0, 0.95, n)
        angle = np.linspace(4.0 * k, 4.0 * (k + 1), n) + 0.2 * rng.standard_normal(n)
        arms.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
    return np.concatenate(arms)


def _circles(rng: np.random.Generator, n: int) -> np.ndarray:
    # Concentric rings: no straight line separates them, which is the lesson of this set.
    rings = []
    for radius in (0.25, 0.55, 0.85):
        angle = rng.uniform(0.0, 2.0 * np.pi, n)
        r = radius + 0.05 * rng.standard_normal(n)
        rings.append(np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1))
    return np.concatenate(rings)


_TOY2D_MAKERS = {"blobs": _blobs, "spiral": _spiral, "circles": _circles}
