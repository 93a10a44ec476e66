"""A real Dask ``LocalCluster`` for the tests of sweeps on a cluster (issue 15): two worker processes of one
thread each (the CI machine has two cores), closed after the module that asked for it.

Import the fixture into a test module: ``from tests.dask_cluster import dask_cluster  # noqa: F401``.
"""

from __future__ import annotations

import importlib.util
import logging

import pytest

WORKERS = 2
needs_dask = pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                                reason='Dask is not installed: pip install ".[dask]" (.ci/run installs it)')


@pytest.fixture(scope="module")
def dask_cluster():
    """A started ``LocalCluster`` of ``WORKERS`` processes; the workers import this checkout's gdstudio (they
    inherit ``PYTHONPATH`` and ``sys.path``)."""
    distributed = pytest.importorskip("distributed", reason='Dask is not installed: pip install ".[dask]" (.ci/run '
                                      'installs it)')
    cluster = distributed.LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    try:
        yield cluster
    finally:
        cluster.close()
