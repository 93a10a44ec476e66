"""Shared fixtures: small data sets that the tests build in memory."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import numpy as np
import pytest

from gdstudio.data import registry
from gdstudio.data.dataset import Dataset

SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` puts the real Fashion-MNIST; the real-data tests need it."""
GET_SYSTEM_FASHION = "sudo apt-get install dataset-fashion-mnist"


@pytest.fixture(autouse=True)
def _no_system_data_sets(monkeypatch):
    """No test finds the machine's system copies of data sets unless it asks for them (``system_fashion``)."""
    monkeypatch.setenv(registry.SYSTEM_DATA_ENV, "")


@pytest.fixture
def system_fashion(monkeypatch):
    """The real Fashion-MNIST of the system package, found as a user finds it (no flag); skipped without it."""
    if not all((SYSTEM_FASHION / f"{name}.gz").is_file() for name in
               ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte")):
        pytest.skip(f"the real Fashion-MNIST is not installed here: {GET_SYSTEM_FASHION}")
    monkeypatch.delenv(registry.SYSTEM_DATA_ENV)
    return SYSTEM_FASHION


def make_dataset(n_train=120, n_val=40, n_test=40, C=3, D=17, seed=0, name="tiny"):
    """A tiny uint8 data set whose classes differ in their mean pixel values (learnable by a linear model)."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(40, 216, (C, D))

    def part(n):
        y = rng.integers(0, C, n).astype(np.int32)
        X = np.clip(centres[y] + rng.normal(0, 30, (n, D)), 0, 255).astype(np.uint8)
        return X, y

    (Xtr, ytr), (Xv, yv), (Xte, yte) = part(n_train), part(n_val), part(n_test)
    return Dataset(Xtr, ytr, Xv, yv, Xte, yte, tuple(f"c{i}" for i in range(C)), None, name, 255)


@pytest.fixture
def tiny():
    return make_dataset()
