"""The Classifier's "accuracy against depth" experiment (notes 001: accuracy drops beyond
about 8 layers): for 1 .. ``MAX_HIDDEN_LAYERS`` hidden layers of the page's width, one
network with sigmoid (Xavier init) and one with ReLU (He init), each trained on the page's
data, seed, optimizer, batching and epochs; the result is every network's final test
accuracy. Deep sigmoid networks fall towards chance, ReLU ones hold.

Every network is the deepest one's stack with only its first ``depth`` hidden layers
acting (``TrainConfig.depth``, model.forward), so the sweep compiles one program per
activation instead of one per network: sixteen compiles took ~50 s of the default sweep's
52 and held ~210 MB. Each network then costs as much as the deepest to train.

No Streamlit. The work is fitted under the Classifier's budget (classifier/budget.py):
fewer epochs for every network first, then, if not even one epoch of every depth fits,
the deepest depths dropped; ``DepthPlan.cuts`` says what was cut. ``job`` is what the
page hands to the heavy-work queue (``report(fraction, Notice)`` as in
experiments/classifier.py).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from classifier import budget
from classifier import model as mlp
from classifier import train as training
from classifier.datasets import Dataset
from classifier.losses import n_outputs
from classifier.train import TrainConfig
from experiments import classifier as ex
from experiments.schema import Notice

DEPTHS = tuple(range(1, mlp.MAX_HIDDEN_LAYERS + 1))
PAIRS = (("sigmoid", "xavier"), ("relu", "he"))  # activation, the initialisation made for it
SNAPSHOTS = budget.MIN_SNAPSHOTS  # only the last network is scored
Report = Callable[[float, Notice], None]


@dataclass(frozen=True)
class DepthPlan:
    epochs_asked: int  # the page's epochs, after the cap on updates per run
    epochs: int
    depths_asked: tuple[int, ...]
    depths: tuple[int, ...]
    configs: tuple[tuple[str, int, TrainConfig], ...]  # (activation, depth, config), in training order

    def cuts(self) -> list[Notice]:
        """What the work budget cut (empty if nothing)."""
        out: list[Notice] = []
        if self.epochs < self.epochs_asked:
            out.append(Notice("classifier.depth.cut_epochs", {"asked": self.epochs_asked, "epochs": self.epochs}))
        if self.depths != self.depths_asked:
            out.append(Notice("classifier.depth.cut_depths", {"deepest": self.depths[-1]}))
        return out


@dataclass(frozen=True)
class DepthResult:
    depths: tuple[int, ...]
    test_acc: dict[str, tuple[float, ...]]  # by activation, per depth (NaN: diverged)
    epochs: int
    chance: float  # 1 / number of classes


def _shape(settings: ex.Settings, depth: int, n_train: int, n_classes: int) -> budget.TrainShape:
    arch = mlp.Architecture((int(settings.width),) * depth, "relu", 2, n_outputs(settings.loss, n_classes))
    return budget.TrainShape(n_train, arch.n_params, arch.n_layers, ex.steps_per_epoch(settings, n_train))


def plan(settings: ex.Settings, data: Dataset, depths: tuple[int, ...] = DEPTHS,
         cap: float | None = None) -> DepthPlan:
    """Every (activation, depth) network's config, fitted under the work budget."""
    cap = budget.CLASSIFIER_CAP if cap is None else cap
    if not depths or any(not 1 <= d <= mlp.MAX_HIDDEN_LAYERS for d in depths):
        raise ValueError(f"depths must be in [1, {mlp.MAX_HIDDEN_LAYERS}]")
    steps = ex.steps_per_epoch(settings, data.n_train)
    asked = max(1, min(int(settings.epochs), ex.MAX_UPDATES // steps))

    def per_epoch(ds: tuple[int, ...]) -> float:
        """Every network of these depths is the deepest one's stack (masked)."""
        return len(PAIRS) * len(ds) * budget.epoch_work(_shape(settings, max(ds), data.n_train, data.n_classes))

    kept = tuple(depths)
    while len(kept) > 1 and per_epoch(kept) > cap:
        kept = kept[:-1]
    epochs = max(1, min(asked, int(cap // per_epoch(kept))))
    base = ex.config_for(settings, settings.race[0] if settings.race else settings.optimizer, epochs, SNAPSHOTS, False)
    stack = (int(settings.width),) * max(kept)
    configs = tuple((act, d, dataclasses.replace(base, hidden=stack, depth=d, activation=act, init=init))
                    for act, init in PAIRS for d in kept)
    return DepthPlan(asked, epochs, tuple(depths), kept, configs)


def job(the_plan: DepthPlan, data: Dataset) -> Callable[[Report], DepthResult]:
    """Train every network of the plan, one after another, reporting which one."""
    def run_all(report: Report) -> DepthResult:
        n = len(the_plan.configs)
        acc: dict[str, list[float]] = {act: [] for act, _ in PAIRS}
        for i, (act, depth, config) in enumerate(the_plan.configs):
            report(i / n, Notice("classifier.depth.progress", {"activation": act, "depth": depth, "i": i + 1, "n": n}))
            result = training.train(data, config)
            a = float(result.test_acc[-1])
            acc[act].append(a if result.diverged_at is None and np.isfinite(a) else float("nan"))
        report(1.0, Notice("classifier.depth.progress_done", {"n": n}))
        return DepthResult(the_plan.depths, {k: tuple(v) for k, v in acc.items()}, the_plan.epochs,
                           1.0 / data.n_classes)
    return run_all


def run(settings: ex.Settings, data: Dataset | None = None, depths: tuple[int, ...] = DEPTHS,
        runner: Callable[[Callable[[Report], DepthResult]], DepthResult] | None = None,
        report: Report | None = None) -> tuple[DepthPlan, DepthResult]:
    """Plan and train (directly, or by ``runner``, e.g. the page's heavy-work queue)."""
    settings, _ = ex.settle(settings)
    data = data if data is not None else settings.data_params().make()
    the_plan = plan(settings, data, depths)
    work = job(the_plan, data)
    result = runner(work) if runner is not None else work(report or (lambda fraction, message: None))
    return the_plan, result
