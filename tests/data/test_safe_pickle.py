"""The allow-list unpickler: numpy arrays and plain containers load; anything that names other code does not."""

from __future__ import annotations

import collections
import copyreg
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from fake_data_files import py2_pickle

from gdstudio.config import DataError
from gdstudio.data.safe_pickle import ALLOWED, load_restricted

WHERE = Path("batch")


def test_allow_list_is_exactly_what_numpy_arrays_need():
    assert set(ALLOWED) == {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                            ("numpy", "ndarray"), ("numpy", "dtype")}


@pytest.mark.parametrize("dump", [py2_pickle, lambda obj: pickle.dumps(obj, protocol=3),
                                  lambda obj: pickle.dumps(obj, protocol=4)])
def test_containers_and_arrays_round_trip(dump):
    obj = {b"data": np.arange(12, dtype=np.uint8).reshape(3, 4), b"labels": [1, 2, 3], b"name": b"batch 1",
           b"f": np.asfortranarray(np.eye(3, dtype=np.uint8)), b"nested": [(1, 2.5), {b"x": None}]}
    back = load_restricted(dump(obj), WHERE)
    for key in obj:
        name = key.decode()
        got = back.get(name, back.get(key))
        if isinstance(obj[key], np.ndarray):
            assert np.array_equal(got, obj[key]) and got.dtype == obj[key].dtype
    assert back.get("labels", back.get(b"labels")) == [1, 2, 3]


@pytest.mark.parametrize("obj", [os.system, eval, getattr, collections.OrderedDict(a=1), Path("x"),
                                 np.float64(1.0), np.int64(3)])
def test_anything_else_that_needs_a_name_is_refused(obj):
    with pytest.raises(DataError, match="batch: .*refusing to load"):
        load_restricted(pickle.dumps(obj, protocol=2), WHERE)


def test_python3_protocol2_bytes_need_codecs_and_are_refused():
    # Python 3 writes bytes in protocol 2 as _codecs.encode(...); the real files (Python 2) never do.
    with pytest.raises(DataError, match="refusing to load _codecs.encode"):
        load_restricted(pickle.dumps(b"abc", protocol=2), WHERE)


def test_protocol5_array_needs_frombuffer_and_is_refused():
    with pytest.raises(DataError, match="refusing to load"):
        load_restricted(pickle.dumps(np.zeros(3, np.uint8), protocol=5), WHERE)


def test_extension_registry_opcodes_are_refused():
    copyreg.add_extension("os", "system", 0x7A)
    try:
        with pytest.raises(DataError, match="refusing to load os.system"):
            load_restricted(b"\x80\x02\x82\x7a.", WHERE)
    finally:
        copyreg.remove_extension("os", "system", 0x7A)


@pytest.mark.parametrize("data", [b"", b"\x80\x02", b"\x80\x02]q\x00(K\x01", b"not a pickle at all"])
def test_damaged_pickles(data):
    with pytest.raises(DataError, match="batch: not a pickle"):
        load_restricted(data, WHERE)
