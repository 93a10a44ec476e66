"""The sweep that chose the defaults of ``--dataset images`` (README, "Your own images").

Run: PYTHONPATH=. python tests/bench/sweep_images.py [--per-class 60] [--epochs 30] [--batch 32]
Makes two folders of generated 48×40 images (tests/image_folders.py) in a temporary folder: "colour", three
shapes each in its own colour (what a linear model separates easily), and "shape", the same three shapes each in
random colours (only the outline tells them apart, as in a person's photos of three objects in one room), and
prints the validation accuracy (mean of seeds 0-2) at 32×32 colour for each loss × α × λ. Not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gdstudio.config import TrainConfig  # noqa: E402
from gdstudio.data.imagefolder import load_image_folder  # noqa: E402
from gdstudio.engine.session import Session  # noqa: E402
from tests.image_folders import SAVE_AS, SHAPES, make_image_folder, shape_image  # noqa: E402

LRS = [1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3]
REGS = [0.0, 1e-4, 1e-3, 1e-2]


def shape_folder(root: Path, per_class: int, seed: int = 0) -> Path:
    """Three shapes, each image in a random colour."""
    rng = np.random.default_rng(seed)
    for kind in SHAPES:
        (root / kind).mkdir(parents=True)
        for i in range(per_class):
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            extension, format_ = SAVE_AS[i % len(SAVE_AS)]
            shape_image(kind, colour, rng).save(root / kind / f"{i:03d}.{extension}", format_)
    return root


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--epochs", type=float, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--losses", nargs="+", default=["softmax", "svm"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folders = {"colour": make_image_folder(Path(scratch) / "colour", per_class=args.per_class),
                   "shape": shape_folder(Path(scratch) / "shape", args.per_class)}
        for title, folder in folders.items():
            dataset = load_image_folder(folder, image_size=32)
            print(f"\n{title}: {len(dataset.y_train)} train / {len(dataset.y_val)} validation images, 32×32×3, "
                  f"batch {args.batch}, {args.epochs:g} epochs, unit preprocessing; validation accuracy, mean of "
                  "seeds 0-2")
            for loss in args.losses:
                print(f"  {loss:8s} λ →  " + "  ".join(f"{r:>7g}" for r in REGS))
                for lr in LRS:
                    row = []
                    for reg in REGS:
                        accuracies = []
                        for seed in range(3):
                            config = TrainConfig(dataset="images", loss=loss, lr=lr, reg=reg, seed=seed,
                                                 batch_size=args.batch, epochs=args.epochs, image_size=32)
                            last = list(Session(config, dataset=dataset).run())[-1]
                            accuracies.append(last.final["val_accuracy"] if last.status == "ok" else np.nan)
                        row.append(np.mean(accuracies))
                    print(f"  α = {lr:<6g}     " + "  ".join(f"{a:7.3f}" for a in row), flush=True)


if __name__ == "__main__":
    main()
