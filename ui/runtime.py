"""Process-wide JAX set-up, done once when the first page imports ui.

JAX's persistent compilation cache lives in the user's cache folder (never in the
repository), so a restarted server loads compiled programs instead of compiling again.
"""
from __future__ import annotations

import os
from pathlib import Path

import jax

_DONE = False


def cache_dir() -> Path:
    base = os.environ.get("DESCENT_LAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "descent-lab"
    )
    return Path(base) / "jax"


def configure() -> None:
    global _DONE
    if _DONE:
        return
    _DONE = True
    # Our programs are microseconds long and their results are read at once: running them
    # on the calling thread saves a hand-off to JAX's worker thread (measured: a
    # 1,000-step trace 91 -> 57 us). Process-wide, so set here, once, at start-up.
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    try:
        path = cache_dir()
        path.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(path))
        # Our programs are small; cache them all, however quick their compile was.
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    except OSError:
        pass  # a read-only home: run without the persistent cache


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
        gc.collect()
        libc.malloc_trim(0)


def start_trimmer(period_s: float = 20.0) -> None:
    import threading

    global _TRIMMER
    if _TRIMMER is None:
        _TRIMMER = threading.Thread(target=_trim_forever, args=(period_s,), name="descent-lab-trim", daemon=True)
        _TRIMMER.start()


_TRIMMER = None
configure()
