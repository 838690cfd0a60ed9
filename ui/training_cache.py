"""Bounded, process-wide caches for the Classifier page, so a rerun that only moves a
slider (the epoch shown, a chart toggle) never retrains. This module is the ``Store``
that ``experiments.classifier.run`` takes.

Entries are kept by ``st.cache_resource(max_entries=...)``: shared by every session,
least recently used out. Everything is keyed by plain values: ``DataParams`` (the numbers
that generate a data set) and ``classifier.train.TrainConfig`` (a frozen dataclass),
hashed by their repr (every field, floats exactly). Training results hold NumPy arrays
only, so sharing them between sessions is safe; they are never mutated.

``cached`` must answer without training (the work budget counts cached runs as free, and
a cached run must not go through the heavy-work queue), which a cached function cannot
do alone: a weak index of the results the cache handed out answers it, and a hit is
handed back through the cache so that it counts as recently used (and comes back into
the cache if it had been evicted while a session still held it).
"""
from __future__ import annotations

import functools
import threading
import weakref
from typing import Callable, Mapping

import streamlit as st

from classifier import datasets
from classifier import train as training
from classifier.boundary import probability_grid
from classifier.datasets import Dataset
from classifier.gradcheck import GradCheckResult
from classifier.train import TrainConfig, TrainResult
from experiments import classifier as experiment
from experiments.classifier import DataParams, Grid

MAX_RUNS = 24  # a run keeps up to ~51 parameter snapshots: at most a few MB each
MAX_BOUNDARIES = 64
MAX_CHECKS = 32
N_SNAPSHOTS = experiment.N_SNAPSHOTS

# The page's default view, for the start-up warm-up: it trains exactly this.
DEFAULT_DATA, _DEFAULT_CONFIG = experiment.default_run()
CLASSIFIER_LR = experiment.CLASSIFIER_LR

_HASH = {DataParams: repr, TrainConfig: repr}


def default_config() -> TrainConfig:
    """The run the page trains with every control at its default (same key, same cache entry)."""
    return _DEFAULT_CONFIG


class _Counter:
    """Trainings done here (cache misses), for tests."""

    def __init__(self) -> None:
        self.misses = 0
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.misses += n


RUNS = _Counter()
_index: weakref.WeakValueDictionary[tuple[DataParams, TrainConfig], TrainResult] = weakref.WeakValueDictionary()
_index_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def dataset(p: DataParams) -> Dataset:
    """The data set of ``p`` (an uploaded file's is keyed by its digest: see DataParams)."""
    return p.make()


@functools.lru_cache(maxsize=4)
def csv_text(p: DataParams) -> str:
    """The data set of ``p`` as the CSV file its download button gives."""
    return datasets.to_csv(dataset(p))


@st.cache_resource(max_entries=MAX_RUNS, show_spinner=False, hash_funcs=_HASH)
def _kept(p: DataParams, config: TrainConfig, _result: TrainResult) -> TrainResult:
    """Keeps ``_result`` under (p, config), or returns the one already kept there."""
    return _result


def _keep(p: DataParams, config: TrainConfig, result: TrainResult) -> TrainResult:
    kept = _kept(p, config, result)
    with _index_lock:
        _index[(p, config)] = kept
    return kept


def cached(p: DataParams, config: TrainConfig) -> TrainResult | None:
    """The stored result of (data, config), or None: nothing is trained here."""
    with _index_lock:
        hit = _index.get((p, config))
    return None if hit is None else _keep(p, config, hit)


def is_cached(p: DataParams, config: TrainConfig) -> bool:
    return cached(p, config) is not None


def train(p: DataParams, base: TrainConfig, runs: Mapping[str, Mapping[str, float]],
          on_chunk: Callable[[int, int], None] | None = None) -> dict[str, TrainResult]:
    """Train ``runs`` = {optimizer: hyperparameters} as one comparison (same initial
    weights and batches) and keep each result. An interrupted comparison (the user
    changed something mid-way) is simply not stored."""
    results = training.compare(dataset(p), base, runs, on_chunk)
    RUNS.add(len(runs))
    return {k: _keep(p, base.with_optimizer(k, runs[k]), r) for k, r in results.items()}


def run(p: DataParams, config: TrainConfig, on_chunk: Callable[[int, int], None] | None = None) -> TrainResult:
    """The training result for (data, config), trained only on a miss (the warm-up calls
    this directly; the page trains through ``experiments.classifier.run``)."""
    hit = cached(p, config)
    if hit is not None:
        return hit
    result = training.train(dataset(p), config, on_chunk=on_chunk)
    RUNS.add(1)
    return _keep(p, config, result)


@st.cache_resource(max_entries=MAX_BOUNDARIES, show_spinner=False, hash_funcs=_HASH)
def _boundary(p: DataParams, config: TrainConfig, epoch: int, _result: TrainResult) -> Grid:
    return probability_grid(_result.snapshot_at(epoch), dataset(p), _result.config.activation,
                            experiment.BOUNDARY_RESOLUTION, loss=_result.config.loss)


def boundary(p: DataParams, result: TrainResult, epoch: int) -> Grid:
    """Class probabilities on a grid over the data (raw coordinates) for the snapshot at
    ``epoch`` of a finished run. The caller passes the result it holds: looking the run
    up again could find it evicted by other sessions and train it outside the job queue."""
    return _boundary(p, result.config, int(epoch), result)


@st.cache_resource(max_entries=MAX_CHECKS, show_spinner=False, hash_funcs=_HASH)
def _grad_check(p: DataParams, config: TrainConfig, epoch: int, _result: TrainResult) -> GradCheckResult:
    return experiment.check_gradients(dataset(p), _result, epoch)


def grad_check(p: DataParams, result: TrainResult, epoch: int) -> GradCheckResult:
    """The gradient check of the network at ``epoch``: at most about a second (512
    examples, 64 coordinates per layer); classifier/budget.py sets its share aside, so it
    runs on the session's own thread."""
    return _grad_check(p, result.config, int(epoch), result)
