"""Work budgets per page run (classifier/budget.py, optimizers/budget.py): pure arithmetic,
no Streamlit. The heaviest requests the pages accept are cut to fit the cap; defaults are
not cut; work already done (cached runs) is free."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import optimizers
import surfaces
from classifier import budget as cb
from classifier import datasets
from classifier import model as mlp
from classifier.train import MAX_EPOCHS, snapshot_plan
from experiments.classifier import MAX_UPDATES  # the cap on updates per run the Classifier page applies
from optimizers import budget as ob
from optimizers import sweeps

# The Classifier page's largest network and data set: 8 x 64 ReLU, 5,000 points with the
# smallest test share (0.1), so 4,500 training points.
BIG = mlp.Architecture((mlp.MAX_WIDTH,) * mlp.MAX_HIDDEN_LAYERS, "relu", 2, 3)
N_TRAIN = int(datasets.MAX_POINTS * 0.9)
N_OPTIMIZERS = len(optimizers.names())


def big_shape(batch: int | None) -> cb.TrainShape:
    steps = 1 if batch is None else -(-N_TRAIN // batch)
    return cb.TrainShape(N_TRAIN, BIG.n_params, BIG.n_layers, steps)


def asked_epochs(shape: cb.TrainShape) -> int:
    return min(MAX_EPOCHS, max(1, MAX_UPDATES // shape.steps_per_epoch))


def page_run_work(shape: cb.TrainShape, plan: cb.TrainingPlan) -> float:
    """Everything a plan costs: compiling, its runs, and the gradient check's share if it fits."""
    return (cb.compile_work(shape) + plan.runs * cb.run_work(shape, plan.epochs, plan.n_snapshots, plan.sharpness)
            + (cb.gradcheck_share(shape) if plan.gradcheck else 0.0))


@pytest.mark.parametrize("batch,sharpness,runs", list(itertools.product((1, 2, 32, 512, None), (False, True),
                                                                       (1, 3, N_OPTIMIZERS))))
def test_the_heaviest_training_requests_are_cut_to_the_cap(batch, sharpness, runs):
    shape = big_shape(batch)
    request = cb.TrainingRequest(shape, asked_epochs(shape), 51, sharpness, runs)
    plan = cb.plan_training(request)
    assert plan.cut and plan.asked_runs == runs
    assert plan.work == pytest.approx(plan.runs * cb.run_work(shape, plan.epochs, plan.n_snapshots, plan.sharpness))
    assert 1 <= plan.epochs <= request.epochs and 1 <= plan.runs <= runs
    smallest = plan.runs == 1 and plan.epochs == 1 and not plan.sharpness and not plan.gradcheck
    # Within the cap, or (compiling alone nearly fills it) the least a page run can train.
    assert page_run_work(shape, plan) <= cb.CLASSIFIER_CAP or smallest
    # Fewer runs only when not even one epoch of every run fits.
    assert plan.runs == runs or plan.epochs == 1
    # The cap is not wasted either: one more epoch per run, or one more run, would not have fitted.
    if not plan.sharpness and not smallest:
        more = plan._replace(epochs=plan.epochs + 1) if plan.runs == runs else plan._replace(runs=plan.runs + 1)
        assert page_run_work(shape, more) > cb.CLASSIFIER_CAP


def test_the_compare_everything_request_of_the_security_report():
    """5,000 points, 8 x 64 ReLU, SGD, 2,000 epochs, every optimizer, sharpness, gradient
    check: 130-306 s before any budget, 16.8 s with a budget that did not count compiling
    (ten runs of one epoch and the gradient check). Compiling a mini-batch program for 8
    hidden layers nearly fills the cap, so one optimizer trains one epoch, without
    sharpness or the gradient check."""
    shape = big_shape(1)
    plan = cb.plan_training(cb.TrainingRequest(shape, asked_epochs(shape), 51, True, N_OPTIMIZERS))
    assert plan.cut_runs and plan.dropped_sharpness and not plan.sharpness and not plan.gradcheck
    assert (plan.runs, plan.epochs) == (1, 1)
    seconds = page_run_work(shape, plan) / cb.UNITS_PER_CPU_SECOND
    assert seconds <= cb.SECONDS + 1.0


def test_compiling_is_set_aside_before_the_epochs():
    """A full-batch request given exactly the room for compiling, the gradient check and
    ten epochs of each run gets ten epochs, whatever it asked beyond."""
    shape = big_shape(None)
    runs = 3
    cap = cb.compile_work(shape) + cb.gradcheck_share(shape) + runs * 10.5 * cb.epoch_work(shape)
    plan = cb.plan_training(cb.TrainingRequest(shape, 500, 51, False, runs), cap=cap)
    assert (plan.epochs, plan.runs, plan.gradcheck) == (10, runs, True) and plan.cut_epochs
    uncounted = cb.plan_training(cb.TrainingRequest(shape, 500, 51, False, runs), cap=cap - cb.compile_work(shape))
    assert uncounted.epochs < 10  # the same cap without room for compiling trains less


def test_the_gradient_check_gives_way_only_to_the_least_training():
    """Its share is set aside whenever it fits next to compiling and one epoch of one run
    (so turning it on changes no run), and not otherwise."""
    shape = big_shape(32)
    least = cb.compile_work(shape) + cb.epoch_work(shape)
    fits = cb.plan_training(cb.TrainingRequest(shape, 500, 51, False, 4), cap=least + cb.gradcheck_share(shape))
    short = cb.plan_training(cb.TrainingRequest(shape, 500, 51, False, 4), cap=least + cb.gradcheck_share(shape) * 0.9)
    assert fits.gradcheck and (fits.runs, fits.epochs) == (1, 1)
    assert not short.gradcheck and short.runs >= 1


def test_a_default_request_is_not_cut():
    default = mlp.Architecture((16, 16), "tanh", 2, 2)
    shape = cb.TrainShape(280, default.n_params, default.n_layers, 1)
    for runs, sharpness in ((1, False), (3, False), (1, True)):
        plan = cb.plan_training(cb.TrainingRequest(shape, 200, 51, sharpness, runs))
        assert not plan.cut and (plan.epochs, plan.n_snapshots, plan.sharpness) == (200, 51, sharpness)


def test_cached_runs_are_not_counted():
    shape = big_shape(None)
    room = cb.CLASSIFIER_CAP - cb.compile_work(shape) - cb.gradcheck_share(shape)
    epochs = int(0.5 * room // cb.epoch_work(shape))  # one run fills half the room
    per_run = cb.run_work(shape, epochs, 51, False)
    runs = 10
    assert runs * per_run > room > per_run  # ten do not fit, one does
    nothing_cached = cb.plan_training(cb.TrainingRequest(shape, epochs, 51, False, runs, cached=0))
    nine_cached = cb.plan_training(cb.TrainingRequest(shape, epochs, 51, False, runs, cached=9))
    all_cached = cb.plan_training(cb.TrainingRequest(shape, epochs, 51, False, runs, cached=10))
    assert nothing_cached.cut
    assert not nine_cached.cut and nine_cached.work == pytest.approx(per_run)
    assert not all_cached.cut and all_cached.work == 0


def test_a_cut_plan_does_not_depend_on_what_is_cached():
    """After a cut, the runs are cached with the cut settings, not the asked ones: the next
    page run must arrive at the same cut (and find its runs cached), not a different one."""
    shape = big_shape(32)
    plans = {cb.plan_training(cb.TrainingRequest(shape, 2000, 51, False, 5, cached=c)) for c in range(4)}
    assert len(plans) == 1 and next(iter(plans)).cut


def test_sharpness_gives_way_to_fewer_kept_networks_before_it_is_dropped():
    medium = mlp.Architecture((32, 32), "tanh", 2, 2)
    shape = cb.TrainShape(3500, medium.n_params, medium.n_layers, 1)
    plan = cb.plan_training(cb.TrainingRequest(shape, 2000, 51, True, 5))
    assert plan.sharpness and plan.cut_snapshots
    assert cb.MIN_SNAPSHOTS <= plan.n_snapshots < 51
    estimates = cb.sharpness_estimates(plan.epochs, plan.n_snapshots)
    assert estimates == len(snapshot_plan(plan.epochs, plan.n_snapshots))  # as training keeps them
    assert page_run_work(shape, plan) <= cb.CLASSIFIER_CAP


def test_epoch_work_counts_updates_and_mini_batch_passes():
    full, mini, sgd = big_shape(None), big_shape(32), big_shape(1)
    per_update = cb.UPDATE_FIXED + cb.UPDATE_PER_PARAM * BIG.n_params
    assert cb.epoch_work(full) == pytest.approx(N_TRAIN * BIG.n_params + cb.EPOCH_FIXED + per_update)
    assert cb.epoch_work(mini) == pytest.approx(2 * N_TRAIN * BIG.n_params + cb.EPOCH_FIXED + 141 * per_update)
    assert cb.epoch_work(full) < cb.epoch_work(mini) < cb.epoch_work(sgd)
    assert cb.epoch_work(sgd) - cb.epoch_work(mini) == pytest.approx((sgd.steps_per_epoch - mini.steps_per_epoch)
                                                                     * per_update)


# ---------------------------------------------------------------------------------------
# Sweeps

def heavy_surface():
    """A sum of 13 sines, as a user could type it (the dearest step per formula that
    surfaces/cost.py accepts), as a plain function so the formula limits do not matter here."""
    import jax.numpy as jnp

    def f(p):
        return sum(jnp.sin(i * p[0] + (i + 1) * p[1]) for i in range(1, 14))

    return f


def test_step_weight_follows_the_cost_of_the_surface():
    himmelblau = ob.step_weight(surfaces.get("himmelblau"))
    assert 1.0 < himmelblau < 3.0  # a cheap surface: about 2 units a step
    assert ob.step_weight(surfaces.get("himmelblau")) == himmelblau  # cached, deterministic
    assert ob.step_weight(surfaces.get("rastrigin")) > 2 * himmelblau  # its cosines
    assert ob.step_weight(heavy_surface()) > 20 * himmelblau


@pytest.mark.parametrize("surface", ["himmelblau", "goldstein_price", "heavy"])
def test_the_heaviest_sweeps_requests_fit_the_cap(surface):
    s = heavy_surface() if surface == "heavy" else surfaces.get(surface)
    w = ob.step_weight(s)
    steps = optimizers.MAX_STEPS
    requests = {  # sides, repeats, floors: what pages/3_Sweeps.py asks for at every cap
        "sweep": ((sweeps.MAX_SWEEP_SIDE, sweeps.MAX_SWEEP_SIDE), 1, (16, 16)),
        "basins": ((sweeps.MAX_BASIN_SIDE, sweeps.MAX_BASIN_SIDE), 2, (50, 50)),
        "race": ((sweeps.MAX_RACE_RATES,), N_OPTIMIZERS, (16,)),
    }
    for name, (sides, repeats, floors) in requests.items():
        plan = ob.plan_grid(sides, repeats, steps, w, floors)
        assert plan.work == pytest.approx(ob.grid_work(plan.sides, repeats, plan.steps, w))
        assert plan.work <= ob.SWEEPS_CAP, name
        assert all(f <= n <= s for n, s, f in zip(plan.sides, sides, floors)), name
        assert plan.cut == (ob.grid_work(sides, repeats, steps, w) > ob.SWEEPS_CAP)
        if plan.cut_steps:  # steps give way only once the grid is at its floor
            assert plan.sides == tuple(floors), name


def test_the_sweeps_defaults_are_not_cut():
    w = ob.step_weight(surfaces.get("himmelblau"))
    assert not ob.plan_grid((32, 32), 1, 500, w, (16, 16)).cut  # the sweep map
    assert not ob.plan_grid((100, 100), 2, 500, w, (50, 50)).cut  # basins
    assert not ob.plan_grid((41,), 4, 500, w, (16,)).cut  # the race


def test_a_grid_shrinks_evenly_and_keeps_what_fits():
    plan = ob.plan_grid((200, 200), 2, 5000, 100.0, (50, 50), cap=1e9)
    assert plan.sides[0] == plan.sides[1] and plan.cut_sides
    small = ob.plan_grid((20, 20), 1, 100, 1.0, (50, 50), cap=1e9)
    assert small == ob.GridPlan((20, 20), 100, 40_000.0, False, False)


@pytest.mark.parametrize("steps,weight", [(1, 1.0), (500, 1.7), (5000, 1.7), (5000, 90.0), (5000, 1e6)])
def test_chunks_are_powers_of_two_within_bounds(steps, weight):
    n = ob.chunk_runs(steps, weight)
    assert ob.MIN_CHUNK <= n <= ob.MAX_CHUNK and n & (n - 1) == 0
    assert n == ob.MIN_CHUNK or n * steps * weight <= ob.CHUNK_UNITS
    assert n == ob.MAX_CHUNK or 2 * n * steps * weight > ob.CHUNK_UNITS


def test_runs_in_chunks_match_one_call():
    s = surfaces.get("himmelblau")
    minima = np.array([m.point for m in s.minima])
    values = np.zeros(len(minima))
    whole = sweeps.basins(s, "adam", s.domain, 23, 200, minima, values, radius=0.1, loss_tol=0.01, learning_rate=0.05)
    seen: list[tuple[int, int]] = []
    parts = sweeps.basins(s, "adam", s.domain, 23, 200, minima, values, radius=0.1, loss_tol=0.01, learning_rate=0.05,
                          chunk=64, progress=lambda done, total: seen.append((done, total)))
    np.testing.assert_array_equal(whole.labels, parts.labels)
    np.testing.assert_allclose(whole.batch.final_points, parts.batch.final_points)
    assert seen == [(min(i + 64, 529), 529) for i in range(0, 529, 64)]
    lrs, betas = sweeps.axis_values(1e-3, 1.0, 9, True), np.linspace(0.0, 0.9, 5)
    one = sweeps.sweep(s, "momentum", (0.5, 0.5), 300, lrs, "momentum", betas, tol=1e-3)
    chunked = sweeps.sweep(s, "momentum", (0.5, 0.5), 300, lrs, "momentum", betas, tol=1e-3, chunk=16,
                           progress=lambda done, total: None)
    np.testing.assert_array_equal(one.hit_at, chunked.hit_at)
    assert math.isclose(float(np.nansum(one.final_losses)), float(np.nansum(chunked.final_losses)), rel_tol=1e-6)


def test_the_gradient_check_of_a_deep_network_stays_within_its_share():
    """8 x 64: 64 coordinates in each of 9 layers would cost four times the 4 x 64 check."""
    assert cb.gradcheck_coords_per_layer(BIG.n_layers, BIG.n_params) < cb.GRADCHECK_COORDS_PER_LAYER
    assert cb.gradcheck_work(big_shape(None)) <= cb.GRADCHECK_MAX_WORK
    four = mlp.Architecture((64,) * 4, "relu", 2, 3)
    assert cb.gradcheck_coords_per_layer(four.n_layers, four.n_params) == 64  # as before for 4 x 64
    assert cb.gradcheck_coords_per_layer(3, 354) == 64
