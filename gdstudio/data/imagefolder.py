"""A person's own images as a data set: a folder holding one sub-folder of images per class, decoded with Pillow.

**Layout.** ``DIR/<class>/<image>``; images may also sit deeper inside a class folder. The class names are the
sub-folders' names, sorted. Names that start with a dot are ignored. PNG, JPEG, BMP, GIF (its first frame) and
WebP are decoded; any other file, or one that cannot be decoded, is skipped and named in the data set's
:attr:`~gdstudio.data.dataset.Dataset.notice`, as are class folders left without images.

**Each image becomes an N×N square**: the largest centred square is cut out, then resized (Lanczos). Cutting
rather than squashing keeps shapes as they are: a 4:3 photo squashed into a square makes every object narrower,
and the class templates would learn the distortion. What is lost is the edges of a wide photo, which matter little
when the subject is in the middle (Teachable Machine crops its webcam pictures the same way). Colour images become
RGB, or grey (ITU-R 601 luma) with ``grey``; transparent parts are laid over white; 16-bit images keep their top
8 bits; JPEGs are decoded at a reduced size (``Image.draft``: an eighth of a 12-megapixel photo is still larger
than 256×256) and turned upright by their EXIF orientation. Pixels are uint8 rows in (row, column, channel) order.

**Splits** are fixed, stratified and independent of the order files are listed in: within each class the images
are ordered by a hash of :data:`~gdstudio.config.SPLIT_SEED` and their path inside ``DIR``, and the first 20 % go
to the test split, the next 20 % to validation, the rest to training (:data:`~gdstudio.config.IMAGE_SPLIT_SHARES`;
a class of three or more images gets at least one of each, a class of two one training and one validation image).
Every run on the folder is so measured on the same test images, and adding a photo moves few others.

**Cache.** The decoded splits are saved in ``cache / <key>.npz``; the key hashes the folder's path, the options,
and the relative path, size and modification time of every file, so a second open decodes nothing and a changed,
added or removed file gives a new key. An older entry of the same folder and options is removed when a new one is
written; a damaged entry is ignored and rebuilt.

**Safety.** A file's header is read first, and an image that claims more than
:data:`~gdstudio.config.IMAGE_MAX_PIXELS` pixels (a decompression bomb: a PNG of a few hundred KB can claim
30,000 × 30,000) is refused before anything is decoded. Links that lead out of ``DIR`` are not followed, nor is
anything that is not a regular file or folder (a FIFO would block the reader).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gdstudio.config import (IMAGE_FOLDER_DATASET, IMAGE_MAX_FILES, IMAGE_MAX_PIXELS, IMAGE_SIZE_DEFAULT,
                             IMAGE_SIZE_RANGE, IMAGE_SPLIT_SHARES, SPLIT_SEED, DataError)
from gdstudio.data.dataset import Dataset

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
"""What Pillow may decode here; other formats (EPS would start Ghostscript) are refused at the header."""
CACHE_FORMAT = 1
"""Part of every cache key: raise it when decoding or splitting changes, so old entries are not reused."""
NAMED_SKIPS = 3
"""The notice names this many skipped files, then says how many more."""
DECODE_THREADS = 4
"""Pillow decodes without the GIL, so a few threads keep the cores busy on a folder of large photos."""
REASON_CHARS = 60
_SPLITS = ("train", "val", "test")
_OPEN_LOCK = threading.Lock()
# A refused image's reason sorts first: the notice names a few files, and a bomb must be among them.
_RANK = {"too large": 0, "a link": 1}

__all__ = ["load_image_folder", "FORMATS"]


@dataclass(frozen=True)
class _File:
    relative: str
    """Path inside the folder, with "/" (as the user sees it, through any link)."""
    path: str
    """Where it really is (links resolved)."""
    size: int
    mtime_ns: int
    label: int


def load_image_folder(folder, image_size: int | None = None, grey: bool = False,
                      cache: str | os.PathLike | None = None) -> Dataset:
    """Decode a folder of class folders into a :class:`Dataset` (or load it from the cache).

    Parameters
    ----------
    folder : str or PathLike
        Holds one sub-folder of images per class (see the module's docstring).
    image_size : int, optional
        Side N of the square each image becomes (default :data:`~gdstudio.config.IMAGE_SIZE_DEFAULT`).
    grey : bool
        One grey channel instead of RGB.
    cache : str or PathLike, optional
        Folder of the decoded arrays (created when needed); ``None`` decodes every time.

    Returns
    -------
    Dataset
        ``X_*`` of shape (N, image_size² · channels), uint8; ``image_shape`` ``(N, N, 3)`` or ``(N, N, 1)``;
        ``max_value`` 255; ``notice`` names the files skipped ("" when none were).

    Raises
    ------
    DataError
        For a missing folder, a file instead of a folder, a folder without class folders, more than
        :data:`~gdstudio.config.IMAGE_MAX_FILES` files, fewer than two classes with images, too few images to hold
        out validation and test images, or an image size out of range.
    """
    size = IMAGE_SIZE_DEFAULT if image_size is None else int(image_size)
    if not IMAGE_SIZE_RANGE[0] <= size <= IMAGE_SIZE_RANGE[1]:
        raise DataError(f"image size must be between {IMAGE_SIZE_RANGE[0]} and {IMAGE_SIZE_RANGE[1]}, got {size}")
    grey = bool(grey)
    root = _check_folder(folder)
    class_names, files, skipped = _scan(root)
    if not class_names:
        raise DataError(f"{root}: no class folders in it (put each class's images in a sub-folder named after the "
                        "class)" + _suffix(_notice(root, skipped)))
    entry = None
    if cache is not None:
        entry = Path(cache) / f"{_cache_name(root, class_names, files, skipped, size, grey)}.npz"
        cached = _load_cache(entry, size, 1 if grey else 3)
        if cached is not None:
            return cached
    dataset = _decode_folder(root, class_names, files, skipped, size, grey)
    if entry is not None:
        _save_cache(entry, dataset)
    return dataset


# ----------------------------------------------------------------------------------------------------------------
# Finding the files


def _check_folder(folder) -> Path:
    path = Path(folder).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such folder")
    if not path.is_dir():
        raise DataError(f"{path} is a file, not a folder (give a folder holding one sub-folder of images per class)")
    return path.resolve()


def _entries(folder: str) -> list[os.DirEntry]:
    with os.scandir(folder) as listing:
        return sorted((entry for entry in listing if not entry.name.startswith(".")), key=lambda e: e.name)


def _inside(root: Path, entry: os.DirEntry, parent_real: str) -> str | None:
    """Where ``entry`` really is, or None when it is a link that leads out of ``root``."""
    if not entry.is_symlink():
        return os.path.join(parent_real, entry.name)
    real = os.path.realpath(entry.path)
    return real if os.path.commonpath([str(root), real]) == str(root) else None


def _scan(root: Path):
    """The class names, the candidate files (sorted by relative path) and ``(relative path, reason)`` of what
    cannot be an image of a class."""
    skipped: list[tuple[str, str]] = []
    classes: list[tuple[str, str]] = []
    try:
        top = _entries(str(root))
    except OSError as exc:
        raise DataError(f"{root}: cannot be read ({exc.strerror or exc})") from None
    for entry in top:
        try:
            real = _inside(root, entry, str(root))
        except OSError as exc:  # gone or unreadable between listing and reading it
            skipped.append((entry.name, f"cannot be read: {exc.strerror or exc}"))
            continue
        if real is None:
            skipped.append((entry.name, "a link that leads out of the folder"))
        elif os.path.isdir(real):
            classes.append((entry.name, real))
        else:
            skipped.append((entry.name, "not in a class folder"))
    files: list[_File] = []
    for label, (name, real) in enumerate(classes):
        _walk_class(root, name, real, label, files, skipped)
        if len(files) + len(skipped) > IMAGE_MAX_FILES:
            raise DataError(f"{root}: more than {IMAGE_MAX_FILES:,} files in it; choose the folder that holds "
                            "one sub-folder of images per class")
    files.sort(key=lambda f: f.relative)
    skipped.sort()
    return [name for name, _ in classes], files, skipped


def _walk_class(root: Path, name: str, real: str, label: int, files: list, skipped: list) -> None:
    visited: set[str] = set()
    stack = [(name, real)]
    while stack:
        relative, folder = stack.pop()
        if folder in visited:  # a link back to a folder already read: a loop, or the same images twice
            continue
        visited.add(folder)
        try:
            entries = _entries(folder)
        except OSError as exc:
            skipped.append((relative, f"cannot be read: {exc.strerror or exc}"))
            continue
        for entry in entries:
            path = f"{relative}/{entry.name}"
            try:
                target = _inside(root, entry, folder)
                if target is None:
                    skipped.append((path, "a link that leads out of the folder"))
                    continue
                info = os.stat(target)
            except OSError as exc:
                skipped.append((path, f"cannot be read: {exc.strerror or exc}"))
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append((path, target))
            elif stat.S_ISREG(info.st_mode):
                files.append(_File(path, target, int(info.st_size), int(info.st_mtime_ns), label))
            else:
                skipped.append((path, "not a regular file"))
        if len(files) + len(skipped) > IMAGE_MAX_FILES:
            return  # the caller refuses the folder

# ----------------------------------------------------------------------------------------------------------------
# Decoding


def _decode_folder(root: Path, class_names, files, skipped, size: int, grey: bool) -> Dataset:
    channels = 1 if grey else 3
    pixels = np.empty((len(files), size * size * channels), np.uint8)
    decoded = np.zeros(len(files), bool)
    skipped = list(skipped)
    with ThreadPoolExecutor(max_workers=max(1, min(DECODE_THREADS, os.cpu_count() or 1))) as pool:
        results = pool.map(lambda file: decode_image(file.path, size, grey), files)
        for i, (file, (row, reason)) in enumerate(zip(files, results)):
            if row is None:
                skipped.append((file.relative, reason))
            else:
                pixels[i] = row
                decoded[i] = True
    labels = np.array([f.label for f in files], np.int32)
    counts = np.bincount(labels[decoded], minlength=len(class_names))
    kept = [c for c in range(len(class_names)) if counts[c] > 0]
    empty = tuple(class_names[c] for c in range(len(class_names)) if counts[c] == 0)
    notice = _notice(root, skipped, empty, kept=int(decoded.sum()))
    if len(kept) < 2:
        found = ", ".join(class_names[c] for c in kept)
        raise DataError(f"{root}: found images of {len(kept)} class{'' if len(kept) == 1 else 'es'}"
                        f"{f' ({found})' if found else ''}; need at least two class folders with images"
                        + _suffix(notice))
    relabel = np.full(len(class_names), -1, np.int32)
    relabel[kept] = np.arange(len(kept), dtype=np.int32)
    rows = np.flatnonzero(decoded)
    parts = _split([files[i].relative for i in rows], relabel[labels[rows]], len(kept))
    if any(len(part) == 0 for part in parts):
        raise DataError(f"{root}: too few images to hold out validation and test images ({len(rows)} images in "
                        f"{len(kept)} classes); give each class at least 3 images" + _suffix(notice))
    arrays = {}
    for split, part in zip(_SPLITS, parts):
        arrays[f"X_{split}"] = np.ascontiguousarray(pixels[rows[part]])
        arrays[f"y_{split}"] = relabel[labels[rows[part]]]
    return Dataset(**arrays, class_names=tuple(class_names[c] for c in kept), image_shape=(size, size, channels),
                   name=IMAGE_FOLDER_DATASET, max_value=255, notice=notice)


def decode_image(path: str, size: int, grey: bool) -> tuple[np.ndarray | None, str]:
    """One file as a row of ``size × size × channels`` uint8 pixels, or ``(None, why it was skipped)``.

    The header is read first: an image that claims more than :data:`~gdstudio.config.IMAGE_MAX_PIXELS` pixels is
    refused before its pixels are decoded.
    """
    try:
        with open(path, "rb") as stream:
            try:
                image = _open(stream)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                claimed = re.search(r"\((\d+) pixels\)", str(exc))
                return None, "too large to decode safely" + (f": {int(claimed[1]):,} pixels" if claimed else "")
            except UnidentifiedImageError:
                return None, "not a PNG, JPEG, BMP, GIF or WebP image"
            with image:
                width, height = image.size
                if width * height > IMAGE_MAX_PIXELS:
                    return None, (f"too large to decode safely: {width:,} × {height:,} pixels, over "
                                  f"{IMAGE_MAX_PIXELS:,}")
                if width < 1 or height < 1:
                    return None, "an empty image"
                if image.format == "JPEG":
                    image.draft("L" if grey else "RGB", (size, size))
                return _square(_upright(_eight_bit(image, grey)), size), ""
    except MemoryError:
        return None, "too large to decode"
    except Exception as exc:  # any damage Pillow meets in a file is that file's problem, never the folder's
        return None, f"cannot be decoded: {_short(exc)}"


def _open(stream) -> Image.Image:
    # Pillow warns (and raises at twice that) above its own process-wide limit, before our check can run; the
    # warning is made an error here so it skips the file instead of printing a second line. catch_warnings
    # swaps a process-wide list: the lock keeps this module's threads from restoring each other's.
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(stream, formats=FORMATS)


def _eight_bit(image: Image.Image, grey: bool) -> Image.Image:
    """``image`` as 8-bit RGB (or L): 16-bit grey keeps its top 8 bits, transparency is laid over white."""
    if image.mode.startswith("I;16") or image.mode == "I":
        values = np.asarray(image).astype(np.int64)
        image = Image.fromarray((np.clip(values, 0, 65535) >> 8).astype(np.uint8), "L")
    elif image.mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64))
        image = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")
    elif image.mode == "1":
        image = image.convert("L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image.convert("L" if grey else "RGB")


def _upright(image: Image.Image) -> Image.Image:
    """Turned as the camera's EXIF orientation says (phone photos are often stored on their side)."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a damaged EXIF block leaves the pixels as they are
        return image


def _square(image: Image.Image, size: int) -> np.ndarray:
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side),
                          reducing_gap=3.0)
    return np.asarray(square, dtype=np.uint8).reshape(-1)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 1] + "…"


# ----------------------------------------------------------------------------------------------------------------
# Splits and the notice


def _holdout(n: int) -> tuple[int, int]:
    """``(validation, test)`` images of a class of ``n``."""
    if n < 3:
        return (1, 0) if n == 2 else (0, 0)
    val_share, test_share = IMAGE_SPLIT_SHARES
    n_val = max(1, math.floor(n * val_share + 0.5))
    n_test = max(1, math.floor(n * test_share + 0.5))
    while n_val + n_test > n - 1:  # at least one image trains
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
    return n_val, n_test


def _split(relatives: list[str], labels: np.ndarray, num_classes: int) -> list[np.ndarray]:
    """Indices into ``relatives`` of the train, validation and test splits (see the module's docstring)."""
    parts: list[list[int]] = [[], [], []]
    for label in range(num_classes):
        members = sorted(np.flatnonzero(labels == label).tolist(), key=lambda i: _split_hash(relatives[i]))
        n_val, n_test = _holdout(len(members))
        parts[2] += members[:n_test]
        parts[1] += members[n_test:n_test + n_val]
        parts[0] += members[n_test + n_val:]
    # One shuffle of each split, so that a split's images are not grouped by class (the inspector's strip).
    rng = np.random.default_rng(SPLIT_SEED)
    return [np.asarray(part, np.int64)[rng.permutation(len(part))] for part in parts]


def _split_hash(relative: str) -> str:
    return hashlib.sha256(f"{SPLIT_SEED}/{relative}".encode()).hexdigest()


def _notice(root: Path, skipped, empty_classes=(), kept: int | None = None) -> str:
    """One line: how many files were skipped, the first few by name with the reason, and empty class folders."""
    parts = []
    if skipped:
        ranked = sorted(skipped, key=lambda item: (_rank(item[1]), item[0]))
        named = "; ".join(f"{relative} ({reason})" for relative, reason in ranked[:NAMED_SKIPS])
        more = f"; and {len(skipped) - NAMED_SKIPS} more" if len(skipped) > NAMED_SKIPS else ""
        count = f"{len(skipped)} file{'s' if len(skipped) != 1 else ''}"
        images = f" ({kept:,} image{'s' if kept != 1 else ''} kept)" if kept is not None else ""
        parts.append(f"skipped {count} in {root.name}{images}: {named}{more}")
    if empty_classes:
        parts.append(f"left out class folder{'s' if len(empty_classes) != 1 else ''} without images: "
                     + ", ".join(empty_classes))
    return "; ".join(parts)


def _rank(reason: str) -> int:
    return next((rank for start, rank in _RANK.items() if reason.startswith(start)), len(_RANK))


def _suffix(notice: str) -> str:
    return f" ({notice})" if notice else ""


# ----------------------------------------------------------------------------------------------------------------
# The cache


def _cache_name(root: Path, class_names, files, skipped, size: int, grey: bool) -> str:
    options = {"format": CACHE_FORMAT, "size": size, "grey": grey, "max_pixels": IMAGE_MAX_PIXELS,
               "shares": list(IMAGE_SPLIT_SHARES), "split_seed": SPLIT_SEED}
    place = hashlib.sha256(json.dumps([str(root), options]).encode()).hexdigest()[:16]
    listing = {"classes": list(class_names), "files": [[f.relative, f.size, f.mtime_ns] for f in files],
               "skipped": [list(item) for item in skipped]}
    content = hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:32]
    return f"{place}-{content}"


def _load_cache(entry: Path, size: int, channels: int) -> Dataset | None:
    """The data set saved in ``entry``, or None when there is none or it is damaged in any way."""
    if not entry.is_file():
        return None
    try:
        with np.load(entry, allow_pickle=False) as saved:
            arrays = {f"{a}_{s}": np.asarray(saved[f"{a}_{s}"]) for s in _SPLITS for a in ("X", "y")}
            class_names = tuple(str(name) for name in saved["class_names"].tolist())
            notice = str(saved["notice"].item())
        for split in _SPLITS:
            X, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
            if (X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != size * size * channels or y.dtype != np.int32
                    or y.shape != (len(X),) or len(X) == 0 or y.min() < 0 or y.max() >= len(class_names)):
                return None
        if len(class_names) < 2:
            return None
        return Dataset(**arrays, class_names=class_names, image_shape=(size, size, channels),
                       name=IMAGE_FOLDER_DATASET, max_value=255, notice=notice)
    except Exception:  # a damaged or foreign file: decode the folder again and write a good one
        return None


def _save_cache(entry: Path, dataset: Dataset) -> None:
    """Write atomically (a temporary file renamed into place); a cache that cannot be written costs only time."""
    arrays = {f"{a}_{s}": getattr(dataset, f"{a}_{s}") for s in _SPLITS for a in ("X", "y")}
    temporary = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays, class_names=np.array(dataset.class_names, dtype=str),
                     notice=np.array(dataset.notice, dtype=str))
        os.replace(temporary, entry)
        temporary = None
        place = entry.name.split("-")[0]
        for older in entry.parent.glob(f"{place}-*.npz"):
            if older != entry:
                older.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
