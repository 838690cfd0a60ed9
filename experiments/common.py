"""Groups of controls that several pages share: the surface picker, every optimizer's
hyperparameters, and the learning-rate schedule. Each is a frozen value with the three
methods ``experiments.schema.group`` needs: ``fields(**args)``, ``from_values(values)``
and ``values()``. Each keeps the values of every choice, not only the chosen one, so
switching the surface (or the optimizer, or the schedule) and back loses nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

import optimizers
import surfaces
from experiments.schema import Field
from optimizers.schedules import SPECS as SCHEDULE_SPECS
from optimizers.schedules import ScheduleConfig
from surfaces.base import Surface

CUSTOM = "custom"
DEFAULT_EXPRESSION = "sin(x)*cos(y) + 0.1*(x^2 + y^2)"
DOMAIN_LIMIT = 1e4
EXPRESSION_LIMIT = 500
POINT_LIMIT = 1e4  # |x|, |y| of a typed start or probe point


def _pairs(values: Mapping[str, Any], keys: list[str]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, values[k]) for k in keys)


# ---------------------------------------------------------------------------------------
# Surfaces


@dataclass(frozen=True)
class SurfaceChoice:
    """The surface picker: a built-in surface with its parameters, or a typed formula on
    a domain."""

    key: str
    expression: str
    domain: tuple[tuple[float, float], tuple[float, float]]
    params: tuple[tuple[str, float], ...]  # every built-in surface's parameters, "rosenbrock.b" style

    @staticmethod
    def fields(default: str = "rosenbrock") -> list[Field]:
        out = [
            Field("surface", default, "choice", choices=tuple(surfaces.names()) + (CUSTOM,)),
            Field("expr", DEFAULT_EXPRESSION, "str", max_length=EXPRESSION_LIMIT),
            Field("xmin", -3.0, "float", -DOMAIN_LIMIT, DOMAIN_LIMIT),
            Field("xmax", 3.0, "float", -DOMAIN_LIMIT, DOMAIN_LIMIT),
            Field("ymin", -3.0, "float", -DOMAIN_LIMIT, DOMAIN_LIMIT),
            Field("ymax", 3.0, "float", -DOMAIN_LIMIT, DOMAIN_LIMIT),
        ]
        for key in surfaces.names():
            for name, p in surfaces.parameters(key).items():
                out.append(Field(f"{key}.{name}", p.default, "float", p.low, p.high))
        return out

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> SurfaceChoice:
        keys = [f"{k}.{n}" for k in surfaces.names() for n in surfaces.parameters(k)]
        return cls(values["surface"], values["expr"],
                   ((values["xmin"], values["xmax"]), (values["ymin"], values["ymax"])), _pairs(values, keys))

    def values(self) -> dict[str, Any]:
        (xmin, xmax), (ymin, ymax) = self.domain
        return {"surface": self.key, "expr": self.expression, "xmin": xmin, "xmax": xmax, "ymin": ymin,
                "ymax": ymax, **dict(self.params)}

    @property
    def is_custom(self) -> bool:
        return self.key == CUSTOM

    def parameters(self) -> dict[str, float]:
        """The chosen built-in surface's parameters by name."""
        prefix = f"{self.key}."
        return {k[len(prefix):]: v for k, v in self.params if k.startswith(prefix)}

    def build(self) -> Surface:
        """The Surface; ``surfaces.ExpressionError`` for a refused formula or domain."""
        if self.is_custom:
            return surfaces.from_expression(self.expression, domain=self.domain)
        return surfaces.get(self.key, **self.parameters())


def critical_points_of(surface: Surface) -> tuple[surfaces.CriticalPoint, ...]:
    """The critical points a page lists: a built-in surface's landmarks, or a search over a
    typed one (none when the search fails). Eigenvalues are not filled in (NaN). Slow for
    typed surfaces: ui.surface_view.critical_of caches it per surface."""
    if surface.landmarks or surface.expression is None:
        return tuple(surfaces.CriticalPoint(m.point, float(surface.fn(np.asarray(m.point, np.float32))),
                                            (np.nan, np.nan), m.kind) for m in surface.landmarks)
    try:
        return tuple(surfaces.critical_points(surface))
    except (ValueError, FloatingPointError):
        return ()


# ---------------------------------------------------------------------------------------
# Optimizers


def hyper_key(opt: str, name: str) -> str:
    return f"{opt}.{name}"


@dataclass(frozen=True)
class Hypers:
    """Every optimizer's hyperparameters ("adam.b1" style keys), learning rates included."""

    table: tuple[tuple[str, float], ...]

    @staticmethod
    def fields(learning_rates: Mapping[str, float] | None = None) -> list[Field]:
        out = []
        for opt, spec in optimizers.REGISTRY.items():
            for h in spec.hyperparams:
                default = h.default
                if h.name == "learning_rate" and learning_rates and opt in learning_rates:
                    default = learning_rates[opt]
                if h.kind == "bool":
                    out.append(Field(hyper_key(opt, h.name), bool(default), "bool"))
                else:
                    out.append(Field(hyper_key(opt, h.name), float(default), "float", h.low, h.high))
        return out

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Hypers:
        keys = [hyper_key(o, h.name) for o, s in optimizers.REGISTRY.items() for h in s.hyperparams]
        return cls(_pairs(values, keys))

    def values(self) -> dict[str, Any]:
        return dict(self.table)

    def of(self, opt: str) -> dict[str, float]:
        """One optimizer's hyperparameters by name, as floats (a bool is 0.0 or 1.0)."""
        prefix = f"{opt}."
        return {k[len(prefix):]: float(v) for k, v in self.table if k.startswith(prefix)}


# ---------------------------------------------------------------------------------------
# Schedules


@dataclass(frozen=True)
class ScheduleChoice:
    """The learning-rate schedule: its kind, warm-up, and every kind's parameters."""

    kind: str
    warmup: int
    params: tuple[tuple[str, float], ...]  # "sched.cosine.decay_steps" style keys

    @staticmethod
    def fields() -> list[Field]:
        out = [Field("sched", "constant", "choice", choices=tuple(SCHEDULE_SPECS)),
               Field("warmup", 0, "int", 0, optimizers.MAX_STEPS)]
        for kind, spec in SCHEDULE_SPECS.items():
            for p in spec.params:
                integer = p.kind == "int"
                out.append(Field(f"sched.{kind}.{p.name}", int(p.default) if integer else p.default,
                                 "int" if integer else "float", p.low, p.high))
        return out

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> ScheduleChoice:
        keys = [f"sched.{k}.{p.name}" for k, s in SCHEDULE_SPECS.items() for p in s.params]
        return cls(values["sched"], values["warmup"], _pairs(values, keys))

    def values(self) -> dict[str, Any]:
        return {"sched": self.kind, "warmup": self.warmup, **dict(self.params)}

    def config(self) -> ScheduleConfig:
        """The chosen schedule, as the optimizers take it."""
        prefix = f"sched.{self.kind}."
        chosen = tuple((k[len(prefix):], float(v)) for k, v in self.params if k.startswith(prefix))
        return ScheduleConfig(self.kind, chosen, int(self.warmup))
