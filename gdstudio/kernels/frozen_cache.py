"""A Numba cache locator for the frozen (PyInstaller) app.

Frozen, the kernels have no source files beside them, Numba's default locators find no writable place (or one
keyed on the launch folder), and ``NUMBA_CACHE_DIR`` is ignored. This locator keeps compiled kernels in the
user's cache folder, keyed on the GD Studio version and the executable's size and time stamp, so a new build
never loads another build's machine code. The frozen entry point names it in ``NUMBA_CACHE_LOCATOR_CLASSES``
before Numba is imported.
"""

from __future__ import annotations

import os
import sys

from numba.core.caching import _CacheLocator

from gdstudio import __version__


def frozen_cache_dir() -> str:
    """``$GDSTUDIO_NUMBA_CACHE`` if set, else ``<user cache>/gdstudio/numba``."""
    override = os.environ.get("GDSTUDIO_NUMBA_CACHE")
    if override:
        return override
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("gdstudio"), "numba")


class FrozenAppCacheLocator(_CacheLocator):
    """Cache entries of one build of the app, in the user's cache folder."""

    def __init__(self, py_func, py_file):
        self._lineno = py_func.__code__.co_firstlineno
        self._path = os.path.join(frozen_cache_dir(), f"gdstudio-{__version__}")

    def get_cache_path(self):
        return self._path

    def get_source_stamp(self):
        try:
            info = os.stat(sys.executable)
            return __version__, info.st_size, info.st_mtime
        except OSError:
            return __version__

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        locator = cls(py_func, py_file)
        try:
            locator.ensure_cache_path()
        except OSError:  # no writable cache folder: compile every time rather than fail
            return None
        return locator
