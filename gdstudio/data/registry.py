"""The data sets GD Studio knows, where they live on disk, and loading them by name.

This is the data layer's public face for the engine and the CLI: :data:`DATASETS` and :class:`DatasetSpec`
(from :mod:`gdstudio.data.catalog`), :func:`load_dataset`, :func:`dataset_status`, :func:`download_dataset` and
:func:`cache_dir`.
"""

from __future__ import annotations

import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from importlib import resources
from pathlib import Path

import platformdirs

from gdstudio.config import IMAGE_FOLDER_DATASET, DataError, DataNotFound
from gdstudio.data import cifar10, idx
from gdstudio.data.builtin import DIGITS_RESOURCE, load_digits, make_toy2d
from gdstudio.data.catalog import DATASETS, DatasetSpec
from gdstudio.data.dataset import Dataset
from gdstudio.data.download import download, file_md5

DATA_DIR_ENV = "GDSTUDIO_DATA_DIR"
"""Environment variable that moves the download cache (default: the platform's user cache folder)."""
SYSTEM_DATA_ENV = "GDSTUDIO_SYSTEM_DATA_DIRS"
"""Environment variable that replaces the folders searched for system copies: a list of folders (separated by
``os.pathsep``) each holding one folder per data set name, like ``/usr/share/datasets``; empty: none."""
APP_NAME = "gdstudio"
DEFAULT_DATASET = "digits"
MEMORY_CACHE_ENTRIES = 4
"""Loaded data sets kept in memory per process (CIFAR-10 takes about 150 MB)."""
DECODED_FOLDER = ".decoded"
"""In the cache folder: decompressed copies of gzipped IDX files (:mod:`gdstudio.data.decoded`), so that a load
maps them instead of decompressing (Fashion-MNIST: 55 MB, 0.3 s less per run)."""

__all__ = ["DATASETS", "DEFAULT_DATASET", "IMAGE_FOLDER_DATASET", "DatasetSpec", "cache_dir", "dataset_status",
           "download_dataset", "forget", "get_spec", "load_dataset", "system_folders"]

DownloadProgress = Callable[[int, "int | None", str], None]
"""``progress(done_bytes, total_bytes_or_None, filename)``, as each file of a data set downloads: the two
arguments of :func:`~gdstudio.data.download.download`'s callback, plus the file's name."""


# How each real data set is loaded from a path, and how to tell (by names only) that a folder holds it.
_LOADERS: dict[str, Callable[[Path], Dataset]] = {
    "cifar10": cifar10.load_cifar10,
    "mnist": partial(idx.load_idx, name="mnist", class_names=idx.MNIST_CLASS_NAMES),
    "fashion-mnist": partial(idx.load_idx, name="fashion-mnist", class_names=idx.FASHION_CLASS_NAMES),
}
_FINDERS: dict[str, Callable[[Path], Path | None]] = {
    "cifar10": lambda folder: (cifar10.find_source(folder) or (None, None))[1],
    "mnist": lambda folder: folder if idx.has_files(folder) else None,
    "fashion-mnist": lambda folder: folder if idx.has_files(folder) else None,
}
_DECODED_COPIES = {"mnist", "fashion-mnist"}
"""Data sets whose gzipped files are kept decompressed in the cache folder (:data:`DECODED_FOLDER`)."""
_TOY_KINDS = {"toy2d": "blobs", "toy2d-spiral": "spiral", "toy2d-circles": "circles"}
IMAGE_FOLDER_WHERE = "your own folder: --data DIR, one sub-folder of images per class"
"""What `gdstudio datasets` says of ``images``: it is never downloaded, it is a folder the user gives."""


def _load_image_folder(folder: Path, image_size: int | None, grey: bool) -> Dataset:
    from gdstudio.data.imagefolder import load_image_folder  # Pillow is imported only by those who use it

    return load_image_folder(folder, image_size=image_size, grey=grey, cache=cache_dir() / IMAGE_FOLDER_DATASET)


_memory: OrderedDict[tuple, Dataset] = OrderedDict()
_memory_lock = threading.Lock()


def cache_dir() -> Path:
    """The folder that holds downloaded data sets, one subfolder per name.

    ``$GDSTUDIO_DATA_DIR`` when set, else the platform's user cache folder for ``gdstudio``. Not created here.
    """
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(override).expanduser() if override else Path(platformdirs.user_cache_dir(APP_NAME))


def system_folders(name: str) -> list[Path]:
    """The folders where the operating system's packages install a copy of ``name``, in search order.

    The data set table's ``system_folders``, unless ``$GDSTUDIO_SYSTEM_DATA_DIRS`` is set: then ``root/name``
    for each of its folders.
    """
    spec = get_spec(name)
    override = os.environ.get(SYSTEM_DATA_ENV)
    if override is None:
        return [Path(folder) for folder in spec.system_folders]
    if not spec.system_folders:
        return []
    return [Path(root).expanduser() / name for root in override.split(os.pathsep) if root.strip()]


def _locate(name: str) -> tuple[Path | None, str, Path | None]:
    """The copy of the downloadable data set ``name`` that loads without ``--data``: ``(path, origin, folder)``.

    The cache folder first (origin ``"cache"``), then the system folders (``"system"``); ``folder`` is the one
    searched folder that holds it. ``(None, "", None)`` when none does (files are judged by their names here; the
    content is checked when loading).
    """
    for folder, origin in [(cache_dir() / name, "cache")] + [(f, "system") for f in system_folders(name)]:
        found = _FINDERS[name](folder) if folder.is_dir() else None
        if found is not None:
            return found, origin, folder
    return None, "", None


def how_to_get(name: str) -> str:
    """The ways to get the downloadable data set ``name``, as a clause for a message."""
    spec = get_spec(name)
    ways = []
    if spec.system_package:
        ways.append(f"install the package `sudo apt-get install {spec.system_package}` (Debian, Ubuntu)")
    ways.append(f"download it with `gdstudio datasets download {name}`")
    ways.append("pass --data PATH to a copy you have")
    return ", ".join(ways[:-1]) + ", or " + ways[-1]


def get_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; :class:`DataError` listing the choices when there is none."""
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}") from None


def load_dataset(name: str, path: str | os.PathLike | None = None, *, seed: int = 0, image_size: int | None = None,
                 grey: bool = False) -> Dataset:
    """Load the data set ``name``; a second call with the same arguments returns the same object at once.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`.
    path : str or PathLike, optional
        For a downloadable data set: an archive or folder in any layout its loader accepts. ``None`` looks in
        ``cache_dir() / name``. Built-in data sets take no path.
    seed : int
        Seed of the generated ``toy2d*`` points; the other data sets ignore it (their splits are fixed).
    image_size, grey : int or None, bool
        ``images`` only (a folder of class folders, which ``path`` must give): the side of the square images and
        whether they are grey (see :mod:`gdstudio.data.imagefolder`). Its decoded arrays are cached on disk in
        ``cache_dir() / "images"`` (keyed by the folder's files), not in this process.

    Returns
    -------
    Dataset
        Shared with the in-process cache: treat its arrays as read-only.

    Raises
    ------
    DataError
        For an unknown name, a path that does not exist or a data set that is not downloaded (both
        :class:`~gdstudio.config.DataNotFound`; the message says how to get it), or any damaged file.
    """
    spec = get_spec(name)
    if name == IMAGE_FOLDER_DATASET:
        if path is None:
            raise DataError(f"data set {name!r} is a folder of your own: pass --data DIR, where DIR holds one "
                            "sub-folder of images per class")
        return _load_image_folder(Path(path).expanduser(), image_size, grey)
    if image_size is not None or grey:
        raise DataError(f"--image-size and --grey apply to --dataset {IMAGE_FOLDER_DATASET} only")
    if spec.builtin:
        if path is not None:
            raise DataError(f"data set {name!r} is built in; it takes no --data path")
        if name in _TOY_KINDS:
            return _remember((name, None, int(seed)), lambda: make_toy2d(_TOY_KINDS[name], seed=int(seed)))
        return _remember((name, None, None), load_digits)
    expected = None
    if path is not None:
        location = Path(path).expanduser()
        if not location.exists():
            raise DataNotFound(f"{location}: no such file or folder", name)
    else:
        location, origin, _folder = _locate(name)
        if location is None:
            searched = [cache_dir() / name] + system_folders(name)
            raise DataNotFound(f"data set {name!r} is not on this machine (looked in "
                               f"{' and '.join(str(folder) for folder in searched)}); {how_to_get(name)}", name)
        if origin == "system":
            expected = spec.content_sha256 or None
    load = _LOADERS[name] if expected is None else partial(_LOADERS[name], expected_sha256=expected)
    if name in _DECODED_COPIES:
        load = partial(load, decoded=cache_dir() / DECODED_FOLDER)
    return _remember((name, str(location.resolve()), None), lambda: load(location))


def dataset_status() -> list[dict]:
    """What is available, one dict per data set in :data:`DATASETS` order. Quick: files are found by name.

    Returns
    -------
    list of dict
        Keys ``name``, ``title``, ``builtin`` (bool), ``present`` (bool), ``origin`` (``"built in"``,
        ``"cache"``, ``"system"`` for a copy an operating-system package installed, ``"your folder"`` for
        ``images``, or ``None`` when absent),
        ``where`` (``"built in"``, the path found, else the cache folder where it would go), ``size`` (bytes on
        disk when present: the copy's files, or the embedded file, 0 for generated sets; ``None`` when absent)
        and ``get`` (how to get it when absent, else ``None``).
    """
    rows = []
    for spec in DATASETS.values():
        row = {"name": spec.name, "title": spec.title, "builtin": spec.builtin}
        if spec.name == IMAGE_FOLDER_DATASET:
            row.update(present=True, origin="your folder", where=IMAGE_FOLDER_WHERE, size=None, get=None)
        elif spec.builtin:
            size = 0
            if spec.name == "digits":
                size = len(resources.files("gdstudio.resources").joinpath(DIGITS_RESOURCE).read_bytes())
            row.update(present=True, origin="built in", where="built in", size=size, get=None)
        else:
            found, origin, folder = _locate(spec.name)
            row.update(present=found is not None, origin=origin or None, where=str(found or cache_dir() / spec.name),
                       size=_folder_size(folder) if folder is not None else None,
                       get=None if found is not None else how_to_get(spec.name))
        rows.append(row)
    return rows


def download_dataset(name: str, progress: DownloadProgress | None = None, base_url: str | None = None) -> Path:
    """Download every file of ``name`` into ``cache_dir() / name``; files already there with the right MD5 stay.

    Parameters
    ----------
    name : str
        A downloadable data set of :data:`DATASETS`.
    progress : callable, optional
        ``progress(done_bytes, total_bytes_or_None, filename)`` as each file streams in (``done`` restarts at 0
        for each file).
    base_url : str, optional
        Replaces the folder of every URL (``base_url/filename``): a mirror, or a local server in tests.

    Returns
    -------
    Path
        The data set's folder in the cache.

    Raises
    ------
    DataError
        For an unknown or built-in name.
    DownloadError
        When a file cannot be downloaded or fails its checksum; files completed before it are kept.
    """
    spec = get_spec(name)
    if spec.builtin:
        raise DataError(f"data set {name!r} is built in; there is nothing to download")
    if name == IMAGE_FOLDER_DATASET:
        raise DataError(f"data set {name!r} is a folder of your own; there is nothing to download")
    folder = cache_dir() / name
    for filename, url, md5 in spec.files:
        dest = folder / filename
        if dest.is_file() and not dest.is_symlink():
            if file_md5(dest) == md5:
                continue
            # A file with the wrong checksum is damaged; remove it so a failed download cannot leave it looking
            # complete.
            dest.unlink()
        if base_url is not None:
            url = f"{base_url.rstrip('/')}/{filename}"
        file_progress = _for_file(progress, filename) if progress is not None else None
        download(url, dest, md5, progress=file_progress)
    forget(name)
    return folder


def _for_file(progress: DownloadProgress, filename: str):
    return lambda done, total: progress(done, total, filename)


def forget(name: str | None = None) -> None:
    """Drop loaded data sets from the in-process cache: those of ``name``, or all of them."""
    with _memory_lock:
        for key in [key for key in _memory if name is None or key[0] == name]:
            del _memory[key]


def _remember(key: tuple, load: Callable[[], Dataset]) -> Dataset:
    with _memory_lock:
        if key in _memory:
            _memory.move_to_end(key)
            return _memory[key]
    # Load outside the lock: CIFAR-10 takes seconds, and another thread may want a different data set meanwhile.
    dataset = load()
    with _memory_lock:
        _memory[key] = dataset
        _memory.move_to_end(key)
        while len(_memory) > MEMORY_CACHE_ENTRIES:
            _memory.popitem(last=False)
    return dataset


def _folder_size(folder: Path) -> int:
    """Bytes in the regular files under ``folder`` (links are not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for filename in files:
            info = os.lstat(os.path.join(root, filename))
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total
