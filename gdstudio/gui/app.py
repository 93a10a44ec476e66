"""``gdstudio`` / ``gdstudio gui`` / ``gdstudio-gui``: the QApplication and the window.

Before Qt is touched, :func:`display_problem` checks that there is a display to open a window on: without one,
Qt's platform plugin aborts the whole process with a message of its own, so ``main`` says so in one line instead
and points to ``gdstudio train``.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

from gdstudio.gui.settings import APPLICATION, ORGANISATION

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
HEADLESS_HINT = "train without a window with `gdstudio train --dataset digits` (see `gdstudio train --help`)"


def display_problem(environ=None, platform: str | None = None) -> str | None:
    """Why no window can open here (one line), or ``None`` when it can.

    Only Linux and the other X11/Wayland systems can lack a display; Windows and macOS always have one. An
    explicit ``QT_QPA_PLATFORM`` (``offscreen``, ``vnc``, ``xcb`` …) is the user's choice and is trusted.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith(("win", "darwin", "cygwin")) or environ.get("QT_QPA_PLATFORM"):
        return None
    if not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        return f"no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); {HEADLESS_HINT}"
    if environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY") and ctypes.util.find_library("xcb-cursor") \
            is None:
        # Qt 6.5+ needs libxcb-cursor for X11 and aborts without it.
        return ("Qt cannot open an X11 window without the libxcb-cursor0 library (Debian/Ubuntu: "
                f"`sudo apt install libxcb-cursor0`); or {HEADLESS_HINT}")
    return None


def application_icon():
    """The app's icon in every size shipped (``gdstudio/resources/icons``), as one QIcon."""
    from importlib import resources

    from PySide6.QtGui import QIcon, QPixmap

    icon = QIcon()
    folder = resources.files("gdstudio.resources") / "icons"
    for entry in folder.iterdir():
        if entry.name.startswith("gdstudio-") and entry.name.endswith(".png"):
            pixmap = QPixmap()
            pixmap.loadFromData(entry.read_bytes())
            icon.addPixmap(pixmap)
    return icon


def main(dataset: str | None = None, argv: list[str] | None = None) -> int:
    """Open the window on ``dataset`` (default: the last one used, or ``digits``); returns the exit status."""
    problem = display_problem()
    if problem is not None:
        print(f"gdstudio: {problem}", file=sys.stderr)
        return EXIT_ERROR
    from gdstudio.data.registry import DATASETS

    if dataset is not None and dataset not in DATASETS:
        print(f"gdstudio: --dataset: unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}",
              file=sys.stderr)
        return EXIT_USAGE

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setDesktopFileName("gdstudio")  # Wayland and X11 match the window to resources/gdstudio.desktop
    app.setWindowIcon(application_icon())

    from gdstudio.gui.main_window import MainWindow

    settings = QSettings()
    if dataset is None:
        last = settings.value("data/last", "digits")
        dataset = last if isinstance(last, str) and last in DATASETS else "digits"
    window = MainWindow(dataset=dataset, settings=settings)
    if os.environ.get("GDSTUDIO_STARTUP_PROBE") == "1":
        from gdstudio.gui.startup_probe import StartupProbe

        window._startup_probe = StartupProbe(window)
    window.show()
    status = app.exec()
    window.shutdown()
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
