"""``gdstudio bench --workload fashion-mnist``: the real data set, trained by GD Studio and by the usual tools.

Each implementation trains the same split of the real Fashion-MNIST (55,000 training images, 10,000 test images)
with the data set's defaults (``gdstudio/data/catalog.py``: softmax, α 0.3, λ 1e-5, batch 256, 20 epochs, pixels
scaled to [0, 1] after subtracting the mean image):

- ``gdstudio-cpu`` (and ``gdstudio-cuda`` where CUDA runs): a :class:`~gdstudio.engine.session.Session`, as
  ``gdstudio train --dataset fashion-mnist`` runs it (chunks, live accuracy, history); the same seed gives the
  same weights as that command;
- ``numpy-loop``: the classic vectorised float32 NumPy loop (BLAS products on preprocessed float32 data);
- ``torch-cpu`` (and ``torch-cuda``): ``nn.Linear`` + ``CrossEntropyLoss`` (``MultiMarginLoss`` for SVM) + ``SGD``
  with weight decay 2λ, when PyTorch is installed;
- ``sklearn-sgd``: scikit-learn's ``SGDClassifier`` when installed. It is not the same algorithm: one example per
  step and one-vs-rest binary classifiers (logistic or hinge). It gets the same step per example (α / batch),
  ``alpha`` = 2λ (its penalty is ½·alpha·‖w‖²) and one ``partial_fit`` per epoch.

The epochs are interleaved (epoch 1 of every implementation, then epoch 2 ...), so a busy spell on a shared
machine hits every row alike. Only training is timed; the test accuracy after each epoch is measured outside the
timing. The report gives the median time per epoch, the training time until the test accuracy first reaches
``TARGET_ACCURACY`` (and after how many epochs), and the final test accuracy. A benchmark: it asserts nothing.
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np

from gdstudio.config import TrainConfig
from gdstudio.data.dataset import Dataset
from gdstudio.engine.backends import cuda_status
from gdstudio.engine.bench import _TorchLoop as SyntheticTorchLoop
from gdstudio.engine.bench import numpy_sgd_epoch

REAL_WORKLOADS = ("fashion-mnist",)
TARGET_ACCURACY = 0.82
"""The test accuracy the "time to" column counts to (the Fashion-MNIST paper's SGDClassifier reaches 0.81–0.82)."""
QUICK_EPOCHS = 2
SETTLE_SECONDS = 0.1
"""Pause before each timed epoch: OpenBLAS's threads spin for about 0.1 s after the NumPy loop's products."""


def _preprocessed(data: Dataset, X: np.ndarray) -> np.ndarray:
    pre = data.preprocess("unit")
    return (X.astype(np.float32) - pre.mean.astype(np.float32)) * np.float32(pre.scale)


class GDStudioRun:
    """GD Studio's session on ``backend``, one epoch per call."""

    def __init__(self, data: Dataset, settings: dict, backend: str) -> None:
        from gdstudio.engine.session import Session

        self.name = f"gdstudio-{backend}"
        config = TrainConfig(dataset=data.name, loss=settings["loss"], lr=settings["lr"], reg=settings["reg"],
                             batch_size=settings["batch_size"], epochs=settings["epochs"], seed=settings["seed"],
                             backend=backend, init_scale=settings["init_scale"], preprocess=settings["preprocess"])
        self.session = Session(config, dataset=data)
        self.session.warm_up()
        self.steps = math.ceil(len(data.y_train) / settings["batch_size"])

    def epoch(self) -> None:
        for record in self.session.run(max_steps=self.steps):
            if record.status not in ("running", "ok"):
                raise RuntimeError(f"the GD Studio run stopped: {record.status} {record.message}")

    def test_accuracy(self) -> float:
        return self.session.evaluate("test", with_loss=False)[1]


class NumpyLoop:
    """The classic vectorised float32 NumPy loop: preprocessed float32 data, BLAS products, the same update."""

    name = "numpy-loop"

    def __init__(self, data: Dataset, settings: dict) -> None:
        self.X = _preprocessed(data, data.X_train)
        self.X_test = _preprocessed(data, data.X_test)
        self.y, self.y_test = data.y_train, data.y_test
        self.settings = settings
        self.rng = np.random.default_rng(settings["seed"])
        self.W = (self.rng.standard_normal((self.X.shape[1], data.num_classes)) * settings["init_scale"]).astype(
            np.float32)
        self.b = np.zeros(data.num_classes, np.float32)

    def epoch(self) -> None:
        settings = self.settings
        numpy_sgd_epoch(self.X, self.y, self.W, self.b, self.rng.permutation(len(self.y)), settings["batch_size"],
                        settings["lr"], settings["reg"], settings["loss"])

    def test_accuracy(self) -> float:
        return float(np.mean(np.argmax(self.X_test @ self.W + self.b, axis=1) == self.y_test))


class TorchLoop(SyntheticTorchLoop):
    """PyTorch: ``nn.Linear`` (initialised as the others) + its loss + ``SGD`` with weight decay 2λ; its epoch is
    the synthetic benchmark's."""

    def __init__(self, torch, data: Dataset, settings: dict, device: str) -> None:
        self.torch, self.device, self.name = torch, device, f"torch-{device}"
        torch.manual_seed(settings["seed"])
        self.X = torch.from_numpy(_preprocessed(data, data.X_train)).to(device)
        self.y = torch.from_numpy(data.y_train.astype(np.int64)).to(device)
        self.X_test = torch.from_numpy(_preprocessed(data, data.X_test)).to(device)
        self.y_test = torch.from_numpy(data.y_test.astype(np.int64)).to(device)
        self.model = torch.nn.Linear(self.X.shape[1], data.num_classes).to(device)
        with torch.no_grad():
            self.model.weight.normal_(0.0, settings["init_scale"])
            self.model.bias.zero_()
        self.criterion = torch.nn.CrossEntropyLoss() if settings["loss"] == "softmax" else torch.nn.MultiMarginLoss()
        self.optimiser = torch.optim.SGD(self.model.parameters(), lr=settings["lr"], weight_decay=2 * settings["reg"])
        self.batch_size = settings["batch_size"]

    def test_accuracy(self) -> float:
        with self.torch.no_grad():
            predicted = self.model(self.X_test).argmax(dim=1)
        return float((predicted == self.y_test).float().mean().item())


class SklearnSGD:
    """scikit-learn's ``SGDClassifier``, one ``partial_fit`` (one shuffled pass) per epoch."""

    name = "sklearn-sgd"

    def __init__(self, linear_model, data: Dataset, settings: dict) -> None:
        self.X = _preprocessed(data, data.X_train)
        self.X_test = _preprocessed(data, data.X_test)
        self.y, self.y_test = data.y_train, data.y_test
        self.classes = np.arange(data.num_classes)
        self.model = linear_model.SGDClassifier(
            loss="log_loss" if settings["loss"] == "softmax" else "hinge", penalty="l2", alpha=2 * settings["reg"],
            learning_rate="constant", eta0=settings["lr"] / settings["batch_size"], shuffle=True,
            random_state=settings["seed"], n_jobs=-1)

    def epoch(self) -> None:
        self.model.partial_fit(self.X, self.y, classes=self.classes)

    def test_accuracy(self) -> float:
        return float(np.mean(self.model.predict(self.X_test) == self.y_test))


def _module(name: str):
    try:
        return __import__(name, fromlist=["_"])
    except Exception:  # missing, or broken beside this NumPy: skipped and said so
        return None


def settings_of(name: str, loss: str, epochs: float | None, quick: bool, seed: int = 0) -> dict:
    """The data set's defaults (the catalogue), with ``loss`` and the number of epochs this run trains."""
    from gdstudio.engine.session import dataset_defaults

    defaults = dataset_defaults(name)
    count = epochs if epochs is not None else (QUICK_EPOCHS if quick else defaults["epochs"])
    return {"loss": loss, "lr": defaults["lr"], "reg": defaults["reg"], "batch_size": defaults["batch_size"],
            "epochs": int(count), "init_scale": defaults["init_scale"], "preprocess": defaults["preprocess"],
            "seed": seed}


def run_real_bench(name: str = "fashion-mnist", backends=None, loss: str = "softmax", epochs: int | None = None,
                   quick: bool = False, torch: str = "auto", report=None) -> dict:
    """Train the real data set ``name`` with every implementation that runs here; a JSON-ready report.

    Parameters
    ----------
    backends : GD Studio backends to time (default: ``cpu``, and ``cuda`` where it runs).
    epochs : epochs to train (default: the data set's, ``QUICK_EPOCHS`` with ``quick``).
    torch : ``"auto"`` (PyTorch when importable) or ``"no"``.
    report : optional callable taking one line of progress text.

    Raises
    ------
    DataError
        When the data set is not on this machine (the message says how to get it).
    """
    from gdstudio.data.registry import load_dataset

    data = load_dataset(name)
    settings = settings_of(name, loss, epochs, quick)
    if backends is None:
        backends = ["cpu", *(["cuda"] if cuda_status() is None else [])]
    say = report or (lambda line: None)
    impls, skipped = [], {}
    for backend in backends:
        say(f"{name}: gdstudio-{backend} …")
        impls.append(GDStudioRun(data, settings, backend))
    say(f"{name}: numpy-loop …")
    impls.append(NumpyLoop(data, settings))
    torch_mod = _module("torch") if torch == "auto" else None
    if torch == "no":
        skipped["torch"] = "--no-torch"
    elif torch_mod is None:
        skipped["torch"] = "PyTorch is not installed"
    else:
        for device in ["cpu"] + (["cuda"] if torch_mod.cuda.is_available() else []):
            say(f"{name}: torch-{device} …")
            impls.append(TorchLoop(torch_mod, data, settings, device))
    linear_model = _module("sklearn.linear_model")
    if linear_model is None:
        skipped["sklearn-sgd"] = "scikit-learn is not installed"
    else:
        impls.append(SklearnSGD(linear_model, data, settings))
    times = {impl.name: [] for impl in impls}
    accuracies = {impl.name: [] for impl in impls}
    for epoch in range(settings["epochs"]):  # interleaved: epoch k of every implementation, then k + 1
        say(f"{name}: epoch {epoch + 1} of {settings['epochs']}")
        for impl in impls:
            time.sleep(SETTLE_SECONDS)
            started = time.perf_counter()
            impl.epoch()
            times[impl.name].append(time.perf_counter() - started)
            accuracies[impl.name].append(impl.test_accuracy())
    rows = [_row(impl.name, times[impl.name], accuracies[impl.name]) for impl in impls]
    base = next(row["ms_per_epoch"] for row in rows if row["implementation"] == "numpy-loop")
    for row in rows:
        row["speedup_vs_numpy_loop"] = base / row["ms_per_epoch"]
    from gdstudio.engine.bench import machine_description

    return {"workload": name, "N": len(data.y_train), "D": data.num_features, "C": data.num_classes,
            "N_test": len(data.y_test), "hyperparameters": settings, "target_accuracy": TARGET_ACCURACY,
            "quick": quick, "machine": machine_description(), "skipped": skipped, "results": rows}


def _row(name: str, times: list[float], accuracies: list[float]) -> dict:
    elapsed = np.cumsum(times)
    reached = next((k for k, accuracy in enumerate(accuracies) if accuracy >= TARGET_ACCURACY), None)
    return {"implementation": name, "epochs": len(times), "ms_per_epoch": 1e3 * statistics.median(times),
            "train_seconds": float(elapsed[-1]) if len(times) else 0.0,
            "seconds_to_target": None if reached is None else float(elapsed[reached]),
            "epochs_to_target": None if reached is None else reached + 1,
            "final_test_accuracy": accuracies[-1] if accuracies else None, "test_accuracy": accuracies,
            "epoch_seconds": times}


def format_real_table(result: dict) -> str:
    """The report as a Markdown table (the README's real-data rows are one of these)."""
    h = result["hyperparameters"]
    lines = [f"{result['workload']}: N={result['N']:,} D={result['D']} C={result['C']}, {h['loss']}, "
             f"α {h['lr']:g}, λ {h['reg']:g}, batch {h['batch_size']}, {h['epochs']} epochs; training time only, "
             "epochs interleaved", "",
             f"| implementation | ms / epoch | × numpy loop | time to {result['target_accuracy']:.2f} test accuracy "
             "| final test accuracy |", "|---|---:|---:|---:|---:|"]
    for row in result["results"]:
        if row["seconds_to_target"] is None:
            to_target = "not reached"
        else:
            to_target = f"{row['seconds_to_target']:.2f} s ({row['epochs_to_target']} epochs)"
        lines.append(f"| {row['implementation']} | {row['ms_per_epoch']:.1f} | {row['speedup_vs_numpy_loop']:.2f} "
                     f"| {to_target} | {row['final_test_accuracy']:.4f} |")
    if result["skipped"]:
        lines += ["", "skipped: " + "; ".join(f"{what} ({why})" for what, why in result["skipped"].items())]
    return "\n".join(lines)
