"""Unpickling with an allow-list: plain containers and numpy arrays, and nothing that can run code.

A pickle is a small program: it names each callable it needs as ``module.name``, and the unpickler looks every
one of them up through :meth:`pickle.Unpickler.find_class`. Answering only the names that rebuild a numpy array
(and refusing the rest) is what makes a crafted file harmless: ``os.system``, ``builtins.exec``, ``open`` ...
are never even imported, let alone called. Dicts, lists, strings and numbers need no names at all.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from gdstudio.config import DataError


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


ALLOWED = {
    # Pickles from numpy 1.x (and the 2009 CIFAR-10 files) name numpy.core; numpy 2 writes numpy._core.
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct(),
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct(),
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
"""Every global a pickle may name: exactly what a numpy array pickled with protocol 0 to 4 needs."""


class RestrictedUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that resolves only the names in :data:`ALLOWED`."""

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}") from None


def load_restricted(data: bytes, where: Path, what: str = "pickle") -> object:
    """Unpickle ``data`` (a Python 2 or 3 pickle) through :class:`RestrictedUnpickler`.

    ``encoding="latin1"`` turns Python 2 byte strings into str one byte per character, which is also how numpy
    expects the raw bytes of a Python 2 array.

    Raises
    ------
    DataError
        Naming ``where``, if the pickle names anything outside :data:`ALLOWED` ("refusing to load os.system"),
        is damaged or cut off, or describes an array numpy refuses to build.
    """
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as error:
        # Whatever a refused name, a cut-off stream or numpy's checks on a forged array raise, the file is not
        # what we expect; nothing outside the allow-list was called.
        raise DataError(f"{where}: not a {what} ({error})") from None
