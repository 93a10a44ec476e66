"""Download one file, all or nothing: stream to a hidden partial file, check size and MD5, then rename.

An interrupted, short or corrupt download never leaves a file at the destination: the partial file is removed
on every failure, and the rename into place is atomic (``os.replace`` within one folder).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from gdstudio.config import DOWNLOAD_CHUNK_BYTES, DOWNLOAD_TIMEOUT_S, DownloadError

ALLOWED_SCHEMES = ("http", "https")
USER_AGENT = "gdstudio (Python urllib)"

Progress = Callable[[int, "int | None"], None]
"""``progress(done_bytes, total_bytes_or_None)``, called after every chunk (and once at the start)."""


def partial_path(dest: Path) -> Path:
    """Where the download to ``dest`` streams before it is checked: ``.NAME.part`` next to it."""
    return dest.with_name(f".{dest.name}.part")


def download(url: str, dest: Path, md5: str, progress: Progress | None = None,
             timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Download ``url`` to ``dest``, verifying its size and MD5; on any failure nothing is left at ``dest``.

    Parameters
    ----------
    url : str
        An ``http://`` or ``https://`` URL. Redirects are followed, but never from https to plain http.
    dest : Path
        The final file; its folder is created if needed. An existing file is replaced only on success.
    md5 : str
        The expected MD5, hexadecimal.
    progress : callable, optional
        ``progress(done_bytes, total_bytes_or_None)``. It may raise to cancel: the partial file is removed
        and its exception propagates.
    timeout : float
        Seconds that connecting, or waiting for any one chunk, may take.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DownloadError
        On a bad URL, an HTTP error status, a refused redirect, a network error or timeout, fewer bytes than
        announced, a checksum mismatch, or when the file cannot be written.
    """
    dest = Path(dest)
    if not isinstance(md5, str) or len(md5) != 32 or not all(c in "0123456789abcdefABCDEF" for c in md5):
        raise ValueError(f"md5 must be 32 hexadecimal digits, got {md5!r}")
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise DownloadError(f"{url}: only http and https URLs can be downloaded")
    part = partial_path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _fetch(url, part, md5, progress, timeout)
        os.replace(part, dest)
    except BaseException as error:
        # Anything, a KeyboardInterrupt or a cancelling progress callback included, must not leave the part behind.
        part.unlink(missing_ok=True)
        if isinstance(error, OSError):
            # Network errors were turned into DownloadError already; this is the local disk (full, read-only).
            raise DownloadError(f"{url}: cannot write {dest} ({_describe(error)})") from error
        raise
    return dest


def file_md5(path: Path) -> str:
    """The MD5 of the file at ``path``, hexadecimal."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, part: Path, md5: str, progress: Progress | None, timeout: float) -> None:
    opener = urllib.request.build_opener(_SafeRedirects(url))
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        raise DownloadError(f"{url}: the server answered HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise DownloadError(f"{url}: cannot connect ({_describe(error.reason)})") from None
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(f"{url}: cannot connect ({_describe(error)})") from None
    with response:
        total = _content_length(response)
        digest = hashlib.md5(usedforsecurity=False)
        done = 0
        if progress is not None:
            progress(0, total)
        with open(part, "wb") as file:
            while True:
                try:
                    chunk = response.read(DOWNLOAD_CHUNK_BYTES)
                except (OSError, http.client.HTTPException) as error:
                    raise DownloadError(f"{url}: the connection failed after {done:,} bytes "
                                        f"({_describe(error)})") from None
                if not chunk:
                    break
                file.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if total is not None and done > total:
                    raise DownloadError(f"{url}: the server sent more than the {total:,} bytes it announced")
                if progress is not None:
                    progress(done, total)
            file.flush()
            os.fsync(file.fileno())
    if total is not None and done != total:
        raise DownloadError(f"{url}: the connection closed after {done:,} of {total:,} bytes")
    if digest.hexdigest() != md5.lower():
        raise DownloadError(f"{url}: checksum mismatch: MD5 {digest.hexdigest()}, expected {md5.lower()}")


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to http(s), and never from an https URL down to plain http."""

    def __init__(self, original_url: str):
        super().__init__()
        self._https = urllib.parse.urlsplit(original_url).scheme.lower() == "https"

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        scheme = urllib.parse.urlsplit(newurl).scheme.lower()
        if scheme not in ALLOWED_SCHEMES or (self._https and scheme != "https"):
            fp.close()
            raise DownloadError(f"{req.full_url}: refusing a redirect to {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _describe(error: object) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
