"""Bounded, process-wide caches for the Classifier page, so a rerun that only moves a
slider (the epoch shown, a chart toggle) never retrains.

Everything is keyed by plain hashable values: ``DataParams`` (the numbers that generate a
data set) and ``classifier.train.TrainConfig`` (a frozen dataclass). Training results
hold NumPy arrays only, so sharing them between sessions is safe; they are never mutated.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np

import optimizers
from classifier import datasets
from classifier import train as training
from classifier.boundary import probability_grid
from classifier.datasets import Dataset
from classifier.gradcheck import GradCheckResult, gradient_check
from classifier.train import TrainConfig, TrainResult

MAX_RUNS = 24  # a run keeps up to ~51 parameter snapshots: at most a few MB each
BOUNDARY_RESOLUTION = 100
N_SNAPSHOTS = 51  # networks kept per run: the positions of the page's epoch slider

# The Classifier page's default view, here so a start-up warm-up can train exactly it:
# learning rates that train the default network (2 x 16 tanh on two moons) in ~200
# full-batch epochs, and the default optimizer and epoch count.
CLASSIFIER_LR = {
    "gd": 0.5, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.1, "rmsprop": 0.01,
    "adam": 0.01, "adamw": 0.01, "amsgrad": 0.01, "nadam": 0.01, "radam": 0.01,
}
DEFAULT_OPTIMIZER = "adam"
DEFAULT_EPOCHS = 200


@dataclass(frozen=True)
class DataParams:
    """Everything ``datasets.make_dataset`` needs, as plain numbers."""

    name: str = "moons"
    n_points: int = 400
    noise: float = 0.15
    test_fraction: float = 0.3
    seed: int = 0
    n_classes: int = 2
    badly_scaled: bool = False
    normalize: bool = False


DEFAULT_DATA = DataParams()


def default_config() -> TrainConfig:
    """The run the page trains with every control at its default (same key, same cache entry)."""
    spec = optimizers.REGISTRY[DEFAULT_OPTIMIZER]
    hyper = {h.name: float(h.default) for h in spec.hyperparams}
    hyper["learning_rate"] = CLASSIFIER_LR[DEFAULT_OPTIMIZER]
    return TrainConfig(epochs=DEFAULT_EPOCHS, n_snapshots=N_SNAPSHOTS).with_optimizer(DEFAULT_OPTIMIZER, hyper)


@functools.lru_cache(maxsize=8)
def dataset(p: DataParams) -> Dataset:
    return datasets.make_dataset(p.name, p.n_points, p.noise, p.test_fraction, p.seed, p.n_classes,
                                 p.badly_scaled, p.normalize)


class _LRU:
    """A least-recently-used map, thread-safe (Streamlit runs every session in its own
    thread). Misses of ``run`` are counted for tests."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple, object] = OrderedDict()
        self.lock = threading.Lock()
        self.misses = 0

    def get(self, key: tuple):
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def put(self, key: tuple, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


RUNS = _LRU(MAX_RUNS)  # (DataParams, TrainConfig) -> TrainResult
BOUNDARIES = _LRU(64)  # (DataParams, TrainConfig, epoch) -> probability grid
CHECKS = _LRU(32)  # (DataParams, TrainConfig, epoch) -> GradCheckResult


def cached(p: DataParams, config: TrainConfig) -> TrainResult | None:
    """The stored result of (data, config), or None: nothing is trained here."""
    return RUNS.get((p, config))


def is_cached(p: DataParams, config: TrainConfig) -> bool:
    return cached(p, config) is not None


def run(p: DataParams, config: TrainConfig, on_chunk: Callable[[int, int], None] | None = None) -> TrainResult:
    """The training result for (data, config), trained (reporting progress) only on a miss.
    An interrupted run (the user changed something mid-way) is simply not stored. Pages
    call this from a heavy job (ui/jobs.py); the warm-up calls it directly."""
    key = (p, config)
    hit = RUNS.get(key)
    if hit is not None:
        return hit
    with RUNS.lock:
        RUNS.misses += 1
    result = training.train(dataset(p), config, on_chunk=on_chunk)
    RUNS.put(key, result)
    return result


def boundary(p: DataParams, result: TrainResult, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class probabilities on a grid over the data (raw coordinates) for the snapshot at
    ``epoch`` of a finished run. The page passes the result it holds: looking the run up
    again could find it evicted by other sessions and train it outside the job queue."""
    key = (p, result.config, int(epoch))
    hit = BOUNDARIES.get(key)
    if hit is None:
        hit = probability_grid(result.snapshot_at(epoch), dataset(p), result.config.activation, BOUNDARY_RESOLUTION)
        BOUNDARIES.put(key, hit)
    return hit


def grad_check(p: DataParams, result: TrainResult, epoch: int) -> GradCheckResult:
    """Back-propagation vs central differences (float64) for the network at ``epoch``, on
    the training objective the run minimised (its loss and L2 strength, no dropout). At
    most ~1 s (512 examples, 64 coordinates per layer): classifier/budget.py sets its share
    aside, so it runs on the session's own thread."""
    key = (p, result.config, int(epoch))
    hit = CHECKS.get(key)
    if hit is None:
        config, data = result.config, dataset(p)
        hit = gradient_check(result.snapshot_at(epoch), data.x_train, data.y_train, config.activation,
                             loss=config.loss, l2=config.l2, seed=config.seed)
        CHECKS.put(key, hit)
    return hit
