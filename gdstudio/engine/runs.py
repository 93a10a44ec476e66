"""Run folders (DESIGN.md §7): ``config.json``, ``metrics.csv``, ``weights.npz``.

Every file is written to a temporary name in the same folder, flushed to disk and renamed over the old one, so a
crash never leaves a half-written file. Loading validates every file and never unpickles anything.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdstudio import __version__
from gdstudio.config import ConfigError, DataError, TrainConfig

FORMAT = 1
METRIC_COLUMNS = ("step", "epoch", "loss", "data_loss", "reg_loss", "batch_accuracy", "train_accuracy",
                  "val_accuracy")
STATE_KEYS = {"step", "epochs_done", "position", "examples_seen", "evaluations", "lr", "reg", "batch_size", "loss",
              "initial_loss", "status", "rng_state"}


class RunError(DataError):
    """A run folder cannot be written or is not a valid run; the message names the file."""


@dataclass
class Run:
    """What a run folder holds."""

    config: TrainConfig
    dataset: str
    state: dict
    W: np.ndarray
    b: np.ndarray
    mean: np.ndarray
    scale: float
    order: np.ndarray
    metrics: list[dict]
    changes: list[dict]
    final: dict


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _finite_or_none(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def session_state(session) -> dict:
    return {"step": session.step, "epochs_done": session.epochs_done, "position": session.position,
            "examples_seen": session.examples_seen, "evaluations": session.evaluations, "lr": session.lr,
            "reg": session.reg, "batch_size": session.batch_size, "loss": session.loss,
            "initial_loss": session.initial_loss, "status": session.status,
            "rng_state": session.rng.bit_generator.state}


def metrics_csv(history) -> str:
    rows = history.metrics_rows()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(METRIC_COLUMNS)
    for row in rows:
        writer.writerow(["" if row[c] is None else (repr(row[c]) if isinstance(row[c], float) else row[c])
                         for c in METRIC_COLUMNS])
    return out.getvalue()


def save_run(folder, session, final: dict | None = None) -> Path:
    """Write ``session`` (config, curves, weights and the state needed to resume) into ``folder``."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not np.all(np.isfinite(session.W)) or not np.all(np.isfinite(session.b)):
            raise RunError(f"{folder}: refusing to save non-finite weights")
        weights = io.BytesIO()
        np.savez(weights, W=session.W, b=session.b, mean=session.preprocess.mean,
                 scale=np.float64(session.preprocess.scale), order=session.order)
        write_atomic(folder / "weights.npz", weights.getvalue())
        write_atomic(folder / "metrics.csv", metrics_csv(session.history).encode())
        document = {"format": FORMAT, "gdstudio": __version__, "dataset": session.dataset.name,
                    "config": session.config.to_dict(), "state": session_state(session),
                    "changes": [{"step": c.step, "name": c.name, "old": c.old, "new": c.new}
                                for c in session.history.changes],
                    "final": {k: _finite_or_none(v) for k, v in (final or {}).items()}}
        document["state"]["initial_loss"] = _finite_or_none(document["state"]["initial_loss"])
        write_atomic(folder / "config.json", (json.dumps(document, indent=2) + "\n").encode())
    except OSError as exc:
        raise RunError(f"{folder}: cannot write the run: {exc.strerror or exc}") from None
    return folder


def _load_json(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing (not a run folder?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: not a valid run config ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RunError(f"{path}: not a GD Studio run config (format {FORMAT})")
    for key in ("dataset", "config", "state"):
        if key not in document:
            raise RunError(f"{path}: missing '{key}'")
    if not isinstance(document["state"], dict) or set(document["state"]) != STATE_KEYS:
        raise RunError(f"{path}: 'state' must hold exactly {', '.join(sorted(STATE_KEYS))}")
    return document


def _load_weights(path: Path, config: TrainConfig) -> dict:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in ("W", "b", "mean", "scale", "order")}
    except FileNotFoundError:
        raise RunError(f"{path}: missing") from None
    except (KeyError, ValueError, OSError, EOFError) as exc:
        raise RunError(f"{path}: not a valid weights file ({exc})") from None
    W, b, mean, scale, order = (arrays[k] for k in ("W", "b", "mean", "scale", "order"))
    if W.ndim != 2 or b.shape != (W.shape[0],) or mean.shape != (W.shape[1],) or scale.shape != ():
        raise RunError(f"{path}: shapes do not fit (W {W.shape}, b {b.shape}, mean {mean.shape})")
    if order.ndim != 1 or order.dtype.kind not in "iu":
        raise RunError(f"{path}: 'order' must be a vector of integers")
    for name, array in (("W", W), ("b", b), ("mean", mean), ("scale", scale)):
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)):
            raise RunError(f"{path}: '{name}' must hold finite floating-point values")
    if len(order) and (order.min() < 0 or order.max() >= len(order) or len(np.unique(order)) != len(order)):
        raise RunError(f"{path}: 'order' is not a permutation")
    return arrays


def load_metrics(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: unreadable ({exc})") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(header) != METRIC_COLUMNS:
        raise RunError(f"{path}: header must be {','.join(METRIC_COLUMNS)}")
    rows = []
    for number, fields in enumerate(reader, start=2):
        if len(fields) != len(METRIC_COLUMNS):
            raise RunError(f"{path}: line {number} has {len(fields)} fields, expected {len(METRIC_COLUMNS)}")
        try:
            row = {c: (None if v == "" else float(v)) for c, v in zip(METRIC_COLUMNS, fields)}
        except ValueError:
            raise RunError(f"{path}: line {number} holds a value that is not a number") from None
        row["step"] = int(row["step"])
        rows.append(row)
    return rows


def load_run(folder) -> Run:
    """Read and validate a run folder (``RunError`` naming the bad file otherwise)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"{folder}: no such run folder")
    document = _load_json(folder / "config.json")
    try:
        config = TrainConfig.from_dict(document["config"])
    except (ConfigError, TypeError) as exc:
        raise RunError(f"{folder / 'config.json'}: {exc}") from None
    arrays = _load_weights(folder / "weights.npz", config)
    metrics = load_metrics(folder / "metrics.csv")
    return Run(config=config, dataset=str(document["dataset"]), state=document["state"], W=arrays["W"],
               b=arrays["b"], mean=arrays["mean"], scale=float(arrays["scale"]), order=arrays["order"],
               metrics=metrics, changes=list(document.get("changes", [])), final=dict(document.get("final", {})))
