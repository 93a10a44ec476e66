"""Shared fixtures: small data sets that the tests build in memory."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from gdstudio.data.dataset import Dataset


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
