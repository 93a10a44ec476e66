#!/usr/bin/env bash
# Build the one-folder executable: dist/gdstudio/gdstudio (GDSTUDIO_ONEFILE=1 for one file: dist/gdstudio).
# Run from anywhere; uses the Python that runs it (a virtual environment with gdstudio and pyinstaller installed):
#   .venv/bin/pip install . pyinstaller && PATH=.venv/bin:$PATH resources/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python -m PyInstaller --noconfirm --log-level WARN resources/gdstudio.spec "$@"
echo "built: $(du -sh dist/gdstudio | cut -f1) in dist/gdstudio" >&2
