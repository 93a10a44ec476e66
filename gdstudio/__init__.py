"""GD Studio: watch a linear image classifier learn.

Importing :mod:`gdstudio` imports neither Qt nor ``numba.cuda``.
"""

__version__ = "0.1.0"
