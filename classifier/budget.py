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
  ``GRADCHECK_MAX_WORK``; its share is always set aside, so turning the check on never
  changes (and so never retrains) the runs.

No Streamlit here: the page calls ``plan_training`` and says what was cut.
"""
from __future__ import annotations

from typing import NamedTuple

UNITS_PER_CPU_SECOND = 4.7e9
SECONDS = 7.0  # of one core for a page run's training, leaving the rest of ~10 s to drawing it
CLASSIFIER_CAP = SECONDS * UNITS_PER_CPU_SECOND

EPOCH_FIXED = 1e6
UPDATE_FIXED = 1e5
UPDATE_PER_PARAM = 14.0
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


def gradcheck_coords_per_layer(n_layers: int, n_params: int) -> int:
    """Coordinates the gradient check samples per layer: 64, or fewer where 64 per layer
    would cost more than GRADCHECK_MAX_WORK (8 hidden layers of 64: 14)."""
    fits = GRADCHECK_MAX_WORK / (2.0 * GRADCHECK_EXAMPLES * max(n_params, 1) * max(n_layers, 1))
    return int(min(GRADCHECK_COORDS_PER_LAYER, max(GRADCHECK_MIN_COORDS_PER_LAYER, fits)))


def gradcheck_work(shape: TrainShape) -> float:
    coords = gradcheck_coords_per_layer(shape.n_layers, shape.n_params) * shape.n_layers
    return 2.0 * coords * min(GRADCHECK_EXAMPLES, shape.n_train) * shape.n_params


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
    network's estimates fit)."""

    epochs: int
    n_snapshots: int
    sharpness: bool
    work: float
    cut_epochs: bool
    cut_snapshots: bool
    dropped_sharpness: bool

    @property
    def cut(self) -> bool:
        return self.cut_epochs or self.cut_snapshots or self.dropped_sharpness


def plan_training(request: TrainingRequest, cap: float | None = None) -> TrainingPlan:
    """The request itself if the runs still to train fit the cap (minus the gradient
    check's share); otherwise fewer epochs for every run (the same for all, so a
    comparison stays fair), and with sharpness on, fewer kept networks, or no sharpness at
    all if not even the first and last networks' lambda_max fit next to one epoch. A cut
    changes every run's settings, so then every run counts, cached or not; the plan depends
    on the request only, so the next page run finds the same plan and its runs cached."""
    cap = CLASSIFIER_CAP if cap is None else cap  # read here, so a test can lower it
    shape, wanted, snaps = request.shape, request.epochs, request.n_snapshots
    budget = cap - gradcheck_work(shape)
    todo = request.runs - request.cached
    asked = todo * run_work(shape, wanted, snaps, request.sharpness)
    if asked <= budget:
        return TrainingPlan(wanted, snaps, request.sharpness, asked, False, False, False)
    per_run = budget / request.runs
    per_epoch = epoch_work(shape)
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
    work = request.runs * run_work(shape, epochs, snaps, sharpness)
    fewer_kept = sharpness_estimates(epochs, snaps) < sharpness_estimates(epochs, request.n_snapshots)
    return TrainingPlan(epochs, snaps, sharpness, work, epochs < wanted, sharpness and fewer_kept,
                        request.sharpness and not sharpness)
