"""Loss-landscape cost (classifier/landscape.py): what the page's views ask for.

* 41 x 41 slice (Li et al.), two moons make_dataset("moons", 1430, 0.15, test_fraction=0.3):
  1,001 training points, the page's default 2-16-16-2 tanh network (354 parameters).
  Target (issue 18): <= 300 ms warm.
* Goodfellow interpolation, n = 61, same data and network (train and test scored).
* The trajectory's PCA plane, 41 x 41, from 20 snapshots, same data and network.
* The worst page request: 81 x 81 on 4,999 training points (make_dataset("moons", 5000,
  0.15, test_fraction=0.0002)) at 4 x 64 ReLU (12,866 parameters), and 41 x 41 on the same.

"first" is the first call in the process (compilation included, no persistent cache);
"warm" the median (and minimum) wall time of the calls after it, each with a new seed, and
the median process CPU time (all of XLA's threads; busy neighbours on the shared 2-core
machine inflate wall time, CPU time much less). The load average is printed with them.

    .venv/bin/python benchmarks/bench_landscape.py
"""
from __future__ import annotations

import os
import sys
import time
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from classifier import datasets  # noqa: E402
from classifier import landscape as ls  # noqa: E402
from classifier.train import TrainConfig, train  # noqa: E402

TARGET_SLICE_MS = 300.0


def measure(label: str, fn: Callable[[int], object], repeats: int) -> float:
    """Print and return the warm median in ms; fn(i) gets a fresh seed each call, as a
    user moving the seed slider would (no program may depend on it)."""
    t = time.perf_counter()
    fn(0)
    first = time.perf_counter() - t
    times, cpu = [], []
    for i in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn(i + 1)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    median = float(np.median(times)) * 1e3
    print(f"{label:50s} first {first * 1e3:7.0f} ms | warm median {median:7.0f} ms, min {min(times) * 1e3:7.0f} ms,"
          f" CPU {float(np.median(cpu)) * 1e3:7.0f} ms ({repeats} warm)")
    return median


def main() -> None:
    print("load average (1, 5, 15 min): %.1f %.1f %.1f" % os.getloadavg())
    small = datasets.make_dataset("moons", 1430, 0.15, test_fraction=0.3)
    config = TrainConfig(hidden=(16, 16), activation="tanh", optimizer="adam", epochs=200, n_snapshots=20)
    run = train(small, config)
    final = run.snapshots[-1]
    print(f"small: {small.n_train} training points, 2-16-16-2 tanh")
    slice_ms = measure("41 x 41 slice", lambda s: ls.plane(final, small, config, 1.0, 41, s), 9)
    measure("interpolation n = 61 (train + test)",
            lambda s: ls.interpolation_curves(run.snapshots[0], final, small, config, 61), 9)
    measure("trajectory PCA plane 41 x 41 (20 snapshots)",
            lambda s: ls.trajectory_plane(run.snapshots, small, config, 41), 5)
    measure("flatness (r = 0.25, 32 angles, two curvatures)",
            lambda s: ls.flatness(final, small, config, seed=s), 5)

    big = datasets.make_dataset("moons", 5000, 0.15, test_fraction=0.0002)
    big_config = TrainConfig(hidden=(64,) * 4, activation="relu", optimizer="adam", epochs=5, n_snapshots=2)
    big_final = train(big, big_config).snapshots[-1]
    print(f"big: {big.n_train} training points, 4 x 64 ReLU")
    measure("41 x 41 slice", lambda s: ls.plane(big_final, big, big_config, 1.0, 41, s), 2)
    measure("81 x 81 slice (worst page request)", lambda s: ls.plane(big_final, big, big_config, 1.0, 81, s), 2)

    print("load average (1, 5, 15 min): %.1f %.1f %.1f" % os.getloadavg())
    verdict = "within" if slice_ms <= TARGET_SLICE_MS else "OVER"
    print(f"41 x 41 on {small.n_train} points: {slice_ms:.0f} ms warm median, {verdict} the "
          f"{TARGET_SLICE_MS:.0f} ms target")


if __name__ == "__main__":
    main()
