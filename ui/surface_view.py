"""Per-process caches of what a surface page draws, and clicks on the contour."""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import streamlit as st

from ui import memo
from ui.plots import plotly_chart

import surfaces
from charts.surface import Fill, Mark, draw_fill
from experiments.common import critical_points_of
from experiments.playground import Landscape
from surfaces.base import Surface

CONTOUR_KEY = "contour"
CACHE_ENTRIES = 64  # surfaces are few, but user-typed ones are not: keep the caches bounded
# Points per side of a surface's grid. The contour's fill is an image of one pixel per
# point (charts.raster), stretched over a plot ~600-800 px wide: at 121 and 241 its lines
# looked blurred next to go.Contour's, at 361 about as crisp, and a larger grid costs
# drawing time and bytes on every rerun (benchmarks/bench_charts.py; MEASURED.md).
SURFACE_GRID = 361
# Points per side of a zoomed view computed on every rerun (the step inspector's arrows,
# the Curvature page's stability zoom), drawn ~330 px square: as cheap to evaluate as a
# coarser one, and under 2 ms to draw.
ZOOM_GRID = 161


@functools.lru_cache(maxsize=CACHE_ENTRIES)
def _grid(surface: Surface, n: int, domain) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return surfaces.evaluate_grid(surface, domain or surface.domain, n)


def grid_of(surface: Surface, n: int = SURFACE_GRID, domain=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, Z) on the surface's domain (or ``domain``), cached per surface object."""
    if domain is not None:
        domain = tuple(tuple(float(v) for v in d) for d in domain)
        return surfaces.evaluate_grid(surface, domain, n)  # zoomed views change every rerun: no cache
    return _grid(surface, n, None)


@functools.lru_cache(maxsize=CACHE_ENTRIES)
def fill_of(surface: Surface) -> Fill:
    """The filled contour of grid_of(surface), drawn once per surface, not every rerun."""
    xs, ys, z = grid_of(surface)
    return draw_fill(xs, ys, z, surface.log_levels)


@functools.lru_cache(maxsize=CACHE_ENTRIES)
def critical_of(surface: Surface) -> tuple[surfaces.CriticalPoint, ...]:
    """Critical points: the catalog's list, or a search for user-typed surfaces."""
    return critical_points_of(surface)


@functools.lru_cache(maxsize=CACHE_ENTRIES)
def landscape_of(surface: Surface) -> Landscape:
    """What a Playground run needs of the surface (minima, L*, blank share), once per surface."""
    return Landscape.of(surface, grid_of(surface)[2], critical_of(surface))


def landmarks_of(surface: Surface) -> list[Mark]:
    labels = {m.point: m.title for m in surface.landmarks}
    return [Mark(tuple(c.point), c.kind, labels.get(tuple(c.point), "")) for c in critical_of(surface)]


def minima_of(surface: Surface) -> np.ndarray:
    return landscape_of(surface).minima


def lowest_value(surface: Surface) -> float:
    """L*: the lowest known minimum value, or the grid's minimum if none is known."""
    return landscape_of(surface).lowest


def surface_chart(fig, key: str = CONTOUR_KEY) -> None:
    """A surface's contour (or map) as the pages draw it: full width, a click selects a
    point (read back with take_click(key)), and its filled image sent by URL, once (it is
    the same from rerun to rerun)."""
    plotly_chart(fig, width="stretch", key=key, on_select="rerun", selection_mode="points", images_by_url=True)


def clicked_point(chart_key: str = CONTOUR_KEY) -> tuple[float, float] | None:
    """The point of the click grid the user last clicked on, if any."""
    event = st.session_state.get(chart_key)
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for p in points or []:
        if "x" in p and "y" in p:
            return float(p["x"]), float(p["y"])
    return None


def click_pending(chart_key: str = CONTOUR_KEY) -> bool:
    """Whether the chart holds a click that has not been acted on yet."""
    return memo.is_new(f"click.{chart_key}", clicked_point(chart_key))


def take_click(chart_key: str = CONTOUR_KEY) -> tuple[float, float] | None:
    """A click on the chart not acted on before (then marked as acted on), or None."""
    return memo.take(f"click.{chart_key}", clicked_point(chart_key))


def consume_click(keys: Sequence[str], chart_key: str = CONTOUR_KEY) -> bool:
    """Move the start (the session-state ``keys``) to a new click on the contour. Call
    before the start widgets are drawn, so their values can still change this run."""
    point = take_click(chart_key)
    if point is None:
        return False
    st.session_state[keys[0]], st.session_state[keys[1]] = point
    return True
