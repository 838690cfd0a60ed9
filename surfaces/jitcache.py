"""Keep programs compiled from user-typed formulas out of JAX's persistent compilation cache.

ui/runtime.py turns the persistent cache on for the whole process, so that a restarted
server loads the catalog's programs instead of compiling them again. A user-typed formula
is different: each edit ("+1") is a new program (~290 KB on disk each), nobody will ask
for it after a restart, and the folder would grow with whatever anyone types.

JAX 0.10.2 has no public switch for one compile. Its persistent cache decides once per
process whether it is in use (``compilation_cache.is_cache_used``: flipping
``jax_enable_compilation_cache`` afterwards changes nothing, and flipping it before the
first compile turns the cache off for everybody), but the writer reads
``jax_persistent_cache_min_compile_time_secs`` at every write
(``compiler._cache_write``), and that option is a thread-local ``State``: a context
manager sets it for the current thread only, the way JAX's own test_util does. Compiles
happen synchronously on the thread that first calls a jitted function, so raising the
threshold to infinity around that call keeps that one program out of the cache while
other sessions' threads (Streamlit serves each session on its own) keep writing theirs.
The option is not part of the jit key, so the in-memory jit caches are unaffected; the
cache is still looked up (a miss, costing a hash of the program), only never written.

Every place that jits a program built from a surface's fn wraps it as
``uncached_for(fn, program)``: built-in surfaces get the program itself back, untouched.

That is one private reach (``jax._src.config``), confined to `_threshold_state`. Should a
later JAX move it, the guard logs one warning and lets programs be cached as before: the
cache stays correct, it only grows.
"""
from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

_log = logging.getLogger(__name__)

_MARK = "_descent_lab_user_formula"  # attribute set on the fn of a user-typed formula
_F = TypeVar("_F", bound=Callable[..., Any])


def mark_user_formula(fn: _F) -> _F:
    """Flag fn as compiled from user text, so `uncached_for` keeps its programs off disk."""
    setattr(fn, _MARK, True)
    return fn


def is_user_formula(fn: object) -> bool:
    return getattr(fn, _MARK, False) is True


@functools.cache
def _threshold_state() -> Any:
    """jax._src.config.persistent_cache_min_compile_time_secs (written for jax 0.10.2), or
    None, with one warning, if this JAX has no such thread-local context manager."""
    try:
        from jax._src import config as jax_config

        state = jax_config.persistent_cache_min_compile_time_secs
        with state(math.inf):  # proves it is a context manager taking a float
            pass
        return state
    except Exception:  # noqa: BLE001 (any change in JAX's internals lands here)
        _log.warning(
            "this JAX has no thread-local jax_persistent_cache_min_compile_time_secs; "
            "programs of user-typed formulas will be written to the persistent cache"
        )
        return None


def no_persistent_cache() -> AbstractContextManager[Any]:
    """A context in which programs compiled on this thread are not written to disk."""
    state = _threshold_state()
    return nullcontext() if state is None else state(math.inf)


def uncached_for(fn: object, program: _F) -> _F:
    """program itself when fn is a built-in surface's; for a user formula's fn, a wrapper
    that runs program with the persistent cache's writes off on the calling thread (the
    thread that compiles it on the first call). Costs ~1 us a call, user formulas only."""
    if not is_user_formula(fn):
        return program

    @functools.wraps(program)
    def run(*args: Any, **kwargs: Any) -> Any:
        with no_persistent_cache():
            return program(*args, **kwargs)

    return run  # type: ignore[return-value]
