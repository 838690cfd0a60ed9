"""Speed of optimizers.trace and trace_batch on this machine. Prints figures and ratios.

    python benchmarks/bench_optimizers.py

Problem: Adam (learning rate 0.01) on Rosenbrock from (-1.5, 2.0), float32, CPU.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax

if os.environ.get("ASYNC_DISPATCH", "0") != "1":
    # As the app runs (ui/runtime.py): small programs run on the calling thread.
    jax.config.update("jax_cpu_enable_async_dispatch", False)
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

import optimizers
import surfaces

STEPS = 1000
START = (-1.5, 2.0)


def best_of(fn, repeat: int = 30, number: int = 5) -> float:
    """Best mean seconds per call over ``repeat`` rounds of ``number`` calls."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times)


def best_of_pair(a, b, repeat: int = 60, number: int = 5) -> tuple[float, float]:
    """best_of for two functions, their rounds interleaved."""
    for _ in range(50):  # past the first calls' page faults and background compile work
        a(), b()
    ta, tb = [], []
    for _ in range(repeat):
        for fn, out in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            out.append((time.perf_counter() - t0) / number)
    return min(ta), min(tb)


def numpy_adam(f_grad, start, steps, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    p = np.array(start, np.float64)
    m = np.zeros(2)
    v = np.zeros(2)
    out = np.empty((steps + 1, 2))
    out[0] = p
    for t in range(1, steps + 1):
        g = f_grad(p)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        out[t] = p
    return out


def rosen_grad_np(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def main() -> None:
    surface = surfaces.get("rosenbrock")
    f = surface.fn
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} cores")

    # First call: compile (fresh process, so this includes tracing and XLA).
    t0 = time.perf_counter()
    optimizers.trace(surface, "adam", START, STEPS, learning_rate=0.01)
    compile_s = time.perf_counter() - t0
    print(f"first trace call (compile + run): {compile_s * 1e3:.0f} ms")

    other_n = best_of(lambda: optimizers.trace(surface, "adam", START, 4321, learning_rate=0.02))
    print(f"trace, adam, 4321 steps, new hyperparameters (no recompile): {other_n * 1e6:.0f} us")

    opt = optax.adam(0.01)

    @jax.jit
    def optax_scan(p0):
        def body(carry, _):
            p, s = carry
            loss, g = jax.value_and_grad(f)(p)
            u, s = opt.update(g, s, p)
            p = optax.apply_updates(p, u)
            return (p, s), jnp.concatenate([p, f(p)[None]])

        return lax.scan(body, (p0, opt.init(p0)), None, length=STEPS)[1]

    p0 = jnp.array(START)
    # Measured in alternation, so that both see the same machine: on this shared VM either
    # one alone drifted by a third between runs of the script.
    ours, ref = best_of_pair(lambda: optimizers.trace(surface, "adam", START, STEPS, learning_rate=0.01),
                             lambda: np.asarray(optax_scan(p0)))
    print(f"trace, adam, {STEPS} steps (positions + losses, into NumPy): {ours * 1e6:.0f} us")
    print(f"optax.adam in lax.scan, {STEPS} steps, fixed length, constant hyperparameters: {ref * 1e6:.0f} us")
    print(f"  ratio ours / optax-in-scan: {ours / ref:.2f}x (target <= 1.5x)")

    np_t = best_of(lambda: numpy_adam(rosen_grad_np, START, STEPS), repeat=5, number=1)
    print(f"NumPy Python-loop Adam, {STEPS} steps: {np_t * 1e3:.1f} ms")
    print(f"  ratio numpy-loop / ours: {np_t / ours:.0f}x (target >= 100x)")

    # Learning rates at which none of the five diverges early (a diverged run stops its loop).
    five = {"gd": 1e-3, "momentum": 1e-3, "rmsprop": 0.01, "adam": 0.05, "nadam": 0.05}
    for name, lr in five.items():
        t = optimizers.trace(surface, name, START, STEPS, with_stats=True, learning_rate=lr)
        assert t.diverged_at is None, name
        optimizers.trace(surface, name, START, STEPS, with_stats=True, noise=1.0, seed=1, learning_rate=lr)

    def race(noise: float) -> None:
        for name, lr in five.items():
            optimizers.trace(surface, name, START, STEPS, with_stats=True, noise=noise, seed=3, learning_rate=lr)

    t5 = best_of(lambda: race(0.0), repeat=20, number=3)
    t5n = best_of(lambda: race(1.0), repeat=20, number=3)
    print(f"5 optimizers x {STEPS} steps with statistics into NumPy: {t5 * 1e3:.2f} ms (target < 1 ms)")
    print(f"  the same with gradient noise: {t5n * 1e3:.2f} ms (target < 2 ms)")

    m = 10_000
    rng = np.random.default_rng(0)
    starts = rng.uniform([-2, -1], [2, 3], size=(m, 2))
    lrs = 10 ** rng.uniform(-4, -1, size=m)
    t0 = time.perf_counter()
    optimizers.trace_batch(surface, "adam", starts, STEPS, learning_rate=lrs)
    print(f"trace_batch compile + first run: {(time.perf_counter() - t0) * 1e3:.0f} ms")
    tb = best_of(lambda: optimizers.trace_batch(surface, "adam", starts, STEPS, learning_rate=lrs), repeat=5, number=1)
    print(f"vmap, {m} configurations x {STEPS} steps, final states: {tb * 1e3:.1f} ms (target < 20 ms)")
    tg = best_of(lambda: optimizers.trace_batch(surface, "gd", starts, STEPS, learning_rate=lrs * 0.01), repeat=5, number=1)
    print(f"  the same with gd: {tg * 1e3:.1f} ms")
    mp = 1000
    tp = best_of(
        lambda: optimizers.trace_batch(surface, "adam", starts[:mp], STEPS, learning_rate=lrs[:mp], paths=True),
        repeat=5,
        number=1,
    )
    print(f"vmap, {mp} configurations x {STEPS} steps, full paths: {tp * 1e3:.1f} ms "
          f"({mp * STEPS / tp / 1e6:.0f} M steps/s)")


if __name__ == "__main__":
    main()
