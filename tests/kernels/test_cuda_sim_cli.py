"""The CUDA path end to end without a GPU: ``gdstudio train --backend cuda`` under numba's CUDA simulator.

The simulator runs every thread of a block as a Python thread, so the command once took 7 min 42 s with the
device's 256 threads per block; the simulator now runs few threads per block with a short switch interval
(about 8 s). The subprocess limit below only stops a hang (a timing goal belongs in a benchmark); the test checks
that the run ends well and agrees with the CPU.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMAND = ["train", "--dataset", "toy2d", "--steps", "40", "--batch-size", "32", "--json", "--quiet"]
HANG_LIMIT_S = 240


def _train(backend: str, simulator: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("GDSTUDIO_CUDA_REAL", None)
    if simulator:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    else:
        env.pop("NUMBA_ENABLE_CUDASIM", None)
    proc = subprocess.run([sys.executable, "-m", "gdstudio", *COMMAND, "--backend", backend], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=HANG_LIMIT_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_cuda_backend_trains_under_the_simulator_and_agrees_with_the_cpu():
    cuda = _train("cuda", simulator=True)
    cpu = _train("cpu", simulator=False)
    assert cuda["status"] == "ok" and cuda["backend"] == "cuda" and cuda["steps"] == 40
    assert cuda["val_accuracy"] >= 0.9 and cuda["test_accuracy"] >= 0.9  # toy2d's blobs: 1.000 at the defaults
    # float32 on both, summed in different orders: the same run up to rounding
    assert cuda["loss"] == pytest.approx(cpu["loss"], rel=1e-4)
    for split in ("train_accuracy", "val_accuracy", "test_accuracy"):
        assert cuda[split] == pytest.approx(cpu[split], abs=0.01)
