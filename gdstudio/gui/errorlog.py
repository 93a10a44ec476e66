"""The error log: every failure the window reports is also appended to a file in the user's log folder.

``~/.local/state/gdstudio/log/gdstudio.log`` on Linux (the platform's user log folder elsewhere;
``GDSTUDIO_LOG_DIR`` overrides it). Rotated at 1 MB, three files kept. The dialog names the file, so a user can
send it with a bug report.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

LOGGER = logging.getLogger("gdstudio.gui")


def log_path() -> Path:
    folder = os.environ.get("GDSTUDIO_LOG_DIR")
    if not folder:
        import platformdirs

        folder = platformdirs.user_log_dir("gdstudio", appauthor=False)
    return Path(folder) / "gdstudio.log"


def log_error(title: str, message: str, details: str = "") -> Path | None:
    """Append one error (with its traceback) to the log; returns the file, or None if it cannot be written."""
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None  # a read-only home must not turn one error into two
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    LOGGER.addHandler(handler)
    try:
        LOGGER.error("%s: %s%s", title, message, f"\n{details.rstrip()}" if details else "")
    finally:
        LOGGER.removeHandler(handler)
        handler.close()
    return path
