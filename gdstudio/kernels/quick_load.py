"""Load cached kernels without initialising all of Numba's compiler first.

Numba's on-disk cache hands a cached kernel back only after "refreshing" its CPU target: importing and installing
the typing and lowering registries of every feature it can compile (NumPy, random, typed containers, jitclass,
datetime ...), about 0.15–0.25 s of every fresh process on the 2-core VM. A cached kernel needs none of it: it is
machine code, linked against Numba's runtime (NRT), whose initialisation is all that is done here. A kernel that is
not in the cache is compiled as before, and the compiler refreshes the target itself.

If a Numba release changes the internals used here, :func:`quick_load` leaves the dispatcher as it is (and so
the loading as slow, and as correct, as Numba makes it).
"""

from __future__ import annotations

try:
    from numba.core.caching import FunctionCache
    from numba.core.runtime import rtsys
except ImportError:  # pragma: no cover - an older or newer Numba: keep its own loading
    FunctionCache = None


if FunctionCache is not None:

    class QuickLoadCache(FunctionCache):
        """Numba's function cache, minus the target refresh before a load."""

        def load_overload(self, sig, target_context):
            rtsys.initialize(target_context)  # the runtime the cached code calls (allocation, reference counts)
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)
            return None  # an I/O error that the guard swallowed: compile instead

else:  # pragma: no cover
    QuickLoadCache = None


def quick_load(dispatcher):
    """``dispatcher`` (an ``@njit(cache=True)`` function), made to load its cached overloads quickly."""
    if QuickLoadCache is None or not isinstance(getattr(dispatcher, "_cache", None), FunctionCache):
        return dispatcher
    if type(dispatcher._cache) is FunctionCache:
        dispatcher._cache = QuickLoadCache(dispatcher.py_func)
    return dispatcher


def prepare_runtime() -> None:
    """Initialise Numba's CPU target and runtime now (in a worker thread: what a first cached load needs)."""
    if QuickLoadCache is None:  # pragma: no cover
        return
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.registry import cpu_target

    with global_compiler_lock:
        rtsys.initialize(cpu_target.target_context)
