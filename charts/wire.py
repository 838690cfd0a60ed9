"""A figure as it is sent to the browser: plain arrays, its style written in, a data revision.

Streamlit 1.67 draws every Plotly chart twice when it mounts one (and it mounts a new one
on every rerun): once from the figure, and once more after it has copied the figure to
apply a theme. Plotly.react then compares the copy with what it drew. Three things in
our figures made it draw everything again, the most expensive part of a chart's redraw:

- typed arrays (Plotly's base64 form for NumPy arrays) are not JavaScript arrays, so a
  copied one always counts as changed; plain lists do not;
- without ``layout.datarevision`` Plotly.react treats every array with a new identity as
  new data, and a copy is all new identities; with a revision it compares the revision;
- ``layout.template`` is compared by identity too, so the template's settings are written
  into the layout itself here, and the page passes ``theme=None`` (Streamlit's theme would
  put a template back).

With all three the second pass is a fraction of the first (figures: benchmarks/MEASURED.md).
The figure object itself is ui.compat.PreparedFigure: Streamlit takes its spec as it is.
"""
from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ui.compat import PreparedFigure

SIGNIFICANT = 7  # float32 holds about 7 significant digits: no more is sent
_AXIS = re.compile(r"^[xy]axis\d*$")
_SCENE = re.compile(r"^scene\d*$")
_PER_ITEM = {"annotations": "annotationdefaults", "shapes": "shapedefaults"}


EXACT_POWERS = 22  # 10**k is an exact double up to k = 22


def round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """values (float64) rounded to ``digits`` significant digits; NaN, inf and 0 kept.

    Each is m * 10**-k or m * 10**k with an integer m and an exact power of ten, so the
    double is the one nearest the decimal, and JSON writes that decimal: the same text as
    formatting with "%.{digits}g", 20x faster (it was ~20 ms of a Playground rerun).
    Magnitudes that need a power beyond 10**22 are formatted and parsed back."""
    v = np.asarray(values, np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        k = digits - 1 - np.floor(np.log10(np.abs(v)))
        k = np.where(np.isfinite(k), k, 0.0)
        p = 10.0 ** np.minimum(np.abs(k), EXACT_POWERS)
        out = np.where(k >= 0, np.round(v * p) / p, np.round(v / p) * p)
    out = np.where(np.isfinite(out), out, v)
    far = np.abs(k) > EXACT_POWERS
    if far.any():
        out[far] = np.char.mod(f"%.{digits}g", v[far]).astype(np.float64)
    return out


def numbers(a: np.ndarray) -> list:
    """An array as a (nested) list; floats rounded to SIGNIFICANT digits, so that their
    JSON is short. NaN stays NaN (JSON null), as Plotly's gaps."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return round_significant(a, SIGNIFICANT).tolist()
    if a.dtype.kind in "iub":
        return a.tolist()
    return [plain(v) for v in a.tolist()]


def plain(value: Any) -> Any:
    """value with every NumPy array and base64 typed array made a list."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            if "shape" in value:
                a = a.reshape([int(n) for n in str(value["shape"]).split(",")])
            return numbers(a)
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if value and not isinstance(value[0], (dict, list, tuple, np.ndarray)):
            # A list of numbers or strings (a frame's x, a colour scale stop): one pass,
            # no call per item, which was most of the time for an animated figure.
            return [v.item() if isinstance(v, np.generic) else v for v in value]
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return numbers(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def merged(defaults: dict, own: dict) -> dict:
    """defaults overridden by own, nested dicts merged key by key."""
    out = dict(defaults)
    for k, v in own.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def inline_template(layout: dict, has_2d: bool, has_3d: bool) -> dict:
    """layout with its template's settings written in where the layout sets none."""
    template = (layout.pop("template", None) or {}).get("layout", {})
    out = dict(layout)
    axis_keys = [k for k in out if _AXIS.match(k)] + (["xaxis", "yaxis"] if has_2d else [])
    for k in dict.fromkeys(axis_keys):
        out[k] = merged(template.get(k[:5], {}), out.get(k, {}))
    scene_keys = [k for k in out if _SCENE.match(k)] + (["scene"] if has_3d else [])
    for k in dict.fromkeys(scene_keys):
        out[k] = merged(template.get("scene", {}), out.get(k, {}))
    for items, defaults_key in _PER_ITEM.items():
        if items in out:
            out[items] = [merged(template.get(defaults_key, {}), item) for item in out[items]]
    for k, v in template.items():
        if _AXIS.match(k) or _SCENE.match(k) or k in _PER_ITEM.values():
            continue
        if k == "coloraxis" and k not in out:
            continue
        out[k] = merged(v, out[k]) if isinstance(v, dict) and isinstance(out.get(k), dict) else out.get(k, v)
    return out


_3D = {"surface", "scatter3d", "mesh3d", "cone", "streamtube", "isosurface", "volume"}


def to_wire(fig: go.Figure) -> PreparedFigure:
    """fig as the browser should get it (see the module's docstring)."""
    spec = plain(fig.to_dict())
    types = {t.get("type", "scatter") for t in spec.get("data", [])}
    layout = inline_template(spec.get("layout", {}), has_2d=bool(types - _3D), has_3d=bool(types & _3D))
    layout["datarevision"] = 1
    spec["layout"] = layout
    return PreparedFigure(spec)
