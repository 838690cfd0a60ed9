"""Speed of the Sweeps page's two big computations on this machine. Prints figures.

    python benchmarks/bench_sweeps.py

* Basin map: 200 x 200 starts on Himmelblau, GD (lr 0.005) and Momentum, 500 steps each
  (40,000 runs). Target <= 100 ms.
  Also printed, for scale: a bare GD loop over the same runs (update only).
* Sweep: 64 learning rates x 64 second-hyperparameter values, 1,000 steps each (4,096
  runs), from Himmelblau's first suggested start. Target <= 50 ms.

Times are after compilation (the first call is reported separately), best of several
rounds, and include labelling and the copy back into NumPy: what the page waits for.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import surfaces
from optimizers import sweeps

BASIN_TARGET_MS, SWEEP_TARGET_MS = 100.0, 50.0


def best_of(fn, repeat: int = 12) -> float:
    """Best seconds per call over ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def first_call(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def verdict(ms: float, target: float) -> str:
    return f"{'OK' if ms <= target else 'MISSED'} (target <= {target:.0f} ms)"


def main() -> None:
    s = surfaces.get("himmelblau")
    minima = np.array([m.point for m in s.minima])
    values = np.array([float(s.fn(jnp.asarray(m, jnp.float32))) for m in minima])
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} cores")
    print()
    print("Basin map, Himmelblau, 200 x 200 starts = 40,000 runs x 500 steps")
    for opt, hyper in (("gd", dict(learning_rate=0.005)), ("momentum", dict(learning_rate=0.002, momentum=0.9)),
                       ("adam", dict(learning_rate=0.05))):
        run = lambda: sweeps.basins(s, opt, s.domain, 200, 500, minima, values, radius=0.14, loss_tol=1e-2, **hyper)
        compile_s = first_call(run)
        ms = best_of(run) * 1e3
        b = run()
        counts = b.counts(len(minima))
        rate = 40_000 * 500 / (ms / 1e3) / 1e6
        print(f"  {opt:9s} first call {compile_s * 1e3:6.0f} ms, then {ms:6.1f} ms "
              f"({rate:5.0f} M run-steps/s) {verdict(ms, BASIN_TARGET_MS) if opt != 'adam' else '(no target)'}"
              f"   basins {[counts[k] for k in range(len(minima))]}, diverged {counts[sweeps.DIVERGED]}")

    # For scale: the same 40,000 x 500 GD steps with nothing but the update (no loss, no
    # divergence or tolerance tracking, no freezing of finished runs), and the labelling alone.
    grad = jax.vmap(jax.grad(s.fn))

    @jax.jit
    def bare_gd(p, lr):
        return lax.fori_loop(0, 500, lambda i, q: q - lr * grad(q), p)

    starts = jnp.asarray(sweeps.start_grid(s.domain, 200)[2], jnp.float32)
    bare = best_of(lambda: bare_gd(starts, 0.005).block_until_ready()) * 1e3
    b = sweeps.basins(s, "gd", s.domain, 200, 500, minima, values, radius=0.14, loss_tol=1e-2, learning_rate=0.005)
    label = best_of(lambda: sweeps.label_basins(b.batch.final_points, b.batch.final_losses, b.batch.diverged_at,
                                                minima, values, radius=0.14, loss_tol=1e-2)) * 1e3
    print(f"  for scale: bare GD update loop {bare:.1f} ms; labelling the 40,000 end points {label:.1f} ms")

    print()
    print("Sweep, Himmelblau from (-0.2, -0.5), 64 x 64 = 4,096 runs x 1,000 steps")
    lrs = sweeps.axis_values(1e-4, 1.0, 64, log=True)
    for opt, second in (("momentum", "momentum"), ("adam", "b1"), ("rmsprop", "decay")):
        h = next(p for p in sweeps.sweepable(opt) if p.name == second)
        vals = sweeps.axis_values(h.low, h.high, 64, log=False)
        run = lambda: sweeps.sweep(s, opt, (-0.2, -0.5), 1000, lrs, second, vals, tol=1e-3)
        compile_s = first_call(run)
        ms = best_of(run) * 1e3
        sw = run()
        rate = 4096 * 1000 / (ms / 1e3) / 1e6
        print(f"  {opt:9s} x {second:9s} first call {compile_s * 1e3:6.0f} ms, then {ms:6.1f} ms "
              f"({rate:5.0f} M run-steps/s) {verdict(ms, SWEEP_TARGET_MS)}"
              f"   diverged {np.mean(sw.diverged_at >= 0):.0%}")


if __name__ == "__main__":
    main()
