"""How long a lesson takes to move on, against the page's own rerun, in a real browser.

    python benchmarks/lesson_steps.py [LESSON_ID] [--rounds N]

For a lesson whose first two steps stage the same page (default: the first such lesson),
each round opens step 1, reveals it, then times, in one browser tab:

* next:   "Next" pressed -> step 2's question drawn (the page's results wait for "show");
* show:   "Show the result" pressed -> step 2's results drawn (a full run of the page);
* rerun:  the revealed page's first slider nudged -> rerun finished (the page's own rerun,
          what measure_app.py --interact times).

Issue 16 asks that going to the next step re-render in no more than the page's own rerun
time. Figures are wall-clock from the click to the condition holding (Playwright polls
every 20 ms); the medians over rounds are printed. Alternating rounds, one server.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.browser_util import CHROMIUM, CHROMIUM_ARGS, Server  # noqa: E402

SETTLED = """(question) => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector("[data-testid='stSkeleton']")) return false;
    const panel = document.querySelector(".st-key-lesson_panel");
    if (question && (!panel || !panel.innerText.includes(question))) return false;
    for (const c of document.querySelectorAll("[data-testid='stPlotlyChart']")) {
        if (!c.querySelector('.main-svg')) return false;
    }
    return true;
}"""
CHARTS = """() => document.querySelectorAll("[data-testid='stPlotlyChart'] .main-svg").length > 0"""


def timed(page, action, condition: str, arg=None) -> float:
    t0 = time.perf_counter()
    action()
    page.wait_for_timeout(50)
    page.wait_for_function(SETTLED, arg=arg, polling=20, timeout=180_000)
    if condition:
        page.wait_for_function(condition, polling=20, timeout=180_000)
    return (time.perf_counter() - t0) * 1000


def main() -> int:
    import lessons

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lesson", nargs="?")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    library = lessons.library()
    lesson = library.get(args.lesson) if args.lesson else next(
        x for x in library.lessons if len(x.steps) > 1 and x.steps[0].page == x.steps[1].page)
    path = "/" + lesson.steps[0].page.capitalize()
    second = lesson.steps[1].text["en"].question
    from playwright.sync_api import sync_playwright

    server = Server(keep_cache=True)
    server.start()
    got: dict[str, list[float]] = {"next": [], "show": [], "rerun": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1600})
            for r in range(args.rounds + 1):  # round 0 warms up (compiles) and is not counted
                page.goto(f"{server.base_url}{path}?lesson={lesson.id}&step=1")
                page.wait_for_function(SETTLED, arg=None, polling=50, timeout=180_000)
                panel = page.locator(".st-key-lesson_panel")
                timed(page, lambda: panel.locator("button", has_text="Show the result").click(), CHARTS)
                times = {
                    "next": timed(page, lambda: panel.locator("button", has_text="Next").click(), "", second),
                    "show": timed(page, lambda: panel.locator("button", has_text="Show the result").click(), CHARTS),
                }

                def nudge() -> None:
                    s = page.locator("[data-testid='stMain'] [data-testid='stSlider'] input[type='range'], "
                                     "[data-testid='stSidebar'] [data-testid='stSlider'] input[type='range']").first
                    s.focus()
                    page.keyboard.press("ArrowRight")

                times["rerun"] = timed(page, nudge, "")
                if r:
                    for k, v in times.items():
                        got[k].append(v)
                    print(f"round {r}: " + ", ".join(f"{k} {v:.0f} ms" for k, v in times.items()), flush=True)
            browser.close()
    finally:
        server.stop()
    print(f"\n{lesson.id} ({path}), medians of {args.rounds} rounds:")
    for k, v in got.items():
        print(f"  {k:6s} {statistics.median(v):7.0f} ms   (min {min(v):.0f}, max {max(v):.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
