"""Lesson presets: plain JSON files in ``gdstudio/resources/lessons`` (and any folder a teacher adds).

Each file holds ``{"title": str, "caption": str, "settings": {TrainConfig fields}}``; the settings are validated
as a :class:`~gdstudio.config.TrainConfig`, so a bad preset is refused with a message naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gdstudio.config import ConfigError, DataError, TrainConfig


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    caption: str
    config: TrainConfig


def parse_lesson(name: str, text: str, where: str) -> Lesson:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("settings"), dict):
        raise DataError(f"{where}: a lesson needs 'title', 'caption' and a 'settings' object")
    title, caption = document.get("title"), document.get("caption")
    if not isinstance(title, str) or not isinstance(caption, str):
        raise DataError(f"{where}: 'title' and 'caption' must be text")
    try:
        config = TrainConfig.from_dict(document["settings"])
    except (ConfigError, TypeError) as exc:
        raise DataError(f"{where}: {exc}") from None
    return Lesson(name=name, title=title, caption=caption, config=config)


def load_lessons(extra_folder=None) -> list[Lesson]:
    """The built-in lessons, then those in ``extra_folder`` (``*.json``), sorted by file name."""
    lessons = []
    builtin = resources.files("gdstudio.resources") / "lessons"
    for entry in sorted(builtin.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            lessons.append(parse_lesson(entry.name[:-5], entry.read_text(encoding="utf-8"), f"lessons/{entry.name}"))
    if extra_folder is not None:
        for path in sorted(Path(extra_folder).glob("*.json")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise DataError(f"{path}: unreadable ({exc})") from None
            lessons.append(parse_lesson(path.stem, text, str(path)))
    return lessons
