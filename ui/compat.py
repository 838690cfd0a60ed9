"""Every reach into Streamlit's, Plotly's or JAX's internals, in one place, for the
versions in ``WRITTEN_FOR`` (the pins of requirements.txt).

Each reach saves something a user notices (memory after a class leaves, milliseconds on
every rerun, a compile at every start) and has no public API in these versions.
``problems()`` names every version or attribute that no longer matches;
tests/test_compat.py fails on any of them, and ``ui.startup.start`` logs them in a
server, so an upgrade shows here first instead of turning a feature off without a word.

Streamlit and JAX are imported inside the functions that need them: charts/ import the
Plotly part of this module and must not pull Streamlit in (they are used without it).
"""
from __future__ import annotations

from importlib import metadata
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.basedatatypes import BaseFigure

WRITTEN_FOR = {"streamlit": "1.67.0", "plotly": "7.1.0", "jax": "0.10.2"}


class CompatError(RuntimeError):
    """An internal this module relies on is not there (another library version)."""


# ---------------------------------------------------------------------------------------
# Plotly: figures built and sent without validating every object


def unvalidated_figure() -> go.Figure:
    """An empty go.Figure that skips Plotly's per-property validation (``_validate=False``):
    our builders pass values Plotly accepts, and validating them cost more than a rerun's
    whole budget on the animated contour."""
    return go.Figure(_validate=False)


class PreparedFigure(go.Figure):
    """A figure whose serialized form is ``spec``, a dict prepared beforehand (charts.wire).

    st.plotly_chart hands a figure object to ``plotly.tools.return_figure_from_figure_or_data``,
    which takes ``to_dict()`` of a figure as already validated; a plain dict would be
    rebuilt into a validated go.Figure, property by property, on every rerun."""

    def __init__(self, spec: dict) -> None:
        super().__init__(_validate=False)
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec

    def to_plotly_json(self) -> dict:
        return self._spec


class AnimatedFigure(go.Figure):
    """An unvalidated go.Figure whose animation frames and slider are kept as plain dicts
    and joined in at serialization: Plotly validates every frame object it builds, far
    over a slider rerun's budget at 150 frames."""

    def __init__(self) -> None:
        super().__init__(_validate=False)
        self._raw_frames: list[dict] = []
        self._raw_sliders: list[dict] = []

    def set_animation(self, frames: list[dict], sliders: list[dict]) -> None:
        """The frames and the slider, as plain Plotly JSON dicts."""
        self._raw_frames, self._raw_sliders = frames, sliders

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self._raw_frames:
            out["frames"] = self._raw_frames
            out.setdefault("layout", {})["sliders"] = self._raw_sliders
        return out

    def to_plotly_json(self) -> dict:
        return self.to_dict()


def claim_plotly_template(name: str) -> None:
    """Make ``name`` Plotly's default template. Streamlit makes its own ("streamlit") the
    default when ``streamlit.elements.plotly_chart`` is imported, which ``import streamlit``
    does; set after that, ours stays. charts.style calls this when imported (figures built
    without Streamlit); ui.startup.start calls it again in the app, whichever of the two a
    process imported first."""
    pio.templates.default = name


# ---------------------------------------------------------------------------------------
# Streamlit: closed sessions freed when their reconnect window has passed


def reap_expired_sessions() -> int:
    """Drop the closed sessions whose reconnect window (server.disconnectedSessionTTL)
    has passed; returns how many. Streamlit keeps a closed tab's session for that window
    in a TTL cache that it reaps only when the next session closes, so after a class
    closed its tabs, thirty sessions' memory stayed until someone else came and went.
    This does what Streamlit's own next write would do, under Streamlit's own lock.
    0 without a running server; CompatError if the internals are not there."""
    from streamlit import runtime

    if not runtime.exists():
        return 0
    try:
        manager = runtime.get_instance()._session_mgr
        lock = manager._storage_lock
        cache = manager._session_storage._cache
        expire = cache.expire
    except AttributeError as e:
        raise CompatError(f"streamlit {_installed('streamlit')}: cannot reach closed sessions ({e})") from e
    with lock:
        return len(expire())


# ---------------------------------------------------------------------------------------
# JAX: the persistent compilation cache's entry format, the backend's start


def decompress_jax_cache_entry(data: bytes) -> bytes:
    """A persistent compilation cache entry's body (JAX's own format); raises if the entry
    does not decompress, CompatError if this JAX has no such function."""
    try:
        from jax._src.compilation_cache import decompress_executable
    except ImportError as e:
        raise CompatError(f"jax {_installed('jax')}: no compilation_cache.decompress_executable") from e
    return decompress_executable(data)


def jax_backend_started() -> bool:
    """Whether JAX has created its backends: settings read at their creation (such as
    jax_cpu_enable_async_dispatch) no longer apply after that. CompatError if this JAX
    cannot tell."""
    from jax._src import xla_bridge

    started = getattr(xla_bridge, "backends_are_initialized", None)
    if started is None:
        raise CompatError(f"jax {_installed('jax')}: no xla_bridge.backends_are_initialized")
    return started()


# ---------------------------------------------------------------------------------------
# NumPy: its bundled OpenBLAS on one thread

# The thread-count setter of the OpenBLAS build NumPy wheels bundle (scipy-openblas, 64-bit
# integers), found among the process's loaded libraries.
OPENBLAS_SETTER = "scipy_openblas_set_num_threads64_"
OPENBLAS_GETTER = "scipy_openblas_get_num_threads64_"


def _openblas() -> Any:
    """NumPy's loaded OpenBLAS library (ctypes), or None where it cannot be found (not
    Linux, another BLAS)."""
    import ctypes
    import re

    __import__("numpy")  # loads the library

    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return None
    for path in sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps))):
        lib = ctypes.CDLL(path)
        if hasattr(lib, OPENBLAS_SETTER) and hasattr(lib, OPENBLAS_GETTER):
            return lib
    return None


def single_threaded_blas() -> bool:
    """Put NumPy's OpenBLAS on one thread (True if done). Why: right after an XLA
    computation XLA's own threads keep both cores busy for a while, and OpenBLAS's second
    thread waits for one: ``numpy.linalg.eigvalsh`` of the default network's 354 x 354
    Hessian took 70-76 ms straight after the jitted Hessian against 5-7 ms alone, and the
    whole exact spectrum 69 ms against 43 ms with one BLAS thread. NumPy's other linear
    algebra here is small (a 2 x 2 Hessian, a 200-row SVD), so one thread costs nothing.
    Threadpoolctl does this portably but is not the field's standard dependency for one call."""
    lib = _openblas()
    if lib is None:
        return False
    getattr(lib, OPENBLAS_SETTER)(1)
    return getattr(lib, OPENBLAS_GETTER)() == 1


def blas_threads() -> int | None:
    """How many threads NumPy's OpenBLAS uses (None if it cannot be found)."""
    lib = _openblas()
    return None if lib is None else int(getattr(lib, OPENBLAS_GETTER)())


# ---------------------------------------------------------------------------------------
# The check


def _installed(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


# What Streamlit's Plotly chart (1.67, frontend PlotlyChart) puts into the layout of a chart
# with point selection, in an effect after its first drawing, unless the layout sets it:
# that second layout made Plotly lay out and draw the whole chart again on every rerun.
POINT_SELECTION_LAYOUT = {"clickmode": "event+select", "hovermode": "closest", "dragmode": "pan"}


def selection_layout(layout: dict, selection_mode: Any) -> None:
    """Write into ``layout`` (unless it sets them) the modes Streamlit would set for a
    chart selecting points only, so that it is drawn once instead of twice."""
    modes = [selection_mode] if isinstance(selection_mode, str) else list(selection_mode or ())
    if modes == ["points"]:
        for k, v in POINT_SELECTION_LAYOUT.items():
            layout.setdefault(k, v)


# ---------------------------------------------------------------------------------------
# Streamlit: files served by URL


def media_url(data: bytes, mimetype: str, coordinates: str) -> str | None:
    """A URL, relative to the page, under which the server serves ``data`` to this
    session: Streamlit's media file manager, as st.image uses it. Files are named by their
    content, so the same bytes keep the same URL from rerun to rerun and the browser does
    not fetch them again; ``coordinates`` names the element's slot (a new file there lets
    the old one go at the end of the run). Relative (no leading slash), so that it also
    resolves under a proxy's path prefix, as Streamlit's own media URLs do in the browser.
    None where no Streamlit runtime runs (a bare script)."""
    from streamlit import runtime

    if not runtime.exists():
        return None
    return runtime.get_instance().media_file_mgr.add(data, mimetype, coordinates).lstrip("/")


def _code_names(fn: Any) -> tuple[str, ...]:
    """The attribute and global names a function's code uses (its own, not its callees')."""
    return getattr(getattr(fn, "__code__", None), "co_names", ())


def problems() -> list[str]:
    """What does not match what this module was written for, one sentence each naming the
    package (and attribute); empty when all is well."""
    out = [f"ui/compat.py was written for {pkg} {want}; {_installed(pkg)} is installed"
           for pkg, want in WRITTEN_FOR.items() if _installed(pkg) != want]

    def need(ok: bool, what: str) -> None:
        if not ok:
            out.append(f"ui/compat.py relies on {what}, which is missing")

    from streamlit.elements.lib import streamlit_plotly_theme
    from streamlit.runtime.caching.ttl_cache import TTLCache
    from streamlit.runtime.memory_session_storage import MemorySessionStorage
    from streamlit.runtime.runtime import Runtime
    from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

    need("_session_mgr" in _code_names(Runtime.__init__), "streamlit Runtime._session_mgr")
    for name in ("_session_storage", "_storage_lock"):
        need(name in _code_names(WebsocketSessionManager.__init__), f"streamlit WebsocketSessionManager.{name}")
    need("_cache" in _code_names(MemorySessionStorage.__init__), "streamlit MemorySessionStorage._cache")
    need(callable(getattr(TTLCache, "expire", None)), "streamlit TTLCache.expire")
    need(callable(getattr(streamlit_plotly_theme, "configure_streamlit_plotly_theme", None)),
         "streamlit's Plotly theme setting the default template (configure_streamlit_plotly_theme)")

    from streamlit import runtime
    from streamlit.runtime.media_file_manager import MediaFileManager

    need(callable(getattr(runtime, "get_instance", None)) and callable(getattr(runtime, "exists", None)),
         "streamlit.runtime.get_instance/exists")
    need(callable(getattr(MediaFileManager, "add", None)), "streamlit MediaFileManager.add")

    need("_validate" in _code_names(BaseFigure.__init__), "plotly BaseFigure(_validate=...)")
    import plotly.tools

    need("to_dict" in _code_names(plotly.tools.return_figure_from_figure_or_data),
         "plotly.tools.return_figure_from_figure_or_data taking a figure's to_dict()")

    from jax._src import compilation_cache, xla_bridge

    need(callable(getattr(compilation_cache, "decompress_executable", None)),
         "jax._src.compilation_cache.decompress_executable")
    need(callable(getattr(xla_bridge, "backends_are_initialized", None)), "jax._src.xla_bridge.backends_are_initialized")
    need(_openblas() is not None, f"NumPy's bundled OpenBLAS exporting {OPENBLAS_SETTER}")
    return out
