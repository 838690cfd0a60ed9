"""Analytic 2-D loss surfaces and their local calculus.

    import surfaces
    s = surfaces.get("himmelblau")          # one cached Surface per (key, parameters)
    s.fn(jnp.array([3.0, 2.0]))             # 0.0
    surfaces.critical_points(s)             # [CriticalPoint(point, value, eigenvalues, kind), ...]
    surfaces.classify(s.fn, (0.0, 0.0))     # "minimum" | "maximum" | "saddle" | "degenerate"
"""
from surfaces.base import Landmark, Point, Surface
from surfaces.catalog import Param, get, names, parameters
from surfaces.critical import CriticalPoint, critical_points
from surfaces.curvature import Taylor2, classify, eigen, gradient, hessian, is_critical, taylor2
from surfaces.expression import ExpressionError, from_expression
from surfaces.grid import evaluate_grid

__all__ = [
    "CriticalPoint",
    "ExpressionError",
    "Landmark",
    "Param",
    "Point",
    "Surface",
    "Taylor2",
    "classify",
    "critical_points",
    "eigen",
    "evaluate_grid",
    "from_expression",
    "get",
    "gradient",
    "hessian",
    "is_critical",
    "names",
    "parameters",
    "taylor2",
]

