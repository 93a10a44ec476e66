"""The layers of DESIGN.md §1, enforced by import-linter's contracts in pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_importing_gdstudio_imports_neither_qt_nor_cuda():
    done = subprocess.run([sys.executable, "-c", "import sys, gdstudio, gdstudio.engine.session, gdstudio.cli; "
                           "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                           "('PySide6', 'pyqtgraph', 'shiboken6') or m.startswith('numba.cuda')))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
