"""Screenshots of what a lecturer sees: the window after a short run, each view on top, and presenter mode, at a
projector's 1280×720 and at 1920×1080, each on a real X server (Xvfb) with the window at the size it chooses.

    .venv/bin/python tests/bench/screens.py [--out shots] [--sizes 1280x720 1920x1080] [--dataset NAME]
                                            [--scale 2] [--maximised]

For each size the script starts itself again under ``xvfb-run`` (Debian: ``xvfb xauth libxcb-cursor0
libxcb-icccm4 libxcb-keysyms1``). What it saves is the whole screen (``QScreen.grabWindow(0)``), so whatever
does not fit is not in the picture, as it would not be on the projector:

- ``main-WxH.png``: the window after the default run on the digits (Start clicked, run finished);
- ``view-<objectName>-WxH.png``: the same with each view's tab clicked (each view draws itself, its jobs
  finished or given a few seconds; the buttons of ``PRESS`` pressed first);
- ``presenter-WxH.png``: presenter mode (F11) on the same run, and with ``--presenter-views`` also
  ``presenter-view-<objectName>-WxH.png`` for each view.

With ``--scale S`` the window is drawn at ``QT_SCALE_FACTOR=S`` (a 2560×1440 screen at scale 2 is a 1280×720 one
drawn at twice the resolution) and the files are named ``…-WxH@S.png``. With ``--maximised`` the window fills the
screen's available area, as a window manager maximises it (Xvfb has none).

It drives the window as a person does (clicks on buttons and tabs, F11) and never calls a redraw itself.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_SIZES = ("1280x720", "1920x1080")
VIEW_SETTLE_S = 4.0
"""Time a view gets to draw itself after its tab is clicked (its background jobs included)."""
PRESS = {"gradcheckView": ("gradcheckButton", "gradcheckSweepButton")}
"""Buttons pressed in a view before its picture, in order, each once the last one's work is done (a view that
draws only on request: the gradient check, then its h-sweep)."""


def _settle(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def _wait(app, condition, timeout_s: float = 60.0) -> None:
    end = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def _click(widget) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, pos=widget.rect().center())


def _click_tab(window, dock) -> bool:
    """Click the tab that carries ``dock``'s title, as a person would; False when no tab shows it."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QTabBar

    for bar in window.findChildren(QTabBar):
        for index in range(bar.count()):
            rect = bar.tabRect(index)
            if bar.tabText(index) == dock.windowTitle() and bar.isVisible() and bar.rect().contains(rect.center()):
                QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=rect.center())
                return True
    return False


def _show_view(window, dock) -> None:
    if not _click_tab(window, dock):
        dock.raise_()


def _press(app, view, names) -> None:
    """Click each button of ``names`` in ``view`` as soon as it is enabled, and wait for its work to end (the
    button is enabled again)."""
    from PySide6.QtWidgets import QPushButton

    for name in names:
        button = view.findChild(QPushButton, name)
        _wait(app, button.isEnabled)
        _click(button)
        _settle(app, 0.2)
        _wait(app, button.isEnabled, timeout_s=120.0)


def shoot(out: Path, size: str, presenter_views: bool = False, dataset: str | None = None,
          maximised: bool = False) -> int:
    """Under a running X server: open the window, train, and save the pictures for ``size``."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from gdstudio.gui import MainWindow

    window = MainWindow(dataset=dataset) if dataset else MainWindow()
    window.show()
    if maximised:
        window.setGeometry(window.screen().availableGeometry())
    window.activateWindow()  # with no window manager under Xvfb, nothing gives the new window the keyboard
    _wait(app, window.isActiveWindow)
    _wait(app, lambda: window.controller.ready)
    _settle(app, 0.5)
    screen = window.screen()

    def save(name: str) -> None:
        path = out / f"{name}-{size}.png"
        screen.grabWindow(0).save(str(path))
        print(path, flush=True)

    _click(window.start_button)
    _wait(app, lambda: window.controller.state == "ended")
    _settle(app, 1.0)
    save("main")
    for name, dock in window.view_docks.items():
        _show_view(window, dock)
        _settle(app, 0.5)
        _press(app, window.views[name], PRESS.get(name, ()))
        _settle(app, VIEW_SETTLE_S)
        save(f"view-{name}")
    _show_view(window, next(iter(window.view_docks.values())))
    QTest.keyClick(window, Qt.Key.Key_F11)
    _settle(app, 1.5)
    save("presenter")
    if presenter_views:
        for name, dock in window.view_docks.items():
            _show_view(window, dock)
            _settle(app, VIEW_SETTLE_S)
            save(f"presenter-view-{name}")
    QTest.keyClick(window, Qt.Key.Key_F11)
    window.close()
    window.deleteLater()  # now, not in the interpreter's teardown (which may crash in Qt's destructors)
    _settle(app, 0.3)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="shots", help="folder for the PNGs (default: shots)")
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="screen sizes WxH")
    parser.add_argument("--presenter-views", action="store_true", help="each view in presenter mode too")
    parser.add_argument("--dataset", help="the data set to open (default: the window's own choice)")
    parser.add_argument("--scale", help="QT_SCALE_FACTOR for the window (2: every pixel drawn twice as large)")
    parser.add_argument("--maximised", action="store_true", help="the window fills the screen")
    parser.add_argument("--here", metavar="WxH", help=argparse.SUPPRESS)  # the run under xvfb-run
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.here:
        return shoot(out, args.here, args.presenter_views, args.dataset, args.maximised)
    status = 0
    for size in args.sizes:
        env = dict(os.environ, QT_QPA_PLATFORM="xcb")
        if args.scale:
            env["QT_SCALE_FACTOR"] = args.scale
        name = f"{size}@{args.scale}" if args.scale else size
        command = ["xvfb-run", "-a", "-s", f"-screen 0 {size}x24", sys.executable, __file__, "--out", str(out),
                   "--here", name] + (["--presenter-views"] if args.presenter_views else []) + (
                      ["--dataset", args.dataset] if args.dataset else []) + (
                      ["--maximised"] if args.maximised else [])
        status |= subprocess.run(command, env=env).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
