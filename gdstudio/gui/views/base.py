"""What every view shares: it is fed plain records by the main window, and draws on its own timer.

The main window calls, in the GUI thread:

- ``on_loaded(info)`` with a :class:`~gdstudio.gui.worker.SessionInfo` when a session is made, reset or opened;
- ``on_progress(batch)`` with a list of :class:`~gdstudio.engine.progress.Progress` records (the newest last;
  ``record.weights`` is a copy of ``(W, b)`` on some of them, at most a few times a second);
- ``on_ended(record)`` with the last record of a run.

A view must return from these quickly (store, don't compute): heavy work goes on ``refresh()``, which
:class:`LiveView` calls from a timer at most ``refresh_hz`` times a second, and only while the view is visible.
Views never touch the training session; they act through the ``controller`` they were given
(``controller.request(lr=...)`` etc.) or through the window.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget


class LiveView(QWidget):
    """Base of the views. Subclasses set ``object_name`` and ``title`` and override ``refresh``."""

    object_name = "liveView"
    title = "View"
    refresh_hz = 4.0

    def __init__(self, controller=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.object_name)
        self.controller = controller
        self.info = None
        self.dataset = None
        self.weights: tuple[np.ndarray, np.ndarray] | None = None
        self.last_record = None
        self._dirty = False
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / self.refresh_hz))
        self._timer.timeout.connect(self._on_timer)
        self._timer.start()

    # fed by the main window ---------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        from gdstudio.data.registry import load_dataset

        self.info = info
        self.weights = info.weights
        try:
            self.dataset = load_dataset(info.dataset)  # cached in memory: the training thread's own arrays
        except Exception:  # a data set that only the training thread could reach (another --data path)
            self.dataset = None
        self._dirty = True

    def on_progress(self, batch) -> None:
        for record in batch:
            if record.weights is not None:
                self.weights = record.weights
                self._dirty = True
        if batch:
            self.last_record = batch[-1]

    def on_ended(self, record) -> None:
        self.last_record = record
        if record.weights is not None:
            self.weights = record.weights
        self._dirty = True

    def stop_refreshing(self) -> None:
        """Never refresh again (the window is closing: a refresh now could start work that outlives the view)."""
        self._timer.stop()
        self._stopped = True

    # drawing --------------------------------------------------------------------------------------------------
    def _on_timer(self) -> None:
        if self._dirty and self.on_screen() and not self._stopped:
            self._dirty = False
            self.refresh()

    def on_screen(self) -> bool:
        """Some of the view can be seen. ``isVisible()`` alone is not enough: a dock tabbed behind another stays
        "visible" to Qt, with an empty visible region, and ten views refreshing behind one tab cost the training
        a quarter of its speed."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def refresh(self) -> None:
        """Recompute and redraw from ``self.info``, ``self.dataset`` and ``self.weights``."""
