r"""The Hessian spectrum of the training objective: exact eigenvalues, or a density by
stochastic Lanczos quadrature (SLQ), and how the top of it evolves over training.

J is ``classifier.losses.objective`` (data loss + L2, no dropout, batch normalization with
its running averages) on the training set, a function of the TRAINABLE parameters only:
``w``, ``b`` and, with batch normalization, ``gamma`` and ``beta``. The running ``mean``
and ``var`` are bookkeeping of the trainer, not parameters: they stay fixed and are not
counted. The trainable leaves are flattened into one vector :math:`\theta` of
``n_params`` numbers (``ravel_pytree`` order: layer by layer, keys sorted).

Why: the course's claim "saddles are common, local minima are rare" is a statement about
the signs of these eigenvalues. A negative eigenvalue is a direction along which the loss
still goes down (to second order); the fraction of positive ones is Lee's "minimum ratio".

Exact (``n_params <= MAX_EXACT_PARAMS``): every column of the Hessian is a
Hessian-vector product :math:`H e_j = \frac{d}{dt}\nabla J(\theta + t e_j)|_{t=0}`
(forward over reverse), mapped over the identity in chunks of ``HESSIAN_CHUNK`` columns,
all in float64; then :math:`(H + H^T)/2` and LAPACK's symmetric eigenvalue routine.
One compiled program per architecture, data size, activation and loss; l2, the data
values and the parameters are traced (as is the SLQ seed; n_iter and n_probes are
compiled in, they set the shapes).
Measured on 2-16-16-2 and 2-36-36-2 (280 points, benchmarks/bench_spectrum.py --methods):
HVPs in chunks of 8 build H 3x faster than ``jacfwd(grad)``, which vmaps all n columns at
once (33 against 104 ms at 354 parameters), 1.4x at 1,514 (0.63 against 0.88 s);
``jax.linearize`` or reverse-over-reverse columns were no faster. NumPy's ``eigvalsh``
(LAPACK, eigenvalues only) takes half the time of ``jnp.linalg.eigvalsh`` (4 against
10 ms at 354, 0.22 against 0.41 s at 1,514).

Density (any size, no Hessian formed), as PyHessian's ``density`` computes it: each of
``n_probes`` Rademacher probes :math:`v` (entries +-1, normalised) starts ``n_iter`` steps
of Lanczos with full re-orthogonalisation, giving a tridiagonal :math:`T = Q^T H Q`. Its
eigenvalues :math:`\theta_j` (Ritz values) and the squared first components
:math:`w_j = (u_j)_1^2` of its eigenvectors are the nodes and weights of the Gauss
quadrature of the probe's spectral measure:
:math:`\sum_j w_j f(\theta_j) \approx v^T f(H) v`, exact for polynomials of degree
< 2 n_iter, and :math:`E[v^T f(H) v] = \frac{1}{n}\mathrm{tr} f(H)` for Rademacher
:math:`v`. The density is

.. math:: \phi(t) = \frac{1}{n_{\text{probes}}} \sum_{\text{probes}} \sum_j w_j\,
          \frac{1}{\sqrt{2\pi}\sigma} e^{-(t - \theta_j)^2 / 2\sigma^2},

on a grid from the lowest to the highest node padded by ``PAD_SIGMAS`` sigma, then
divided by its trapezoid integral (which is already 1 up to ~1e-9: the weights of each
probe sum to 1 and the grid spacing is below sigma). The kernel width:
``sigma = SIGMA_FRACTION * (highest node - lowest node)``. PyHessian uses
:math:`\sigma^2 = 10^{-5} \max(1, \text{range})` on 10,000 grid points, that is
sigma = 0.3 % of the range when the range is 1 but an absolute width otherwise; a fixed
fraction of the range draws the same picture whatever the scale of the loss, and
``n_grid`` points resolve it (spacing ~ sigma / 3 at the default 1,024).

Counting signs from the quadrature: the Ritz values cannot place an eigenvalue nearer 0
than the quadrature resolves, and a network's Hessian has a bulk of eigenvalues spread
over many decades around 0 (2-16-16-2 at initialisation: 245 of 354 below 1 % of
lambda_max in size). So in SLQ mode "flat" means within +-sigma (the kernel width) and the
fraction of negative eigenvalues is the nodes' weight below -sigma (the Gauss quadrature
of the indicator): on 2-32-32-2 at initialisation it gives 0.090 against the exact 0.091
below -sigma, flat 0.826 against 0.824. The density's own mass below 0 does not estimate
the count: the kernel splits the bulk at 0 in two halves (about 0.49 against the exact
0.32 to 0.52 on the same nets), which is why the counts come from the nodes. The top k eigenvalues are the k largest
Ritz values, rank by rank the largest over the probes (Cauchy interlacing: the i-th
largest Ritz value is <= lambda_i, so the largest is the closest; the extremes converge
first). Lanczos finds each distinct eigenvalue once per probe.

If Lanczos breaks down (an invariant subspace: the residual is below ``BREAKDOWN``
times the largest |T entry| so far), the next vector is a fresh random one orthogonal to
the basis and T gets a zero coupling there, as PyHessian does: the nodes found after that
have weight 0 for this probe, and every node is still a Ritz value of H.

"Flat": an eigenvalue counts as zero when
:math:`|\lambda| \le` ``FLAT_RTOL`` :math:`\cdot \max|\lambda| +` ``FLAT_ATOL``, the rule
of surfaces/curvature.py and classifier/census.py, so the three views agree. The rounding
error of a float64 AD Hessian's eigenvalues is ~ n eps max|lambda| (< 1e-12 max|lambda|
here), a million times below the tolerance, so no rounding noise is counted as a sign;
and along a direction with |lambda| < 1e-6 lambda_max gradient descent at a stable step
eta < 2/lambda_max shrinks the error by less than 2e-6 per step: flat for any practical
run. The floor covers the all-zero Hessian. In SLQ mode the tolerance is at least sigma
(above).
"""
from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from classifier.losses import objective
from classifier.model import TRAINABLE, Params

if TYPE_CHECKING:
    from classifier.datasets import Dataset
    from classifier.train import TrainResult

MAX_EXACT_PARAMS = 3000
HESSIAN_CHUNK = 8  # Hessian columns per vmapped batch of HVPs (measured: 4-16 fastest, see bench_spectrum.py)
TRAINABLE_KEYS = TRAINABLE  # classifier/model.py: "mean", "var" are running averages, not trained

FLAT_RTOL = 1e-6
FLAT_ATOL = 1e-9

DEFAULT_PROBES = 4
DEFAULT_ITER = 80
DEFAULT_GRID = 1024
SIGMA_FRACTION = 0.003  # kernel sigma as a fraction of the range of the Ritz values
PAD_SIGMAS = 6.0  # the grid extends this many sigma past the extreme nodes (Gaussian tail < 1e-9)
BREAKDOWN = 1e-10  # Lanczos residual below this x max|T entry|: an invariant subspace was found
TOP_K = 3

FloatLike = float | jax.Array
MatVec = Callable[[jax.Array], jax.Array]


# ---------------------------------------------------------------------------------------
# Trainable parameters


def split_trainable(params: Params) -> tuple[list[dict], list[dict]]:
    """(trainable leaves, fixed leaves) of each layer: w, b, gamma, beta against mean, var."""
    trainable = [{k: v for k, v in layer.items() if k in TRAINABLE_KEYS} for layer in params]
    fixed = [{k: v for k, v in layer.items() if k not in TRAINABLE_KEYS} for layer in params]
    return trainable, fixed


def merge(trainable: Sequence[dict], fixed: Sequence[dict]) -> Params:
    """The layers again, trainable and fixed leaves together."""
    return [{**t, **f} for t, f in zip(trainable, fixed)]


def n_trainable(params: Params) -> int:
    """Number of trainable parameters (what the Hessian is square in)."""
    return sum(int(np.size(v)) for layer in params for k, v in layer.items() if k in TRAINABLE_KEYS)


def _to64(params: Params, x, y, l2) -> tuple:
    """Everything as float64 device arrays (call inside ``jax.enable_x64(True)``)."""
    p64 = [{k: jnp.asarray(np.asarray(v), jnp.float64) for k, v in layer.items()} for layer in params]
    trainable, fixed = split_trainable(p64)
    return (trainable, fixed, jnp.asarray(np.asarray(x), jnp.float64), jnp.asarray(np.asarray(y), jnp.int32),
            jnp.asarray(l2, jnp.float64))


def _flat_objective(trainable, fixed, x, y, l2, activation: str, loss: str):
    """(theta, J as a function of the flat trainable vector)."""
    flat, unravel = ravel_pytree(trainable)

    def j(theta: jax.Array) -> jax.Array:
        return objective(merge(unravel(theta), fixed), x, y, activation, loss, l2)

    return flat, j


# ---------------------------------------------------------------------------------------
# Exact


@partial(jax.jit, static_argnames=("activation", "loss"))
def _hessian(trainable, fixed, x, y, l2, *, activation: str, loss: str) -> jax.Array:
    flat, j = _flat_objective(trainable, fixed, x, y, l2, activation, loss)
    n = flat.shape[0]
    grad = jax.grad(j)

    def column(i):
        return jax.jvp(grad, (flat,), (jax.nn.one_hot(i, n, dtype=flat.dtype),))[1]

    h = jax.lax.map(column, jnp.arange(n), batch_size=HESSIAN_CHUNK)
    return 0.5 * (h + h.T)


def _check_exact_size(params: Params) -> int:
    n = n_trainable(params)
    if n > MAX_EXACT_PARAMS:
        raise ValueError(f"the exact Hessian is limited to {MAX_EXACT_PARAMS} parameters; this network has {n}")
    return n


def hessian_matrix(params: Params, x, y, activation: str, loss: str = "cross_entropy",
                   l2: FloatLike = 0.0) -> np.ndarray:
    """The dense (n_params, n_params) float64 Hessian of J w.r.t. the trainable parameters
    (ravel_pytree order), symmetrised. ValueError above MAX_EXACT_PARAMS."""
    _check_exact_size(params)
    with jax.enable_x64(True):
        trainable, fixed, x64, y32, l2_64 = _to64(params, x, y, l2)
        return np.asarray(_hessian(trainable, fixed, x64, y32, l2_64, activation=activation, loss=loss))


def hessian_eigenvalues(params: Params, x, y, activation: str, loss: str = "cross_entropy",
                        l2: FloatLike = 0.0) -> np.ndarray:
    """Every eigenvalue of the Hessian of J (trainable parameters), ascending, float64.
    ValueError above MAX_EXACT_PARAMS."""
    return np.linalg.eigvalsh(hessian_matrix(params, x, y, activation, loss, l2))


# ---------------------------------------------------------------------------------------
# Lanczos


def _unit(v: jax.Array) -> jax.Array:
    return v / jnp.maximum(jnp.linalg.norm(v), jnp.finfo(v.dtype).tiny)


def lanczos_tridiagonal(matvec: MatVec, v0: jax.Array, k: int, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(alpha (k,), beta (k - 1,)): the tridiagonal T = Q^T A Q of k Lanczos steps from v0
    with full re-orthogonalisation (twice: "twice is enough"); k <= n. On breakdown the
    next vector is a fresh random one (from ``key``), orthogonal to the basis, with beta 0."""
    n = v0.shape[0]

    def orth(w, basis):
        # Unfilled rows of the basis are zero: harmless.
        w = w - basis.T @ (basis @ w)
        return w - basis.T @ (basis @ w)

    def body(j, carry):
        basis, alpha, beta, v, v_prev, b_prev, scale = carry
        basis = basis.at[j].set(v)
        w = matvec(v)
        a = jnp.vdot(w, v)
        w = orth(w - a * v - b_prev * v_prev, basis)
        b = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.maximum(jnp.abs(a), b))
        broke = b <= BREAKDOWN * scale
        fresh = jax.random.normal(jax.random.fold_in(key, j), (n,), v.dtype)
        v_next = _unit(orth(_unit(jnp.where(broke, fresh, w)), basis))
        b = jnp.where(broke, jnp.zeros_like(b), b)
        return basis, alpha.at[j].set(a), beta.at[j].set(b), v_next, v, b, scale

    zero = jnp.zeros((), v0.dtype)
    init = (jnp.zeros((k, n), v0.dtype), jnp.zeros((k,), v0.dtype), jnp.zeros((k,), v0.dtype), _unit(v0),
            jnp.zeros_like(v0), zero, zero)
    _, alpha, beta, *_ = jax.lax.fori_loop(0, k, body, init)
    return alpha, beta[:-1]


def ritz(alpha: jax.Array, beta: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(nodes ascending, weights): eigenvalues of T and the squared first components of its
    eigenvectors (they sum to 1)."""
    t = jnp.diag(alpha) + jnp.diag(beta, 1) + jnp.diag(beta, -1)
    nodes, vectors = jnp.linalg.eigh(t)
    return nodes, vectors[0] ** 2


@partial(jax.jit, static_argnames=("activation", "loss", "k"))
def _slq(trainable, fixed, x, y, l2, keys, *, activation: str, loss: str, k: int):
    """(nodes, weights), each (n_probes, k): one Lanczos run per key, vmapped."""
    flat, j = _flat_objective(trainable, fixed, x, y, l2, activation, loss)
    # Linearise the gradient once: each HVP then costs the tangent passes only.
    _, matvec = jax.linearize(jax.grad(j), flat)

    def probe(key):
        probe_key, restart_key = jax.random.split(key)
        v0 = jax.random.rademacher(probe_key, flat.shape, flat.dtype)
        return ritz(*lanczos_tridiagonal(matvec, v0, k, restart_key))

    return jax.vmap(probe)(keys)


class Nodes(NamedTuple):
    """Gauss quadrature of each probe's spectral measure: row p is probe p."""

    nodes: np.ndarray  # (n_probes, k) Ritz values, ascending in each row
    weights: np.ndarray  # (n_probes, k), each row sums to 1


def slq_nodes(params: Params, x, y, activation: str, loss: str = "cross_entropy", l2: FloatLike = 0.0,
              n_probes: int = DEFAULT_PROBES, n_iter: int = DEFAULT_ITER, seed: int = 0) -> Nodes:
    """Ritz values and weights of ``n_probes`` Rademacher probes, k = min(n_iter, n_params)
    Lanczos steps each, float64; probe p uses ``fold_in(key(seed), p)``. One compiled
    program per architecture, k and n_probes (the probes are vmapped: measured on
    2-64-64-64-64-2, 4 probes x 80 steps, half the wall time of a loop over them, the same
    CPU time); the seed, l2 and data values are traced."""
    if n_probes < 1 or n_iter < 1:
        raise ValueError("n_probes and n_iter must be >= 1")
    k = min(int(n_iter), n_trainable(params))
    with jax.enable_x64(True):
        trainable, fixed, x64, y32, l2_64 = _to64(params, x, y, l2)
        key = jax.random.key(seed)
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n_probes))
        nodes, weights = _slq(trainable, fixed, x64, y32, l2_64, keys, activation=activation, loss=loss, k=k)
        return Nodes(np.asarray(nodes), np.asarray(weights))


# ---------------------------------------------------------------------------------------
# Density


def kernel_sigma(nodes: np.ndarray, sigma_fraction: float = SIGMA_FRACTION) -> float:
    """Gaussian width: sigma_fraction x the range of the nodes (or of their size, if they
    all coincide; 1 x sigma_fraction if they are all 0)."""
    nodes = np.asarray(nodes, np.float64)
    spread = float(nodes.max() - nodes.min())
    if not spread > 0:
        spread = float(np.abs(nodes).max()) or 1.0
    return sigma_fraction * spread


def density_grid(nodes: np.ndarray, sigma: float, n_grid: int = DEFAULT_GRID) -> np.ndarray:
    """n_grid points from the lowest node - PAD_SIGMAS sigma to the highest + PAD_SIGMAS sigma."""
    nodes = np.asarray(nodes, np.float64)
    return np.linspace(nodes.min() - PAD_SIGMAS * sigma, nodes.max() + PAD_SIGMAS * sigma, n_grid)


def gaussian_density(nodes: np.ndarray, weights: np.ndarray, grid: np.ndarray, sigma: float) -> np.ndarray:
    """Mean over probes (rows) of sum_j weight_j N(t; node_j, sigma^2) at each grid point t,
    NOT renormalised (its integral is 1 when the grid holds every kernel)."""
    nodes, weights = np.atleast_2d(np.asarray(nodes, np.float64)), np.atleast_2d(np.asarray(weights, np.float64))
    z = (np.asarray(grid, np.float64)[:, None] - nodes.reshape(-1)[None, :]) / sigma
    phi = np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * sigma)
    return phi @ weights.reshape(-1) / nodes.shape[0]


class Density(NamedTuple):
    grid: np.ndarray  # (n_grid,) eigenvalue axis
    density: np.ndarray  # (n_grid,) integrates to 1 (trapezoid)
    sigma: float  # the Gaussian kernel's width


def density_from_nodes(nodes: np.ndarray, weights: np.ndarray, n_grid: int = DEFAULT_GRID,
                       sigma_fraction: float = SIGMA_FRACTION) -> Density:
    """The smoothed spectral density of the quadrature, normalised to integrate to 1."""
    nodes, weights = np.atleast_2d(np.asarray(nodes, np.float64)), np.atleast_2d(np.asarray(weights, np.float64))
    if n_grid < 1 + 1 / sigma_fraction + 2 * PAD_SIGMAS:
        raise ValueError(f"n_grid={n_grid} cannot resolve a kernel of {sigma_fraction:g} x the range")
    sigma = kernel_sigma(nodes, sigma_fraction)
    grid = density_grid(nodes, sigma, n_grid)
    density = gaussian_density(nodes, weights, grid, sigma)
    return Density(grid, density / np.trapezoid(density, grid), sigma)


def eigenvalue_density(params: Params, x, y, activation: str, loss: str = "cross_entropy", l2: FloatLike = 0.0,
                       n_probes: int = DEFAULT_PROBES, n_iter: int = DEFAULT_ITER, seed: int = 0,
                       n_grid: int = DEFAULT_GRID) -> tuple[np.ndarray, np.ndarray]:
    """(grid, density) of the Hessian's eigenvalues by stochastic Lanczos quadrature; the
    density integrates to 1 over the grid (trapezoid). Any size: no Hessian is formed."""
    quad = slq_nodes(params, x, y, activation, loss, l2, n_probes, n_iter, seed)
    d = density_from_nodes(quad.nodes, quad.weights, n_grid)
    return d.grid, d.density


def mass_below(nodes: np.ndarray, weights: np.ndarray, sigma: float, t: float) -> float:
    """Mass of the smoothed density below t (exactly, by the normal CDF of each kernel)."""
    nodes, weights = np.atleast_2d(np.asarray(nodes, np.float64)), np.atleast_2d(np.asarray(weights, np.float64))
    cdf = np.array([0.5 * math.erfc(-(t - node) / (sigma * math.sqrt(2))) for node in nodes.reshape(-1)])
    return float(cdf @ weights.reshape(-1) / nodes.shape[0])


# ---------------------------------------------------------------------------------------
# Summary


def flat_tolerance(scale: float) -> float:
    """|lambda| <= this counts as flat: FLAT_RTOL x max|lambda| + FLAT_ATOL."""
    return FLAT_RTOL * float(scale) + FLAT_ATOL


class Spectrum(NamedTuple):
    """What the page shows of one Hessian. Counts are exact when ``exact``; otherwise
    estimated by the quadrature (the nodes' weight below -tol and within +-tol, times
    n_params, rounded; the positive count is the rest), ``tol`` is then at least the
    kernel width and ``negative_fraction`` is the weight itself."""

    exact: bool
    n_params: int
    eigenvalues: np.ndarray | None  # (n_params,) ascending, when exact
    grid: np.ndarray | None  # the SLQ density's axis, when not exact
    density: np.ndarray | None
    tol: float  # |lambda| <= tol counts as flat
    n_negative: int
    n_flat: int
    n_positive: int
    negative_fraction: float  # n_negative / n_params (exact) or the density's mass below -tol
    min_ratio: float  # Lee's minimum ratio: n_positive / n_params
    top: np.ndarray  # (k,) the largest eigenvalues, largest first (Lanczos: max over probes per rank)


def _top_of_nodes(nodes: np.ndarray, k: int) -> np.ndarray:
    """The k largest Ritz values, rank by rank the largest over probes: by Cauchy interlacing
    the i-th largest Ritz value of any probe is <= lambda_i, so the maximum is the closest.
    Lanczos finds each distinct eigenvalue once per probe; NaN past the k nodes."""
    desc = np.sort(np.atleast_2d(nodes), axis=1)[:, ::-1]
    top = np.full(k, np.nan)
    m = min(k, desc.shape[1])
    top[:m] = desc[:, :m].max(axis=0)
    return top


def _exact_spectrum(eigenvalues: np.ndarray, k: int) -> Spectrum:
    n = eigenvalues.size
    tol = flat_tolerance(np.abs(eigenvalues).max())
    neg, pos = int(np.sum(eigenvalues < -tol)), int(np.sum(eigenvalues > tol))
    top = np.full(k, np.nan)
    m = min(k, n)
    top[:m] = eigenvalues[::-1][:m]
    return Spectrum(True, n, eigenvalues, None, None, tol, neg, n - neg - pos, pos, neg / n, pos / n, top)


def quadrature_mass(quad: Nodes, lo: float, hi: float) -> float:
    """Probe-averaged weight of the nodes in [lo, hi]: the Gauss-quadrature estimate of
    the fraction of eigenvalues there."""
    inside = (quad.nodes >= lo) & (quad.nodes <= hi)
    return float(np.mean(np.sum(np.where(inside, quad.weights, 0.0), axis=1)))


def _slq_spectrum(quad: Nodes, n: int, k: int, n_grid: int) -> Spectrum:
    d = density_from_nodes(quad.nodes, quad.weights, n_grid)
    # The quadrature cannot place an eigenvalue closer to 0 than its resolution: within
    # +-sigma counts as flat (see the module docstring).
    tol = max(flat_tolerance(np.abs(quad.nodes).max()), d.sigma)
    below = quadrature_mass(quad, -np.inf, np.nextafter(-tol, -np.inf))
    flat = quadrature_mass(quad, -tol, tol)
    neg = min(n, int(round(below * n)))
    n_flat = min(n - neg, int(round(flat * n)))
    pos = n - neg - n_flat
    return Spectrum(False, n, None, d.grid, d.density, tol, neg, n_flat, pos, below, pos / n,
                    _top_of_nodes(quad.nodes, k))


def spectrum(params: Params, x, y, activation: str, loss: str = "cross_entropy", l2: FloatLike = 0.0,
             k: int = TOP_K, exact: bool | None = None, n_probes: int = DEFAULT_PROBES,
             n_iter: int = DEFAULT_ITER, seed: int = 0, n_grid: int = DEFAULT_GRID) -> Spectrum:
    """The spectrum of J's Hessian at params: exact up to MAX_EXACT_PARAMS parameters,
    else (or with exact=False) the SLQ density of n_probes probes x n_iter steps."""
    n = n_trainable(params)
    if exact is None:
        exact = n <= MAX_EXACT_PARAMS
    if exact:
        return _exact_spectrum(hessian_eigenvalues(params, x, y, activation, loss, l2), k)
    return _slq_spectrum(slq_nodes(params, x, y, activation, loss, l2, n_probes, n_iter, seed), n, k, n_grid)


def top_eigenvalues(params: Params, x, y, activation: str, loss: str = "cross_entropy", l2: FloatLike = 0.0,
                    k: int = TOP_K, n_iter: int = DEFAULT_ITER, seed: int = 0) -> np.ndarray:
    """The k largest eigenvalues, largest first: exact up to MAX_EXACT_PARAMS, else the top
    Ritz values of one Lanczos run of n_iter steps (the extremes converge first)."""
    if n_trainable(params) <= MAX_EXACT_PARAMS:
        return _exact_spectrum(hessian_eigenvalues(params, x, y, activation, loss, l2), k).top
    return _top_of_nodes(slq_nodes(params, x, y, activation, loss, l2, 1, n_iter, seed).nodes, k)


class History(NamedTuple):
    """The spectrum over training, one row per kept network (unpacks as a 3-tuple)."""

    epochs: np.ndarray  # (n,) int
    top: np.ndarray  # (n, k) largest first
    negative_fraction: np.ndarray  # (n,)


def spectrum_over_training(result: TrainResult, data: Dataset, epochs: Sequence[int] | None = None,
                           k: int = TOP_K, n_probes: int = DEFAULT_PROBES, n_iter: int = DEFAULT_ITER,
                           seed: int = 0, on_snapshot: Callable[[int, int], None] | None = None) -> History:
    """Top-k eigenvalues and the negative fraction of J's Hessian (training set, the run's
    activation, loss and L2) at each kept snapshot, or at the kept ``epochs`` given. Exact
    up to MAX_EXACT_PARAMS parameters; above, each snapshot's SLQ (its top Ritz values and
    its density's mass below -tol), with the same probes at every epoch.
    ``on_snapshot(i, n)`` is called before the i-th of n (a page's progress bar)."""
    kept = [int(e) for e in np.asarray(result.snapshot_epochs)]
    wanted = kept if epochs is None else [int(e) for e in epochs]
    missing = sorted(set(wanted) - set(kept))
    if missing:
        raise ValueError(f"no snapshot at epochs {missing}; kept: {kept}")
    c = result.config
    rows = []
    for i, e in enumerate(wanted):
        if on_snapshot is not None:
            on_snapshot(i, len(wanted))
        rows.append(spectrum(result.snapshots[kept.index(e)], data.x_train, data.y_train, c.activation, c.loss, c.l2,
                             k=k, n_probes=n_probes, n_iter=n_iter, seed=seed))
    return History(np.asarray(wanted, int), np.stack([s.top for s in rows]).reshape(len(rows), k),
                   np.asarray([s.negative_fraction for s in rows], np.float64))
