"""Our update rules against Optax (the reference implementation of the same formulas),
inside Optax chains and on pytrees, and Adam's bias correction against hand-rolled math.

Two comparisons per optimizer and surface, 200 steps, float32, rtol 1e-5 / atol 1e-6:

* our (init, update) pair built with Python-float hyperparameters vs Optax built the
  same way;
* ``optimizers.trace`` vs Optax fed the same hyperparameters as float32 *traced* inputs.
  trace passes every hyperparameter into the compiled loop as float32 data (so new
  values do not recompile). That rounds e.g. ``1 - b1`` differently from Optax's
  Python-float ``1 - 0.9`` (0.100000024 vs 0.1 in float32); on Rosenbrock such a
  1-ulp difference grows to ~2e-4 over 200 RMSProp steps, and RAdam's
  ``rho_inf = 2 / (1 - b2) - 1`` moves by 0.026. Fed float32 hyperparameters, Optax
  agrees with trace exactly, so that is the fair comparison.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax import lax

import catalog
import optimizers
import surfaces
from optimizers import rules
from optimizers.registry import REGISTRY

RTOL, ATOL = 1e-5, 1e-6
STEPS = 200

# Optax configured to each rule's convention; h holds every hyperparameter of ours.
OPTAX: dict[str, Callable[[dict[str, Any]], optax.GradientTransformation]] = {
    "gd": lambda h: optax.sgd(h["learning_rate"]),
    "momentum": lambda h: optax.sgd(h["learning_rate"], momentum=h["momentum"]),
    "nesterov": lambda h: optax.sgd(h["learning_rate"], momentum=h["momentum"], nesterov=True),
    "adagrad": lambda h: optax.adagrad(
        h["learning_rate"], initial_accumulator_value=h["initial_accumulator_value"], eps=h["eps"]
    ),
    "rmsprop": lambda h: optax.rmsprop(h["learning_rate"], decay=h["decay"], eps=h["eps"], eps_in_sqrt=False),
    "adam": lambda h: optax.adam(h["learning_rate"], b1=h["b1"], b2=h["b2"], eps=h["eps"]),
    "adamw": lambda h: optax.adamw(
        h["learning_rate"], b1=h["b1"], b2=h["b2"], eps=h["eps"], weight_decay=h["weight_decay"]
    ),
    "amsgrad": lambda h: optax.amsgrad(h["learning_rate"], b1=h["b1"], b2=h["b2"], eps=h["eps"]),
    "nadam": lambda h: optax.nadam(h["learning_rate"], b1=h["b1"], b2=h["b2"], eps=h["eps"]),
    "radam": lambda h: optax.radam(h["learning_rate"], b1=h["b1"], b2=h["b2"], eps=h["eps"], threshold=h["threshold"]),
}

# Learning rates that keep every run finite and moving (checked below) on both surfaces.
CASES: list[tuple[str, dict[str, float]]] = [
    ("gd", {"learning_rate": 1e-3}),
    ("momentum", {"learning_rate": 1e-3, "momentum": 0.9}),
    ("nesterov", {"learning_rate": 1e-3, "momentum": 0.9}),
    ("adagrad", {"learning_rate": 0.1}),  # our G0 = 0 passed to Optax (whose default is 0.1)
    ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.1}),
    # At lr 0.01 RMSProp on Rosenbrock is chaotic: moving the start by one float32 ulp
    # moves step 200 by 1e-2, so Optax's g * (1 / (sqrt(v) + eps)) vs our
    # g / (sqrt(v) + eps) (1 ulp apart) cannot agree to 1e-5 there. At 5e-3 a 1-ulp
    # start change moves step 200 by 2e-7 (measured).
    ("rmsprop", {"learning_rate": 5e-3}),
    ("adam", {"learning_rate": 0.01}),
    ("adamw", {"learning_rate": 0.01, "weight_decay": 0.01}),
    ("amsgrad", {"learning_rate": 0.01}),
    ("nadam", {"learning_rate": 0.01}),
    ("radam", {"learning_rate": 0.01}),
]
SURFACES = [("rosenbrock", (-1.5, 2.0)), ("ravine", (-2.5, 0.5))]


def full_hyper(name: str, given: dict[str, float]) -> dict[str, float]:
    """Every hyperparameter of ours (defaults for the rest), minus our-only switches."""
    h = {**REGISTRY[name].defaults, **given}
    h.pop("bias_correction", None)
    h.pop("initial_sq_grad", None)  # off by default: PyTorch's and Optax's start
    return h


def run_loop(
    make: Callable[[dict[str, Any]], Any],
    hyper: dict[str, float],
    f: Callable[[jax.Array], jax.Array],
    start: tuple[float, float],
    num_steps: int,
    traced: bool = False,
) -> np.ndarray:
    """Points (num_steps + 1, 2) of the loop p <- p + update(grad f(p)). With traced,
    the hyperparameters enter the compiled loop as float32 arguments (as in trace)."""

    def go(p0: jax.Array, h: dict[str, Any]) -> jax.Array:
        opt = make(h)

        def body(carry, _):
            p, state = carry
            updates, state = opt.update(jax.grad(f)(p), state, p)
            p = optax.apply_updates(p, updates)
            return (p, state), p

        _, ps = lax.scan(body, (p0, opt.init(p0)), None, length=num_steps)
        return jnp.concatenate([p0[None], ps])

    p0 = jnp.asarray(start, jnp.float32)
    if traced:
        return np.asarray(jax.jit(go)(p0, {k: jnp.float32(v) for k, v in hyper.items()}))
    return np.asarray(jax.jit(lambda p: go(p, hyper))(p0))


def _case_id(case: tuple[str, dict[str, float]]) -> str:
    name, h = case
    return name + ("-G0=0.1" if h.get("initial_accumulator_value") else "")


@pytest.mark.parametrize("surface,start", SURFACES, ids=[s for s, _ in SURFACES])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_matches_optax_for_200_steps(surface: str, start: tuple[float, float], case) -> None:
    name, given = case
    s = surfaces.get(surface)
    h = full_hyper(name, given)
    reference = run_loop(OPTAX[name], h, s.fn, start, STEPS)
    assert np.all(np.isfinite(reference))
    assert np.linalg.norm(reference[-1] - reference[0]) > 0.05, "a run that does not move proves nothing"

    ours = run_loop(lambda hh: optimizers.build(name, **hh), h, s.fn, start, STEPS)
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=ATOL)

    traced_reference = run_loop(OPTAX[name], h, s.fn, start, STEPS, traced=True)
    traced = optimizers.trace(s, name, start, STEPS, **given)
    assert traced.diverged_at is None
    np.testing.assert_allclose(traced.points, traced_reference, rtol=RTOL, atol=ATOL)


def test_adagrad_defaults_differ_from_optax_only_in_the_accumulator_start() -> None:
    """Our G0 defaults to 0, Optax's to 0.1: the default-built runs must differ, and agree
    once G0 is made equal (guards against the convention silently changing). The start
    lies on the valley floor 0.1 from the minimum, where |g| = 0.1 and g^2 << 0.1, so
    Optax's first step is ~3x shorter."""
    f, start = surfaces.get("ravine").fn, (0.1 * np.cos(np.pi / 6), 0.1 * np.sin(np.pi / 6))
    ours = run_loop(lambda h: optimizers.build("adagrad", learning_rate=0.1), {}, f, start, 20)
    optax_default = run_loop(lambda h: optax.adagrad(0.1), {}, f, start, 20)
    assert np.abs(ours - optax_default).max() > 1e-2
    optax_g0 = run_loop(lambda h: optax.adagrad(0.1, initial_accumulator_value=0.0), {}, f, start, 20)
    np.testing.assert_allclose(ours, optax_g0, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------------------
# Pytrees and Optax chains

_rng = np.random.default_rng(0)
_X = jnp.asarray(_rng.standard_normal((20, 3)), jnp.float32)
_Y = jnp.asarray(_rng.standard_normal((20, 2)), jnp.float32)


def _regression_loss(params: dict[str, jax.Array]) -> jax.Array:
    return jnp.mean((_X @ params["w"] + params["b"] - _Y) ** 2)


def _params0() -> dict[str, jax.Array]:
    return {"w": jnp.asarray([[0.5, -1.0], [2.0, 0.0], [-0.3, 0.7]], jnp.float32), "b": jnp.asarray([1.0, -2.0])}


def run_pytree(opt: optax.GradientTransformation, num_steps: int = 100) -> dict[str, np.ndarray]:
    @jax.jit
    def go(params):
        def body(carry, _):
            p, state = carry
            updates, state = opt.update(jax.grad(_regression_loss)(p), state, p)
            return (optax.apply_updates(p, updates), state), None

        return lax.scan(body, (params, opt.init(params)), None, length=num_steps)[0][0]

    return jax.tree.map(np.asarray, go(_params0()))


def _assert_trees_close(a, b) -> None:
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(x, y, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_pytree_params_match_optax(case) -> None:
    name, given = case
    h = full_hyper(name, given)
    reference = run_pytree(OPTAX[name](h))
    ours = run_pytree(optimizers.build(name, **h))
    moved = max(np.abs(r - p).max() for r, p in zip(jax.tree.leaves(reference), jax.tree.leaves(_params0())))
    assert moved > 0.01
    _assert_trees_close(ours, reference)


@pytest.mark.parametrize("clip", [1e9, 1.0])
def test_runs_inside_an_optax_chain(clip: float) -> None:
    """clip 1.0 is active here (the first gradients have norm > 1), so the chain really
    feeds our update transformed gradients."""
    g_norm = optax.tree.norm(jax.grad(_regression_loss)(_params0()))
    assert clip > 1e8 or g_norm > clip
    ours = run_pytree(optax.chain(optax.clip_by_global_norm(clip), optimizers.build("adam", learning_rate=0.01)))
    reference = run_pytree(optax.chain(optax.clip_by_global_norm(clip), optax.adam(0.01)))
    _assert_trees_close(ours, reference)


def test_apply_updates_matches_optax() -> None:
    p = _params0()
    u = jax.tree.map(lambda x: 0.5 * x + 1.0, p)
    _assert_trees_close(optimizers.apply_updates(p, u), optax.apply_updates(p, u))


# ---------------------------------------------------------------------------------------
# Adam's bias correction


def _rosenbrock_grad64(p: np.ndarray) -> np.ndarray:
    x, y = p
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])


def test_adam_without_bias_correction_matches_hand_rolled_adam() -> None:
    lr, b1, b2, eps, steps = 0.01, 0.9, 0.999, 1e-8, 5
    p = np.array([-1.5, 2.0])
    m, v = np.zeros(2), np.zeros(2)
    expected = [p.copy()]
    for _ in range(steps):
        g = _rosenbrock_grad64(p)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * m / (np.sqrt(v) + eps)
        expected.append(p.copy())
    f, start = surfaces.get("rosenbrock").fn, (-1.5, 2.0)
    off = run_loop(lambda h: optimizers.build("adam", learning_rate=lr, bias_correction=False), {}, f, start, steps)
    on = run_loop(lambda h: optimizers.build("adam", learning_rate=lr), {}, f, start, steps)
    np.testing.assert_allclose(off, np.array(expected), rtol=1e-5, atol=1e-6)
    assert np.abs(off - on).max() > 1e-2  # first step alone differs by ~2.2 lr per coordinate

    # The switch may be a traced boolean, and trace's 0/1 switch agrees.
    traced_off = run_loop(
        lambda h: optimizers.build("adam", learning_rate=lr, bias_correction=h["bc"]), {"bc": False}, f, start, steps,
        traced=True,
    )
    np.testing.assert_allclose(traced_off, off, rtol=1e-6, atol=1e-7)
    t = optimizers.trace(f, "adam", start, steps, learning_rate=lr, bias_correction=0.0)
    np.testing.assert_allclose(t.points, off, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("g", [(3.0, -0.5), (1e-3, 250.0)])
def test_adam_first_step_size(g: tuple[float, float]) -> None:
    """With correction m_hat = g and v_hat = g^2 at t = 1, so the update is
    -lr g / (|g| + eps) ~ -lr sign(g), whatever the gradient's size. Without it,
    -lr (1 - b1) g / (sqrt(1 - b2) |g| + eps) ~ -3.16 lr sign(g)."""
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    grads, params = jnp.asarray(g, jnp.float32), jnp.zeros(2)
    ga = np.abs(np.asarray(g))
    for bc, expected in [
        (True, -lr * np.asarray(g) / (ga + eps)),
        (False, -lr * (1 - b1) * np.asarray(g) / (np.sqrt(1 - b2) * ga + eps)),
    ]:
        opt = optimizers.build("adam", learning_rate=lr, bias_correction=bc)
        updates, _ = opt.update(grads, opt.init(params), params)
        np.testing.assert_allclose(np.asarray(updates), expected, rtol=1e-5)
    # ~3.16 lr per coordinate (eps shifts the tiny-gradient case by 3e-4 relative).
    np.testing.assert_allclose(np.abs(expected), lr * (1 - b1) / np.sqrt(1 - b2), rtol=1e-3)


# ---------------------------------------------------------------------------------------
# Conventions that differ from Optax, and the registry


def test_momentum_under_a_schedule_keeps_each_gradients_rate() -> None:
    """The docstring's claim: v_t = lambda v_{t-1} - eta_t g_t (each gradient scaled by
    the rate of its own step), not Optax's eta_t * (buffer of raw gradients)."""
    lam, steps = 0.9, 30
    sched = lambda t: 0.002 / (1.0 + 0.5 * jnp.asarray(t, jnp.float32))
    p, v, expected = np.array([-1.5, 2.0]), np.zeros(2), [np.array([-1.5, 2.0])]
    for t in range(steps):
        v = lam * v - 0.002 / (1.0 + 0.5 * t) * _rosenbrock_grad64(p)
        p = p + v
        expected.append(p.copy())
    f, start = surfaces.get("rosenbrock").fn, (-1.5, 2.0)
    ours = run_loop(lambda h: optimizers.build("momentum", learning_rate=sched, momentum=lam), {}, f, start, steps)
    np.testing.assert_allclose(ours, np.array(expected), rtol=1e-4, atol=1e-5)
    optax_form = run_loop(lambda h: optax.sgd(sched, momentum=lam), {}, f, start, steps)
    assert np.abs(ours - optax_form).max() > 1e-3


def test_registry_lists_the_ten_optimizers_and_rejects_unknown_hyperparameters() -> None:
    assert optimizers.names() == list(OPTAX)
    with pytest.raises(TypeError):
        optimizers.build("adam", momentum=0.9)


@pytest.mark.parametrize("name", list(OPTAX))
def test_explain_returns_the_registered_stats_and_latex_is_extracted(name: str) -> None:
    spec = REGISTRY[name]
    opt = optimizers.build(name)
    p = jnp.asarray([0.3, -0.2])
    g = jnp.asarray([1.0, 2.0])
    _, state = opt.update(g, opt.init(p), p)
    stats = spec.explain(state, jnp.float32(spec.defaults["learning_rate"]), grads=g, **spec.defaults)
    assert set(spec.stats) <= set(stats)
    for s in spec.stats:
        assert np.asarray(stats[s]).shape == (2,) and np.all(np.isfinite(stats[s]))
    assert spec.latex and ".. math::" not in spec.latex and "Args" not in spec.latex


def test_radam_rectifier_matches_float64_formula() -> None:
    """rho_t ~ t for small t, so the adaptive step starts at t = 6 (rho_5 < 5 <= rho_6);
    r_t -> 1 as t grows. float32 cancellation in rho_inf - 2 t b^t / (1 - b^t) costs
    ~0.03 at small t (Optax computes it the same way)."""
    b2, t = 0.999, np.arange(1, 12)
    rho64 = (2 / (1 - b2) - 1) - 2 * t * b2**t / (1 - b2**t)
    rho, _ = rules.radam_rectifier(b2, jnp.asarray(t))
    np.testing.assert_allclose(np.asarray(rho), rho64, atol=0.05)
    assert rho64[4] < 5.0 <= rho64[5] and float(rho[4]) < 5.0 <= float(rho[5])
    _, r_late = rules.radam_rectifier(b2, jnp.asarray(100_000))
    np.testing.assert_allclose(float(r_late), 1.0, atol=1e-3)



# ---------------------------------------------------------------------------------------
# Issue 17: what the pages say about conventions, checked


def test_bias_ratio_is_the_step_without_correction_over_the_step_with_it() -> None:
    """(1 - b1^t) / sqrt(1 - b2^t) with the defaults: 3.16 at t = 1, a peak of about 6.6
    at t = 12, still 3.2 at t = 100 (the note and the chart say so)."""
    t = np.arange(1, 5001)
    r = rules.bias_ratio(0.9, 0.999, t)
    assert r[0] == pytest.approx(1 / np.sqrt(0.1), rel=1e-12) and r[0] == pytest.approx(3.16, abs=0.005)
    assert int(np.argmax(r)) + 1 == 12 and r.max() == pytest.approx(6.6, abs=0.05)
    assert r[99] == pytest.approx(3.2, abs=0.05) and r[-1] < 1.01
    # It is the ratio of the updates themselves on a constant gradient (eps negligible).
    g, p = jnp.asarray([0.7, -2.0]), jnp.zeros(2)
    states = {bc: optimizers.build("adam", learning_rate=0.01, bias_correction=bc, eps=1e-12) for bc in (True, False)}
    s_on, s_off = states[True].init(p), states[False].init(p)
    for k in range(1, 31):
        u_on, s_on = states[True].update(g, s_on, p)
        u_off, s_off = states[False].update(g, s_off, p)
        np.testing.assert_allclose(np.asarray(u_off) / np.asarray(u_on), r[k - 1], rtol=1e-4)
    for lang, words in (("en", ("3.16", "6.6", "t = 12", "3.2", "t = 100")), ("zh", ("3.16", "6.6", "t = 12", "3.2"))):
        note = catalog.messages(lang)["optimizers.adam.note"]
        assert all(w in note for w in words), (lang, note)


def _rmsprop_hand(g_of, start, steps, lr, alpha, eps, course: bool) -> np.ndarray:
    p, s, out = np.asarray(start, float), np.zeros(2), [np.asarray(start, float)]
    for t in range(1, steps + 1):
        g = g_of(p)
        s = g * g if (course and t == 1) else alpha * s + (1 - alpha) * g * g
        p = p - lr * g / (np.sqrt(s) + eps)
        out.append(p.copy())
    return np.array(out)


@pytest.mark.parametrize("g", [(3.0, -0.5), (1e-3, 250.0)])
def test_rmsprop_first_step_is_eta_in_the_course_form_and_3_16_eta_by_default(g) -> None:
    """sigma_0^2 = 0 (PyTorch, Optax): sigma_1^2 = (1 - a) g^2, first step lr / sqrt(1 - a)
    per coordinate, 3.16 lr at a = 0.9. The course's sigma_1^2 = g_1^2: first step lr."""
    lr, alpha = 0.01, 0.9
    grads, params = jnp.asarray(g, jnp.float32), jnp.zeros(2)
    for course, size in ((False, lr / np.sqrt(1 - alpha)), (True, lr)):
        opt = optimizers.build("rmsprop", learning_rate=lr, decay=alpha, initial_sq_grad=course)
        updates, _ = opt.update(grads, opt.init(params), params)
        np.testing.assert_allclose(np.asarray(updates), -size * np.sign(g), rtol=1e-4)
    assert lr / np.sqrt(1 - alpha) == pytest.approx(3.16 * lr, rel=1e-3)


def test_rmsprop_course_form_matches_hand_rolled_rmsprop_in_the_rule_and_in_trace() -> None:
    f, start, steps, lr = surfaces.get("rosenbrock").fn, (-1.5, 2.0), 40, 5e-3
    expected = _rmsprop_hand(_rosenbrock_grad64, start, steps, lr, 0.9, 1e-8, course=True)
    ours = run_loop(lambda h: optimizers.build("rmsprop", learning_rate=lr, initial_sq_grad=True), {}, f, start, steps)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)
    # A traced 0/1 switch (trace, sweeps) and a traced float (the Classifier) agree.
    traced = run_loop(lambda h: optimizers.build("rmsprop", learning_rate=lr, initial_sq_grad=h["on"]), {"on": 1.0},
                      f, start, steps, traced=True)
    np.testing.assert_allclose(traced, ours, rtol=1e-6, atol=1e-7)
    t = optimizers.trace(f, "rmsprop", start, steps, learning_rate=lr, initial_sq_grad=1.0)
    np.testing.assert_allclose(t.points, ours, rtol=1e-5, atol=1e-6)
    # Off (the default) is the Optax run, and the two starts really differ.
    default = optimizers.trace(f, "rmsprop", start, steps, learning_rate=lr)
    optax_run = run_loop(OPTAX["rmsprop"], full_hyper("rmsprop", {"learning_rate": lr}), f, start, steps, traced=True)
    np.testing.assert_allclose(default.points, optax_run, rtol=RTOL, atol=ATOL)
    assert np.abs(default.points - t.points).max() > 1e-2
    assert REGISTRY["rmsprop"].defaults["initial_sq_grad"] == 0.0


def _look_ahead_nag(lrs, mu, start, steps) -> np.ndarray:
    """The course's Nesterov: v_t = mu v_{t-1} - eta_t grad L(theta + mu v_{t-1}),
    theta_t = theta_{t-1} + v_t. Returned as the look-ahead points theta_t + mu v_t, the
    variables the Optax form keeps."""
    theta, v, out = np.asarray(start, float), np.zeros(2), [np.asarray(start, float)]
    for t in range(steps):
        v = mu * v - lrs(t) * _rosenbrock_grad64(theta + mu * v)
        theta = theta + v
        out.append(theta + mu * v)
    return np.array(out)


def test_nesterovs_two_forms_agree_only_at_a_constant_learning_rate() -> None:
    """The note: the Optax form is the look-ahead method in shifted variables with a
    constant rate; under a schedule the two differ. Ours is Optax's form under any schedule."""
    mu, steps, f, start = 0.9, 60, surfaces.get("rosenbrock").fn, (-1.5, 2.0)
    constant = run_loop(lambda h: optimizers.build("nesterov", learning_rate=1e-3, momentum=mu), {}, f, start, steps)
    np.testing.assert_allclose(constant, _look_ahead_nag(lambda t: 1e-3, mu, start, steps), rtol=1e-4, atol=1e-5)
    sched = lambda t: 1e-3 / (1.0 + 0.5 * jnp.asarray(t, jnp.float32))  # noqa: E731
    scheduled = run_loop(lambda h: optimizers.build("nesterov", learning_rate=sched, momentum=mu), {}, f, start, steps)
    look_ahead = _look_ahead_nag(lambda t: 1e-3 / (1.0 + 0.5 * t), mu, start, steps)
    assert np.all(np.isfinite(look_ahead)) and np.abs(scheduled - look_ahead).max() > 1e-3
    optax_form = run_loop(lambda h: optax.sgd(sched, momentum=mu, nesterov=True), {}, f, start, steps)
    np.testing.assert_allclose(scheduled, optax_form, rtol=RTOL, atol=ATOL)


def test_the_momentum_notes_state_the_constant_rate_condition() -> None:
    """Momentum's and Nesterov's notes say what the tests above and
    test_momentum_under_a_schedule_keeps_each_gradients_rate check: one form, the other,
    equal only with a constant learning rate."""
    for lang, constant, schedule in (("en", "constant learning rate", "schedule"), ("zh", "恒定", "学习率调度")):
        m = catalog.messages(lang)
        for key in ("optimizers.momentum.note", "optimizers.nesterov.note"):
            assert constant in m[key] and schedule in m[key], (lang, key)
        assert "optax.sgd" in m["optimizers.momentum.note"]


def test_radams_formula_shows_the_threshold_in_use() -> None:
    spec = REGISTRY["radam"]
    assert r"\ge 5" not in spec.latex and r"\rho_t \ge \rho_{\min}" in spec.latex
    assert r"\rho_{\min} = 5 " in spec.latex_for({}) + " "
    assert r"\rho_{\min} = 7.5" in spec.latex_for({"threshold": 7.5})
    assert spec.latex_for({"threshold": 7.5}).count("= 7.5") == 1
    rms = REGISTRY["rmsprop"]
    assert r"\sigma_0^2 = 0" in rms.latex_for({}) and r"\sigma_1^2 = g_1^2" in rms.latex_for({"initial_sq_grad": 1.0})


def test_the_home_pages_optax_statement_is_what_this_file_checks() -> None:
    """app.home.optax says exactly what is compared: every rule, STEPS steps on the
    SURFACES, at a constant learning rate, Optax set to our defaults where they differ,
    and which conventions differ on purpose."""
    assert {name for name, _ in CASES} == set(REGISTRY)  # every update rule
    assert all(isinstance(h["learning_rate"], float) for _, h in CASES)  # constant rates only
    assert [s for s, _ in SURFACES] == ["rosenbrock", "ravine"] and RTOL == 1e-5
    assert {h.get("initial_accumulator_value") for n, h in CASES if n == "adagrad"} == {None, 0.1}
    assert REGISTRY["adagrad"].defaults["initial_accumulator_value"] == 0.0
    assert REGISTRY["adamw"].defaults["weight_decay"] == 0.01
    en, zh = catalog.messages("en")["app.home.optax"], catalog.messages("zh")["app.home.optax"]
    for words in (f"{STEPS} steps", "Rosenbrock", "ravine", "10⁻⁵", "constant learning rate", "100 steps",
                  "G₀ = 0", "0.1", "eps_in_sqrt=False", "0.01", "10⁻⁴", "Momentum under a learning-rate schedule",
                  "Adam without bias correction", "initial σ² = g₀²", "Optax chain", "Nesterov"):
        assert words in en, words
    for words in (f"{STEPS} 步", "Rosenbrock", "10⁻⁵", "恒定", "100 步", "G₀ = 0", "eps_in_sqrt=False", "初始 σ² = g₀²"):
        assert words in zh, words
    assert "step for step against Optax" not in catalog.messages("en")["app.footer"]
