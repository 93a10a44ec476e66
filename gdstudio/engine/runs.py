"""Run folders (DESIGN.md §7): ``config.json``, ``metrics.csv``, ``weights.npz``.

A save is a small transaction, so that a crash at any moment leaves either the old run or the new one:

1. the three new files are written into ``DIR/.pending/`` (each through a temporary name, flushed to disk);
2. an empty ``DIR/.pending/COMPLETE`` marks the set as whole;
3. each file is renamed over its old self in ``DIR`` (a rename is atomic), then ``.pending`` is removed.

A reader that finds ``COMPLETE`` takes each file from ``.pending`` while it is still there (the new run) and
finishes the renames when it can; a ``.pending`` without ``COMPLETE`` is an unfinished save and is ignored (the
old run). Loading validates every file and never unpickles anything.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdstudio import __version__
from gdstudio.config import ConfigError, DataError, TrainConfig

FORMAT = 1
FILES = ("weights.npz", "metrics.csv", "config.json")
PENDING = ".pending"
COMPLETE = "COMPLETE"
METRIC_COLUMNS = ("step", "epoch", "loss", "data_loss", "reg_loss", "batch_accuracy", "train_accuracy",
                  "val_accuracy", "examples", "evaluations")
STATE_KEYS = {"step", "epochs_done", "position", "examples_seen", "evaluations", "lr", "reg", "batch_size", "loss",
              "initial_loss", "status", "rng_state"}
OPTIONAL_STATE_KEYS = {"queued"}
"""``queued``: live changes asked for and not applied yet (α typed while paused), ``{name: value}``; written only
when there are some, so folders saved before it existed, and by older versions, still load."""


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
    data_path: str | None = None


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file gets the mode the user's umask gives any new file (``0o666 & ~umask``), not the 0600 of
    ``tempfile.mkstemp``: a run folder or an exported CSV is shared like any other file the user makes.
    """
    path = Path(path)
    fd, tmp = _new_temporary(path)
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


def _new_temporary(path: Path) -> tuple[int, Path]:
    """A new, exclusively created file beside ``path``, open for writing: ``(descriptor, its path)``.

    Made with ``os.open(..., 0o666)`` so that the kernel applies the umask, as for any new file; reading the umask
    instead would mean setting it for a moment, which races with other threads that create files.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _finite_or_none(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def session_state(session) -> dict:
    return {"step": session.step, "epochs_done": session.epochs_done, "position": session.position,
            "examples_seen": session.examples_seen, "evaluations": session.evaluations, "lr": session.lr,
            "reg": session.reg, "batch_size": session.batch_size, "loss": session.loss,
            "initial_loss": session.initial_loss, "status": session.status,
            "rng_state": session.rng.bit_generator.state,
            **({"queued": queued} if (queued := session.queued()) else {})}


def metrics_csv(history) -> str:
    rows = history.metrics_rows()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(METRIC_COLUMNS)
    for row in rows:
        writer.writerow(["" if row[c] is None else (repr(row[c]) if isinstance(row[c], float) else row[c])
                         for c in METRIC_COLUMNS])
    return out.getvalue()


def save_run(folder, session, final: dict | None = None, data_path=None) -> Path:
    """Write ``session`` (config, curves, weights and the state needed to resume) into ``folder``, atomically as
    a whole (see the module's docstring).

    ``data_path`` is recorded as where the data set is (``config.json``'s ``data_path``); by default, where the
    session read it from (``session.data_path``), so that every save and resume of a run keeps its data's place.
    """
    folder = Path(folder)
    if data_path is None:
        data_path = getattr(session, "data_path", None)
    if not np.all(np.isfinite(session.W)) or not np.all(np.isfinite(session.b)):
        raise RunError(f"{folder}: refusing to save non-finite weights")
    weights = io.BytesIO()
    np.savez(weights, W=session.W, b=session.b, mean=session.preprocess.mean,
             scale=np.float64(session.preprocess.scale), order=session.order)
    document = {"format": FORMAT, "gdstudio": __version__, "dataset": session.dataset.name,
                "data_path": None if data_path is None else str(Path(data_path).resolve()),
                "config": session.config.to_dict(), "state": session_state(session),
                "changes": [{"step": c.step, "name": c.name, "old": c.old, "new": c.new}
                            for c in session.history.changes],
                "final": {k: _finite_or_none(v) for k, v in (final or {}).items()}}
    document["state"]["initial_loss"] = _finite_or_none(document["state"]["initial_loss"])
    contents = {"weights.npz": weights.getvalue(), "metrics.csv": metrics_csv(session.history).encode(),
                "config.json": (json.dumps(document, indent=2) + "\n").encode()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _roll_forward(folder)  # an earlier save that was cut short after it was complete
        pending = folder / PENDING
        if pending.exists():
            shutil.rmtree(pending)
        pending.mkdir()
        for name in FILES:
            write_atomic(pending / name, contents[name])
        write_atomic(pending / COMPLETE, b"")
        _fsync_folder(pending)
        _roll_forward(folder)
    except OSError as exc:
        raise RunError(f"{folder}: cannot write the run: {exc.strerror or exc}") from None
    return folder


def _fsync_folder(folder: Path) -> None:
    """Make the renames inside ``folder`` durable (where the platform lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _roll_forward(folder: Path) -> None:
    """Finish a complete pending save: move its files over the old ones, then drop ``.pending``."""
    pending = folder / PENDING
    if not (pending / COMPLETE).exists():
        return
    for name in FILES:
        if (pending / name).exists():
            os.replace(pending / name, folder / name)
    _fsync_folder(folder)
    shutil.rmtree(pending, ignore_errors=True)


def _current(folder: Path, name: str) -> Path:
    """Where the newest whole copy of ``name`` is: in a complete ``.pending`` if it is still there."""
    pending = folder / PENDING
    if (pending / COMPLETE).exists() and (pending / name).exists():
        return pending / name
    return folder / name


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
    if not isinstance(document["state"], dict) or set(document["state"]) - OPTIONAL_STATE_KEYS != STATE_KEYS:
        raise RunError(f"{path}: 'state' must hold exactly {', '.join(sorted(STATE_KEYS))} (and may hold "
                       f"{', '.join(sorted(OPTIONAL_STATE_KEYS))})")
    return document


def _load_weights(path: Path, config: TrainConfig) -> dict:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in ("W", "b", "mean", "scale", "order")}
    except FileNotFoundError:
        raise RunError(f"{path}: missing") from None
    except Exception as exc:  # a damaged zip raises BadZipFile, zlib.error, ValueError ...: all mean the same
        raise RunError(f"{path}: not a valid weights file ({type(exc).__name__}: {exc})") from None
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


def is_run_folder(folder) -> bool:
    """Whether ``folder`` holds a GD Studio run's ``config.json``: a folder that a save may write over."""
    try:
        _load_json(_current(Path(folder), "config.json"))
    except RunError:
        return False
    return True


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
        if row["step"] is None or not math.isfinite(row["step"]):
            raise RunError(f"{path}: line {number} has no step")
        row["step"] = int(row["step"])
        for name in ("examples", "evaluations"):
            row[name] = None if row[name] is None else int(row[name])
        rows.append(row)
    return rows


def load_run(folder) -> Run:
    """Read and validate a run folder (``RunError`` naming the bad file otherwise)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"{folder}: no such run folder")
    try:
        _roll_forward(folder)
    except OSError:
        pass  # a read-only folder: read the complete pending files where they are
    config_path = _current(folder, "config.json")
    document = _load_json(config_path)
    try:
        config = TrainConfig.from_dict(document["config"])
    except (ConfigError, TypeError) as exc:
        raise RunError(f"{config_path}: {exc}") from None
    arrays = _load_weights(_current(folder, "weights.npz"), config)
    if arrays["W"].shape[0] < 2:
        raise RunError(f"{_current(folder, 'weights.npz')}: W must have at least two classes (rows)")
    metrics = load_metrics(_current(folder, "metrics.csv"))
    changes = document.get("changes", [])
    final = document.get("final", {})
    data_path = document.get("data_path")
    if not isinstance(changes, list) or not isinstance(final, dict) or not isinstance(data_path, (str, type(None))):
        raise RunError(f"{config_path}: 'changes' must be a list, 'final' an object and 'data_path' a string")
    return Run(config=config, dataset=str(document["dataset"]), state=document["state"], W=arrays["W"],
               b=arrays["b"], mean=arrays["mean"], scale=float(arrays["scale"]), order=arrays["order"],
               metrics=metrics, changes=list(changes), final=dict(final), data_path=data_path)
