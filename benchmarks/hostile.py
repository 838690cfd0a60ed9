"""Hostile and heavy use: the heaviest request each page accepts, the worst formula, and an
interactive student next to five heavy ones, on one local server.

    .venv/bin/python benchmarks/hostile.py [--only heavy,formulas,load] [--rounds 15]
                                           [--timeout 300] [--port N] [--keep-cache]
                                           [--browsers 2] [--heavy-nice 10] [--json-out FILE]
                                           [--dry-run]

Starts `streamlit run app.py` on a loopback port (its JAX compilation cache in a fresh
temporary folder unless --keep-cache), samples the server's resident memory every 50 ms
for the whole run (its child processes included, if any), drives Debian's headless
Chromium through Playwright, and prints:

1. heavy: for each page, the heaviest deep link it accepts (every cap read from the page's
   experiments.<page>.Settings.schema(): the largest step count, grid side, data size and
   network, every optimizer; module constants such as optimizers.MAX_STEPS only for a page
   without Settings yet; a note for any value the page would clamp or ignore), and
   Curvature links with the worst formulas (from benchmarks/adversarial_formulas.py when
   it offers them, else a fixed list; formulas the app refuses show an error box and are
   skipped): time from navigation to rendered (script finished, every Plotly chart drawn,
   no "Queued" notice), the server's peak memory meanwhile, exceptions, error boxes and
   any URL value the page ignored or clamped. Each request has --timeout.
2. formulas: runs benchmarks/adversarial_formulas.py (its short mode if it has one) and
   prints its summary, or says it is missing.
3. load: one session on the default Playground moves a learning-rate slider --rounds times
   alone (idle), then again while five sessions open the heaviest Classifier (2), Sweeps
   basins (2) and Sweeps race (1) links (more steps, up to 3x, if too few of them fell
   while heavy page runs were going on on the server); prints the reruns' median and p95
   under load against idle, and how busy the server and the browsers were. By default
   the five heavy sessions run in a second Chromium, deprioritised once their page runs
   have started, since their drawing would otherwise compete with the server for the
   same cores (--browsers 1: all six in one Chromium).
4. memory: the server's resident memory after start-up and after the warm-up, and its peak
   over the whole run (sampled, and the kernel's VmHWM).

Then a short summary and a JSON summary (also to --json-out). The server and the browsers
are always stopped, on errors, Ctrl-C and SIGTERM too. Nothing but 127.0.0.1 is contacted.
--dry-run prints the requests parts 1 and 3 would send, and any note about them, then
exits (no server, no browser). Shared helpers: benchmarks/browser_util.py.
"""
from __future__ import annotations

import argparse
import atexit
import importlib
import importlib.util
import inspect
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import browser_util as bu  # noqa: E402

ADVERSARIAL = HERE / "adversarial_formulas.py"
MEDIAN_TARGET = 2.0  # interactive rerun median under load: at most this many times idle
MEMORY_TARGET_MB = 690.0
PARTS = ("heavy", "formulas", "load")


def say(msg: str = "") -> None:
    print(msg, flush=True)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def secs(ms: float | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.2f} s"


# ---------------------------------------------------------------------------------------
# What the pages accept: each page's experiments.<page>.Settings.schema()

# Curvature's multiples of 2/λ_max, used only while experiments.curvature has no Settings
# (its Settings offers them as the choices of "mult"; the heaviest request takes them all).
CURVATURE_MULTIPLES = ("0.25", "0.5", "0.75", "0.9", "0.95", "0.99", "1.01", "1.05", "1.1", "1.25", "1.5", "2")


class Limits:
    """Every page's URL fields (kind, default, low, high, choices), read from its
    ``experiments.<page>.Settings.schema()``: what the page accepts is what its Settings
    declares. A page whose module has no Settings (yet) falls back to module constants
    such as optimizers.MAX_STEPS, and says so once."""

    MODULES = {"Playground": "experiments.playground", "Curvature": "experiments.curvature",
               "Sweeps": "experiments.sweeps", "Classifier": "experiments.classifier"}

    def __init__(self) -> None:
        self.settings: dict[str, type] = {}
        self.fields: dict[str, dict] = {}  # page -> URL key -> experiments.schema.Field
        self.problems: list[str] = []
        for page, name in self.MODULES.items():
            try:
                module = importlib.import_module(name)
            except Exception as e:  # noqa: BLE001 (missing or mid-edit: the module constants stand in)
                self.problems.append(f"{page}: {name} did not import ({type(e).__name__}: {e}): module constants used")
                continue
            settings = getattr(module, "Settings", None)
            if settings is None or not callable(getattr(settings, "schema", None)):
                self.problems.append(f"{page}: {name} has no Settings yet: module constants used")
                continue
            self.settings[page] = settings
            self.fields[page] = {f.key: f for f in settings.schema()}

    def get(self, page: str, key: str, what: str, fallback):
        """A field's ``what`` (low, high, choices, default), or ``fallback`` if the page has
        no Settings or the field does not give it."""
        fields = self.fields.get(page)
        if fields is None:
            return fallback  # noted once in __init__
        field = fields.get(key)
        if field is None:
            self.problems.append(f"{page}: no setting '{key}' in its Settings (used {fallback!r} anyway)")
            return fallback
        v = getattr(field, what)
        if v is None or v == ():
            return fallback
        if fallback is not None and v != fallback and not isinstance(fallback, (tuple, list)):
            # The Settings are what the page accepts; note where they differ from the module constant.
            self.problems.append(f"{page}: '{key}' {what} is {v!r} in its Settings, {fallback!r} in the module")
        return v

    def check(self, page: str, label: str, query: dict) -> None:
        """Notes what the page would say about a request (a value ignored or clamped, a key
        it does not know): a heavy request must be taken exactly as written."""
        settings = self.settings.get(page)
        if settings is None:
            return
        _, notices = settings.from_query({k: str(v) for k, v in query.items()})
        for n in notices:
            self.problems.append(f"{page} ({label}): the page would say {n.key} {dict(n.params)}")


def url_of(base: str, page: str, query: dict) -> str:
    return f"{base}/{page}?" + urllib.parse.urlencode(query, safe=",.()*")


def heavy_requests(limits: Limits, formulas: list[tuple[str, str]]) -> list[dict]:
    """(page, label, query) of the heaviest request each page accepts."""
    import classifier.datasets as datasets
    import classifier.model as mlp
    import classifier.train as train
    import optimizers
    from optimizers import sweeps

    names = list(optimizers.names())

    def high(page, key, fallback):
        v = limits.get(page, key, "high", fallback)
        return int(v) if isinstance(v, float) and v.is_integer() else v

    def choices(page, key, fallback):
        v = limits.get(page, key, "choices", tuple(fallback))
        return list(v) if v else list(fallback)

    def low(page, key, fallback):
        return limits.get(page, key, "low", fallback)

    # Heaviest optimizers: the most hyperparameters to sweep, then the most hyperparameters.
    by_weight = sorted(names, key=lambda k: (-len(sweeps.sweepable(k)), -len(optimizers.REGISTRY[k].hyperparams),
                                             names.index(k)))
    sweep_opt = by_weight[0]
    second = [h.name for h in sweeps.sweepable(sweep_opt)]
    steps = optimizers.MAX_STEPS
    out = [
        {"page": "Playground", "label": "all optimizers, max steps, noise, 3-D", "query": {
            "opts": ",".join(choices("Playground", "opts", names)),
            "steps": high("Playground", "steps", steps),
            "noise": 1.0, "show3d": 1}},
    ]
    curv = {"gdsteps": high("Curvature", "gdsteps", steps),
            "newton": high("Curvature", "newton", 30),
            "mult": ",".join(choices("Curvature", "mult", CURVATURE_MULTIPLES))}
    out.append({"page": "Curvature", "label": "max GD steps, Newton steps, every multiple of 2/λ", "query": curv})
    for i, (expr, origin) in enumerate(formulas):
        out.append({"page": "Curvature", "label": f"formula {i + 1} ({origin}): "
                                                  f"{expr if len(expr) <= 50 else expr[:47] + '...'}",
                    "formula": expr, "origin": origin, "query": {"surface": "custom", "expr": expr, **curv}})
    out += [
        {"page": "Sweeps", "label": f"sweep {sweep_opt} η × {second[0] if second else 'none'}, max grid and steps",
         "query": {"view": "sweep", "steps": high("Sweeps", "steps", steps), "sw.opt": sweep_opt,
                   "sw.h2": second[0] if second else "none",
                   "sw.nlr": high("Sweeps", "sw.nlr", sweeps.MAX_SWEEP_SIDE),
                   "sw.nh2": high("Sweeps", "sw.nh2", sweeps.MAX_SWEEP_SIDE)}},
        {"page": "Sweeps", "label": f"basins {by_weight[0]} vs {by_weight[1]}, max grid and steps",
         "query": {"view": "basins", "steps": high("Sweeps", "steps", steps), "bs.a": by_weight[0],
                   "bs.b": by_weight[1], "bs.n": high("Sweeps", "bs.n", sweeps.MAX_BASIN_SIDE)}},
        {"page": "Sweeps", "label": "fair race, every optimizer, max rates and steps",
         "query": {"view": "race", "steps": high("Sweeps", "steps", steps),
                   "race.opts": ",".join(choices("Sweeps", "race.opts", names)),
                   "race.nlr": high("Sweeps", "race.nlr", sweeps.MAX_RACE_RATES)}},
        {"page": "Classifier", "label": "max data and network, SGD, every optimizer, sharpness, gradient check",
         "query": {"c.points": high("Classifier", "c.points", datasets.MAX_POINTS),
                   "c.test": low("Classifier", "c.test", 0.1),
                   "c.layers": high("Classifier", "c.layers", mlp.MAX_HIDDEN_LAYERS),
                   "c.width": high("Classifier", "c.width", mlp.MAX_WIDTH),
                   "c.act": "relu", "c.init": "he", "c.batch": "sgd",
                   "c.epochs": high("Classifier", "c.epochs", train.MAX_EPOCHS),
                   "c.compare": 1, "c.opts": ",".join(choices("Classifier", "c.opts", names)),
                   "c.sharp": 1, "c.gc": 1}},
        {"page": "Classifier", "label": "accuracy against depth (16 networks), max data and width, SGD",
         "query": {"c.points": high("Classifier", "c.points", datasets.MAX_POINTS),
                   "c.test": low("Classifier", "c.test", 0.1),
                   "c.width": high("Classifier", "c.width", mlp.MAX_WIDTH),
                   "c.batch": "sgd", "c.epochs": high("Classifier", "c.epochs", train.MAX_EPOCHS), "c.depth": 1}},
    ]
    for r in out:
        limits.check(r["page"], r["label"], r["query"])
    return out


def load_requests(limits: Limits) -> list[tuple[str, dict]]:
    """(page, query) of the five heavy sessions of part 3: the heaviest Classifier (2),
    Sweeps basins (2) and Sweeps race (1). Each is a different student: the same cost, but
    nothing another session (or part 1) has already computed and the app could share (the
    Classifier's data seed; the basin maps' learning rate, a hair apart; the race's
    tolerance)."""
    by_page = {}
    for r in heavy_requests(limits, []):
        by_page.setdefault((r["page"], r["query"].get("view")), r)
    cls, basins, race = by_page[("Classifier", None)], by_page[("Sweeps", "basins")], by_page[("Sweeps", "race")]
    lr_key = f"{basins['query']['bs.a']}.learning_rate"
    lr0 = limits.get("Sweeps", lr_key, "default", None)
    if lr0 is None:
        import optimizers

        lr0 = optimizers.REGISTRY[basins["query"]["bs.a"]].hyperparam("learning_rate").default
    mix = [
        (cls, {"c.seed": 101}), (cls, {"c.seed": 102}),
        (basins, {lr_key: f"{lr0 * 1.001:.6g}"}), (basins, {lr_key: f"{lr0 * 1.002:.6g}"}),
        (race, {"tol": 0.0011}),
    ]
    out = [(r["page"], {**r["query"], **extra}) for r, extra in mix]
    for page, query in out:
        limits.check(page, "load session", query)
    return out


# ---------------------------------------------------------------------------------------
# benchmarks/adversarial_formulas.py (written separately): its formulas and its summary

def _deepest_mix() -> str:
    """sin(x+cos(y+ ... x*y)) as deep as the parser accepts (its paren, tree-depth and
    length limits), mixing x and y at every level."""
    best = "sin(x+cos(y+x*y))"
    for reps in range(1, 60):
        expr = "sin(x+cos(y+" * reps + "x*y" + "))" * reps
        if parse_check(expr) is not None:
            break
        best = expr
    return best


def _tallest_tower() -> str:
    """x^y^x^y^... with as many operands as the app accepts (its tree-depth limit, and any
    cost budget it checks when it builds the surface)."""
    best = "x^y"
    for n in range(3, 400):
        expr = "^".join(["x", "y"] * (n // 2) + ["x"] * (n % 2))
        if parse_check(expr) is not None:
            break
        best = expr
    return best


def _widest_sum(limit: int = 500) -> str:
    """As many transcendental terms of both variables as the app accepts (length limit)."""
    terms = ["sin(x*y)*exp(-x^2)", "cos(x-y)*tanh(x*y)", "log(1+x^2+y^2)*arctan(x/(1+y^2))",
             "sqrt(1+x^4)*cosh(y/3)"]
    exprs = [terms[0]]
    i = 1
    while len(exprs[-1]) + 1 + len(terms[i % len(terms)]) <= limit:
        exprs.append(exprs[-1] + "+" + terms[i % len(terms)])
        i += 1
    for expr in reversed(exprs):  # the longest the app takes (it checks more than the raw length)
        if parse_check(expr) is None:
            return expr
    return exprs[-1]


def fallback_formulas() -> list[tuple[str, str]]:
    """(formula, what it is): a fixed list, the last three sized to what the app accepts."""
    try:
        from surfaces.expression import MAX_LENGTH
    except ImportError:
        MAX_LENGTH = 500
    return [
        ("^".join(["x", "y"] * 10), "power tower, 10 pairs"),
        ("sin(" * 20 + "x*y" + ")" * 20, "sin nested 20 deep"),
        (_tallest_tower(), "the tallest power tower accepted"),
        (_deepest_mix(), "the deepest sin/cos nest accepted"),
        (_widest_sum(MAX_LENGTH), "the longest sum of transcendental terms accepted"),
    ]


def _load_adversarial():
    spec = importlib.util.spec_from_file_location("adversarial_formulas", ADVERSARIAL)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    return mod


def _as_formulas(obj) -> list[str]:
    """Strings that look like formulas in whatever the generator returned."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        for k in ("expr", "expression", "formula", "text", "worst"):
            if isinstance(obj.get(k), str):
                return [obj[k]]
        return []
    out: list[str] = []
    if hasattr(obj, "__iter__"):
        for item in list(obj)[:50]:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, (tuple, list)):
                out += [s for s in item if isinstance(s, str) and re.search(r"[xy]", s)][:1]
            elif isinstance(item, dict):
                out += _as_formulas(item)
            else:
                for k in ("expr", "expression", "formula", "text"):
                    if isinstance(getattr(item, k, None), str):
                        out.append(getattr(item, k))
                        break
    return out


def _from_families(mod, limit: int) -> list[tuple[str, str]]:
    """adversarial_formulas.FAMILIES (size n -> formula) with its largest(family, accept):
    each family's largest member the app accepts (parser and cost budget, through
    surfaces.from_expression), the costliest `limit` of them by the module's cost_of."""
    largest, cost_of = getattr(mod, "largest"), getattr(mod, "cost_of", None)
    picks = []
    for name, family in mod.FAMILIES.items():
        try:
            best = largest(family, lambda t: parse_check(t) is None)
        except Exception:  # noqa: BLE001 (a family that fails here is skipped)
            continue
        if best:
            text = best[1]
            try:
                cost = cost_of(text) if callable(cost_of) else len(text)
            except Exception:  # noqa: BLE001
                cost = len(text)
            picks.append((cost, name, best[0], text))
    picks.sort(key=lambda p: -p[0])
    chosen = picks[:limit]
    # The power tower x^y^x^y... is the family the cost model was made for: always in.
    tower = [p for p in picks if "power tower" in p[1]][:1]
    if tower and tower[0] not in chosen:
        chosen = chosen[:-1] + tower
    return [(text, f"{name}, n={n}, cost {cost}") for cost, name, n, text in chosen]


def adversarial_formulas(limit: int = 4, wait_s: float = 120.0) -> tuple[list[tuple[str, str]], str]:
    """The generator's worst formulas, as (formula, what it is), if it offers them (a
    FAMILIES table, or a function or list of formulas), else the fixed list; and a note
    saying which."""
    if not ADVERSARIAL.exists():
        return fallback_formulas(), "benchmarks/adversarial_formulas.py is missing: a fixed list of candidates"
    try:
        mod = _load_adversarial()
    except Exception as e:  # noqa: BLE001
        return fallback_formulas(), f"adversarial_formulas.py did not import ({type(e).__name__}: {e}): the fixed list"
    if isinstance(getattr(mod, "FAMILIES", None), dict) and callable(getattr(mod, "largest", None)):
        found = _from_families(mod, limit)
        if found:
            return found, (f"from adversarial_formulas.FAMILIES: each family's largest member the app accepts, "
                           f"the {len(found)} costliest of {len(mod.FAMILIES)} families")
    for name in ("worst_formulas", "worst_formula", "heaviest_formulas", "heaviest_formula", "worst",
                 "candidates", "formulas", "generate_formulas", "generate", "adversarial_formulas",
                 "WORST", "WORST_FORMULAS", "FORMULAS", "CANDIDATES"):
        obj = getattr(mod, name, None)
        if obj is None:
            continue
        if callable(obj):
            try:
                sig = inspect.signature(obj)
                if any(p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                                            p.KEYWORD_ONLY)
                       for p in sig.parameters.values()):
                    continue
            except (TypeError, ValueError):
                continue
            box: dict = {}
            th = threading.Thread(target=lambda: box.update(v=obj()), daemon=True)
            th.start()
            th.join(wait_s)
            if "v" not in box:
                continue
            obj = box["v"]
        found = [f for f in _as_formulas(obj) if f.strip()]
        if found:
            return [(f, f"adversarial_formulas.{name}") for f in found[:limit]], f"from adversarial_formulas.{name}"
    return fallback_formulas(), "adversarial_formulas.py offers no formula table, function or list: the fixed list"


def parse_check(expr: str) -> str | None:
    """The parser's refusal, or None if the app accepts the formula."""
    try:
        import surfaces

        surfaces.from_expression(expr)
        return None
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"


def summary_of(stdout: str) -> str:
    """The summary block of a benchmark's output: the first line that starts with
    slowest/worst/summary/maximum and its indented continuation lines, plus a "refused"
    line if there is one; else its last two lines."""
    lines = [ln.rstrip() for ln in stdout.splitlines() if ln.strip()]
    for i, ln in enumerate(lines):
        if re.match(r"\s*(slowest|worst|summary|max(imum)?)\b", ln, re.I):
            block = [ln.strip()]
            for nxt in lines[i + 1:]:
                if not nxt.startswith((" ", "\t")):
                    break
                block.append(nxt.strip())
            block += [x.strip() for x in lines if re.match(r"\s*refused\b", x, re.I)][:1]
            return "\n".join(block)
    return "\n".join(lines[-2:]) or "(no output)"


def run_adversarial_script(timeout_s: float, extra_args: list[str]) -> dict:
    if not ADVERSARIAL.exists():
        return {"present": False, "summary": "benchmarks/adversarial_formulas.py is missing"}
    py = sys.executable
    res: dict = {"present": True}
    try:
        helptext = subprocess.run([py, str(ADVERSARIAL), "--help"], cwd=ROOT, capture_output=True, text=True,
                                  timeout=120).stdout
    except Exception as e:  # noqa: BLE001
        helptext = ""
        res["help_error"] = str(e)[:200]
    flags = [f for f in ("--quick", "--short", "--smoke", "--fast", "--brief") if re.search(rf"{f}\b", helptext)]
    cmd = [py, str(ADVERSARIAL), *flags[:1], *extra_args]
    res["command"] = " ".join(["python", "benchmarks/adversarial_formulas.py", *cmd[2:]])
    res["short_flag"] = flags[0] if flags else None
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL)
        res["exit_code"] = proc.returncode
        res["summary"] = summary_of(proc.stdout)[:1200]
        res["output_tail"] = "\n".join(proc.stdout.splitlines()[-40:])
        if proc.returncode != 0:
            res["stderr_tail"] = "\n".join(proc.stderr.splitlines()[-5:])[:800]
    except subprocess.TimeoutExpired:
        res["summary"] = f"timed out after {timeout_s:.0f} s"
        res["timeout"] = True
    res["seconds"] = round(time.perf_counter() - t0, 1)
    return res


def first_traceback(log: str, lines: int = 14) -> str:
    """The first traceback of a log: its first lines and its last (the error)."""
    i = log.find("Traceback (most recent call last)")
    if i < 0:
        return ""
    tb = log[i:].splitlines()
    end = next((k for k, ln in enumerate(tb[1:], 1) if ln and not ln.startswith(" ")), len(tb) - 1)
    block = tb[:end + 1]
    if len(block) > lines:
        block = block[:4] + ["  ..."] + block[-(lines - 5):]
    return "\n".join("  " + ln for ln in block)


# ---------------------------------------------------------------------------------------
# The run


class Run:
    def __init__(self, args) -> None:
        self.args = args
        self.server: bu.Server | None = None
        self.sampler: bu.MemorySampler | None = None
        self.report: dict = {"machine": {"cpus": os.cpu_count()}, "parts": args.only}
        self._stopping = False

    # -- server ------------------------------------------------------------------------
    def start_server(self) -> None:
        self.server = bu.Server(port=self.args.port, keep_cache=self.args.keep_cache)
        atexit.register(self.stop_server)
        say(f"starting: {' '.join(self.server.cmd)}  (cwd {ROOT}; JAX cache "
            f"{'kept (~/.cache/descent-lab or $DESCENT_LAB_CACHE)' if self.args.keep_cache else 'in a fresh temp dir'})")
        def sample(pid: int) -> None:
            self.sampler = bu.MemorySampler(pid, period=0.05)
            self.sampler.start()

        t = self.server.start(timeout=120, on_spawn=sample)
        time.sleep(0.3)
        base = bu.tree_mb(self.server.pid)
        self.report["server"] = {"url": self.server.base_url, "pid": self.server.pid, "healthy_after_s": round(t, 2)}
        self.report["memory"] = {"after_start_mb": round(base, 1)}
        say(f"server pid {self.server.pid} healthy after {t:.1f} s on {self.server.base_url}; "
            f"resident {base:.0f} MB")

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.stop()

    def emergency_stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        say("stopping: the server, then the browsers")
        self.stop_server()
        bu.kill_browsers()

    def server_alive(self) -> bool:
        return self.server is not None and self.server.proc is not None and self.server.proc.poll() is None

    def server_pids(self) -> list[int]:
        return [self.server.pid, *bu.children_of(self.server.pid)] if self.server_alive() else []

    def quiet(self, limit_s: float = 60.0, busy: float = 0.25) -> float:
        """Wait (at most limit_s) until the server uses under `busy` of a core over a second,
        so one measurement's leftovers (a compile still running, the warm-up) do not land in
        the next one. Returns the seconds waited."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < limit_s and self.server_alive():
            c0 = bu.cpu_seconds(self.server_pids())
            time.sleep(1.0)
            if bu.cpu_seconds(self.server_pids()) - c0 < busy:
                break
        waited = time.perf_counter() - t0
        if waited >= limit_s:
            say(f"  (the server was still busy after {limit_s:.0f} s; going on)")
        return waited

    def warm_up(self, browser) -> None:
        """The first visit (cold) and the baseline once the background warm-up has settled."""
        ctx, page = bu.new_session(browser)
        try:
            r = bu.open_page(page, self.server.base_url + "/Playground", self.args.timeout)
        finally:
            ctx.close()
        self.report["first_render_s"] = None if r.get("render_ms") is None else round(r["render_ms"] / 1000, 2)
        say(f"first visit, /Playground with a cold server: {secs(r.get('render_ms'))}"
            + ("" if r["ok"] else f"  [{r.get('error')}]"))
        # The app compiles the other pages' defaults in the background after the first page
        # run: the baseline is taken once resident memory has stopped growing.
        t0 = time.perf_counter()
        prev = bu.tree_mb(self.server.pid)
        while time.perf_counter() - t0 < self.args.settle_max:
            time.sleep(5)
            now = bu.tree_mb(self.server.pid)
            if abs(now - prev) < 2:
                break
            prev = now
        self.quiet(30)
        base = bu.tree_mb(self.server.pid)
        self.report["memory"]["after_warmup_mb"] = round(base, 1)
        say(f"baseline after the warm-up settled ({time.perf_counter() - t0:.0f} s): {base:.0f} MB resident")

    # -- 1. heavy requests ---------------------------------------------------------------
    def heavy(self, browser, formulas: list[tuple[str, str]], note: str) -> None:
        say("")
        say("== 1. The heaviest request on each page (navigation -> rendered; server peak memory meanwhile)")
        limits = Limits()
        reqs = heavy_requests(limits, formulas)
        for p in limits.problems:
            say(f"  note: {p}")
        say(f"  worst formulas: {note}")
        results = []
        for req in reqs:
            url = url_of(self.server.base_url, req["page"], req["query"])
            entry = {"page": req["page"], "label": req["label"], "url": url}
            if "formula" in req:
                refusal = parse_check(req["formula"])
                entry["formula"], entry["origin"] = req["formula"], req["origin"]
                entry["parser"] = "accepted" if refusal is None else f"refused: {refusal}"
            self.quiet(120)
            if not self.server_alive():
                entry["error"] = "the server is gone"
                results.append(entry)
                break
            mark = self.sampler.mark()
            before = bu.tree_mb(self.server.pid)
            c0 = bu.cpu_seconds(self.server_pids())
            ctx, page = bu.new_session(browser)
            try:
                r = bu.open_page(page, url, self.args.timeout, settle_ms=1500)
            finally:
                ctx.close()
            entry.update({k: r.get(k) for k in ("ok", "timeout", "error", "render_ms", "charts", "charts_drawn",
                                                "exceptions", "exception_texts", "queued_seen", "script_runs",
                                                "ws_bytes", "alerts", "progress", "script_state")})
            entry["server_cpu_s"] = round(bu.cpu_seconds(self.server_pids()) - c0, 1)
            entry["rss_before_mb"] = round(before, 1)
            entry["rss_peak_mb"] = round(self.sampler.peak_since(mark), 1)
            results.append(entry)
            self._print_heavy(entry)
        self.report["heavy"] = results
        # The slowest formula the app accepts (parser and page) is "the worst formula".
        forms = [e for e in results if "formula" in e]
        accepted = [e for e in forms if e.get("parser") == "accepted" and (e.get("render_ms") or e.get("timeout"))
                    and not any("cannot be used" in a["text"] for a in e.get("alerts") or [])]
        for e in forms:
            if e not in accepted:
                say(f"  skipped, refused by the app ({(e.get('parser') or 'error box')[:100]}): {e['formula'][:70]}")
        if accepted:
            worst = max(accepted, key=lambda e: float("inf") if e.get("timeout") else e["render_ms"])
            self.report["worst_formula"] = {"formula": worst["formula"], "origin": worst.get("origin"),
                                            "render_ms": worst.get("render_ms"),
                                            "timeout": bool(worst.get("timeout")), "url": worst["url"],
                                            "rss_peak_mb": worst["rss_peak_mb"]}
            took = f"TIMEOUT after {self.args.timeout:.0f} s" if worst.get("timeout") else secs(worst["render_ms"])
            say(f"  worst accepted formula: {took}, server peak {worst['rss_peak_mb']:.0f} MB: {worst['formula'][:80]}")
        elif forms:
            say("  no formula was accepted: the app refused them all (an error box)")

    def _print_heavy(self, e: dict) -> None:
        say(f"  {e['page']}: {e['label']}")
        say(f"    {e['url']}")
        if e.get("parser"):
            say(f"    parser: {e['parser'][:160]}")
        if e.get("timeout"):
            status = f"TIMEOUT after {self.args.timeout:.0f} s (script {e.get('script_state')}"
            status += f", progress: {'; '.join(e['progress'])})" if e.get("progress") else ")"
        elif not e.get("ok"):
            status = f"FAILED ({e.get('error')})"
        else:
            status = f"rendered in {secs(e.get('render_ms'))}"
        say(f"    {status}; {e.get('charts_drawn')}/{e.get('charts')} charts drawn; exceptions shown: "
            f"{e.get('exceptions')}; script runs: {e.get('script_runs')}; server CPU {e['server_cpu_s']} s; "
            f"server memory {e['rss_before_mb']:.0f} -> peak {e['rss_peak_mb']:.0f} MB"
            + ("; was queued" if e.get("queued_seen") else ""))
        for t in e.get("exception_texts") or []:
            say(f"    EXCEPTION: {t[:200]}")
        for a in e.get("alerts") or []:
            text = a["text"]
            # The page's URL notices (catalog/en/url.toml): a value ignored, clamped or passed over.
            flag = "URL VALUE NOT TAKEN AS WRITTEN: " if "URL parameter" in text else ""
            if a["kind"] in ("error", "warning") or flag:
                say(f"    {flag}{a['kind']}: {text[:200]}")

    # -- 2. the adversarial-formula script -----------------------------------------------
    def formulas(self) -> None:
        say("")
        say("== 2. The adversarial-formula maximum (benchmarks/adversarial_formulas.py)")
        res = run_adversarial_script(self.args.formulas_timeout, self.args.formulas_args.split())
        self.report["formulas"] = res
        if not res["present"]:
            say(f"  {res['summary']}")
            return
        say(f"  ran: {res.get('command')} ({res.get('seconds')} s, exit {res.get('exit_code', '—')}"
            + ("" if res.get("short_flag") else "; it has no short-run flag, so its default run") + ")")
        say("  summary: " + res["summary"].replace("\n", "\n           "))
        if res.get("stderr_tail"):
            say("  stderr: " + res["stderr_tail"].replace("\n", "\n          "))

    # -- 3. five heavy + one interactive ---------------------------------------------------
    def load(self, browser, playwright) -> None:
        say("")
        say("== 3. Five heavy sessions and one interactive one (Playground, learning-rate slider)")
        a = self.args
        limits = Limits()
        heavy_urls = [url_of(self.server.base_url, page, query) for page, query in load_requests(limits)]
        for p in dict.fromkeys(limits.problems):
            say(f"  note: {p}")
        # The browser runs on the server's cores. A heavy page that waits or trains keeps its
        # renderer busy (the app redraws its progress several times a second), and Linux
        # shares the CPU between autogroups (each browser is one, the server another) before
        # nice values count. So by default the five heavy sessions get a Chromium of their
        # own whose autogroup is niced: their drawing takes only CPU nobody else wants, as if
        # they were on the students' own laptops; the interactive session's Chromium and the
        # server keep normal priority.
        roots_before = bu.browser_roots()
        heavy_browser, how, nice_error = browser, "", None
        if a.browsers == 2:
            heavy_browser = bu.launch_browser(playwright, a.chromium)
            heavy_roots = bu.browser_roots() - roots_before
            how = (f"two Chromium processes: the interactive session in one (normal priority), the 5 heavy sessions "
                   f"as 5 contexts of another" + (f" whose autogroup is set to nice {a.heavy_nice} once their page "
                                                  f"runs have started" if a.heavy_nice else " at normal priority"))
        else:
            how = "one Chromium process, 6 contexts, all at normal priority"
            heavy_roots = set()
        say(f"  run as: {how}; 1280x900 viewports; on the same {os.cpu_count()} cores as the server")

        ctx_i, page_i = bu.new_session(browser)
        contexts = [ctx_i]
        try:
            r = bu.open_page(page_i, self.server.base_url + "/Playground", a.timeout)
            for t in r.get("exception_texts") or []:
                say(f"  EXCEPTION on the interactive session's Playground: {t[:200]}")
            if not r["ok"]:
                say(f"  the interactive session's Playground did not render: {r.get('error')}")
                self.report["load"] = {"error": r.get("error"), "exceptions": r.get("exception_texts")}
                return
            if page_i.locator(bu.THUMB_SEL).count() == 0:
                say("  no slider in the Playground's main area: nothing to move")
                self.report["load"] = {"error": "no slider", "exceptions": r.get("exception_texts")}
                return
            # Idle: the server has nothing else to do (a timed-out heavy request of part 1 may
            # still be computing until its session expires).
            self.quiet(180)
            idle = self._rounds(page_i, "idle")
            # Under load: five heavy sessions start, then the same steps again.
            self.quiet(60)
            heavy_pids = lambda: [q for r in heavy_roots for q in bu.tree_of(r)]  # noqa: E731
            c_server, c_browser = bu.cpu_seconds(self.server_pids()), bu.cpu_seconds(bu.browser_pids())
            c_heavy_browser = bu.cpu_seconds(heavy_pids())
            main_i = bu.main_thread_s(page_i)
            rss_before = bu.tree_mb(self.server.pid)
            mark = self.sampler.mark()
            t_load = time.perf_counter()
            heavy_pages, trackers = [], []
            for url in heavy_urls:
                ctx, page = bu.new_session(heavy_browser)
                contexts.append(ctx)
                trackers.append(bu.RunTracker(page))
                page.goto(url, wait_until="commit", timeout=a.timeout * 1000)
                heavy_pages.append((url, page, time.perf_counter()))
            # Every heavy session loads the app and starts its page run at normal priority; once
            # all have (checked before each step), their Chromium is deprioritised. The steps
            # start at once: the burst of five page runs starting is part of the load.
            state = {"reniced": not (heavy_roots and a.heavy_nice), "started": 0, "start_s": None, "error": None}

            def heavy_state() -> tuple[int, int, list]:
                """How many heavy page runs are going on on the server now, and how many have
                not finished (or not started); deprioritises the heavy sessions' Chromium
                once all have started."""
                states = [t.state for t in trackers]
                started = sum(1 for x in states if x in ("running", "finished"))
                state["started"] = max(state["started"], started)
                state["max_running"] = max(state.get("max_running", 0), states.count("running"))
                if not state["reniced"] and (started == len(heavy_pages) or time.perf_counter() - t_load >= 90):
                    renice(started)
                return states.count("running"), sum(1 for x in states if x != "finished"), states

            def renice(started: int) -> None:
                state["reniced"], state["start_s"] = True, round(time.perf_counter() - t_load, 1)
                errors = [e for e in (bu.set_autogroup_nice(r, a.heavy_nice) for r in heavy_roots) if e]
                state["error"] = errors[0] if errors else None
                say(f"  the heavy sessions' Chromium " + (f"reniced to {a.heavy_nice}" if not errors else
                                                          f"NOT reniced ({errors[0]})")
                    + f" once {started} of {len(heavy_pages)} had started their page run "
                      f"({state['start_s']} s after the first request)")

            # The first step once a heavy page run has begun on the server (at most 60 s).
            while heavy_state()[0] == 0 and time.perf_counter() - t_load < 60:
                page_i.wait_for_timeout(100)
            loaded = self._rounds(page_i, "under load", before_step=heavy_state)
            heavy_state()
            out_start = {"heavy_started": state["started"], "heavy_start_s": state["start_s"],
                         "heavy_max_running_at_once": state.get("max_running", 0)}
            nice_error = state.get("error")
            # Then each heavy session until rendered (or its timeout).
            heavy_res = []
            for url, page, t0 in heavy_pages:
                left = a.timeout - (time.perf_counter() - t0)
                res: dict = {"url": url, "ok": False, "timeout": False}
                try:
                    bu.wait_ready(page, left, settle_ms=1500)
                    res["ok"] = True
                except Exception as e:  # noqa: BLE001
                    res["timeout"] = "Timeout" in type(e).__name__
                    res["error"] = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]}"
                try:
                    res.update(bu.analyze(page))
                except Exception as e:  # noqa: BLE001
                    res["analyze_error"] = str(e)[:160]
                res["main_thread_s"] = bu.main_thread_s(page)
                heavy_res.append(res)
            wall = time.perf_counter() - t_load
            if main_i is not None and bu.main_thread_s(page_i) is not None:
                main_i = bu.main_thread_s(page_i) - main_i
            cpu_server = bu.cpu_seconds(self.server_pids()) - c_server
            cpu_heavy_browser = bu.cpu_seconds(heavy_pids()) - c_heavy_browser if heavy_roots else None
            cpu_browser = bu.cpu_seconds(bu.browser_pids()) - c_browser
            peak = self.sampler.peak_since(mark)
        finally:
            for c in contexts:
                try:
                    c.close()
                except Exception:  # noqa: BLE001
                    pass
            if heavy_browser is not browser:
                try:
                    heavy_browser.close()
                except Exception:  # noqa: BLE001
                    pass

        # A step counts as under load if heavy page runs were going on on the server when it
        # began (newSession seen, scriptFinished not yet, in the heavy pages themselves).
        for s in loaded:
            s["heavy_running"] = s.get("heavy_on_server") or 0
        busy_cores = [s["server_cores"] for s in loaded if s.get("heavy_running")]
        idle_cores = [s["server_cores"] for s in idle]
        idle_t = [round(s["render_ms"] / 1000, 3) for s in idle if s.get("ok") and s.get("render_ms") is not None]
        load_t = [round(s["render_ms"] / 1000, 3) for s in loaded if s.get("ok") and s.get("render_ms") is not None]
        busy_t = [round(s["render_ms"] / 1000, 3) for s in loaded
                  if s.get("ok") and s.get("render_ms") is not None and s["heavy_running"] > 0]
        out: dict = {"rounds": a.rounds, "browser": how, **out_start, "renice_error": nice_error,
                     "heavy_urls": heavy_urls, "heavy": heavy_res, "idle_s": idle_t, "load_s": load_t,
                     "heavy_running_per_step": [s["heavy_running"] for s in loaded],
                     "heavy_states_per_step": [s.get("heavy_states") for s in loaded],
                     "server_cores_per_step": {"idle": idle_cores, "load": [s["server_cores"] for s in loaded]},
                     "exceptions": sorted({t for s in idle + loaded for t in s.get("exception_texts") or []}),
                     "failed_steps": {"idle": sum(not s.get("ok") for s in idle),
                                      "load": sum(not s.get("ok") for s in loaded)},
                     "wall_s": round(wall, 1), "server_cpu_s": round(cpu_server, 1),
                     "browser_cpu_s": round(cpu_browser, 1),
                     "heavy_browser_cpu_s": None if cpu_heavy_browser is None else round(cpu_heavy_browser, 1),
                     "browser_main_thread_s": {"interactive": None if main_i is None else round(main_i, 1),
                                               "heavy": [None if h.get("main_thread_s") is None
                                                         else round(h["main_thread_s"], 1) for h in heavy_res]},
                     "server_rss_before_mb": round(rss_before, 1), "server_peak_mb": round(peak, 1)}
        say("  heavy sessions:")
        for h in heavy_res:
            status = ("TIMEOUT" if h.get("timeout") else "FAILED") if not h.get("ok") else \
                f"rendered in {secs(h.get('render_ms'))}"
            if not h.get("ok") and h.get("progress"):
                status += f" (progress: {'; '.join(h['progress'])})"
            say(f"    {status}; charts {h.get('charts_drawn')}/{h.get('charts')}; exceptions {h.get('exceptions')}"
                + ("; was queued" if h.get("queued_seen") else "") + f"  {h['url'].split('/', 3)[-1][:110]}")
            for t in h.get("exception_texts") or []:
                say(f"      EXCEPTION: {t[:200]}")
        if idle_t:
            out["idle_median_s"], out["idle_p95_s"] = round(statistics.median(idle_t), 3), pct(idle_t, 0.95)
            say(f"  idle rerun ({len(idle_t)} steps): median {out['idle_median_s']:.2f} s, p95 {out['idle_p95_s']:.2f} s")
        if load_t:
            out["load_median_s"], out["load_p95_s"] = round(statistics.median(load_t), 3), pct(load_t, 0.95)
            say(f"  rerun under load ({len(load_t)} steps; heavy page runs going on on the server at each keydown: "
                f"{out['heavy_running_per_step']}): median {out['load_median_s']:.2f} s, p95 {out['load_p95_s']:.2f} s")
        if busy_t and len(busy_t) != len(load_t):
            out["busy_median_s"], out["busy_p95_s"] = round(statistics.median(busy_t), 3), pct(busy_t, 0.95)
            say(f"  only the {len(busy_t)} steps with heavy runs going on: median {out['busy_median_s']:.2f} s, "
                f"p95 {out['busy_p95_s']:.2f} s")
        if busy_cores:
            out["server_cores_busy_median"] = statistics.median(busy_cores)
            say(f"  server CPU during those steps: median {statistics.median(busy_cores):.2f} cores "
                f"(idle steps: {statistics.median(idle_cores):.2f}); the heavy sessions' render times above include "
                "their own drawing" + (" by the deprioritised Chromium" if heavy_roots and a.heavy_nice else ""))
        if idle_t and busy_t:
            ratio = statistics.median(busy_t) / statistics.median(idle_t)
            out["median_ratio"] = round(ratio, 2)
            out["p95_ratio"] = round(pct(busy_t, 0.95) / pct(idle_t, 0.95), 2)
            verdict = "meets" if ratio <= MEDIAN_TARGET else "MISSES"
            say(f"  under load / idle: median {ratio:.2f}x, p95 {out['p95_ratio']:.2f}x "
                f"({verdict} the target: median within {MEDIAN_TARGET:g}x idle)")
        elif not busy_t:
            say("  no interactive step overlapped a heavy page run on the server: no figure under load")
        failed = [h for h in heavy_res if h.get("exceptions") or not h.get("ok")]
        if failed:
            say(f"  NOTE: {len(failed)} of the {len(heavy_res)} heavy sessions ended in an exception or did not "
                "finish: the load was not what it should be")
        heavy_main = sum(h.get("main_thread_s") or 0 for h in heavy_res)
        split = "" if cpu_heavy_browser is None else f" ({cpu_heavy_browser:.0f} s of it the heavy sessions' Chromium)"
        say(f"  load phase: {wall:.0f} s wall; CPU used: server {cpu_server:.0f} s, browser {cpu_browser:.0f} s{split} "
            f"(of {wall * (os.cpu_count() or 1):.0f} core-seconds on this machine); browser main threads: "
            f"interactive page {main_i if main_i is not None else float('nan'):.1f} s, heavy pages {heavy_main:.0f} s; "
            f"server memory {rss_before:.0f} MB before, peak {peak:.0f} MB")
        self.report["load"] = out

    def _rounds(self, page, label: str, before_step=None) -> list[dict]:
        """--rounds slider steps. With before_step (which returns how many heavy page runs are
        going on on the server, and how many have not finished, counting those not started
        yet), steps go on past --rounds, up to three times as many, until --rounds of them
        began while heavy work was running, or all of it has finished."""
        steps = []
        n = self.args.rounds
        i = 0
        while True:
            running, unfinished, states = before_step() if before_step is not None else (None, 0, None)
            if i >= n and (not unfinished or i >= 3 * n
                           or sum(1 for s in steps if s.get("heavy_on_server")) >= n):
                break
            c0, t0 = bu.cpu_seconds(self.server_pids()), time.perf_counter()
            s = bu.slider_step(page, self.args.timeout, settle_ms=300, direction="right" if i % 2 == 0 else "left")
            # How busy the server was meanwhile (cores), over the step and its settle time.
            s["server_cores"] = round((bu.cpu_seconds(self.server_pids()) - c0) / max(1e-3, time.perf_counter() - t0), 2)
            s["heavy_on_server"] = running
            if states is not None:
                s["heavy_states"] = states
            steps.append(s)
            i += 1
            if not s.get("ok"):
                say(f"    {label} step {i}: {s.get('error')}")
            page.wait_for_timeout(200)
        ok = [s["render_ms"] for s in steps if s.get("ok") and s.get("render_ms") is not None]
        exc = max((s.get("exceptions") or 0) for s in steps) if steps else 0
        say(f"  {label}: {len(ok)}/{len(steps)} steps of '{steps[0].get('label') if steps else '?'}': "
            + ", ".join(f"{v / 1000:.2f}" for v in ok) + f" s; exceptions shown: {exc}")
        say(f"    server CPU during each step (cores): " + ", ".join(f"{s['server_cores']:.2f}" for s in steps))
        for t in dict.fromkeys(t for s in steps for t in s.get("exception_texts") or []):
            say(f"    EXCEPTION: {t[:200]}")
        return steps

    # -- 4. memory ---------------------------------------------------------------------------
    def memory(self) -> None:
        if not self.server_alive() or self.sampler is None:
            return
        m = self.report["memory"]
        m["peak_sampled_mb"] = round(self.sampler.peak_mb, 1)
        m["vm_hwm_mb"] = round(bu.tree_mb(self.server.pid, "VmHWM"), 1)
        m["processes"] = self.sampler.nprocs
        m["samples"] = self.sampler.samples
        m["peak_mb"] = max(m["peak_sampled_mb"], m["vm_hwm_mb"])
        m["target_mb"] = MEMORY_TARGET_MB
        say("")
        say("== 4. Server memory (resident, the server process"
            + (f" and its {self.sampler.nprocs - 1} children)" if self.sampler.nprocs > 1 else ")"))
        say(f"  after start-up: {m['after_start_mb']:.0f} MB"
            + (f"; after the warm-up: {m['after_warmup_mb']:.0f} MB" if "after_warmup_mb" in m else ""))
        verdict = "within" if m["peak_mb"] <= MEMORY_TARGET_MB else "ABOVE"
        say(f"  peak over the whole run: {m['peak_mb']:.0f} MB (sampled every 50 ms: {m['peak_sampled_mb']:.0f} MB, "
            f"VmHWM: {m['vm_hwm_mb']:.0f} MB), {verdict} the {MEMORY_TARGET_MB:.0f} MB target")

    # -- the short version ---------------------------------------------------------------------
    def summary(self) -> None:
        r = self.report
        lines = []
        by_page: dict[str, list[dict]] = {}
        for e in r.get("heavy") or []:
            by_page.setdefault(e["page"], []).append(e)
        for page, entries in by_page.items():
            plain = [e for e in entries if "formula" not in e] or entries
            worst = max(plain, key=lambda e: float("inf") if e.get("timeout") else (e.get("render_ms") or 0))
            took = f"TIMEOUT (> {self.args.timeout:.0f} s)" if worst.get("timeout") else secs(worst.get("render_ms"))
            exc = sum(e.get("exceptions") or 0 for e in entries)
            lines.append(f"heaviest {page}: {took} ({worst['label']}); server peak {worst['rss_peak_mb']:.0f} MB"
                         + (f"; EXCEPTIONS SHOWN: {exc}" if exc else ""))
        wf = r.get("worst_formula")
        if wf:
            took = f"TIMEOUT (> {self.args.timeout:.0f} s)" if wf.get("timeout") else secs(wf.get("render_ms"))
            lines.append(f"worst accepted formula on Curvature: {took}; server peak {wf.get('rss_peak_mb', 0):.0f} MB "
                         f"({wf.get('origin')})")
        f = r.get("formulas")
        if f:
            lines.append("adversarial_formulas.py: " + f["summary"].splitlines()[0][:160] if f.get("present")
                         else "adversarial_formulas.py: missing")
        ld = r.get("load")
        if ld and "median_ratio" in ld:
            busy_med = ld.get("busy_median_s", ld.get("load_median_s"))
            busy_p95 = ld.get("busy_p95_s", ld.get("load_p95_s"))
            lines.append(f"Playground rerun idle / under 5 heavy sessions: median {ld['idle_median_s']:.2f} / "
                         f"{busy_med:.2f} s ({ld['median_ratio']:.2f}x, target <= {MEDIAN_TARGET:g}x), p95 "
                         f"{ld['idle_p95_s']:.2f} / {busy_p95:.2f} s")
        elif ld:
            lines.append(f"Playground rerun under load: no figure ({ld.get('error', 'no step overlapped the load')})")
        m = r.get("memory") or {}
        if "peak_mb" in m:
            lines.append(f"server memory: {m['after_start_mb']:.0f} MB after start-up, "
                         f"{m.get('after_warmup_mb', float('nan')):.0f} MB after the warm-up, peak {m['peak_mb']:.0f} MB "
                         f"(target <= {MEMORY_TARGET_MB:.0f} MB)")
        if r.get("server", {}).get("log_tracebacks"):
            lines.append(f"server log: {r['server']['log_tracebacks']} traceback(s), see {r['server'].get('log')}")
        if lines:
            say("")
            say("== Summary (this machine, at this moment; other jobs on it add time)")
            for ln in lines:
                say("  " + ln)

    # -- all ---------------------------------------------------------------------------------
    def main(self) -> int:
        a = self.args
        say(f"Descent Lab hostile-use benchmark: parts {', '.join(a.only)}; {os.cpu_count()} CPUs; "
            f"timeout {a.timeout:.0f} s per heavy request; {a.rounds} slider steps. Figures are wall-clock on "
            "this machine, shared with whatever else runs on it.")
        rc = 0
        try:
            formulas, note = (adversarial_formulas() if "heavy" in a.only else ([], ""))
            if "heavy" in a.only or "load" in a.only:
                from playwright.sync_api import sync_playwright

                self.start_server()
                with sync_playwright() as pw:
                    browser = bu.launch_browser(pw, a.chromium)
                    self.report["browser"] = f"chromium {browser.version}, headless"
                    try:
                        self.warm_up(browser)
                        if "heavy" in a.only:
                            self.heavy(browser, formulas, note)
                        if "formulas" in a.only:
                            self.formulas()
                        if "load" in a.only:
                            self.load(browser, pw)
                    finally:
                        try:
                            browser.close()
                        except Exception:  # noqa: BLE001 (already killed by emergency_stop)
                            if not self._stopping:
                                raise
                if not self.server_alive():
                    say(f"THE SERVER DIED (exit {self.server.proc.returncode}); its log ends:\n{self.server.log_tail()}")
                    self.report["server_died"] = True
                    rc = 1
                self.memory()
            elif "formulas" in a.only:
                self.formulas()
        except (KeyboardInterrupt, SystemExit) as e:
            say("interrupted")
            self.report["interrupted"] = True
            rc = e.code if isinstance(e, SystemExit) and isinstance(e.code, int) else 130
        finally:
            if self.sampler is not None:
                self.sampler.stop()
            if self.server is not None:
                log = self.server.log_text()
                tb = log.count("Traceback (most recent call last)")
                self.report.setdefault("server", {})["log_tracebacks"] = tb
                self.stop_server()
                if tb:
                    self.report["server"]["log"] = self.server.log_path
                    say(f"server log: {tb} traceback(s), kept in {self.server.log_path}; its first error:")
                    say(first_traceback(self.server.log_text()))
                else:
                    try:
                        os.unlink(self.server.log_path)
                    except OSError:
                        pass
            try:
                self.summary()
            except Exception as e:  # noqa: BLE001 (the JSON below has everything)
                say(f"(no summary: {type(e).__name__}: {e})")
            text = json.dumps(self.report, indent=2, default=str)
            say("")
            say("JSON summary:")
            say(text)
            if a.json_out:
                Path(a.json_out).write_text(text + "\n", encoding="utf-8")
        return rc


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(PARTS),
                    help="comma-separated parts to run: heavy, formulas, load (default: all)")
    ap.add_argument("--port", type=int, default=None, help="server port (default: a free one)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per heavy request (default 300)")
    ap.add_argument("--rounds", type=int, default=15, help="slider steps, idle and under load (default 15)")
    ap.add_argument("--keep-cache", action="store_true",
                    help="use the app's usual JAX compilation cache instead of a fresh temporary one")
    ap.add_argument("--formulas-timeout", type=float, default=900.0,
                    help="seconds for adversarial_formulas.py (default 900)")
    ap.add_argument("--formulas-args", default="",
                    help="extra arguments for adversarial_formulas.py, e.g. \"--random 60\" (default none)")
    ap.add_argument("--settle-max", type=float, default=90.0,
                    help="at most this long for the warm-up's memory to settle before the baseline (default 90)")
    ap.add_argument("--chromium", default=bu.CHROMIUM, help="Chromium executable ('' = Playwright's own)")
    ap.add_argument("--browsers", type=int, choices=(1, 2), default=2,
                    help="load part: 2 = the heavy sessions in a second Chromium (default), 1 = all six in one")
    ap.add_argument("--heavy-nice", type=int, default=10,
                    help="with --browsers 2, the heavy sessions' Chromium gets this nice value once their page "
                         "runs have started (default 10; 0 = none)")
    ap.add_argument("--json-out", metavar="FILE", help="also write the JSON summary here")
    ap.add_argument("--dry-run", action="store_true",
                    help="print the requests the heavy and load parts would send, then exit (no server, no browser)")
    a = ap.parse_args(argv)
    a.only = [p.strip() for p in a.only.split(",") if p.strip()]
    bad = [p for p in a.only if p not in PARTS]
    if bad or not a.only:
        ap.error(f"--only takes {', '.join(PARTS)} (comma-separated), not {', '.join(bad) or 'nothing'}")
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    return a


def dry_run(args) -> int:
    """Prints the planned requests of the heavy and load parts (on the --port given, else
    Streamlit's usual 8501) and what the pages would say about them."""
    base = f"http://127.0.0.1:{args.port or 8501}"
    limits = Limits()
    if "heavy" in args.only:
        formulas, note = adversarial_formulas()
        say("== 1. heavy: the heaviest request on each page")
        say(f"  worst formulas: {note}")
        for req in heavy_requests(limits, formulas):
            say(f"  {req['page']}: {req['label']}")
            say(f"    {url_of(base, req['page'], req['query'])}")
    if "formulas" in args.only:
        say("== 2. formulas: would run benchmarks/adversarial_formulas.py (its short mode if it has one)")
    if "load" in args.only:
        say("== 3. load: the five heavy sessions next to one interactive Playground")
        for page, query in load_requests(limits):
            say(f"    {url_of(base, page, query)}")
    problems = list(dict.fromkeys(limits.problems))
    say("notes: " + ("none: every limit read from the pages' Settings, every request taken as written"
                     if not problems else ""))
    for p in problems:
        say(f"  note: {p}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.dry_run:
        return dry_run(args)
    run = Run(args)

    def on_signal(signum, _frame):
        # The server first, and the browsers by pid: a graceful close could wait on a busy
        # browser while the server kept running.
        run.emergency_stop()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)
    return run.main()


if __name__ == "__main__":
    sys.exit(main())
