"""Cold start: from `streamlit run app.py` to the Playground fully rendered in a browser.

    python benchmarks/cold_start.py

Runs once with a fresh, empty JAX compilation cache folder (cold: every kernel
compiles) and then twice more with that folder filled (warm: a restarted server). The
browser opens the Playground's deep link as the first request; "rendered" means the
script has finished and every Plotly chart has drawn.
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one(browser, cache: str) -> float:
    port = free_port()
    env = dict(os.environ, DESCENT_LAB_CACHE=cache)
    t0 = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/Playground", timeout=2000)
                break
            except Exception:  # noqa: BLE001 (server not listening yet)
                if time.perf_counter() - t0 > 60:
                    raise
                time.sleep(0.05)
        page.wait_for_function(DONE, timeout=120_000, polling=50)
        elapsed = time.perf_counter() - t0
        page.close()
        return elapsed
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as cache, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        # The first run finds the folder empty (every kernel compiles and is stored); the
        # next ones are restarts that find it filled.
        for label in ("cold", "warm", "warm"):
            print(f"{label} compilation cache: server start to Playground rendered in {one(browser, cache):.2f} s",
                  flush=True)
        browser.close()

if __name__ == "__main__":
    main()
