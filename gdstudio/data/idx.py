"""MNIST and Fashion-MNIST from their four IDX files (gzipped, or not).

An IDX file is a big-endian header (magic, then one uint32 per dimension) followed by the raw bytes. Every
header is checked against the largest size its split may have before a byte of data is read, and the data must
then end exactly where the header says: a header that lies about its size never causes a large allocation.

Splits: train = the first 55,000 of the 60,000 training images, val = the last 5,000, test = the 10,000 t10k
images. Smaller files (test fixtures, subsets) are accepted; the validation split is then the same fraction of
the training images (1/12, rounded down, at least one), see :func:`gdstudio.data.dataset.holdout_size`.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import os
import struct
from pathlib import Path

import numpy as np

from gdstudio.config import DataError
from gdstudio.data.archive import expect_end, open_maybe_gzip, read_exactly
from gdstudio.data.dataset import Dataset, holdout_size, split_tail
from gdstudio.data.decoded import DecodedCopies, identity

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

FASHION_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
"""SHA-256 of each decompressed Fashion-MNIST file (header and data), recorded 2026-12-01 from Debian's
``dataset-fashion-mnist`` (whose images are the upstream ones; only the ``.gz`` wrapping differs). A copy is
recognised by these, whoever compressed it."""

IDENTIFY_MIN_IMAGES = 1_000
"""Below this many training images (test fixtures, subsets) the pixel statistics do not name a data set."""

MNIST_CLASS_NAMES = tuple(str(d) for d in range(10))
FASHION_CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                       "Ankle boot")


def load_idx(path: Path, name: str, class_names: tuple[str, ...],
             expected_sha256: dict[str, str] | None = None, decoded: Path | None = None) -> Dataset:
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
    expected_sha256 : dict, optional
        ``base name -> SHA-256`` of each decompressed file: the copy must hold exactly these bytes (a system
        copy, checked by content rather than by its ``.gz`` bytes).
    decoded : Path, optional
        A folder for decompressed copies of the ``.gz`` files (:mod:`gdstudio.data.decoded`): read instead of
        the source when they match it, written after a load that decompressed. The checks are the same either
        way (every byte is hashed on every load).

    Returns
    -------
    Dataset
        ``X_*`` of shape (N, 784), uint8; labels int32 in 0..9; ``image_shape=(28, 28, 1)``.

    Raises
    ------
    DataError
        If a file is missing, damaged or truncated, has the wrong magic or dimensions, disagrees with its
        partner about the count, holds a label outside 0..9, differs from ``expected_sha256``, or holds the
        other data set of the two (MNIST's digits asked for as Fashion-MNIST, or the reverse).
    """
    folder = path.parent if path.is_file() and _strip_gz(path.name) in FILES.values() else path
    if not folder.is_dir():
        raise DataError(f"{path}: expected a folder holding the four IDX files ({', '.join(FILES.values())})")
    digests: dict[str, str] = {}
    copies = DecodedCopies(decoded) if decoded is not None else None
    expected = expected_sha256 or {}

    def read(key, reader, limit):
        return _read_via_copy(find_file(folder, FILES[key]), reader, limit, digests, expected, copies)

    X_full = read("train_images", read_idx_images, TRAIN_TOTAL)
    _check_identity(folder, name, identify(X_full, digests.get(FILES["train_images"])))
    y_full = read("train_labels", read_idx_labels, TRAIN_TOTAL)
    X_test = read("test_images", read_idx_images, TEST_TOTAL)
    y_test = read("test_labels", read_idx_labels, TEST_TOTAL)
    for base, digest in (expected_sha256 or {}).items():
        if digests.get(base) != digest:
            raise DataError(f"{find_file(folder, base)}: its content is not the published {_TITLES[name]} "
                            "(SHA-256 of the decompressed file differs): the copy is damaged or altered")
    for X, y, which in ((X_full, y_full, "train"), (X_test, y_test, "t10k")):
        if len(X) != len(y):
            raise DataError(f"{folder}: the {which} files disagree: {len(X):,} images but {len(y):,} labels")
    if len(y_full) < 2:
        raise DataError(f"{folder}: too few training images ({len(y_full)}) to split off a validation set")
    (X_train, y_train), (X_val, y_val) = split_tail(X_full, y_full, holdout_size(len(y_full), TRAIN_TOTAL,
                                                                                   VAL_TOTAL))
    if copies is not None:
        copies.store()  # only now: a set that fails a check is never kept
    return Dataset(X_train, y_train, X_val, y_val, X_test, y_test.astype(np.int32), class_names=class_names,
                   image_shape=IMAGE_SHAPE, name=name, max_value=255)


_TITLES = {"mnist": "MNIST (handwritten digits)", "fashion-mnist": "Fashion-MNIST (clothing)"}


def _read_via_copy(source: Path, reader, limit: int, digests: dict[str, str], expected: dict[str, str],
                   copies: DecodedCopies | None) -> np.ndarray:
    """``reader(source, limit, digests)``, from the decompressed copy of ``source`` when ``copies`` has one that
    passes every check; a gzipped source read here is queued in ``copies``."""
    base = _strip_gz(source.name)
    if copies is None or source.name == base:  # nothing to keep for an uncompressed file: it is mapped
        return reader(source, limit, digests)
    copy = copies.find(source, base)
    if copy is not None:
        found: dict[str, str] = {}
        try:
            array = reader(copy, limit, found)
        except DataError:
            array = None
        if array is not None and (base not in expected or found.get(base) == expected[base]):
            digests.update(found)
            return array
        copies.discard(copy)  # damaged or altered: read the source again
    version = identity(source)
    kept: list[bytes] = []
    array = reader(source, limit, digests, kept)
    copies.add(source, version, base, tuple(kept))
    return array


def identify(X: np.ndarray, train_images_sha256: str | None = None) -> str | None:
    """Which of the two look-alike data sets the training images ``X`` (N, 784) hold: by content, not by name.

    Returns ``"fashion-mnist"`` when the decompressed training-images file is the published Fashion-MNIST one;
    else, with at least :data:`IDENTIFY_MIN_IMAGES` images, what their pixels say: MNIST's digits are thin
    strokes on black (about 81 % of the pixels are 0, mean ≈ 0.13 of full scale), Fashion-MNIST's clothes are
    filled shapes (about 50 % zeros, mean ≈ 0.29). ``None`` when neither is clear (fixtures, other data).
    """
    if train_images_sha256 == FASHION_SHA256[FILES["train_images"]]:
        return "fashion-mnist"
    if len(X) < IDENTIFY_MIN_IMAGES:
        return None
    sample = X[:: max(1, len(X) // 10_000)]  # 10,000 images tell as well as 60,000
    zeros = float(np.count_nonzero(sample == 0)) / sample.size
    mean = float(sample.mean()) / 255.0
    if zeros >= 0.70 and mean <= 0.20:
        return "mnist"
    if zeros <= 0.62 and 0.22 <= mean <= 0.36:
        return "fashion-mnist"
    return None


def _check_identity(folder: Path, name: str, found: str | None) -> None:
    if found is not None and name in _TITLES and found != name:
        raise DataError(f"{folder}: these files hold {_TITLES[found]}, not {_TITLES[name]}; "
                        f"use --dataset {found}")


def find_file(folder: Path, base: str) -> Path:
    """``folder/base.gz`` if present, else ``folder/base``; :class:`DataError` naming both when neither is."""
    for candidate in (folder / f"{base}.gz", folder / base):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    raise DataError(f"{folder / base}.gz: file not found (nor {base} without .gz)")


def has_files(folder: Path) -> bool:
    """Whether ``folder`` holds all four IDX files, gzipped or not (by name only)."""
    return all((folder / f"{base}.gz").is_file() or (folder / base).is_file() for base in FILES.values())


def read_idx_images(path: Path, max_count: int, digests: dict[str, str] | None = None,
                    kept: list | None = None) -> np.ndarray:
    """The images of an IDX3 file, as rows.

    Parameters
    ----------
    path : Path
        A gzipped or plain IDX file with magic 2051 and 28×28 images.
    max_count : int
        The most images this file may hold (60,000 or 10,000).
    digests : dict, optional
        Receives ``base name -> SHA-256`` of the decompressed file (header and data).
    kept : list, optional
        Receives the header and the data, as read (to keep a decompressed copy).

    Returns
    -------
    ndarray of shape (N, 784), uint8, read-only (an uncompressed file is memory-mapped, not read)
    """
    with open_maybe_gzip(path) as file:
        header = read_exactly(file, 16, path, "the header")
        magic, count, rows, cols = struct.unpack(">4I", header)
        if magic != IMAGES_MAGIC:
            raise DataError(f"{path}: not an IDX image file (magic {magic}, expected {IMAGES_MAGIC})")
        if (rows, cols) != (ROWS, COLS):
            raise DataError(f"{path}: images are {rows}×{cols}, expected {ROWS}×{COLS}")
        if not 0 < count <= max_count:
            raise DataError(f"{path}: the header announces {count:,} images; expected 1 to {max_count:,}")
        data = _read_data(file, len(header), count * rows * cols, path, f"{count:,} images")
    _record_digest(digests, path, header, data)
    if kept is not None:
        kept.extend((header, data))
    return np.frombuffer(data, dtype=np.uint8).reshape(count, rows * cols)


def read_idx_labels(path: Path, max_count: int, digests: dict[str, str] | None = None,
                    kept: list | None = None) -> np.ndarray:
    """The labels of an IDX1 file.

    Returns
    -------
    ndarray of shape (N,), int32, values in 0..9
    """
    with open_maybe_gzip(path) as file:
        header = read_exactly(file, 8, path, "the header")
        magic, count = struct.unpack(">2I", header)
        if magic != LABELS_MAGIC:
            raise DataError(f"{path}: not an IDX label file (magic {magic}, expected {LABELS_MAGIC})")
        if not 0 < count <= max_count:
            raise DataError(f"{path}: the header announces {count:,} labels; expected 1 to {max_count:,}")
        data = _read_data(file, len(header), count, path, f"{count:,} labels")
    _record_digest(digests, path, header, data)
    if kept is not None:
        kept.extend((header, data))
    labels = np.frombuffer(data, dtype=np.uint8)
    if labels.max() >= NUM_CLASSES:
        raise DataError(f"{path}: labels must lie in 0..9, found {labels.max()}")
    return labels.astype(np.int32)


def _read_data(file, offset: int, size: int, path: Path, what: str):
    """The ``size`` bytes after the header, and nothing more: read from a gzip stream, memory-mapped (read-only,
    nothing copied) from an uncompressed file."""
    if not isinstance(file, io.BufferedReader):
        data = read_exactly(file, size, path, what)
        expect_end(file, path)
        return data
    available = os.fstat(file.fileno()).st_size - offset
    if available < size:
        raise DataError(f"{path}: truncated: {what} needs {size:,} bytes, the file has {max(available, 0):,}")
    if available > size:
        raise DataError(f"{path}: more bytes than its header announces")
    try:
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read it ({error})") from error
    return memoryview(mapped)[offset:offset + size]


def _record_digest(digests: dict[str, str] | None, path: Path, header: bytes, data: bytes) -> None:
    if digests is not None:  # about 25 ms for the 47 MB of training images
        digest = hashlib.sha256(header)
        digest.update(data)
        digests[_strip_gz(path.name)] = digest.hexdigest()


def _strip_gz(name: str) -> str:
    return name.removesuffix(".gz")
