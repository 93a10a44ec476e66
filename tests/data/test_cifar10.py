"""CIFAR-10 from tiny files in both real formats, in every accepted layout; damaged and hostile files."""

from __future__ import annotations

import io
import os
import pickle
import tarfile

import numpy as np
import pytest
from fake_data_files import (
    CIFAR_NAMES,
    cifar_arrays,
    expected_hwc,
    py2_pickle,
    tar_folder,
    write_cifar_folder,
)

from gdstudio.config import DataError
from gdstudio.data.cifar10 import load_cifar10
from gdstudio.data.dataset import holdout_size

TRAIN_NAMES = [f"data_batch_{k}" for k in range(1, 6)]
ARCHIVES = {"binary": "cifar-10-binary.tar.gz", "python": "cifar-10-python.tar.gz"}


def layout(tmp_path, fmt: str, where: str, arrays=None):
    """Write CIFAR-10 as ``where`` says; return the path to give the loader."""
    arrays = cifar_arrays() if arrays is None else arrays
    folder = write_cifar_folder(tmp_path / "src", fmt, arrays)
    if where == "folder":
        return folder
    if where == "parent":
        return folder.parent
    archive = tar_folder(folder, tmp_path / ARCHIVES[fmt])
    if where == "archive":
        return archive
    if where == "renamed-archive":
        return archive.rename(tmp_path / "some-download.tgz")
    if where == "archive-in-folder":
        (tmp_path / "cache").mkdir()
        return archive.rename(tmp_path / "cache" / archive.name).parent
    raise AssertionError(where)


def check_matches(data, arrays):
    train_planes = np.concatenate([arrays[name][0] for name in TRAIN_NAMES])
    train_labels = np.concatenate([arrays[name][1] for name in TRAIN_NAMES])
    n_val = holdout_size(len(train_labels), 50_000, 1_000)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (100 - n_val, n_val, 20)
    X_all = np.concatenate([data.X_train, data.X_val])
    assert np.array_equal(X_all, expected_hwc(train_planes))
    assert np.array_equal(np.concatenate([data.y_train, data.y_val]), train_labels)
    assert np.array_equal(data.X_test, expected_hwc(arrays["test_batch"][0]))
    assert np.array_equal(data.y_test, arrays["test_batch"][1])
    for X, y in (data.split(which) for which in ("train", "val", "test")):
        assert X.dtype == np.uint8 and X.shape[1] == 3072 and X.flags.c_contiguous
        assert y.dtype == np.int32
    assert data.image_shape == (32, 32, 3) and data.max_value == 255 and data.name == "cifar10"
    assert data.class_names == CIFAR_NAMES


@pytest.mark.parametrize("fmt", ["binary", "python"])
@pytest.mark.parametrize("where", ["folder", "parent", "archive", "renamed-archive", "archive-in-folder"])
def test_loads_every_layout(tmp_path, fmt, where):
    arrays = cifar_arrays()
    check_matches(load_cifar10(layout(tmp_path, fmt, where, arrays)), arrays)


def test_rows_are_hwc_images():
    arrays = cifar_arrays()
    planes = arrays["test_batch"][0][0]
    image = expected_hwc(planes[None])[0].reshape(32, 32, 3)
    # Channel c of pixel (row, col) is byte c * 1024 + row * 32 + col of the record.
    assert image[3, 5, 2] == planes[2 * 1024 + 3 * 32 + 5]


def test_binary_and_python_give_the_same_data(tmp_path):
    arrays = cifar_arrays(seed=4)
    a = load_cifar10(layout(tmp_path / "a", "binary", "archive", arrays))
    b = load_cifar10(layout(tmp_path / "b", "python", "archive", arrays))
    for which in ("train", "val", "test"):
        assert np.array_equal(a.split(which)[0], b.split(which)[0])
        assert np.array_equal(a.split(which)[1], b.split(which)[1])


def test_split_rule_matches_cs231n_on_full_size_data():
    assert holdout_size(50_000, 50_000, 1_000) == 1_000
    assert holdout_size(100, 50_000, 1_000) == 2
    assert holdout_size(10, 50_000, 1_000) == 1
    assert holdout_size(2, 50_000, 1_000) == 1


def test_missing_meta_falls_back_to_standard_names(tmp_path):
    folder = write_cifar_folder(tmp_path, "binary", cifar_arrays(), meta=False)
    assert load_cifar10(tar_folder(folder, tmp_path / "x.tar.gz")).class_names == CIFAR_NAMES
    assert load_cifar10(folder).class_names == CIFAR_NAMES


def test_python_pickles_with_bytes_keys_written_by_python3(tmp_path):
    arrays = cifar_arrays()
    folder = write_cifar_folder(tmp_path, "python", arrays)
    for name, (planes, labels) in arrays.items():
        batch = {b"data": planes, b"labels": labels.astype(int).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    check_matches(load_cifar10(folder), arrays)


def test_nothing_cifar_like_is_named(tmp_path):
    with pytest.raises(DataError, match="no CIFAR-10 here"):
        load_cifar10(tmp_path)


@pytest.mark.parametrize("fmt", ["binary", "python"])
def test_missing_batch_is_named(tmp_path, fmt):
    folder = write_cifar_folder(tmp_path, fmt, cifar_arrays())
    victim = "data_batch_3.bin" if fmt == "binary" else "data_batch_3"
    (folder / victim).unlink()
    with pytest.raises(DataError, match="data_batch_3"):
        load_cifar10(folder)
    archive = tar_folder(folder, tmp_path / ARCHIVES[fmt])
    with pytest.raises(DataError, match="data_batch_3"):
        load_cifar10(archive)


def test_binary_batch_that_is_not_whole_records(tmp_path):
    folder = write_cifar_folder(tmp_path, "binary", cifar_arrays())
    with open(folder / "data_batch_2.bin", "ab") as file:
        file.write(b"\x00" * 100)
    with pytest.raises(DataError, match="data_batch_2.bin.*whole number"):
        load_cifar10(folder)


def test_binary_batch_too_large_is_refused_before_reading(tmp_path):
    folder = write_cifar_folder(tmp_path, "binary", cifar_arrays())
    with open(folder / "test_batch.bin", "r+b") as file:
        file.truncate(10_001 * 3073)  # sparse: one record more than a real batch
    with pytest.raises(DataError, match="test_batch.bin.*more than"):
        load_cifar10(folder)


def test_label_out_of_range(tmp_path):
    arrays = cifar_arrays()
    arrays["data_batch_1"][1][5] = 10
    with pytest.raises(DataError, match="labels must lie in 0..9"):
        load_cifar10(layout(tmp_path, "binary", "archive", arrays))


@pytest.mark.parametrize("batch", [
    {"data": np.zeros((20, 3072), np.float32), "labels": [0] * 20},
    {"data": np.zeros((20, 3071), np.uint8), "labels": [0] * 20},
    {"data": [[0] * 3072] * 20, "labels": [0] * 20},
    {"data": np.zeros((20, 3072), np.uint8), "labels": [0] * 19},
    {"data": np.zeros((20, 3072), np.uint8), "labels": ["0"] * 20},
    {"labels": [0] * 20},
    [1, 2, 3],
])
def test_python_batches_of_the_wrong_shape_or_type(tmp_path, batch):
    folder = write_cifar_folder(tmp_path, "python", cifar_arrays())
    (folder / "data_batch_4").write_bytes(pickle.dumps(batch, protocol=2 if isinstance(batch, list) else 4))
    with pytest.raises(DataError, match="data_batch_4"):
        load_cifar10(folder)


@pytest.mark.parametrize("content", [b"", b"garbage" * 100, py2_pickle({"data": 1})[:-10]])
def test_damaged_python_batch(tmp_path, content):
    folder = write_cifar_folder(tmp_path, "python", cifar_arrays())
    (folder / "test_batch").write_bytes(content)
    with pytest.raises(DataError, match="test_batch"):
        load_cifar10(folder)


class _RunsCode:
    """Unpickling this calls ``func(*args)``: what an attacker would put in a batch file."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _hostile_payloads(marker):
    return [
        _RunsCode(os.system, f"touch {marker}"),
        _RunsCode(open, str(marker), "w"),
        _RunsCode(exec, f"open({str(marker)!r}, 'w').close()"),
        _RunsCode(eval, f"open({str(marker)!r}, 'w')"),
    ]


@pytest.mark.parametrize("index", range(4))
@pytest.mark.parametrize("member", ["data_batch_1", "test_batch", "batches.meta"])
def test_hostile_pickle_never_runs(tmp_path, index, member):
    marker = tmp_path / "marker"
    payload = _hostile_payloads(marker)[index]
    folder = write_cifar_folder(tmp_path / "src", "python", cifar_arrays())
    (folder / member).write_bytes(pickle.dumps({"data": payload, "labels": [0], "label_names": payload},
                                               protocol=2))
    with pytest.raises(DataError, match="refusing to load"):
        load_cifar10(folder)
    with pytest.raises(DataError, match="refusing to load"):
        load_cifar10(tar_folder(folder, tmp_path / "cifar-10-python.tar.gz"))
    assert not marker.exists()


def test_pickle_asking_numpy_for_a_huge_array_is_refused(tmp_path):
    folder = write_cifar_folder(tmp_path, "python", cifar_arrays())
    huge = _RunsCode(np.ndarray, (10**10, 10**10))
    (folder / "data_batch_1").write_bytes(pickle.dumps({"data": huge, "labels": []}, protocol=2))
    with pytest.raises(DataError, match="data_batch_1"):
        load_cifar10(folder)


def test_archive_with_an_escaping_member_is_refused(tmp_path):
    folder = write_cifar_folder(tmp_path / "src", "binary", cifar_arrays())
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
        info = tarfile.TarInfo("cifar-10-batches-bin/../../escape")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"boom"))
    with pytest.raises(DataError, match="unsafe name"):
        load_cifar10(archive)


def test_truncated_archive(tmp_path):
    archive = layout(tmp_path, "binary", "archive")
    archive.write_bytes(archive.read_bytes()[:-5000])
    with pytest.raises(DataError, match=str(archive.name)):
        load_cifar10(archive)
