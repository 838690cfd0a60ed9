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


# ---------------------------------------------------------------------------------------
# The persistent compilation cache: bounded, quiet when unwritable, self-repairing.

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.conftest import ROOT  # noqa: E402

# Configures the app's runtime, compiles two small programs, and prints what was logged and
# warned, and the cache's settings.
CHILD = """
import logging, warnings, json
warnings.simplefilter("always")
records = []
class Keep(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            records.append(record.getMessage())
logging.getLogger().addHandler(Keep())
with warnings.catch_warnings(record=True) as caught:
    import jax, jax.numpy as jnp
    import ui.runtime as r
    for k in range(2):
        jax.jit(lambda v, k=k: jnp.sin(v) * (k + 2))(jnp.ones(3)).block_until_ready()
print(json.dumps({"logged": records, "warned": [str(w.message) for w in caught],
                  "dir": jax.config.jax_compilation_cache_dir,
                  "max": jax.config.jax_compilation_cache_max_size}))
"""


def run_child(cache: Path) -> dict:
    import json

    env = {**os.environ, "DESCENT_LAB_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cache_is_size_limited_and_written(tmp_path) -> None:
    got = run_child(tmp_path / "c")
    assert got["max"] == app_runtime.CACHE_MAX_BYTES
    assert got["dir"] == str(tmp_path / "c" / "jax")
    assert len(list((tmp_path / "c" / "jax").glob("*-cache"))) >= 2
    assert not got["logged"] and not got["warned"]


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody can write to, root included: the immutable attribute (root ignores
    mode bits, so chmod would prove nothing here)."""
    folder = tmp_path / "ro" / "jax"
    folder.mkdir(parents=True)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this file system")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_an_unwritable_cache_gives_one_log_line_and_runs_without_it(read_only_folder) -> None:
    got = run_child(read_only_folder.parent)
    assert len(got["logged"]) == 1 and "not writable" in got["logged"][0], got
    assert not got["warned"], got["warned"][:3]
    assert not got["dir"]  # no persistent cache configured


def test_unreadable_entries_are_removed_and_good_ones_kept(tmp_path) -> None:
    run_child(tmp_path / "c")
    folder = tmp_path / "c" / "jax"
    good = sorted(folder.glob("*-cache"))
    garbage = folder / "jit_bad-0123456789abcdef-cache"
    garbage.write_bytes(b"not a compiled program")
    truncated = folder / "jit_short-0123456789abcdef-cache"
    truncated.write_bytes(good[0].read_bytes()[:20])
    dropped = app_runtime.drop_unreadable_entries(folder)
    assert sorted(dropped) == sorted([garbage, truncated])
    assert not garbage.exists() and not truncated.exists()
    assert all(g.exists() for g in good)


def test_a_garbage_entry_is_replaced_by_the_next_start(tmp_path) -> None:
    run_child(tmp_path / "c")
    folder = tmp_path / "c" / "jax"
    entries = sorted(folder.glob("*-cache"))
    good = {e: e.read_bytes() for e in entries}
    for e in entries:
        e.write_bytes(b"garbage")
    run_child(tmp_path / "c")  # removes them (its check runs beside the first compiles)
    run_child(tmp_path / "c")  # compiles them afresh and writes them
    assert all(e.exists() and e.read_bytes() != b"garbage" for e in entries)
    assert all(len(e.read_bytes()) > 100 for e in good)
