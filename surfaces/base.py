"""The Surface record: an analytic loss f(x, y) with what a lesson needs to know about it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax

import catalog

Point = tuple[float, float]


@dataclass(frozen=True)
class Landmark:
    """A known critical point of a surface.

    kind is the second-order verdict: "minimum", "maximum", "saddle" or "degenerate".
    label is what a chart legend says, e.g. "global minimum", "local minimum".
    """

    point: Point
    kind: str
    label: str = ""

    @property
    def title(self) -> str:
        """The label in the session's language (surfaces.landmark.<label>)."""
        key = "surfaces.landmark." + self.label.replace(" ", "_")
        return catalog.t(key) if self.label and catalog.has(key) else self.label


@dataclass(frozen=True, eq=False)
class Surface:
    """An analytic 2-D loss surface.

    fn maps a point p of shape (2,) to a scalar and is written in jax.numpy, so
    jax.grad and jax.hessian work on it. Surfaces compare by identity: one object per
    (key, parameters), so that compiled code keyed on fn is reused.
    """

    key: str
    english_title: str
    fn: Callable[[jax.Array], jax.Array]
    latex: str
    domain: tuple[Point, Point]  # ((x_min, x_max), (y_min, y_max))
    landmarks: tuple[Landmark, ...] = ()
    starts: tuple[Point, ...] = ()
    log_levels: bool = False  # contour levels log-spaced (f spans many decades)
    params: tuple[tuple[str, float], ...] = ()
    expression: str | None = None  # the user's text, for surfaces parsed from an expression

    @property
    def title(self) -> str:
        """The surface's name in the session's language (surfaces.<key>.title)."""
        key = f"surfaces.{self.key}.title"
        return catalog.t(key) if catalog.has(key) else self.english_title

    @property
    def lesson(self) -> str:
        """What this surface teaches, one sentence in the session's language, from the
        message catalog (surfaces.<key>.lesson); "" for a typed formula. Read on every
        access: the surface is shared by every session, the language is not."""
        key = f"surfaces.{self.key}.lesson"
        return catalog.t(key) if catalog.has(key) else ""

    @property
    def minima(self) -> tuple[Landmark, ...]:
        return tuple(m for m in self.landmarks if m.kind == "minimum")
