"""Lesson presets: plain JSON files in ``gdstudio/resources/lessons`` (and any folder a teacher adds).

Each file holds ``{"title": str, "caption": str, "settings": {TrainConfig fields}}`` and, optionally,
``"speed"`` (steps per second, or ``"full"``) and ``"compare": true`` (the lesson compares two runs: the window
offers "Reset & train again"). The settings are validated as a :class:`~gdstudio.config.TrainConfig`, so a bad
preset is refused with a message naming the file; in a teacher's folder, a bad file does not keep the good ones
out (:func:`load_lesson_folder`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gdstudio.config import ConfigError, DataError, TrainConfig

FULL_SPEED = math.inf
"""A lesson's ``pace`` for "Full speed" (no pause between steps)."""
_KEYS = {"title", "caption", "settings", "speed", "compare"}


@dataclass(frozen=True)
class Lesson:
    """One preset.

    Attributes
    ----------
    pace : float or None
        Steps per second the lesson trains at (``FULL_SPEED``: as fast as it can); None leaves the speed as it is.
    compare : bool
        The caption compares two runs from the same W₀ (the window then offers "Reset & train again").
    """

    name: str
    title: str
    caption: str
    config: TrainConfig
    pace: float | None = None
    compare: bool = False


def parse_lesson(name: str, text: str, where: str) -> Lesson:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("settings"), dict):
        raise DataError(f"{where}: a lesson needs 'title', 'caption' and a 'settings' object")
    unknown = sorted(set(document) - _KEYS)
    if unknown:
        raise DataError(f"{where}: unknown keys {', '.join(unknown)} (a lesson has {', '.join(sorted(_KEYS))})")
    title, caption = document.get("title"), document.get("caption")
    if not isinstance(title, str) or not isinstance(caption, str):
        raise DataError(f"{where}: 'title' and 'caption' must be text")
    try:
        config = TrainConfig.from_dict(document["settings"])
    except (ConfigError, TypeError) as exc:
        raise DataError(f"{where}: {exc}") from None
    compare = document.get("compare", False)
    if not isinstance(compare, bool):
        raise DataError(f"{where}: 'compare' must be true or false, got {compare!r}")
    return Lesson(name=name, title=title, caption=caption, config=config, pace=_pace(document.get("speed"), where),
                  compare=compare)


def _pace(speed, where: str) -> float | None:
    """``"speed"`` as steps per second: a positive number, ``"full"`` (FULL_SPEED), or absent (None)."""
    if speed is None:
        return None
    if speed == "full":
        return FULL_SPEED
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not (0 < speed < math.inf):
        raise DataError(f"{where}: 'speed' must be steps per second (a number > 0) or \"full\", got {speed!r}")
    return float(speed)


def builtin_lessons() -> list[Lesson]:
    """The lessons shipped in ``gdstudio/resources/lessons``, sorted by file name."""
    lessons = []
    builtin = resources.files("gdstudio.resources") / "lessons"
    for entry in sorted(builtin.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            lessons.append(parse_lesson(entry.name[:-5], entry.read_text(encoding="utf-8"), f"lessons/{entry.name}"))
    return lessons


def load_lesson_folder(folder) -> tuple[list[Lesson], list[str]]:
    """The lessons of a teacher's folder (``*.json``, sorted by name) and, for each file that is not one, a
    message naming it: a bad file never keeps the good ones out."""
    lessons, problems = [], []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: unreadable ({exc})")
            continue
        try:
            lessons.append(parse_lesson(path.stem, text, path.name))
        except DataError as exc:
            problems.append(str(exc))
    return lessons, problems


def load_lessons(extra_folder=None) -> list[Lesson]:
    """The built-in lessons, then those in ``extra_folder`` (``*.json``), sorted by file name; a bad file there
    raises ``DataError`` naming it (the window uses :func:`load_lesson_folder`, which keeps the good ones)."""
    lessons = builtin_lessons()
    if extra_folder is not None:
        added, problems = load_lesson_folder(extra_folder)
        if problems:
            raise DataError(f"{Path(extra_folder)}: {problems[0]}")
        lessons.extend(added)
    return lessons
