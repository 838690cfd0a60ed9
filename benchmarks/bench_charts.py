"""How long the contour image takes to draw: it is rebuilt on every rerun of a surface
page, so it must stay a small part of a rerun (the floor's whole rerun is ~180 ms).

    .venv/bin/python benchmarks/bench_charts.py
"""
from __future__ import annotations

import time

import numpy as np

from charts import raster


def main() -> None:
    for n in (121, 241, 481):
        xs = ys = np.linspace(-2, 2, n)
        gx, gy = np.meshgrid(xs, ys)
        z = gx**2 + gy**2
        levels = np.linspace(0, 8, 31)
        raster.contour_image(xs, ys, z, levels=levels)  # warm
        times = []
        for _ in range(7):
            t = time.perf_counter()
            raster.contour_image(xs, ys, z, levels=levels)
            times.append(time.perf_counter() - t)
        print(f"contour_image {n}x{n}: best {min(times) * 1e3:.1f} ms, median {np.median(times) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
