"""``gdstudio bench``: how fast each backend trains, against a classic NumPy loop and the machine's FLOP bound.

Every implementation trains the same synthetic data (uint8 pixels shaped like CIFAR-10 or the 8×8 digits) with
softmax or SVM SGD in the same run, so the ratios compare like with like:

- ``numpy-loop``: the classic vectorised float32 NumPy training loop (CS231n's ``loss_vectorized`` + SGD on
  preprocessed float32 data), the baseline every ratio refers to;
- each engine backend that runs here (``cpu``, ``cuda``, the float64 ``numpy`` reference), timed through
  :class:`~gdstudio.engine.session.Session` as ``gdstudio train`` runs it (chunks, live accuracy checks, history);
- ``cpu-kernel`` / ``cuda-kernel``: the same backend's training chunks alone, one call per epoch;
- ``torch-cpu`` / ``torch-cuda`` (``nn.Linear`` + ``CrossEntropyLoss`` + ``SGD``) when PyTorch is installed.

The FLOP bound of an epoch is ``4·N·D·C`` (the two products ``X·Wᵀ`` and ``dSᵀ·X``) divided by the float32 GEMM
rate measured here with ``np.matmul`` on large square matrices. A benchmark prints ratios; it asserts nothing.
"""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import dataclass

import numpy as np

from gdstudio.config import TrainConfig
from gdstudio.data.dataset import Dataset
from gdstudio.engine.backends import cuda_status


@dataclass(frozen=True)
class Workload:
    """A synthetic training problem: ``N`` training rows of ``D`` pixels in ``C`` classes, pixels 0–``max_value``."""

    name: str
    N: int
    D: int
    C: int
    batch_size: int
    max_value: int = 255

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.N / self.batch_size)

    @property
    def flops_per_epoch(self) -> float:
        return 4.0 * self.N * self.D * self.C


WORKLOADS = {
    "cifar10": Workload("cifar10", 49_000, 3072, 10, 200),  # batch 200: the data set's default (the lecture's)
    "digits": Workload("digits", 1257, 64, 10, 32, max_value=16),
}
QUICK_WORKLOADS = {
    "cifar10": Workload("cifar10", 600, 192, 10, 64),
    "digits": Workload("digits", 200, 64, 10, 32, max_value=16),
}
MIN_TIMING_SECONDS = 0.1
"""Each timing runs whole epochs until it lasts at least this long (the best of ``repeats`` timings is kept)."""
SETTLE_SECONDS = 0.3
"""Pause before each timed epoch: after a BLAS call, OpenBLAS's threads spin for a while (about 0.1 s) and would
take the cores from whichever implementation runs next."""
LEARNING_RATE = 1e-3
REG = 1e-4


def synthetic_dataset(work: Workload, seed: int = 0) -> Dataset:
    """Uniform random pixels and labels (speed does not depend on what is learnt); tiny val/test splits."""
    rng = np.random.default_rng(seed)

    def part(n):
        return (rng.integers(0, work.max_value + 1, (n, work.D), dtype=np.uint8),
                rng.integers(0, work.C, n).astype(np.int32))

    (Xtr, ytr), (Xv, yv), (Xte, yte) = part(work.N), part(100), part(100)
    return Dataset(Xtr, ytr, Xv, yv, Xte, yte, tuple(f"c{i}" for i in range(work.C)), None,
                   f"bench-{work.name}", work.max_value)


def gemm_gflops(n: int = 2048, repeats: int = 3) -> float:
    """The float32 matrix-product rate of this machine's NumPy BLAS (all its threads), in GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - started)
    return 2.0 * n ** 3 / best / 1e9


def _run_epochs(loop, n: int) -> None:
    if hasattr(loop, "run_epochs"):
        loop.run_epochs(n)
    else:
        for _ in range(n):
            loop.epoch()


def _timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


class NumpyLoop:
    """The classic vectorised float32 NumPy loop (the baseline): preprocessed float32 data, BLAS products."""

    def __init__(self, data: Dataset, batch_size: int, loss: str, seed: int = 0) -> None:
        pre = data.preprocess("unit")
        self.X = (data.X_train.astype(np.float32) - pre.mean.astype(np.float32)) * np.float32(pre.scale)
        self.y = data.y_train
        self.batch_size, self.loss = batch_size, loss
        self.rng = np.random.default_rng(seed)
        D, C = self.X.shape[1], data.num_classes
        self.W = (self.rng.standard_normal((D, C)) * 1e-3).astype(np.float32)
        self.b = np.zeros(C, np.float32)

    def epoch(self) -> None:
        self.last_loss = numpy_sgd_epoch(self.X, self.y, self.W, self.b, self.rng.permutation(len(self.y)),
                                         self.batch_size, LEARNING_RATE, REG, self.loss, with_loss=True)


def numpy_sgd_epoch(X, y, W, b, order, batch_size: int, lr: float, reg: float, loss: str,
                    with_loss: bool = False) -> float | None:
    """One epoch of the classic float32 NumPy loop over the rows in ``order``, updating ``W`` (D, C) and ``b`` in
    place; with ``with_loss``, the last batch's loss (computed each step, as a run reports it)."""
    lr, reg = np.float32(lr), np.float32(reg)
    last_loss = None
    for lo in range(0, len(order), batch_size):
        rows = order[lo:lo + batch_size]
        x, yb = X[rows], y[rows]
        n = len(rows)
        picked = np.arange(n)
        S = x @ W + b
        if loss == "softmax":
            S -= S.max(axis=1, keepdims=True)
            P = np.exp(S)
            P /= P.sum(axis=1, keepdims=True)
            if with_loss:
                last_loss = -np.log(P[picked, yb]).mean() + reg * np.sum(W * W)
            P[picked, yb] -= 1
            dS = P / n
        else:
            margins = np.maximum(0, S - S[picked, yb][:, None] + 1)
            margins[picked, yb] = 0
            if with_loss:
                last_loss = margins.sum() / n + reg * np.sum(W * W)
            dS = (margins > 0).astype(np.float32)
            dS[picked, yb] = -dS.sum(axis=1)
            dS /= n
        W -= lr * (x.T @ dS + 2 * reg * W)
        b -= lr * dS.sum(axis=0)
    return last_loss


class _TorchLoop:
    """The same workload in PyTorch: ``nn.Linear`` + ``CrossEntropyLoss`` (or ``MultiMarginLoss``) + ``SGD``."""

    def __init__(self, torch, data: Dataset, batch_size: int, loss: str, device: str, seed: int = 0) -> None:
        self.torch, self.device = torch, device
        pre = data.preprocess("unit")
        X = (data.X_train.astype(np.float32) - pre.mean.astype(np.float32)) * np.float32(pre.scale)
        torch.manual_seed(seed)
        self.X = torch.from_numpy(X).to(device)
        self.y = torch.from_numpy(data.y_train.astype(np.int64)).to(device)
        self.model = torch.nn.Linear(X.shape[1], data.num_classes).to(device)
        self.criterion = torch.nn.CrossEntropyLoss() if loss == "softmax" else torch.nn.MultiMarginLoss()
        self.optimiser = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE, weight_decay=2 * REG)
        self.batch_size = batch_size

    def epoch(self) -> None:
        torch = self.torch
        N = self.X.shape[0]
        order = torch.randperm(N, device=self.device)
        for lo in range(0, N, self.batch_size):
            rows = order[lo:lo + self.batch_size]
            self.optimiser.zero_grad(set_to_none=True)
            self.criterion(self.model(self.X[rows]), self.y[rows]).backward()
            self.optimiser.step()
        if self.device != "cpu":
            torch.cuda.synchronize()


class SessionLoop:
    """An engine backend timed through a :class:`Session`, as ``gdstudio train`` runs it."""

    def __init__(self, data: Dataset, work: Workload, loss: str, backend: str, threads: int | None = None) -> None:
        from gdstudio.engine.session import Session

        config = TrainConfig(dataset=data.name, loss=loss, lr=LEARNING_RATE, reg=REG, batch_size=work.batch_size,
                             epochs=1e6, backend=backend, preprocess="unit", threads=threads)
        self.session = Session(config, dataset=data)
        self.steps = work.steps_per_epoch

    def epoch(self) -> None:
        self.run_epochs(1)

    def run_epochs(self, n: int) -> None:
        """``n`` epochs in one run, as ``gdstudio train`` runs them (a chunk may run on into the next epoch)."""
        for record in self.session.run(max_steps=n * self.steps):
            if record.status not in ("running", "ok"):
                raise RuntimeError(f"bench run stopped: {record.status} {record.message}")


class KernelLoop:
    """An engine backend's training chunks alone, a whole epoch per call: no live accuracy checks, no history."""

    def __init__(self, data: Dataset, work: Workload, loss: str, backend: str) -> None:
        from gdstudio.engine.backends import make_backend

        self.backend = make_backend(backend, data.X_train, data.y_train, data.preprocess("unit"))
        self.rng = np.random.default_rng(0)
        C, D = data.num_classes, data.num_features
        self.W = (self.rng.standard_normal((C, D)) * 1e-3).astype(self.backend.dtype)
        self.b = np.zeros(C, self.backend.dtype)
        self.work, self.loss = work, loss

    def epoch(self) -> None:
        order = self.rng.permutation(self.work.N).astype(np.int64)
        result = self.backend.train_chunk(self.W, self.b, order, 0, self.work.steps_per_epoch,
                                          self.work.batch_size, LEARNING_RATE, REG, self.loss, math.inf)
        if result.status != 0:
            raise RuntimeError(f"bench run stopped with status {result.status}")


def torch_module():
    """``torch`` when it can be imported here, else ``None``."""
    try:
        import torch
    except Exception:
        return None
    return torch


def implementations(backends, torch_devices) -> list[str]:
    """The names this run times, baseline first."""
    kernels = [f"{name}-kernel" for name in backends if name != "numpy"]
    return ["numpy-loop", *backends, *kernels, *(f"torch-{d}" for d in torch_devices)]


def available_backends() -> list[str]:
    """Engine backends that run here: ``cpu`` and ``numpy`` always, ``cuda`` when :func:`cuda_status` allows."""
    return ["cpu", *(["cuda"] if cuda_status() is None else []), "numpy"]


def _make_loop(name: str, data: Dataset, work: Workload, loss: str, torch):
    if name == "numpy-loop":
        return NumpyLoop(data, work.batch_size, loss)
    if name.startswith("torch-"):
        return _TorchLoop(torch, data, work.batch_size, loss, name.removeprefix("torch-"))
    if name.endswith("-kernel"):
        return KernelLoop(data, work, loss, name.removesuffix("-kernel"))
    return SessionLoop(data, work, loss, name)


def run_bench(workloads=("cifar10", "digits"), backends=None, loss: str = "softmax", quick: bool = False,
              repeats: int | None = None, torch: str = "auto", report=None) -> dict:
    """Time every implementation on every workload; returns a JSON-ready dict (see ``gdstudio bench --json``).

    Parameters
    ----------
    workloads : names in ``WORKLOADS``.
    backends : engine backends to time (default: :func:`available_backends`).
    quick : tiny sizes and one repeat (seconds, for tests); the ratios then mean little.
    torch : ``"auto"`` (time PyTorch when importable, on CUDA too when available), ``"no"``.
    report : optional callable taking one line of progress text.
    """
    table = QUICK_WORKLOADS if quick else WORKLOADS
    repeats = repeats or (1 if quick else 3)
    backends = list(backends) if backends is not None else available_backends()
    torch_mod = torch_module() if torch == "auto" else None
    torch_devices = []
    if torch_mod is not None:
        torch_devices = ["cpu"] + (["cuda"] if torch_mod.cuda.is_available() else [])
    names = implementations(backends, torch_devices)
    peak = gemm_gflops(512 if quick else 2048)
    result = {"machine": machine_description(), "gemm_gflops": peak, "loss": loss, "quick": quick,
              "repeats": repeats, "workloads": []}
    for key in workloads:
        work = table[key]
        data = synthetic_dataset(work)
        bound = work.flops_per_epoch / (peak * 1e9)
        loops = {}
        for name in names:  # build and warm up every implementation (compilation, caches, first touch)
            if report:
                report(f"{work.name}: {name} …")
            loops[name] = _make_loop(name, data, work, loss, torch_mod)
            loops[name].epoch()
        # each timing runs enough whole epochs to last MIN_TIMING_SECONDS (a digits epoch is under a millisecond)
        per_timing = {name: max(1, math.ceil(MIN_TIMING_SECONDS / _timed(loops[name].epoch))) for name in names}
        best = dict.fromkeys(names, math.inf)
        for _ in range(repeats):  # interleaved rounds: a busy spell on a shared machine hits every row alike
            for name in names:
                time.sleep(SETTLE_SECONDS)
                epochs = per_timing[name]
                best[name] = min(best[name], _timed(lambda loop=loops[name], n=epochs: _run_epochs(loop, n)) / epochs)
        loops.clear()
        rows = []
        for name in names:
            seconds = best[name]
            rows.append({"implementation": name, "ms_per_epoch": seconds * 1e3,
                         "steps_per_s": work.steps_per_epoch / seconds, "examples_per_s": work.N / seconds,
                         "flop_bound_fraction": bound / seconds})
        base = rows[0]["ms_per_epoch"]
        for row in rows:
            row["speedup_vs_numpy_loop"] = base / row["ms_per_epoch"]
        result["workloads"].append({"name": work.name, "N": work.N, "D": work.D, "C": work.C,
                                    "batch_size": work.batch_size, "steps_per_epoch": work.steps_per_epoch,
                                    "flop_bound_ms": bound * 1e3, "results": rows})
    return result


def machine_description() -> dict:
    import numba

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "numpy": np.__version__, "numba": numba.__version__, "cuda": cuda_status() or "available"}


def format_table(result: dict) -> str:
    """The result as a Markdown table (the README's Performance section is one of these)."""
    lines = [f"float32 GEMM peak (np.matmul): {result['gemm_gflops']:.0f} GFLOP/s; loss {result['loss']}; "
             f"best of {result['repeats']} interleaved epochs", "",
             "| workload | implementation | ms / epoch | steps / s | × numpy loop | of FLOP bound |",
             "|---|---|---:|---:|---:|---:|"]
    for work in result["workloads"]:
        label = (f"{work['name']} N={work['N']:,} D={work['D']} C={work['C']} batch {work['batch_size']} "
                 f"(bound {work['flop_bound_ms']:.2f} ms)")
        for row in work["results"]:
            lines.append(f"| {label} | {row['implementation']} | {row['ms_per_epoch']:.2f} | "
                         f"{row['steps_per_s']:,.0f} | {row['speedup_vs_numpy_loop']:.2f} | "
                         f"{100 * row['flop_bound_fraction']:.0f} % |")
            label = ""
    return "\n".join(lines)
