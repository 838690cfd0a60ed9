"""One bounded queue for heavy work (training, sweep maps, basin maps, fair races), shared
by every session of the server.

Why: Streamlit runs each session's script on its own thread, so five students each
asking for a 29 s basin map ran five at once on two cores; the burst lasted 172 s and a
sixth student's Playground rerun (1-2 s) took 2-10 s, once 49 s. Here heavy work runs
on ``SLOTS`` worker threads, first come first served, and everything else (a Playground
rerun, the step inspector, a Curvature click) runs on the session's own thread as
before, never waiting for a slot.

* ``SLOTS = max(1, cores - 1)``: at most one heavy job per core, and one core left for
  interactive work. A job keeps to about one core: the Sweeps page runs its batches in
  chunks small enough that optimizers.trace_batch does not spread them over its own
  thread pool (optimizers.sweeps.trace_in_chunks), and runs train one after another.
  Measured on the 2-core server (other processes kept its load at 5-26 throughout, so
  these are rough): a sixth session rerunning the Playground next to five heavy jobs,
  alternating bursts, took 1.14-2.01x its idle median with the queue (median 1.56x) and
  1.40-3.77x (median 2.39x) with the five running at once as before; with two slots
  instead of one, 2.76x against 2.03-2.23x (separate runs, load 5-10).
* Workers keep normal priority. A lower one (nice 10 on the worker thread) made no
  measurable difference (alternating bursts: 2.28x idle with it, 2.17x without): XLA
  runs the Classifier's arithmetic on its own threads, which a worker's priority does
  not reach.
* A waiting session sees "Queued: n ahead of you" with a progress bar, redrawn every
  ``POLL_S``; a running job's bar follows its reports. Each redraw is also where
  Streamlit raises its RerunException or StopException when the user changed something
  or closed the tab (Streamlit asks a disconnected session's script to stop at once).
  The ``finally`` of ``run`` then cancels the job: a waiting job leaves the queue, a
  running one stops at its next report (``Cancelled``) and its worker takes the next.
  With a real server and browser: a closed tab's running job was cancelled and the next
  session's job started 0.3 s later; a closed tab's waiting job left the queue unrun.

``JobQueue`` is plain threading (tested without Streamlit in tests/test_jobs.py); ``run``
is the Streamlit side.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, TypeVar

from optimizers.trace import usable_cores

T = TypeVar("T")
Report = Callable[[float, str], None]  # (fraction done, what is being done)

POLL_S = 0.2


SLOTS = max(1, usable_cores() - 1)

# What a user reads; module-level templates so they can move to a message catalog.
QUEUED = "Queued: {n} ahead of you. Heavy computations take turns on this shared server, so every page stays quick."


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


class Results:
    """A small least-recently-used map of finished heavy results, shared by sessions: a
    rerun that only picks a cell, or a second student asking for the same map, gets it
    without queueing again. Values are never mutated by the pages."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


# Heavy results of the Sweeps page (sweep maps, basin runs, races); a basin map's end
# states are ~1 MB at 200 x 200, so this holds a few tens of MB at most.
RESULTS = Results(16)


# ---------------------------------------------------------------------------------------
# Streamlit side


def _owner() -> str:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else ""


def run(fn: Callable[[Report], T], what: str, slot: Any = None, queue: JobQueue | None = None) -> T:
    """Run ``fn(report)`` as a heavy job of this session and return its result (or raise
    its exception). ``slot`` (an ``st.empty()``; a new one if None) shows the queue
    position, then the job's progress, and is cleared at the end."""
    import streamlit as st

    queue = queue or QUEUE
    slot = slot if slot is not None else st.empty()
    job = queue.submit(fn, owner=_owner(), what=what)
    first = None
    try:
        while not job.finished.wait(POLL_S):
            # Each redraw is a Streamlit yield point: a rerun or a closed tab raises here.
            n = queue.ahead(job)
            if job.state == "waiting":
                first = first or max(n, 1)
                slot.progress(max(0.0, 1.0 - n / first), text=QUEUED.format(n=n))
            else:
                slot.progress(job.fraction, text=job.text or what)
        result = job.outcome()
    finally:
        queue.cancel(job)  # a no-op once it finished; else it leaves the queue or stops
    slot.empty()
    return result


def cached(key: Hashable, fn: Callable[[Report], T], what: str, slot: Any = None) -> T:
    """``run`` through RESULTS: a result already there is returned without queueing, and
    a job that waited checks again before computing (another session may have asked for
    the same thing meanwhile)."""
    hit = RESULTS.get(key)
    if hit is not None:
        return hit

    def job(report: Report) -> T:
        found = RESULTS.get(key)
        if found is not None:
            return found
        out = fn(report)
        RESULTS.put(key, out)
        return out

    return run(job, what, slot)
