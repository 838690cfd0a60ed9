"""A lesson step's address as data: which lesson, which step, and presenter mode. Every
page keeps these keys in its URL while a lesson is on (ui.lesson); the Lessons page reads
them to open a step. The lessons themselves are in lessons/."""
from __future__ import annotations

from dataclasses import dataclass

import lessons
from experiments.schema import Settings as SettingsMixin
from experiments.schema import setting


@dataclass(frozen=True)
class Settings(SettingsMixin):
    lesson: str | None = setting(None, "str", max_length=lessons.ID_LENGTH)  # a lesson file's name
    step: int = setting(1, "int", 1, lessons.MAX_STEPS)  # counted from 1
    present: bool = setting(False, "bool")  # presenter mode: large type, menu folded away
