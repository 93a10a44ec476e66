"""CIFAR-10 from the binary or the python archive, or from either one's extracted folder.

Both formats store each image as three 32×32 planes (R, then G, then B). Rows are returned as H×W×C flattened
(the planes interleaved per pixel), so ``row.reshape(32, 32, 3)`` is an image a viewer can show.

Splits follow the CS231n assignment: train = the first 49,000 of the 50,000 training images, val = the last
1,000, test = the 10,000 test images. Files with fewer records (test fixtures, subsets) are accepted when each
holds a whole number of records; the validation split is then the same fraction of the training images
(1/50, rounded down, at least one), see :func:`gdstudio.data.dataset.holdout_size`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdstudio.config import DataError
from gdstudio.data.archive import iter_tar_members, list_tar_names, read_folder_file
from gdstudio.data.dataset import Dataset, holdout_size, split_tail
from gdstudio.data.safe_pickle import load_restricted

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (32, 32, 3)
PIXELS = 32 * 32 * 3
RECORD_BYTES = 1 + PIXELS
"""One record of the binary format: the label byte, then 1,024 R, 1,024 G and 1,024 B bytes."""
RECORDS_PER_BATCH = 10_000
TRAIN_TOTAL = 50_000
VAL_TOTAL = 1_000
TRAIN_BATCHES = tuple(f"data_batch_{k}" for k in range(1, 6))
TEST_BATCH = "test_batch"

BINARY_ARCHIVE = "cifar-10-binary.tar.gz"
PYTHON_ARCHIVE = "cifar-10-python.tar.gz"
BINARY_FOLDER = "cifar-10-batches-bin"
PYTHON_FOLDER = "cifar-10-batches-py"
BINARY_META = "batches.meta.txt"
PYTHON_META = "batches.meta"

BINARY_BATCH_MAX_BYTES = RECORDS_PER_BATCH * RECORD_BYTES
PYTHON_BATCH_MAX_BYTES = 32 * 1024 * 1024
"""A python-format batch is a 31,035,704-byte pickle; allow a little more for another pickler's framing."""
META_MAX_BYTES = 64 * 1024


def load_cifar10(path: Path) -> Dataset:
    """Load CIFAR-10 from an archive or a folder.

    Parameters
    ----------
    path : Path
        ``cifar-10-binary.tar.gz`` or ``cifar-10-python.tar.gz`` (any name: the members tell the format), the
        extracted ``cifar-10-batches-bin/`` or ``cifar-10-batches-py/`` folder, or a folder holding one of these
        four (such as the cache folder).

    Returns
    -------
    Dataset
        ``X_*`` of shape (N, 3072), uint8, each row an H×W×C image; ``image_shape=(32, 32, 3)``; labels int32 in
        0..9; class names from the archive's meta file (or the standard ten when it has none).

    Raises
    ------
    DataError
        If nothing CIFAR-10-like is at ``path``, or a file is damaged, truncated, of the wrong size or type, or
        (python format) a pickle asks for anything but plain containers and numpy arrays.
    """
    source = find_source(path)
    if source is None:
        raise DataError(f"{path}: no CIFAR-10 here; expected {BINARY_ARCHIVE}, {PYTHON_ARCHIVE}, or the folder "
                        f"{BINARY_FOLDER}/ or {PYTHON_FOLDER}/ extracted from one")
    fmt, location = source
    if location.is_dir():
        batches, meta = _read_folder(location, fmt)
    else:
        batches, meta = _read_archive(location, fmt)
    return _assemble(location, batches, meta)


def find_source(path: Path) -> tuple[str, Path] | None:
    """Where CIFAR-10 lies at ``path``: ``("binary" | "python", archive or folder)``, or ``None``.

    Looks only at names (and, for an archive of unknown name, at its member names), never at the data.
    """
    if path.is_file():
        return _archive_format(path), path
    if not path.is_dir():
        return None
    if (path / "data_batch_1.bin").exists():
        return "binary", path
    if (path / "data_batch_1").exists():
        return "python", path
    for fmt, folder in (("binary", BINARY_FOLDER), ("python", PYTHON_FOLDER)):
        if (path / folder).is_dir():
            return fmt, path / folder
    for fmt, archive in (("binary", BINARY_ARCHIVE), ("python", PYTHON_ARCHIVE)):
        if (path / archive).is_file():
            return fmt, path / archive
    return None


def _archive_format(path: Path) -> str:
    if path.name == BINARY_ARCHIVE:
        return "binary"
    if path.name == PYTHON_ARCHIVE:
        return "python"
    names = list_tar_names(path)
    if any(name.startswith(f"{BINARY_FOLDER}/") for name in names):
        return "binary"
    if any(name.startswith(f"{PYTHON_FOLDER}/") for name in names):
        return "python"
    raise DataError(f"{path}: this archive holds neither {BINARY_FOLDER}/ nor {PYTHON_FOLDER}/")


def _member_limits(fmt: str) -> dict[str, int]:
    """Base name of each file of ``fmt`` to its largest allowed size."""
    if fmt == "binary":
        limits = {f"{name}.bin": BINARY_BATCH_MAX_BYTES for name in (*TRAIN_BATCHES, TEST_BATCH)}
        limits[BINARY_META] = META_MAX_BYTES
    else:
        limits = {name: PYTHON_BATCH_MAX_BYTES for name in (*TRAIN_BATCHES, TEST_BATCH)}
        limits[PYTHON_META] = META_MAX_BYTES
    return limits


def _read_folder(folder: Path, fmt: str):
    batches, meta = {}, None
    for name, limit in _member_limits(fmt).items():
        if name in (BINARY_META, PYTHON_META):
            if (folder / name).exists() or (folder / name).is_symlink():
                meta = _parse_meta(read_folder_file(folder, name, limit), fmt, folder / name)
            continue
        where = folder / name
        batches[name.removesuffix(".bin")] = _parse_batch(read_folder_file(folder, name, limit), fmt, where)
    return batches, meta


def _read_archive(archive: Path, fmt: str):
    folder = BINARY_FOLDER if fmt == "binary" else PYTHON_FOLDER
    meta_name = BINARY_META if fmt == "binary" else PYTHON_META
    wanted = {f"{folder}/{name}": limit for name, limit in _member_limits(fmt).items()}
    batches, meta = {}, None
    # One pass over the archive; each batch is converted as it comes, so one raw batch is held at a time.
    for member, data in iter_tar_members(archive, wanted, optional={f"{folder}/{meta_name}"}):
        name = member.rsplit("/", 1)[1]
        where = Path(f"{archive}:{member}")
        if name == meta_name:
            meta = _parse_meta(data, fmt, where)
        else:
            batches[name.removesuffix(".bin")] = _parse_batch(data, fmt, where)
    return batches, meta


def _parse_batch(data: bytes, fmt: str, where: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch as ``(pixels (n, 3072) uint8 in HWC order, labels (n,) int32)``."""
    if fmt == "binary":
        if not data or len(data) % RECORD_BYTES:
            raise DataError(f"{where}: {len(data):,} bytes is not a whole number of {RECORD_BYTES}-byte records")
        records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD_BYTES)
        labels, planes = records[:, 0].astype(np.int32), records[:, 1:]
    else:
        batch = _unpickle(data, where)
        planes, labels = _python_batch_arrays(batch, where)
    if len(labels) > RECORDS_PER_BATCH:
        raise DataError(f"{where}: {len(labels):,} images, more than the {RECORDS_PER_BATCH:,} of a batch")
    if labels.size and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
        raise DataError(f"{where}: labels must lie in 0..9, found {labels.min()}..{labels.max()}")
    # The files hold planes (C, H, W); a viewer and the weight images want (H, W, C).
    pixels = planes.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).reshape(-1, PIXELS)
    return np.ascontiguousarray(pixels), labels


def _python_batch_arrays(batch: object, where: Path) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
        raise DataError(f"{where}: expected a dict with 'data' and 'labels'")
    planes, labels = batch["data"], batch["labels"]
    if not isinstance(planes, np.ndarray) or planes.dtype != np.uint8 or planes.ndim != 2 \
            or planes.shape[1] != PIXELS or planes.shape[0] == 0:
        shape = getattr(planes, "shape", None)
        raise DataError(f"{where}: 'data' must be a uint8 array of shape (n, {PIXELS}), got {type(planes).__name__}"
                        f" {shape}")
    if not isinstance(labels, (list, np.ndarray)) or not all(
            isinstance(label, (int, np.integer)) and not isinstance(label, bool) for label in labels):
        raise DataError(f"{where}: 'labels' must be a list of whole numbers")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (planes.shape[0],):
        raise DataError(f"{where}: {planes.shape[0]:,} images but {labels.size:,} labels")
    return planes, labels.astype(np.int32)


def _parse_meta(data: bytes, fmt: str, where: Path) -> tuple[str, ...]:
    if fmt == "binary":
        try:
            names = tuple(line.strip() for line in data.decode("utf-8").splitlines() if line.strip())
        except UnicodeDecodeError:
            raise DataError(f"{where}: not a text file of class names") from None
    else:
        meta = _unpickle(data, where)
        names = meta.get("label_names") if isinstance(meta, dict) else None
        if not isinstance(names, list) or not all(isinstance(name, (str, bytes)) for name in names):
            raise DataError(f"{where}: expected a dict with 'label_names', a list of strings")
        names = tuple(name.decode("latin1") if isinstance(name, bytes) else name for name in names)
    if len(names) != len(CLASS_NAMES) or not all(names):
        raise DataError(f"{where}: expected {len(CLASS_NAMES)} class names, got {len(names)}")
    return names


def _assemble(where: Path, batches: dict, meta: tuple[str, ...] | None) -> Dataset:
    X_full = np.concatenate([batches[name][0] for name in TRAIN_BATCHES])
    y_full = np.concatenate([batches[name][1] for name in TRAIN_BATCHES])
    X_test, y_test = batches[TEST_BATCH]
    if len(y_full) < 2:
        raise DataError(f"{where}: too few training images ({len(y_full)}) to split off a validation set")
    (X_train, y_train), (X_val, y_val) = split_tail(X_full, y_full, holdout_size(len(y_full), TRAIN_TOTAL,
                                                                                   VAL_TOTAL))
    return Dataset(X_train, y_train, X_val, y_val, X_test, y_test, class_names=meta or CLASS_NAMES,
                   image_shape=IMAGE_SHAPE, name="cifar10", max_value=255)


def _unpickle(data: bytes, where: Path) -> object:
    """A CIFAR-10 python pickle through the allow-list; dict keys that come out as bytes become str."""
    obj = load_restricted(data, where, what="CIFAR-10 python batch")
    if isinstance(obj, dict):
        obj = {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in obj.items()}
    return obj
