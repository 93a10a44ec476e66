"""Issue 14 goal 2: gzipped IDX files are decompressed once; later loads map the decompressed copy kept in the
cache folder, with every check of a load unchanged (a system copy's content is still hashed on every load)."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
from fake_data_files import write_idx_folder

from gdstudio.config import DataError
from gdstudio.data import archive, registry
from gdstudio.data.idx import FILES, MNIST_CLASS_NAMES, load_idx
from gdstudio.data.registry import DECODED_FOLDER, cache_dir, load_dataset


def decoded_files() -> dict[str, list]:
    """``base name -> [copies]`` in the cache folder's decoded copies."""
    found: dict[str, list] = {}
    root = cache_dir() / DECODED_FOLDER
    for path in root.rglob("*") if root.exists() else ():
        if path.is_file() and path.name in FILES.values():
            found.setdefault(path.name, []).append(path)
    return found


@pytest.fixture
def gunzips(monkeypatch):
    """Counts the gzip streams opened by the data layer."""
    opened = []
    real = gzip.open

    def counting(path, *args, **kwargs):
        opened.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(archive.gzip, "open", counting)
    return opened


def load_fresh(name, path=None, **kwargs):
    registry.forget()  # as a new process would: nothing in memory
    return load_dataset(name, path, **kwargs)


def same(a, b) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f))
               for f in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"))


def test_a_second_load_maps_the_copy_instead_of_decompressing(tmp_path, gunzips):
    write_idx_folder(tmp_path / "m", n_train=48, n_test=12)
    first = load_fresh("mnist", tmp_path / "m")
    assert len(gunzips) == 4 and sorted(decoded_files()) == sorted(FILES.values())
    gunzips.clear()
    second = load_fresh("mnist", tmp_path / "m")
    assert gunzips == []  # nothing decompressed
    assert same(first, second)
    assert not second.X_train.flags.writeable  # a read-only map of the copy, as the arrays always were


def test_a_changed_source_is_decompressed_again_and_its_old_copy_dropped(tmp_path, gunzips):
    write_idx_folder(tmp_path / "m", seed=0)
    load_fresh("mnist", tmp_path / "m")
    arrays = write_idx_folder(tmp_path / "m", seed=1)  # same names and sizes, other content
    gunzips.clear()
    data = load_fresh("mnist", tmp_path / "m")
    assert len(gunzips) == 4
    assert np.array_equal(data.X_test, arrays[2]) and np.array_equal(data.y_test, arrays[3])
    assert all(len(copies) == 1 for copies in decoded_files().values())


def test_an_altered_copy_is_never_trained_on(tmp_path, gunzips):
    """A system copy's check is on the bytes trained on: a copy that differs from the recorded SHA-256 is dropped
    and the source decompressed again."""
    arrays = write_idx_folder(tmp_path / "m", n_train=48)
    digests = {}
    for base in FILES.values():
        with gzip.open(tmp_path / "m" / f"{base}.gz") as raw:
            digests[base] = hashlib.sha256(raw.read()).hexdigest()
    decoded = cache_dir() / DECODED_FOLDER

    def load():
        return load_idx(tmp_path / "m", "mnist", MNIST_CLASS_NAMES, expected_sha256=digests, decoded=decoded)

    load()
    [copy] = decoded_files()[FILES["train_images"]]
    content = bytearray(copy.read_bytes())
    content[100] ^= 0xFF
    copy.write_bytes(bytes(content))
    gunzips.clear()
    data = load()
    assert len(gunzips) == 1  # the altered one only
    assert np.array_equal(np.concatenate([data.X_train, data.X_val]), arrays[0])
    [again] = decoded_files()[FILES["train_images"]]
    assert again.read_bytes() != bytes(content)  # a good copy replaced it


def test_a_truncated_copy_is_dropped_and_the_source_read(tmp_path, gunzips):
    arrays = write_idx_folder(tmp_path / "m")
    load_fresh("mnist", tmp_path / "m")
    [copy] = decoded_files()[FILES["test_images"]]
    copy.write_bytes(copy.read_bytes()[:-5])
    data = load_fresh("mnist", tmp_path / "m")
    assert np.array_equal(data.X_test, arrays[2])


def test_a_set_that_fails_its_checks_is_not_kept(tmp_path):
    write_idx_folder(tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 4))
    with pytest.raises(DataError):
        load_fresh("mnist", tmp_path / "m")
    assert decoded_files() == {}


def test_a_cache_folder_that_cannot_be_written_only_costs_the_decompression(tmp_path, gunzips, monkeypatch):
    write_idx_folder(tmp_path / "m")
    (tmp_path / "a-file").write_bytes(b"")
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path / "a-file" / "cache"))  # no folder can be made there
    first = load_fresh("mnist", tmp_path / "m")
    second = load_fresh("mnist", tmp_path / "m")
    assert len(gunzips) == 8 and same(first, second)


def test_uncompressed_files_are_read_in_place_not_copied(tmp_path):
    arrays = write_idx_folder(tmp_path / "m", gz=False)
    data = load_fresh("mnist", tmp_path / "m")
    assert np.array_equal(data.X_test, arrays[2]) and not data.X_test.flags.writeable
    assert decoded_files() == {}


def test_the_real_fashion_mnist_loads_the_same_from_its_copy(system_fashion, gunzips):
    first = load_fresh("fashion-mnist")
    gunzips.clear()
    second = load_fresh("fashion-mnist")
    assert gunzips == [] and same(first, second)
    assert not (cache_dir() / "fashion-mnist").exists()  # the source is still read in place
