"""Compile what the pages show by default, once per process, in the background.

Started by the end of the first page run (so it never slows the first visitor), in one
daemon thread at low CPU priority. Compiled programs live in module-level caches shared
by every session, and JAX's persistent cache (ui/runtime.py) keeps them across restarts,
so no session pays for a default view's compile after the first.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable

log = logging.getLogger("descent_lab.warmup")
_lock = threading.Lock()
_started = False
TASKS: list[tuple[str, Callable[[], object]]] = []
done: dict[str, float] = {}


def task(name: str):
    """Register a warm-up task (a function calling library code with page defaults)."""

    def register(fn: Callable[[], object]) -> Callable[[], object]:
        TASKS.append((name, fn))
        return fn

    return register


def _run() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # yield to serving sessions
    except (OSError, AttributeError):
        pass
    for name, fn in list(TASKS):
        t0 = time.perf_counter()
        try:
            fn()
        except Exception:  # noqa: BLE001 (a failed warm-up only costs speed later)
            log.exception("warm-up task %s failed", name)
            continue
        done[name] = time.perf_counter() - t0


def start() -> None:
    global _started
    with _lock:
        if _started or os.environ.get("DESCENT_LAB_NO_WARMUP"):
            return
        _started = True
    import ui.warmup_tasks  # noqa: F401  (registers the tasks)
    from ui.runtime import start_trimmer

    start_trimmer()

    threading.Thread(target=_run, name="descent-lab-warmup", daemon=True).start()
