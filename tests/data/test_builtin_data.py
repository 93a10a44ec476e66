"""The built-in data sets: the embedded digits and the generated 2-D toy sets."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdstudio.config import DataError
from gdstudio.data.builtin import TOY2D_KINDS, load_digits, make_toy2d

# Images per digit in the 1,797-image set (scikit-learn documents the same counts).
DIGITS_PER_CLASS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
DIGITS_MD5 = "9b335364a7bfd63947c7480a5bd51f2d"


def test_embedded_digits_file_is_the_documented_one():
    packed = resources.files("gdstudio.resources").joinpath("digits.csv.gz").read_bytes()
    assert len(packed) == 57_523
    assert hashlib.md5(packed).hexdigest() == DIGITS_MD5
    licence = resources.files("gdstudio.resources").joinpath("DIGITS-LICENSE.txt").read_text(encoding="utf-8")
    assert "10.24432/C50P49" in licence and "CC BY 4.0" in licence and DIGITS_MD5 in licence


def test_digits_shapes_types_and_split_sizes():
    data = load_digits()
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (1257, 270, 270)
    for X, y in (data.split(which) for which in ("train", "val", "test")):
        assert X.dtype == np.uint8 and X.shape[1] == 64 and X.flags.c_contiguous
        assert y.dtype == np.int32 and y.shape == (len(X),)
        assert X.max() <= 16
    assert data.max_value == 16 and data.image_shape == (8, 8, 1)
    assert data.class_names == tuple("0123456789") and data.num_classes == 10 and data.name == "digits"


def test_digits_splits_partition_the_file_with_the_right_label_counts():
    data = load_digits()
    labels = np.concatenate([data.y_train, data.y_val, data.y_test])
    assert np.bincount(labels, minlength=10).tolist() == DIGITS_PER_CLASS
    packed = resources.files("gdstudio.resources").joinpath("digits.csv.gz").read_bytes()
    raw = np.loadtxt(gzip.decompress(packed).decode().splitlines(), delimiter=",", dtype=np.int64)
    rows = np.concatenate([np.concatenate([X, y[:, None]], axis=1)
                           for X, y in ((data.X_train, data.y_train), (data.X_val, data.y_val),
                                        (data.X_test, data.y_test))]).astype(np.int64)
    # Same multiset of rows: every image lands in exactly one split, with its own label.
    assert np.array_equal(rows[np.lexsort(rows.T[::-1])], raw[np.lexsort(raw.T[::-1])])


def test_digits_split_is_deterministic():
    first, second = load_digits(), load_digits()
    for which in ("train", "val", "test"):
        assert np.array_equal(first.split(which)[0], second.split(which)[0])
        assert np.array_equal(first.split(which)[1], second.split(which)[1])


@pytest.mark.parametrize("kind", TOY2D_KINDS)
def test_toy2d_shapes_and_types(kind):
    data = make_toy2d(kind, seed=3)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (210, 45, 45)
    assert data.X_train.dtype == np.uint8 and data.X_train.shape == (210, 2)
    assert data.image_shape is None and data.max_value == 255 and data.num_classes == 3
    labels = np.concatenate([data.y_train, data.y_val, data.y_test])
    assert labels.dtype == np.int32 and np.bincount(labels).tolist() == [100, 100, 100]
    assert data.name == ("toy2d" if kind == "blobs" else f"toy2d-{kind}")
    # The points use the grid, not a corner of it.
    assert np.ptp(data.X_train, axis=0).min() > 100


@pytest.mark.parametrize("kind", TOY2D_KINDS)
def test_toy2d_same_seed_same_bits_other_seed_other_points(kind):
    a, b, c = make_toy2d(kind, seed=7), make_toy2d(kind, seed=7), make_toy2d(kind, seed=8)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)


def test_toy2d_blobs_are_mostly_separable_by_their_centres():
    data = make_toy2d("blobs", seed=0)
    X = data.X_train.astype(float)
    centres = np.stack([X[data.y_train == k].mean(axis=0) for k in range(3)])
    nearest = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    assert (nearest == data.y_train).mean() > 0.9


@pytest.mark.parametrize("bad", [{"kind": "moons"}, {"n_per_class": 3}, {"n_per_class": 2.5},
                                 {"n_per_class": True}])
def test_toy2d_refuses_bad_arguments(bad):
    with pytest.raises(DataError):
        make_toy2d(**bad)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(TOY2D_KINDS), seed=st.integers(0, 2**32), n=st.integers(4, 120))
def test_toy2d_splits_cover_every_point_once(kind, seed, n):
    data = make_toy2d(kind, seed=seed, n_per_class=n)
    sizes = [len(data.y_train), len(data.y_val), len(data.y_test)]
    assert sum(sizes) == 3 * n and min(sizes) >= 1
    assert abs(sizes[0] - 0.7 * 3 * n) <= 1
    labels = np.concatenate([data.y_train, data.y_val, data.y_test])
    assert np.bincount(labels, minlength=3).tolist() == [n, n, n]
