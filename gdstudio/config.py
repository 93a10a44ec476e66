"""Hyperparameters, name tables and every numeric knob of GD Studio.

This module is the bottom layer: it imports nothing else from :mod:`gdstudio`, so every other layer may use it.
``TrainConfig`` is frozen and validated once, with plain messages that name the flag a user typed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------------------------------------------
# Errors. Each one carries a message meant for a person; the CLI prints it as one line and exits 2.


class GDStudioError(Exception):
    """Base class of the errors that the project raises on purpose, with a message meant for a user."""


class ConfigError(GDStudioError, ValueError):
    """A hyperparameter or option is out of range; the message names the option."""


class DataError(GDStudioError):
    """A data set, file or archive is missing, unreadable or malformed; the message names the file."""


class DataNotFound(DataError):
    """A data set is not where it was looked for (a path that is not there, or no copy on this machine): a
    person can point to where it is. ``dataset`` names it; ``path`` is the place looked in that a run recorded,
    if any."""

    def __init__(self, message: str, dataset: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.dataset = dataset
        self.path = path


class DownloadError(DataError):
    """A download failed (network, HTTP status, size or checksum); nothing complete-looking was left behind."""


class GDStudioWarning(UserWarning):
    """Warnings of the project itself; the test suite turns them into errors."""


# --------------------------------------------------------------------------------------------------------------
# Name tables.

LOSSES = ("svm", "softmax")
LOSS_IDS = {"svm": 0, "softmax": 1}
LOSS_TITLES = {"svm": "Multiclass SVM", "softmax": "Softmax"}
STRATEGIES = ("sgd", "random-search", "random-local-search")
BACKENDS = ("auto", "cpu", "cuda", "numpy")
PREPROCESSINGS = ("unit", "raw")
"""``unit``: subtract the mean image, divide by the largest pixel value (255 or 16); ``raw``: subtract the mean
image only, as the lecture does on CIFAR-10 (its step sizes are then ≈ 255² smaller, λ ≈ 255² larger)."""

# --------------------------------------------------------------------------------------------------------------
# Numeric knobs.

SVM_MARGIN = 1.0
CHUNK_SECONDS = 0.03
"""Wall time one chunk of training steps aims at; progress is reported once per chunk."""
MAX_CHUNK_STEPS = 100_000
DIVERGENCE_FACTOR = 1.0e4
"""A loss above this many times its starting value (or above ``DIVERGENCE_FLOOR``) counts as diverged."""
DIVERGENCE_FLOOR = 1.0e4
EVALS_PER_EPOCH = 4
"""Train/validation accuracy is measured this many times per epoch (at least every ``EVAL_MAX_STEPS`` steps)."""
EVAL_MAX_STEPS = 500
EVAL_COST_SHARE = 0.25
"""...but no more often than keeps the measurement's forward passes under this share of the training work (one
forward and one backward pass per example): on small data sets the live subsets are as large as an epoch (the
digits: every 86 steps, about two epochs; at 0.5 the measuring took a quarter of a digits run's time)."""
EVAL_SUBSET = 1000
"""Live train/validation accuracy uses a fixed subset of at most this many examples of each split."""
EVAL_BLOCK_ROWS = 256
SPLIT_SEED = 20_240_531
"""Seed of the fixed train/validation/test splits of the data sets that ship without one."""
HISTORY_LIMIT = 200_000
"""The history keeps every step until it holds this many points, then halves its resolution (decimation)."""
SEARCH_STEP_SCALE = 1.0
"""Random local search steps by ``SEARCH_STEP_SCALE · init_scale · randn``."""
CHECKPOINT_SECONDS = 5.0
"""``gdstudio train --out`` saves the run this often while training (and at the end)."""
GRADCHECK_STEP = 1e-5
GRADCHECK_ZERO = 1e-8
"""Gradient-check entries whose analytic and numerical values are both below this (in sum) count as exact."""
GRADCHECK_GOOD = 1e-7
GRADCHECK_WRONG = 1e-2
CUDA_THREADS_PER_BLOCK = 256
"""Threads per block of the CUDA kernels (tests lower it so that tiny inputs span several blocks)."""
CUDA_SIM_THREADS_PER_BLOCK = 8
"""At most this many threads per block under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), which runs each
thread as a Python thread: with 256, 40 toy2d steps took 7 min 42 s."""
CUDA_SIM_SWITCH_INTERVAL = 1e-4
"""The interpreter's switch interval (seconds) during a simulated launch: its barriers hand the GIL from thread to
thread, at Python's default 5 ms each barrier took milliseconds per thread."""
CUDA_AUTO_MIN_FEATURES = 10_000
"""``--backend auto`` picks a real CUDA device when D·C is at least this (see ``engine/backends.py``)."""
CPU_WIDE_VECTORS = True
"""Compile the Numba CPU kernels with 512-bit vectors where the CPU has AVX-512 (see ``kernels/cpu.py``)."""
REG_RANGE = (0.0, 1e8)
MAX_BATCH_SIZE = 1_000_000
MAX_SEED = 2**63 - 1
MAX_SWEEP_WORKERS = 1024
"""``gdstudio sweep --workers`` at most (more processes than this only queue for the cores)."""
DOWNLOAD_TIMEOUT_S = 30.0
DOWNLOAD_CHUNK_BYTES = 1 << 16
MAX_ARCHIVE_MEMBER_BYTES = 512 * 1024 * 1024
IMAGE_FOLDER_DATASET = "images"
"""The data set made from a person's own folder of class folders (``--dataset images --data DIR``)."""
IMAGE_SIZE_DEFAULT = 32
IMAGE_SIZE_RANGE = (4, 256)
"""``--image-size N``: images become N×N; 256×256×3 is already 196,608 inputs per image."""
IMAGE_MAX_PIXELS = 50_000_000
"""Images whose header claims more pixels than this are refused before decoding (a decompression bomb: a small
PNG can claim 30,000 × 30,000 pixels, 2.7 GB as RGB). Pillow's own limit (``Image.MAX_IMAGE_PIXELS``, about 89 M,
an error only at twice that) is process-wide and may be changed by anyone; this one is GD Studio's."""
IMAGE_MAX_FILES = 200_000
"""A folder with more files than this is refused before any is decoded: it is more likely a home folder or a
disk chosen by mistake than a data set for a linear classifier."""
IMAGE_SPLIT_SHARES = (0.2, 0.2)
"""Of each class of an image folder: the share held out for validation and the share for test (the rest trains);
a class of three or more images gets at least one in each."""
SCHEDULER_CONNECT_SECONDS = 5.0
"""A sweep on a Dask cluster gives up on a scheduler that has not answered within this (``--scheduler``)."""


# --------------------------------------------------------------------------------------------------------------
# Hyperparameters.


def _require_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
    return float(value)  # nan is a number here: each range check refuses it, saying what is allowed


def _require_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    number = _require_number(name, value)
    if not math.isfinite(number) or number != int(number):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    return int(number)


def _require_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_lr(value: Any) -> float:
    lr = _require_number("lr", value)
    if not lr > 0 or not math.isfinite(lr):
        raise ConfigError(f"lr must be > 0 and finite, got {value!r}")
    return lr


def check_reg(value: Any) -> float:
    reg = _require_number("reg", value)
    if not math.isfinite(reg) or reg < 0:
        raise ConfigError(f"reg must be >= 0 and finite, got {value!r}")
    if reg > REG_RANGE[1]:
        raise ConfigError(f"reg must be at most {REG_RANGE[1]:g}, got {reg:g}")
    return reg


def check_batch_size(value: Any) -> int:
    batch_size = _require_int("batch_size", value)
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ConfigError(f"batch_size must be between 1 and {MAX_BATCH_SIZE:,}, got {batch_size}")
    return batch_size


def check_loss(value: Any) -> str:
    return _require_choice("loss", value, LOSSES)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; validated when made.

    ``None`` for ``lr``, ``reg``, ``batch_size``, ``epochs``, ``init_scale`` and ``preprocess`` means "the data
    set's default"; :meth:`with_defaults` fills them in from a data set's defaults.
    """

    dataset: str = "digits"
    loss: str = "softmax"
    reg: float | None = None
    lr: float | None = None
    batch_size: int | None = None
    epochs: float | None = None
    steps: int | None = None
    seed: int = 0
    strategy: str = "sgd"
    backend: str = "auto"
    init_scale: float | None = None
    preprocess: str | None = None
    budget: int | None = None
    """Budget of mini-batch loss evaluations for the search strategies (``None``: what ``epochs`` allows)."""
    threads: int | None = None
    image_size: int | None = None
    """``--dataset images`` only: the side of the square the images are resized to (``None``: the default)."""
    grey: bool = False
    """``--dataset images`` only: decode the images as grey (one channel) instead of RGB."""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ConfigError(f"dataset must be a name, got {self.dataset!r}")
        set_(self, "loss", check_loss(self.loss))
        set_(self, "strategy", _require_choice("strategy", self.strategy, STRATEGIES))
        set_(self, "backend", _require_choice("backend", self.backend, BACKENDS))
        if self.preprocess is not None:
            set_(self, "preprocess", _require_choice("preprocess", self.preprocess, PREPROCESSINGS))
        if self.reg is not None:
            set_(self, "reg", check_reg(self.reg))
        if self.lr is not None:
            set_(self, "lr", check_lr(self.lr))
        if self.batch_size is not None:
            set_(self, "batch_size", check_batch_size(self.batch_size))
        if self.epochs is not None:
            epochs = _require_number("epochs", self.epochs)
            if not (epochs > 0 and math.isfinite(epochs)):
                raise ConfigError(f"epochs must be a finite number > 0, got {self.epochs!r}")
            set_(self, "epochs", epochs)
        if self.steps is not None:
            steps = _require_int("steps", self.steps)
            if steps <= 0:
                raise ConfigError(f"steps must be > 0, got {self.steps!r}")
            set_(self, "steps", steps)
        if self.budget is not None:
            budget = _require_int("budget", self.budget)
            if budget <= 0:
                raise ConfigError(f"budget must be > 0, got {self.budget!r}")
            set_(self, "budget", budget)
        seed = _require_int("seed", self.seed)
        if not 0 <= seed <= MAX_SEED:
            raise ConfigError(f"seed must be between 0 and 2**63 - 1, got {seed}")
        set_(self, "seed", seed)
        if self.init_scale is not None:
            init_scale = _require_number("init_scale", self.init_scale)
            if not (init_scale >= 0 and math.isfinite(init_scale)):
                raise ConfigError(f"init_scale must be >= 0 and finite, got {self.init_scale!r}")
            set_(self, "init_scale", init_scale)
        if self.threads is not None:
            threads = _require_int("threads", self.threads)
            if threads < 1:
                raise ConfigError(f"threads must be >= 1, got {self.threads!r}")
            set_(self, "threads", threads)
        self._check_image_options()

    def _check_image_options(self) -> None:
        if self.image_size is not None:
            size = _require_int("image_size", self.image_size)
            low, high = IMAGE_SIZE_RANGE
            if not low <= size <= high:
                raise ConfigError(f"image_size must be between {low} and {high}, got {size}")
            object.__setattr__(self, "image_size", size)
        if not isinstance(self.grey, bool):
            raise ConfigError(f"grey must be true or false, got {self.grey!r}")
        if self.dataset != IMAGE_FOLDER_DATASET:
            for flag, given in (("--image-size", self.image_size is not None), ("--grey", self.grey)):
                if given:
                    raise ConfigError(f"{flag} applies to --dataset {IMAGE_FOLDER_DATASET} only")

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes`` applied and validated."""
        return dataclasses.replace(self, **changes)

    def with_defaults(self, defaults: dict[str, Any]) -> "TrainConfig":
        """Fill every ``None`` field that ``defaults`` names."""
        missing = {k: v for k, v in defaults.items() if getattr(self, k, 0) is None}
        if self.steps is not None:
            missing.pop("epochs", None)
        return self.replace(**missing) if missing else self

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("extra")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Build from a dict such as ``config.json``; unknown keys are refused (a plain message, not a TypeError)."""
        if not isinstance(data, dict):
            raise ConfigError("config must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**data)
