"""MNIST-style IDX files: loading, the split rule, and every header lie we can think of."""

from __future__ import annotations

import gzip
import struct
import tracemalloc

import numpy as np
import pytest
from fake_data_files import idx_images_bytes, idx_labels_bytes, write_idx_folder

from gdstudio.config import DataError
from gdstudio.data.dataset import holdout_size
from gdstudio.data.idx import FASHION_CLASS_NAMES, MNIST_CLASS_NAMES, load_idx, read_idx_images, read_idx_labels


def load(path, name="mnist"):
    return load_idx(path, name=name, class_names=MNIST_CLASS_NAMES)


@pytest.mark.parametrize("gz", [True, False])
def test_loads_gzipped_and_plain_folders(tmp_path, gz):
    X_full, y_full, X_test, y_test = write_idx_folder(tmp_path, n_train=24, n_test=12, gz=gz)
    data = load(tmp_path)
    n_val = holdout_size(24, 60_000, 5_000)
    assert n_val == 2
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (22, 2, 12)
    assert np.array_equal(np.concatenate([data.X_train, data.X_val]), X_full)
    assert np.array_equal(np.concatenate([data.y_train, data.y_val]), y_full)
    assert np.array_equal(data.X_test, X_test) and np.array_equal(data.y_test, y_test)
    for X, y in (data.split(which) for which in ("train", "val", "test")):
        assert X.dtype == np.uint8 and X.shape[1] == 784 and y.dtype == np.int32
    assert data.image_shape == (28, 28, 1) and data.max_value == 255 and data.class_names == MNIST_CLASS_NAMES


def test_path_to_one_of_the_files_means_its_folder(tmp_path):
    write_idx_folder(tmp_path)
    assert len(load(tmp_path / "t10k-labels-idx1-ubyte.gz").y_test) == 12


def test_fashion_names_and_real_split_sizes():
    assert len(FASHION_CLASS_NAMES) == 10 and FASHION_CLASS_NAMES[0] == "T-shirt/top"
    assert FASHION_CLASS_NAMES[-1] == "Ankle boot"
    assert holdout_size(60_000, 60_000, 5_000) == 5_000


def test_missing_file_is_named(tmp_path):
    write_idx_folder(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="train-labels-idx1-ubyte"):
        load(tmp_path)


def test_not_a_folder(tmp_path):
    (tmp_path / "x").write_bytes(b"hi")
    with pytest.raises(DataError, match="folder"):
        load(tmp_path / "x")


def write(tmp_path, name, data, gz=True):
    path = tmp_path / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [True, False])
def test_header_claiming_a_billion_images_fails_fast_without_allocating(tmp_path, gz):
    images = np.zeros((3, 784), np.uint8)
    path = write(tmp_path, "train-images-idx3-ubyte", idx_images_bytes(images, count=10**9), gz)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="1,000,000,000 images"):
            read_idx_images(path, 60_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # refused from the header alone: nothing near the announced 784 GB was allocated (the memory says it, where a
    # time limit would only say how busy the machine was)
    assert peak < 5_000_000


@pytest.mark.parametrize("gz", [True, False])
def test_header_claiming_more_than_the_data_holds(tmp_path, gz):
    images = np.zeros((3, 784), np.uint8)
    path = write(tmp_path, "train-images-idx3-ubyte", idx_images_bytes(images, count=5), gz)
    with pytest.raises(DataError, match="truncated"):
        read_idx_images(path, 60_000)


def test_header_claiming_fewer_than_the_data_holds(tmp_path):
    path = write(tmp_path, "train-labels-idx1-ubyte", idx_labels_bytes(np.zeros(5), count=4))
    with pytest.raises(DataError, match="more bytes than its header"):
        read_idx_labels(path, 60_000)


@pytest.mark.parametrize("kwargs, match", [
    ({"magic": 2049}, "magic 2049"),
    ({"rows": 27}, "27×28"),
    ({"cols": 32}, "28×32"),
    ({"count": 0}, "announces 0 images"),
])
def test_bad_image_headers(tmp_path, kwargs, match):
    path = write(tmp_path, "train-images-idx3-ubyte", idx_images_bytes(np.zeros((2, 784), np.uint8), **kwargs))
    with pytest.raises(DataError, match=match):
        read_idx_images(path, 60_000)


def test_more_images_than_the_split_may_have(tmp_path):
    path = write(tmp_path, "t10k-images-idx3-ubyte", idx_images_bytes(np.zeros((11, 784), np.uint8)))
    with pytest.raises(DataError, match="expected 1 to 10"):
        read_idx_images(path, 10)


def test_bad_label_files(tmp_path):
    wrong_magic = write(tmp_path, "a", idx_labels_bytes(np.zeros(3), magic=2051))
    with pytest.raises(DataError, match="not an IDX label file"):
        read_idx_labels(wrong_magic, 60_000)
    big_label = write(tmp_path, "b", idx_labels_bytes(np.array([1, 10, 2])))
    with pytest.raises(DataError, match="labels must lie in 0..9"):
        read_idx_labels(big_label, 60_000)


@pytest.mark.parametrize("content", [b"", b"\x00\x00", b"\x1f\x8bgarbage" * 10, b"x" * 100])
def test_garbage_files(tmp_path, content):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_idx_images(path, 60_000)
    assert str(path) in str(caught.value)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(idx_images_bytes(np.random.default_rng(0).integers(0, 256, (50, 784), dtype=np.uint8)))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):
        read_idx_images(path, 60_000)


def test_images_and_labels_must_agree(tmp_path):
    write_idx_folder(tmp_path, n_train=24)
    write(tmp_path, "train-labels-idx1-ubyte", idx_labels_bytes(np.zeros(23)))
    with pytest.raises(DataError, match="24 images but 23 labels"):
        load(tmp_path)


def test_symlinked_file_is_refused(tmp_path):
    write_idx_folder(tmp_path / "real")
    (tmp_path / "real" / "t10k-images-idx3-ubyte.gz").rename(tmp_path / "elsewhere.gz")
    (tmp_path / "real" / "t10k-images-idx3-ubyte.gz").symlink_to(tmp_path / "elsewhere.gz")
    with pytest.raises(DataError, match="symbolic link"):
        load(tmp_path / "real")


def test_header_is_big_endian(tmp_path):
    # A little-endian header (a common mistake when writing IDX) must not be read as a valid one.
    header = struct.pack("<4I", 2051, 2, 28, 28)
    path = write(tmp_path, "x", header + bytes(2 * 784))
    with pytest.raises(DataError, match="magic"):
        read_idx_images(path, 60_000)
