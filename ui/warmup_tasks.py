"""The warm-up tasks: each page's default view, through the same library calls."""
from __future__ import annotations

import optimizers
import surfaces
from ui.defaults import PLAYGROUND_LR, PLAYGROUND_RACE, PLAYGROUND_STEPS, PLAYGROUND_SURFACE
from ui.surface_view import ZOOM_GRID, critical_of, fill_of, grid_of
from ui.warmup import task


@task("playground")
def playground() -> None:
    s = surfaces.get(PLAYGROUND_SURFACE)
    fill_of(s)  # its grid and the contour image drawn from it
    grid_of(s, 61)  # the 3-D view
    surfaces.evaluate_grid(s, s.domain, ZOOM_GRID)  # the step inspector's zoom (compiles its shape)
    critical_of(s)
    # The default race first, then the rest of the registry (a teacher adds them in class).
    for key in PLAYGROUND_RACE + [k for k in optimizers.names() if k not in PLAYGROUND_RACE]:
        optimizers.trace(s, key, s.starts[0], PLAYGROUND_STEPS, with_stats=True, learning_rate=PLAYGROUND_LR[key])


@task("curvature")
def curvature() -> None:
    s = surfaces.get("himmelblau")
    fill_of(s)
    critical_of(s)
    surfaces.evaluate_grid(s, ((-1.0, 1.0), (-1.0, 1.0)), 61)  # the model's window
    surfaces.evaluate_grid(s, ((-1.0, 1.0), (-1.0, 1.0)), ZOOM_GRID)  # the stability zoom
    optimizers.trace(s, "gd", (3.0, 2.0), 100, learning_rate=0.01)


@task("sweeps")
def sweeps_page() -> None:
    import numpy as np

    s = surfaces.get("himmelblau")
    grid_of(s, 81)
    lrs = np.geomspace(1e-4, 1.0, 4)
    for opt, second in (("momentum", "momentum"), ("gd", None)):
        values = np.linspace(0.0, 0.9, 4)
        hyper = {"learning_rate": np.repeat(lrs, 4) if second else lrs}
        if second:
            hyper[second] = np.tile(values, 4)
        optimizers.trace_batch(s, opt, s.starts[0], 500, **hyper)
    starts = np.stack(np.meshgrid(np.linspace(-5, 5, 4), np.linspace(-5, 5, 4)), -1).reshape(-1, 2)
    for opt in ("gd", "momentum"):
        optimizers.trace_batch(s, opt, starts, 500)  # basin maps vary only the start


@task("classifier")
def classifier_page() -> None:
    from ui import training_cache

    training_cache.run(training_cache.DEFAULT_DATA, training_cache.default_config())
