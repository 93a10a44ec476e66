"""Screenshots of the window as it opens on a screen: the main window, presenter mode and every view in its dock,
after a short run (issue 12). Run under a real X server at the screen size to look at, e.g.

    xvfb-run -a -s "-screen 0 1280x720x24" .venv/bin/python tests/bench/screens.py shots/1280x720
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tests/bench/screens.py shots/1920x1080

It saves ``main.png``, ``presenter.png`` and ``view-<objectName>.png`` (the whole window with that view's tab
raised) in the folder, and ``presenter-view-<objectName>.png`` with ``--presenter-views``. Each picture is the
window as a person sees it (``QScreen.grabWindow`` of the window's frame), so whatever the screen cuts off is cut
off in the picture too. The window is not given a size: it takes the one it chooses for the screen.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication


def _settle(app: QApplication, seconds: float = 0.4) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def _wait(app: QApplication, condition, timeout_s: float = 60.0) -> None:
    end = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def _save(app: QApplication, window, path: Path) -> None:
    _settle(app)
    screen = window.screen()
    # The screen's picture where the window is: what a person sees, cut where the screen cuts it.
    frame = window.frameGeometry().intersected(screen.geometry())
    picture = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    if not picture.save(str(path)):
        raise OSError(f"could not write {path}")
    print(path, f"window {window.frameGeometry().width()}x{window.frameGeometry().height()}",
          f"screen {screen.availableGeometry().width()}x{screen.availableGeometry().height()}")


def main(folder: str = "shots", dataset: str = "digits", presenter_views: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from gdstudio.gui import MainWindow

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    window = MainWindow(dataset=dataset)
    window.show()
    _wait(app, lambda: window.controller.ready)
    window.start_button.click()
    _wait(app, lambda: window.controller.state == "ended")
    _save(app, window, out / "main.png")
    for name, dock in window.view_docks.items():
        dock.raise_()
        _settle(app, 0.8)
        _save(app, window, out / f"view-{name}.png")
    window.view_docks["templatesView"].raise_()
    window.set_presenter_mode(True)
    _save(app, window, out / "presenter.png")
    if presenter_views:
        for name, dock in window.view_docks.items():
            dock.raise_()
            _settle(app, 0.8)
            _save(app, window, out / f"presenter-view-{name}.png")
    window.set_presenter_mode(False)
    window.close()
    window.deleteLater()  # now, not in the interpreter's teardown (which may crash in Qt's destructors)
    _settle(app, 0.3)
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    sys.exit(main(*args[:2], presenter_views="--presenter-views" in sys.argv))
