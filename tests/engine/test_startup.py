"""Issue 14 goal 2: what a run pays before its first step.

The time itself is a benchmark's business (README, "Before the first step"); these tests check what makes it
short: each CPU kernel has one signature to load, a cached kernel loads without initialising Numba's whole
compiler, Numba's set-up overlaps the data load and never outlives a failed one, and a run says how long it took
to reach its first step.
"""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gdstudio.cli import main
from gdstudio.config import DataError, TrainConfig
from gdstudio.data import registry
from gdstudio.engine.session import Session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "data"))
from fake_data_files import write_idx_folder  # noqa: E402


def run_python(code: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_a_run_reports_the_time_before_its_first_step(capsys):
    assert main(["train", "--dataset", "digits", "--steps", "3", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 < result["startup_seconds"] <= result["seconds"]


COUNT_SIGNATURES = """
import json, sys
from gdstudio.cli import main
assert main(["train", "--dataset", "mnist", "--data", sys.argv[1], "--steps", "5", "--quiet"]) == 0
from gdstudio.kernels import cpu
names = ("train_chunk_serial", "train_chunk_parallel", "evaluate_serial", "evaluate_parallel")
print(json.dumps({name: len(getattr(cpu, name).overloads) for name in names}))
"""


def test_each_kernel_a_run_uses_has_one_signature(tmp_path):
    """The files of a data set are read-only maps and the live subsets are copies: every kernel is called with
    read-only pixels, so a run loads (or compiles) one signature of each, not one per writability."""
    write_idx_folder(tmp_path / "mnist", n_train=240, n_test=40)
    counts = json.loads(run_python(COUNT_SIGNATURES, str(tmp_path / "mnist")).strip().splitlines()[-1])
    assert max(counts.values()) == 1 and sum(counts.values()) >= 2, counts


LOADS_QUICKLY = """
import sys
from gdstudio.cli import main
assert main(["train", "--dataset", "digits", "--steps", "3", "--quiet"]) == 0
print("linalg" if "numba.np.linalg" in sys.modules else "quick")
"""


def test_a_cached_kernel_loads_without_initialising_the_whole_compiler():
    """Numba refreshes its whole CPU target (every registry: linear algebra, random, typed containers ...) before
    handing back a cached kernel; the kernels load with the runtime alone. The first process fills the cache."""
    run_python(LOADS_QUICKLY)
    assert run_python(LOADS_QUICKLY).strip().splitlines()[-1] == "quick"


def test_a_missing_data_set_leaves_no_preparation_running(tmp_path, monkeypatch):
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path))
    registry.forget()
    with pytest.raises(DataError):
        Session(TrainConfig(dataset="mnist", steps=1))
    assert not [t for t in threading.enumerate() if t.name == "gdstudio-prepare-kernels"]


PREPARED_BY_THE_SESSION = """
from numba.core.runtime import rtsys
from gdstudio.config import TrainConfig
from gdstudio.engine.session import Session
from tests.conftest import make_dataset

data = make_dataset()
session = Session(TrainConfig(dataset=data.name, steps=2, backend="cpu"), dataset=data)
print("ready" if rtsys._init else "not ready")  # before any kernel has run
assert [record.status for record in session.run()][-1] == "ok"
"""


def test_numba_is_set_up_while_the_session_is_made():
    assert run_python(PREPARED_BY_THE_SESSION).strip().splitlines()[-1] == "ready"
