"""Exports of the curves: a CSV table of every recorded step, and a PNG of the plots as they are on screen."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from PySide6.QtWidgets import QWidget

from gdstudio.config import DataError
from gdstudio.engine.runs import write_atomic
from gdstudio.gui.series import RunCurves

CSV_COLUMNS = ("step", "epoch", "examples", "evaluations", "loss", "data_loss", "reg_loss", "batch_accuracy",
               "train_accuracy", "val_accuracy")


def curves_csv(curves: RunCurves) -> str:
    """The curves as CSV text: a header, then one row per recorded step (accuracies where measured)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in curves.rows():
        writer.writerow(["" if row[c] is None else (repr(float(row[c])) if isinstance(row[c], float) else row[c])
                         for c in CSV_COLUMNS])
    return out.getvalue()


def write_curves_csv(path, curves: RunCurves) -> Path:
    """Write :func:`curves_csv` to ``path`` atomically (``DataError`` naming the file on failure)."""
    path = Path(path)
    try:
        write_atomic(path, curves_csv(curves).encode())
    except OSError as exc:
        raise DataError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


def save_widget_png(path, widget: QWidget) -> Path:
    """Save what ``widget`` shows as a PNG file."""
    path = Path(path)
    if not widget.grab().save(str(path), "PNG"):
        raise DataError(f"{path}: cannot write the image")
    return path
