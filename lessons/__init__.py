"""Lessons: the course staged step by step, read from one TOML file per lesson.

A step stages one page (a set of that page's settings, by URL key), asks the class a
question before the result is shown, and says what to notice after; its ``expect`` list is
what makes that text true: statements (lessons/expect.py) about the page's own results
(lessons/facts.py), which the test suite checks for every step of every lesson.

The format, in full (README, "Writing a lesson", has an example)::

    order = 6                      # where it sits in the course
    concepts = ["momentum"]        # keys of lessons.concepts.CONCEPTS

    [en]                           # and [zh]: the same keys in each language
    title = "..."
    summary = "..."

    [[step]]
    page = "playground"            # playground, curvature or classifier
    answer = 2                     # the right choice, counting from 1
    concepts = ["momentum"]        # optional: what this step shows (else the lesson's)
    expect = ["gd.final_gap > 0.5", "momentum.steps_to_tolerance < 300"]
    [step.settings]                # URL keys of that page; the rest keep their defaults
    surface = "two_wells"
    opts = ["gd", "momentum"]
    [step.en]                      # and [step.zh]
    look = "What we are looking at (2-4 sentences)."
    question = "..."
    choices = ["...", "...", "..."]   # 2-4, the same number in every language
    notice = "What to notice after the reveal."

A file that breaks any rule is refused whole with a ``LessonError`` naming the file, the
line and the key; the other lessons load as usual.
"""
from __future__ import annotations

import functools
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from catalog import LANGUAGES
from experiments.schema import Field, Settings
from lessons import facts as page_facts
from lessons.concepts import CONCEPTS
from lessons.expect import Expectation, ExpectationError

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
# A teacher's own lessons: a folder of .toml files read beside the built-in ones.
EXTRA_DIR_ENV = "DESCENT_LAB_LESSONS"
MAX_FILE_BYTES = 100_000
MAX_STEPS = 30
CHOICES = (2, 4)
ID_LENGTH = 40
ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,%d}$" % (ID_LENGTH - 1))

LESSON_KEYS = {"order", "concepts", "step", *LANGUAGES}
LESSON_TEXT = ("title", "summary")
STEP_KEYS = {"page", "answer", "expect", "settings", "concepts", *LANGUAGES}
STEP_TEXT = ("look", "question", "choices", "notice")


@dataclass(frozen=True)
class StepText:
    look: str
    question: str
    choices: tuple[str, ...]
    notice: str


@dataclass(frozen=True)
class Step:
    page: str
    staged: Mapping[str, Any]  # URL key -> value, as the file gives them
    answer: int  # 1-based
    expect: tuple[Expectation, ...]
    text: Mapping[str, StepText]  # by language
    concepts: tuple[str, ...] = ()  # what this step shows (optional; the README's table reads it)

    @property
    def settings_class(self) -> type[Settings]:
        return page_facts.PAGES[self.page].settings

    def settings(self) -> Settings:
        """The page's settings this step stages: defaults, then the staged values."""
        cls = self.settings_class
        return cls.from_values({**{f.key: f.default for f in cls.schema()}, **self.staged})


@dataclass(frozen=True)
class Lesson:
    id: str
    path: Path
    order: int
    concepts: tuple[str, ...]
    title: Mapping[str, str]
    summary: Mapping[str, str]
    steps: tuple[Step, ...]


class LessonError(Exception):
    """A lesson file that cannot be used: where, and why (a catalog key and values)."""

    def __init__(self, path: Path, line: int | None, key: str, reason: str, **params: Any) -> None:
        super().__init__(f"{path.name}:{line or '?'}: {key}: {reason} {params}")
        self.path, self.line, self.key, self.reason, self.params = path, line, key, reason, params


# ---------------------------------------------------------------------------------------
# Where in the file (tomllib gives values, not positions)


def _line_of(text: str, step: int | None, key: str) -> int | None:
    """The line that sets ``key`` in the file's top part (step None) or in its
    ``step``-th [[step]] block (0-based); else the block's first line. A key under a table
    (``zh.choices``, ``settings.gd.learning_rate``) is looked for after that table's header."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith("[[step]]")]
    if step is None:
        lo, hi = 0, starts[0] if starts else len(lines)
    elif step < len(starts):
        lo, hi = starts[step], starts[step + 1] if step + 1 < len(starts) else len(lines)
    else:
        return None
    first = lo
    table, _, name = key.partition(".")
    if name and table in (*LANGUAGES, "settings"):
        header = re.compile(r"^\s*\[(?:step\.)?%s\]" % re.escape(table))
        lo = next((i for i in range(lo, hi) if header.match(lines[i])), lo)
    else:
        name = key
    pattern = re.compile(r'^\s*(?:"%s"|%s)\s*=' % (re.escape(name), re.escape(name)))
    header = re.compile(r"^\s*\[(?:step\.)?%s\]" % re.escape(name))
    for i in range(lo, hi):
        if pattern.match(lines[i]) or header.match(lines[i]):
            return i + 1
    return first + 1 if step is not None else None


class _Reader:
    """Checks one parsed file, raising LessonError at the first problem."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text

    def fail(self, step: int | None, key: str, reason: str, **params: Any) -> LessonError:
        return LessonError(self.path, _line_of(self.text, step, key), key, reason, **params)

    def need(self, table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], step: int | None,
             where: str = "") -> Any:
        name = f"{where}{key}"
        if key not in table:
            raise self.fail(step, name, "missing")
        value = table[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind in (int, (int, float)):
            raise self.fail(step, name, "wrong_type")
        return value

    def only(self, table: Mapping[str, Any], allowed: Iterable[str], step: int | None, where: str = "") -> None:
        extra = sorted(set(table) - set(allowed))
        if extra:
            raise self.fail(step, f"{where}{extra[0]}", "unknown_key")

    def text_of(self, table: Mapping[str, Any], keys: tuple[str, ...], step: int | None, where: str) -> dict:
        self.only(table, keys, step, where)
        out = {}
        for key in keys:
            if key == "choices":
                value = self.need(table, key, list, step, where)
                if not CHOICES[0] <= len(value) <= CHOICES[1]:
                    raise self.fail(step, where + key, "choices_count", low=CHOICES[0], high=CHOICES[1])
                if not all(isinstance(c, str) and c.strip() for c in value):
                    raise self.fail(step, where + key, "wrong_type")
                out[key] = tuple(value)
            else:
                value = self.need(table, key, str, step, where)
                if not value.strip():
                    raise self.fail(step, where + key, "empty")
                out[key] = value.strip()
        return out

    def concepts(self, data: Mapping[str, Any], step: int | None) -> tuple[str, ...]:
        concepts = self.need(data, "concepts", list, step)
        for c in concepts:
            if c not in CONCEPTS:
                raise self.fail(step, "concepts", "unknown_concept", value=str(c))
        return tuple(concepts)

    def lesson(self, data: Mapping[str, Any]) -> Lesson:
        self.only(data, LESSON_KEYS, None)
        order = self.need(data, "order", int, None)
        concepts = self.concepts(data, None)
        texts = {}
        for lang in LANGUAGES:
            texts[lang] = self.text_of(self.need(data, lang, dict, None), LESSON_TEXT, None, f"{lang}.")
        steps_data = self.need(data, "step", list, None)
        if not 1 <= len(steps_data) <= MAX_STEPS:
            raise self.fail(None, "step", "steps_count", high=MAX_STEPS)
        steps = tuple(self.step(i, s) for i, s in enumerate(steps_data))
        return Lesson(self.path.stem, self.path, order, tuple(concepts), {k: v["title"] for k, v in texts.items()},
                      {k: v["summary"] for k, v in texts.items()}, steps)

    def step(self, i: int, data: Mapping[str, Any]) -> Step:
        self.only(data, STEP_KEYS, i)
        page = self.need(data, "page", str, i)
        if page not in page_facts.PAGES:
            raise self.fail(i, "page", "unknown_page", value=page, pages=", ".join(page_facts.PAGES))
        cls = page_facts.PAGES[page].settings
        staged = data.get("settings", {})
        if not isinstance(staged, dict):
            raise self.fail(i, "settings", "wrong_type")
        fields = {f.key: f for f in cls.schema()}
        for key, value in staged.items():
            if key not in fields:
                raise self.fail(i, f"settings.{key}", "unknown_setting", page=page)
            problem = staged_problem(fields[key], value)
            if problem is not None:
                raise self.fail(i, f"settings.{key}", problem[0], **problem[1])
        texts = {lang: StepText(**self.text_of(self.need(data, lang, dict, i), STEP_TEXT, i, f"{lang}."))
                 for lang in LANGUAGES}
        counts = {len(t.choices) for t in texts.values()}
        if len(counts) > 1:
            raise self.fail(i, f"{LANGUAGES[1]}.choices", "choices_differ")
        answer = self.need(data, "answer", int, i)
        if not 1 <= answer <= counts.pop():
            raise self.fail(i, "answer", "answer_range", high=len(texts[LANGUAGES[0]].choices))
        expect_texts = self.need(data, "expect", list, i)
        if not expect_texts:
            raise self.fail(i, "expect", "empty")
        concepts = self.concepts(data, i) if "concepts" in data else ()
        step = Step(page, dict(staged), answer, (), texts)
        known = page_facts.names(page, step.settings())
        parsed = []
        for e in expect_texts:
            if not isinstance(e, str):
                raise self.fail(i, "expect", "wrong_type")
            try:
                ex = Expectation.parse(e)
            except ExpectationError as err:
                raise self.fail(i, "expect", "bad_expectation", text=e, detail=err.key, **err.params) from None
            unknown = sorted(ex.facts() - known)
            if unknown:
                raise self.fail(i, "expect", "unknown_fact", text=e, fact=unknown[0], page=page)
            parsed.append(ex)
        return Step(page, dict(staged), answer, tuple(parsed), texts, concepts)


def staged_problem(field: Field, value: Any) -> tuple[str, dict[str, Any]] | None:
    """Why a staged value cannot be used for ``field`` (a catalog reason and values), or None."""
    kind = field.kind
    if kind in ("float", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "wrong_type", {}
        if kind == "int" and value != int(value):
            return "wrong_type", {}
        if field.clamp(value) != value:
            return "out_of_range", {"value": value, "low": field.low, "high": field.high}
        return None
    if kind == "bool":
        return None if isinstance(value, bool) else ("wrong_type", {})
    if kind == "choice":
        if not isinstance(value, str) or value not in field.choices:
            return "not_a_choice", {"value": str(value)}
        return None
    if kind == "multi":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            return "wrong_type", {}
        bad = [v for v in value if v not in field.choices]
        return ("not_a_choice", {"value": bad[0]}) if bad else None
    if not isinstance(value, str):
        return "wrong_type", {}
    return ("too_long", {}) if len(value) > field.max_length else None


def concept_table(library: Library) -> str:
    """The README's table: each curriculum concept, the lessons and steps that show it
    (a step's own ``concepts``, or every step of a lesson that names it and none of whose
    steps does)."""
    rows = ["| concept | lesson · steps |", "|---|---|"]
    for key, name in CONCEPTS.items():
        where = []
        for number, lesson in enumerate(library.lessons, 1):
            tagged = [i + 1 for i, s in enumerate(lesson.steps) if key in s.concepts]
            if not tagged and key in lesson.concepts and not any(s.concepts for s in lesson.steps):
                tagged = list(range(1, len(lesson.steps) + 1))
            elif not tagged and key in lesson.concepts:
                tagged = [i + 1 for i, s in enumerate(lesson.steps) if not s.concepts]
            if tagged:
                steps = ", ".join(map(str, tagged))
                where.append(f"{number} `{lesson.id}` · {steps}")
        rows.append(f"| {name} | {'; '.join(where) or 'not in a lesson'} |")
    return "\n".join(rows)


def read(path: Path) -> Lesson:
    """One lesson file, checked (LessonError if it breaks a rule)."""
    if not ID.match(path.stem):
        raise LessonError(path, None, "id", "bad_name")
    try:
        raw = path.read_bytes()
    except OSError:
        raise LessonError(path, None, "file", "unreadable") from None
    if len(raw) > MAX_FILE_BYTES:
        raise LessonError(path, None, "file", "too_big", limit=MAX_FILE_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LessonError(path, None, "file", "not_utf8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise LessonError(path, int(m.group(1)) if m else None, "file", "not_toml",
                          detail=str(e).split(" (at")[0]) from None
    return _Reader(path, text).lesson(data)


def folders() -> list[Path]:
    out = [FILES]
    extra = os.environ.get(EXTRA_DIR_ENV)
    if extra and Path(extra).is_dir():
        out.append(Path(extra))
    return out


class Library:
    """Every lesson that loaded, in course order, and the errors of those that did not."""

    def __init__(self, lessons: Iterable[Lesson], errors: Iterable[LessonError]) -> None:
        self.lessons = tuple(sorted(lessons, key=lambda l: (l.order, l.id)))
        self.errors = tuple(errors)
        self.by_id = {l.id: l for l in self.lessons}

    def get(self, lesson_id: str) -> Lesson | None:
        return self.by_id.get(lesson_id)

    def next_of(self, lesson: Lesson) -> Lesson | None:
        i = self.lessons.index(lesson)
        return self.lessons[i + 1] if i + 1 < len(self.lessons) else None


def load(paths: Iterable[Path]) -> Library:
    lessons, errors, seen = [], [], set()
    for path in sorted(paths):
        try:
            lesson = read(path)
        except LessonError as e:
            errors.append(e)
            continue
        if lesson.id in seen:
            errors.append(LessonError(path, None, "id", "duplicate_id", value=lesson.id))
            continue
        seen.add(lesson.id)
        lessons.append(lesson)
    return Library(lessons, errors)


@functools.cache
def library() -> Library:
    """Every lesson file, read once per process."""
    return load(p for folder in folders() for p in folder.glob("*.toml"))
