r"""Update rules, each an Optax-style pair of pure functions (see base.py).

Notation, as on the pages: :math:`\theta` parameters, :math:`g_t` the gradient at step t
(t counts from 1), :math:`\eta_t` the learning rate (a number or a schedule evaluated at
t - 1, Optax's convention), the updates returned are :math:`\Delta\theta` with
:math:`\theta \leftarrow \theta + \Delta\theta`.

Every hyperparameter may be a traced JAX scalar, so a compiled loop can take new values
without recompiling; boolean switches (``bias_correction``, ``initial_sq_grad``) may be
traced too, as booleans or as 0/1 numbers.

Beside each rule stands its ``explain_*`` function: from the state after an update (and
the gradient that update used, for Nadam) it computes the statistics a page shows
(velocity, accumulated squared gradient, m-hat, Nadam's m-bar, v-hat, the effective
per-coordinate step size). They reuse the helpers the rule uses,
so the formula lives in one place.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optimizers.base import (
    GradientTransformation,
    ScalarOrSchedule,
    learning_rate_at,
    tree_full_like,
    tree_zeros_like,
)

Stats = dict[str, jax.Array]


def _tmap(f, *trees):
    return jax.tree.map(f, *trees)


def _count0() -> jax.Array:
    return jnp.zeros([], jnp.int32)


def ewa(new: jax.Array, avg: jax.Array, decay: jax.Array) -> jax.Array:
    """Exponentially weighted average: decay * avg + (1 - decay) * new.
    It averages over roughly the last 1 / (1 - decay) values."""
    return decay * avg + (1.0 - decay) * new


def bias_corrected(avg: jax.Array, decay: jax.Array, t: jax.Array, on: jax.Array | bool = True) -> jax.Array:
    """avg / (1 - decay^t): undoes the pull toward the zero the average started from.
    With ``on`` false the average is returned as it is."""
    correction = 1.0 - decay ** t.astype(avg.dtype)
    return avg / jnp.where(on, correction, jnp.ones_like(correction))


def bias_ratio(b1: float, b2: float, t) -> np.ndarray:
    """(1 - b1^t) / sqrt(1 - b2^t): how many times larger Adam's step t is without bias
    correction than with it (epsilon aside; t counts from 1). On the host, in float64."""
    t = np.asarray(t, np.float64)
    return (1.0 - float(b1) ** t) / np.sqrt(1.0 - float(b2) ** t)


# ---------------------------------------------------------------------------------------
# Gradient descent


class CountState(NamedTuple):
    count: jax.Array  # updates done so far (for the schedule)


def gd(learning_rate: ScalarOrSchedule = 0.01) -> GradientTransformation:
    r"""Plain gradient descent.

    .. math:: \theta_t = \theta_{t-1} - \eta_t\, g_t

    Args:
      learning_rate: :math:`\eta`, a number or a schedule of the step count.
    """

    def init(params):
        del params
        return CountState(_count0())

    def update(grads, state, params=None):
        del params
        lr = learning_rate_at(learning_rate, state.count)
        return _tmap(lambda g: -lr * g, grads), CountState(state.count + 1)

    return GradientTransformation(init, update)


def explain_gd(state: CountState, lr: jax.Array, **_) -> Stats:
    return {}


# ---------------------------------------------------------------------------------------
# Momentum (the course's heavy ball) and Nesterov


class VelocityState(NamedTuple):
    count: jax.Array
    velocity: jax.Array  # v (momentum) or the buffer b (nesterov)


def momentum(learning_rate: ScalarOrSchedule = 0.01, momentum: float = 0.9) -> GradientTransformation:
    r"""Heavy-ball momentum, written as the course writes it.

    .. math::
        v_t = \lambda v_{t-1} - \eta_t g_t, \qquad \theta_t = \theta_{t-1} + v_t, \qquad v_0 = 0

    The velocity is a decaying sum of all past gradients, so the ball keeps rolling
    through small bumps and flat stretches. With a constant :math:`\eta` this is exactly
    ``optax.sgd(eta, momentum=lambda)`` (Optax keeps :math:`-v/\eta` instead of
    :math:`v`); under a schedule the two differ: here each gradient keeps the rate of
    the step it arrived at, in Optax the whole buffer is scaled by today's rate.

    Args:
      learning_rate: :math:`\eta`.
      momentum: :math:`\lambda \in [0, 1)`, how much of the velocity survives a step.
    """

    def init(params):
        return VelocityState(_count0(), tree_zeros_like(params))

    def update(grads, state, params=None):
        del params
        lr = learning_rate_at(learning_rate, state.count)
        v = _tmap(lambda v, g: momentum * v - lr * g, state.velocity, grads)
        return v, VelocityState(state.count + 1, v)

    return GradientTransformation(init, update)


def explain_momentum(state: VelocityState, lr: jax.Array, **_) -> Stats:
    return {"velocity": state.velocity}


def nesterov(learning_rate: ScalarOrSchedule = 0.01, momentum: float = 0.9) -> GradientTransformation:
    r"""Nesterov's accelerated gradient, in the Optax / PyTorch form.

    .. math::
        b_t = \mu b_{t-1} + g_t, \qquad \theta_t = \theta_{t-1} - \eta_t (g_t + \mu b_t)

    This is the look-ahead method of the course (take the gradient at
    :math:`\theta + \mu v`, where the momentum is about to carry you) written in shifted
    variables: storing the look-ahead point instead of :math:`\theta` turns the gradient
    at the look-ahead point into a gradient at the stored point, so no extra gradient
    evaluation is needed. With a constant :math:`\eta` the iterates are the same method,
    shifted by :math:`\mu v` (:math:`v_t = -\eta b_t`); under a schedule the two forms
    differ, as Momentum's course form and ``optax.sgd`` do: the look-ahead form keeps
    each gradient at the rate of its own step, this one scales the whole buffer by
    today's rate.

    Args:
      learning_rate: :math:`\eta`.
      momentum: :math:`\mu \in [0, 1)`.
    """

    def init(params):
        return VelocityState(_count0(), tree_zeros_like(params))

    def update(grads, state, params=None):
        del params
        lr = learning_rate_at(learning_rate, state.count)
        b = _tmap(lambda b, g: momentum * b + g, state.velocity, grads)
        updates = _tmap(lambda g, b: -lr * (g + momentum * b), grads, b)
        return updates, VelocityState(state.count + 1, b)

    return GradientTransformation(init, update)


explain_nesterov = explain_momentum


# ---------------------------------------------------------------------------------------
# AdaGrad and RMSProp


class SumSqState(NamedTuple):
    count: jax.Array
    sum_sq: jax.Array  # G, the running sum of squared gradients


def adagrad(
    learning_rate: ScalarOrSchedule = 0.1,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-7,
) -> GradientTransformation:
    r"""AdaGrad: each coordinate's step shrinks with the size of all its past gradients.

    .. math::
        G_t = G_{t-1} + g_t^2, \qquad \theta_t = \theta_{t-1} - \frac{\eta_t}{\sqrt{G_t + \epsilon}}\, g_t

    (element-wise). Steep directions get small steps, flat ones large; but G only grows,
    so every step shrinks over time and training can stall.

    Convention: ``optax.adagrad`` starts the accumulator at 0.1; we start at the
    textbook 0 (pass ``initial_accumulator_value=0.1`` for Optax's). Epsilon sits inside
    the square root, as in Optax.

    Args:
      learning_rate: :math:`\eta`.
      initial_accumulator_value: :math:`G_0 \ge 0`.
      eps: :math:`\epsilon`, keeps the division finite.
    """

    def init(params):
        return SumSqState(_count0(), tree_full_like(params, initial_accumulator_value))

    def update(grads, state, params=None):
        del params
        lr = learning_rate_at(learning_rate, state.count)
        G = _tmap(lambda G, g: G + g * g, state.sum_sq, grads)
        updates = _tmap(lambda g, G: -lr * g / jnp.sqrt(G + eps), grads, G)
        return updates, SumSqState(state.count + 1, G)

    return GradientTransformation(init, update)


def explain_adagrad(state: SumSqState, lr: jax.Array, eps: float = 1e-7, **_) -> Stats:
    return {"sum_sq": state.sum_sq, "step_size": lr / jnp.sqrt(state.sum_sq + eps)}


class SqAvgState(NamedTuple):
    count: jax.Array
    sq_avg: jax.Array  # sigma^2, the moving average of squared gradients


def rmsprop(
    learning_rate: ScalarOrSchedule = 0.01,
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_sq_grad: bool | jax.Array = False,
) -> GradientTransformation:
    r"""RMSProp: AdaGrad with a moving window instead of the whole history.

    .. math::
        \sigma_t^2 = \alpha \sigma_{t-1}^2 + (1 - \alpha) g_t^2, \qquad
        \theta_t = \theta_{t-1} - \frac{\eta_t}{\sqrt{\sigma_t^2} + \epsilon}\, g_t,
        \qquad \sigma_0^2 = 0

    Old gradients fade with factor :math:`\alpha`, so the step can grow again when the
    surface flattens. Epsilon outside the root, as in PyTorch and Keras (Optax's
    ``rmsprop(..., eps_in_sqrt=False)``).

    Start: by default :math:`\sigma_0^2 = 0` with no bias correction, the PyTorch and
    Optax convention, so :math:`\sigma_1^2 = (1-\alpha) g_1^2` and the first step is
    :math:`\eta / \sqrt{1-\alpha}` per coordinate (about :math:`3.16\eta` at
    :math:`\alpha = 0.9`). With ``initial_sq_grad`` the course's form is used instead,
    :math:`\sigma_1^2 = g_1^2` (the notes' :math:`\sigma^0 = g^0`), and the first step
    is :math:`\eta` per coordinate.

    Args:
      learning_rate: :math:`\eta`.
      decay: :math:`\alpha \in [0, 1)`, the weight of the past.
      eps: :math:`\epsilon`.
      initial_sq_grad: start from :math:`\sigma_1^2 = g_1^2` (may be a traced boolean or 0/1).
    """

    def init(params):
        return SqAvgState(_count0(), tree_zeros_like(params))

    def update(grads, state, params=None):
        del params
        lr = learning_rate_at(learning_rate, state.count)
        first = jnp.logical_and(jnp.asarray(initial_sq_grad) != 0, state.count == 0)
        s = _tmap(lambda s, g: jnp.where(first, g * g, ewa(g * g, s, decay)), state.sq_avg, grads)
        updates = _tmap(lambda g, s: -lr * g / (jnp.sqrt(s) + eps), grads, s)
        return updates, SqAvgState(state.count + 1, s)

    return GradientTransformation(init, update)


def explain_rmsprop(state: SqAvgState, lr: jax.Array, eps: float = 1e-8, **_) -> Stats:
    return {"sq_avg": state.sq_avg, "step_size": lr / (jnp.sqrt(state.sq_avg) + eps)}


# ---------------------------------------------------------------------------------------
# The Adam family


class AdamState(NamedTuple):
    count: jax.Array
    mu: jax.Array  # m, first moment
    nu: jax.Array  # v, second moment


class AmsgradState(NamedTuple):
    count: jax.Array
    mu: jax.Array
    nu: jax.Array
    nu_max: jax.Array  # the largest (bias-corrected) v so far


def _adam_init(params) -> AdamState:
    return AdamState(_count0(), tree_zeros_like(params), tree_zeros_like(params))


def _moments(grads, state, b1, b2):
    mu = _tmap(lambda m, g: ewa(g, m, b1), state.mu, grads)
    nu = _tmap(lambda v, g: ewa(g * g, v, b2), state.nu, grads)
    return mu, nu, state.count + 1


def adam(
    learning_rate: ScalarOrSchedule = 0.001,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    bias_correction: bool | jax.Array = True,
) -> GradientTransformation:
    r"""Adam: momentum on the gradient, RMSProp on its square, both bias-corrected.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,

        \hat m_t = \frac{m_t}{1-\beta_1^t}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t}, \qquad
        \theta_t = \theta_{t-1} - \eta_t \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    m and v start at 0, so early averages are pulled toward 0; dividing by
    :math:`1-\beta^t` removes that pull. With ``bias_correction=False`` the division is
    skipped (:math:`\hat m = m`, :math:`\hat v = v`): step t is then
    :math:`(1-\beta_1^t)/\sqrt{1-\beta_2^t}` times the corrected one (``bias_ratio``;
    epsilon aside). With the defaults that is 3.16 at t = 1, rises to about 6.6 around
    t = 12, is still 3.2 at t = 100 and falls to 1 only over thousands of steps.

    Args:
      learning_rate: :math:`\eta`.
      b1: :math:`\beta_1`, decay of the first moment (momentum).
      b2: :math:`\beta_2`, decay of the second moment.
      eps: :math:`\epsilon`, outside the root as in the paper and Optax.
      bias_correction: divide by :math:`1-\beta^t` (may be a traced boolean).
    """

    init = _adam_init

    def update(grads, state, params=None):
        del params
        lr = learning_rate_at(learning_rate, state.count)
        mu, nu, t = _moments(grads, state, b1, b2)
        updates = _tmap(
            lambda m, v: -lr * bias_corrected(m, b1, t, bias_correction)
            / (jnp.sqrt(bias_corrected(v, b2, t, bias_correction)) + eps),
            mu,
            nu,
        )
        return updates, AdamState(t, mu, nu)

    return GradientTransformation(init, update)


def explain_adam(
    state: AdamState, lr: jax.Array, b1=0.9, b2=0.999, eps=1e-8, bias_correction=True, **_
) -> Stats:
    m_hat = bias_corrected(state.mu, b1, state.count, bias_correction)
    v_hat = bias_corrected(state.nu, b2, state.count, bias_correction)
    return {"m_hat": m_hat, "v_hat": v_hat, "step_size": lr / (jnp.sqrt(v_hat) + eps)}


def adamw(
    learning_rate: ScalarOrSchedule = 0.001,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
) -> GradientTransformation:
    r"""AdamW: Adam with decoupled weight decay.

    .. math::
        \theta_t = \theta_{t-1} - \eta_t \left(\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} + \lambda \theta_{t-1}\right)

    with m, v, m-hat, v-hat as in Adam. The decay pulls every weight toward 0 at rate
    :math:`\eta\lambda`, apart from the adaptive scaling (an L2 term added to the loss
    would be divided by :math:`\sqrt{\hat v}` too). Default :math:`\lambda = 0.01` as in
    PyTorch (Optax's default is 1e-4).

    Args:
      learning_rate: :math:`\eta`.
      b1, b2, eps: as in Adam.
      weight_decay: :math:`\lambda`.
    """

    init = _adam_init

    def update(grads, state, params):
        lr = learning_rate_at(learning_rate, state.count)
        mu, nu, t = _moments(grads, state, b1, b2)
        updates = _tmap(
            lambda m, v, p: -lr
            * (bias_corrected(m, b1, t) / (jnp.sqrt(bias_corrected(v, b2, t)) + eps) + weight_decay * p),
            mu,
            nu,
            params,
        )
        return updates, AdamState(t, mu, nu)

    return GradientTransformation(init, update)


def explain_adamw(state: AdamState, lr: jax.Array, b1=0.9, b2=0.999, eps=1e-8, **_) -> Stats:
    return explain_adam(state, lr, b1=b1, b2=b2, eps=eps)


def amsgrad(
    learning_rate: ScalarOrSchedule = 0.001, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    r"""AMSGrad: Adam whose denominator never shrinks.

    .. math::
        \hat v^{\max}_t = \max(\hat v^{\max}_{t-1}, \hat v_t), \qquad
        \theta_t = \theta_{t-1} - \eta_t \frac{\hat m_t}{\sqrt{\hat v^{\max}_t} + \epsilon}

    with m, v, m-hat, v-hat as in Adam. Keeping the largest second moment seen stops a
    run of small gradients from inflating the step (a fix for cases where Adam fails to
    converge). Same convention as ``optax.amsgrad`` (the maximum is over bias-corrected v).

    Args:
      learning_rate: :math:`\eta`.
      b1, b2, eps: as in Adam.
    """

    def init(params):
        z = tree_zeros_like(params)
        return AmsgradState(_count0(), z, z, z)

    def update(grads, state, params=None):
        del params
        lr = learning_rate_at(learning_rate, state.count)
        mu, nu, t = _moments(grads, state, b1, b2)
        nu_max = _tmap(lambda vm, v: jnp.maximum(vm, bias_corrected(v, b2, t)), state.nu_max, nu)
        updates = _tmap(lambda m, vm: -lr * bias_corrected(m, b1, t) / (jnp.sqrt(vm) + eps), mu, nu_max)
        return updates, AmsgradState(t, mu, nu, nu_max)

    return GradientTransformation(init, update)


def explain_amsgrad(state: AmsgradState, lr: jax.Array, b1=0.9, b2=0.999, eps=1e-8, **_) -> Stats:
    return {
        "m_hat": bias_corrected(state.mu, b1, state.count),
        "v_hat": bias_corrected(state.nu, b2, state.count),
        "v_max": state.nu_max,
        "step_size": lr / (jnp.sqrt(state.nu_max) + eps),
    }


def _nesterov_m_hat(m, g, b1, t):
    """Nadam's look-ahead first moment: b1 * m / (1 - b1^(t+1)) + (1 - b1) * g / (1 - b1^t)."""
    return b1 * bias_corrected(m, b1, t + 1) + (1.0 - b1) * bias_corrected(g, b1, t)


def nadam(
    learning_rate: ScalarOrSchedule = 0.001, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    r"""Nadam: Adam with a Nesterov look-ahead on the first moment.

    .. math::
        \bar m_t = \frac{\beta_1 m_t}{1-\beta_1^{t+1}} + \frac{(1-\beta_1) g_t}{1-\beta_1^{t}}, \qquad
        \theta_t = \theta_{t-1} - \eta_t \frac{\bar m_t}{\sqrt{\hat v_t} + \epsilon}

    The next step's momentum is used now, as Nesterov does for plain momentum.
    Same as ``optax.nadam``.
    """

    init = _adam_init

    def update(grads, state, params=None):
        del params
        lr = learning_rate_at(learning_rate, state.count)
        mu, nu, t = _moments(grads, state, b1, b2)
        updates = _tmap(
            lambda m, v, g: -lr * _nesterov_m_hat(m, g, b1, t) / (jnp.sqrt(bias_corrected(v, b2, t)) + eps),
            mu,
            nu,
            grads,
        )
        return updates, AdamState(t, mu, nu)

    return GradientTransformation(init, update)


def explain_nadam(state: AdamState, lr: jax.Array, *, grads: jax.Array, b1=0.9, b2=0.999, eps=1e-8, **_) -> Stats:
    """Adam's statistics plus m-bar, the look-ahead momentum Nadam steps with (the
    update is -m_bar * step_size). m-bar needs the step's gradient: m_t alone does not
    give it back."""
    stats = explain_adam(state, lr, b1=b1, b2=b2, eps=eps)
    stats["m_bar"] = _tmap(lambda m, g: _nesterov_m_hat(m, g, b1, state.count), state.mu, grads)
    return stats


def radam_rectifier(b2: jax.Array, t: jax.Array) -> tuple[jax.Array, jax.Array]:
    """RAdam's (rho_t, r_t): the length of the approximated moving average and the
    variance rectification factor (meaningful where rho_t >= threshold)."""
    tf = t.astype(jnp.float32)
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    b2t = b2**tf
    rho = rho_inf - 2.0 * tf * b2t / (1.0 - b2t)
    r = jnp.sqrt(jnp.abs((rho - 4.0) * (rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)))
    return rho, r


def radam(
    learning_rate: ScalarOrSchedule = 0.001,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    threshold: float = 5.0,
) -> GradientTransformation:
    r"""RAdam: Adam that waits until its second moment can be trusted.

    .. math::
        \rho_\infty = \frac{2}{1-\beta_2} - 1, \quad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1-\beta_2^t}, \quad
        r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

        \theta_t = \theta_{t-1} - \eta_t \begin{cases} r_t \frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon} & \rho_t \ge \rho_{\min} \\ \hat m_t & \rho_t < \rho_{\min} \end{cases}

    While few gradients have been seen, v-hat is too noisy to divide by, so the first
    steps are plain momentum steps: a built-in warm-up. :math:`\rho_{\min}` is the
    ``threshold`` hyperparameter (5 by default, as in Optax; the paper uses 4); a page
    shows the value in use (``OptimizerSpec.latex_for``). Same as ``optax.radam``.
    """

    init = _adam_init

    def update(grads, state, params=None):
        del params
        lr = learning_rate_at(learning_rate, state.count)
        mu, nu, t = _moments(grads, state, b1, b2)
        rho, r = radam_rectifier(b2, t)

        def step(m, v):
            m_hat = bias_corrected(m, b1, t)
            adaptive = r * m_hat / (jnp.sqrt(bias_corrected(v, b2, t)) + eps)
            return -lr * jnp.where(rho >= threshold, adaptive, m_hat)

        return _tmap(step, mu, nu), AdamState(t, mu, nu)

    return GradientTransformation(init, update)


def explain_radam(state: AdamState, lr: jax.Array, b1=0.9, b2=0.999, eps=1e-8, threshold=5.0, **_) -> Stats:
    stats = explain_adam(state, lr, b1=b1, b2=b2, eps=eps)
    rho, r = radam_rectifier(b2, state.count)
    stats["step_size"] = jnp.where(rho >= threshold, r * stats["step_size"], lr * jnp.ones_like(stats["v_hat"]))
    return stats
