"""The downloader against a local HTTP server: success, and every way it can fail without leaving a file."""

from __future__ import annotations

import io
import os
import socket
import urllib.request

import pytest

from gdstudio.config import DownloadError
from gdstudio.data.download import _SafeRedirects, download, file_md5, partial_path

BODY = os.urandom(300_000)  # several DOWNLOAD_CHUNK_BYTES chunks


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_success_with_progress(tmp_path, file_server):
    md5 = file_server.add("/data.bin", BODY)
    calls = []
    dest = tmp_path / "sub" / "data.bin"
    assert download(f"{file_server.url}/data.bin", dest, md5, progress=lambda d, t: calls.append((d, t))) == dest
    assert dest.read_bytes() == BODY and file_md5(dest) == md5
    assert calls[0] == (0, len(BODY)) and calls[-1] == (len(BODY), len(BODY)) and len(calls) > 3
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    assert leftovers(dest.parent) == ["data.bin"]


def test_success_without_content_length(tmp_path, file_server):
    md5 = file_server.add("/data.bin", BODY)
    calls = []
    dest = download(f"{file_server.url}/nolength/data.bin", tmp_path / "d", md5,
                    progress=lambda d, t: calls.append((d, t)))
    assert dest.read_bytes() == BODY and calls[-1] == (len(BODY), None)


def test_follows_an_http_redirect(tmp_path, file_server):
    md5 = file_server.add("/data.bin", BODY)
    assert download(f"{file_server.url}/redirect/data.bin", tmp_path / "d", md5).read_bytes() == BODY


def test_replaces_an_existing_file_only_on_success(tmp_path, file_server):
    md5 = file_server.add("/data.bin", BODY)
    dest = tmp_path / "d"
    dest.write_bytes(b"old")
    download(f"{file_server.url}/data.bin", dest, md5)
    assert dest.read_bytes() == BODY


def test_checksum_mismatch_leaves_nothing(tmp_path, file_server):
    file_server.add("/data.bin", BODY)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(f"{file_server.url}/data.bin", tmp_path / "d", "0" * 32)
    assert leftovers(tmp_path) == []


def test_connection_dropped_midway_leaves_nothing(tmp_path, file_server):
    md5 = file_server.add("/data.bin", BODY)
    with pytest.raises(DownloadError, match=r"after 150,000 of 301,000 bytes|connection failed"):
        download(f"{file_server.url}/short/data.bin", tmp_path / "d", md5)
    assert leftovers(tmp_path) == []


def test_http_404(tmp_path, file_server):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{file_server.url}/absent.bin", tmp_path / "d", "0" * 32)
    assert leftovers(tmp_path) == []


def test_timeout_leaves_nothing(tmp_path, file_server):
    with pytest.raises(DownloadError, match="(?i)timed out"):
        download(f"{file_server.url}/slow", tmp_path / "d", "0" * 32, timeout=0.3)
    assert leftovers(tmp_path) == []


def test_connection_refused(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot connect"):
        download(f"http://127.0.0.1:{port}/x", tmp_path / "d", "0" * 32, timeout=2)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "data:,hello", "/local/path"])
def test_only_http_urls(tmp_path, url):
    with pytest.raises(DownloadError, match="only http and https"):
        download(url, tmp_path / "d", "0" * 32)


def test_redirect_to_another_scheme_is_refused(tmp_path, file_server):
    with pytest.raises(DownloadError, match="refusing a redirect"):
        download(f"{file_server.url}/to-ftp", tmp_path / "d", "0" * 32)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("original, target, allowed", [
    ("https://a.example/x", "http://b.example/x", False),
    ("https://a.example/x", "https://b.example/x", True),
    ("http://a.example/x", "https://b.example/x", True),
    ("http://a.example/x", "file:///etc/passwd", False),
])
def test_redirect_policy(original, target, allowed):
    handler = _SafeRedirects(original)
    request = urllib.request.Request(original)
    if allowed:
        assert handler.redirect_request(request, io.BytesIO(), 302, "Found", {}, target).full_url == target
    else:
        with pytest.raises(DownloadError, match="refusing a redirect"):
            handler.redirect_request(request, io.BytesIO(), 302, "Found", {}, target)


def test_cancelling_progress_callback_propagates_and_cleans_up(tmp_path, file_server):
    md5 = file_server.add("/data.bin", BODY)

    class Cancelled(Exception):
        pass

    def progress(done, total):
        if done > 100_000:
            raise Cancelled

    with pytest.raises(Cancelled):
        download(f"{file_server.url}/data.bin", tmp_path / "d", md5, progress=progress)
    assert leftovers(tmp_path) == []


def test_partial_file_name():
    from pathlib import Path

    assert partial_path(Path("/c/mnist/train.gz")) == Path("/c/mnist/.train.gz.part")


def test_a_dropped_download_restarts_cleanly_on_the_next_try(tmp_path, file_server):
    md5 = file_server.add("/data.bin", BODY)
    dest = tmp_path / "d"
    with pytest.raises(DownloadError):
        download(f"{file_server.url}/short/data.bin", dest, md5)
    assert not dest.exists()
    assert download(f"{file_server.url}/data.bin", dest, md5).read_bytes() == BODY
    assert leftovers(tmp_path) == ["d"]
