"""The Inside page as data: what happens inside the Classifier's network (issue 18).

The network is the one the Classifier page trains with the same settings (the same URL
keys, the same cache entries), so a student moves from the boundary to the curvature of
the very network they trained. Three views, one computed per page run:

* ``SPECTRUM``: the Hessian's eigenvalues at the epoch shown (exact up to
  ``spectrum.MAX_EXACT_PARAMS`` parameters, else a stochastic Lanczos density), and on
  request how the top eigenvalues and the negative fraction move over training.
* ``LANDSCAPE``: the loss from the initial to the trained weights (1-D), a 2-D slice
  along two filter-normalized random directions (contour, and 3-D on request), and the
  path of training on its own PCA plane; optionally beside a second network trained with
  another batching or optimizer (sharp against flat).
* ``CENSUS``: Lee's experiment, many tiny networks trained until stuck, driven to a
  critical point, and classified by their exact spectra.

No Streamlit. As in experiments/classifier.py the caller hands in where results come
from: ``store`` and ``runner`` for training, and ``heavy(key, job)`` for everything
else that takes more than a rerun's worth of time (the page passes ``ui.jobs.cached``:
the server's work queue, results shared by every session under ``key``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Mapping, NamedTuple, TypeVar

import jax
import numpy as np

from classifier import census as census_lib
from classifier import landscape as land
from classifier import spectrum as spec
from classifier import model as mlp
from classifier.datasets import Dataset
from classifier.losses import objective
from classifier.sharpness import top_hessian_eigenvalue
from classifier.train import TrainResult
from experiments import classifier as ex
from experiments.schema import Notice, setting

T = TypeVar("T")
Report = Callable[[float, Notice], None]
Heavy = Callable[[Hashable, Callable[[Report], Any]], Any]

TOP_K = 3  # eigenvalues followed over training
INTERPOLATION_POINTS = 61
# The census's limits: 30 networks take 2.5 s warm at the default width 8, 5 s at 12 and
# 9 s at 16 (where only a third reach a critical point); 40 networks of 12, the most allowed,
# take 8.3 s warm (16 s with the first compile of that width), within the ~10 s a page
# request may take once compiled (benchmarks/bench_census.py measures the default).
CENSUS_MAX_NETS = 40
CENSUS_MAX_WIDTH = 12


class View(str, enum.Enum):
    SPECTRUM = "spectrum"
    LANDSCAPE = "landscape"
    CENSUS = "census"


class Versus(str, enum.Enum):
    """The second network of the landscape view: none, the same one trained with another
    batching, or with another optimizer."""

    NONE = "none"
    BATCHING = "batching"
    OPTIMIZER = "optimizer"


@dataclass(frozen=True)
class Settings(ex.Settings):
    """The Classifier's settings (the network) and the Inside page's own controls."""

    view: str = setting(View.SPECTRUM.value, "choice", choices=tuple(v.value for v in View), key="i.view")
    evolve: bool = setting(False, "bool", key="i.evolve")  # the spectrum at every kept epoch
    extent: float = setting(1.0, "float", 0.05, 3.0, key="i.extent")  # half-width of the 2-D slice
    resolution: int = setting(41, "int", 11, 81, key="i.res")  # grid points per side of the slice
    direction_seed: int = setting(0, "int", 0, 2**31 - 1, key="i.dseed")
    surface3d: bool = setting(False, "bool", key="i.3d")
    versus: str = setting(Versus.NONE.value, "choice", choices=tuple(v.value for v in Versus), key="i.vs")
    versus_batching: str = setting(ex.Batching.SGD.value, "choice", choices=tuple(b.value for b in ex.Batching),
                                   key="i.vsb")
    versus_optimizer: str = setting("gd", "choice", choices=ex.NAMES, key="i.vso")
    nets: int = setting(census_lib.CensusConfig.n_nets, "int", 4, CENSUS_MAX_NETS, key="i.nets")
    census_width: int = setting(census_lib.CensusConfig.hidden[0], "int", 2, CENSUS_MAX_WIDTH, key="i.cwidth")
    census_seed: int = setting(0, "int", 0, 2**31 - 1, key="i.cseed")

    def network(self) -> ex.Settings:
        """The Classifier page's settings of the network shown here (the gradient check and
        the depth experiment are the Classifier page's own and never run here)."""
        net = ex.Settings.from_values({**self.values(), "c.gc": False, "c.depth": False})
        return net.with_upload(self.upload)

    def second(self, shown: str) -> ex.Settings | None:
        """The network compared with the one shown (optimizer ``shown``) in the landscape
        view, or None."""
        versus = Versus(self.versus)
        if versus is Versus.NONE:
            return None
        one = self.network().replace(**{"c.compare": False, "c.opt": shown})
        if versus is Versus.BATCHING:
            return one.replace(**{"c.batch": self.versus_batching})
        return one.replace(**{"c.opt": self.versus_optimizer})


# ---------------------------------------------------------------------------------------
# Results


class PointSpectrum(NamedTuple):
    """The Hessian at one kept network, and what the page needs to say what it is."""

    spectrum: spec.Spectrum
    grad_norm: float  # ||grad J|| there: a critical point only if this is (near) zero
    n_gauge: int  # zero eigenvalues softmax's invariance puts there at every point

    @property
    def verdict(self) -> str:
        """saddle (a negative eigenvalue), degenerate (flat directions besides the gauge
        ones) or minimum (every other eigenvalue positive); a verdict on the curvature,
        which names the point only where the gradient is zero."""
        s = self.spectrum
        if s.n_negative > 0:
            return "saddle"
        return "degenerate" if s.n_flat > self.n_gauge else "minimum"


def gauge_count(arch: mlp.Architecture, loss: str, l2: float) -> int:
    """Exact zero eigenvalues of every Hessian of this network: with a softmax output,
    adding one number to every logit changes nothing (classifier/census.py's
    gauge_directions: the output bias always, each output-weight row too without L2)."""
    plain = mlp.Architecture(arch.hidden, arch.activation, arch.n_in, arch.n_out)
    return int(census_lib.gauge_directions(plain, loss, l2).shape[0])


class Evolution(NamedTuple):
    epochs: np.ndarray  # (k,) the kept epochs
    top: np.ndarray  # (k, TOP_K) largest eigenvalues, descending
    negative_fraction: np.ndarray  # (k,)


class Landscape(NamedTuple):
    """One network's landscape views."""

    interpolation: tuple[np.ndarray, np.ndarray]  # alphas, training loss along theta_0 -> theta_T
    plane: tuple[np.ndarray, np.ndarray, np.ndarray]  # alphas, betas, losses[i, j] at (alphas[j], betas[i])
    trajectory: land.TrajectoryPlane  # the path on its PCA plane, and the loss there
    top_eigenvalue: float  # lambda_max at the trained network (sharpness)
    flatness: land.Flatness  # the loss rise around it in filter-normalized units


@dataclass(frozen=True)
class Result:
    settings: Settings  # as run (settled; the epoch shown filled in)
    net: ex.Result  # the Classifier's run of the network
    view: View
    spectrum: PointSpectrum | None = None
    evolution: Evolution | None = None
    landscapes: Mapping[str, Landscape] | None = None  # "a": the network, "b": the one compared
    second: ex.Result | None = None
    census: census_lib.CensusResult | None = None
    notices: tuple[Notice, ...] = ()

    @property
    def data(self) -> Dataset:
        return self.net.data


# ---------------------------------------------------------------------------------------
# The pieces (each a pure function of plain data; ``run`` hands them to ``heavy``)


def _objective_args(r: TrainResult, data: Dataset) -> dict[str, Any]:
    c = r.config
    return dict(x=data.x_train, y=data.y_train, activation=c.activation, loss=c.loss, l2=c.l2)


def spectrum_at(r: TrainResult, data: Dataset, arch: mlp.Architecture, epoch: int) -> PointSpectrum:
    """The Hessian spectrum of the training objective at the kept network nearest ``epoch``,
    with the gradient's norm there."""
    params, args = r.snapshot_at(epoch), _objective_args(r, data)
    gradient = jax.grad(objective)(params, args["x"], args["y"], args["activation"], args["loss"], args["l2"])
    norm = float(np.sqrt(sum(float(np.sum(np.square(g))) for layer in gradient for k, g in layer.items()
                             if k in mlp.TRAINABLE)))
    return PointSpectrum(spec.spectrum(params, **args), norm, gauge_count(arch, r.config.loss, r.config.l2))


def evolution(r: TrainResult, data: Dataset, report: Report) -> Evolution:
    """The spectrum at every kept network, reporting which."""
    epochs, top, negative = spec.spectrum_over_training(
        r, data, k=TOP_K, on_snapshot=lambda i, n: report(i / n, Notice("inside.progress.evolution",
                                                                         {"i": i + 1, "n": n})))
    return Evolution(np.asarray(epochs), np.asarray(top), np.asarray(negative))


# CPU seconds of one core for all the slices of an Inside page run: the Classifier's
# training budget before it counted compiling (classifier/budget.py now also pays for
# compiling; the slices' evaluation compiles little).
SLICES_SECONDS = 7.0


def grid_size(asked: int, n_train: int, n_params: int, n_slices: int) -> int:
    """The slices' points per side: odd (so the trained network is a grid point) and small
    enough that ``n_slices`` slices fit in the page's work budget together."""
    odd = asked if asked % 2 else asked + 1
    return min(odd, land.largest_grid(n_train, n_params, SLICES_SECONDS / n_slices, n_max=odd))


def landscape(r: TrainResult, data: Dataset, extent: float, n: int, seed: int, report: Report) -> Landscape:
    first, last = r.snapshots[0], r.snapshots[-1]
    config = r.config
    report(0.0, Notice("inside.progress.landscape", {}))
    alphas, losses = land.interpolation(first, last, data, config, INTERPOLATION_POINTS)
    plane = land.plane(last, data, config, extent, n, seed)
    report(0.5, Notice("inside.progress.landscape", {}))
    path = land.trajectory_plane(list(r.snapshots), data, config, n)
    top = top_hessian_eigenvalue(last, **_objective_args(r, data))
    flat = land.flatness(last, data, config, seed=seed)
    return Landscape((np.asarray(alphas), np.asarray(losses)), plane, path, top, flat)


def census_config(settings: Settings) -> census_lib.CensusConfig:
    """The census's networks: its own tiny tanh networks (the lecture's setting, where
    training stalls near saddles; see classifier/census.py), ``nets`` of them, one hidden
    layer of ``census_width`` units, on the page's training data."""
    return census_lib.CensusConfig(hidden=(int(settings.census_width),), n_nets=int(settings.nets),
                                   seed=int(settings.census_seed))


def _direct(key: Hashable, job: Callable[[Report], T]) -> T:
    return job(lambda fraction, message: None)


def run(settings: Settings, store: ex.Store = ex.UNCACHED, runner: ex.Runner | None = None,
        heavy: Heavy = _direct, on_plan: Callable[[ex.Plan, list[Notice]], None] | None = None) -> Result:
    """Everything the page shows for these settings, for the view they pick."""
    net = ex.run(settings.network(), store, runner, on_plan=on_plan)
    settled = Settings.from_values({**settings.values(), **net.settings.values()}).with_upload(settings.upload)
    r, data, p, view = net.shown_run, net.data, net.settings.data_params(), View(settings.view)
    out: dict[str, Any] = {}
    notices: list[Notice] = []
    if view is View.SPECTRUM:
        out["spectrum"] = heavy(("inside.spectrum", p, r.config, net.at),
                                lambda report: spectrum_at(r, data, net.arch, net.at))
        if settings.evolve:
            out["evolution"] = heavy(("inside.evolution", p, r.config), lambda report: evolution(r, data, report))
    elif view is View.LANDSCAPE:
        nets = {"a": net}
        second = settings.second(net.shown)
        if second is not None:
            nets["b"] = out["second"] = ex.run(second, store, runner)
        extent, seed = float(settings.extent), int(settings.direction_seed)
        n = grid_size(int(settings.resolution), data.n_train, net.arch.n_params, 2 * len(nets))
        if n != int(settings.resolution):
            notices.append(Notice("inside.notice.grid", {"asked": int(settings.resolution), "used": n}))
        out["landscapes"] = {
            k: heavy(("inside.landscape", p, x.shown_run.config, extent, n, seed),
                     lambda report, x=x: landscape(x.shown_run, data, extent, n, seed, report))
            for k, x in nets.items()}
    else:
        config = census_config(settings)
        out["census"] = heavy(("inside.census", p, config), lambda report: census_lib.run_census(
            config, data.x_train, data.y_train, data.n_classes, report=report))
    return Result(settings=settled, net=net, view=view, notices=tuple(notices), **out)
