"""What the window remembers between sessions: the last data set, hyperparameters per data set, where located
data sets live, the view options and the window geometry.

Values go through :class:`Preferences`, which reads and writes a ``QSettings`` (``~/.config/gdstudio/GD
Studio.conf`` on Linux) or, when given none, only remembers them in memory (tests, and ``MainWindow()`` used as a
library). Everything read back is checked: a damaged or hand-edited file gives defaults, never an exception.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QByteArray, QSettings

from gdstudio.config import BACKENDS, LOSSES, PREPROCESSINGS, STRATEGIES, ConfigError, check_batch_size, check_lr, \
    check_reg

ORGANISATION = "gdstudio"
APPLICATION = "GD Studio"
HYPERPARAMETERS = ("lr", "reg", "batch_size", "epochs", "preprocess")


def _positive_epochs(value) -> float:
    epochs = float(value)
    if not (epochs > 0 and math.isfinite(epochs)):
        raise ConfigError(f"epochs must be > 0, got {value!r}")
    return epochs


def _choice(choices):
    def check(value):
        if value not in choices:
            raise ConfigError(f"must be one of {', '.join(choices)}")
        return value

    return check


_CHECKS = {"lr": check_lr, "reg": check_reg, "batch_size": check_batch_size, "epochs": _positive_epochs,
           "preprocess": _choice(PREPROCESSINGS), "loss": _choice(LOSSES), "strategy": _choice(STRATEGIES),
           "backend": _choice(BACKENDS)}


class Preferences:
    """Typed, validated access to the window's settings.

    Parameters
    ----------
    settings : QSettings, optional
        Where to keep them; ``None`` keeps them in memory for the life of the object.
    """

    def __init__(self, settings: QSettings | None = None) -> None:
        self.settings = settings
        self._memory: dict[str, object] = {}

    # Raw access ---------------------------------------------------------------------------------------------

    def get(self, key: str, default=None):
        if self.settings is None:
            return self._memory.get(key, default)
        value = self.settings.value(key, default)
        return default if value is None else value

    def set(self, key: str, value) -> None:
        if self.settings is None:
            self._memory[key] = value
        else:
            self.settings.setValue(key, value)

    def sync(self) -> None:
        if self.settings is not None:
            self.settings.sync()

    # Typed values -------------------------------------------------------------------------------------------

    def text(self, key: str, default: str | None = None, choices=None) -> str | None:
        value = self.get(key, default)
        if not isinstance(value, str) or (choices is not None and value not in choices):
            return default
        return value

    def number(self, key: str, default: float | None = None) -> float | None:
        try:
            value = float(self.get(key, default))
        except (TypeError, ValueError):
            return default
        return value if math.isfinite(value) else default

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key, default)
        if isinstance(value, str):
            return value.lower() in ("true", "1", "yes")
        return bool(value)

    def bytes(self, key: str) -> QByteArray | None:
        value = self.get(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # Training settings ---------------------------------------------------------------------------------------

    def hyperparameters(self, dataset: str) -> dict:
        """The remembered ``lr, reg, batch_size, epochs, preprocess`` of ``dataset`` (only the valid ones)."""
        values = {}
        for name in HYPERPARAMETERS:
            raw = self.get(f"hyper/{dataset}/{name}")
            if raw is None:
                continue
            try:
                value = raw if name == "preprocess" else float(raw)
                if name == "batch_size":
                    value = int(value)
                values[name] = _CHECKS[name](value)
            except (ConfigError, TypeError, ValueError):
                continue
        return values

    def remember_hyperparameters(self, dataset: str, values: dict) -> None:
        for name in HYPERPARAMETERS:
            if values.get(name) is not None:
                self.set(f"hyper/{dataset}/{name}", values[name] if name == "preprocess" else repr(values[name]))

    def forget_hyperparameters(self, dataset: str) -> None:
        """Drop what was remembered for ``dataset``: its next session starts from the data set's defaults."""
        for name in HYPERPARAMETERS:
            key = f"hyper/{dataset}/{name}"
            if self.settings is None:
                self._memory.pop(key, None)
            else:
                self.settings.remove(key)

    def run_settings(self) -> dict:
        """The remembered ``loss, strategy, backend, seed`` (those that are valid)."""
        values = {}
        for name in ("loss", "strategy", "backend"):
            value = self.get(f"run/{name}")
            try:
                values[name] = _CHECKS[name](value)
            except ConfigError:
                pass
        seed = self.number("run/seed")
        if seed is not None and seed == int(seed) and 0 <= seed < 2**31:
            values["seed"] = int(seed)
        return values

    def remember_run_settings(self, values: dict) -> None:
        for name in ("loss", "strategy", "backend"):
            if values.get(name) is not None:
                self.set(f"run/{name}", values[name])
        if values.get("seed") is not None:
            self.set("run/seed", str(int(values["seed"])))

    # Data sets -------------------------------------------------------------------------------------------------

    def data_paths(self) -> dict[str, str]:
        """Data sets located by hand: name -> archive or folder."""
        paths = {}
        if self.settings is not None:
            self.settings.beginGroup("data/paths")
            try:
                for name in self.settings.childKeys():
                    value = self.settings.value(name)
                    if isinstance(value, str) and value:
                        paths[name] = value
            finally:
                self.settings.endGroup()
        else:
            prefix = "data/paths/"
            paths = {k[len(prefix):]: v for k, v in self._memory.items() if k.startswith(prefix) and v}
        return paths

    def remember_data_path(self, name: str, path: str) -> None:
        self.set(f"data/paths/{name}", str(path))
