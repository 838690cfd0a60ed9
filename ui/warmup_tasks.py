"""The warm-up tasks: each page's default view, through the same library calls as the
page. Imported by the warm-up thread only (ui/warmup.py), never at start-up."""
from __future__ import annotations

import optimizers
import surfaces
from experiments import playground as playground_experiment
from ui.surface_view import ZOOM_GRID, critical_of, fill_of, grid_of, landscape_of


def playground() -> None:
    settings = playground_experiment.Settings()
    s = settings.surface.build()
    fill_of(s)  # its grid and the contour image drawn from it
    grid_of(s, 61)  # the 3-D view
    surfaces.evaluate_grid(s, s.domain, ZOOM_GRID)  # the step inspector's zoom (compiles its shape)
    landscape = landscape_of(s)
    playground_experiment.run(settings, landscape)  # the default race, as the page runs it
    # Then the rest of the registry (a teacher adds them in class).
    rest = tuple(k for k in optimizers.names() if k not in settings.race)
    playground_experiment.run(settings.replace(opts=rest), landscape)


def curvature() -> None:
    from experiments import curvature as curvature_experiment

    settings = curvature_experiment.Settings()
    s = settings.surface.build()
    fill_of(s)
    curvature_experiment.run(settings, s, critical_of(s))  # the default view, as the page runs it
    surfaces.evaluate_grid(s, ((-1.0, 1.0), (-1.0, 1.0)), 61)  # the model's window
    surfaces.evaluate_grid(s, ((-1.0, 1.0), (-1.0, 1.0)), ZOOM_GRID)  # the stability zoom


def sweeps_page() -> None:
    import numpy as np

    from experiments import sweeps as sweeps_experiment

    s = sweeps_experiment.Settings().surface.build()
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


def classifier_page() -> None:
    from ui import training_cache

    training_cache.run(training_cache.DEFAULT_DATA, training_cache.default_config())


def inside_page() -> None:
    """The default network's exact spectrum: compiles the Hessian program its first view needs."""
    from classifier import spectrum
    from ui import training_cache

    result = training_cache.run(training_cache.DEFAULT_DATA, training_cache.default_config())
    data, c = training_cache.dataset(training_cache.DEFAULT_DATA), result.config
    spectrum.spectrum(result.snapshots[-1], data.x_train, data.y_train, c.activation, c.loss, c.l2)


# In this order: the page most visitors open first, first.
def lessons_page() -> None:
    import lessons

    lessons.library()  # read and check every lesson file (about 3 s, once per process)


TASKS = (("playground", playground), ("curvature", curvature), ("sweeps", sweeps_page),
         ("classifier", classifier_page), ("lessons", lessons_page), ("inside", inside_page))
