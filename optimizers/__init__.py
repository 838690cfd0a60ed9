"""Gradient-based optimizers as Optax-style (init, update) pairs, their schedules, and
compiled trajectory tracing on 2-D functions.

    opt = optimizers.build("adam", learning_rate=0.01)
    state = opt.init(params); updates, state = opt.update(grads, state, params)
    t = optimizers.trace(f, "adam", start=(-1.5, 2.0), num_steps=1000, learning_rate=0.01)
"""
from optimizers import rules, schedules
from optimizers.base import GradientTransformation, apply_updates
from optimizers.registry import REGISTRY, STAT_TITLES, HyperParam, OptimizerSpec, build, names
from optimizers.schedules import ScheduleConfig
from optimizers.trace import MAX_STEPS, BatchTrace, Trace, trace, trace_batch

__all__ = [
    "GradientTransformation", "apply_updates", "REGISTRY", "STAT_TITLES", "HyperParam", "OptimizerSpec",
    "build", "names", "rules", "schedules", "ScheduleConfig", "MAX_STEPS", "Trace", "BatchTrace",
    "trace", "trace_batch",
]
