"""Shared helpers for the browser benchmarks (hostile.py): a `streamlit run` server this
process owns and always stops, a sampler of the server's resident memory (and CPU time of
process trees), headless Chromium and its scheduling priority, in-page timing of page
loads and reruns, and RunTracker, which follows a page's script runs on the server from
its websocket frames.

Timing is read inside the page (performance.now()), so Playwright's polling and messaging
are not counted: a script injected before the page's own scripts notes every change of
the app's state (script running or not, charts drawn, lazy skeletons, a "Queued" notice)
and every websocket message Streamlit sends (scriptFinished is recognised by its protobuf
field number), and a rerun is timed from the keydown that caused it.

"Rendered" means: connected, the script finished (its scriptFinished message arrived and
the app reports notRunning), every Plotly chart holds its drawn SVG or canvas, no lazily
loaded element still shows its skeleton, no "Queued" notice, and all of it unchanged for
a short settle time (not counted in the figure).

Loopback only: the server listens on 127.0.0.1 and the browser opens nothing else.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
    "--disable-extensions", "--disable-default-apps", "--mute-audio",
    # Six tabs in one headless browser: none of them may be throttled as "in the background".
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    # Loopback only: every other address goes to a proxy that is not there, so it fails at once.
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1;localhost",
]

# Top-level ForwardMsg field numbers (Streamlit 1.x values unless the proto says otherwise).
NEW_SESSION_FIELD, SCRIPT_FINISHED_FIELD = 4, 6
try:
    from streamlit.proto import ForwardMsg_pb2 as _fm

    _fields = _fm.ForwardMsg.DESCRIPTOR.fields_by_name
    NEW_SESSION_FIELD = _fields["new_session"].number
    SCRIPT_FINISHED_FIELD = _fields["script_finished"].number
except Exception:  # noqa: BLE001 (keep the defaults)
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------
# Processes and memory


def children_of(pid: int) -> list[int]:
    """Every descendant of pid (from /proc/<pid>/task/*/children)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(c) for c in f.read().split()]
            except OSError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def tree_mb(pid: int, field: str = "VmRSS") -> float:
    """Sum of a /proc status field (VmRSS, VmHWM) over pid and its descendants, in MB."""
    total = 0
    for p in [pid, *children_of(pid)]:
        v = status_kb(p, field)
        if v is not None:
            total += v
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (live ones only), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except (OSError, IndexError, ValueError):
            continue
    return total / tick


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def browser_pids() -> list[int]:
    """This process's Chromium processes (Playwright's driver starts them as our descendants)."""
    return [p for p in children_of(os.getpid()) if "chrom" in comm(p).lower()]


def browser_roots() -> set[int]:
    """Our Chromium browser processes: Playwright starts each browser as the leader of its
    own session (so, on Linux, of its own scheduler autogroup); its renderers follow it."""
    roots = set()
    for p in browser_pids():
        try:
            if os.getsid(p) == p:
                roots.add(p)
        except OSError:
            continue
    return roots


def tree_of(pid: int) -> list[int]:
    return [pid, *children_of(pid)]


def set_autogroup_nice(pid: int, nice: int) -> str | None:
    """Give pid's scheduler autogroup (its session: for a browser, every process of it) this
    nice value, so it only gets the CPU others leave. None if done, else why not. With
    autogroups on (the Linux default), per-process nice values only count inside a group,
    so this is the setting that decides between the browser and the server."""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            enabled = f.read().strip() == "1"
    except OSError:
        enabled = False
    try:
        if enabled:
            with open(f"/proc/{pid}/autogroup", "w") as f:
                f.write(str(nice))
        for p in tree_of(pid):  # without autogroups, each process's own nice value decides
            os.setpriority(os.PRIO_PROCESS, p, nice)
        return None
    except OSError as e:
        return str(e)


class MemorySampler(threading.Thread):
    """Resident memory of a process tree every `period` s, for as long as it runs. peak_mb is
    the whole run's peak; mark()/peak_since(mark) give the peak of a window."""

    def __init__(self, pid: int, period: float = 0.05) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.pid, self.period = pid, period
        self.peak_mb = 0.0
        self.samples = 0
        self.nprocs = 1
        self._windows: dict[int, float] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            pids = [self.pid, *children_of(self.pid)]
            kb = [status_kb(p, "VmRSS") for p in pids]
            if kb[0] is None:  # the server is gone
                return
            mb = sum(v for v in kb if v is not None) / 1024
            with self._lock:
                self.samples += 1
                self.nprocs = max(self.nprocs, len(pids))
                self.peak_mb = max(self.peak_mb, mb)
                for k in self._windows:
                    self._windows[k] = max(self._windows[k], mb)
            self._stop.wait(self.period)

    def mark(self) -> int:
        with self._lock:
            self._next += 1
            self._windows[self._next] = tree_mb(self.pid)
            return self._next

    def peak_since(self, mark: int, close: bool = True) -> float:
        with self._lock:
            return self._windows.pop(mark) if close else self._windows[mark]

    def stop(self) -> None:
        self._stop.set()


# ---------------------------------------------------------------------------------------
# The server


class Server:
    """`streamlit run app.py` on a loopback port, owned by this process: stop() ends it (and
    any child it started) by pid. Its JAX compilation cache goes to a fresh temporary folder
    unless keep_cache."""

    def __init__(self, port: int | None = None, keep_cache: bool = False, python: str | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        venv_python = ROOT / ".venv" / "bin" / "python"
        self.python = python or (str(venv_python) if venv_python.exists() else sys.executable)
        self.cmd = [self.python, "-m", "streamlit", "run", "app.py",
                    "--server.headless", "true", "--server.port", str(self.port),
                    "--server.address", "127.0.0.1",
                    "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
        self.keep_cache = keep_cache
        self.cache_dir: str | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path = tempfile.NamedTemporaryFile(prefix="descent-lab-hostile-server-", suffix=".log",
                                                    delete=False).name
        self._log = None
        self.known_children: set[int] = set()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 120.0, on_spawn=None) -> float:
        """Seconds until /_stcore/health answers "ok". on_spawn(pid) is called as soon as the
        process exists (e.g. to start sampling its memory)."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if not self.keep_cache:
            self.cache_dir = tempfile.mkdtemp(prefix="descent-lab-hostile-cache-")
            env["DESCENT_LAB_CACHE"] = self.cache_dir
        self._log = open(self.log_path, "w")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        if on_spawn is not None:
            on_spawn(self.proc.pid)
        url = self.base_url + "/_stcore/health"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode} before it was healthy:\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200 and r.read().strip() == b"ok":
                        return time.perf_counter() - t0
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"server not healthy after {timeout:.0f} s:\n" + self.log_tail())
            time.sleep(0.05)

    def remember_children(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.known_children.update(children_of(self.proc.pid))

    def stop(self) -> None:
        p = self.proc
        if p is not None and p.poll() is None:
            self.remember_children()
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
            except ProcessLookupError:
                pass
        for c in list(self.known_children):  # anything it started and left behind, by pid
            try:
                os.kill(c, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.known_children.discard(c)
        if self._log and not self._log.closed:
            self._log.close()
        if self.cache_dir:
            shutil.rmtree(self.cache_dir, ignore_errors=True)
            self.cache_dir = None

    def log_text(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])


# ---------------------------------------------------------------------------------------
# The browser side


INIT_JS = r"""
(() => {
  if (window.__hl) return;
  const FIN = %(fin)d, NEW = %(new)d;
  const CHART = "[data-testid='stPlotlyChart']";
  const PENDING = "[data-testid='stElementContainer'] [data-testid='stSkeleton']";
  const NOTE = "[data-testid='stAlert'], [data-testid='stSpinner'], [data-testid='stStatusWidget'], " +
               "[data-testid='stProgress'], [data-testid='stToast'], [data-testid='stCaptionContainer'], " +
               "[data-testid='stMarkdownContainer']";
  const QUEUED = /\bqueued\b|\bin (the )?queue\b/i;
  const hl = window.__hl = {log: [], ws: [], keys: [], chartAct: 0, last: null, queuedEver: false};
  function snap() {
    const app = document.querySelector("[data-testid='stApp']");
    const charts = document.querySelectorAll(CHART);
    let r = 0;
    charts.forEach(c => { if (c.querySelector('.main-svg, canvas')) r++; });
    let q = false;
    for (const el of document.querySelectorAll(NOTE)) {
      if (el.closest(CHART)) continue;
      if (QUEUED.test(el.textContent || '')) { q = true; break; }
    }
    if (q) hl.queuedEver = true;
    return {
      st: app ? app.getAttribute('data-test-script-state') : null,
      conn: app ? app.getAttribute('data-test-connection-state') : null,
      n: charts.length, r: r, p: document.querySelectorAll(PENDING).length, q: q,
      ex: document.querySelectorAll("[data-testid='stException']").length,
    };
  }
  hl.isDone = s => s.conn === 'CONNECTED' && s.st === 'notRunning' && s.r === s.n && s.p === 0 && !s.q;
  hl.check = function () {
    const s = snap();
    const k = [s.st, s.conn, s.n, s.r, s.p, s.q, s.ex].join('|');
    if (k !== hl.last) { hl.last = k; s.t = performance.now(); hl.log.push(s); }
  };
  const obs = new MutationObserver(recs => {
    const t = performance.now();
    for (const rec of recs) {
      const el = rec.target.nodeType === 1 ? rec.target : rec.target.parentElement;
      if (el && el.closest && el.closest(CHART)) { hl.chartAct = t; break; }
    }
    hl.check();
  });
  obs.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  hl.check();
  document.addEventListener('keydown', () => hl.keys.push(performance.now()), true);
  function topFields(buf) {
    const u = new Uint8Array(buf); const out = []; let i = 0;
    const varint = () => { let v = 0, m = 1, b; do { b = u[i++]; v += (b & 0x7f) * m; m *= 128; }
                            while ((b & 0x80) && i < u.length); return v; };
    while (i < u.length && out.length < 16) {
      const tag = varint(); const f = Math.floor(tag / 8), wt = tag %% 8;
      out.push(f);
      if (wt === 0) varint(); else if (wt === 1) i += 8; else if (wt === 2) { const len = varint(); i += len; }
      else if (wt === 5) i += 4; else break;
    }
    return out;
  }
  const NativeWS = window.WebSocket;
  if (NativeWS) {
    class TimedWebSocket extends NativeWS {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', ev => {
          const t = performance.now(); const d = ev.data; let n = 0, k = null;
          if (d instanceof ArrayBuffer) {
            n = d.byteLength;
            try { const fs = topFields(d).filter(f => f !== 1 && f !== 2); k = fs.length ? fs[0] : null; }
            catch (e) { k = null; }
          } else if (typeof d === 'string') n = d.length; else if (d && d.size !== undefined) n = d.size;
          hl.ws.push({t: t, n: n, k: k});
          hl.check();
        });
      }
    }
    window.WebSocket = TimedWebSocket;
  }
})();
""" % {"fin": SCRIPT_FINISHED_FIELD, "new": NEW_SESSION_FIELD}

# True once the app is done (see the module docstring) and has stayed so for a.settle ms,
# after a.since (0: the navigation; else the keydown that caused the rerun).
READY_JS = """
(a) => {
  const hl = window.__hl; if (!hl) return false;
  hl.check();
  const last = hl.log[hl.log.length - 1]; if (!last) return false;
  const now = performance.now();
  const since = a.key ? (hl.keys.length ? hl.keys[hl.keys.length - 1] : null) : 0;
  if (since === null) return false;
  const fin = hl.ws.some(m => m.t >= since && m.k === %(fin)d);
  if (!fin) {
    // Messages that cannot be decoded: any traffic and a long wait instead.
    if (!(hl.ws.some(m => m.t >= since) && now - since > a.noFinishGraceMs)) return false;
  }
  if (!hl.isDone(last)) return false;
  return now - Math.max(last.t, hl.chartAct, since) >= a.settle;
}
""" % {"fin": SCRIPT_FINISHED_FIELD}

# The figures of the window that starts at the navigation (key false) or the last keydown.
ANALYZE_JS = """
(a) => {
  const hl = window.__hl;
  const since = a.key ? hl.keys[hl.keys.length - 1] : 0;
  const log = hl.log.filter(s => s.t >= since);
  let tDone = null, prev = !!a.key;
  for (const s of log) { const d = hl.isDone(s); if (d && !prev) tDone = s.t; prev = d; }
  const ws = hl.ws.filter(m => m.t >= since);
  const fins = ws.filter(m => m.k === %(fin)d);
  const tFin = fins.length ? fins[fins.length - 1].t : null;
  const cands = [tDone, tFin].filter(x => x !== null);
  const tRender = cands.length ? Math.max(...cands) : null;
  const last = hl.log[hl.log.length - 1] || {};
  const alerts = [];
  for (const el of document.querySelectorAll("[data-testid='stAlert']")) {
    const kind = el.querySelector("[data-testid='stAlertContentError']") ? 'error'
               : el.querySelector("[data-testid='stAlertContentWarning']") ? 'warning'
               : el.querySelector("[data-testid='stAlertContentInfo']") ? 'info'
               : el.querySelector("[data-testid='stAlertContentSuccess']") ? 'success' : 'alert';
    alerts.push({kind: kind, text: (el.textContent || '').trim().slice(0, 240)});
  }
  const progress = [...document.querySelectorAll("[data-testid='stProgress']")]
      .map(e => (e.textContent || '').trim().slice(0, 160)).filter(Boolean);
  const exc = [...document.querySelectorAll("[data-testid='stException']")]
      .map(e => (e.textContent || '').trim().slice(0, 300));
  return {
    since_wall_ms: performance.timeOrigin + since,
    render_ms: tRender === null ? null : Math.round((tRender - since) * 10) / 10,
    render_wall_ms: tRender === null ? null : performance.timeOrigin + tRender,
    first_finish_ms: fins.length ? Math.round((fins[0].t - since) * 10) / 10 : null,
    script_runs: fins.length,
    ws_bytes: ws.reduce((s, m) => s + m.n, 0),
    charts: last.n, charts_drawn: last.r, pending: last.p,
    queued_seen: log.some(s => s.q) || (!a.key && hl.queuedEver),
    exceptions: exc.length, exception_texts: exc.slice(0, 3), alerts: alerts.slice(0, 12),
    progress: progress.slice(0, 3), script_state: last.st,
    done_now: last.conn !== undefined && hl.isDone(last),
  };
}
""" % {"fin": SCRIPT_FINISHED_FIELD}

def top_field(payload: bytes) -> int | None:
    """The first top-level protobuf field of a ForwardMsg other than hash (1) and metadata (2)."""
    i, n = 0, len(payload)

    def varint() -> int:
        nonlocal i
        v, shift = 0, 0
        while i < n:
            b = payload[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        return v

    for _ in range(16):
        if i >= n:
            return None
        tag = varint()
        field, wire = tag >> 3, tag & 7
        if field not in (1, 2):
            return field
        if wire == 0:
            varint()
        elif wire == 1:
            i += 8
        elif wire == 2:
            length = varint()  # (not "i += varint()": that reads i before varint moves it)
            i += length
        elif wire == 5:
            i += 4
        else:
            return None
    return None


class RunTracker:
    """Where a page's latest script run is on the server, read from its websocket frames as
    the browser process sees them (Playwright's websocket events come from the network
    layer, not from the page's own thread, so a busy or deprioritised renderer does not
    delay them): 'waiting' (no run started), 'running' (newSession came, its
    scriptFinished not yet) or 'finished'. Streamlit sends newSession at every run's start."""

    def __init__(self, page) -> None:
        self.started = self.finished = 0
        self.last = None
        page.on("websocket", self._on_ws)

    def _on_ws(self, ws) -> None:
        ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload) -> None:
        if not isinstance(payload, (bytes, bytearray)):
            return
        try:
            k = top_field(bytes(payload))
        except Exception:  # noqa: BLE001
            return
        if k == NEW_SESSION_FIELD:
            self.started += 1
            self.last = "running"
        elif k == SCRIPT_FINISHED_FIELD:
            self.finished += 1
            self.last = "finished"

    @property
    def state(self) -> str:
        return self.last or "waiting"

THUMB_SEL = ("[data-testid='stMain'] [data-testid='stSlider'] [role='slider'], "
             "[data-testid='stMain'] [data-testid='stSlider'] input[type='range']")


def kill_browsers() -> None:
    """SIGKILL every Chromium process this process started (by pid): for an emergency exit,
    when a graceful close could wait on a busy browser."""
    for root in browser_roots():
        for p in reversed(tree_of(root)):
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def launch_browser(playwright, chromium: str = CHROMIUM):
    kw = {"headless": True, "args": list(CHROMIUM_ARGS)}
    if chromium:
        kw["executable_path"] = chromium
    return playwright.chromium.launch(**kw)


_CDP: dict[int, object] = {}


def new_session(browser, viewport=(1280, 900)):
    """A fresh context (its own cookies, so its own Streamlit session) with the timing script,
    and Chromium's own per-page performance counters on (see main_thread_s)."""
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    ctx.add_init_script(INIT_JS)
    page = ctx.new_page()
    try:
        cdp = ctx.new_cdp_session(page)
        cdp.send("Performance.enable")
        _CDP[id(page)] = cdp
        page.on("close", lambda p: _CDP.pop(id(p), None))
    except Exception:  # noqa: BLE001 (not Chromium: no counters)
        pass
    return ctx, page


def main_thread_s(page) -> float | None:
    """Seconds the page's main thread has spent on tasks (script, style, layout, paint)
    since the page was opened: Chromium's TaskDuration counter."""
    cdp = _CDP.get(id(page))
    if cdp is None:
        return None
    try:
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return float(metrics.get("TaskDuration"))
    except Exception:  # noqa: BLE001
        return None


def wait_ready(page, timeout_s: float, settle_ms: int = 800, key: bool = False) -> None:
    page.wait_for_function(READY_JS, arg={"key": key, "settle": settle_ms, "noFinishGraceMs": 10_000},
                           polling=100, timeout=max(1.0, timeout_s) * 1000)


def analyze(page, key: bool = False) -> dict:
    return page.evaluate(ANALYZE_JS, {"key": key})


def open_page(page, url: str, timeout_s: float, settle_ms: int = 1000) -> dict:
    """Navigate and wait until rendered. Returns analyze()'s figures plus ok/timeout/error;
    render_ms counts from the navigation's start."""
    t0 = time.perf_counter()
    out: dict = {"ok": False, "timeout": False, "error": None}
    try:
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        wait_ready(page, timeout_s - (time.perf_counter() - t0), settle_ms)
        out["ok"] = True
    except Exception as e:  # noqa: BLE001 (a report, not a crash)
        name = type(e).__name__
        out["timeout"] = "Timeout" in name
        out["error"] = f"{name}: {(str(e).splitlines() or [''])[0][:200]}"
    try:
        out.update(analyze(page))
    except Exception as e:  # noqa: BLE001
        out.setdefault("analyze_error", str(e)[:200])
    out["wall_s"] = round(time.perf_counter() - t0, 2)
    return out


def slider_step(page, timeout_s: float, settle_ms: int = 300, direction: str = "right") -> dict:
    """Focus the first slider thumb of the main area, press ArrowRight (or ArrowLeft), wait
    for the rerun; render_ms counts from the keydown."""
    thumb = page.locator(THUMB_SEL).first
    thumb.focus()
    info = thumb.evaluate("""el => ({label: el.getAttribute('aria-label') || el.getAttribute('aria-valuetext'),
        now: el.getAttribute('aria-valuenow') ?? el.value, max: el.getAttribute('aria-valuemax') ?? el.max,
        min: el.getAttribute('aria-valuemin') ?? el.min})""")
    key = "ArrowRight" if direction == "right" else "ArrowLeft"
    try:
        if key == "ArrowRight" and float(info["now"]) >= float(info["max"]):
            key = "ArrowLeft"
        elif key == "ArrowLeft" and float(info["now"]) <= float(info["min"]):
            key = "ArrowRight"
    except (TypeError, ValueError):
        pass
    out: dict = {"ok": False, "key": key, "label": info.get("label"), "value_before": info.get("now")}
    try:
        page.keyboard.press(key)
        wait_ready(page, timeout_s, settle_ms, key=True)
        out["ok"] = True
    except Exception as e:  # noqa: BLE001
        out["error"] = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}"
    out.update(analyze(page, key=True))
    return out
