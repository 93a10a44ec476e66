"""The data layer: IO only, ending in a :class:`Dataset`. Imports numpy, platformdirs and the stdlib, never Qt.

The engine and the CLI use :mod:`gdstudio.data.registry` through the names below.
"""

from gdstudio.data.dataset import Dataset, Preprocess
from gdstudio.data.registry import (
    DATASETS,
    DEFAULT_DATASET,
    DatasetSpec,
    cache_dir,
    dataset_status,
    download_dataset,
    get_spec,
    load_dataset,
)

__all__ = [
    "DATASETS",
    "DEFAULT_DATASET",
    "Dataset",
    "DatasetSpec",
    "Preprocess",
    "cache_dir",
    "dataset_status",
    "download_dataset",
    "get_spec",
    "load_dataset",
]
