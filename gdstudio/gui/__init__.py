"""The desktop window (the only package that imports PySide6 and pyqtgraph).

``from gdstudio.gui import MainWindow`` gives the window; Qt is imported only when it is first asked for, so
``import gdstudio.gui`` stays cheap and works where no Qt is installed.
"""

__all__ = ["MainWindow"]


def __getattr__(name):
    if name == "MainWindow":
        from gdstudio.gui.main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module 'gdstudio.gui' has no attribute {name!r}")
