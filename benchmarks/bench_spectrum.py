"""Hessian spectrum speed (issue 18's targets), on the Classifier page's default data:
two moons, 400 points, noise 0.15, seed 0 (280 training points), tanh, cross-entropy,
Xavier initial weights (seed 0).

* exact spectrum of 2-16-16-2 (354 parameters): target <= 50 ms warm;
* exact spectrum of 2-36-36-2 (1,514 parameters, the net nearest 1,500): target <= 1 s warm;
* SLQ density of 2-64-64-64-64-2 (12,802 parameters) at the defaults (4 probes x 80
  Lanczos steps): no target, the figure the page's budget needs.

Each row: the first call (compilation included) and the median / minimum of REPEATS warm
calls, wall time; the exact rows also split the Hessian build from LAPACK's ``eigvalsh``.
NumPy's OpenBLAS runs on one thread, as in the app (ui.startup puts it there:
``ui.compat.single_threaded_blas``); ``--blas-threads`` leaves it as NumPy starts it. The
machine may be shared: the minimum is the figure least disturbed by neighbours, and
the CPU time of the process (all threads) is printed next to the wall time.

``--methods`` also times the ways of building the Hessian that ``classifier/spectrum.py``
chose between (jacfwd of the gradient, chunked HVPs at several chunk sizes, jnp against
NumPy eigvalsh).

    .venv/bin/python benchmarks/bench_spectrum.py [--methods]
"""
from __future__ import annotations

import os
import sys
import time
from functools import partial
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from classifier import datasets, model as mlp, spectrum as sp  # noqa: E402
from ui import compat  # noqa: E402

REPEATS = 7
EXACT_TARGETS = (((16, 16), 0.050), ((36, 36), 1.0))
SLQ_NET = (64, 64, 64, 64)


def timed(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, float, float, float]:
    """(first, median, min wall seconds, median CPU seconds) of fn()."""
    t = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        jax.block_until_ready(fn())
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return first, float(np.median(wall)), min(wall), float(np.median(cpu))


def row(name: str, times: tuple[float, float, float, float], target: float | None = None) -> None:
    first, med, low, cpu = times
    verdict = "" if target is None else ("  ok" if low <= target else "  MISSED") + f" (target {target * 1e3:.0f} ms)"
    print(f"{name:<46} first {first * 1e3:8.0f} ms   warm median {med * 1e3:8.1f} ms   min {low * 1e3:8.1f} ms"
          f"   cpu {cpu * 1e3:8.1f} ms{verdict}")


def network(hidden: tuple[int, ...]) -> mlp.Params:
    return mlp.to_numpy(mlp.init_params(jax.random.key(0), mlp.Architecture(hidden, "tanh"), "xavier"))


def exact_rows(data: datasets.Dataset) -> None:
    x, y = data.x_train, data.y_train
    for hidden, target in EXACT_TARGETS:
        p = network(hidden)
        n = sp.n_trainable(p)
        label = "-".join(map(str, (2, *hidden, 2)))
        row(f"exact spectrum {label} ({n:,} params)", timed(lambda: sp.spectrum(p, x, y, "tanh")), target)
        row("  of which the Hessian build", timed(lambda: sp.hessian_matrix(p, x, y, "tanh")))
        h = sp.hessian_matrix(p, x, y, "tanh")
        row("  of which NumPy eigvalsh", timed(lambda: np.linalg.eigvalsh(h)))


def slq_rows(data: datasets.Dataset) -> None:
    p = network(SLQ_NET)
    n = sp.n_trainable(p)
    label = "-".join(map(str, (2, *SLQ_NET, 2)))
    for probes, steps in ((sp.DEFAULT_PROBES, sp.DEFAULT_ITER), (1, 100)):
        row(f"SLQ density {label} ({n:,}), {probes} x {steps}", timed(
            lambda: sp.eigenvalue_density(p, data.x_train, data.y_train, "tanh", n_probes=probes, n_iter=steps),
            repeats=3))


@partial(jax.jit, static_argnames=("chunk",))
def _hessian_by(trainable, fixed, x, y, l2, chunk: int | None):
    """The Hessian by jacfwd(grad) (chunk None) or by lax.map of HVPs in chunks."""
    flat, j = sp._flat_objective(trainable, fixed, x, y, l2, "tanh", "cross_entropy")
    grad = jax.grad(j)
    if chunk is None:
        return jax.jacfwd(grad)(flat)
    n = flat.shape[0]
    return jax.lax.map(lambda i: jax.jvp(grad, (flat,), (jax.nn.one_hot(i, n, dtype=flat.dtype),))[1],
                       jnp.arange(n), batch_size=chunk)


def method_rows(data: datasets.Dataset) -> None:
    for hidden, _ in EXACT_TARGETS:
        p = network(hidden)
        label = "-".join(map(str, (2, *hidden, 2)))
        with jax.enable_x64(True):
            args = sp._to64(p, data.x_train, data.y_train, 0.0)
            for chunk in (None, 4, 8, 16, 32, 64):
                name = "jacfwd(grad)" if chunk is None else f"HVPs in chunks of {chunk}"
                row(f"{label}: {name}", timed(lambda: _hessian_by(*args, chunk=chunk)))
            h = _hessian_by(*args, chunk=8)
            eig = jax.jit(jnp.linalg.eigvalsh)
            row(f"{label}: jnp.linalg.eigvalsh", timed(lambda: eig(h)))
            hn = np.asarray(h)
            row(f"{label}: np.linalg.eigvalsh", timed(lambda: np.linalg.eigvalsh(hn)))


def main() -> None:
    data = datasets.make_dataset("moons", 400, 0.15, seed=0)
    if "--blas-threads" not in sys.argv:
        compat.single_threaded_blas()
    print(f"jax {jax.__version__}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"{len(data.y_train)} training points, NumPy BLAS threads {compat.blas_threads()}")
    exact_rows(data)
    slq_rows(data)
    if "--methods" in sys.argv:
        method_rows(data)
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
