r"""The exponentially weighted average, on its own (the course's 004; Adam's m and v are two).

.. math:: v_t = \beta v_{t-1} + (1-\beta)\,x_t,\quad v_0 = 0,\qquad \hat v_t = \frac{v_t}{1-\beta^t}

v_t weighs x_{t-j} by (1−β)β^j: the weights sum to 1 − β^t (so v_t is pulled toward the
0 it started from, which dividing by 1 − β^t undoes), and they fall to about 1/e of the
newest after 1/(1−β) values, the average's window. Pure numpy, float64.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

SERIES_LENGTH = 120


class Averaged(NamedTuple):
    x: np.ndarray  # the series, x_1..x_T
    v: np.ndarray  # its EWA without bias correction
    v_hat: np.ndarray  # with: v_t / (1 − β^t)
    beta: float

    @property
    def window(self) -> float:
        return window(self.beta)


def window(beta: float) -> float:
    """1/(1−β): about how many recent values the average covers."""
    return 1.0 / (1.0 - float(beta))


def average(x: np.ndarray, beta: float) -> Averaged:
    """The EWA of x (v_0 = 0), without and with bias correction."""
    x = np.asarray(x, np.float64)
    beta = float(beta)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), not {beta}")
    v = np.empty_like(x)
    acc = 0.0
    for i, value in enumerate(x):
        acc = beta * acc + (1.0 - beta) * value
        v[i] = acc
    t = np.arange(1, len(x) + 1, dtype=np.float64)
    return Averaged(x, v, v / (1.0 - beta**t), beta)


def weights(beta: float, t: int) -> np.ndarray:
    """The weight v_t gives x_t, x_{t−1}, …, x_1 (newest first): (1−β)β^j, j = 0..t−1."""
    return (1.0 - float(beta)) * float(beta) ** np.arange(int(t), dtype=np.float64)


def noisy_series(n: int = SERIES_LENGTH, seed: int = 0) -> np.ndarray:
    """A daily-temperature-like series (Ng's example): a slow seasonal swing around 15
    plus Gaussian noise, reproducible by seed. Far from 0, so the pull of v_0 = 0 shows."""
    rng = np.random.default_rng(seed)
    days = np.arange(n, dtype=np.float64)
    return 15.0 + 8.0 * np.sin(2 * np.pi * days / n) + rng.normal(0.0, 3.0, n)
