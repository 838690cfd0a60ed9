"""The process's start-up, in one explicit call: ``start()``.

frame.page() calls it first thing on every page run; only the first call in a process
does anything. It

1. applies the process-wide JAX settings (ui.runtime.configure): compilation cache folder
   and size limit, dispatch on the calling thread, memory handed back after every
   compile (ui.runtime.trim_after_compiles). Nothing imported before it may have
   computed with JAX, as some settings are read when JAX creates its backend; it logs a
   warning if that happened; and NumPy's OpenBLAS on one thread (ui.compat.single_threaded_blas:
   a second BLAS thread waited for XLA's after every compiled call);
2. makes the app's Plotly template the default again, after Streamlit set its own
   (ui.compat.claim_plotly_template);
3. logs, as warnings, whatever ui.compat finds changed in the installed libraries;
4. starts the background threads: the memory trimmer (ui.runtime) and, unless
   DESCENT_LAB_NO_WARMUP is set, the warm-up (ui.warmup), which waits for the first
   page to be drawn.

Nothing here runs on import.
"""
from __future__ import annotations

import logging
import os
import threading

from ui import compat, runtime, warmup

_log = logging.getLogger("descent_lab")
_lock = threading.Lock()
_started = False


def start() -> bool:
    """Start the process (see the module docstring); True on the call that did it, False
    on every later one."""
    global _started
    with _lock:
        if _started:
            return False
        _started = True
    try:
        if compat.jax_backend_started():
            _log.warning("Descent Lab: JAX computed before start-up; its dispatch setting may not apply")
    except compat.CompatError:
        pass  # compat.problems() below names it
    runtime.configure()
    compat.single_threaded_blas()
    runtime.trim_after_compiles()
    from charts.style import TEMPLATE

    compat.claim_plotly_template(TEMPLATE)
    for problem in compat.problems():
        _log.warning("Descent Lab: %s", problem)
    runtime.start_trimmer()
    if not os.environ.get("DESCENT_LAB_NO_WARMUP"):
        warmup.start()
    return True
