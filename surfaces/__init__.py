"""Analytic 2-D loss surfaces and their local calculus.

    import surfaces
    s = surfaces.get("himmelblau")          # one cached Surface per (key, parameters)
    s.fn(jnp.array([3.0, 2.0]))             # 0.0
    surfaces.critical_points(s)             # [CriticalPoint(point, value, eigenvalues, kind), ...]
    surfaces.classify(s.fn, (0.0, 0.0))     # "minimum" | "maximum" | "saddle" | "degenerate"
"""
from importlib.util import find_spec

from surfaces.base import Landmark, Point, Surface
from surfaces.catalog import Param, get, names, parameters
from surfaces.critical import CriticalPoint, critical_points
from surfaces.curvature import Taylor2, classify, eigen, gradient, hessian, is_critical, taylor2
from surfaces.grid import evaluate_grid

__all__ = [
    "CriticalPoint",
    "Landmark",
    "Param",
    "Point",
    "Surface",
    "Taylor2",
    "classify",
    "critical_points",
    "eigen",
    "evaluate_grid",
    "get",
    "gradient",
    "hessian",
    "is_critical",
    "names",
    "parameters",
    "taylor2",
]

# The safe expression parser lives in its own module (written separately); export it once it
# exists. find_spec rather than try/except ImportError, so a genuine import error inside
# expression.py is not silently swallowed.
if find_spec("surfaces.expression") is not None:
    from surfaces.expression import ExpressionError, from_expression

    __all__ += ["ExpressionError", "from_expression"]
