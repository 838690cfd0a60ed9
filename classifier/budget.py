"""How much training one Classifier page run may ask of a shared server.

A cap per run did not bound a page run: compare mode trains up to ten runs, so one
address (5,000 points, 4 x 64 ReLU, SGD, 2,000 epochs, every optimizer, sharpness and
the gradient check) took 130-306 s and 936 MB. Here the work of everything a page run
still has to train is estimated before it starts and fitted under one cap,
``CLASSIFIER_CAP``; runs already trained (cached) cost nothing.

Work is counted in units of one example through one parameter of a full-batch epoch
(the page's old measure, training points x parameters x epochs), plus what that measure
missed, each calibrated on the 2-core server in CPU seconds of the process (busy
neighbours skew those less than wall time):

* a full-batch epoch: n_train x n_params (4.7-4.9e9 units per CPU second, 4 x 64 on 3,500
  points) plus ``EPOCH_FIXED`` (a 2 x 16 network on 280 points spent ~0.25 ms an epoch on
  bookkeeping, not arithmetic);
* a mini-batch epoch: twice that (the forward and backward passes of the steps, then the
  full-set evaluation that a full-batch epoch shares with its step) plus, per update,
  ``UPDATE_FIXED + UPDATE_PER_PARAM x n_params`` (SGD: 5-21 us an update on 354
  parameters, 11-37 us on 12,802, GD to Adam; on 4 x 64 and 4,500 points, whole page
  runs at the cap took 63 ms a B = 8 epoch and 141 ms a B = 2 epoch, this estimates 58
  and 160; small batches use both cores, XLA splitting their arithmetic over its threads);
* sharpness: each kept network's lambda_max is 20 Lanczos steps of Hessian-vector
  products on the full training set, ``SHARPNESS_PASSES`` full-batch epochs' worth plus
  ``SHARPNESS_FIXED`` (0.26 CPU s each on 4 x 64 and 3,500 points: with 51 kept networks,
  13 s, ten times the training itself);
* the gradient check: 2 x (checked coordinates) x (<= 512 examples) x n_params in float64
  (0.63 CPU s on 4 x 64), at most ~1 s: 64 coordinates per layer, fewer on networks deeper
  and wider than 4 x 64 (``gradcheck_coords_per_layer``) so it stays within
  ``GRADCHECK_MAX_WORK``; its share is set aside whenever it fits (asked or not), so
  turning the check on never changes (and so never retrains) the runs;
* compiling: a page run that meets a shape for the first time (layers, data size, batch
  size) compiles its training program, its initial weights and its evaluation before it
  trains, and the gradient check compiles its own. On the 2-core server after the warm-up,
  that took 3.3-4.7 CPU s for full-batch networks of 0-8 hidden layers (5,000 points) and
  6.2-8.7 s with mini-batches (their updates and the full-set evaluation are two loops);
  the gradient check 0.4-2 s (``compile_work``, ``gradcheck_compile_work``). The compile
  time was uncounted before: the heaviest request (8 x 64 ReLU, 4,500 points, SGD, all
  ten optimizers, gradient check) took 16.8 s on a 7 s budget. It is set aside whether or
  not the programs are compiled already, so a plan stays the same request after request
  (and finds its runs cached).

When even one epoch of every run does not fit, fewer runs train (the first optimizers of
the comparison, at least one); when the gradient check does not fit next to one epoch of
one run, it is left out. The page says what was cut.

No Streamlit here: the page calls ``plan_training`` and says what was cut.
"""
from __future__ import annotations

from typing import NamedTuple

UNITS_PER_CPU_SECOND = 4.7e9
SECONDS = 9.0  # of one core for a page run's compiling, training and gradient check; ~1 s more draws it
CLASSIFIER_CAP = SECONDS * UNITS_PER_CPU_SECOND

EPOCH_FIXED = 1e6
UPDATE_FIXED = 1e5
UPDATE_PER_PARAM = 18.0  # 8 x 64 ReLU, batch size 1: 0.7 CPU s for 4,500 updates
COMPILE_FULL_BATCH = (3.3, 0.2)  # CPU s: fixed, per hidden layer
COMPILE_MINI_BATCH = (6.5, 0.3)
GRADCHECK_COMPILE = (0.4, 0.2)
SHARPNESS_PASSES = 30.0
SHARPNESS_FIXED = 7e6
GRADCHECK_COORDS_PER_LAYER = 64  # at most, as classifier.gradcheck.gradient_check samples them
GRADCHECK_MIN_COORDS_PER_LAYER = 8
GRADCHECK_EXAMPLES = 512
GRADCHECK_MAX_WORK = 4.3e9  # 64 coordinates in each of the 5 layers of 4 x 64 (12,867 parameters)
MIN_SNAPSHOTS = 2  # the first and the last network


class TrainShape(NamedTuple):
    """What one run's cost depends on besides its epoch count."""

    n_train: int
    n_params: int
    n_layers: int  # weight layers (hidden + output)
    steps_per_epoch: int  # 1 for full batch


def epoch_work(shape: TrainShape) -> float:
    passes = 1 if shape.steps_per_epoch == 1 else 2
    per_update = UPDATE_FIXED + UPDATE_PER_PARAM * shape.n_params
    return passes * shape.n_train * shape.n_params + EPOCH_FIXED + shape.steps_per_epoch * per_update


def sharpness_estimates(epochs: int, n_snapshots: int) -> int:
    """lambda_max estimates a run makes: one per kept network (classifier.train.snapshot_plan
    keeps min(n_snapshots, epochs + 1) of them)."""
    return min(n_snapshots, epochs + 1)


def sharpness_work(shape: TrainShape, estimates: int) -> float:
    return estimates * (SHARPNESS_PASSES * shape.n_train * shape.n_params + SHARPNESS_FIXED)


def run_work(shape: TrainShape, epochs: int, n_snapshots: int, sharpness: bool) -> float:
    sharp = sharpness_work(shape, sharpness_estimates(epochs, n_snapshots)) if sharpness else 0.0
    return epochs * epoch_work(shape) + sharp


def compile_work(shape: TrainShape) -> float:
    """What compiling a run of this shape costs (see the module doc), in work units."""
    fixed, per_layer = COMPILE_FULL_BATCH if shape.steps_per_epoch == 1 else COMPILE_MINI_BATCH
    return (fixed + per_layer * (shape.n_layers - 1)) * UNITS_PER_CPU_SECOND


def gradcheck_compile_work(shape: TrainShape) -> float:
    fixed, per_layer = GRADCHECK_COMPILE
    return (fixed + per_layer * (shape.n_layers - 1)) * UNITS_PER_CPU_SECOND


def gradcheck_coords_per_layer(n_layers: int, n_params: int) -> int:
    """Coordinates the gradient check samples per layer: 64, or fewer where 64 per layer
    would cost more than GRADCHECK_MAX_WORK (8 hidden layers of 64: 14)."""
    fits = GRADCHECK_MAX_WORK / (2.0 * GRADCHECK_EXAMPLES * max(n_params, 1) * max(n_layers, 1))
    return int(min(GRADCHECK_COORDS_PER_LAYER, max(GRADCHECK_MIN_COORDS_PER_LAYER, fits)))


def gradcheck_work(shape: TrainShape) -> float:
    """Computing the gradient check (without compiling it)."""
    coords = gradcheck_coords_per_layer(shape.n_layers, shape.n_params) * shape.n_layers
    return 2.0 * coords * min(GRADCHECK_EXAMPLES, shape.n_train) * shape.n_params


def gradcheck_share(shape: TrainShape) -> float:
    """What the gradient check is given: its compile and its computation."""
    return gradcheck_compile_work(shape) + gradcheck_work(shape)


def gradcheck_fits(shape: TrainShape, cap: float) -> bool:
    """Whether the check fits next to compiling and one epoch of one run."""
    return compile_work(shape) + gradcheck_share(shape) + epoch_work(shape) <= cap


class TrainingRequest(NamedTuple):
    """A page run's training: ``runs`` runs of one shape (compare mode: one per
    optimizer), ``cached`` of which are already trained with exactly these settings."""

    shape: TrainShape
    epochs: int  # wanted, after the per-run cap on updates
    n_snapshots: int  # networks kept per run, as the page asks
    sharpness: bool
    runs: int
    cached: int = 0


class TrainingPlan(NamedTuple):
    """What each run trains. work is that of the runs still to train (cached ones are free).
    sharpness is whether lambda_max is tracked (dropped if not even the first and the last
    network's estimates fit). runs of the asked_runs train (the first ones); gradcheck is
    whether the gradient check fits (asked or not, so turning it on changes no run)."""

    epochs: int
    n_snapshots: int
    sharpness: bool
    work: float
    cut_epochs: bool
    cut_snapshots: bool
    dropped_sharpness: bool
    runs: int
    asked_runs: int
    gradcheck: bool

    @property
    def cut_runs(self) -> bool:
        return self.runs < self.asked_runs

    @property
    def cut(self) -> bool:
        return self.cut_epochs or self.cut_snapshots or self.dropped_sharpness or self.cut_runs


def plan_training(request: TrainingRequest, cap: float | None = None) -> TrainingPlan:
    """The request itself if the runs still to train fit the cap, minus compiling and the
    gradient check's share (set aside if it fits next to one epoch of one run); otherwise
    fewer epochs for every run (the same for all, so a comparison stays fair), and with
    sharpness on, fewer kept networks, or no sharpness at all if not even the first and
    last networks' lambda_max fit next to one epoch; if not even one epoch of every run
    fits, one epoch of as many runs as fit (at least one). A cut changes every run's
    settings, so then every run counts, cached or not; the plan depends on the request
    only, so the next page run finds the same plan and its runs cached."""
    cap = CLASSIFIER_CAP if cap is None else cap  # read here, so a test can lower it
    shape, wanted, snaps = request.shape, request.epochs, request.n_snapshots
    check = gradcheck_fits(shape, cap)
    budget = cap - compile_work(shape) - (gradcheck_share(shape) if check else 0.0)
    todo = request.runs - request.cached
    asked = todo * run_work(shape, wanted, snaps, request.sharpness)
    if asked <= budget:
        return TrainingPlan(wanted, snaps, request.sharpness, asked, False, False, False, request.runs, request.runs,
                            check)
    per_epoch = epoch_work(shape)
    runs = max(1, min(request.runs, int(budget // per_epoch)))
    per_run = budget / runs
    estimate = sharpness_work(shape, 1)
    sharpness = request.sharpness and per_run >= MIN_SNAPSHOTS * estimate + per_epoch
    if not sharpness:
        epochs = max(1, min(wanted, int(per_run // per_epoch)))
    else:
        # Half the run's share for lambda_max at fewer kept networks (a few points still
        # show the trend), the rest for epochs; what the epochs leave goes back to sharpness.
        snaps = max(MIN_SNAPSHOTS, min(snaps, int(per_run / 2 // estimate)))
        epochs = max(1, min(wanted, int((per_run - snaps * estimate) // per_epoch)))
        if epochs == wanted:
            snaps = max(MIN_SNAPSHOTS, min(request.n_snapshots, int((per_run - epochs * per_epoch) // estimate)))
    work = runs * run_work(shape, epochs, snaps, sharpness)
    fewer_kept = sharpness_estimates(epochs, snaps) < sharpness_estimates(epochs, request.n_snapshots)
    return TrainingPlan(epochs, snaps, sharpness, work, epochs < wanted, sharpness and fewer_kept,
                        request.sharpness and not sharpness, runs, request.runs, check)
