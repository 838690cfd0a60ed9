"""Cold start: from `streamlit run app.py` to the Playground fully rendered in a browser.

    python benchmarks/cold_start.py [--warm N]

Runs once with a fresh, empty JAX compilation cache folder (cold: every kernel
compiles) and then N times (default 2) with that folder filled (warm: a restarted
server), and prints the warm samples' median. The
browser opens the Playground's deep link as the first request; "rendered" means the
script has finished and every Plotly chart has drawn.

The moment is read from the page itself: an observer of the page's DOM notes the first
frame painted with that condition true, on the wall clock that also timed the server's
start. Waiting for Playwright's poll to notice instead added 0.1-0.35 s of polling and
messaging to each figure; both are printed.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DONE = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const charts = document.querySelectorAll("[data-testid='stPlotlyChart']");
    if (charts.length < 2) return false;  // the contour and the curves (the step inspector opens on demand)
    for (const c of charts) { if (!c.querySelector('.main-svg')) return false; }
    return true;
}"""


# Runs in the page before its own scripts: on every DOM change, test DONE; when it first
# holds, note the wall-clock time of the next painted frame.
WATCH = """(() => {
    const done = %s;
    const watch = new MutationObserver(() => {
        if (!done()) return;
        watch.disconnect();
        requestAnimationFrame(() => { window.__renderedAt = performance.timeOrigin + performance.now(); });
    });
    watch.observe(document, {subtree: true, childList: true, attributes: true});
})();""" % DONE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, since: float) -> None:
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.time() - since > 60:
            raise TimeoutError("the server did not start within 60 s")
        time.sleep(0.01)


def one(browser, cache: str) -> tuple[float, float]:
    """Seconds from `streamlit run` to the Playground painted, and to Playwright noticing."""
    port = free_port()
    env = dict(os.environ, DESCENT_LAB_CACHE=cache)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.add_init_script(WATCH)
    t0 = time.time()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, t0)
        page.goto(f"http://127.0.0.1:{port}/Playground")
        page.wait_for_function(DONE, timeout=120_000, polling=50)
        noticed = time.time() - t0
        painted = page.wait_for_function("() => window.__renderedAt", timeout=10_000).json_value() / 1000 - t0
        page.close()
        return painted, noticed
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    import argparse
    import statistics

    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=2, help="restarts with the compilation cache filled")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        # The first run finds the folder empty (every kernel compiles and is stored); the
        # next ones are restarts that find it filled.
        warm = []
        for label in ["cold"] + ["warm"] * args.warm:
            painted, noticed = one(browser, cache)
            if label == "warm":
                warm.append(painted)
            print(f"{label} compilation cache: server start to Playground rendered in {painted:.2f} s "
                  f"(Playwright's poll noticed at {noticed:.2f} s)", flush=True)
        browser.close()
    if warm:
        print(f"warm: median {statistics.median(warm):.2f} s, {min(warm):.2f}-{max(warm):.2f} s over {len(warm)} starts")

if __name__ == "__main__":
    main()
