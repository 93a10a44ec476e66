"""Read the expected files out of a tar archive, a folder or a gzip file, without extracting anything.

Nothing here writes to disk, so no member name can escape a folder; but a member that is a link, a device, or
has a name with ``..`` or an absolute path still makes the whole archive suspect, and it is refused. Every size
is checked before the bytes are read, so a lying header never causes a large allocation. Every failure is a
:class:`~gdstudio.config.DataError` whose message names the file.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import tarfile
import zlib
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from gdstudio.config import MAX_ARCHIVE_MEMBER_BYTES, DataError

GZIP_MAGIC = b"\x1f\x8b"

# What a damaged archive can raise from inside tarfile/gzip/zlib; each is turned into a DataError.
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError, ValueError)


def _member_name(name: str) -> str:
    """``name`` without a leading ``./``: how tar tools sometimes write the same relative path."""
    while name.startswith("./"):
        name = name[2:]
    return name


def check_member_name(name: str, where: Path) -> None:
    """Refuse a member name that is absolute or climbs out of its folder.

    Raises
    ------
    DataError
        If ``name`` is absolute, has a ``..`` part, a drive letter or a backslash.
    """
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"{where}: refusing archive member with an unsafe name {name!r}")


def iter_tar_members(path: Path, wanted: Mapping[str, int],
                     optional: Collection[str] = ()) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, data)`` for each member of the tar(.gz) at ``path`` that ``wanted`` names.

    The archive is read as a stream from start to end, once; each member's bytes are read only when it is
    yielded, so a caller that converts and drops each one holds one member in memory at a time. The whole
    archive is read even after the last wanted member, so that a bad member or a cut-off end anywhere is noticed.

    Parameters
    ----------
    path : Path
        A tar archive, compressed with gzip, bzip2 or xz or not at all.
    wanted : mapping of str to int
        Member name (relative, ``/``-separated) to the largest size in bytes it may have.
    optional : collection of str
        Names in ``wanted`` that the archive may lack.

    Raises
    ------
    DataError
        If the archive is empty, garbage or truncated; if any member is a link, a device or another non-regular
        file, or has an unsafe name; if a wanted member is larger than allowed (or than
        ``MAX_ARCHIVE_MEMBER_BYTES``) or appears twice; if a wanted member (not optional) is missing.
    """
    found: set[str] = set()
    _require_file(path)
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the archive is empty")
        with tarfile.open(path, mode="r|*") as tar:
            for member in tar:
                check_member_name(member.name, path)
                if not (member.isfile() or member.isdir()):
                    raise DataError(f"{path}: refusing archive member {member.name!r}: not a regular file or folder")
                name = _member_name(member.name)
                if name not in wanted or member.isdir():
                    continue
                if name in found:
                    raise DataError(f"{path}: archive member {name!r} appears twice")
                limit = min(wanted[name], MAX_ARCHIVE_MEMBER_BYTES)
                if member.size > limit:
                    raise DataError(f"{path}: archive member {name!r} is {member.size:,} bytes, more than {limit:,}")
                stream = tar.extractfile(member)
                data = stream.read(member.size) if stream is not None else b""
                if len(data) != member.size:
                    raise DataError(f"{path}: archive member {name!r} is truncated")
                found.add(name)
                yield name, data
    except DataError:
        raise
    except _READ_ERRORS as error:
        raise DataError(f"{path}: not a readable tar archive, or damaged ({_describe(error)})") from error
    missing = sorted(set(wanted) - found - set(optional))
    if missing:
        raise DataError(f"{path}: the archive lacks {', '.join(missing)}")


def list_tar_names(path: Path, limit: int = 1000) -> list[str]:
    """The names of the first ``limit`` members of the tar(.gz) at ``path`` (to tell which format it holds).

    Raises
    ------
    DataError
        If the archive is empty, garbage or truncated before its first member.
    """
    names = []
    _require_file(path)
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the archive is empty")
        with tarfile.open(path, mode="r|*") as tar:
            for member in tar:
                names.append(_member_name(member.name))
                if len(names) >= limit:
                    break
    except DataError:
        raise
    except _READ_ERRORS as error:
        raise DataError(f"{path}: not a readable tar archive, or damaged ({_describe(error)})") from error
    if not names:
        raise DataError(f"{path}: the archive holds no files")
    return names


def read_folder_file(folder: Path, name: str, limit: int) -> bytes:
    """Read ``folder/name``, which must be a regular file (not a link) of at most ``limit`` bytes.

    Raises
    ------
    DataError
        If the file is missing, is a link or another non-regular file, is too large, or cannot be read.
    """
    check_member_name(name, folder)
    path = folder / name
    limit = min(limit, MAX_ARCHIVE_MEMBER_BYTES)
    info = _regular_file(path)
    if info.st_size > limit:
        raise DataError(f"{path}: {info.st_size:,} bytes, more than the {limit:,} expected")
    try:
        # O_NOFOLLOW closes the gap between the lstat above and the open, where the OS has it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as file:
            return read_capped(file, limit, path)
    except DataError:
        raise
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise DataError(f"{path}: refusing to follow a symbolic link") from None
        raise DataError(f"{path}: cannot read it ({_describe(error)})") from error


def _regular_file(path: Path) -> os.stat_result:
    """``lstat`` of ``path``, refusing a missing file, a symbolic link or anything but a regular file."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({_describe(error)})") from error
    if stat.S_ISLNK(info.st_mode):
        raise DataError(f"{path}: refusing to follow a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{path}: not a regular file")
    return info


def read_capped(file: BinaryIO, limit: int, path: Path) -> bytes:
    """Read all of ``file``, refusing (without reading it all) one that holds more than ``limit`` bytes.

    Raises
    ------
    DataError
        If there are more than ``limit`` bytes, or the (compressed) stream is damaged or truncated.
    """
    try:
        data = file.read(limit + 1)
    except _READ_ERRORS as error:
        raise DataError(f"{path}: damaged or truncated ({_describe(error)})") from error
    if len(data) > limit:
        raise DataError(f"{path}: more than the {limit:,} bytes expected")
    return data


def open_maybe_gzip(path: Path) -> BinaryIO:
    """Open ``path`` for reading, decompressing on the fly when it starts with the gzip magic bytes.

    The caller reads through :func:`read_capped` (or reads exact sizes it has checked), so a small file that
    decompresses to gigabytes is never held in memory.

    Raises
    ------
    DataError
        If the file is missing, a link, not a regular file, or cannot be opened.
    """
    info = _regular_file(path)
    try:
        with open(path, "rb") as probe:
            magic = probe.read(len(GZIP_MAGIC))
        return gzip.open(path, "rb") if magic == GZIP_MAGIC else open(path, "rb")  # type: ignore[return-value]
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({_describe(error)})") from error


def read_exactly(file: BinaryIO, size: int, path: Path, what: str) -> bytes:
    """Read exactly ``size`` bytes of ``what``; fewer (a truncated file) is a :class:`DataError`."""
    try:
        data = file.read(size)
    except _READ_ERRORS as error:
        raise DataError(f"{path}: damaged or truncated ({_describe(error)})") from error
    if len(data) != size:
        raise DataError(f"{path}: truncated: {what} needs {size:,} bytes, the file has {len(data):,}")
    return data


def expect_end(file: BinaryIO, path: Path) -> None:
    """Require that ``file`` has nothing left (trailing bytes mean the header undercounts)."""
    try:
        extra = file.read(1)
    except _READ_ERRORS as error:
        raise DataError(f"{path}: damaged or truncated ({_describe(error)})") from error
    if extra:
        raise DataError(f"{path}: more bytes than its header announces")


def _require_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
