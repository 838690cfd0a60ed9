"""Compile what the pages show by default, once per process, in the background.

Started by the end of the first page run, in one daemon thread at low CPU priority, and
only after START_DELAY_S: a thread that traces and compiles holds Python's GIL most of
the time, and at low priority it is often off the CPU while holding it. Started with the
first page's last element, it held back the server's own messages to that page while
the browser was still drawing it (cold start, six samples each: the first visitor's page
drawn 0.38 s later on average than with no warm-up at all).

Compiled programs live in module-level caches shared by every session, and JAX's
persistent cache (ui/runtime.py) keeps them across restarts, so no session pays for a
default view's compile after the first.
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
START_DELAY_S = 3.0  # past the first visitor's first render (~1.5 s after the run ends, cold)
TASKS: list[tuple[str, Callable[[], object]]] = []
done: dict[str, float] = {}


def task(name: str):
    """Register a warm-up task (a function calling library code with page defaults)."""

    def register(fn: Callable[[], object]) -> Callable[[], object]:
        TASKS.append((name, fn))
        return fn

    return register


def _run() -> None:
    time.sleep(START_DELAY_S)
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
