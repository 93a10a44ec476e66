"""Fixtures of the GUI tests: an offscreen window on the embedded digits, with an empty download cache."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from gdstudio.data import registry

LOAD_TIMEOUT_MS = 20_000


@pytest.fixture(autouse=True)
def _collect_closed_widgets():
    """After each test (and after pytest-qt has closed its widgets), delete them and collect their garbage here,
    in the GUI thread. Left to Python's automatic collector, a closed window's widget can be collected later
    inside a training thread's allocation, which deadlocks Qt (seen once: a ViewBox menu freed in
    ``Session.__init__``). The application makes one window per process and never meets this."""
    yield
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    if QCoreApplication.instance() is not None:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    gc.collect()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """No test sees the developer's downloaded data sets, nor writes to the user's error log."""
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("GDSTUDIO_LOG_DIR", str(tmp_path_factory.mktemp("log")))


def _holds_the_keyboard(window) -> bool:
    """The window, or a dialog of its own (an error it opened with), is the active window."""
    from PySide6.QtWidgets import QApplication

    active = QApplication.activeWindow()
    while active is not None and active is not window:
        active = active.parentWidget()
    return active is window


def open_window(qtbot, **kwargs):
    from gdstudio.gui import MainWindow

    window = MainWindow(**kwargs)
    qtbot.addWidget(window)
    window.show()
    # As a person's window is after it opens: active, with the keyboard. Under X without a window manager
    # nothing activates a new window by itself, and its shortcuts would never see a key.
    window.activateWindow()
    qtbot.waitUntil(lambda: _holds_the_keyboard(window), timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.controller.ready, timeout=LOAD_TIMEOUT_MS)
    return window


@pytest.fixture
def window(qtbot):
    window = open_window(qtbot)
    yield window
    window.close()
    assert not window.controller.thread_running
