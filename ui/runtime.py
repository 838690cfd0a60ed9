"""Process-wide set-up of JAX and the server's memory, applied by ui.startup.start()
(once per process, never on import).

JAX's persistent compilation cache lives in the user's cache folder (never in the
repository), so a restarted server loads compiled programs instead of compiling again.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

import jax

from ui import compat


def cache_dir() -> Path:
    base = os.environ.get("DESCENT_LAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "descent-lab"
    )
    return Path(base) / "jax"


CACHE_MAX_BYTES = 200 * 1024 * 1024  # the persistent cache's size limit; JAX evicts the least recently used
_log = logging.getLogger("descent_lab")


def _writable(path: Path) -> bool:
    """Whether files can be made in path. Checked once: JAX would otherwise warn on every
    program it fails to write, dozens of warnings a page load."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
        return True
    except OSError:
        return False


def drop_unreadable_entries(path: Path) -> list[Path]:
    """Delete cache entries that do not decompress. JAX skips writing a program whose key
    already has a file, so a truncated or garbage entry would otherwise be read, refused
    and compiled around on every start, forever. Returns what was deleted."""
    dropped = []
    for entry in path.glob("*-cache"):
        try:
            body = compat.decompress_jax_cache_entry(entry.read_bytes())
            if len(body) <= 8:  # the compile-time header alone
                raise ValueError("empty entry")
        except compat.CompatError:
            # Another JAX: its entries cannot be judged here, and deleting them all would
            # make every start compile everything.
            _log.exception("Descent Lab: the compilation cache %s was not checked", path)
            return dropped
        except Exception:  # noqa: BLE001 (any failure to read it back means the entry is useless)
            for stale in (entry, entry.with_name(entry.name[: -len("-cache")] + "-atime")):
                stale.unlink(missing_ok=True)
            dropped.append(entry)
    if dropped:
        _log.warning("Descent Lab: removed %d unreadable entries from the compilation cache %s", len(dropped), path)
    return dropped


def configure() -> None:
    """Apply the process-wide JAX settings; before the first computation, as some are read
    when JAX creates its backend. Starts the cache's check in the background."""
    # Our programs are microseconds long and their results are read at once: running them
    # on the calling thread saves a hand-off to JAX's worker thread on every call.
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    path = cache_dir()
    if not _writable(path):
        _log.warning("Descent Lab: the compilation cache folder %s is not writable; running without it", path)
        return
    jax.config.update("jax_compilation_cache_dir", str(path))
    # Bounded: a server that runs for months must not fill its disk (JAX evicts by last use).
    jax.config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)
    # Our programs are small; cache them all, however quick their compile was.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    threading.Thread(target=drop_unreadable_entries, args=(path,), name="descent-lab-cache-check",
                     daemon=True).start()


COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


def _malloc_trim():
    """glibc's malloc_trim, or None (macOS, musl: nothing to trim)."""
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def trim_after_compiles() -> bool:
    """Hand the memory each XLA compile frees back to the OS right after the compile.

    A compile (a typed formula's Hessian, a Classifier architecture) takes a few hundred
    MB for a moment, and glibc keeps what is freed in its arenas: without this, compiles
    in a row stack their leftovers, and the periodic trim below comes too late for the
    peak (Community Cloud restarts an app over its memory limit). JAX's public monitoring
    events cover every compile in the process, whichever thread asked for it. Called once
    by ui.startup.start; returns whether trimming is available here."""
    trim = _malloc_trim()
    if trim is None:
        return False

    def on_event(event: str, duration: float, **_) -> None:
        if event == COMPILE_EVENT:
            trim(0)

    jax.monitoring.register_event_duration_secs_listener(on_event)
    return True


def _trim_forever(period_s: float) -> None:
    """Free closed sessions and hand freed memory back to the operating system now and
    then. After a class closes its tabs, Streamlit keeps their sessions until the next tab
    closes (compat.reap_expired_sessions frees them), and CPython and glibc keep the freed
    heap as their own (malloc_trim returns it)."""
    import gc
    import time

    trim = _malloc_trim()
    reaping = True
    while True:
        time.sleep(period_s)
        if reaping:
            try:
                compat.reap_expired_sessions()
            except compat.CompatError:
                _log.exception("Descent Lab: closed sessions are no longer freed early")
                reaping = False
        gc.collect()
        if trim is not None:
            trim(0)


def freeze_long_lived() -> int:
    """Take every object alive now out of the cyclic garbage collector's view (gc.freeze),
    after one last collection; returns how many were frozen.

    A full collection walks every object the process holds: once JAX, Plotly and the
    warm-up's compiled programs are in, Streamlit's own after every script run took ~320
    ms of each Playground rerun, holding the GIL, so the run's last messages waited for it.
    That one is off (.streamlit/config.toml, runner.postScriptGC); the trimmer below and
    Python's generational collector still run full collections now and then.
    Objects alive after the warm-up are the process's own (modules, compiled programs,
    caches): frozen, they are never walked again; refcounting still frees them. Called
    once, when the warm-up is done (ui.warmup)."""
    import gc

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def start_trimmer(period_s: float = 20.0) -> threading.Thread:
    """The background thread that frees memory every period_s seconds (one per process:
    ui.startup.start calls this once)."""
    thread = threading.Thread(target=_trim_forever, args=(period_s,), name="descent-lab-trim", daemon=True)
    thread.start()
    return thread
