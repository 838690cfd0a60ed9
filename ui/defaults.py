"""Default views of the pages, shared by the pages and the start-up warm-up."""
from __future__ import annotations

PLAYGROUND_SURFACE = "rosenbrock"
PLAYGROUND_RACE = ["gd", "momentum", "rmsprop", "adam"]
PLAYGROUND_STEPS = 500
# Learning rates that make a good race on the default surface (Rosenbrock, 500 steps).
PLAYGROUND_LR = {
    "gd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 0.5, "rmsprop": 0.01,
    "adam": 0.05, "adamw": 0.05, "amsgrad": 0.05, "nadam": 0.05, "radam": 1e-3,
}
