"""A filled contour drawn on the server as a PNG, for a Plotly layout image.

Why: Plotly.js recomputed a 121x121, 30-level filled go.Contour in the browser on every
rerun (~150-200 ms headless). As an image under the data the browser only decodes a PNG,
and Plotly.react skips it on reruns when the data-URI string is unchanged.

NumPy and the standard library only (plotly.colors for a named colourscale's stops).
Nothing is cached here: the pages cache their grids, and a render is a few milliseconds.
"""
from __future__ import annotations

import base64
import re
import struct
import zlib
from typing import Sequence, Union

import numpy as np
from plotly.colors import get_colorscale

from charts.style import COLORSCALE

Colorscale = Union[str, Sequence[Sequence]]

# Level lines: a half-transparent dark line about a pixel wide, like go.Contour's thin
# black lines over the fill. A pixel at distance d (in pixels) from a level gets
# alpha clip(1 - d / LINE_HALF_WIDTH, 0, 1), so the line fades out over 0.75 px.
LINE_RGBA = (0, 0, 0, 90)
LINE_HALF_WIDTH = 0.75
COVERAGE_STEPS = 8
# Speed over the last few per cent of size: level 6 took about twice as long for ~5 % less.
ZLIB_LEVEL = 4
FILTER_NONE, FILTER_SUB, FILTER_UP = 0, 1, 2
# No filter: a contour image is a few hundred distinct colours, which deflate matches as
# repeated 4-byte pixels; Sub and Up turn the anti-aliased line edges into more varied
# differences. Measured on every catalog surface at 361 x 361: None 18-33 % smaller than
# the better of Sub and Up (Rosenbrock: 42 KB against 53 and 58 KB).
PNG_FILTER = FILTER_NONE
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- PNG -------------------------------------------------------------------------------


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _filtered(rgba: np.ndarray, filter_type: int) -> np.ndarray:
    """The scanlines, each prefixed by its filter byte: None (0), Sub (1, minus the pixel
    to the left) or Up (2, minus the pixel above), the same for every row."""
    h, w, _ = rgba.shape
    rows = rgba.reshape(h, w * 4)
    out = np.empty((h, w * 4 + 1), np.uint8)
    out[:, 0] = filter_type
    out[:, 1:] = rows
    if filter_type == FILTER_SUB:
        out[:, 5:] -= rows[:, :-4]  # uint8 arithmetic wraps modulo 256, as PNG wants
    elif filter_type == FILTER_UP:
        out[1:, 1:] -= rows[:-1]
    elif filter_type != FILTER_NONE:
        raise ValueError(f"unsupported PNG filter type {filter_type}")
    return out


def png_bytes(rgba: np.ndarray, filter_type: int | None = None) -> bytes:
    """An 8-bit RGBA PNG (colour type 6) of an (h, w, 4) uint8 array, row 0 at the top.
    filter_type: 0 (None), 1 (Sub) or 2 (Up) on every row; PNG_FILTER by default."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.shape[0] < 1 or rgba.shape[1] < 1:
        raise ValueError(f"png_bytes wants an (h, w, 4) array, got shape {rgba.shape}")
    h, w, _ = rgba.shape
    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8 bits, RGBA, deflate, filters, no interlace
    scanlines = _filtered(rgba, PNG_FILTER if filter_type is None else filter_type)
    data = zlib.compress(scanlines.tobytes(), ZLIB_LEVEL)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# --- colours ---------------------------------------------------------------------------


def _rgb(color: str) -> tuple[float, float, float]:
    """'#rrggbb', '#rgb' or 'rgb(r, g, b)' / 'rgba(...)' as three 0-255 floats."""
    c = color.strip()
    if c.startswith("#"):
        c = c[1:]
        if len(c) == 3:
            c = "".join(ch * 2 for ch in c)
        return tuple(float(int(c[i: i + 2], 16)) for i in (0, 2, 4))  # type: ignore[return-value]
    numbers = re.findall(r"[-+]?\d*\.?\d+", c)
    if c.startswith("rgb") and len(numbers) >= 3:
        return tuple(float(v) for v in numbers[:3])  # type: ignore[return-value]
    raise ValueError(f"unsupported colour {color!r}")


def colorscale_stops(colorscale: Colorscale) -> tuple[np.ndarray, np.ndarray]:
    """(positions (k,), rgb (k, 3) in 0-255) of a Plotly colourscale: a name or [[pos, colour], ...]."""
    if isinstance(colorscale, str):
        if colorscale == COLORSCALE:
            return _DEFAULT_STOPS
        colorscale = get_colorscale(colorscale)
    pos = np.array([float(p) for p, _ in colorscale])
    rgb = np.array([_rgb(c) for _, c in colorscale])
    return pos, rgb


_DEFAULT_STOPS = colorscale_stops(get_colorscale(COLORSCALE))  # the one scale every page uses, parsed once


def colors_at(colorscale: Colorscale, u: np.ndarray) -> np.ndarray:
    """Colours (..., 3) uint8 at positions u in [0, 1], linear in RGB between stops as Plotly.js does."""
    pos, rgb = colorscale_stops(colorscale)
    u = np.clip(np.asarray(u, float), 0.0, 1.0)
    out = np.stack([np.interp(u, pos, rgb[:, k]) for k in range(3)], axis=-1)
    return np.round(out).astype(np.uint8)


def band_fills(levels: np.ndarray, colorscale: Colorscale = COLORSCALE) -> np.ndarray:
    """(bands, 3) uint8: each band's fill, the colourscale at the band's centre, the scale
    spanning the first band's centre to the last's. That is go.Contour's fill rule: its
    scale runs from start - size/2 to end + size/2, the regions below the first and above
    the last line getting its two ends."""
    levels = np.asarray(levels, np.float64)
    mid = (levels[:-1] + levels[1:]) / 2
    if mid.size == 1:
        return colors_at(colorscale, np.array([0.5]))
    return colors_at(colorscale, (mid - mid[0]) / (mid[-1] - mid[0]))


# --- the contour -------------------------------------------------------------------------


def level_index(z: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """t: the fractional index of z among the levels (levels[k] -> k), clipped to [0, L]."""
    levels = np.asarray(levels, np.float64)
    if levels.ndim != 1 or levels.size < 2 or not np.all(np.diff(levels) > 0):
        raise ValueError("levels must be at least two strictly increasing values")
    z = np.asarray(z, np.float32)
    if np.allclose(np.diff(levels), levels[1] - levels[0], rtol=1e-6, atol=0):  # the usual case, 10x faster
        t = (z - np.float32(levels[0])) * np.float32(1.0 / (levels[1] - levels[0]))
        return np.clip(t, 0.0, np.float32(levels.size - 1))
    return np.interp(z, levels, np.arange(levels.size, dtype=np.float64)).astype(np.float32)


def contour_rgba(
    z: np.ndarray, levels: np.ndarray, colorscale: Colorscale = COLORSCALE, line_rgba: Sequence[int] = LINE_RGBA
) -> np.ndarray:
    """A filled contour as an (ny, nx, 4) uint8 image, one pixel per value of z.

    z is (ny, nx) with row 0 at the lowest y (Plotly's contour z: z[i, j] = f(xs[j], ys[i]));
    the image has row 0 at the top, so it is z flipped. Each pixel takes its band's colour
    (band_fills: as Plotly's coloring="fill"; values outside the levels take the end bands),
    then the inner levels are drawn as anti-aliased lines: d = |t - round(t)| / |grad t| is
    the distance in pixels to the nearest level (t the fractional level index), and the line
    covers a pixel by clip(1 - d / LINE_HALF_WIDTH, 0, 1). The outermost levels get no line
    (they are the outer edges of the end bands, as go.Contour drew none there). NaN z ->
    transparent pixel.
    """
    levels = np.asarray(levels, np.float64)
    bands = levels.size - 1
    z = np.asarray(z, np.float32)[::-1]  # image rows run top-down
    t = level_index(z, levels)
    nan = np.isnan(t)
    band = np.where(nan, np.float32(0), t)
    np.floor(band, out=band)
    np.clip(band, 0, bands - 1, out=band)
    # Every pixel is one of bands x (COVERAGE_STEPS + 1) colours, or transparent: one
    # gather from that table instead of blending every pixel (15 -> 6 ms at 481 x 481).
    index = band.astype(np.int32) * np.int32(COVERAGE_STEPS + 1) + _line_steps(t, bands)
    index[nan] = bands * (COVERAGE_STEPS + 1)
    table = _colour_table(levels, colorscale, line_rgba)
    return table[index].view(np.uint8).reshape(z.shape + (4,))


def _colour_table(levels: np.ndarray, colorscale: Colorscale, line_rgba: Sequence[int]) -> np.ndarray:
    """RGBA colours packed in uint32 (memory order R, G, B, A): entry band * (S + 1) + s is
    band's fill under a line covering s / S of the pixel (S = COVERAGE_STEPS); the last
    entry is transparent."""
    fill = band_fills(levels, colorscale).astype(np.float64)  # (bands, 3)
    alpha = np.arange(COVERAGE_STEPS + 1) / COVERAGE_STEPS * (line_rgba[3] / 255.0)  # (S + 1,)
    line = np.asarray(line_rgba[:3], np.float64)
    rgb = fill[:, None, :] + alpha[None, :, None] * (line - fill[:, None, :])  # (bands, S + 1, 3)
    rgba = np.empty(rgb.shape[:2] + (4,), np.uint8)
    rgba[..., :3] = np.round(rgb)
    rgba[..., 3] = 255
    rgba = np.concatenate([rgba.reshape(-1, 4), np.zeros((1, 4), np.uint8)])
    return rgba.view(np.uint32).ravel()


def _line_steps(t: np.ndarray, bands: int) -> np.ndarray:
    """How much of each pixel the inner level lines cover, in COVERAGE_STEPS steps (int32,
    0 on NaN). Steps, not a continuous alpha: the browser resamples the image anyway, and
    fewer distinct edge colours halve the PNG (measured at 361 x 361: 36-64 % of the size
    with 255 steps; Rosenbrock 80 -> 42 KB)."""
    if min(t.shape) < 2:
        return np.zeros(t.shape, np.int32)
    gy, gx = np.gradient(t)  # per pixel: the grid is one pixel per value
    slope = np.hypot(gx, gy, out=gx)
    nearest = np.round(t)
    d = np.abs(t - nearest)
    with np.errstate(divide="ignore", invalid="ignore"):
        d /= slope  # 0 / 0 on a flat patch exactly at a level: NaN, no line (as for NaN z)
    # steps = round(S * (1 - d / w)) clipped to 0..S
    d *= np.float32(-COVERAGE_STEPS / LINE_HALF_WIDTH)
    d += np.float32(COVERAGE_STEPS)
    np.round(d, out=d)
    np.clip(d, 0, COVERAGE_STEPS, out=d)
    inner = (nearest >= 1) & (nearest <= bands - 1)
    return np.where(inner & np.isfinite(d), d, 0).astype(np.int32)


def contour_image(
    xs: np.ndarray,
    ys: np.ndarray,
    z: np.ndarray,
    *,
    levels: np.ndarray,
    colorscale: Colorscale = COLORSCALE,
    line_rgba: Sequence[int] = LINE_RGBA,
) -> dict:
    """A Plotly layout image (dict) of the filled contour of z over the grid (xs, ys), under the data.

    Each grid point is one pixel, so the image reaches half a cell past the first and last
    grid points on each side: pixel centres then land on the grid points, as the values
    they show. The axes' ranges (xs[0]..xs[-1], ys[0]..ys[-1]) clip that half cell off.
    """
    xs = np.asarray(xs, np.float64)
    ys = np.asarray(ys, np.float64)
    z = np.asarray(z)
    if z.shape != (ys.size, xs.size):
        raise ValueError(f"z has shape {z.shape}, the grid is {ys.size} x {xs.size}")
    dx = (xs[-1] - xs[0]) / max(xs.size - 1, 1)
    dy = (ys[-1] - ys[0]) / max(ys.size - 1, 1)
    png = png_bytes(contour_rgba(z, levels, colorscale, line_rgba))
    return dict(
        source=data_uri(png), xref="x", yref="y", x=float(xs[0] - dx / 2), y=float(ys[-1] + dy / 2),
        sizex=float(xs[-1] - xs[0] + dx), sizey=float(ys[-1] - ys[0] + dy), sizing="stretch",
        layer="below", xanchor="left", yanchor="top",
    )
