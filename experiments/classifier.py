"""The Classifier page as data: its settings, and one pure ``run`` from settings to
everything the page shows (dataset, training plan under the work budget, training, the
curves' and the boundary's inputs, the gradient check, and the verdicts as keys and
numbers). The page turns the verdicts into sentences from ``catalog/en/classifier.toml``.

No Streamlit here. What is cached and where heavy work runs is the caller's business,
handed in as plain parameters:

* ``store`` (``Store``): the dataset, finished runs, boundary grids and gradient checks;
  ``UNCACHED`` computes each afresh, the page passes ``ui.training_cache`` (shared,
  bounded caches), so a rerun that only moves the epoch slider never retrains;
* ``runner``: executes the training job, only built when a run is not cached: directly
  (the default) or in the server's heavy-work queue (the page passes ``ui.jobs.run``);
* ``report(fraction, message)``: the job's progress; it is also where a job stops, since
  ui/jobs raises there once the user changed something or left.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, NamedTuple, Protocol

import numpy as np

import optimizers
from classifier import budget, datasets
from classifier import model as mlp
from classifier import train as training
from classifier.boundary import probability_grid
from classifier.datasets import Dataset
from classifier.gradcheck import GradCheckResult, gradient_check
from classifier.losses import LOSSES, n_outputs
from classifier.train import MAX_EPOCHS, TrainConfig, TrainResult
from experiments.common import Hypers, ScheduleChoice
from experiments.schema import Notice, group, setting
from experiments.schema import Settings as SettingsMixin

NAMES = tuple(optimizers.names())

# Learning rates that train the default network (2 x 16 tanh on two moons) in about 200
# full-batch epochs; the other hyperparameters keep the registry's defaults.
CLASSIFIER_LR = {
    "gd": 0.5, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.1, "rmsprop": 0.01,
    "adam": 0.01, "adamw": 0.01, "amsgrad": 0.01, "nadam": 0.01, "radam": 0.01,
}
DEFAULT_OPTIMIZER = "adam"
DEFAULT_DATA = "moons"  # also what a session without its CSV file shows
CSV = datasets.CSV  # c.data of an uploaded file (Settings.upload holds it)
DEFAULT_EPOCHS = 200
DEFAULT_COMPARED = ("gd", "momentum", "adam")

N_SNAPSHOTS = 51  # networks kept per run: the positions of the page's epoch slider
BOUNDARY_RESOLUTION = 100
# Batch size 1 on thousands of points costs minutes; a run is cut to this many updates.
# What a whole page run may train (every run of a comparison together) is capped by
# classifier/budget.py.
MAX_UPDATES = 200_000
BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128, 256, 512)
L2_RANGE = (1e-5, 1.0)  # the L2 slider's positions besides 0 (log spaced)
GRADCHECK_TOL = 1e-6
# Verdicts on a run, thresholds a student can check against the charts:
VANISHING_RATIO = 1e-3  # first layer's gradient norm / the output layer's, at epoch 0
EXPLODING_RATIO = 10.0  # ... and above this, exploding gradients
MAX_HELD_SHARE = 0.9  # test share + validation share: at least a tenth of the points train
OVERFIT_RISE = 0.25  # final test loss this much (relative) above its lowest, train loss still falling
LOG_AXIS_RISE = 10.0  # a loss peak this many times the starting loss: loss drawn on a log axis


class Batching(str, enum.Enum):
    FULL = "full"
    MINI = "mini"
    SGD = "sgd"


class Lesson(str, enum.Enum):
    """One-click set-ups; each changes these settings from the defaults."""

    VANISHING = "vanishing"
    EXPLODING = "exploding"
    BAD_SCALE = "bad_scale"
    CLASS_INDEX = "class_index"
    OVERFITTING = "overfitting"
    EDGE_OF_STABILITY = "edge_of_stability"


LESSONS: dict[Lesson, dict[str, object]] = {
    Lesson.VANISHING: {"c.layers": 4, "c.act": "sigmoid", "c.init": "small", "c.opt": "gd"},
    # Eight tanh layers of 64 with N(0, 1) weights: each layer multiplies the backward
    # signal by about sqrt(64 * E[tanh'(z)^2]) > 1, so the first layer's gradient is ~100x the last's.
    Lesson.EXPLODING: {"c.layers": 8, "c.width": 64, "c.act": "tanh", "c.init": "normal", "c.opt": "gd",
                       "gd.learning_rate": 0.01},
    Lesson.BAD_SCALE: {"c.badscale": True, "c.opt": "gd"},
    # Classes 1, 3, 2 in a row: a linear model of the class NUMBER cannot put 3 between 1 and 2.
    Lesson.CLASS_INDEX: {"c.data": "row", "c.classes": 3, "c.loss": "index", "c.layers": 0},
    Lesson.OVERFITTING: {"c.points": 200, "c.noise": 0.4, "c.layers": 3, "c.width": 64, "c.act": "relu",
                         "c.init": "he", "c.epochs": 500},
    Lesson.EDGE_OF_STABILITY: {"c.opt": "gd", "gd.learning_rate": 2.0, "c.sharp": True},
}


@dataclass(frozen=True)
class Settings(SettingsMixin):
    """Every control of the Classifier page (URL keys as before the refactor), and the
    session's uploaded file (``upload``: not a URL setting, a link cannot carry a file).

    With ``c.data=csv`` the file is the data set: noise, points and classes are the
    file's, the shares, seed, scaling and normalization apply as for a built-in set.
    Without a file (a shared link, a lesson, a file refused) the default data set is
    trained and ``run`` says so. ``replace`` keeps the upload."""

    hypers: Hypers = group(Hypers, learning_rates=CLASSIFIER_LR)
    schedule: ScheduleChoice = group(ScheduleChoice)
    data: str = setting(DEFAULT_DATA, "choice", choices=(*datasets.names(), CSV), key="c.data")
    classes: int = setting(2, "int", 2, 3, key="c.classes")
    noise: float = setting(0.15, "float", 0.0, 0.5, key="c.noise")
    points: int = setting(400, "int", datasets.MIN_POINTS, datasets.MAX_POINTS, key="c.points")
    test_share: float = setting(0.3, "float", 0.1, 0.9, key="c.test")
    val_share: float = setting(0.0, "float", 0.0, 0.5, key="c.val")  # 0: no validation set
    seed: int = setting(0, "int", 0, 2**31 - 1, key="c.seed")
    badly_scaled: bool = setting(False, "bool", key="c.badscale")
    normalize: bool = setting(False, "bool", key="c.norm")
    layers: int = setting(2, "int", 0, mlp.MAX_HIDDEN_LAYERS, key="c.layers")
    width: int = setting(16, "int", 1, mlp.MAX_WIDTH, key="c.width")
    activation: str = setting("tanh", "choice", choices=tuple(mlp.ACTIVATIONS), key="c.act")
    init: str = setting("xavier", "choice", choices=tuple(mlp.INITS), key="c.init")
    loss: str = setting("cross_entropy", "choice", choices=tuple(LOSSES), key="c.loss")
    l2: float = setting(0.0, "float", 0.0, L2_RANGE[1], key="c.l2")
    dropout: float = setting(0.0, "float", 0.0, mlp.MAX_DROPOUT, key="c.dropout")
    batch_norm: bool = setting(False, "bool", key="c.bn")
    early_stopping: bool = setting(False, "bool", key="c.es")
    patience: int = setting(20, "int", 1, 500, key="c.patience")
    batching: str = setting(Batching.FULL.value, "choice", choices=tuple(b.value for b in Batching), key="c.batch")
    batch_size: int = setting(32, "int", BATCH_SIZES[0], BATCH_SIZES[-1], key="c.bs")
    epochs: int = setting(DEFAULT_EPOCHS, "int", 1, MAX_EPOCHS, key="c.epochs")
    optimizer: str = setting(DEFAULT_OPTIMIZER, "choice", choices=NAMES, key="c.opt")
    compare: bool = setting(False, "bool", key="c.compare")
    compared: tuple[str, ...] = setting(DEFAULT_COMPARED, "multi", choices=NAMES, key="c.opts")
    show: str | None = setting(None, "choice", choices=NAMES, key="c.show")  # whose boundary (compare mode)
    at: int | None = setting(None, "int", 0, MAX_EPOCHS, key="c.at")  # epoch shown; None: the last
    sharpness: bool = setting(False, "bool", key="c.sharp")
    gradcheck: bool = setting(False, "bool", key="c.gc")
    depth_sweep: bool = setting(False, "bool", key="c.depth")  # experiments/depth.py: accuracy against depth
    upload: datasets.Upload | None = None  # the session's CSV file, parsed (used when data is CSV)

    def replace(self, **by_key: object) -> "Settings":
        """A copy with some URL keys changed, the upload kept."""
        return dataclasses.replace(super().replace(**by_key), upload=self.upload)

    def with_upload(self, upload: datasets.Upload | None) -> "Settings":
        return dataclasses.replace(self, upload=upload)

    @property
    def uploaded(self) -> bool:
        """The data set is the session's own file (CSV chosen and a file there)."""
        return self.data == CSV and self.upload is not None

    @property
    def data_name(self) -> str:
        """The data set trained: the choice, the default one if CSV has no file."""
        return DEFAULT_DATA if self.data == CSV and self.upload is None else self.data

    @property
    def n_classes(self) -> int:
        """Classes of the data set trained (an upload's own; a built-in's from c.classes)."""
        if self.uploaded:
            return self.upload.n_classes  # type: ignore[union-attr]
        offered = datasets.DATASETS[self.data_name].classes
        return int(self.classes) if self.data != CSV or self.classes in offered else offered[0]

    @property
    def race(self) -> tuple[str, ...]:
        """The optimizers trained: the compared ones, or the one picked."""
        return tuple(k for k in self.compared if k in optimizers.REGISTRY) if self.compare else (self.optimizer,)

    @property
    def comparing(self) -> bool:
        return self.compare and len(self.race) > 1

    @property
    def batch(self) -> int | None:
        """Examples per update; None: the full batch."""
        return {Batching.FULL: None, Batching.MINI: int(self.batch_size), Batching.SGD: 1}[Batching(self.batching)]

    def data_params(self) -> DataParams:
        if self.uploaded:  # points and noise are the file's: fixed, so the hidden sliders do not change the key
            u = self.upload
            return DataParams(CSV, u.n_rows, 0.0, float(self.test_share), int(self.seed), u.n_classes,  # type: ignore
                              bool(self.badly_scaled), bool(self.normalize), float(self.val_share), u)
        return DataParams(self.data_name, int(self.points), float(self.noise), float(self.test_share), int(self.seed),
                          self.n_classes, bool(self.badly_scaled), bool(self.normalize), float(self.val_share))

    def architecture(self) -> mlp.Architecture:
        return mlp.Architecture((int(self.width),) * int(self.layers), self.activation, 2,
                                n_outputs(self.loss, self.n_classes), bool(self.batch_norm))


@dataclass(frozen=True)
class DataParams:
    """Everything ``datasets.make_dataset`` needs, as plain numbers (a cache key); for an
    uploaded file (name CSV) the file itself, compared and printed by its digest."""

    name: str
    n_points: int
    noise: float
    test_fraction: float
    seed: int
    n_classes: int
    badly_scaled: bool
    normalize: bool
    val_fraction: float = 0.0
    upload: datasets.Upload | None = None

    def make(self) -> Dataset:
        if self.name == CSV:
            if self.upload is None:
                raise ValueError("a CSV data set needs its upload")
            return self.upload.dataset(test_fraction=self.test_fraction, seed=self.seed, normalize=self.normalize,
                                       val_fraction=self.val_fraction, badly_scaled=self.badly_scaled)
        return datasets.make_dataset(self.name, self.n_points, self.noise, self.test_fraction, self.seed,
                                     self.n_classes, self.badly_scaled, self.normalize, self.val_fraction)


# ---------------------------------------------------------------------------------------
# Settings that another setting overrules


def settle(settings: Settings) -> tuple[Settings, list[Notice]]:
    """The settings with values that other settings rule out replaced, and a notice for
    each (a data set without that many classes, an L2 strength below the slider's
    smallest, a mini-batch size the slider does not offer, a boundary of an optimizer not
    compared). Idempotent: settled settings come back unchanged, without notices."""
    notices: list[Notice] = []
    fixed: dict[str, object] = {}
    if settings.data == CSV:  # the file (or the stand-in data set) decides, and the classes control is hidden
        if settings.classes != settings.n_classes:
            fixed["c.classes"] = settings.n_classes
    elif settings.classes not in (offered := datasets.DATASETS[settings.data].classes):
        fixed["c.classes"] = offered[0]
        notices.append(Notice("classifier.notice.classes", {"data": settings.data, "asked": settings.classes,
                                                            "offered": offered[0]}))
    if settings.test_share + settings.val_share > MAX_HELD_SHARE + 1e-9:
        used = round(max(0.0, MAX_HELD_SHARE - settings.test_share), 2)
        fixed["c.val"] = used
        notices.append(Notice("classifier.notice.val", {"asked": settings.val_share, "test": settings.test_share,
                                                        "used": used}))
    if 0 < settings.l2 < L2_RANGE[0]:
        fixed["c.l2"] = 0.0
        notices.append(Notice("classifier.notice.l2_off", {"asked": settings.l2, "smallest": L2_RANGE[0]}))
    if Batching(settings.batching) is Batching.MINI and settings.batch_size not in BATCH_SIZES:
        nearest = min(BATCH_SIZES, key=lambda b: abs(b - settings.batch_size))
        fixed["c.bs"] = nearest
        notices.append(Notice("classifier.notice.batch_size", {"asked": settings.batch_size, "used": nearest}))
    race = settings.race
    if settings.comparing and settings.show not in race:
        fixed["c.show"] = race[0]
        if settings.show is not None:
            notices.append(Notice("classifier.notice.show", {"optimizer": settings.show, "instead": race[0]}))
    return (settings.replace(**fixed) if fixed else settings), notices


# ---------------------------------------------------------------------------------------
# The training plan


def config_for(settings: Settings, optimizer: str, epochs: int, n_snapshots: int, sharpness: bool) -> TrainConfig:
    """One optimizer's run of these settings (the cache key of its result)."""
    base = TrainConfig(
        hidden=(int(settings.width),) * int(settings.layers), activation=settings.activation, init=settings.init,
        loss=settings.loss, batch_size=settings.batch, epochs=int(epochs), l2=float(settings.l2),
        dropout=float(settings.dropout), batch_norm=bool(settings.batch_norm), patience=int(settings.patience) if settings.early_stopping else 0,
        seed=int(settings.seed), n_snapshots=n_snapshots, schedule=settings.schedule.config(),
        track_sharpness=bool(sharpness),
    )
    return base.with_optimizer(optimizer, settings.hypers.of(optimizer))


@dataclass(frozen=True)
class Plan:
    """What a page run trains: every run's config after the cap on updates and the work
    budget (``budget`` says what it cut), and the numbers the page's notes quote."""

    data: DataParams
    race: tuple[str, ...]
    n_params: int
    n_train: int
    batch_size: int | None
    steps_per_epoch: int
    epochs_wanted: int
    epochs_asked: int  # after the cap on updates per run
    sharpness_asked: bool
    budget: budget.TrainingPlan
    configs: Mapping[str, TrainConfig]
    gradcheck_asked: bool = False

    @property
    def gradcheck(self) -> bool:
        """Whether the gradient check runs: asked, and within the budget."""
        return self.gradcheck_asked and self.budget.gradcheck

    @property
    def epochs(self) -> int:
        return self.budget.epochs

    @property
    def capped_by_updates(self) -> bool:
        """Fewer epochs than asked because of MAX_UPDATES alone (the budget did not cut)."""
        return self.epochs_asked < self.epochs_wanted and not self.budget.cut_epochs

    def cuts(self) -> list[Notice]:
        """What the work budget cut and why, one message per sentence (empty if nothing)."""
        out: list[Notice] = []
        b = self.budget
        many = b.asked_runs > 1
        dropped_check = self.gradcheck_asked and not b.gradcheck
        if b.cut or dropped_check:
            asked = "classifier.budget.asked_" + ("many" if many else "one") + ("_sharp" if self.sharpness_asked else "")
            out.append(Notice(asked, {"runs": b.asked_runs, "epochs": self.epochs_asked, "params": self.n_params,
                                      "points": self.n_train}))
            if b.cut_runs:
                out.append(Notice("classifier.budget.cut_runs_" + ("one" if b.runs == 1 else "many"),
                                  {"kept": b.runs, "asked": b.asked_runs}))
            elif b.cut_epochs:
                out.append(Notice("classifier.budget.cut_epochs_" + ("many" if many else "one"), {"epochs": b.epochs}))
            if b.cut_snapshots:
                out.append(Notice("classifier.budget.cut_snapshots", {"kept": b.n_snapshots, "asked": N_SNAPSHOTS}))
            if b.dropped_sharpness:
                out.append(Notice("classifier.budget.dropped_sharpness", {"passes": budget.SHARPNESS_PASSES}))
            if dropped_check:
                out.append(Notice("classifier.budget.dropped_gradcheck"))
            remedy = "classifier.budget.remedy" + ("_many" if many else "") + ("_sharp" if self.sharpness_asked else "")
            out.append(Notice(remedy))
        return out

    def update_cap(self) -> Notice | None:
        """Why fewer epochs run than asked when the cap on updates alone cut them."""
        if not self.capped_by_updates:
            return None
        return Notice("classifier.budget.updates", {
            "batch": self.batch_size, "points": self.n_train, "steps": self.steps_per_epoch,
            "wanted": self.epochs_wanted, "updates": self.epochs_wanted * self.steps_per_epoch,
            "cap": MAX_UPDATES, "epochs": self.epochs})


def steps_per_epoch(settings: Settings, n_train: int) -> int:
    batch = settings.batch
    return 1 if batch is None else -(-n_train // min(batch, n_train))


def plan(settings: Settings, data: Dataset, is_cached: Callable[[DataParams, TrainConfig], bool]) -> Plan:
    """The runs to train under the cap on updates and the page's work budget. Runs already
    trained with the asked-for settings are free (``is_cached``)."""
    arch = settings.architecture()
    batch = settings.batch
    steps = steps_per_epoch(settings, data.n_train)
    wanted = int(settings.epochs)
    asked_epochs = min(wanted, max(1, MAX_UPDATES // steps))
    race, p, sharp = settings.race, settings.data_params(), bool(settings.sharpness)
    asked = {k: config_for(settings, k, asked_epochs, N_SNAPSHOTS, sharp) for k in race}
    cut = budget.plan_training(budget.TrainingRequest(
        budget.TrainShape(data.n_train, arch.n_params, arch.n_layers, steps), asked_epochs, N_SNAPSHOTS, sharp,
        len(race), sum(is_cached(p, c) for c in asked.values())))
    race = race[: cut.runs]
    configs = ({k: config_for(settings, k, cut.epochs, cut.n_snapshots, cut.sharpness) for k in race}
               if cut.cut else asked)
    return Plan(p, race, arch.n_params, data.n_train, batch, steps, wanted, asked_epochs, sharp, cut, configs,
                bool(settings.gradcheck))


BATCH_TIMES = Path(__file__).resolve().parents[1] / "benchmarks" / "batch_epoch_times.json"


class BatchTiming(NamedTuple):
    """Seconds per epoch and per update against batch size, as measured on the server by
    benchmarks/bench_batch_epoch.py (a file of data, with its date)."""

    measured: str
    machine: str
    n_train: int
    batch: tuple[int, ...]
    per_epoch: tuple[float, ...]
    per_update: tuple[float, ...]


def batch_timing(path: Path = BATCH_TIMES) -> BatchTiming | None:
    """The stored measurement, or None if there is none (the page then draws no chart)."""
    try:
        raw = json.loads(path.read_text())
        rows = raw["rows"]
        return BatchTiming(str(raw["measured"]), str(raw["machine"]), int(raw["n_train"]),
                           tuple(int(r["batch"]) for r in rows), tuple(float(r["seconds_per_epoch"]) for r in rows),
                           tuple(float(r["seconds_per_update"]) for r in rows))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def lesson(which: Lesson) -> Settings:
    """The defaults with a lesson's own settings."""
    return Settings().replace(**LESSONS[which])


def default_run() -> tuple[DataParams, TrainConfig]:
    """The run the page trains with every control at its default (same key, same cache
    entry): what a start-up warm-up trains."""
    s = Settings()
    return s.data_params(), config_for(s, s.optimizer, s.epochs, N_SNAPSHOTS, s.sharpness)


# ---------------------------------------------------------------------------------------
# Where results come from

Grid = tuple[np.ndarray, np.ndarray, np.ndarray]  # xs, ys, class probabilities at (ys[i], xs[j])
Report = Callable[[float, Notice], None]  # (fraction done, what is being done)
TrainingJob = Callable[[Report], Mapping[str, TrainResult]]
Runner = Callable[[TrainingJob], Mapping[str, TrainResult]]


class Store(Protocol):
    def dataset(self, p: DataParams) -> Dataset: ...

    def cached(self, p: DataParams, config: TrainConfig) -> TrainResult | None: ...

    def train(self, p: DataParams, base: TrainConfig, runs: Mapping[str, Mapping[str, float]],
              on_chunk: Callable[[int, int], None] | None = None) -> Mapping[str, TrainResult]: ...

    def boundary(self, p: DataParams, result: TrainResult, epoch: int) -> Grid: ...

    def grad_check(self, p: DataParams, result: TrainResult, epoch: int) -> GradCheckResult: ...


class Uncached:
    """Computes everything afresh: for tests and scripts."""

    @staticmethod
    def dataset(p: DataParams) -> Dataset:
        return p.make()

    @staticmethod
    def cached(p: DataParams, config: TrainConfig) -> TrainResult | None:
        return None

    @staticmethod
    def train(p: DataParams, base: TrainConfig, runs: Mapping[str, Mapping[str, float]],
              on_chunk: Callable[[int, int], None] | None = None) -> Mapping[str, TrainResult]:
        return training.compare(p.make(), base, runs, on_chunk)

    @staticmethod
    def boundary(p: DataParams, result: TrainResult, epoch: int) -> Grid:
        return probability_grid(result.snapshot_at(epoch), p.make(), result.config.activation, BOUNDARY_RESOLUTION,
                                loss=result.config.loss)

    @staticmethod
    def grad_check(p: DataParams, result: TrainResult, epoch: int) -> GradCheckResult:
        return check_gradients(p.make(), result, epoch)


UNCACHED = Uncached()


def check_gradients(data: Dataset, result: TrainResult, epoch: int) -> GradCheckResult:
    """Back-propagation vs central differences (float64) for the network at ``epoch``, on
    the objective the run minimised (its loss and L2 strength, no dropout)."""
    config = result.config
    params = result.snapshot_at(epoch)
    n_params = sum(int(np.size(v)) for layer in params for v in layer.values())
    return gradient_check(params, data.x_train, data.y_train, config.activation, loss=config.loss, l2=config.l2,
                          seed=config.seed, max_coords_per_layer=budget.gradcheck_coords_per_layer(len(params), n_params))


def training_job(plan: Plan, todo: tuple[str, ...], store: Store) -> TrainingJob:
    """The job that trains ``todo`` (one comparison, same initial weights and batches),
    reporting which optimizer and epoch it is at."""
    epochs = plan.epochs
    base = plan.configs[todo[0]]
    runs = {k: dict(plan.configs[k].hyperparams) for k in todo}

    def job(report: Report) -> Mapping[str, TrainResult]:
        report(0.0, Notice("classifier.progress.start", {"optimizer": todo[0]}))

        def on_chunk(done: int, total: int) -> None:
            i = min(len(todo) - 1, max(0, math.ceil(done / epochs) - 1))
            within = done - i * epochs
            if within >= epochs and i + 1 < len(todo):
                report(done / total, Notice("classifier.progress.start", {"optimizer": todo[i + 1]}))
            else:
                report(done / total, Notice("classifier.progress.epoch",
                                            {"optimizer": todo[i], "epoch": within, "epochs": epochs}))

        return store.train(plan.data, base, runs, on_chunk)

    return job


def _direct(report: Report | None) -> Runner:
    return lambda job: job(report or (lambda fraction, message: None))


# ---------------------------------------------------------------------------------------
# Verdicts


class Outcome(str, enum.Enum):
    FINISHED = "finished"
    DIVERGED = "diverged"
    EARLY_STOPPED = "early_stopped"
    LOSS_ROSE = "loss_rose"  # finished with a higher training loss than it started with


class RunVerdict(NamedTuple):
    outcome: Outcome
    learning_rate: float
    epoch: int | None  # where it diverged or stopped
    best_epoch: int  # lowest held-out loss (validation, else test)
    first_loss: float
    last_loss: float


class Vanishing(NamedTuple):
    """Epoch 0's gradient norms: the first layer's is ``ratio`` times the output layer's."""

    first: float
    last: float
    ratio: float


class Exploding(NamedTuple):
    """Epoch 0's gradient norms: the first layer's is ``ratio`` times the output layer's."""

    first: float
    last: float
    ratio: float


class Overfitting(NamedTuple):
    best_epoch: int
    best_test_loss: float
    final_test_loss: float


class CheckVerdict(str, enum.Enum):
    PASSED = "passed"  # every layer below GRADCHECK_TOL
    FAILED = "failed"
    NOT_FINITE = "not_finite"  # loss or weights too large for finite differences


class GradCheck(NamedTuple):
    result: GradCheckResult
    verdict: CheckVerdict
    worst: float
    eps_exponent: int  # eps = 10 ** eps_exponent
    n_checked: int


def verdict(result: TrainResult) -> RunVerdict:
    lr = float(result.config.resolved_hyperparams()["learning_rate"])
    first, last = float(result.train_loss[0]), float(result.train_loss[-1])
    if result.diverged_at is not None:
        outcome, epoch = Outcome.DIVERGED, result.diverged_at
    elif result.stopped_at is not None:
        outcome, epoch = Outcome.EARLY_STOPPED, result.stopped_at
    elif len(result.train_loss) > 1 and last > first:
        outcome, epoch = Outcome.LOSS_ROSE, None
    else:
        outcome, epoch = Outcome.FINISHED, None
    return RunVerdict(outcome, lr, epoch, int(result.best_epoch), first, last)


def _first_to_last(result: TrainResult) -> tuple[float, float, float] | None:
    """Epoch 0's gradient norms of the first and the output layer, and their ratio."""
    if result.grad_norms.shape[1] < 2:
        return None
    first, last = float(result.grad_norms[0, 0]), float(result.grad_norms[0, -1])
    if not (last > 0 and math.isfinite(first)):
        return None
    return first, last, first / last


def vanishing(result: TrainResult) -> Vanishing | None:
    """Vanishing gradients at the start: the first layer's gradient far below the output's."""
    norms = _first_to_last(result)
    return Vanishing(*norms) if norms is not None and norms[2] < VANISHING_RATIO else None


def exploding(result: TrainResult) -> Exploding | None:
    """Exploding gradients at the start: the first layer's gradient far above the output's."""
    norms = _first_to_last(result)
    return Exploding(*norms) if norms is not None and norms[2] > EXPLODING_RATIO else None


def overfitting(result: TrainResult) -> Overfitting | None:
    """The held-out (validation, else test) loss rose well above its lowest while the
    training loss kept falling."""
    test, train = getattr(result, "held_loss", result.test_loss), result.train_loss
    if len(test) < 3 or not np.all(np.isfinite(test)):
        return None
    best = int(np.argmin(test))
    rose = test[-1] > test[best] * (1 + OVERFIT_RISE)
    return Overfitting(best, float(test[best]), float(test[-1])) if rose and train[-1] < train[best] else None


def grad_check_verdict(check: GradCheckResult) -> GradCheck:
    errors = np.asarray(check.rel_errors, np.float64)
    if not np.all(np.isfinite(errors)):
        kind, worst = CheckVerdict.NOT_FINITE, math.nan
    else:
        worst = float(np.max(errors))
        kind = CheckVerdict.PASSED if worst < GRADCHECK_TOL else CheckVerdict.FAILED
    return GradCheck(check, kind, worst, round(math.log10(check.eps)), int(np.sum(check.n_checked)))


def epoch_shown(asked: int | None, kept: tuple[int, ...]) -> tuple[int, Notice | None]:
    """The kept network nearest to the asked epoch (None: the last one)."""
    if asked is None:
        return kept[-1], None
    if asked in kept:
        return asked, None
    nearest = min(kept, key=lambda e: abs(e - asked))
    return nearest, Notice("classifier.notice.epoch", {"asked": asked, "used": nearest})


# ---------------------------------------------------------------------------------------
# One page run


@dataclass(frozen=True)
class Result:
    settings: Settings  # as run: settled, with the epoch shown filled in
    notices: tuple[Notice, ...]  # values replaced because of other settings
    data: Dataset
    arch: mlp.Architecture
    plan: Plan
    runs: Mapping[str, TrainResult]  # by optimizer, in race order
    verdicts: Mapping[str, RunVerdict]
    shown: str  # whose boundary, gradients and gradient check
    kept_epochs: tuple[int, ...]  # the epoch slider's positions
    at: int
    boundary: Grid
    train_acc_at: float
    test_acc_at: float
    log_loss_axis: bool  # a blow-up would flatten every other curve on a linear axis
    markers: bool  # a run with one or two points: lines alone would not show
    decade_ticks: bool  # gradient norms span at least a decade
    vanishing: Vanishing | None
    exploding: Exploding | None
    overfitting: Overfitting | None
    check: GradCheck | None

    @property
    def shown_run(self) -> TrainResult:
        return self.runs[self.shown]


def run(settings: Settings, store: Store = UNCACHED, runner: Runner | None = None,
        report: Report | None = None, on_plan: Callable[[Plan, list[Notice]], None] | None = None) -> Result:
    """Everything the page shows for these settings. Only runs the store does not hold
    are trained, all in one job given to ``runner`` (default: here, reporting to
    ``report``). ``on_plan(plan, notices so far)`` is called before any training, so a
    page can say what was cut while it waits."""
    settings, notices = settle(settings)
    if not settings.race:
        raise ValueError("no optimizer to train")
    if settings.data == CSV and settings.upload is None:
        notices.append(Notice("classifier.csv.missing", {"data": settings.data_name}))
    p = settings.data_params()
    data = store.dataset(p)
    if settings.batch is not None and settings.batch > 1 and settings.batch >= data.n_train:
        notices.append(Notice("classifier.notice.full_batch", {"batch": settings.batch, "points": data.n_train}))
    the_plan = plan(settings, data, lambda q, c: store.cached(q, c) is not None)
    if on_plan is not None:
        on_plan(the_plan, list(notices))
    runs = {k: store.cached(p, the_plan.configs[k]) for k in the_plan.race}
    todo = tuple(k for k, r in runs.items() if r is None)
    if todo:
        trained = (runner or _direct(report))(training_job(the_plan, todo, store))
        runs.update({k: trained[k] for k in todo})
    results: dict[str, TrainResult] = {k: r for k, r in runs.items() if r is not None}

    shown = settings.show if settings.comparing and settings.show in results else the_plan.race[0]
    r = results[shown]
    kept = tuple(int(e) for e in r.snapshot_epochs)
    at, note = epoch_shown(settings.at, kept)
    if note is not None:
        notices.append(note)
    i_at = min(at, len(r.train_acc) - 1)
    test_acc_at = float(r.test_acc[i_at])
    if r.has_validation and not math.isfinite(test_acc_at):
        # The test set scores the network shown, and nothing else: it never steers training.
        test_acc_at = training.evaluate(r.snapshot_at(at), data.x_test, data.y_test, r.config.activation,
                                        r.config.loss, data.n_classes)[1]
    start = max(float(x.train_loss[0]) for x in results.values())
    peak = max(float(np.nanmax(np.r_[x.train_loss, x.held_loss])) for x in results.values())
    positive = r.grad_norms[r.grad_norms > 0]
    check = grad_check_verdict(store.grad_check(p, r, at)) if the_plan.gradcheck else None
    return Result(
        settings=settings.replace(**{"c.at": at}), notices=tuple(notices), data=data, arch=settings.architecture(),
        plan=the_plan, runs=results, verdicts={k: verdict(x) for k, x in results.items()}, shown=shown,
        kept_epochs=kept, at=at, boundary=store.boundary(p, r, at), train_acc_at=float(r.train_acc[i_at]),
        test_acc_at=test_acc_at, log_loss_axis=peak > LOG_AXIS_RISE * start,
        markers=any(len(x.epoch) < 3 for x in results.values()),
        decade_ticks=bool(positive.size and np.log10(positive.max() / positive.min()) >= 1),
        vanishing=vanishing(r), exploding=exploding(r), overfitting=overfitting(r), check=check,
    )
