"""Classroom load test: N concurrent browser sessions on one local server.

    python benchmarks/load_test.py [--sessions 30] [--changes 3] [--idle 120]

Starts `streamlit run app.py` on a free loopback port, warms it with one session, then
opens N headless Chromium pages at once (Debian's chromium via Playwright, one browser,
one context per student). Each page opens the Playground, waits for the charts, then
moves a learning-rate slider ``--changes`` times, timing each rerun until the script has
finished and the charts have redrawn. Prints per-session outcomes, the median and 95th
percentile rerun times, the server's peak resident memory, and its memory ``--idle``
seconds after every session closed, against the post-warm-up baseline.

Bounded: loopback only, a fixed number of sessions and actions, a hard time limit.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FINISHED_JS = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const charts = document.querySelectorAll("[data-testid='stPlotlyChart']");
    if (charts.length === 0) return false;
    for (const c of charts) { if (!c.querySelector('.main-svg')) return false; }
    return true;
}"""


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self) -> None:
        while self.running:
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--changes", type=int, default=3)
    ap.add_argument("--idle", type=float, default=120.0)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--limit", type=float, default=900.0, help="hard time limit for the whole run (s)")
    args = ap.parse_args()
    deadline = time.time() + args.limit

    port = free_port()
    url = f"http://127.0.0.1:{port}/Playground"
    log = open("/tmp/descent-lab-load-server.log", "w")
    t_start = time.time()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    sampler = Sampler(server.pid)
    sampler.start()
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync",
            ])
            # Warm-up: one session, as the first visitor of a freshly started server.
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.goto(url)
            page.wait_for_function(FINISHED_JS, timeout=120_000, polling=100)
            first_render = time.time() - t_start
            ctx.close()
            # The background warm-up compiles the other pages' defaults after the first
            # visit: the baseline is taken once resident memory has stopped growing.
            baseline, settle_until = rss_mb(server.pid), time.time() + 90
            while time.time() < settle_until:
                time.sleep(5)
                now = rss_mb(server.pid)
                if abs(now - baseline) < 2:
                    break
                baseline = now
            print(f"server start to first Playground render (cold): {first_render:.1f} s")
            print(f"baseline after warm-up: {baseline:.0f} MB resident")

            contexts, pages = [], []
            for _ in range(args.sessions):
                c = browser.new_context(viewport={"width": 1280, "height": 900})
                contexts.append(c)
                pages.append(c.new_page())
            t0 = time.time()
            for pg in pages:  # navigation is asynchronous: all sessions load at once
                pg.goto(url, wait_until="commit")
            loaded, failed = [], []
            for i, pg in enumerate(pages):
                try:
                    pg.wait_for_function(FINISHED_JS, timeout=max(1, deadline - time.time()) * 1000, polling=100)
                    loaded.append(time.time() - t0)
                except Exception as e:  # noqa: BLE001 (a report, not a crash)
                    failed.append((i, str(e)[:100]))
            exceptions = sum(pg.locator("[data-testid='stException']").count() for pg in pages)
            print(f"{len(loaded)}/{args.sessions} sessions rendered; all done {max(loaded, default=0):.1f} s "
                  f"after the first request; exceptions shown: {exceptions}")

            # Every session moves a learning-rate slider, all at the same time, --changes times.
            reruns: list[float] = []
            for change in range(args.changes):
                starts = []
                for pg in pages:
                    thumb = pg.locator("[data-testid='stMain'] [data-testid='stSlider'] input[type='range']").first
                    thumb.focus()
                    starts.append(time.time())
                    pg.keyboard.press("ArrowRight" if change % 2 == 0 else "ArrowLeft")
                for pg, s in zip(pages, starts):
                    pg.wait_for_timeout(50)
                    pg.wait_for_function(FINISHED_JS, timeout=max(1, deadline - time.time()) * 1000, polling=50)
                    reruns.append(time.time() - s)
            exceptions = sum(pg.locator("[data-testid='stException']").count() for pg in pages)
            print(f"reruns under load ({len(reruns)}): median {statistics.median(reruns):.2f} s, "
                  f"p95 {pct(reruns, 0.95):.2f} s, max {max(reruns):.2f} s; exceptions shown: {exceptions}")
            for c in contexts:
                c.close()
            browser.close()
        peak = sampler.peak
        print(f"server peak resident memory: {peak:.0f} MB")
        time.sleep(args.idle)
        after = rss_mb(server.pid)
        print(f"{args.idle:.0f} s after the sessions closed: {after:.0f} MB "
              f"({(after - baseline) / baseline:+.1%} vs the post-warm-up baseline)")
    finally:
        sampler.running = False
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
