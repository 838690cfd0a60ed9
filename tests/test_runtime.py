"""ui.startup and ui.runtime: start-up is one explicit call, nothing runs on import; the
persistent compilation cache is bounded, quiet when unwritable and self-repairing; the
warm-up runs every task it can. (Reaping closed sessions: tests/test_compat.py.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from ui import runtime as app_runtime
from ui import warmup


def run_code(code: str, unset: tuple[str, ...] = (), **env: str) -> dict:
    """Run code in a fresh interpreter at the repository's root, with ``env`` set and the
    variables in ``unset`` removed; its last line of output, as JSON."""
    env = {**{k: v for k, v in os.environ.items() if k not in unset}, "PYTHONPATH": str(ROOT), **env}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------
# Start-up

STARTUP = """
import json, threading
import jax
import ui.frame, ui.jobs, ui.runtime, ui.warmup  # importing does nothing but import
from ui import startup, warmup

def ours():
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("descent-lab"))

before = {"dir": jax.config.jax_compilation_cache_dir, "async": jax.config.read("jax_cpu_enable_async_dispatch"),
          "threads": ours()}
first, second = startup.start(), startup.start()
print(json.dumps({"before": before, "first": first, "second": second,
                  "dir": jax.config.jax_compilation_cache_dir, "async": jax.config.read("jax_cpu_enable_async_dispatch"),
                  "threads": ours(), "page_drawn": warmup.page_drawn.is_set()}))
"""


def test_start_up_is_one_explicit_call_once_per_process(tmp_path) -> None:
    got = run_code(STARTUP, unset=("DESCENT_LAB_NO_WARMUP",), DESCENT_LAB_CACHE=str(tmp_path))
    assert got["before"] == {"dir": None, "async": True, "threads": []}, "importing ui configured or started something"
    assert (got["first"], got["second"]) == (True, False)
    assert got["dir"] == str(tmp_path / "jax") and got["async"] is False
    # One trimmer and one warm-up, the warm-up waiting for the first page to be drawn.
    assert got["threads"].count("descent-lab-trim") == 1 and got["threads"].count("descent-lab-warmup") == 1
    assert not got["page_drawn"]


def test_no_module_computes_with_jax_before_start_up() -> None:
    """Start-up runs at the top of a page, after the page's imports: an import that ran a
    JAX computation would create JAX's backend before its settings are applied."""
    code = """
import importlib, json, pkgutil
names = []
for package in ("ui", "experiments", "charts", "optimizers", "surfaces", "classifier"):
    module = importlib.import_module(package)
    names.append(package)
    for info in pkgutil.iter_modules(module.__path__, package + "."):
        importlib.import_module(info.name)
        names.append(info.name)
from ui import compat
print(json.dumps({"imported": names, "backend": compat.jax_backend_started()}))
"""
    got = run_code(code)
    assert {"ui.frame", "ui.jobs", "experiments.common", "charts.surface", "optimizers.trace"} <= set(got["imported"])
    assert got["backend"] is False


def test_the_warm_up_runs_every_task_it_can() -> None:
    ran = []

    def broken() -> None:
        raise ValueError("a task that fails")

    finished = warmup.run([("first", lambda: ran.append("first")), ("broken", broken),
                           ("last", lambda: ran.append("last"))])
    assert finished == ["first", "last"] and ran == ["first", "last"]


def test_the_warm_up_has_a_task_for_every_page() -> None:
    from ui.frame import available_pages
    from ui.warmup_tasks import TASKS

    pages = {p.path.split("_", 1)[1].removesuffix(".py").lower() for p in available_pages() if p.path != "app.py"}
    assert pages, "no page found"
    assert {name for name, _ in TASKS} == pages
    assert all(callable(fn) for _, fn in TASKS)


# ---------------------------------------------------------------------------------------
# The persistent compilation cache: bounded, quiet when unwritable, self-repairing.


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
    from ui import startup
    startup.start()
    for k in range(2):
        jax.jit(lambda v, k=k: jnp.sin(v) * (k + 2))(jnp.ones(3)).block_until_ready()
print(json.dumps({"logged": records, "warned": [str(w.message) for w in caught],
                  "dir": jax.config.jax_compilation_cache_dir,
                  "max": jax.config.jax_compilation_cache_max_size}))
"""


def run_child(cache: Path) -> dict:
    return run_code(CHILD, DESCENT_LAB_CACHE=str(cache))


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


FREEZE_SCRIPT = r"""
import gc, json, time
from ui import runtime
garbage = [[] for _ in range(200_000)]  # long-lived objects, as a process has after the warm-up
for g in garbage:
    g.append(g)
frozen = runtime.freeze_long_lived()
cycle = []; cycle.append(cycle); del cycle  # garbage made after the freeze is still collected
print(json.dumps({"frozen": frozen, "count": gc.get_freeze_count(), "collected": gc.collect()}))
"""


def test_long_lived_objects_are_frozen_out_of_full_collections() -> None:
    """Streamlit's full collection after every run walked every object in the process
    (~320 ms a Playground rerun): after the warm-up, the process's own objects are frozen,
    and a cycle made later is still collected."""
    out = subprocess.run([sys.executable, "-c", FREEZE_SCRIPT], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, check=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found["frozen"] == found["count"] >= 200_000
    assert found["collected"] >= 1


def test_streamlit_runs_no_full_collection_after_every_script_run() -> None:
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
