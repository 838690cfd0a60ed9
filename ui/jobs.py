"""One bounded queue for heavy work (training, sweep maps, basin maps, fair races), shared
by every session of the server.

Why: Streamlit runs each session's script on that session's own thread, so five students
each asking for a basin map ran five at once on two cores, and a sixth student's
Playground rerun waited for all of them. Here heavy work runs on ``SLOTS`` worker
threads, first come first served, and everything else (a Playground rerun, the step
inspector, a Curvature click) runs on the session's own thread as before, never waiting
for a slot.

* ``SLOTS = max(1, cores - 1)``: at most one heavy job per core, and one core left for
  interactive work. A job keeps to about one core: the Sweeps page runs its batches in
  chunks small enough that optimizers.trace_batch does not spread them over its own
  thread pool (optimizers.sweeps.trace_in_chunks), and runs train one after another.
  With the queue, an interactive session beside five heavy ones slowed down less than
  with the five running at once, and less than with two slots (benchmarks/hostile.py;
  figures in benchmarks/MEASURED.md).
* Workers keep normal priority: a lower one made no measurable difference, as XLA runs
  the Classifier's arithmetic on its own threads, which a worker's priority does not
  reach.
* A waiting session sees "Queued: n ahead of you" with a progress bar, redrawn every
  ``POLL_S``; a running job's bar follows its reports. Each redraw is also where
  Streamlit raises its RerunException or StopException when the user changed something
  or closed the tab (Streamlit asks a disconnected session's script to stop at once).
  The ``finally`` of ``run`` then cancels the job: a waiting job leaves the queue, a
  running one stops at its next report (``Cancelled``) and its worker takes the next.
  With a real server and browser, a closed tab's running job was cancelled and the next
  session's job started at once; a closed tab's waiting job left the queue unrun.
* Finished results are kept in ``st.cache_resource`` (``RESULT_ENTRIES`` of them, least
  recently used out), shared by every session: see ``cached``.

``JobQueue`` is plain threading (tested without Streamlit in tests/test_jobs.py); ``run``
and ``cached`` are the Streamlit side.
"""
from __future__ import annotations

import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, TypeVar

import streamlit as st

import catalog
from catalog import t

from optimizers.trace import usable_cores
from surfaces.base import Surface

T = TypeVar("T")
Report = Callable[[float, str], None]  # (fraction done, what is being done)

POLL_S = 0.2


SLOTS = max(1, usable_cores() - 1)

# What a user reads; module-level templates so they can move to a message catalog.


class Cancelled(Exception):
    """Raised by a job's report once the job was cancelled: the job stops there."""


@dataclass(eq=False)
class Job(Generic[T]):
    """One heavy computation: ``fn(report)`` runs on a worker; ``report(fraction, text)``
    records its progress and is where a cancelled job stops."""

    fn: Callable[[Report], T]
    owner: str = ""
    what: str = ""
    state: str = "waiting"  # waiting, running, done, failed, cancelled
    fraction: float = 0.0
    text: str = ""
    result: Any = None
    error: BaseException | None = None
    cancel_requested: bool = False
    finished: threading.Event = field(default_factory=threading.Event)

    def report(self, fraction: float, text: str = "") -> None:
        if self.cancel_requested:
            raise Cancelled()
        self.fraction, self.text = min(1.0, max(0.0, float(fraction))), text

    def outcome(self) -> T:
        """The result, or the job's own exception re-raised (Cancelled if cancelled)."""
        if self.state == "cancelled":
            raise Cancelled()
        if self.error is not None:
            raise self.error
        return self.result


class JobQueue:
    """First in, first out, at most ``slots`` jobs running at once, on worker threads
    started on demand and kept."""

    def __init__(self, slots: int, name: str = "descent-lab-job") -> None:
        if slots < 1:
            raise ValueError("a queue needs at least one slot")
        self.slots, self.name = slots, name
        self._cond = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._running: set[Job] = set()
        self._workers: list[threading.Thread] = []
        self.max_running = 0  # the most jobs seen running at once (for tests and benchmarks)

    # -- what a session does -----------------------------------------------------------

    def submit(self, fn: Callable[[Report], T], owner: str = "", what: str = "") -> Job[T]:
        """Queue ``fn``. A session has one page run at a time, so its older jobs, if any
        are still queued or running, are stale: they are cancelled."""
        job = Job(fn, owner, what)
        with self._cond:
            if owner:
                for old in [j for j in (*self._waiting, *self._running) if j.owner == owner]:
                    self._cancel_locked(old)
            self._waiting.append(job)
            if len(self._workers) < self.slots:
                worker = threading.Thread(target=self._work, name=f"{self.name}-{len(self._workers)}", daemon=True)
                self._workers.append(worker)
                worker.start()
            self._cond.notify_all()
        return job

    def ahead(self, job: Job) -> int:
        """How many jobs come before this one: the running ones and those queued in front
        of it (0 once it runs)."""
        with self._cond:
            if job.state != "waiting":
                return 0
            return len(self._running) + self._waiting.index(job)

    def cancel(self, job: Job) -> None:
        """A waiting job leaves the queue at once; a running one stops at its next report.
        Nothing happens to a finished job."""
        with self._cond:
            self._cancel_locked(job)

    def counts(self) -> tuple[int, int]:
        """(running, waiting)."""
        with self._cond:
            return len(self._running), len(self._waiting)

    # -- inside -------------------------------------------------------------------------

    def _cancel_locked(self, job: Job) -> None:
        if job.state == "waiting":
            self._waiting.remove(job)
            job.state = "cancelled"
            job.finished.set()
        elif job.state == "running":
            job.cancel_requested = True

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._waiting:
                    self._cond.wait()
                job = self._waiting.popleft()
                job.state = "running"
                self._running.add(job)
                self.max_running = max(self.max_running, len(self._running))
            try:
                job.result = job.fn(job.report)
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
            except BaseException as e:  # noqa: BLE001 (handed to the session that asked)
                job.error, job.state = e, "failed"
            finally:
                with self._cond:  # the slot is free again, whatever happened
                    self._running.discard(job)
                    self._cond.notify_all()
                job.finished.set()


QUEUE = JobQueue(SLOTS)


# Heavy results of the Sweeps page (sweep maps, basin runs, races) kept at once; a basin
# map's end states are about 1 MB at 200 x 200, so this holds a few tens of MB at most.
RESULT_ENTRIES = 16


# ---------------------------------------------------------------------------------------
# Streamlit side


_OWNER = "_jobs_owner"  # session_state key of this session's name in the queue


def _owner() -> str:
    """This browser session's name in the queue (made on its first heavy job)."""
    return st.session_state.setdefault(_OWNER, uuid.uuid4().hex)


def _in_this_language(fn: Callable[[Report], T]) -> Callable[[Report], T]:
    """``fn`` run in the submitting session's language: a worker thread has its own
    context, and a job's progress messages come from the catalog."""
    language = catalog.language()

    def job(report: Report) -> T:
        catalog.set_language(language)
        return fn(report)

    return job


def run(fn: Callable[[Report], T], what: str, slot: Any = None, queue: JobQueue | None = None) -> T:
    """Run ``fn(report)`` as a heavy job of this session and return its result (or raise
    its exception). ``slot`` (an ``st.empty()``; a new one if None) shows the queue
    position, then the job's progress, and is cleared at the end."""
    queue = queue or QUEUE
    slot = slot if slot is not None else st.empty()
    job = queue.submit(_in_this_language(fn), owner=_owner(), what=what)
    first = None
    try:
        while not job.finished.wait(POLL_S):
            # Each redraw is a Streamlit yield point: a rerun or a closed tab raises here.
            n = queue.ahead(job)
            if job.state == "waiting":
                first = first or max(n, 1)
                slot.progress(max(0.0, 1.0 - n / first), text=t("app.queued", n=n))
            else:
                slot.progress(job.fraction, text=job.text or what)
        result = job.outcome()
    finally:
        queue.cancel(job)  # a no-op once it finished; else it leaves the queue or stops
    slot.empty()
    return result


class _Box:
    """Holds one finished result (None until there is one)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: Any = None


def _surface_identity(surface: Surface) -> tuple:
    """What makes two surfaces the same for a result: a typed formula rebuilt after its
    cache let it go is still the same surface."""
    return surface.key, surface.params, surface.expression, surface.domain


@st.cache_resource(max_entries=RESULT_ENTRIES, show_spinner=False, hash_funcs={Surface: _surface_identity})
def _box(key: Hashable) -> _Box:
    """The box for ``key``: one per key, shared by every session."""
    return _Box()


def cached(key: Hashable, fn: Callable[[Report], T], what: str, slot: Any = None) -> T:
    """``run`` with its result kept for every session: a result already there is returned
    without queueing (a rerun that only picks a cell, a second student asking for the same
    map), and a job that waited checks again before computing (another session may have
    asked for the same thing meanwhile). Results are never mutated by the pages."""
    box = _box(key)
    if box.value is not None:
        return box.value

    def job(report: Report) -> T:
        if box.value is None:
            box.value = fn(report)
        return box.value

    return run(job, what, slot)
