"""ui.runtime: closed sessions are reaped once their reconnect window has passed."""
from __future__ import annotations

import threading
from types import SimpleNamespace

from streamlit.runtime.caching.ttl_cache import TTLCache

from ui import runtime as app_runtime


def test_expired_closed_sessions_are_reaped(monkeypatch) -> None:
    clock = [0.0]
    cache = TTLCache(maxsize=128, ttl=30, timer=lambda: clock[0])
    for i in range(3):
        cache[f"s{i}"] = SimpleNamespace(session=f"session {i}")
    manager = SimpleNamespace(_storage_lock=threading.Lock(), _session_storage=SimpleNamespace(_cache=cache))
    import streamlit.runtime as st_runtime

    monkeypatch.setattr(st_runtime, "exists", lambda: True)
    monkeypatch.setattr(st_runtime, "get_instance", lambda: SimpleNamespace(_session_mgr=manager))
    clock[0] = 10.0
    assert app_runtime.reap_expired_sessions() == 0  # still inside the 30 s window: kept for a reconnect
    assert len(cache._data) == 3
    clock[0] = 31.0
    assert app_runtime.reap_expired_sessions() == 3
    assert len(cache._data) == 0


def test_reaping_is_off_without_a_runtime_or_with_other_internals(monkeypatch) -> None:
    import streamlit.runtime as st_runtime

    monkeypatch.setattr(st_runtime, "exists", lambda: False)
    assert app_runtime.reap_expired_sessions() == 0
    monkeypatch.setattr(st_runtime, "exists", lambda: True)
    monkeypatch.setattr(st_runtime, "get_instance", lambda: SimpleNamespace())  # no _session_mgr
    assert app_runtime.reap_expired_sessions() == 0
