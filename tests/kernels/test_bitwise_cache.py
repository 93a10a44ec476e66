"""Same seed, same bits: a run whose kernels were just compiled and a run that loads them from Numba's on-disk cache
train exactly the same weights and curves (issue 14, goal 1).

Each test starts processes on one fresh cache folder: the first compiles the kernels and fills the cache, the later
ones load it. Loading order is varied too (a process that loads the parallel kernel before the serial one), since
the bits once depended on which compiled copy of a helper a process happened to bind first.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

# Runs each "backend:loss:path" spec of argv on the digits and prints one line "spec sha256" per spec, hashing W, b,
# every step of the loss curves, the live accuracy measurements and the final metrics.
RUN = r"""
import hashlib, sys
import numpy as np
from gdstudio.config import TrainConfig
from gdstudio.engine import backends
from gdstudio.engine.session import Session

for spec in sys.argv[1:]:
    backend, loss, path = spec.split(":")
    backends.PARALLEL_MIN_WORK = 0 if path == "parallel" else float("inf")
    session = Session(TrainConfig(dataset="digits", loss=loss, steps=300, batch_size=32, seed=3, backend=backend))
    final = None
    for record in session.run():
        final = record
    digest = hashlib.sha256()
    steps, evals = session.history.steps, session.history.evals
    arrays = [session.W, session.b] + [steps.column(c) for c in ("loss", "data_loss", "batch_accuracy")]
    arrays += [evals.column(c) for c in ("step", "train_accuracy", "val_accuracy")]
    arrays.append(np.array([final.final[k] for k in sorted(final.final) if k.endswith(("_loss", "_accuracy"))]))
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    print(spec, len(steps), digest.hexdigest())
"""

SPECS = ["cpu:softmax:serial", "cpu:softmax:parallel", "cpu:svm:serial", "cpu:svm:parallel", "numpy:softmax:serial",
         "numpy:svm:serial"]


def _env(cache: Path) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=os.pathsep.join([str(REPO),
                                                                                   os.environ.get("PYTHONPATH", "")]))
    env.pop("NUMBA_DISABLE_JIT", None)
    return env


def _hashes(cache: Path, specs) -> dict:
    done = subprocess.run([sys.executable, "-c", RUN, *specs], capture_output=True, text=True, timeout=900,
                          env=_env(cache), cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    assert [spec for spec, _, _ in lines] == list(specs)
    assert all(int(steps) == 300 for _, steps, _ in lines)
    return {spec: digest for spec, _, digest in lines}


def _cached_kernels(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*.nbi"))


def test_cold_and_warm_cache_processes_train_the_same_bits(tmp_path):
    cache = tmp_path / "numba"
    cold = _hashes(cache, SPECS)
    assert any("train_chunk" in name for name in _cached_kernels(cache)), "the first process filled no cache"
    warm = _hashes(cache, SPECS)
    warm_reversed = _hashes(cache, SPECS[::-1])
    for spec in SPECS:
        assert warm[spec] == cold[spec], f"{spec}: the run that loaded the cache differs from the one that compiled"
        assert warm_reversed[spec] == cold[spec], f"{spec}: the bits depend on which kernel a process loaded first"
    for loss in ("softmax", "svm"):  # same seed + same backend = same bits, whichever chunk kernel ran
        assert cold[f"cpu:{loss}:parallel"] == cold[f"cpu:{loss}:serial"]


def test_train_command_twice_on_one_fresh_cache_saves_the_same_run(tmp_path):
    """The issue's reproduction: ``gdstudio train --dataset digits --steps 300 --batch-size 32 --seed 3`` run twice
    on one fresh ``NUMBA_CACHE_DIR`` (the first compiles, the second loads) saves the same weights and curves."""
    cache = tmp_path / "numba"
    runs = []
    for name in ("cold", "warm"):
        out = tmp_path / name
        done = subprocess.run([sys.executable, "-m", "gdstudio", "train", "--dataset", "digits", "--steps", "300",
                               "--batch-size", "32", "--seed", "3", "--quiet", "--out", str(out)],
                              capture_output=True, text=True, timeout=900, env=_env(cache), cwd=REPO)
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append(out)
    cold, warm = (np.load(run / "weights.npz") for run in runs)
    assert sorted(cold.files) == sorted(warm.files)
    for name in cold.files:
        np.testing.assert_array_equal(warm[name], cold[name], err_msg=name)
    assert (runs[1] / "metrics.csv").read_bytes() == (runs[0] / "metrics.csv").read_bytes()

