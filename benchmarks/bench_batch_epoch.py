"""Time per epoch against batch size on this machine (the notes: a bigger batch is not
slower per epoch, "由于并行计算的存在"): the Classifier draws what this writes.

Setting: two moons, 1,000 points (700 train), 2 hidden layers x 16 tanh, Adam,
cross-entropy, ``classifier.train.train`` as the page runs it (per-epoch evaluation and
bookkeeping included). Each batch size trains once to compile, then the timed runs;
the figure is the minimum over repeats (the machine may be shared), per epoch and per
update. Writes benchmarks/batch_epoch_times.json with the date and the machine.

    .venv/bin/python benchmarks/bench_batch_epoch.py
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier import datasets  # noqa: E402
from classifier import train as training  # noqa: E402

OUT = Path(__file__).with_name("batch_epoch_times.json")
BATCHES = (1, 4, 16, 64, 256, None)  # None: the full batch (700)
UPDATES = 6000  # per timed run, roughly
REPEATS = 3


def measure() -> dict:
    data = datasets.make_dataset("moons", 1000, noise=0.1, seed=0)
    rows = []
    for batch in BATCHES:
        steps = 1 if batch is None else -(-data.n_train // batch)
        epochs = int(min(training.MAX_EPOCHS, max(20, UPDATES // steps)))
        config = training.TrainConfig(hidden=(16, 16), batch_size=batch, epochs=epochs, n_snapshots=2)
        training.train(data, config)  # compile
        best = min(_timed(data, config) for _ in range(REPEATS))
        rows.append({"batch": batch or data.n_train, "full": batch is None, "updates_per_epoch": steps,
                     "epochs": epochs, "seconds_per_epoch": best / epochs, "seconds_per_update": best / epochs / steps})
        print(rows[-1], flush=True)
    return {"measured": datetime.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "n_train": data.n_train, "network": "2 x 16 tanh, Adam", "rows": rows}


def _timed(data, config) -> float:
    start = time.perf_counter()
    training.train(data, config)
    return time.perf_counter() - start


if __name__ == "__main__":
    OUT.write_text(json.dumps(measure(), indent=1) + "\n")
    print("wrote", OUT)
