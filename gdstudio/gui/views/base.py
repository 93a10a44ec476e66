"""What every view shares: it is fed plain records by the main window, and draws on its own timer.

The main window calls, in the GUI thread:

- ``on_loaded(info)`` with a :class:`~gdstudio.gui.worker.SessionInfo` when a session is made, reset or opened;
- ``on_progress(batch)`` with a list of :class:`~gdstudio.engine.progress.Progress` records (the newest last;
  ``record.weights`` is a copy of ``(W, b)`` on some of them, at most a few times a second);
- ``on_ended(record)`` with the last record of a run.

A view must return from these quickly (store, don't compute): heavy work goes on ``refresh()``, which
:class:`LiveView` calls at most ``refresh_hz`` times a second, and only while some of the view is on screen. One
scheduler refreshes the views in turn, at most one per ``REFRESH_TICK_MS`` tick: ten views whose timers fired
together stalled the event loop for over 100 ms. The scheduler sleeps while no view on screen has anything new
to draw (a view marked stale, or one coming on screen, wakes it): an idle window costs nothing (issue 17 item 6).
Views never touch the training session; they act through the ``controller`` they were given
(``controller.request(lr=...)`` etc.) or through the window.
"""

from __future__ import annotations

import math
import time
import weakref

import numpy as np
import shiboken6
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication, QDockWidget, QWidget


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
        self._stale_since_drawn = False
        self._stopped = False
        self._last_refresh = -math.inf
        self._dock = None  # the dock the view is shown in, once found (its tab coming to the front shows it)
        _RefreshScheduler.instance().add(self)

    @property
    def _dirty(self) -> bool:
        """What the view shows is out of date. Setting it wakes the scheduler (views set it wherever their
        inputs change; the scheduler sleeps while no view has anything new to draw)."""
        return self._stale_since_drawn

    @_dirty.setter
    def _dirty(self, value: bool) -> None:
        self._stale_since_drawn = bool(value)
        if value:
            self._wake_scheduler()

    def _wake_scheduler(self) -> None:
        _RefreshScheduler.instance().wake()

    # fed by the main window ---------------------------------------------------------------------------------
    def on_loaded(self, info) -> None:
        from gdstudio.data.registry import load_dataset

        self._watch_dock()
        self.info = info
        self.weights = info.weights
        self.dataset = getattr(info, "data", None)  # the training session's own (read-only) arrays
        if self.dataset is None:
            try:
                self.dataset = load_dataset(info.dataset)
            except Exception:  # a data set that only the training thread could reach
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

    def _watch_dock(self) -> None:
        """Wake the scheduler when the view's dock comes to the front of its tabs, or is floated or shown: a
        view tabbed behind another is not on screen, and then is, without a show event of its own."""
        if self._dock is not None:
            return
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QDockWidget):
            parent = parent.parentWidget()
        if parent is not None:
            self._dock = parent
            parent.visibilityChanged.connect(self._on_dock_visibility_changed)

    @Slot(bool)
    def _on_dock_visibility_changed(self, visible: bool) -> None:
        if visible and self._dirty:
            self._wake_scheduler()

    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        self._watch_dock()
        if self._dirty:
            self._wake_scheduler()

    def stop_refreshing(self) -> None:
        """Never refresh again (the window is closing: a refresh now could start work that outlives the view)."""
        self._stopped = True

    # drawing --------------------------------------------------------------------------------------------------
    @property
    def stale(self) -> bool:
        """What the view shows is older than the session or weights it was given (its next refresh redraws)."""
        return self._dirty

    def due(self, now: float) -> bool:
        """Changed since drawn, on screen, and its last refresh at least ``1 / refresh_hz`` ago."""
        return self.due_in(now) == 0.0

    def due_in(self, now: float) -> float:
        """Seconds until the view is due (0: now); ``inf`` while it has nothing new, or is not on screen."""
        if not self._dirty or self._stopped or not self.on_screen():
            return math.inf
        return max(0.0, self._last_refresh + 1.0 / self.refresh_hz - now)

    def _on_timer(self) -> None:
        """Refresh now if due (the scheduler's call; tests may call it too)."""
        now = time.perf_counter()
        if self.due(now):
            self._dirty = False
            self._last_refresh = now
            self.refresh()

    def on_screen(self) -> bool:
        """Some of the view can be seen. ``isVisible()`` alone is not enough: a dock tabbed behind another stays
        "visible" to Qt, with an empty visible region, and ten views refreshing behind one tab cost the training
        a quarter of its speed."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def refresh(self) -> None:
        """Recompute and redraw from ``self.info``, ``self.dataset`` and ``self.weights``."""


REFRESH_TICK_MS = 40
"""The views' scheduler refreshes at most one view per tick of this many milliseconds."""


class _RefreshScheduler(QObject):
    """Refreshes the live views round-robin, one due view per tick, so that their work never piles up in one
    pass of the event loop (the GUI thread stays responsive however many views are open).

    Its timer is a single shot: after each tick it is set for the next due view (a tick on, or when the soonest
    view is due), and not at all when no view on screen has anything new; :meth:`wake` starts it again."""

    _instance: _RefreshScheduler | None = None

    @classmethod
    def instance(cls) -> _RefreshScheduler:
        if cls._instance is None or not shiboken6.isValid(cls._instance):
            cls._instance = cls(QApplication.instance())
        return cls._instance

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._views: list[weakref.ref] = []
        self._next = 0
        self._last_tick = -math.inf
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)
        self._timer.start(REFRESH_TICK_MS)

    def add(self, view: LiveView) -> None:
        self._views.append(weakref.ref(view))
        self.wake()

    def wake(self) -> None:
        """Look for due views at the next tick (a view has something new, or came on screen), also when the timer
        was set for a later one (a view that refreshes once in two seconds must not hold the others back)."""
        since = time.perf_counter() - self._last_tick
        delay = math.ceil(1000 * max(0.0, REFRESH_TICK_MS / 1000 - since))  # since the first tick: inf
        if not self._timer.isActive() or self._timer.remainingTime() > delay:
            self._timer.start(delay)

    def _tick(self) -> None:
        self._views = [ref for ref in self._views if (v := ref()) is not None and shiboken6.isValid(v)]
        count = len(self._views)
        now = time.perf_counter()
        self._last_tick = now
        soonest = math.inf
        for offset in range(count):
            index = (self._next + offset) % count
            view = self._views[index]()
            wait = view.due_in(now) if view is not None else math.inf
            if wait == 0.0:
                self._next = index + 1
                view._on_timer()
                self._timer.start(REFRESH_TICK_MS)  # the next view's turn, if any is due then
                return
            soonest = min(soonest, wait)
        if soonest < math.inf:  # a view on screen waits for its refresh_hz: tick again then
            self._timer.start(max(REFRESH_TICK_MS, math.ceil(1000 * soonest)))
