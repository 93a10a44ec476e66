"""Reading members out of archives and folders without extracting: what is refused, and how."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from gdstudio.config import DataError
from gdstudio.data import archive
from gdstudio.data.archive import iter_tar_members, open_maybe_gzip, read_capped, read_folder_file


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def regular(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def read_all(path: Path, wanted: dict[str, int], **kwargs) -> dict[str, bytes]:
    return dict(iter_tar_members(path, wanted, **kwargs))


def test_reads_the_wanted_members_and_ignores_the_rest(tmp_path):
    path = make_tar(tmp_path / "a.tar.gz", [special("top", tarfile.DIRTYPE), regular("top/a", b"alpha"),
                                            regular("top/readme", b"x" * 100), regular("./top/b", b"beta")])
    assert read_all(path, {"top/a": 10, "top/b": 10}) == {"top/a": b"alpha", "top/b": b"beta"}


def test_uncompressed_tar_works_too(tmp_path):
    path = make_tar(tmp_path / "a.tar", [regular("a", b"alpha")], mode="w")
    assert read_all(path, {"a": 10}) == {"a": b"alpha"}


@pytest.mark.parametrize("name", ["../evil", "top/../../evil", "/etc/evil", "top\\..\\evil"])
def test_unsafe_member_names_are_refused(tmp_path, name):
    path = make_tar(tmp_path / "a.tar.gz", [regular(name, b"boom"), regular("a", b"alpha")])
    with pytest.raises(DataError, match="unsafe name") as caught:
        read_all(path, {"a": 10})
    assert str(path) in str(caught.value)
    assert not (tmp_path.parent / "evil").exists() and not (tmp_path / "evil").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE,
                                  tarfile.FIFOTYPE])
def test_links_devices_and_fifos_are_refused(tmp_path, kind):
    path = make_tar(tmp_path / "a.tar.gz", [regular("a", b"alpha"), special("b", kind, linkname="a")])
    with pytest.raises(DataError, match="not a regular file"):
        read_all(path, {"a": 10, "b": 10})


def test_symlink_to_outside_is_refused_even_when_not_wanted(tmp_path):
    path = make_tar(tmp_path / "a.tar.gz", [special("link", tarfile.SYMTYPE, linkname="/etc/passwd"),
                                            regular("a", b"alpha")])
    with pytest.raises(DataError, match="'link'"):
        read_all(path, {"a": 10})


def test_member_larger_than_expected_is_refused(tmp_path):
    path = make_tar(tmp_path / "a.tar.gz", [regular("a", b"x" * 11)])
    with pytest.raises(DataError, match="more than 10"):
        read_all(path, {"a": 10})


def test_member_larger_than_the_global_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_ARCHIVE_MEMBER_BYTES", 4)
    path = make_tar(tmp_path / "a.tar.gz", [regular("a", b"x" * 5)])
    with pytest.raises(DataError, match="more than 4"):
        read_all(path, {"a": 1000})


def test_missing_member_is_named_unless_optional(tmp_path):
    path = make_tar(tmp_path / "a.tar.gz", [regular("a", b"alpha")])
    with pytest.raises(DataError, match="lacks b"):
        read_all(path, {"a": 10, "b": 10})
    assert read_all(path, {"a": 10, "b": 10}, optional={"b"}) == {"a": b"alpha"}


def test_duplicate_member_is_refused(tmp_path):
    path = make_tar(tmp_path / "a.tar.gz", [regular("a", b"one"), regular("a", b"two")])
    with pytest.raises(DataError, match="twice"):
        read_all(path, {"a": 10, "b": 10}, optional={"b"})


@pytest.mark.parametrize("content", [b"", b"this is not an archive at all" * 20, gzip.compress(b"not a tar" * 99),
                                     b"\x1f\x8b" + b"\x00" * 50])
def test_garbage_and_empty_archives_raise_data_error_naming_the_file(tmp_path, content):
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_all(path, {"a": 10})
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_archive_raises_data_error(tmp_path, keep):
    members = [regular(f"m{k}", os.urandom(20_000)) for k in range(5)]
    whole = make_tar(tmp_path / "whole.tar.gz", members).read_bytes()
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(DataError) as caught:
        read_all(path, {f"m{k}": 30_000 for k in range(5)})
    assert str(path) in str(caught.value)


def test_missing_archive_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_all(tmp_path / "nope.tar.gz", {"a": 1})


def test_folder_file_reads_regular_files(tmp_path):
    (tmp_path / "a").write_bytes(b"alpha")
    assert read_folder_file(tmp_path, "a", 10) == b"alpha"


def test_folder_file_refuses_links_large_files_and_unsafe_names(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 11)
    (tmp_path / "target").write_bytes(b"secret")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    (tmp_path / "sub").mkdir()
    with pytest.raises(DataError, match="more than"):
        read_folder_file(tmp_path, "big", 10)
    with pytest.raises(DataError, match="symbolic link"):
        read_folder_file(tmp_path, "link", 10)
    with pytest.raises(DataError, match="not a regular file"):
        read_folder_file(tmp_path, "sub", 10)
    with pytest.raises(DataError, match="unsafe"):
        read_folder_file(tmp_path / "sub", "../target", 10)
    with pytest.raises(DataError, match="not found"):
        read_folder_file(tmp_path, "absent", 10)


def test_gzip_reading_is_capped_without_decompressing_everything(tmp_path):
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(b"\x00" * 20_000_000))  # ~20 kB on disk, 20 MB inside
    with open_maybe_gzip(path) as file, pytest.raises(DataError, match="more than the 1,000,000 bytes"):
        read_capped(file, 1_000_000, path)


def test_open_maybe_gzip_reads_plain_and_gzip_alike(tmp_path):
    (tmp_path / "plain").write_bytes(b"hello")
    (tmp_path / "packed").write_bytes(gzip.compress(b"hello"))
    for name in ("plain", "packed"):
        with open_maybe_gzip(tmp_path / name) as file:
            assert read_capped(file, 10, tmp_path / name) == b"hello"


def test_truncated_gzip_raises_data_error(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(os.urandom(50_000))[:20_000])
    with open_maybe_gzip(path) as file, pytest.raises(DataError, match="truncated"):
        read_capped(file, 100_000, path)
