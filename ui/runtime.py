"""Process-wide JAX set-up, done once when the first page imports ui.

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

_DONE = False


def cache_dir() -> Path:
    base = os.environ.get("DESCENT_LAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "descent-lab"
    )
    return Path(base) / "jax"


CACHE_MAX_BYTES = 200 * 1024 * 1024  # the persistent cache's size limit; JAX evicts the least recently used
_log = logging.getLogger("descent_lab")


def _writable(path: Path) -> bool:
    """Whether files can be made in path. Checked once: JAX would otherwise warn on every
    program it fails to write (74 warnings in three page loads of a read-only cache)."""
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
    from jax._src import compilation_cache  # JAX's own entry format (jax 0.10)

    dropped = []
    for entry in path.glob("*-cache"):
        try:
            body = compilation_cache.decompress_executable(entry.read_bytes())
            if len(body) <= 8:  # the compile-time header alone
                raise ValueError("empty entry")
        except Exception:  # noqa: BLE001 (any failure to read it back means the entry is useless)
            for stale in (entry, entry.with_name(entry.name[: -len("-cache")] + "-atime")):
                stale.unlink(missing_ok=True)
            dropped.append(entry)
    if dropped:
        _log.warning("Descent Lab: removed %d unreadable entries from the compilation cache %s", len(dropped), path)
    return dropped


def configure() -> None:
    global _DONE
    if _DONE:
        return
    _DONE = True
    # Our programs are microseconds long and their results are read at once: running them
    # on the calling thread saves a hand-off to JAX's worker thread (measured: a
    # 1,000-step trace 91 -> 57 us). Process-wide, so set here, once, at start-up.
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


def reap_expired_sessions() -> int:
    """Drop the closed sessions whose reconnect window (server.disconnectedSessionTTL) has
    passed. Streamlit keeps a closed tab's session for that window in a TTL cache that it
    only reaps when the next session closes, so after a class closes its tabs thirty
    sessions' worth of memory stayed until someone else came and went (load test, two
    minutes after 30 sessions closed: +22% over the baseline without this, +4% with it).
    Reaping is what Streamlit itself does on its next write; it reaches private
    attributes, so any change in them just turns this off. Returns how many."""
    try:
        from streamlit import runtime

        if not runtime.exists():
            return 0
        manager = runtime.get_instance()._session_mgr
        lock = getattr(manager, "_storage_lock", None)
        cache = manager._session_storage._cache
        if lock is None:
            return len(cache.expire())
        with lock:
            return len(cache.expire())
    except Exception:  # noqa: BLE001 (another Streamlit version: nothing to reap here)
        return 0


def _trim_forever(period_s: float) -> None:
    """Hand freed memory back to the operating system now and then. After a class closes
    its tabs, CPython and glibc keep the freed heap as their own (measured: the server
    stayed 17% above its baseline two minutes later); malloc_trim returns it."""
    import ctypes
    import gc
    import time

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to trim
    while True:
        time.sleep(period_s)
        reap_expired_sessions()
        gc.collect()
        libc.malloc_trim(0)


def start_trimmer(period_s: float = 20.0) -> None:
    global _TRIMMER
    if _TRIMMER is None:
        _TRIMMER = threading.Thread(target=_trim_forever, args=(period_s,), name="descent-lab-trim", daemon=True)
        _TRIMMER.start()


_TRIMMER = None
configure()
