r"""Lee's unified rule and Ng's momentum, read off a trace recorded with statistics.

Hung-yi Lee writes every optimizer of the course as one update,

.. math:: \theta_i^{t+1} = \theta_i^t - \frac{\eta^t}{\sigma_i^t}\, m_i^t,

and they differ only in what they use as :math:`\eta^t` (the learning rate),
:math:`\sigma_i^t` (a per-coordinate scale) and :math:`m_i^t` (the direction):

* GD: :math:`\sigma = 1`, :math:`m = g`;
* Momentum: :math:`\sigma = 1`, :math:`m_t = \lambda m_{t-1} + g_t = \sum_j \lambda^{t-j} g_j`
  (the course form :math:`v_t = \lambda v_{t-1} - \eta g_t` is :math:`v_t = -\eta m_t` at a
  constant :math:`\eta`; under a schedule each gradient keeps its own step's rate);
* AdaGrad: :math:`\sigma = \sqrt{G_t + \epsilon}`, :math:`G_t = \sum_j g_j^2`, :math:`m = g`;
* RMSProp: :math:`\sigma = \sqrt{\sigma_t^2} + \epsilon` (a moving average of :math:`g^2`), :math:`m = g`;
* Adam: :math:`\sigma = \sqrt{\hat v_t} + \epsilon`, :math:`m = \hat m_t`.

``ng_momentum`` writes Momentum in Andrew Ng's form, :math:`V_t = \beta V_{t-1} + (1-\beta) g_t`,
:math:`\theta_t = \theta_{t-1} - \alpha V_t`: the same path as the course form with
:math:`\beta = \lambda` and :math:`\alpha = \eta / (1-\beta)`, at a constant learning rate.

Pure numpy, float64, from the trace's recorded gradients and statistics (``with_stats``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from optimizers.trace import Trace

UNIFIED = ("gd", "momentum", "adagrad", "rmsprop", "adam")


class Parts(NamedTuple):
    """What one optimizer uses at step k as ηᵗ, σᵢᵗ and mᵢᵗ, and the update it took."""

    optimizer: str
    k: int
    eta: float
    sigma: np.ndarray  # (2,)
    m: np.ndarray  # (2,)
    taken: np.ndarray  # Δθ_k, the update the trace recorded

    @property
    def update(self) -> np.ndarray:
        """−ηᵗ mᵢᵗ / σᵢᵗ: the unified rule's step."""
        return -self.eta * self.m / self.sigma


def _momentum_sum(trace: Trace, k: int) -> np.ndarray:
    """m_k = λ m_{k−1} + g_k, m_0 = 0: the decaying sum of the gradients steps 1..k used."""
    lam = float(trace.hyper["momentum"])
    m = np.zeros(2)
    for g in np.asarray(trace.gradients[1: k + 1], np.float64):
        m = lam * m + g
    return m


def parts(trace: Trace, k: int) -> Parts | None:
    """ηᵗ, σᵢᵗ and mᵢᵗ of step k (1 ≤ k ≤ last valid step) for the five optimizers of the
    unified rule; None for another optimizer, a trace without statistics, or a step past
    its divergence."""
    if trace.optimizer not in UNIFIED or trace.gradients is None or not 1 <= k <= trace.last_valid:
        return None
    h, s = trace.hyper, trace.stats
    eta = float(trace.learning_rates[k])
    g = np.asarray(trace.gradients[k], np.float64)
    ones = np.ones(2)
    if trace.optimizer == "gd":
        sigma, m = ones, g
    elif trace.optimizer == "momentum":
        sigma, m = ones, _momentum_sum(trace, k)
    elif trace.optimizer == "adagrad":
        sigma, m = np.sqrt(np.asarray(s["sum_sq"][k], np.float64) + float(h["eps"])), g
    elif trace.optimizer == "rmsprop":
        sigma, m = np.sqrt(np.asarray(s["sq_avg"][k], np.float64)) + float(h["eps"]), g
    else:  # adam
        sigma = np.sqrt(np.asarray(s["v_hat"][k], np.float64)) + float(h["eps"])
        m = np.asarray(s["m_hat"][k], np.float64)
    return Parts(trace.optimizer, k, eta, sigma, m, np.asarray(trace.updates[k], np.float64))


class NgStep(NamedTuple):
    """Momentum's step k in Ng's form: V_k = β V_{k−1} + (1−β) g_k, Δθ_k = −α V_k."""

    k: int
    beta: float  # β = λ
    alpha: float  # α = η_k / (1 − β)
    previous: np.ndarray  # V_{k−1}
    gradient: np.ndarray  # g_k
    velocity: np.ndarray  # V_k
    taken: np.ndarray  # Δθ_k the course form took (v_k)
    constant_rate: bool  # η the same at every step so far: then −αV_k = v_k exactly

    @property
    def update(self) -> np.ndarray:
        return -self.alpha * self.velocity


def ng_momentum(trace: Trace, k: int) -> NgStep | None:
    """A Momentum trace's step k in Ng's form, V from its recorded gradients (V_0 = 0);
    None for another optimizer or a step past its divergence."""
    if trace.optimizer != "momentum" or trace.gradients is None or not 1 <= k <= trace.last_valid:
        return None
    beta = float(trace.hyper["momentum"])
    V = np.zeros(2)
    previous = V
    for g in np.asarray(trace.gradients[1: k + 1], np.float64):
        previous, V = V, beta * V + (1.0 - beta) * g
    rates = np.asarray(trace.learning_rates[1: k + 1], np.float64)
    return NgStep(k, beta, float(trace.learning_rates[k]) / (1.0 - beta), previous,
                  np.asarray(trace.gradients[k], np.float64), V, np.asarray(trace.updates[k], np.float64),
                  bool(np.all(rates == rates[0])))
