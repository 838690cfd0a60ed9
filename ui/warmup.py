"""Compile what the pages show by default, once per process, in the background.

ui.startup.start() starts the thread; it waits until the first page has been drawn
(``page_drawn``, set by frame.footer) and then START_DELAY_S more, and runs at low CPU
priority: a thread that traces and compiles holds Python's GIL most of the time, and one
started with the first page's last element held back the server's messages to that page
while the browser was still drawing it (benchmarks/cold_start.py).

Compiled programs live in module-level caches shared by every session, and JAX's
persistent cache (ui/runtime.py) keeps them across restarts, so no session pays for a
default view's compile after the first.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable, Sequence

log = logging.getLogger("descent_lab.warmup")
START_DELAY_S = 3.0  # past the first visitor's first render in the browser, cold
page_drawn = threading.Event()  # set at the end of every page run (frame.footer)

Task = tuple[str, Callable[[], object]]


def run(tasks: Sequence[Task]) -> list[str]:
    """Run each task, logging (not raising) a failure: a failed warm-up only costs speed
    later. Returns the names of the tasks that finished."""
    finished = []
    for name, fn in tasks:
        try:
            fn()
        except Exception:  # noqa: BLE001 (see the docstring)
            log.exception("warm-up task %s failed", name)
            continue
        finished.append(name)
    return finished


def _wait_then_run() -> None:
    page_drawn.wait()
    time.sleep(START_DELAY_S)
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # yield to serving sessions
    except (OSError, AttributeError):
        pass
    from ui.warmup_tasks import TASKS  # imported here: the heavy imports stay off the first page run

    run(TASKS)
    from ui import runtime

    frozen = runtime.freeze_long_lived()
    log.info("warm-up done; %d long-lived objects frozen out of the garbage collector's walks", frozen)


def start() -> threading.Thread:
    """The warm-up thread, started (ui.startup.start calls this once per process)."""
    thread = threading.Thread(target=_wait_then_run, name="descent-lab-warmup", daemon=True)
    thread.start()
    return thread
