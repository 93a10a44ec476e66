"""Property tests: random and mutated bytes fed to the CIFAR-10, IDX readers give the project's own error only.

Never another exception, a hang, a huge allocation (a header that lies about its size), or code execution.
"""

from __future__ import annotations

import functools
import gzip
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
from fake_data_files import (cifar_arrays, idx_images_bytes, idx_labels_bytes, py2_pickle, tar_folder,
                             write_cifar_folder, write_idx_folder)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdstudio.config import DataError
from gdstudio.data.cifar10 import load_cifar10
from gdstudio.data.idx import FASHION_CLASS_NAMES, load_idx

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
MAX_PEAK_BYTES = 64 * 1024 * 1024


def mutate(data: bytes, draw) -> bytes:
    content = bytearray(data)
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "garbage", "header"]))
    if kind == "flip" and content:
        for _ in range(draw(st.integers(1, 16))):
            content[draw(st.integers(0, len(content) - 1))] = draw(st.integers(0, 255))
    elif kind == "truncate":
        content = content[: draw(st.integers(0, max(0, len(content) - 1)))]
    elif kind == "insert":
        i = draw(st.integers(0, len(content)))
        content[i:i] = draw(st.binary(min_size=1, max_size=64))
    elif kind == "garbage":
        content = bytearray(draw(st.binary(max_size=2048)))
    else:  # rewrite the first 16 bytes: magic numbers and sizes that lie
        content[:16] = draw(st.binary(min_size=16, max_size=16))
    return bytes(content)


def must_fail_cleanly_or_load(load):
    tracemalloc.start()
    try:
        load()
    except DataError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < MAX_PEAK_BYTES, f"{peak:,} bytes allocated for a tiny file"


@FUZZ
@given(data=st.data(), fmt=st.sampled_from(["binary", "py"]), member=st.sampled_from(["data_batch_1", "test_batch"]))
def test_mutated_cifar_files(tmp_path_factory, data, fmt, member):
    folder = write_cifar_folder(tmp_path_factory.mktemp("cifar"), fmt, cifar_arrays())
    target = folder / (member + (".bin" if fmt == "binary" else ""))
    target.write_bytes(mutate(target.read_bytes(), data.draw))
    must_fail_cleanly_or_load(lambda: load_cifar10(folder))


@functools.lru_cache(maxsize=1)
def cifar_archive_bytes() -> bytes:
    """One small binary-format archive, made once (its gzip header holds a time stamp: bytes must not vary)."""
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        return tar_folder(write_cifar_folder(root, "binary", cifar_arrays()), root / "a.tar.gz").read_bytes()


@FUZZ
@given(data=st.data())
def test_mutated_cifar_archives(tmp_path_factory, data):
    archive = tmp_path_factory.mktemp("cifar") / "cifar-10-binary.tar.gz"
    archive.write_bytes(mutate(cifar_archive_bytes(), data.draw))
    must_fail_cleanly_or_load(lambda: load_cifar10(archive))


@FUZZ
@given(data=st.data(), which=st.sampled_from(["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]),
       zipped=st.booleans())
def test_mutated_idx_files(tmp_path_factory, data, which, zipped):
    folder = tmp_path_factory.mktemp("idx")
    write_idx_folder(folder, gz=zipped)
    path = folder / (which + (".gz" if zipped else ""))
    raw = gzip.decompress(path.read_bytes()) if zipped else path.read_bytes()
    mutated = mutate(raw, data.draw)
    path.write_bytes(gzip.compress(mutated) if zipped else mutated)
    must_fail_cleanly_or_load(lambda: load_idx(folder, "fashion-mnist", FASHION_CLASS_NAMES))


@FUZZ
@given(payload=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.binary(max_size=8),
                            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                                         max_size=4), max_leaves=12))
def test_arbitrary_pickled_objects_in_a_python_batch(tmp_path_factory, payload):
    folder = write_cifar_folder(tmp_path_factory.mktemp("cifar"), "py", cifar_arrays())
    (folder / "data_batch_2").write_bytes(py2_pickle(payload))
    must_fail_cleanly_or_load(lambda: load_cifar10(folder))


def test_idx_header_claiming_a_billion_images_is_refused_without_allocating(tmp_path):
    folder = tmp_path / "idx"
    write_idx_folder(folder)
    images = np.zeros((3, 28, 28), np.uint8)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_images_bytes(images, count=10**9)))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_labels_bytes(np.zeros(3, np.uint8),
                                                                                      count=10**9)))
    must_fail_cleanly_or_load(lambda: load_idx(folder, "mnist", tuple(str(i) for i in range(10))))
