"""The sweep that chose the built-in data sets' default α and λ (README, "Default hyperparameters").

Run: python tests/bench/sweep_defaults.py [DATASET ...]   (default: digits toy2d)
Prints validation accuracy (mean over 3 seeds) for each loss × α × λ at the data set's default batch size and
epochs. Not a test: it takes about a minute.
"""

import sys

import numpy as np

from gdstudio.config import TrainConfig
from gdstudio.data.registry import load_dataset
from gdstudio.engine.session import Session, dataset_defaults

LRS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
REGS = [0.0, 1e-4, 1e-3, 1e-2]


def main(names):
    for name in names:
        dataset = load_dataset(name)
        defaults = dataset_defaults(name)
        print(f"\n{name}: batch {defaults['batch_size']}, {defaults['epochs']} epochs, "
              f"preprocess {defaults['preprocess']}; validation accuracy, mean of seeds 0-2")
        for loss in ("softmax", "svm"):
            print(f"  {loss:8s} λ →  " + "  ".join(f"{r:>7g}" for r in REGS))
            for lr in LRS:
                row = []
                for reg in REGS:
                    accs = []
                    for seed in range(3):
                        session = Session(TrainConfig(dataset=name, loss=loss, lr=lr, reg=reg, seed=seed),
                                          dataset=dataset)
                        last = list(session.run())[-1]
                        accs.append(last.final["val_accuracy"] if last.status == "ok" else np.nan)
                    row.append(np.mean(accs))
                print(f"  α = {lr:<6g}     " + "  ".join(f"{a:7.3f}" for a in row))


if __name__ == "__main__":
    main(sys.argv[1:] or ["digits", "toy2d"])
