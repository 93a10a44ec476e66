"""The public face of the data layer: the table, the cache folder, loading by name, status and downloads."""

from __future__ import annotations

import dataclasses
import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fake_data_files import (
    cifar_arrays,
    idx_images_bytes,
    idx_labels_bytes,
    tar_folder,
    write_cifar_folder,
    write_idx_folder,
)

from gdstudio.config import DataError, DownloadError, TrainConfig
from gdstudio.data import registry
from gdstudio.data.registry import DATASETS, cache_dir, dataset_status, download_dataset, load_dataset

NAMES = ["digits", "toy2d", "toy2d-spiral", "toy2d-circles", "cifar10", "mnist", "fashion-mnist", "images"]


def test_table_lists_every_data_set_with_complete_specs():
    assert list(DATASETS) == NAMES
    for name, spec in DATASETS.items():
        own_folder = name == "images"  # neither built in nor downloaded, and its image size is an option
        assert spec.name == name and spec.title and spec.licence and spec.attribution
        assert set(spec.defaults) == {"lr", "reg", "batch_size", "epochs", "init_scale", "preprocess",
                                      *(["image_size"] if own_folder else [])}
        TrainConfig(dataset=name).with_defaults(spec.defaults)  # the defaults pass validation
        assert spec.builtin == (not spec.files) or own_folder
        for filename, url, md5 in spec.files:
            assert url.startswith("https://") and url.endswith("/" + filename) and len(md5) == 32
    assert DATASETS["cifar10"].files[0][2] == "c32a1d4ab5d03f1284b67883e8d87530"
    assert DATASETS["digits"].image_shape == (8, 8, 1) and DATASETS["toy2d"].image_shape is None
    assert DATASETS["cifar10"].defaults["preprocess"] == "raw" and DATASETS["toy2d"].num_classes == 3


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GDSTUDIO_DATA_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("GDSTUDIO_DATA_DIR")
    assert "gdstudio" in str(cache_dir())


def test_unknown_name_lists_the_choices():
    with pytest.raises(DataError, match="unknown data set 'x'; choose one of digits, toy2d"):
        load_dataset("x")


@pytest.mark.parametrize("name", ["cifar10", "mnist", "fashion-mnist"])
def test_absent_data_set_says_how_to_get_it(name):
    with pytest.raises(DataError) as caught:
        load_dataset(name)
    message = str(caught.value)
    assert f"gdstudio datasets download {name}" in message and "--data PATH" in message
    assert str(cache_dir() / name) in message


def test_missing_path_is_named(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path / "nowhere")):
        load_dataset("cifar10", path=tmp_path / "nowhere")


def test_builtin_takes_no_path(tmp_path):
    with pytest.raises(DataError, match="built in"):
        load_dataset("digits", path=tmp_path)


def test_builtins_load_by_name_and_toy_seed_matters():
    assert load_dataset("digits").name == "digits"
    assert load_dataset("toy2d-spiral").name == "toy2d-spiral"
    a, b = load_dataset("toy2d", seed=1), load_dataset("toy2d", seed=2)
    assert not np.array_equal(a.X_train, b.X_train)
    assert load_dataset("toy2d", seed=1) is a


def test_real_data_set_from_a_path_is_remembered(tmp_path):
    archive = tar_folder(write_cifar_folder(tmp_path, "binary", cifar_arrays()), tmp_path / "c.tar.gz")
    first = load_dataset("cifar10", path=archive)
    assert load_dataset("cifar10", path=str(archive)) is first  # the same object: remembered, not read again
    assert first.name == "cifar10" and first.X_train.shape == (98, 3072)


def test_real_data_sets_from_the_cache_folder():
    write_idx_folder(cache_dir() / "fashion-mnist")
    data = load_dataset("fashion-mnist")
    assert data.name == "fashion-mnist" and data.class_names[-1] == "Ankle boot"
    folder = write_cifar_folder(cache_dir() / "tmp", "python", cifar_arrays())
    (cache_dir() / "cifar10").mkdir()
    tar_folder(folder, cache_dir() / "cifar10" / "cifar-10-python.tar.gz")
    assert load_dataset("cifar10").X_test.shape == (20, 3072)


def test_status_reports_presence_and_size():
    write_idx_folder(cache_dir() / "mnist")
    rows = {row["name"]: row for row in dataset_status()}
    assert list(rows) == NAMES
    assert rows["digits"]["present"] and rows["digits"]["where"] == "built in"
    assert rows["digits"]["size"] == 57_523
    assert rows["mnist"]["present"] and rows["mnist"]["where"] == str(cache_dir() / "mnist")
    assert rows["mnist"]["size"] == sum(p.stat().st_size for p in (cache_dir() / "mnist").iterdir())
    assert not rows["cifar10"]["present"] and rows["cifar10"]["size"] is None


def _serve_fake_mnist(file_server, monkeypatch):
    """Serve tiny IDX files and point the mnist spec at their checksums."""
    rng = np.random.default_rng(0)
    bodies = {
        "train-images-idx3-ubyte.gz": idx_images_bytes(rng.integers(0, 256, (24, 784), dtype=np.uint8)),
        "train-labels-idx1-ubyte.gz": idx_labels_bytes(rng.integers(0, 10, 24)),
        "t10k-images-idx3-ubyte.gz": idx_images_bytes(rng.integers(0, 256, (12, 784), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte.gz": idx_labels_bytes(rng.integers(0, 10, 12)),
    }
    files = tuple((name, url, file_server.add(f"/mirror/{name}", gzip.compress(bodies[name], mtime=0)))
                  for name, url, _ in DATASETS["mnist"].files)
    monkeypatch.setitem(registry.DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"], files=files))
    return f"{file_server.url}/mirror/"


def test_download_then_load_then_skip(file_server, monkeypatch):
    base_url = _serve_fake_mnist(file_server, monkeypatch)
    calls = []
    folder = download_dataset("mnist", progress=lambda *args: calls.append(args), base_url=base_url)
    assert folder == cache_dir() / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(name for name, _, _ in DATASETS["mnist"].files)
    assert {call[2] for call in calls} == {name for name, _, _ in DATASETS["mnist"].files}
    assert all(isinstance(done, int) and (total is None or done <= total) for done, total, _ in calls)
    assert load_dataset("mnist").X_test.shape == (12, 784)
    hits = len(file_server.hits)
    download_dataset("mnist", base_url=base_url)
    assert len(file_server.hits) == hits  # every file present with the right checksum: nothing fetched


def test_download_replaces_a_damaged_file_and_failures_leave_no_file(file_server, monkeypatch):
    base_url = _serve_fake_mnist(file_server, monkeypatch)
    download_dataset("mnist", base_url=base_url)
    damaged = cache_dir() / "mnist" / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(b"damaged")
    download_dataset("mnist", base_url=base_url)
    assert damaged.read_bytes() != b"damaged"
    damaged.write_bytes(b"damaged")
    with pytest.raises(DownloadError, match="404"):
        download_dataset("mnist", base_url=f"{file_server.url}/elsewhere/")
    assert not damaged.exists()
    assert not any(p.name.endswith(".part") for p in (cache_dir() / "mnist").iterdir())


def test_download_refuses_builtins_and_unknown_names():
    with pytest.raises(DataError, match="built in"):
        download_dataset("digits")
    with pytest.raises(DataError, match="unknown data set"):
        download_dataset("imagenet")


def test_data_layer_imports_no_qt_numba_or_tqdm():
    code = ("import sys, gdstudio.data, gdstudio.data.registry; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'numba', 'tqdm')"
            " or m.startswith(('gdstudio.engine', 'gdstudio.kernels', 'gdstudio.gui'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
