#!/usr/bin/env bash
# GPU check for a session lent a CUDA machine (issue 4). One go, under ten minutes:
#   1. the CUDA kernel checks on the real device (tests/kernels/cuda_sim_checks.py, GDSTUDIO_CUDA_REAL=1),
#      at 8 and at 256 threads per block (many blocks: one cooperative grid);
#   2. `gdstudio bench` with the CUDA backend (CIFAR-10- and digits-shaped), JSON and table;
#   3. the same workload in PyTorch on the GPU (bench's torch-cuda rows, when torch with CUDA is importable).
# Results go to $OUT (or ./gpu_check_out): bench.json, bench.md, checks.log, env.txt.
# Run from the repository root:  bash tests/bench/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-gpu_check_out}"
mkdir -p "$OUT"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3

{
    nvidia-smi || echo "nvidia-smi missing"
    "$PY" --version
    "$PY" -c "import numba, numpy; print('numba', numba.__version__, 'numpy', numpy.__version__)"
} > "$OUT/env.txt" 2>&1

# numba-cuda (the maintained CUDA target) and, for the comparison, PyTorch; both optional if absent offline.
"$PY" -c "import numba_cuda" 2>/dev/null || timeout 120 "$PY" -m pip install -q "numba-cuda[cu12]" \
    >> "$OUT/env.txt" 2>&1 || echo "numba-cuda install failed" >> "$OUT/env.txt"
"$PY" -c "import torch" 2>/dev/null || timeout 180 "$PY" -m pip install -q torch >> "$OUT/env.txt" 2>&1 \
    || echo "torch install failed (bench runs without the torch rows)" >> "$OUT/env.txt"
"$PY" -c "from gdstudio.engine.backends import cuda_status; print('cuda_status:', cuda_status() or 'available')" \
    >> "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

status=0
for tpb in 8 256; do
    echo "== CUDA checks on the device, $tpb threads per block" | tee -a "$OUT/checks.log"
    GDSTUDIO_CUDA_REAL=1 GDSTUDIO_CUDA_TPB=$tpb PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" timeout 240 "$PY" -m tests.kernels.cuda_sim_checks \
        2>&1 | tee -a "$OUT/checks.log" || status=1
done

echo "== gdstudio bench (cpu, cuda, numpy loop, torch cpu/cuda)"
timeout 300 "$PY" -m gdstudio bench --backend cpu --backend cuda --repeats 3 --json > "$OUT/bench.json" \
    2> "$OUT/bench.err" || { status=1; tail -5 "$OUT/bench.err"; }
"$PY" -c "
import json, sys
from gdstudio.engine.bench import format_table
print(format_table(json.load(open('$OUT/bench.json'))))" | tee "$OUT/bench.md"
exit $status
