"""The saddle census (classifier/census.py) with its defaults: 30 networks 2-8-2 tanh on 100
points of the Classifier's default data (two moons, 400 points, noise 0.15, seed 0).

Prints the first run (with every compile) and warm runs, each split into phases by the
census's own progress reports: training (until the first refinement report), refinement
(until the spectra report) and spectra (to the end). Target: <= 20 s a census, aim <= 10 s
(the page's work cap). The machine may be shared: the load average is printed beside.

    .venv/bin/python benchmarks/bench_census.py [repeats]
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from classifier import census, datasets  # noqa: E402


def timed_census(x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, float], census.CensusResult]:
    marks: list[tuple[float, str]] = []

    def report(fraction, notice):
        marks.append((time.perf_counter(), notice.key))

    start = time.perf_counter()
    result = census.run_census(census.CensusConfig(), x, y, 2, report=report)
    end = time.perf_counter()
    first = {key: next(t for t, k in marks if k == key) for key in
             (census.PROGRESS_TRAIN, census.PROGRESS_REFINE, census.PROGRESS_SPECTRA)}
    phases = {
        "train": first[census.PROGRESS_REFINE] - start,
        "refine": first[census.PROGRESS_SPECTRA] - first[census.PROGRESS_REFINE],
        "spectra": end - first[census.PROGRESS_SPECTRA],
    }
    return end - start, phases, result


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    data = datasets.make_dataset("moons", 400, 0.15, 0.3, 0, 2)
    for i in range(repeats + 1):
        total, phases, r = timed_census(data.x_train, data.y_train)
        split = ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())
        label = "first (compile)" if i == 0 else f"warm {i}"
        print(f"{label:16s} {total:6.2f} s  ({split})  load {os.getloadavg()[0]:.1f}")
    kinds = ", ".join(f"{k.value} {n}" for k, n in r.summary.items())
    print(f"{r.n_params} parameters, {r.n_converged}/{len(r.kinds)} converged: {kinds}")


if __name__ == "__main__":
    main()
