"""The PyInstaller build: it builds, and the executable trains headless (the CI smoke test of issue 8)."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_frozen_executable_trains_headless(tmp_path):
    pytest.importorskip("PyInstaller", reason="PyInstaller is part of the test extra; install .[test]")
    started = time.perf_counter()
    build = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR",
                            "--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "build"),
                            str(ROOT / "resources" / "gdstudio.spec")], cwd=ROOT, capture_output=True, text=True,
                           timeout=1800)
    assert build.returncode == 0, build.stderr[-3000:]
    built = time.perf_counter() - started
    exe = tmp_path / "dist" / "gdstudio" / "gdstudio"
    size = sum(p.stat().st_size for p in exe.parent.rglob("*") if p.is_file())
    env = {"GDSTUDIO_NUMBA_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run([str(exe), "train", "--dataset", "digits", "--epochs", "1", "--json", "--quiet"],
                         capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    assert result["status"] == "ok" and result["val_accuracy"] > 0.5
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=120, env=env)
    assert version.stdout.startswith("gdstudio ")
    bad = subprocess.run([str(exe), "train", "--lr", "-1"], capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    print(f"\nfrozen build: {built:.0f} s, {size / 1e6:.0f} MB")
    shutil.rmtree(tmp_path / "build", ignore_errors=True)
