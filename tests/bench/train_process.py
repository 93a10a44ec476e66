"""Whole ``gdstudio train`` processes against the classic NumPy loop on the digits (issue 14, goal 3). Not a test.

``python tests/bench/train_process.py [--batch-size 32] [--steps 400000] [--rounds 3]`` runs, in interleaved rounds,

- ``gdstudio train --dataset digits --batch-size B --steps S --json`` as a subprocess (live accuracy, history and
  all), twice: with ``S`` steps and with ``S // 10``; the difference of their wall times over the difference of
  their steps is the time of a step as a user's run pays it, without the fixed cost before the first step (which
  the wall time of the short run shows);
- the bench's NumPy loop (:class:`gdstudio.engine.bench.NumpyLoop`) on the same digits training split, the same
  batch size, in a subprocess of its own for the same number of steps.

It prints the median of each and the ratio of the medians (NumPy loop time per step / GD Studio's). ``--also DIR``
(repeatable) times the ``gdstudio train`` of another checkout too, in the same rounds (before and after a change).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

NUMPY_LOOP = r"""
import sys, time
from gdstudio.data.registry import load_dataset
from gdstudio.engine.bench import NumpyLoop
batch, steps = int(sys.argv[1]), int(sys.argv[2])
data = load_dataset("digits")
loop = NumpyLoop(data, batch, "softmax")
per_epoch = -(-len(data.y_train) // batch)
loop.epoch()  # warm
started = time.perf_counter()
epochs = max(1, steps // per_epoch)
for _ in range(epochs):
    loop.epoch()
print((time.perf_counter() - started) / (epochs * per_epoch))
"""


def _env(repo: Path = REPO) -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]))


def train_wall(batch: int, steps: int, repo: Path = REPO) -> float:
    """Wall time of a whole ``gdstudio train`` process of the checkout ``repo``."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gdstudio", "train", "--dataset", "digits", "--batch-size", str(batch),
                    "--steps", str(steps), "--quiet", "--json"], capture_output=True, text=True, env=_env(repo),
                   cwd=repo, check=True)
    return time.perf_counter() - started


def numpy_step(batch: int, steps: int) -> float:
    done = subprocess.run([sys.executable, "-c", NUMPY_LOOP, str(batch), str(steps)], capture_output=True, text=True,
                          env=_env(), cwd=REPO, check=True)
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--also", type=Path, action="append", default=[], help="another checkout to time too")
    args = parser.parse_args()
    repos = [REPO, *(path.resolve() for path in args.also)]
    steps, short = args.steps, args.steps // 10
    for repo in repos:
        train_wall(args.batch_size, 100, repo)  # fills the Numba cache: no round pays a compile
    step_s = {repo: [] for repo in repos}
    whole_s = {repo: [] for repo in repos}
    fixed_s = {repo: [] for repo in repos}
    numpy_s = []
    for _ in range(args.rounds):
        for repo in repos:
            long_wall = train_wall(args.batch_size, steps, repo)
            short_wall = train_wall(args.batch_size, short, repo)
            step = (long_wall - short_wall) / (steps - short)
            step_s[repo].append(step)
            whole_s[repo].append(long_wall / steps)
            fixed_s[repo].append(short_wall - step * short)
            print(f"round: {repo}: {step * 1e6:.2f} µs a step (whole process {long_wall:.2f} s for {steps:,} steps, "
                  f"fixed cost {fixed_s[repo][-1]:.2f} s)", flush=True)
        numpy_s.append(numpy_step(args.batch_size, min(steps, 40_000)))
        print(f"round: numpy loop {numpy_s[-1] * 1e6:.2f} µs a step", flush=True)
    loop = statistics.median(numpy_s)
    print(f"digits batch {args.batch_size}, medians of {args.rounds} rounds; NumPy loop {loop * 1e6:.2f} µs a step")
    for repo in repos:
        step, whole = statistics.median(step_s[repo]), statistics.median(whole_s[repo])
        print(f"{repo}: gdstudio train {step * 1e6:.2f} µs a step, {loop / step:.2f}× the NumPy loop; counting the "
              f"whole {steps:,}-step process {whole * 1e6:.2f} µs a step, {loop / whole:.2f}× (fixed cost "
              f"{statistics.median(fixed_s[repo]):.2f} s)")


if __name__ == "__main__":
    main()
