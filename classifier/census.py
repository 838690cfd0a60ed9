r"""The saddle census (Lee's experiment): where training gets stuck, is it a minimum?

Lee's lecture trains many networks until the loss stops falling, then minimises
:math:`\|\nabla L\|^2` from there to land on a critical point, and at each one computes the
Hessian's eigenvalues and the *minimum ratio* = (positive eigenvalues) / (eigenvalues): a
local minimum has ratio 1. His plot of training loss against minimum ratio showed hardly
any ratio near 1: most places where training stalls still have a way down (the notes:
"鞍点是常见的,但local minimum是不常见的").

Here, for ``n_nets`` tiny networks (at most ``MAX_PARAMS`` parameters, so the whole
Hessian is exact and cheap), all at once (vmapped over seeds, one compiled program):

1. **Train** with full-batch gradient descent on the deterministic objective J (data loss
   + L2, classifier/losses.py), float32, in chunks of ``chunk_steps``. Plain GD, written
   here rather than taken from optimizers/: its fixed points are exactly the critical
   points of J, it needs no state, and the learning rate stays traced data. A network is
   *stuck* when J fell by less than ``stuck_tol`` (relative) over its last chunk; it then
   stops moving. Training ends when all are stuck or after ``max_steps``.
2. **Refine** to a critical point in float64 with Levenberg-Marquardt on the residual
   :math:`g(\theta) = \nabla J(\theta) = 0` (Gauss-Newton for :math:`\|g\|^2`, the lecture's
   objective, with adaptive damping; see ``lm_step``). It converges to critical points of
   any index; gradient descent would slide off a saddle. A point counts as critical when
   :math:`\|\nabla J\| <` ``CONVERGED_GRAD`` (1e-6) in float64; the others are kept,
   flagged, and never classified or plotted as critical points (e.g. a hidden unit's bias
   drifting to infinity: a gradient with no curvature under it, where no critical point
   is near).
3. **Classify** with the exact float64 eigenvalues of the Hessian. *Gauge* directions, along
   which J is constant for every parameter value, are left out: with a softmax output,
   adding the same number to every output bias changes nothing (and without L2, the same
   for each row of output weights), so H has an exact zero there at every point, a
   property of how the network is written; counted, it would make every point
   "degenerate". An eigenvalue is *flat* when :math:`|\lambda| \le 10^{-6}\max|\lambda| +
   10^{-9}`, the rule of surfaces/curvature.py: far above the rounding of an AD Hessian
   in float64 (~1e-16 relative), and a direction 10^6 times flatter than the sharpest
   one is flat for any practical (float32) optimizer. Flat directions are real here: a
   hidden unit that L2 has switched off (weights 0) leaves its bias exactly flat; dead
   ReLU units do the same. Verdicts (``Kind``): MINIMUM (all > 0), SADDLE (some < 0 and some
   > 0), MAXIMUM (all < 0), DEGENERATE (flat directions and no sign mix: the second-order
   test cannot tell). ``min_ratio`` = positive / counted eigenvalues (Lee's definition,
   over the non-gauge directions, so a true minimum has exactly 1).

What the defaults show, and why these defaults. Two moons (the Classifier's default data,
100 of its training points), 2-8-2 tanh (42 parameters, 41 counted), Xavier init, L2 1e-3
(so critical points exist at finite weights: without it, cross-entropy keeps falling as the
weights grow), GD at learning rate 1, stuck rule 1e-3 per 250 steps, at most 4,000 steps.
Measured (page data seed 0; census base seeds 0, 100, 200, 300, 1000; and subsample seed 1):
23-28 of the 30 networks reach a critical point, of which 18-21 are saddles, 4-9 minima,
0-2 degenerate. The saddles sit at the same low loss as the minima (0.015-0.017) with a
few (1-4) negative eigenvalues of size ~1e-4 against a top eigenvalue ~0.27: directions
that go down, but so gently that gradient descent (escape rate ~ eta |lambda| per step)
needs tens of thousands of steps to notice them. That is why training looks stuck there.
The claim depends on dimension, as the lecture says: with the same setting, 2-4-2 (22
parameters) gave 22 minima and 8 saddles of 30; 2-12-2 (62 parameters) 1 minimum and 19
saddles of 20. Other settings tried while choosing (on 200 points of a less noisy moons,
learning rate 0.5): a small init (0.1 x Xavier) on 2-4-2 stalls on the plateau where the
hidden units are copies of one another (loss 0.19), a saddle in 12-17 of 13-18 converged
networks, but only about half converge; with ReLU none of 30 converged (the Hessian jumps
across kinks, and Newton-type steps overshoot them). The refinement moves a stuck network by about
1.3 in parameter norm (of ~9): the critical point is near where training stalled, not on it.

No Streamlit. ``run_census(config, x, y, n_classes, report)`` reports ``report(fraction,
Notice)`` between chunks (``PROGRESS_TRAIN`` / ``PROGRESS_REFINE`` with {i, n},
``PROGRESS_SPECTRA`` with {n}); a report that raises (a cancelled job, ui/jobs.py) stops the
census there. What is traced: seeds, learning rate, L2, init scale, data values. What is
compiled in: widths, activation, loss, number of points and networks, chunk lengths.
Deterministic per config and data.
"""
from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from classifier import model as mlp
from classifier.losses import LOSSES, l2_penalty, mean_loss, n_outputs
from classifier.spectrum import FLAT_ATOL, FLAT_RTOL
from catalog import Notice

Report = Callable[[float, Notice], None]

CONVERGED_GRAD = 1e-6  # ||grad J|| below which a refined point counts as a critical point
TARGET_GRAD = 1e-10  # the refinement stops improving a network once ||grad J|| is below this
# An eigenvalue is flat when |lambda| <= FLAT_RTOL * max|lambda| + FLAT_ATOL (classifier/spectrum.py's
# constants, surfaces/curvature.py's rule for "zero"; the module docstring says why these values).
MU_START = 1e-3  # the refinement's first damping, relative to max lambda^2
MU_TRIALS = np.array([1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3])  # dampings tried per step, times mu
MU_MIN, MU_MAX = 1e-15, 1e15  # relative damping stays within these
MAX_PARAMS = 200
MAX_NETS = 100
MAX_POINTS = 400
PROGRESS_TRAIN = "inside.census.progress_train"
PROGRESS_REFINE = "inside.census.progress_refine"
PROGRESS_SPECTRA = "inside.census.progress_spectra"
# Share of the progress bar each phase takes (training, refinement; the spectra take the rest).
TRAIN_SHARE, REFINE_SHARE = 0.6, 0.35


class Kind(str, enum.Enum):
    """The second-order verdict at a critical point (a str, so ``kind == "saddle"`` reads as it says)."""

    MINIMUM = "minimum"  # every counted eigenvalue > 0
    SADDLE = "saddle"  # some > 0 and some < 0: a direction still goes down
    MAXIMUM = "maximum"  # every counted eigenvalue < 0
    DEGENERATE = "degenerate"  # flat directions and no sign mix: the second-order test cannot tell


KINDS: tuple[Kind, ...] = tuple(Kind)


@dataclass(frozen=True)
class CensusConfig:
    """Everything a census depends on besides the data. Hashable, so a page can cache on it.

    Training: full-batch gradient descent with ``learning_rate`` from weights drawn
    ``init_scale`` x the Xavier standard deviation (biases 0), one network per seed
    ``seed, seed + 1, ..., seed + n_nets - 1``, in chunks of ``chunk_steps`` steps. A network
    is *stuck* when its loss fell by less than ``stuck_tol`` (relative) over its last chunk;
    it then stops, and training stops for all once every network is stuck or ``max_steps``
    (rounded up to whole chunks) have run. The networks have no batch normalization and no
    dropout: J is exactly classifier.losses.objective. Refinement: ``refine_iters`` Levenberg-Marquardt iterations in float64, in
    chunks of ``refine_chunk``.
    """

    hidden: tuple[int, ...] = (8,)
    activation: str = "tanh"
    loss: str = "cross_entropy"
    l2: float = 1e-3
    n_nets: int = 30
    seed: int = 0
    init_scale: float = 1.0
    learning_rate: float = 1.0
    chunk_steps: int = 250
    max_steps: int = 4000
    stuck_tol: float = 1e-3
    refine_iters: int = 80
    refine_chunk: int = 20
    max_points: int = 100
    data_seed: int = 0  # which training points the subsample keeps

    def architecture(self, n_classes: int) -> mlp.Architecture:
        return mlp.Architecture(tuple(self.hidden), self.activation, 2, n_outputs(self.loss, n_classes))

    def validate(self, n_classes: int) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}")
        n_params = self.architecture(n_classes).n_params
        if n_params > MAX_PARAMS:
            raise ValueError(f"a census network has at most {MAX_PARAMS} parameters, not {n_params}")
        if not 1 <= self.n_nets <= MAX_NETS:
            raise ValueError(f"n_nets must be in [1, {MAX_NETS}]")
        if not 1 <= self.max_points <= MAX_POINTS:
            raise ValueError(f"max_points must be in [1, {MAX_POINTS}]")
        if self.chunk_steps < 1 or self.max_steps < 1 or self.refine_chunk < 1 or self.refine_iters < 0:
            raise ValueError("step counts must be positive")
        if self.l2 < 0 or self.learning_rate <= 0 or self.init_scale < 0 or self.stuck_tol < 0:
            raise ValueError("l2, init_scale and stuck_tol must be >= 0 and the learning rate > 0")


# ---------------------------------------------------------------------------------------
# Parameters as one flat vector, in a fixed order (layer by layer, w then b), float32 or 64


def shapes(arch: mlp.Architecture) -> tuple[tuple[tuple[int, int], tuple[int]], ...]:
    s = arch.sizes
    return tuple(((a, b), (b,)) for a, b in zip(s[:-1], s[1:]))


def flatten(params: mlp.Params) -> jax.Array:
    """The parameters of one network as one vector: layer by layer, its w (row-major) then its b."""
    return jnp.concatenate([jnp.concatenate([layer["w"].ravel(), layer["b"].ravel()]) for layer in params])


def unflatten(theta: jax.Array, arch: mlp.Architecture) -> mlp.Params:
    """The inverse of ``flatten`` (keeps theta's dtype)."""
    out, i = [], 0
    for w_shape, b_shape in shapes(arch):
        nw, nb = w_shape[0] * w_shape[1], b_shape[0]
        out.append({"w": theta[i:i + nw].reshape(w_shape), "b": theta[i + nw:i + nw + nb]})
        i += nw + nb
    return out


def gauge_directions(arch: mlp.Architecture, loss: str, l2: float) -> np.ndarray:
    """Orthonormal directions (rows, float64) along which the objective is constant everywhere.

    Softmax is unchanged when the same number is added to every logit, so with a softmax
    loss (cross-entropy, MSE on softmax) the output bias moved along (1, ..., 1) changes
    nothing: the Hessian has an exact zero there at every point, a property of how the
    network is written, not of the landscape. Without L2 the same holds for each row of
    the output weights (adding c to every output weight of one hidden unit adds c h to
    every logit); with L2 those rows cost lambda c^2 and are not flat.
    """
    if loss == "index" or arch.n_out < 2:
        return np.zeros((0, arch.n_params))
    rows = []
    offset = sum(a * b + b for (a, b), _ in shapes(arch)[:-1])
    (fan_in, k), _ = shapes(arch)[-1]
    if l2 == 0:
        for j in range(fan_in):
            v = np.zeros(arch.n_params)
            v[offset + j * k: offset + (j + 1) * k] = 1.0 / np.sqrt(k)
            rows.append(v)
    v = np.zeros(arch.n_params)
    v[offset + fan_in * k: offset + fan_in * k + k] = 1.0 / np.sqrt(k)
    rows.append(v)
    return np.stack(rows)


def counted_basis(arch: mlp.Architecture, loss: str, l2: float) -> np.ndarray:
    """Orthonormal basis (columns) of the directions that are not gauge directions."""
    g = gauge_directions(arch, loss, l2)
    if g.shape[0] == 0:
        return np.eye(arch.n_params)
    _, _, vt = np.linalg.svd(g, full_matrices=True)
    return vt[g.shape[0]:].T


# ---------------------------------------------------------------------------------------
# Objective of a flat vector


def flat_objective(theta: jax.Array, x: jax.Array, y: jax.Array, l2: jax.Array, arch: mlp.Architecture,
                   loss: str) -> jax.Array:
    params = unflatten(theta, arch)
    return mean_loss(mlp.forward(params, x, arch.activation), y, loss) + l2_penalty(params, l2)


def flat_data_loss(theta: jax.Array, x: jax.Array, y: jax.Array, arch: mlp.Architecture, loss: str) -> jax.Array:
    return mean_loss(mlp.forward(unflatten(theta, arch), x, arch.activation), y, loss)


# ---------------------------------------------------------------------------------------
# Phase 1: gradient descent, every network at once


@functools.partial(jax.jit, static_argnames=("arch",))
def init_thetas(seeds: jax.Array, scale: jax.Array, *, arch: mlp.Architecture) -> jax.Array:
    """(n_nets, n_params) float32: Xavier-normal weights times ``scale``, biases 0, one key per seed."""
    def one(seed):
        params = mlp.init_params(jax.random.key(seed), arch, "xavier")
        return flatten([{"w": scale * layer["w"], "b": layer["b"]} for layer in params])
    return jax.vmap(one)(seeds)


@functools.partial(jax.jit, static_argnames=("arch", "loss", "steps"))
def train_chunk(thetas: jax.Array, active: jax.Array, x: jax.Array, y: jax.Array, l2: jax.Array,
                lr: jax.Array, *, arch: mlp.Architecture, loss: str, steps: int) -> tuple[jax.Array, jax.Array]:
    """``steps`` gradient-descent steps of every active network; (thetas, objective after)."""
    grad = jax.grad(flat_objective)

    def one(theta, on):
        def body(t, _):
            return t - lr * grad(t, x, y, l2, arch, loss), None
        moved, _ = jax.lax.scan(body, theta, None, length=steps)
        theta = jnp.where(on, moved, theta)
        return theta, flat_objective(theta, x, y, l2, arch, loss)

    return jax.vmap(one)(thetas, active)


# ---------------------------------------------------------------------------------------
# Phase 2: Levenberg-Marquardt on grad J = 0


class LMState(NamedTuple):
    theta: jax.Array  # (n,)
    grad_norm: jax.Array  # () ||g(theta)||; inf before the first step
    mu: jax.Array  # () damping, relative to max lambda^2


def start_state(theta: jax.Array) -> LMState:
    """Where a refinement starts: any first step with a finite gradient is accepted."""
    return LMState(theta, jnp.asarray(jnp.inf, theta.dtype), jnp.asarray(MU_START, theta.dtype))


def lm_step(grad_fn: Callable[[jax.Array], jax.Array], hess_fn: Callable[[jax.Array], jax.Array],
            state: LMState, target: jax.Array) -> LMState:
    r"""One damped Gauss-Newton step on the residual g(theta) = grad J(theta).

    The Jacobian of g is the Hessian H (symmetric), so the step that minimises
    :math:`\|g + H\delta\|^2 + \mu\|\delta\|^2` is
    :math:`\delta = -(H^2 + \mu I)^{-1} H g = -V \,\mathrm{diag}(\lambda/(\lambda^2 + \mu))\, V^\top g`.
    One eigendecomposition serves every damping, so each step tries ``MU_TRIALS`` of them
    (mu x 10^-2 ... 10^3) and keeps the trial with the smallest ||g||, if it is smaller than
    now; mu becomes that trial's. If none is, the point stays and mu grows by 10^4. Nothing
    here prefers a low J: it walks to a nearby critical point of any index, saddles
    included. A network already below ``target`` stays where it is.
    """
    g = grad_fn(state.theta)
    lam, vec = jnp.linalg.eigh(hess_fn(state.theta))
    now = jnp.where(jnp.isfinite(state.grad_norm), state.grad_norm, jnp.linalg.norm(g))
    scale = jnp.maximum(jnp.max(lam ** 2), 1e-30)
    mus = state.mu * MU_TRIALS.astype(g.dtype)
    coeff = vec.T @ g
    trials = state.theta - (vec @ (lam[:, None] / (lam[:, None] ** 2 + mus * scale) * coeff[:, None])).T
    norms = jax.vmap(lambda t: jnp.linalg.norm(grad_fn(t)))(trials)
    norms = jnp.where(jnp.isfinite(norms), norms, jnp.inf)
    best = jnp.argmin(norms)
    better = norms[best] < now
    accept = better & ~(now < target)
    return LMState(
        theta=jnp.where(accept, trials[best], state.theta),
        grad_norm=jnp.where(accept, norms[best], now),
        mu=jnp.where(accept, jnp.clip(mus[best], MU_MIN, MU_MAX),
                     jnp.where(better, state.mu, jnp.clip(state.mu * 1e4, MU_MIN, MU_MAX))),
    )


def levenberg_marquardt(grad_fn: Callable[[jax.Array], jax.Array], hess_fn: Callable[[jax.Array], jax.Array],
                        state: LMState, iters: int, target: jax.Array) -> LMState:
    """``iters`` steps of ``lm_step`` (traceable; iters static)."""
    return jax.lax.fori_loop(0, iters, lambda _, s: lm_step(grad_fn, hess_fn, s, target), state)


@functools.partial(jax.jit, static_argnames=("arch", "loss", "iters"))
def refine_chunk(states: LMState, x, y, l2, target, *, arch: mlp.Architecture, loss: str, iters: int) -> LMState:
    """``iters`` Levenberg-Marquardt iterations of every network (call in float64)."""
    def one(state):
        def grad_fn(t):
            return jax.grad(flat_objective)(t, x, y, l2, arch, loss)

        def hess_fn(t):
            return jax.hessian(flat_objective)(t, x, y, l2, arch, loss)
        return levenberg_marquardt(grad_fn, hess_fn, state, iters, target)
    return jax.vmap(one)(states)


# ---------------------------------------------------------------------------------------
# Phase 3: the spectrum at each point


class PointSpectrum(NamedTuple):
    eigenvalues: jax.Array  # (n_counted,) ascending, gauge directions left out
    objective: jax.Array  # data loss + L2
    data_loss: jax.Array
    grad_norm: jax.Array  # ||grad J||
    start_loss: jax.Array  # data loss where the refinement started


@functools.partial(jax.jit, static_argnames=("arch", "loss"))
def spectra(thetas, starts, basis, x, y, l2, *, arch: mlp.Architecture, loss: str) -> PointSpectrum:
    """Exact eigenvalues of B^T H B (B: the counted basis) at every point (call in float64)."""
    def one(theta, start):
        h = jax.hessian(flat_objective)(theta, x, y, l2, arch, loss)
        h = basis.T @ (0.5 * (h + h.T)) @ basis
        value, g = jax.value_and_grad(flat_objective)(theta, x, y, l2, arch, loss)
        return PointSpectrum(jnp.linalg.eigvalsh(h), value, flat_data_loss(theta, x, y, arch, loss),
                             jnp.linalg.norm(g), flat_data_loss(start, x, y, arch, loss))
    return jax.vmap(one)(thetas, starts)


class Counts(NamedTuple):
    positive: np.ndarray  # (n_nets,) int
    negative: np.ndarray
    flat: np.ndarray
    tol: np.ndarray  # (n_nets,) the flat tolerance used at each point


def flat_tolerance(eigenvalues: np.ndarray) -> np.ndarray:
    """Per row: FLAT_RTOL * max|lambda| + FLAT_ATOL."""
    return FLAT_RTOL * np.max(np.abs(eigenvalues), axis=-1) + FLAT_ATOL


def count_signs(eigenvalues: np.ndarray) -> Counts:
    """Positive, negative and flat eigenvalues of each row of an (n, m) array."""
    lam = np.atleast_2d(np.asarray(eigenvalues, np.float64))
    tol = flat_tolerance(lam)[:, None]
    flat = np.abs(lam) <= tol
    return Counts((lam > tol).sum(axis=1), (lam < -tol).sum(axis=1), flat.sum(axis=1), tol[:, 0])


def classify(n_positive: int, n_negative: int, n_flat: int) -> Kind:
    """The verdict from the counts (see ``Kind``)."""
    if n_negative > 0 and n_positive > 0:
        return Kind.SADDLE
    if n_flat > 0 or (n_negative == 0 and n_positive == 0):
        return Kind.DEGENERATE
    return Kind.MINIMUM if n_negative == 0 else Kind.MAXIMUM


class Inspection(NamedTuple):
    """The second-order census of given points (arrays over points)."""

    eigenvalues: np.ndarray  # (n, n_counted) ascending, float64; gauge directions left out
    n_gauge: int
    n_positive: np.ndarray  # (n,) int
    n_negative: np.ndarray
    n_flat: np.ndarray
    flat_tol: np.ndarray  # (n,)
    converged: np.ndarray  # (n,) bool: ||grad J|| < CONVERGED_GRAD, everything finite
    kinds: tuple[Kind | None, ...]  # None where not converged: not a critical point
    min_ratio: np.ndarray  # (n,) n_positive / n_counted; NaN where not converged
    grad_norm: np.ndarray  # (n,) ||grad J||, float64
    objective: np.ndarray  # (n,) data loss + L2
    loss: np.ndarray  # (n,) data loss
    start_loss: np.ndarray  # (n,) data loss at ``starts``


def inspect_points(thetas: np.ndarray, x: np.ndarray, y: np.ndarray, arch: mlp.Architecture, loss: str,
                   l2: float, starts: np.ndarray | None = None) -> Inspection:
    """Exact float64 spectrum, counts, verdict and minimum ratio at each of ``thetas`` (n, n_params).

    ``starts`` (default: the points themselves) only feeds ``start_loss``.
    """
    thetas = np.atleast_2d(np.asarray(thetas, np.float64))
    starts = thetas if starts is None else np.atleast_2d(np.asarray(starts, np.float64))
    basis = counted_basis(arch, loss, l2)
    with jax.enable_x64(True):
        spec = spectra(jnp.asarray(thetas), jnp.asarray(starts), jnp.asarray(basis), jnp.asarray(x, jnp.float64),
                       jnp.asarray(y, jnp.int32), jnp.float64(l2), arch=arch, loss=loss)
        eig, objective_value, data_loss, grad_norm, start_loss = (np.asarray(a, np.float64) for a in spec)
    finite = np.isfinite(grad_norm) & np.all(np.isfinite(eig), axis=1) & np.all(np.isfinite(thetas), axis=1)
    converged = finite & (grad_norm < CONVERGED_GRAD)
    counts = count_signs(np.where(np.isfinite(eig), eig, 0.0))
    n_counted = basis.shape[1]
    kinds = tuple(classify(int(p), int(n), int(f)) if ok else None
                  for p, n, f, ok in zip(counts.positive, counts.negative, counts.flat, converged))
    return Inspection(eig, arch.n_params - n_counted, counts.positive, counts.negative, counts.flat, counts.tol,
                      converged, kinds, np.where(converged, counts.positive / n_counted, np.nan), grad_norm,
                      objective_value, data_loss, start_loss)


# ---------------------------------------------------------------------------------------
# The census


@dataclass(frozen=True, eq=False)
class CensusResult:
    """Per network (arrays of length n_nets, in seed order) and a summary.

    Only ``converged`` networks reached a critical point; their ``kinds`` are set and
    ``min_ratio`` is a number; the others have kind None and NaN ratio and are never to be
    shown as critical points.
    """

    config: CensusConfig
    arch: mlp.Architecture
    n_points: int
    seeds: np.ndarray  # (n,) int
    stuck_step: np.ndarray  # (n,) steps trained; the step training stopped at
    stuck: np.ndarray  # (n,) bool: the stuck rule fired (False: max_steps ran out first)
    stuck_loss: np.ndarray  # (n,) data loss where training stopped (float64 evaluation)
    theta_stuck: np.ndarray  # (n, n_params) float32
    theta: np.ndarray  # (n, n_params) float64, the refined points
    displacement: np.ndarray  # (n,) ||theta - theta_stuck||
    loss: np.ndarray  # (n,) data loss at the refined point
    objective: np.ndarray  # (n,) data loss + L2 there
    grad_norm: np.ndarray  # (n,) ||grad J|| there, float64
    converged: np.ndarray  # (n,) bool: grad_norm < CONVERGED_GRAD (and finite)
    eigenvalues: np.ndarray  # (n, n_counted) ascending; gauge directions left out
    n_positive: np.ndarray
    n_negative: np.ndarray
    n_flat: np.ndarray
    flat_tol: np.ndarray
    n_gauge: int  # exact invariances of the objective left out of the spectrum
    min_ratio: np.ndarray  # (n,) n_positive / n_counted; NaN where not converged
    kinds: tuple[Kind | None, ...]

    @property
    def n_params(self) -> int:
        return self.arch.n_params

    @property
    def n_counted(self) -> int:
        """Eigenvalues counted per point: n_params - n_gauge."""
        return self.n_params - self.n_gauge

    @property
    def n_converged(self) -> int:
        return int(np.sum(self.converged))

    def count(self, kind: Kind) -> int:
        return sum(k is kind for k in self.kinds)

    @property
    def summary(self) -> dict[Kind, int]:
        return {kind: self.count(kind) for kind in KINDS}

    def params(self, i: int) -> list[dict[str, np.ndarray]]:
        """The refined network i as layers (float64)."""
        return [{k: np.asarray(v) for k, v in layer.items()} for layer in unflatten(self.theta[i], self.arch)]


def subsample(x: np.ndarray, y: np.ndarray, max_points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` of (x, y), drawn without replacement by ``seed`` (all if fewer)."""
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int32)
    if y.shape[0] <= max_points:
        return x, y
    keep = np.sort(np.random.default_rng(seed).choice(y.shape[0], max_points, replace=False))
    return x[keep], y[keep]


def _silent(fraction: float, notice: Notice) -> None:
    return None


def run_census(config: CensusConfig, x: np.ndarray, y: np.ndarray, n_classes: int | None = None,
               report: Report | None = None) -> CensusResult:
    """Train ``config.n_nets`` networks until stuck, refine each to a critical point, classify it.

    ``x``, ``y``: the training set (model inputs); ``config.max_points`` of it are used.
    ``report(fraction, Notice)`` is called between chunks; if it raises (a cancelled job),
    the census stops there and the exception propagates.
    """
    report = report or _silent
    x, y = subsample(x, y, config.max_points, config.data_seed)
    n_classes = int(n_classes if n_classes is not None else y.max() + 1)
    config.validate(n_classes)
    arch = config.architecture(n_classes)
    seeds = config.seed + np.arange(config.n_nets)

    # Phase 1: train until stuck (float32). Every chunk has the same length (one program).
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    l2, lr = jnp.float32(config.l2), jnp.float32(config.learning_rate)
    thetas = init_thetas(jnp.asarray(seeds, jnp.int32), jnp.float32(config.init_scale), arch=arch)
    n_chunks = max(1, -(-config.max_steps // config.chunk_steps))
    last = np.full(config.n_nets, np.inf)  # no network is stuck in its first chunk
    active = np.ones(config.n_nets, bool)
    stuck_step = np.zeros(config.n_nets, np.int64)
    stuck = np.zeros(config.n_nets, bool)
    for i in range(n_chunks):
        report(TRAIN_SHARE * i / n_chunks, Notice(PROGRESS_TRAIN, {"i": i + 1, "n": n_chunks}))
        thetas, now = train_chunk(thetas, jnp.asarray(active), xj, yj, l2, lr, arch=arch, loss=config.loss,
                                  steps=config.chunk_steps)
        now = np.asarray(now, np.float64)
        stuck_step[active] += config.chunk_steps
        newly = active & np.isfinite(now) & (last - now < config.stuck_tol * np.abs(now))
        stuck |= newly
        active &= ~newly & np.isfinite(now)
        last = np.where(np.isfinite(now), now, last)
        if not active.any():
            break
    theta_stuck = np.asarray(thetas)

    # Phase 2 in float64.
    n_refine = -(-config.refine_iters // config.refine_chunk)
    with jax.enable_x64(True):
        x64, y64 = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.int32)
        l2_64, target = jnp.float64(config.l2), jnp.float64(TARGET_GRAD)
        start = jnp.asarray(theta_stuck, jnp.float64)
        states = jax.vmap(start_state)(start)
        for i in range(n_refine):
            report(TRAIN_SHARE + REFINE_SHARE * i / n_refine, Notice(PROGRESS_REFINE, {"i": i + 1, "n": n_refine}))
            states = refine_chunk(states, x64, y64, l2_64, target, arch=arch, loss=config.loss,
                                  iters=config.refine_chunk)
            left = np.asarray(states.grad_norm)
            if np.all(~np.isfinite(left) | (left < TARGET_GRAD)):
                break
        theta = np.asarray(states.theta, np.float64)
    report(TRAIN_SHARE + REFINE_SHARE, Notice(PROGRESS_SPECTRA, {"n": config.n_nets}))
    seen = inspect_points(theta, x, y, arch, config.loss, config.l2, starts=theta_stuck)
    report(1.0, Notice(PROGRESS_SPECTRA, {"n": config.n_nets}))
    return CensusResult(
        config=config, arch=arch, n_points=int(y.shape[0]), seeds=seeds, stuck_step=stuck_step, stuck=stuck,
        stuck_loss=seen.start_loss, theta_stuck=theta_stuck, theta=theta,
        displacement=np.linalg.norm(theta - theta_stuck.astype(np.float64), axis=1), loss=seen.loss,
        objective=seen.objective, grad_norm=seen.grad_norm, converged=seen.converged, eigenvalues=seen.eigenvalues,
        n_positive=seen.n_positive, n_negative=seen.n_negative, n_flat=seen.n_flat, flat_tol=seen.flat_tol,
        n_gauge=seen.n_gauge, min_ratio=seen.min_ratio, kinds=seen.kinds,
    )
