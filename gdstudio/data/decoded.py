"""Decompressed copies of gzipped data files, kept in the cache folder so that a second load skips the gzip.

Decompressing Fashion-MNIST's 47 MB of training images takes about 0.3 s of every run; reading an uncompressed IDX
file is a memory map. A copy is named after its source file's identity (resolved path, size, modification and
change times, inode): a source that changes in any way gets a new name, so a stale copy is never found. Copies
are written to a temporary name and renamed into place, so a copy that exists is complete.

A copy changes nothing about what a load checks: the reader reads it like the source (header, counts, sizes) and
hashes every byte it returns on every load, so a system copy's content is still checked against its recorded
SHA-256 each time (and a copy that fails is dropped and the source read again).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

SOURCE_NOTE = "source.txt"
"""In each copy's folder: the path of the file it was decompressed from (for people, and to drop old copies)."""


class DecodedCopies:
    """Decompressed copies of the files of one folder, in ``root`` (made when the first copy is stored).

    Parameters
    ----------
    root : Path
        The folder that holds every copy (``<cache folder>/.decoded``).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._pending: list[tuple[Path, tuple, str, tuple[bytes, ...]]] = []

    def find(self, source: Path, name: str) -> Path | None:
        """The complete copy of ``source`` (as it is now) named ``name``, or ``None``."""
        version = identity(source)
        if version is None:
            return None
        copy = self.root / _folder_name(version) / name
        return copy if copy.is_file() and not copy.is_symlink() else None

    def discard(self, copy: Path) -> None:
        """Remove a copy that failed its checks (the source is read again)."""
        shutil.rmtree(copy.parent, ignore_errors=True)

    def add(self, source: Path, version: tuple | None, name: str, parts: tuple[bytes, ...]) -> None:
        """Queue the decompressed bytes ``parts`` of ``source``, whose :func:`identity` was ``version`` before it
        was read, as the copy ``name``, to be written by :meth:`store` (once the whole data set has passed)."""
        if version is not None:
            self._pending.append((source, version, name, parts))

    def store(self) -> None:
        """Write the queued copies; quietly skip any that cannot be written (a read-only cache folder) or whose
        source changed while it was read."""
        pending, self._pending = self._pending, []
        for source, version, name, parts in pending:
            if identity(source) != version:
                continue
            try:
                self._write(version, name, parts)
            except OSError:
                continue

    def _write(self, version: tuple, name: str, parts: tuple[bytes, ...]) -> None:
        folder = self.root / _folder_name(version)
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as file:
                for part in parts:
                    file.write(part)
            os.replace(temporary, folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        (folder / SOURCE_NOTE).write_text(str(version[0]) + "\n", encoding="utf-8")
        self._drop_older_copies(version[0], keep=folder)

    def _drop_older_copies(self, source: str, keep: Path) -> None:
        """Remove the copies of earlier versions of ``source`` (they can never be found again)."""
        for folder in self.root.iterdir():
            if folder == keep or not folder.is_dir():
                continue
            try:
                if (folder / SOURCE_NOTE).read_text(encoding="utf-8").strip() == source:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue


def identity(source: Path) -> tuple | None:
    """What names the current version of ``source``: ``(resolved path, size, mtime_ns, ctime_ns, inode)``, or
    ``None`` when it cannot be read."""
    try:
        path = Path(source).resolve()
        info = path.stat()
    except OSError:
        return None
    return str(path), info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


def _folder_name(version: tuple) -> str:
    return hashlib.sha256(repr(version).encode("utf-8")).hexdigest()[:32]
