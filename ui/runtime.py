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
    try:
        path = cache_dir()
        path.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(path))
        # Our programs are small; cache them all, however quick their compile was.
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    except OSError:
        pass  # a read-only home: run without the persistent cache


configure()
