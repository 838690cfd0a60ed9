"""The message catalog: every key used in code exists, templates and placeholders agree."""
from __future__ import annotations

import re
from pathlib import Path

import catalog

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("app.py", "pages", "ui", "experiments", "charts", "classifier", "optimizers", "surfaces")
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")


def _code_files():
    for name in CODE_DIRS:
        path = ROOT / name
        yield from ([path] if path.is_file() else sorted(path.rglob("*.py")))


def test_every_literal_key_in_the_code_is_in_every_catalog():
    used = {m for f in _code_files() for m in LITERAL_KEY.findall(f.read_text())}
    assert used, "the scan found no t('...') call: the pattern is wrong"
    for language in catalog.LANGUAGES:
        missing = sorted(used - set(catalog.messages(language)))
        assert not missing, f"{language}: {missing}"


def test_languages_have_the_same_keys_and_placeholders():
    base = catalog.messages(catalog.DEFAULT_LANGUAGE)
    for language in catalog.LANGUAGES:
        other = catalog.messages(language)
        assert set(other) == set(base), language
        for key, template in base.items():
            assert catalog.placeholders(other[key]) == catalog.placeholders(template), (language, key)


def test_every_template_formats():
    for key, template in catalog.messages("en").items():
        names = catalog.placeholders(template)
        # Any value works for every placeholder that has no format spec; a spec (":.3g")
        # needs a number, and 1.5 satisfies all our specs.
        catalog.t(key, **{n: 1.5 for n in names}) if names else catalog.t(key)


def test_url_notice_reads_well():
    assert catalog.t("url.half_point", key="`x0`", missing="`y0`").startswith("URL parameter `x0` is given without")
