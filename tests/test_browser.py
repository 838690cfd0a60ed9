"""Every page in a real browser: Debian's chromium driven by Playwright against
`streamlit run app.py` on a free local port.

For each page: load it, wait until the script has finished, check that no exception is
shown and that every Plotly chart drew, move one control and wait again, and save a
screenshot (the folder is printed). Then, for each page, a fresh server whose first
request is that page's deep link must show the same menu as the home page.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "test-artifacts" / "screenshots"
FINISHED = "[data-testid='stApp'][data-test-script-state='notRunning']"


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base_path: str = "") -> None:
        self.port = free_port()
        self.base_path = base_path
        env = {k: v for k, v in os.environ.items() if k != "DESCENT_LAB_NO_WARMUP"}
        env["PYTHONUNBUFFERED"] = "1"
        self.log = open(ROOT / "test-artifacts" / f"server-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(self.port),
             "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.baseUrlPath", base_path],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("streamlit did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}" + (f"/{self.base_path}" if self.base_path else "")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


CHARTLESS = ("Home", "Lessons")  # pages of text and links, no chart


def page_urls() -> list[tuple[str, str]]:
    from ui.frame import available_pages

    # A page's address is its file's name without the number: pages/6_Inside.py is /Inside.
    return [(p.title, "/" if p.path == "app.py" else "/" + Path(p.path).stem.split("_", 1)[1])
            for p in available_pages()]


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        pytest.fail("chromium is not installed (scripts/test.sh installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
        ])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server():
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    s = Server()
    yield s
    s.stop()


def wait_done(page, timeout_ms: int = 90_000) -> None:
    """Until the script has run and every chart has drawn."""
    page.wait_for_selector("[data-testid='stSidebar']", timeout=timeout_ms)
    page.wait_for_function(
        """() => {
            const app = document.querySelector("[data-testid='stApp']");
            if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
            if (document.querySelector("[data-testid='stSkeleton']")) return false;
            const charts = document.querySelectorAll("[data-testid='stPlotlyChart']");
            for (const c of charts) { if (!c.querySelector('.main-svg')) return false; }
            return true;
        }""",
        timeout=timeout_ms,
        polling=200,
    )
    page.wait_for_timeout(400)
    # A rerun may start right after the first (URL state written back): wait it out too.
    page.wait_for_selector(FINISHED, timeout=timeout_ms)


def menu(page) -> list[str]:
    links = page.locator("[data-testid='stSidebar'] [data-testid='stPageLink'] a")
    return [links.nth(i).inner_text().strip().split("\n")[-1].strip() for i in range(links.count())]


def check_page(page, name: str) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, f"{name}: exception shown"
    charts = page.locator("[data-testid='stPlotlyChart']")
    for i in range(charts.count()):
        assert charts.nth(i).locator(".main-svg").count() > 0, f"{name}: chart {i} did not draw"


def move_one_control(page) -> bool:
    """Nudge the first slider in the main area (or sidebar) with the keyboard."""
    for scope in ("[data-testid='stMain']", "[data-testid='stSidebar']"):
        sliders = page.locator(f"{scope} [data-testid='stSlider'] input[type='range']")
        if sliders.count():
            s = sliders.first
            s.focus()
            page.keyboard.press("ArrowRight")
            return True
    return False


def test_every_page_renders_and_reacts(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 2400})
    page = context.new_page()
    home_menu = None
    changed = []
    print(f"\nscreenshots: {SHOTS}")
    for name, path in page_urls():
        page.goto(server.url + path)
        wait_done(page)
        check_page(page, name)
        assert page.title().startswith(name), (path, page.title())  # that page, not the home page instead
        if home_menu is None:
            home_menu = menu(page)
            assert len(home_menu) == len(page_urls())
        assert menu(page) == home_menu
        if name not in CHARTLESS:
            assert page.locator("[data-testid='stPlotlyChart']").count() >= 1, f"{name}: no chart"
        page.screenshot(path=str(SHOTS / f"{name.lower()}.png"), full_page=True)
        if move_one_control(page):
            changed.append(name)
            page.wait_for_timeout(300)
            wait_done(page)
            check_page(page, name + " after a change")
            page.screenshot(path=str(SHOTS / f"{name.lower()}-changed.png"), full_page=True)
    assert "Playground" in changed, changed  # its steps slider, at least, was moved and rerun
    context.close()


@pytest.mark.parametrize("name,path", [p for p in page_urls() if p[0] != "Home"])
def test_deep_link_first_on_a_fresh_server_shows_the_same_menu(browser, name, path):
    s = Server()
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 1200})
        page = context.new_page()
        page.goto(s.url + path)
        wait_done(page)
        check_page(page, name)
        assert page.title().startswith(name), (path, page.title())
        titles = menu(page)
        assert titles == [t for t, _ in page_urls()], titles
        assert page.locator("[data-testid='stSidebarNav']").count() == 0  # Streamlit's own menu stays hidden
        context.close()
    finally:
        s.stop()


CONTOUR_JS = "() => { const c = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.layout && g.layout.images); "
# Gradient descent's path on the contour: its data (Plotly's own copy) and its drawn SVG line.
GD_PATH_JS = (CONTOUR_JS + "const i = c.data.findIndex(t => t.name === 'Gradient descent'); "
              "const line = c.querySelectorAll('.scatterlayer .trace')[i].querySelector('path.js-line'); "
              "return {x: Array.from(c.data[i].x).slice(0, 50), d: line.getAttribute('d')}; }")


def contour_png(surface_key: str) -> bytes:
    """The PNG the server draws for a catalog surface's contour fill."""
    import base64

    import surfaces
    from ui.surface_view import fill_of

    return base64.b64decode(fill_of(surfaces.get(surface_key)).image["source"].split(",", 1)[1])


def test_playground_fragment_rerun_and_a_click_on_the_contour(browser, server):
    """The race controls rerun only their fragment; a click on the contour (inside the
    fragment) moves the start, a sidebar widget, through a whole-page rerun. AppTest
    always reruns the whole script, so only a browser sees these two paths."""
    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.goto(server.url + "/Playground")
    wait_done(page)
    start_x = page.get_by_label("start x")
    before = float(start_x.input_value())
    # The contour's fill comes by URL (the same every rerun), and it is the server's PNG.
    href = page.evaluate(CONTOUR_JS + "return c.querySelector('image').getAttribute('href'); }")
    assert href.startswith("media/"), href
    served = page.request.get(server.url + "/" + href)
    assert served.ok and served.body() == contour_png("rosenbrock")
    drawn = page.evaluate(GD_PATH_JS)
    # A learning rate (in the fragment): the URL records it, the sidebar keeps its values,
    # and the path drawn is the new one (its data and its SVG line), not a stale copy.
    slider = page.locator("[data-testid='stMain'] [data-testid='stSlider'] input[type='range']").first
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    wait_done(page)
    check_page(page, "Playground after a learning rate")
    assert "gd.learning_rate=" in page.url, page.url
    assert float(start_x.input_value()) == before
    redrawn = page.evaluate(GD_PATH_JS)
    assert redrawn["x"] != drawn["x"] and redrawn["d"] != drawn["d"], (drawn, redrawn)
    assert redrawn["x"][0] == drawn["x"][0]  # the same start
    # A click on a point of the click grid far from the start.
    grid = page.locator("[data-testid='stPlotlyChart'] .scatterlayer .trace").nth(1).locator("path.point")
    assert grid.count() > 100
    box = grid.nth(200).bounding_box()  # row 11, column 13 of 17: right of every default start
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 5, y - 5)
    page.mouse.move(x, y)  # Plotly clicks the point it hovers
    page.wait_for_timeout(300)
    page.mouse.click(x, y)
    page.wait_for_function(f"() => {{ const e = document.querySelector(\"[aria-label='start x']\"); "
                           f"return e && parseFloat(e.value) !== {before}; }}", timeout=60_000)
    wait_done(page)
    check_page(page, "Playground after a click")
    assert float(start_x.input_value()) > before
    assert "x0=" in page.url, page.url
    # The step inspector opens on demand (a lazy expander): its arrows chart draws then.
    charts = page.locator("[data-testid='stPlotlyChart']").count()
    page.locator("[data-testid='stExpander'] summary", has_text="Step inspector").click()
    page.wait_for_function(f"() => document.querySelectorAll(\"[data-testid='stPlotlyChart']\").length > {charts}",
                           timeout=60_000)
    wait_done(page)
    check_page(page, "Playground with the step inspector open")
    page.screenshot(path=str(SHOTS / "playground-inspector.png"), full_page=True)
    context.close()


def test_the_contour_image_loads_under_a_path_prefix(browser):
    """Behind a proxy that serves the app under a path (as a hosted app may be), the
    contour's image URL (relative, as compat.media_url makes it) resolves under that path."""
    s = Server(base_path="class/room")
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        images = []
        page.on("response", lambda r: images.append((r.status, r.url)) if r.url.endswith(".png") else None)
        page.goto(s.url + "/Playground")
        wait_done(page)
        check_page(page, "Playground under a path prefix")
        page.wait_for_function("() => performance.getEntriesByType('resource').some(e => e.name.endsWith('.png'))",
                               timeout=30_000)
        page.wait_for_timeout(300)
        served = [(status, url) for status, url in images if "/media/" in url]
        assert served and all(status == 200 and "/class/room/media/" in url for status, url in served), images
        context.close()
    finally:
        s.stop()


def test_crafted_url_draws_no_link_image_or_heading(browser, server):
    """The real Markdown renderer (react-markdown with Streamlit's directives, GitHub's
    bare-URL links and LaTeX) on URL payloads: the page shows them as text. AppTest sees
    only the Markdown source; this sees the DOM a student would."""
    from urllib.parse import urlencode, urlparse

    from tests.test_hostile_urls import KEY_PAYLOAD, OUTSIDE, PAYLOAD

    context = browser.new_context(viewport={"width": 1280, "height": 1600})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    query = urlencode([("steps", PAYLOAD), ("opts", f"gd,{PAYLOAD}"), (KEY_PAYLOAD, "1"), ("x0", "1")])
    page.goto(f"{server.url}/Playground?{query}")
    wait_done(page)
    check_page(page, "Playground with a crafted URL")
    main = page.locator("[data-testid='stMain']")
    assert main.locator(f"a[href*='{OUTSIDE}'], img[src*='{OUTSIDE}']").count() == 0
    assert main.locator("[data-testid='stAlert'] h2, [data-testid='stAlert'] .katex").count() == 0
    alerts = main.locator("[data-testid='stAlert']").all_inner_texts()
    assert any("Session expired" in a for a in alerts), alerts  # shown, as plain text
    assert not [u for u in requested if urlparse(u).hostname == OUTSIDE]  # no tracking image fetched
    page.screenshot(path=str(SHOTS / "playground-crafted-url.png"), full_page=True)
    context.close()

