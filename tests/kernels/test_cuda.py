"""The CUDA kernels against the reference under numba's CUDA simulator, in a child process.

``NUMBA_ENABLE_CUDASIM=1`` must be set before numba is imported, and the rest of the suite imports numba
normally, so the checks (``cuda_sim_checks.py``) run in a fresh interpreter with tiny grids (8 threads per block).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ["check_loss_and_grad", "check_chunk_matches_reference_sgd", "check_deterministic_and_agrees_with_cpu",
          "check_divergence_keeps_last_finite_weights", "check_backend_through_session"]


@pytest.fixture(scope="module")
def simulator_run():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(ROOT))
    env.pop("GDSTUDIO_CUDA_REAL", None)
    proc = subprocess.run([sys.executable, "-m", "tests.kernels.cuda_sim_checks", *CHECKS], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc


@pytest.mark.parametrize("check", CHECKS)
def test_cuda_kernels_under_simulator(simulator_run, check):
    assert f"ok {check}\n" in simulator_run.stdout, simulator_run.stdout + simulator_run.stderr[-3000:]


def test_import_gdstudio_does_not_import_numba_cuda():
    code = ("import sys, gdstudio, gdstudio.cli, gdstudio.engine.session, gdstudio.engine.bench; "
            "print('numba.cuda' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_cuda_backend_without_cuda_says_so():
    from gdstudio.config import ConfigError
    from gdstudio.data.dataset import Preprocess
    from gdstudio.engine import backends

    if backends.cuda_status() is None:
        pytest.skip("CUDA is available here")
    assert backends.cuda_status().startswith("CUDA not available: ")
    import numpy as np

    X = np.zeros((4, 3), np.uint8)
    pre = Preprocess(mean=np.zeros(3, np.float32), scale=1.0)
    with pytest.raises(ConfigError, match="CUDA not available"):
        backends.make_backend("cuda", X, np.zeros(4, np.int32), pre)
    assert backends.make_backend("auto", X, np.zeros(4, np.int32), pre).name == "cpu"


def test_a_numba_cuda_that_cannot_compile_reads_as_cuda_not_available(monkeypatch):
    """numba-cuda 0.30 imports and finds the GPU beside NumPy 2.5, then fails at its first compile: the check
    compiles a one-line kernel, so the user reads one reason instead of a crash in the middle of a run."""
    from numba import config as numba_config
    from numba import cuda

    from gdstudio.engine import backends

    def broken_jit(*args, **kwargs):
        raise AttributeError("module 'numpy' has no attribute 'row_stack'")

    monkeypatch.setattr(cuda, "is_available", lambda: True)
    monkeypatch.setattr(cuda, "jit", broken_jit)
    monkeypatch.setattr(numba_config, "ENABLE_CUDASIM", 0)
    backends.cuda_status.cache_clear()
    try:
        reason = backends.cuda_status()
    finally:
        backends.cuda_status.cache_clear()
    assert reason == "CUDA not available: AttributeError: module 'numpy' has no attribute 'row_stack'"
