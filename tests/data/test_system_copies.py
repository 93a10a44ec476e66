"""Issue 13 items 1 and 2: system copies of data sets (Debian's Fashion-MNIST), checked by content, and the two
look-alike IDX data sets never taken for each other."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from fake_data_files import idx_images_bytes, idx_labels_bytes, write_idx_folder

from gdstudio.config import DataError
from gdstudio.data import registry
from gdstudio.data.builtin import load_digits
from gdstudio.data.idx import FILES
from gdstudio.data.registry import cache_dir, dataset_status, load_dataset


def status_of(name: str) -> dict:
    return {row["name"]: row for row in dataset_status()}[name]


def write_idx(folder: Path, train_images: np.ndarray, train_labels, test_images, test_labels, gz=True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    contents = {FILES["train_images"]: idx_images_bytes(train_images),
                FILES["train_labels"]: idx_labels_bytes(np.asarray(train_labels)),
                FILES["test_images"]: idx_images_bytes(test_images),
                FILES["test_labels"]: idx_labels_bytes(np.asarray(test_labels))}
    for base, data in contents.items():
        if gz:
            (folder / f"{base}.gz").write_bytes(gzip.compress(data, compresslevel=1))
        else:
            (folder / base).write_bytes(data)
    return folder


def mnist_like(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Handwritten digits as MNIST draws them: thin strokes on black, centred in a 20×20 box of a 28×28 image.

    Made from the built-in 8×8 digits (scaled up 2.5×, placed in the middle), so the test needs no download.
    """
    digits = load_digits()
    X = np.concatenate([digits.X_train, digits.X_val, digits.X_test])
    y = np.concatenate([digits.y_train, digits.y_val, digits.y_test])
    pick = np.random.default_rng(seed).integers(0, len(y), count)
    small = X[pick].reshape(-1, 8, 8).astype(np.float64) * (255 / 16)
    big = np.kron(small, np.ones((5, 5)))[:, ::2, ::2]  # 20×20
    images = np.zeros((count, 28, 28), np.uint8)
    images[:, 4:24, 4:24] = np.where(big > 96, big, 0).astype(np.uint8)
    return images.reshape(count, 784), y[pick]


# ----------------------------------------------------------------------------------------------------------------
# The real system copy (skipped, naming the apt command, where the package is not installed)


def test_the_system_copy_is_found_without_flags_and_nothing_is_copied(system_fashion):
    row = status_of("fashion-mnist")
    assert row["present"] and row["origin"] == "system" and row["where"] == str(system_fashion)
    assert row["size"] == sum(p.stat().st_size for p in system_fashion.iterdir())
    data = load_dataset("fashion-mnist")
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (55_000, 5_000, 10_000)
    assert data.class_names[0] == "T-shirt/top" and data.image_shape == (28, 28, 1)
    assert not (cache_dir() / "fashion-mnist").exists()  # read in place, never copied


def test_a_recompressed_copy_is_recognised_by_its_content(system_fashion, tmp_path, monkeypatch):
    """Debian recompressed the upstream files; any other recompression of the same images passes as well."""
    root = tmp_path / "datasets"
    (root / "fashion-mnist").mkdir(parents=True)
    for source in system_fashion.iterdir():
        with gzip.open(source) as raw:
            data = raw.read()
        (root / "fashion-mnist" / source.name).write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
        assert (root / "fashion-mnist" / source.name).read_bytes() != source.read_bytes()
    monkeypatch.setenv(registry.SYSTEM_DATA_ENV, str(root))
    assert load_dataset("fashion-mnist").y_test.shape == (10_000,)


def test_mnist_asked_of_the_real_fashion_mnist_names_both(system_fashion):
    with pytest.raises(DataError) as caught:
        load_dataset("mnist", system_fashion)
    assert "Fashion-MNIST" in str(caught.value) and "not MNIST" in str(caught.value)
    assert "--dataset fashion-mnist" in str(caught.value)


# ----------------------------------------------------------------------------------------------------------------
# Search order and the content check, on folders the tests write


def test_without_a_copy_it_reads_as_absent_and_names_both_ways_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv(registry.SYSTEM_DATA_ENV, str(tmp_path / "nothing-here"))
    row = status_of("fashion-mnist")
    assert not row["present"] and row["origin"] is None
    assert "apt-get install dataset-fashion-mnist" in row["get"]
    assert "gdstudio datasets download fashion-mnist" in row["get"]
    with pytest.raises(DataError) as caught:
        load_dataset("fashion-mnist")
    message = str(caught.value)
    assert str(tmp_path / "nothing-here" / "fashion-mnist") in message and str(cache_dir()) in message
    assert "apt-get install dataset-fashion-mnist" in message and "gdstudio datasets download fashion-mnist" in message


def test_a_system_copy_that_is_not_fashion_mnist_is_refused_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv(registry.SYSTEM_DATA_ENV, str(tmp_path))
    write_idx_folder(tmp_path / "fashion-mnist")  # the right names and format, other pixels
    assert status_of("fashion-mnist")["origin"] == "system"  # found by name ...
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: its content is not the published "
                                        r"Fashion-MNIST"):
        load_dataset("fashion-mnist")  # ... refused by content


def test_the_cache_folder_is_searched_before_the_system_folders(tmp_path, monkeypatch):
    monkeypatch.setenv(registry.SYSTEM_DATA_ENV, str(tmp_path / "system"))
    write_idx_folder(tmp_path / "system" / "fashion-mnist")
    write_idx_folder(cache_dir() / "fashion-mnist", n_train=30)
    row = status_of("fashion-mnist")
    assert row["origin"] == "cache" and row["where"] == str(cache_dir() / "fashion-mnist")
    assert len(load_dataset("fashion-mnist").y_train) + len(load_dataset("fashion-mnist").y_val) == 30


def test_the_system_folders_are_the_tables_by_default(monkeypatch):
    monkeypatch.delenv(registry.SYSTEM_DATA_ENV)
    assert registry.system_folders("fashion-mnist") == [Path("/usr/share/datasets/fashion-mnist")]
    assert registry.system_folders("mnist") == [] and registry.system_folders("cifar10") == []


# ----------------------------------------------------------------------------------------------------------------
# Item 2: the look-alikes, told apart by their pixels


def test_fashion_mnist_pixels_asked_for_as_mnist_are_refused(system_fashion, tmp_path):
    """A subset of the real clothes (not the published files: the statistics decide)."""
    data = load_dataset("fashion-mnist")
    folder = write_idx(tmp_path / "clothes", data.X_train[:2000], data.y_train[:2000], data.X_test[:500],
                       data.y_test[:500], gz=False)
    with pytest.raises(DataError, match="these files hold Fashion-MNIST .clothing., not MNIST"):
        load_dataset("mnist", folder)
    assert load_dataset("fashion-mnist", folder).y_train.shape == (2000 - 2000 // 12,)


def test_digits_asked_for_as_fashion_mnist_are_refused(tmp_path):
    X, y = mnist_like(1500)
    folder = write_idx(tmp_path / "digits", X, y, X[:300], y[:300])
    with pytest.raises(DataError) as caught:
        load_dataset("fashion-mnist", folder)
    assert "these files hold MNIST (handwritten digits), not Fashion-MNIST (clothing)" in str(caught.value)
    assert "--dataset mnist" in str(caught.value)
    assert load_dataset("mnist", folder).name == "mnist"


def test_small_or_unlike_files_are_taken_as_named(tmp_path):
    """Fixtures and other IDX data (uniform noise, a few images) are not judged: too little to tell."""
    X, y = mnist_like(200)
    small = write_idx(tmp_path / "few", X, y, X[:50], y[:50])
    assert load_dataset("fashion-mnist", small).name == "fashion-mnist"
    noise = np.random.default_rng(0).integers(0, 256, (1500, 784), dtype=np.uint8)
    folder = write_idx(tmp_path / "noise", noise, np.arange(1500) % 10, noise[:100], np.arange(100) % 10)
    assert load_dataset("mnist", folder).name == "mnist" and load_dataset("fashion-mnist", folder).name


def test_system_folder_override_lists_several_roots(tmp_path, monkeypatch):
    monkeypatch.setenv(registry.SYSTEM_DATA_ENV, os.pathsep.join([str(tmp_path / "a"), "", str(tmp_path / "b")]))
    assert registry.system_folders("fashion-mnist") == [tmp_path / "a" / "fashion-mnist",
                                                        tmp_path / "b" / "fashion-mnist"]
