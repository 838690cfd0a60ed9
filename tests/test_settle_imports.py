"""ui.frame.settle_imports: a page never sees a module another session is half-way through
importing (Plotly looks pandas up in sys.modules without importing it)."""
from __future__ import annotations

import sys
import threading
import time

from ui import frame


def test_settle_waits_for_a_module_another_thread_is_importing(tmp_path, monkeypatch) -> None:
    (tmp_path / "slow_module_for_settle.py").write_text(
        "import time\nstarted = True\ntime.sleep(0.6)\nSeries = object\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(frame, "SHARED_LAZY_IMPORTS", ("slow_module_for_settle",))
    importer = threading.Thread(target=__import__, args=("slow_module_for_settle",))
    importer.start()
    deadline = time.time() + 5
    while "slow_module_for_settle" not in sys.modules and time.time() < deadline:
        time.sleep(0.005)
    half = sys.modules["slow_module_for_settle"]
    assert not hasattr(half, "Series")  # what Plotly would have found
    frame.settle_imports()
    assert hasattr(sys.modules["slow_module_for_settle"], "Series")
    importer.join()
    monkeypatch.delitem(sys.modules, "slow_module_for_settle")
