"""The warm-up tasks: each page's default view, through the same library calls."""
from __future__ import annotations

import optimizers
import surfaces
from ui.defaults import PLAYGROUND_LR, PLAYGROUND_RACE, PLAYGROUND_STEPS, PLAYGROUND_SURFACE
from ui.surface_view import critical_of, grid_of
from ui.warmup import task


@task("playground")
def playground() -> None:
    s = surfaces.get(PLAYGROUND_SURFACE)
    grid_of(s)
    grid_of(s, 61)
    critical_of(s)
    # The default race first, then the rest of the registry (a teacher adds them in class).
    for key in PLAYGROUND_RACE + [k for k in optimizers.names() if k not in PLAYGROUND_RACE]:
        optimizers.trace(s, key, s.starts[0], PLAYGROUND_STEPS, with_stats=True, learning_rate=PLAYGROUND_LR[key])
