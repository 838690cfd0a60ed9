"""The heavy-work queue (ui/jobs.py) with real threads: order, concurrency, positions,
cancelling and failures. Events, not sleeps, decide every outcome."""
from __future__ import annotations

import threading

import pytest

from ui import jobs

WAIT = 10.0  # seconds before a test gives up on an event (never reached when all is well)


def blocker(started: threading.Event, go: threading.Event, value=None):
    def fn(report):
        started.set()
        assert go.wait(WAIT)
        return value

    return fn


def finish(job: jobs.Job):
    assert job.finished.wait(WAIT)
    return job


def test_jobs_run_first_in_first_out():
    q = jobs.JobQueue(1)
    started, go = threading.Event(), threading.Event()
    first = q.submit(blocker(started, go, "first"))
    assert started.wait(WAIT)
    order: list[int] = []
    later = [q.submit(lambda report, i=i: order.append(i) or i) for i in range(5)]
    go.set()
    assert finish(first).outcome() == "first"
    assert [finish(j).outcome() for j in later] == list(range(5))
    assert order == list(range(5))


def test_at_most_slots_jobs_run_at_once():
    q = jobs.JobQueue(2)
    lock, running, peak = threading.Lock(), [0], [0]
    too_many = threading.Event()

    def fn(report):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            if running[0] > 2:
                too_many.set()
        try:
            too_many.wait(0.05)  # long enough for a third job to start, were it allowed to
        finally:
            with lock:
                running[0] -= 1

    submitted = [q.submit(fn) for _ in range(8)]
    for j in submitted:
        finish(j).outcome()
    assert peak[0] == 2 and q.max_running == 2
    assert q.counts() == (0, 0)


def test_positions_and_a_cancelled_waiter_leaves_the_queue():
    q = jobs.JobQueue(1)
    started, go = threading.Event(), threading.Event()
    running = q.submit(blocker(started, go))
    assert started.wait(WAIT)
    ran: list[str] = []
    b = q.submit(lambda report: ran.append("b"))
    c = q.submit(lambda report: ran.append("c"))
    assert (q.ahead(running), q.ahead(b), q.ahead(c)) == (0, 1, 2)
    q.cancel(b)
    assert b.state == "cancelled" and b.finished.is_set()
    assert q.ahead(c) == 1 and q.counts() == (1, 1)
    with pytest.raises(jobs.Cancelled):
        b.outcome()
    go.set()
    finish(c)
    assert ran == ["c"]  # the cancelled job never ran


def test_a_running_job_stops_at_its_next_report_and_frees_its_slot():
    q = jobs.JobQueue(1)
    reported = threading.Event()

    def endless(report):
        while True:
            report(0.5, "working")
            reported.set()

    job = q.submit(endless)
    assert reported.wait(WAIT)
    assert job.state == "running" and job.text == "working"
    q.cancel(job)
    assert finish(job).state == "cancelled"
    assert finish(q.submit(lambda report: "next")).outcome() == "next"


def test_a_failing_job_hands_its_exception_over_and_frees_its_slot():
    q = jobs.JobQueue(1)

    def broken(report):
        raise ValueError("broken")

    failed = q.submit(broken)
    with pytest.raises(ValueError, match="broken"):
        finish(failed).outcome()
    assert failed.state == "failed"
    assert finish(q.submit(lambda report: 42)).outcome() == 42
    assert q.counts() == (0, 0)


def test_a_new_job_of_the_same_session_cancels_its_stale_ones():
    q = jobs.JobQueue(1)
    started, go = threading.Event(), threading.Event()
    other = q.submit(blocker(started, go), owner="other")
    assert started.wait(WAIT)
    stale = q.submit(lambda report: "stale", owner="me")
    fresh = q.submit(lambda report: "fresh", owner="me")
    assert stale.state == "cancelled" and q.ahead(fresh) == 1
    go.set()
    assert finish(fresh).outcome() == "fresh" and finish(other).state == "done"


class Slot:
    """Stands in for st.empty(): records what was drawn; can raise like Streamlit does
    when the user changed something or closed the tab."""

    def __init__(self, raise_after: int | None = None) -> None:
        self.drawn: list[tuple[float, str]] = []
        self.raise_after = raise_after

    def progress(self, value: float, text: str = "") -> None:
        self.drawn.append((value, text))
        if self.raise_after is not None and len(self.drawn) > self.raise_after:
            raise KeyboardInterrupt("stands in for Streamlit's StopException")

    def empty(self) -> None:
        self.drawn.append((-1.0, "cleared"))


def test_run_shows_the_queue_then_returns_the_result(monkeypatch):
    monkeypatch.setattr(jobs, "POLL_S", 0.01)
    q = jobs.JobQueue(1)
    started, go = threading.Event(), threading.Event()
    q.submit(blocker(started, go))
    assert started.wait(WAIT)
    slot = Slot()
    threading.Timer(0.2, go.set).start()
    assert jobs.run(lambda report: "done", "Training", slot, q) == "done"
    waiting = [t for _, t in slot.drawn if t.startswith("Queued")]
    assert waiting and waiting[0].startswith("Queued: 1 ahead of you")
    assert slot.drawn[-1] == (-1.0, "cleared")


def test_an_interrupted_page_run_cancels_its_job_and_frees_the_slot(monkeypatch):
    """Streamlit raises at a redraw once the user changed something or closed the tab;
    the job must leave the queue (waiting) or stop (running) at once."""
    monkeypatch.setattr(jobs, "POLL_S", 0.01)
    q = jobs.JobQueue(1)
    reports = threading.Event()

    def endless(report):
        while True:
            report(0.1, "epoch 1")
            reports.set()

    submitted: list[jobs.Job] = []
    submit = q.submit
    monkeypatch.setattr(q, "submit", lambda *a, **k: submitted.append(submit(*a, **k)) or submitted[-1])
    with pytest.raises(KeyboardInterrupt):
        jobs.run(endless, "Training", Slot(raise_after=3), q)
    assert reports.is_set()
    assert finish(submitted[0]).state == "cancelled"
    assert q.counts() == (0, 0)
    # A waiting job is cancelled the same way and never runs.
    started, go = threading.Event(), threading.Event()
    q.submit(blocker(started, go))
    assert started.wait(WAIT)
    ran = []
    with pytest.raises(KeyboardInterrupt):
        jobs.run(lambda report: ran.append(1), "Training", Slot(raise_after=2), q)
    assert q.counts() == (1, 0)
    go.set()
    assert not ran


# ---------------------------------------------------------------------------------------
# cached: finished results shared by every session (st.cache_resource)


def unique_key(*parts) -> tuple:
    """A key no other test (st.cache_resource is process-wide) has used."""
    import uuid

    return (uuid.uuid4().hex, *parts)


def test_a_cached_result_is_computed_once_and_returned_without_queueing(monkeypatch):
    monkeypatch.setattr(jobs, "POLL_S", 0.01)
    key, calls = unique_key("sweep", b"\x00\x01"), []
    first = jobs.cached(key, lambda report: calls.append(1) or {"map": 1}, "Sweeping", Slot())
    submitted: list = []
    monkeypatch.setattr(jobs.QUEUE, "submit", lambda *a, **k: submitted.append(a))
    assert jobs.cached(key, lambda report: calls.append(1) or {"map": 2}, "Sweeping", Slot()) is first
    assert calls == [1] and not submitted  # the second call neither computed nor queued


def test_a_waiting_job_takes_the_result_another_session_computed(monkeypatch):
    monkeypatch.setattr(jobs, "POLL_S", 0.01)
    monkeypatch.setattr(jobs, "QUEUE", jobs.JobQueue(1))
    monkeypatch.setattr(jobs, "_owner", lambda: threading.current_thread().name)  # one session per thread
    key, started, go = unique_key("basins"), threading.Event(), threading.Event()
    results: dict[str, object] = {}
    first = threading.Thread(target=lambda: results.update(a=jobs.cached(key, blocker(started, go, "A's"), "A",
                                                                          Slot())), name="session A")
    first.start()
    assert started.wait(WAIT)  # A's job runs; B's will queue behind it
    second_ran = []
    second = threading.Thread(target=lambda: results.update(
        b=jobs.cached(key, lambda report: second_ran.append(1) or "B's", "B", Slot())), name="session B")
    second.start()
    go.set()
    first.join(WAIT)
    second.join(WAIT)
    assert results == {"a": "A's", "b": "A's"} and not second_ran


def test_surfaces_in_a_key_are_the_same_when_they_are_the_same_formula(monkeypatch):
    import dataclasses

    import surfaces

    monkeypatch.setattr(jobs, "POLL_S", 0.01)
    tag = unique_key()
    bowl = surfaces.from_expression("x^2 + y^2")
    jobs.cached((*tag, bowl), lambda report: "bowl", "", Slot())
    rebuilt = dataclasses.replace(bowl)  # another object, as after the formula cache let it go
    assert rebuilt is not bowl
    assert jobs.cached((*tag, rebuilt), lambda report: "computed again", "", Slot()) == "bowl"
    other = surfaces.from_expression("x^2 + 2*y^2")
    assert jobs.cached((*tag, other), lambda report: "other", "", Slot()) == "other"
    ravine = surfaces.get("ravine", condition=10.0)
    assert jobs.cached((*tag, ravine), lambda report: "ravine 10", "", Slot()) == "ravine 10"
    steeper = surfaces.get("ravine", condition=20.0)
    assert jobs.cached((*tag, steeper), lambda report: "ravine 20", "", Slot()) == "ravine 20"
