"""Trajectories as a table: one row per (optimizer, step), every recorded column."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from optimizers.trace import Trace

if TYPE_CHECKING:
    import pandas as pd


def traces_frame(traces: Sequence[Trace]) -> pd.DataFrame:
    """Long table: optimizer, step, x, y, loss, learning_rate, grad_x, grad_y, update_x,
    update_y and each statistic as <name>_x, <name>_y (empty where an optimizer has none).
    Steps after a divergence are NaN, as in the Trace."""
    import pandas as pd  # here, not at the top: pandas costs ~0.3 s to import, and a page
    # imports this module on its first run but builds a table only on a download click

    frames = []
    for t in traces:
        n = len(t.points)
        cols: dict[str, np.ndarray] = {
            "optimizer": np.full(n, t.optimizer),
            "step": np.arange(n),
            "x": t.points[:, 0],
            "y": t.points[:, 1],
            "loss": t.losses,
        }
        if t.gradients is not None:
            cols["learning_rate"] = t.learning_rates
            cols["grad_x"], cols["grad_y"] = t.gradients[:, 0], t.gradients[:, 1]
            cols["update_x"], cols["update_y"] = t.updates[:, 0], t.updates[:, 1]
        for name, values in t.stats.items():
            cols[f"{name}_x"], cols[f"{name}_y"] = values[:, 0], values[:, 1]
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def traces_csv(traces: Sequence[Trace]) -> str:
    return traces_frame(traces).to_csv(index=False, float_format="%.9g")
