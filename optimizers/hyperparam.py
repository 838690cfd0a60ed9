"""HyperParam: the description of one tunable number (default, range, scale, meaning), as
the pages, the URL and the sweeps need it. (The parameters themselves, the pytree an
optimizer updates, are `Params` in optimizers/base.py.)"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HyperParam:
    """One hyperparameter: default, slider range, log scale or not, one line of meaning.
    kind is "float", "int" (a count, e.g. schedule steps) or "bool" (a switch, traced as
    0/1). Optimizers and schedules both describe their parameters with it."""

    name: str
    default: float
    low: float
    high: float
    log: bool
    help: str
    symbol: str = ""
    kind: str = "float"
