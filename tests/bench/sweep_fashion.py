"""The sweep that chose Fashion-MNIST's defaults (README, "Default hyperparameters"), on the real data.

Run: python tests/bench/sweep_fashion.py [--quick]   (needs the system copy: apt-get install dataset-fashion-mnist,
or GDSTUDIO_DATA_DIR pointing at a downloaded copy)
1. Validation accuracy (mean of seeds 0-1) for each loss × batch × α × λ at 20 epochs, unit preprocessing.
2. At the best softmax point: validation and test accuracy and training seconds against the number of epochs.
Chooses on validation accuracy only; the test split is looked at once, for the chosen defaults. Not a test: it
takes a few minutes on two cores.
"""

import sys
import time

import numpy as np

from gdstudio.config import TrainConfig
from gdstudio.data.registry import load_dataset
from gdstudio.engine.session import Session

LRS = [0.03, 0.1, 0.3, 1.0]
REGS = [0.0, 1e-5, 1e-4, 1e-3]
BATCHES = [64, 256]
EPOCHS = 20
SEEDS = (0, 1)


def train(dataset, **settings):
    session = Session(TrainConfig(dataset="fashion-mnist", **settings), dataset=dataset)
    started = time.perf_counter()
    last = list(session.run())[-1]
    seconds = time.perf_counter() - started
    if last.status != "ok":
        return np.nan, np.nan, seconds
    return last.final["val_accuracy"], last.final["test_accuracy"], seconds


def main(quick: bool) -> None:
    dataset = load_dataset("fashion-mnist")
    lrs, regs, batches, seeds = (LRS[1:3], REGS[1:3], BATCHES[1:], SEEDS[:1]) if quick else (LRS, REGS, BATCHES,
                                                                                            SEEDS)
    best = (-1.0, None)
    for loss in ("softmax", "svm"):
        for batch in batches:
            print(f"\n{loss}, batch {batch}, {EPOCHS} epochs: validation accuracy, mean of seeds {seeds}")
            print("  λ →        " + "  ".join(f"{r:>7g}" for r in regs))
            for lr in lrs:
                row = []
                for reg in regs:
                    accs = [train(dataset, loss=loss, lr=lr, reg=reg, batch_size=batch, epochs=EPOCHS, seed=s)[0]
                            for s in seeds]
                    row.append(float(np.mean(accs)))
                    if loss == "softmax" and row[-1] > best[0]:
                        best = (row[-1], dict(lr=lr, reg=reg, batch_size=batch))
                print(f"  α = {lr:<6g}  " + "  ".join(f"{a:7.3f}" for a in row), flush=True)
    settings = best[1]
    print(f"\nbest softmax point by validation: {settings} (val {best[0]:.3f})")
    print("epochs   val    test   seconds (training only, seed 0)")
    for epochs in (5, 10, 20, 30):
        val, test, seconds = train(dataset, loss="softmax", epochs=epochs, seed=0, **settings)
        print(f"{epochs:>6} {val:6.3f} {test:6.3f} {seconds:8.2f}", flush=True)


if __name__ == "__main__":
    main("--quick" in sys.argv[1:])
