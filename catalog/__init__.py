"""Every sentence a student reads, by key, in one catalog per language.

The catalogs are TOML files, ``catalog/<language>/<area>.toml``; a key is the file's name
and the table path inside it, so ``[notice]`` ``half_point = "..."`` in ``url.toml`` is
``url.notice.half_point``. TOML because Streamlit Community Cloud runs no build step (a
gettext catalog needs compiling) and ``tomllib`` is in the standard library.

Messages with numbers are templates with named placeholders in ``str.format`` syntax
(``"diverged at step {step}"``, ``"{rate:.3g}"``); a literal brace is doubled (``{{``),
so LaTeX belongs in code, not here. Only our own templates are formatted;
a value a user typed is a parameter, never a template.

The language of the current script run is a context variable, set by ``ui`` at the top
of every run, so chart builders and experiments can ask for text without taking a
language argument everywhere. No Streamlit here.
"""
from __future__ import annotations

import contextvars
import functools
import string
import tomllib
from pathlib import Path
from typing import Any, Iterator, Mapping, NamedTuple

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
ROOT = Path(__file__).resolve().parent

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT_LANGUAGE)


def _flatten(table: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, str]]:
    for k, v in table.items():
        key = f"{prefix}.{k}"
        if isinstance(v, Mapping):
            yield from _flatten(v, key)
        elif isinstance(v, str):
            yield key, v
        else:
            raise TypeError(f"{key}: a message must be a string, not {type(v).__name__}")


@functools.cache
def messages(language: str = DEFAULT_LANGUAGE) -> Mapping[str, str]:
    """Every message of one language, by key (read once per process)."""
    if language not in LANGUAGES:
        raise KeyError(f"no catalog for language {language!r}")
    out: dict[str, str] = {}
    for path in sorted((ROOT / language).glob("*.toml")):
        with path.open("rb") as f:
            out.update(_flatten(tomllib.load(f), path.stem))
    return out


def placeholders(template: str) -> set[str]:
    """The named placeholders of a template ({name} or {name:format})."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def language() -> str:
    return _language.get()


def set_language(language: str) -> None:
    """The language of this script run (a thread's context; ui sets it every run)."""
    if language not in LANGUAGES:
        raise KeyError(language)
    _language.set(language)


def has(key: str) -> bool:
    return key in messages(language())


class Notice(NamedTuple):
    """A message as data: a catalog key and its parameters. What the library and the
    experiments return instead of sentences (a value corrected, a cut, a job's progress);
    the page turns it into words in the session's language. Where a parameter came from a
    user (a URL key or value), the page shows it as inert code (catalog.echo)."""

    key: str
    params: Mapping[str, Any] = {}


def t(key: str, /, **params: Any) -> str:
    """The message ``key`` in the current language, its placeholders filled in."""
    return messages(language())[key].format(**params)
