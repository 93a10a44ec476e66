"""``GDSTUDIO_STARTUP_PROBE=1 gdstudio``: measure start-up as a user sees it, print it, and quit.

Prints one JSON line on stderr: seconds from process start to the window on screen (``window_s``), to the session
ready (kernels compiled or loaded from cache, ``ready_s``), and from pressing Start to the first curve point
(``first_point_s``). Works the same from a pip install and from the frozen app; the README's start-up figures come
from it.
"""

from __future__ import annotations

import json
import os
import sys
import time

from PySide6.QtCore import QObject, QTimer, Slot


def seconds_since_process_start() -> float:
    """Wall time since this process started (Linux: from /proc; elsewhere: since this module was imported)."""
    try:
        with open("/proc/self/stat") as stat:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            up = float(uptime.read().split()[0])
        return up - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED


_IMPORTED = time.perf_counter()


class StartupProbe(QObject):
    """Watches a window: shown → ready → Start → first point, then prints and quits."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.times: dict[str, float] = {}
        self._pressed = None
        window.controller.progressed.connect(self._on_progressed)
        self._timer = QTimer(self)
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    @Slot()
    def _poll(self) -> None:
        if "window_s" not in self.times and self.window.isVisible() and self.window.windowHandle() is not None \
                and self.window.windowHandle().isExposed():
            self.times["window_s"] = seconds_since_process_start()
        if "ready_s" not in self.times and self.window.controller.ready:
            self.times["ready_s"] = seconds_since_process_start()
            self._pressed = time.perf_counter()
            self.window.start_button.click()
        if time.perf_counter() - _IMPORTED > 120:  # never hang a benchmark
            self._finish()

    @Slot(object)
    def _on_progressed(self, batch) -> None:
        if self._pressed is not None and batch and "first_point_s" not in self.times:
            self.times["first_point_s"] = time.perf_counter() - self._pressed
            self._finish()

    def _finish(self) -> None:
        self._timer.stop()
        self.times["frozen"] = bool(getattr(sys, "frozen", False))
        print(json.dumps(self.times), file=sys.stderr, flush=True)
        self.window.close()
