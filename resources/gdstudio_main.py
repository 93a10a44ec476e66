"""Entry point of the frozen (PyInstaller) app: the window with no arguments, the CLI with them."""

import multiprocessing
import os
import sys

if getattr(sys, "frozen", False):
    # Before Numba is imported: keep compiled kernels in the user's cache folder (see frozen_cache.py).
    os.environ.setdefault("NUMBA_CACHE_LOCATOR_CLASSES", "gdstudio.kernels.frozen_cache.FrozenAppCacheLocator")

if __name__ == "__main__":
    multiprocessing.freeze_support()  # sweep workers are spawned processes of this executable
    from gdstudio.cli import main

    sys.exit(main())
