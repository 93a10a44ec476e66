"""MNIST and Fashion-MNIST from their four IDX files (gzipped, or not).

An IDX file is a big-endian header (magic, then one uint32 per dimension) followed by the raw bytes. Every
header is checked against the largest size its split may have before a byte of data is read, and the data must
then end exactly where the header says: a header that lies about its size never causes a large allocation.

Splits: train = the first 55,000 of the 60,000 training images, val = the last 5,000, test = the 10,000 t10k
images. Smaller files (test fixtures, subsets) are accepted; the validation split is then the same fraction of
the training images (1/12, rounded down, at least one), see :func:`gdstudio.data.dataset.holdout_size`.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from gdstudio.config import DataError
from gdstudio.data.archive import expect_end, open_maybe_gzip, read_exactly
from gdstudio.data.dataset import Dataset, holdout_size, split_tail

IMAGES_MAGIC = 2051
"""0x00000803: unsigned bytes, three dimensions (count, rows, columns)."""
LABELS_MAGIC = 2049
"""0x00000801: unsigned bytes, one dimension (count)."""
ROWS = COLS = 28
IMAGE_SHAPE = (ROWS, COLS, 1)
NUM_CLASSES = 10
TRAIN_TOTAL = 60_000
VAL_TOTAL = 5_000
TEST_TOTAL = 10_000

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
"""Base names of the four files; each may also be present with a ``.gz`` suffix."""

MNIST_CLASS_NAMES = tuple(str(d) for d in range(10))
FASHION_CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                       "Ankle boot")


def load_idx(path: Path, name: str, class_names: tuple[str, ...]) -> Dataset:
    """Load an MNIST-style data set from the folder ``path`` holding its four IDX files.

    Parameters
    ----------
    path : Path
        A folder with ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
        ``t10k-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]`` (or one of those files: its folder
        is used).
    name : str
        The registry name to give the data set (``mnist``, ``fashion-mnist``).
    class_names : tuple of 10 str

    Returns
    -------
    Dataset
        ``X_*`` of shape (N, 784), uint8; labels int32 in 0..9; ``image_shape=(28, 28, 1)``.

    Raises
    ------
    DataError
        If a file is missing, damaged or truncated, has the wrong magic or dimensions, disagrees with its
        partner about the count, or holds a label outside 0..9.
    """
    folder = path.parent if path.is_file() and _strip_gz(path.name) in FILES.values() else path
    if not folder.is_dir():
        raise DataError(f"{path}: expected a folder holding the four IDX files ({', '.join(FILES.values())})")
    X_full = read_idx_images(find_file(folder, FILES["train_images"]), TRAIN_TOTAL)
    y_full = read_idx_labels(find_file(folder, FILES["train_labels"]), TRAIN_TOTAL)
    X_test = read_idx_images(find_file(folder, FILES["test_images"]), TEST_TOTAL)
    y_test = read_idx_labels(find_file(folder, FILES["test_labels"]), TEST_TOTAL)
    for X, y, which in ((X_full, y_full, "train"), (X_test, y_test, "t10k")):
        if len(X) != len(y):
            raise DataError(f"{folder}: the {which} files disagree: {len(X):,} images but {len(y):,} labels")
    if len(y_full) < 2:
        raise DataError(f"{folder}: too few training images ({len(y_full)}) to split off a validation set")
    (X_train, y_train), (X_val, y_val) = split_tail(X_full, y_full, holdout_size(len(y_full), TRAIN_TOTAL,
                                                                                   VAL_TOTAL))
    return Dataset(X_train, y_train, X_val, y_val, X_test, y_test.astype(np.int32), class_names=class_names,
                   image_shape=IMAGE_SHAPE, name=name, max_value=255)


def find_file(folder: Path, base: str) -> Path:
    """``folder/base.gz`` if present, else ``folder/base``; :class:`DataError` naming both when neither is."""
    for candidate in (folder / f"{base}.gz", folder / base):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    raise DataError(f"{folder / base}.gz: file not found (nor {base} without .gz)")


def has_files(folder: Path) -> bool:
    """Whether ``folder`` holds all four IDX files, gzipped or not (by name only)."""
    return all((folder / f"{base}.gz").is_file() or (folder / base).is_file() for base in FILES.values())


def read_idx_images(path: Path, max_count: int) -> np.ndarray:
    """The images of an IDX3 file, as rows.

    Parameters
    ----------
    path : Path
        A gzipped or plain IDX file with magic 2051 and 28×28 images.
    max_count : int
        The most images this file may hold (60,000 or 10,000).

    Returns
    -------
    ndarray of shape (N, 784), uint8
    """
    with open_maybe_gzip(path) as file:
        magic, count, rows, cols = struct.unpack(">4I", read_exactly(file, 16, path, "the header"))
        if magic != IMAGES_MAGIC:
            raise DataError(f"{path}: not an IDX image file (magic {magic}, expected {IMAGES_MAGIC})")
        if (rows, cols) != (ROWS, COLS):
            raise DataError(f"{path}: images are {rows}×{cols}, expected {ROWS}×{COLS}")
        if not 0 < count <= max_count:
            raise DataError(f"{path}: the header announces {count:,} images; expected 1 to {max_count:,}")
        data = read_exactly(file, count * rows * cols, path, f"{count:,} images")
        expect_end(file, path)
    return np.frombuffer(data, dtype=np.uint8).reshape(count, rows * cols)


def read_idx_labels(path: Path, max_count: int) -> np.ndarray:
    """The labels of an IDX1 file.

    Returns
    -------
    ndarray of shape (N,), int32, values in 0..9
    """
    with open_maybe_gzip(path) as file:
        magic, count = struct.unpack(">2I", read_exactly(file, 8, path, "the header"))
        if magic != LABELS_MAGIC:
            raise DataError(f"{path}: not an IDX label file (magic {magic}, expected {LABELS_MAGIC})")
        if not 0 < count <= max_count:
            raise DataError(f"{path}: the header announces {count:,} labels; expected 1 to {max_count:,}")
        data = read_exactly(file, count, path, f"{count:,} labels")
        expect_end(file, path)
    labels = np.frombuffer(data, dtype=np.uint8)
    if labels.max() >= NUM_CLASSES:
        raise DataError(f"{path}: labels must lie in 0..9, found {labels.max()}")
    return labels.astype(np.int32)


def _strip_gz(name: str) -> str:
    return name.removesuffix(".gz")
