"""Each page against the floor (issue 19): first render, rerun after one slider step, and
bytes a rerun sends, as ratios to the least any Streamlit + Plotly page costs.

The floor is ``../shared/tools/floor_app.py`` (a 61 x 61 contour and a 500-point line
following a slider); both apps are measured by ``../shared/tools/measure_app.py`` in real
headless chromium, in alternating rounds (floor, app, floor, app, ...) because this
machine's speed drifts by a third between runs: each round's ratio compares neighbours.

    .venv/bin/python benchmarks/rerun_ratios.py [--rounds 2] [--runs 3] [--page /Playground ...] [--one-core]

Prints one row per page: medians over the rounds of the warm runs (every run but a
server's first), the floor's figures of the same rounds, and the ratios. The issue's
targets: Playground rerun <= 2x, <= 50 KB a rerun, first render <= 1.2x; the other pages
rerun <= 3x, first render <= 1.5x; with --one-core (server and browser pinned to core 0,
as on a small cloud app) the Playground's rerun <= 2.5x.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT.parent / "shared" / "tools"
PAGES = ("/Playground", "/Curvature", "/Sweeps", "/Classifier", "/Inside")
FIGURES = {"first render": "load.render_ms", "rerun": "interact.render_ms", "rerun bytes": "interact.ws_bytes"}


def measure(app: Path, pages: list[str], runs: int, one_core: bool = False) -> dict[str, dict[str, float]]:
    """{page: {figure: warm median}} from one measure_app run (one server). one_core: the
    server and the browser both on core 0 (taskset), as a small cloud app gets."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.browser_util import CHROMIUM

    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = (["taskset", "-c", "0"] if one_core else []) + [
            sys.executable, str(TOOLS / "measure_app.py"), str(app), "--interact", "--runs", str(runs),
            "--json-out", out.name, "--chromium", CHROMIUM]
        for p in pages:
            cmd += ["--page", p]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=app.parent)
        raw = json.loads(Path(out.name).read_text())
    found: dict[str, dict[str, float]] = {}
    for page, entry in raw["pages"].items():
        summary = entry.get("summary_warm") or entry["summary"]
        found[page] = {name: summary[key]["median"] for name, key in FIGURES.items() if key in summary}
        found[page]["exceptions"] = sum(len(r.get("load", {}).get("exceptions", []) or []) for r in entry["runs"])
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="runs per page and round (the first is cold)")
    ap.add_argument("--page", action="append", help="our pages to measure (default: every page with charts)")
    ap.add_argument("--one-core", action="store_true", help="server and browser on one core (taskset -c 0)")
    args = ap.parse_args()
    pages = args.page or list(PAGES)
    floor, ours = [], []
    for r in range(args.rounds):
        floor.append(measure(TOOLS / "floor_app.py", ["/"], args.runs, args.one_core)["/"])
        ours.append(measure(ROOT / "app.py", pages, args.runs, args.one_core))
        print(f"round {r + 1}: floor rerun {floor[-1].get('rerun')} ms", flush=True)

    Path(tempfile.gettempdir(), "rerun_ratios.json").write_text(json.dumps({"floor": floor, "ours": ours}))
    report(floor, ours, pages)


def report(floor: list[dict], ours: list[dict], pages: list[str]) -> None:
    def med(rows: list[dict], name: str) -> float:
        values = [row[name] for row in rows if name in row]
        return statistics.median(values) if values else float("nan")

    def ratio(page: str, name: str) -> float:
        values = [o[page][name] / fl[name] for o, fl in zip(ours, floor) if name in o.get(page, {}) and name in fl]
        return statistics.median(values) if values else float("nan")

    f = {name: med(floor, name) for name in FIGURES}
    print(f"\n{'page':14} {'first render':>14} {'rerun':>10} {'bytes/rerun':>12}   ratios to the floor (render, rerun)")
    print(f"{'floor':14} {f['first render']:>11.0f} ms {f['rerun']:>7.0f} ms {f['rerun bytes'] / 1e3:>9.0f} KB")
    for page in pages:
        rows = [o[page] for o in ours if page in o]
        # Each round's ratio against that round's floor, then the median over rounds (NaN:
        # measure_app found no slider to move on that page).
        render, rerun = ratio(page, "first render"), ratio(page, "rerun")
        print(f"{page:14} {med(rows, 'first render'):>11.0f} ms {med(rows, 'rerun'):>7.0f} ms "
              f"{med(rows, 'rerun bytes') / 1e3:>9.0f} KB   {render:.2f}x, {rerun:.2f}x"
              + (f"   ({sum(r['exceptions'] for r in rows)} exceptions)" if any(r["exceptions"] for r in rows) else ""))


if __name__ == "__main__":
    main()
