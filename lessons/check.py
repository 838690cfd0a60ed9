"""Check lesson files against the app: ``python -m lessons.check [FILE ...]``.

Reads each file (every built-in lesson if none is given), runs every step's page with the
staged settings, and prints each expectation with the facts it reads and whether it holds.
Exit status 1 if a file is malformed or an expectation fails. ``--facts`` also prints every
fact of every step (to find what a new expectation could say)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import lessons
from lessons import facts as page_facts


def check(lesson: lessons.Lesson, show_facts: bool = False) -> bool:
    ok = True
    for i, step in enumerate(lesson.steps, 1):
        t0 = time.perf_counter()
        got = page_facts.of(step.page, step.settings())
        took = time.perf_counter() - t0
        print(f"  step {i} ({step.page}, {took:.1f} s)")
        for e in step.expect:
            holds = e.holds(got)
            ok &= holds
            values = ", ".join(f"{k}={got[k]:.6g}" if isinstance(got[k], float) else f"{k}={got[k]}"
                               for k in sorted(e.facts()))
            print(f"    {'ok  ' if holds else 'FAIL'} {e.text}    [{values}]")
        if show_facts:
            for k in sorted(got):
                print(f"      {k} = {got[k]}")
    return ok


README = Path(__file__).resolve().parent.parent / "README.md"


def write_readme_table() -> None:
    """Replace the README's concept table with the built-in lessons' (lessons.concept_table)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n", text.index("<!-- concept table")) + 1
    end = text.index("<!-- end of concept table -->")
    README.write_text(text[:start] + lessons.concept_table(lessons.library()) + "\n" + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--facts", action="store_true", help="print every fact of every step")
    ap.add_argument("--readme", action="store_true", help="write the concept table into README.md and stop")
    args = ap.parse_args(argv)
    if args.readme:
        write_readme_table()
        return 0
    library = lessons.load(args.files) if args.files else lessons.library()
    ok = True
    for e in library.errors:
        print(f"MALFORMED {e.path}: line {e.line}, key {e.key}: {e.reason} {e.params}")
        ok = False
    for lesson in library.lessons:
        print(f"{lesson.id}: {lesson.title['en']} ({len(lesson.steps)} steps)")
        ok &= check(lesson, args.facts)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
