"""Lesson files: speed, comparisons, and a teacher's folder with a bad file in it (issue 12 items 13, 18, 20)."""

from __future__ import annotations

import json

import pytest

from gdstudio.config import DataError
from gdstudio.engine.lessons import FULL_SPEED, builtin_lessons, load_lesson_folder, load_lessons, parse_lesson


def _lesson(**extra) -> str:
    return json.dumps({"title": "t", "caption": "c", "settings": {"dataset": "digits"}, **extra})


def test_the_builtin_lessons_set_their_speed_and_say_which_compare_runs():
    lessons = {lesson.name: lesson for lesson in builtin_lessons()}
    assert lessons["01-alpha-too-small"].pace == 10.0
    assert all(lesson.pace == FULL_SPEED for name, lesson in lessons.items() if name != "01-alpha-too-small")
    assert {name for name, lesson in lessons.items() if lesson.compare} == {
        "03-svm-vs-softmax", "04-effect-of-lambda", "05-batch-1-vs-256"}
    for lesson in lessons.values():
        assert ("Reset & train again" in lesson.caption) == lesson.compare
    assert "loss evaluations" in lessons["06-random-search-vs-gd"].caption


@pytest.mark.parametrize("speed, pace", [(None, None), ("full", FULL_SPEED), (10, 10.0), (0.5, 0.5)])
def test_speed_is_steps_per_second_or_full(speed, pace):
    text = _lesson() if speed is None else _lesson(speed=speed)
    assert parse_lesson("x", text, "x.json").pace == pace


@pytest.mark.parametrize("extra, words", [({"speed": 0}, "speed"), ({"speed": "fast"}, "speed"),
                                          ({"speed": True}, "speed"), ({"compare": "yes"}, "compare"),
                                          ({"sped": 10}, "unknown keys sped")])
def test_bad_speed_compare_or_keys_are_refused_with_the_file_named(extra, words):
    with pytest.raises(DataError, match=f"x.json: .*{words}"):
        parse_lesson("x", _lesson(**extra), "x.json")


def test_a_folder_with_a_bad_file_gives_the_good_lessons_and_names_the_bad_one(tmp_path):
    (tmp_path / "a.json").write_text(_lesson())
    (tmp_path / "b.json").write_text('{"title": "x", "caption": "y", "settings": {"lr": -1}}')
    (tmp_path / "c.json").write_text("{")
    (tmp_path / "d.json").write_text(_lesson(speed="full"))
    lessons, problems = load_lesson_folder(tmp_path)
    assert [lesson.name for lesson in lessons] == ["a", "d"]
    assert len(problems) == 2 and problems[0].startswith("b.json: ") and "lr" in problems[0]
    assert problems[1].startswith("c.json: ") and "JSON" in problems[1]
    with pytest.raises(DataError, match="b.json"):  # the strict loader still refuses the folder
        load_lessons(tmp_path)
