r"""The loss landscape of the trained classifier: lines, planes and the training path.

J is the training objective on the TRAINING set, exactly ``losses.objective`` (data loss
in evaluation mode + L2 penalty, no dropout). Only the trainable parameters move (w, b and,
with batch normalization, gamma and beta); the running mean and variance of a
batch-normalized layer are statistics, not parameters, and stay as the network holds them.

**1-D interpolation** (Goodfellow, Vinyals & Saxe 2015). Along the line through the
initial and the final weights,

.. math:: \theta(\alpha) = (1 - \alpha)\,\theta_0 + \alpha\,\theta_1, \qquad
          \alpha \in [-0.5, 1.5],

so the two networks sit at 0 and 1 and the half-unit either side shows whether the end
point is the bottom of a valley along that line. Their finding: for many networks the loss
falls monotonically from 0 to 1, with no barrier in between. The running statistics of
batch normalization differ at the two ends, so by default they are carried along too, as
the loss-landscape code's 1-D plot does (its README runs it with ``--dir_type states``,
which moves BN's running statistics with the weights). There both move linearly; here the
variance moves geometrically, :math:`v_0^{1-\alpha} v_1^{\alpha}`, which is exact at both
ends and stays positive beyond them, where a linear one can turn negative.
``RunningStats.END`` keeps the final network's statistics instead.

**2-D slice** (Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the loss landscape
of neural nets"): :math:`J(\theta^* + \alpha\,\delta_1 + \beta\,\delta_2)` on a grid over
:math:`[-e, e]^2`. A raw random direction is meaningless for a network because of scale
invariance: with ReLU, multiplying one layer by 10 and the next by 1/10 leaves the function
unchanged while a fixed-size step becomes 10 times smaller relative to the first layer.
Filter normalisation removes that: each direction is drawn from N(0, I) and every filter is
rescaled to the norm of the same filter of the trained weights,

.. math:: \delta_{:, j} \leftarrow \frac{\delta_{:, j}}{\|\delta_{:, j}\|}\,\|W_{:, j}\|,

where a "filter" of a dense layer (weights of shape (fan_in, fan_out)) is one output
unit's incoming weights, a column (their code: a row of PyTorch's (out, in) matrix, the
first axis of every weight tensor). Biases and gamma/beta get direction 0 (their
``--xignore biasbn``, the setting of both random-direction plots in their README).
Distances along such a direction are relative to each filter's own size, which is what
makes the sharpness of two different networks comparable; unlike a Hessian eigenvalue, the
slice does not change when ReLU layers are rescaled (tests/test_landscape.py checks it).
As in their code the two directions are not orthogonalised: two Gaussian vectors of n
entries have cosine about :math:`1/\sqrt{n}`.

The grid is a plane of ``n * n`` networks; each is one forward pass on the training set.
They are evaluated vmapped in chunks (``lax.map`` with a batch size chosen from the data
size and widths, so memory stays bounded: 81 x 81 grid points on 5,000 points at 8 x 64),
in one compiled call. The directions (drawn on the host from the seed), the grid's
coordinates, the data values and the L2 strength are data to that program; only the grid
size, the widths, activation, loss and data size compile one.

**Training path** (their ``projection.py``): with :math:`d_t = \theta_t - \theta_T` for
each recorded snapshot (the final one included, :math:`d_T = 0`), the two directions are
the top two principal components of the rows :math:`d_t`, as their ``setup_PCA_directions``
computes them with scikit-learn's ``PCA``: that subtracts the mean row before the SVD (it
centres; because the row :math:`d_T = 0` is among them, the centred rows span the same
space as the :math:`d_t`). The explained-variance ratios are :math:`s_i^2 / \sum_j s_j^2`
of that SVD. The coordinates of each snapshot are then the projections of the UNcentred
:math:`d_t` on the two unit directions (their ``project_trajectory`` with ``'cos'``), so the
final network is at (0, 0). Biases take part (their default for trajectories, ``--ignore
''``). Signs are fixed so the first snapshot has coordinates <= 0 on both axes: the run
comes in from the lower left. The loss is drawn on that plane around the final network
(its running statistics held), in the same units as the coordinates.

**Flatness** (for "sharp against flat"): on the filter-normalised plane, the mean rise of
J over the circle of radius r, :math:`\overline{J(\theta + r(\cos\varphi\,\delta_1 +
\sin\varphi\,\delta_2))} - J(\theta)`, and the second derivatives along
:math:`\delta_1, \delta_2` (:math:`\delta^\top H \delta`, exact, forward-over-forward).
With evenly spaced angles the gradient term averages to exactly 0, so for small r the rise
is :math:`\tfrac{r^2}{4}(\delta_1^\top H\delta_1 + \delta_2^\top H\delta_2) + O(r^4)`; at
larger r it also sees what the quadratic model misses (with ReLU the Hessian sees the
curvature between the kinks, never the kinks).
"""
from __future__ import annotations

import enum
from functools import partial
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from classifier.datasets import Dataset
from classifier.losses import accuracy, l2_penalty, mean_loss, objective
from classifier.model import TRAINABLE, forward  # TRAINABLE: moved by directions, interpolation and PCA
from classifier.train import TrainConfig

RUNNING = ("mean", "var")  # batch-normalization statistics: never a direction
FILTER_EPS = 1e-10  # as their normalize_direction: a zero direction filter stays finite
CHUNK_BYTES = 32 * 2**20  # activation memory of one vmapped chunk of grid points, roughly
MAX_CHUNK = 256
VAR_FLOOR = 1e-30  # running variances below it (underflowed) count as it, far below BN_EPS
DEFAULT_RANGE = (-0.5, 1.5)
# CPU seconds of one network evaluated on one point ~ (n_params + POINT_OVERHEAD) / RATE,
# fitted to benchmarks/bench_landscape.py (2-core server, CPU time): 41 x 41 on 1,001
# points at 354 parameters 0.20 s; 81 x 81 on 4,999 points at 12,866 parameters 17.7 s.
COST_RATE = 2.9e10
COST_POINT_OVERHEAD = 3200.0
DEFAULT_RADIUS = 0.25

Layers = Sequence[dict]  # a network's list of {"w": ..., "b": ..., ...}, NumPy or JAX arrays
Direction = list[dict[str, np.ndarray]]  # the trainable keys of each layer only


class RunningStats(str, enum.Enum):
    """Batch normalization's running statistics along an interpolation line."""

    CARRY = "carry"  # mean (1 - a) m0 + a m1, variance v0^(1 - a) v1^a: both ends exact
    END = "end"  # the final network's (params1's) throughout


class Interpolation(NamedTuple):
    """Metrics along theta(alpha) = (1 - alpha) theta0 + alpha theta1 (all shape (n,))."""

    alphas: np.ndarray
    objective: np.ndarray  # the training objective (train data loss + L2): what ``interpolation`` returns
    train_loss: np.ndarray  # data loss alone, comparable with test_loss
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray


class PcaPlane(NamedTuple):
    d1: Direction  # unit vectors (over all trainable entries together)
    d2: Direction
    coords: np.ndarray  # (k, 2): each snapshot's theta_t - theta_final on (d1, d2)
    explained: np.ndarray  # (2,) explained-variance ratios, descending


class TrajectoryPlane(NamedTuple):
    alphas: np.ndarray  # (n,) along d1
    betas: np.ndarray  # (n,) along d2
    losses: np.ndarray  # (n, n): losses[i, j] at (alphas[j], betas[i])
    coords: np.ndarray  # (k, 2)
    explained: np.ndarray  # (2,)


class Flatness(NamedTuple):
    radius: float
    rise: float  # mean of J over the circle of radius r minus J at the centre
    max_rise: float  # largest rise on the circle
    curvature: float  # mean of d1' H d1 and d2' H d2 (filter-normalised directions)


# ---------------------------------------------------------------------------------------
# Parameter plumbing


def _dtype(params: Layers) -> jnp.dtype:
    """float32, or float64 inside ``jax.enable_x64(True)`` with float64 parameters."""
    return jnp.asarray(params[0]["w"]).dtype


def _device(tree, dtype):
    return jax.tree.map(lambda v: jnp.asarray(v, dtype), tree)


def trainable(params: Layers) -> Direction:
    """The trainable entries of each layer (w, b, gamma, beta), host copies."""
    return [{k: np.asarray(layer[k]) for k in TRAINABLE if k in layer} for layer in params]


def _moved(params, terms):
    """params + sum(c * d) over the trainable keys; running statistics as they are."""
    out = []
    for i, layer in enumerate(params):
        new = dict(layer)
        for k in TRAINABLE:
            if k in layer:
                new[k] = layer[k] + sum(c * d[i][k] for c, d in terms)
        out.append(new)
    return out


def _check_direction(params: Layers, d: Layers) -> None:
    want = [{k: np.shape(layer[k]) for k in TRAINABLE if k in layer} for layer in params]
    got = [{k: np.shape(v) for k, v in layer.items()} for layer in d]
    if want != got:
        raise ValueError("a direction must have the network's trainable entries (w, b, gamma, beta), same shapes")


def chunk_size(n_points: int, params: Layers) -> int:
    """Grid points per vmapped chunk: a power of two keeping about CHUNK_BYTES of
    activations (one float per data point per unit, twice over) alive."""
    units = sum(int(np.shape(layer["w"])[0]) + int(np.shape(layer["w"])[1]) for layer in params)
    per_point = max(n_points, 1) * units * 4 * 2
    chunk = max(1, CHUNK_BYTES // per_point)
    return int(min(MAX_CHUNK, 2 ** int(np.log2(chunk))))


def _training_set(data: Dataset, dtype) -> tuple[jax.Array, jax.Array]:
    return jnp.asarray(data.x_train, dtype), jnp.asarray(data.y_train, jnp.int32)


def plane_seconds(n: int, n_train: int, n_params: int) -> float:
    """Estimated CPU seconds of an n x n slice (n * n forward passes on n_train points)."""
    return n * n * n_train * (n_params + COST_POINT_OVERHEAD) / COST_RATE


def largest_grid(n_train: int, n_params: int, seconds: float, n_max: int = 81, n_min: int = 5) -> int:
    """The largest odd n <= n_max whose slice fits in ``seconds`` (estimate), at least n_min:
    what a page may offer under a work cap (n odd, so the trained network is a grid point)."""
    n = n_max if n_max % 2 else n_max - 1
    while n > n_min and plane_seconds(n, n_train, n_params) > seconds:
        n -= 2
    return max(n, n_min)


def symmetric_grid(extent: float, n: int) -> np.ndarray:
    """n points over [-extent, extent], exactly symmetric, with an exact 0 when n is odd."""
    if n < 2:
        raise ValueError("a grid needs n >= 2")
    if not np.isfinite(extent) or extent <= 0:
        raise ValueError("extent must be a positive number")
    g = np.linspace(-1.0, 1.0, n)
    g = 0.5 * (g - g[::-1])
    return extent * g


# ---------------------------------------------------------------------------------------
# Compiled kernels (every number traced; shapes, activation, loss and chunk compiled in)


@partial(jax.jit, static_argnames=("activation", "loss", "chunk"))
def _losses_at(params, d1, d2, x, y, l2, points, *, activation: str, loss: str, chunk: int):
    """J(params + a d1 + b d2) for each row (a, b) of points (m, 2); m a multiple of chunk."""

    def one(ab):
        return objective(_moved(params, ((ab[0], d1), (ab[1], d2))), x, y, activation, loss, l2)

    return jax.lax.map(one, points, batch_size=chunk)


def _between(p0, p1, a, carry_running: bool):
    out = []
    for l0, l1 in zip(p0, p1):
        layer = {}
        for k in l1:
            if k in TRAINABLE or (carry_running and k == "mean"):
                layer[k] = (1 - a) * l0[k] + a * l1[k]
            elif carry_running and k == "var":
                # exact at 0 and 1, > 0 beyond; the floor keeps an underflowed variance finite
                v0, v1 = jnp.maximum(l0[k], VAR_FLOOR), jnp.maximum(l1[k], VAR_FLOOR)
                layer[k] = jnp.power(v0, 1 - a) * jnp.power(v1, a)
            else:
                layer[k] = l1[k]
        out.append(layer)
    return out


@partial(jax.jit, static_argnames=("activation", "loss", "n_classes", "chunk", "carry_running"))
def _line(p0, p1, x, y, xt, yt, l2, alphas, *, activation, loss, n_classes, chunk, carry_running):
    def one(a):
        p = _between(p0, p1, a, carry_running)
        z, zt = forward(p, x, activation), forward(p, xt, activation)
        data_loss = mean_loss(z, y, loss)
        return (data_loss + l2_penalty(p, l2), data_loss, mean_loss(zt, yt, loss),
                accuracy(z, y, loss, n_classes), accuracy(zt, yt, loss, n_classes))

    return jax.lax.map(one, alphas, batch_size=chunk)


@partial(jax.jit, static_argnames=("activation", "loss"))
def _curvature(params, d, x, y, l2, *, activation: str, loss: str):
    """d' H d: the second derivative of t -> J(params + t d) at 0, forward over forward."""

    def along(t):
        return objective(_moved(params, ((t, d),)), x, y, activation, loss, l2)

    zero = jnp.zeros((), x.dtype)
    return jax.jacfwd(jax.jacfwd(along))(zero)


# ---------------------------------------------------------------------------------------
# Random directions and planes


def directions(params: Layers, seed: int = 0) -> tuple[Direction, Direction]:
    """Two filter-normalised Gaussian directions (biases, gamma, beta: 0) from ``seed``.

    Each column j of each direction's ``w`` has the norm of the trained ``w[:, j]``. The
    same seed gives the same directions for the same network. Drawn on the host by
    NumPy's generator (a few thousand numbers: nothing to compile, and no program
    depends on the seed)."""
    rng = np.random.default_rng(int(seed) % 2**32)
    out = []
    for _ in range(2):
        d = []
        for layer in trainable(params):
            entry = {}
            for k, v in layer.items():
                if k == "w":
                    w = v.astype(np.float64)
                    r = rng.standard_normal(w.shape)
                    entry[k] = r * (np.linalg.norm(w, axis=0) / (np.linalg.norm(r, axis=0) + FILTER_EPS))[None, :]
                else:  # biases and batch-norm gamma/beta: ignored ("biasbn")
                    entry[k] = np.zeros(v.shape)
            d.append(entry)
        out.append(d)
    return out[0], out[1]


def _points_losses(params: Layers, d1: Layers, d2: Layers, data: Dataset, config: TrainConfig,
                   points: np.ndarray) -> np.ndarray:
    _check_direction(params, d1)
    _check_direction(params, d2)
    dtype = _dtype(params)
    x, y = _training_set(data, dtype)
    chunk = chunk_size(len(y), params)
    m = len(points)
    padded = np.concatenate([points, np.zeros((-m % chunk, 2))])  # whole chunks: one loop body compiles
    out = _losses_at(_device(list(params), dtype), _device(list(d1), dtype), _device(list(d2), dtype), x, y,
                     jnp.asarray(config.l2, dtype), jnp.asarray(padded, dtype), activation=config.activation,
                     loss=config.loss, chunk=chunk)
    return np.asarray(out)[:m]


def plane_along(params: Layers, d1: Layers, d2: Layers, data: Dataset, config: TrainConfig,
                alphas: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """J(params + alphas[j] d1 + betas[i] d2) on the training set, shape (len(betas),
    len(alphas)): row i is betas[i] (the y axis), column j is alphas[j] (x), as Plotly's
    contour and surface take z."""
    alphas, betas = np.asarray(alphas, np.float64), np.asarray(betas, np.float64)
    aa, bb = np.meshgrid(alphas, betas)
    points = np.stack([aa.ravel(), bb.ravel()], axis=-1)
    return _points_losses(params, d1, d2, data, config, points).reshape(aa.shape)


def plane(params: Layers, data: Dataset, config: TrainConfig, extent: float = 1.0, n: int = 41,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Li et al.'s 2-D slice around ``params``: (alphas, betas, losses), alphas = betas =
    ``symmetric_grid(extent, n)`` and losses[i, j] at (alphas[j], betas[i]) (see
    ``plane_along``), along ``directions(params, seed)``."""
    d1, d2 = directions(params, seed)
    grid = symmetric_grid(extent, n)
    return grid, grid.copy(), plane_along(params, d1, d2, data, config, grid, grid)


def curvature_along(params: Layers, d: Layers, data: Dataset, config: TrainConfig) -> float:
    """d' H d, the exact second derivative of J along d at params (training set)."""
    _check_direction(params, d)
    dtype = _dtype(params)
    x, y = _training_set(data, dtype)
    value = _curvature(_device(list(params), dtype), _device(list(d), dtype), x, y, jnp.asarray(config.l2, dtype),
                       activation=config.activation, loss=config.loss)
    return float(value)


def flatness(params: Layers, data: Dataset, config: TrainConfig, radius: float = DEFAULT_RADIUS, seed: int = 0,
             n_angles: int = 32) -> Flatness:
    """How fast J rises around params in filter-normalised units (see the module notes):
    the mean and largest rise over the circle of ``radius`` in the plane of
    ``directions(params, seed)``, and the mean curvature along the two directions."""
    if n_angles < 4:
        raise ValueError("n_angles must be >= 4")
    d1, d2 = directions(params, seed)
    phi = 2 * np.pi * np.arange(n_angles) / n_angles
    points = np.concatenate([[[0.0, 0.0]], radius * np.stack([np.cos(phi), np.sin(phi)], axis=-1)])
    losses = _points_losses(params, d1, d2, data, config, points).astype(np.float64)
    rise = losses[1:] - losses[0]
    curvature = 0.5 * (curvature_along(params, d1, data, config) + curvature_along(params, d2, data, config))
    return Flatness(float(radius), float(rise.mean()), float(rise.max()), curvature)


# ---------------------------------------------------------------------------------------
# Interpolation


def interpolation_curves(params0: Layers, params1: Layers, data: Dataset, config: TrainConfig, n: int = 61,
                         span: tuple[float, float] = DEFAULT_RANGE,
                         running: RunningStats = RunningStats.CARRY) -> Interpolation:
    """Training objective, train/test data loss and accuracy at n evenly spaced alphas of
    ``span`` on the line (1 - alpha) params0 + alpha params1, one compiled call."""
    if n < 2:
        raise ValueError("n must be >= 2")
    lo, hi = span
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError("span must be two finite numbers, low < high")
    for l0, l1 in zip(params0, params1, strict=True):
        if set(l0) != set(l1) or any(np.shape(l0[k]) != np.shape(l1[k]) for k in l0):
            raise ValueError("the two networks must have the same layers")
    alphas = np.linspace(lo, hi, n)
    dtype = _dtype(params1)
    x, y = _training_set(data, dtype)
    xt, yt = jnp.asarray(data.x_test, dtype), jnp.asarray(data.y_test, jnp.int32)
    chunk = chunk_size(len(y) + len(yt), params1)
    padded = np.concatenate([alphas, np.zeros(-n % chunk)])  # whole chunks: one loop body compiles
    out = _line(_device(list(params0), dtype), _device(list(params1), dtype), x, y, xt, yt,
                jnp.asarray(config.l2, dtype), jnp.asarray(padded, dtype), activation=config.activation,
                loss=config.loss, n_classes=int(data.n_classes), chunk=chunk,
                carry_running=RunningStats(running) is RunningStats.CARRY)
    return Interpolation(alphas, *(np.asarray(v)[:n] for v in out))


def interpolation(params0: Layers, params1: Layers, data: Dataset, config: TrainConfig, n: int = 61,
                  span: tuple[float, float] = DEFAULT_RANGE) -> tuple[np.ndarray, np.ndarray]:
    """Goodfellow et al.'s line: (alphas, training objective at (1 - a) params0 + a params1)
    for n alphas over ``span`` (default [-0.5, 1.5]); ``interpolation_curves`` adds the test
    loss and the accuracies from the same call."""
    line = interpolation_curves(params0, params1, data, config, n, span)
    return line.alphas, line.objective


# ---------------------------------------------------------------------------------------
# The training path on its PCA plane


def _flatten(params: Layers) -> np.ndarray:
    return np.concatenate([np.asarray(v, np.float64).ravel() for layer in trainable(params) for v in layer.values()])


def _unflatten(vec: np.ndarray, template: Layers, dtype=np.float64) -> Direction:
    out, at = [], 0
    for layer in trainable(template):
        entry = {}
        for k, v in layer.items():
            entry[k] = vec[at:at + v.size].reshape(v.shape).astype(dtype)
            at += v.size
        out.append(entry)
    return out


def _pca(snapshots: Sequence[Layers]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit directions (2, P), coords (k, 2), explained ratios (2,)) in float64."""
    if len(snapshots) < 2:
        raise ValueError("a trajectory needs at least 2 snapshots")
    rows = [_flatten(s) for s in snapshots]
    if len({r.size for r in rows}) != 1:
        raise ValueError("every snapshot must be the same network")
    diffs = np.stack(rows) - rows[-1]
    centred = diffs - diffs.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(s**2))
    explained = s[:2] ** 2 / total if total > 0 else np.zeros(2)
    components = vt[:2]
    coords = diffs @ components.T
    # Signs: the run comes in from the lower left (first snapshot <= 0 on both axes).
    flip = np.where(coords[0] > 0, -1.0, 1.0)
    return components * flip[:, None], coords * flip, explained


def trajectory_projection(snapshots: Sequence[Layers]) -> tuple[np.ndarray, np.ndarray]:
    """(coords (k, 2), explained-variance ratios (2,)) of the snapshots' theta_t - theta_final
    on their top two principal directions (the final snapshot is the reference, at 0)."""
    _, coords, explained = _pca(snapshots)
    return coords, explained


def pca_plane(snapshots: Sequence[Layers]) -> PcaPlane:
    """The two unit PCA directions as networks' trainable entries, with the coordinates and
    ratios of ``trajectory_projection``: ``plane_along(snapshots[-1], d1, d2, ...)`` draws
    the loss in the coordinates' units."""
    components, coords, explained = _pca(snapshots)
    template = snapshots[-1]
    return PcaPlane(_unflatten(components[0], template), _unflatten(components[1], template), coords, explained)


def trajectory_plane(snapshots: Sequence[Layers], data: Dataset, config: TrainConfig, n: int = 41,
                     margin: float = 0.25) -> TrajectoryPlane:
    """The loss on the PCA plane around the final network, over the box holding every
    projected snapshot widened by ``margin`` times the larger of its two sides on each
    side (so a thin second axis still shows its surroundings)."""
    d1, d2, coords, explained = pca_plane(snapshots)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    pad = margin * max(float(np.max(hi - lo)), 1e-3)
    alphas = np.linspace(lo[0] - pad, hi[0] + pad, n)
    betas = np.linspace(lo[1] - pad, hi[1] + pad, n)
    losses = plane_along(snapshots[-1], d1, d2, data, config, alphas, betas)
    return TrajectoryPlane(alphas, betas, losses, coords, explained)
