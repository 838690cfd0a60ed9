"""The facts a lesson's expectations may name, per page: numbers, truths and verdicts read
off the page's own ``run(settings)`` result, so that a lesson says only what the page
shows.

``names(page, settings)`` lists the facts a step's settings make available (checked when
a lesson loads: an expectation naming anything else is refused); ``of(page, settings)``
runs the page's experiment and returns them (the test suite checks every expectation of
every step with it). No Streamlit here.

Per racer or per trained optimizer ``k`` (its registry key, e.g. ``adam``), facts are
named ``k.<fact>``; the Classifier's unprefixed facts are the run it shows. A quantity that
does not exist for a run (a step never reached, no minimum known) is +infinity, so
"reached sooner" and "ended nearer" compare sensibly.
"""
from __future__ import annotations

import functools
import math
from typing import Callable, Mapping, NamedTuple

import numpy as np

from classifier import census as census_lib
from classifier.losses import objective
from experiments import classifier as cls_page
from experiments import curvature as curv_page
from experiments import inside as inside_page
from experiments import playground as pg_page
from experiments.common import critical_points_of
from experiments.schema import Settings

Facts = dict[str, "float | bool | str"]
INF = math.inf

# The Playground's "reached" tolerance: the loss within this of L* (the lowest minimum);
# the Sweeps page's default tolerance is the same.
PLAYGROUND_TOL = 1e-3
PLAYGROUND_GRID = 121  # the plotted grid's side for L* and the blank share (the page uses its own)


class PageFacts(NamedTuple):
    settings: type[Settings]
    names: Callable[[Settings], set[str]]
    compute: Callable[[Settings], Facts]
    # A one-line description of every fact (the README's table of facts reads it).
    described: Mapping[str, str]


# ---------------------------------------------------------------------------------------
# Playground

PLAYGROUND_RACER = {
    "diverged": "true if the racer left the finite numbers",
    "diverged_at": "the step at which it diverged (inf: never)",
    "final_loss": "L at its last finite point",
    "final_gap": "L - L* at its last finite point (L*: the lowest known minimum)",
    "min_gap": "the lowest L - L* along the path",
    "final_x": "x of its last finite point", "final_y": "y of its last finite point",
    "final_distance": "distance from its last finite point to the nearest known minimum (inf: none known)",
    "steps_to_tolerance": f"first step with L - L* <= {PLAYGROUND_TOL:g} (inf: never)",
    "first_step": "length of its first update ||theta_1 - theta_0||",
    "last_step": "length of its last update",
    "max_step": "length of its longest update",
    "start_grad_norm": "gradient norm at its start point theta_0 (the one its first update used)",
    "path_length": "total length of its path",
    "learning_rate": "its learning rate eta_0",
    "max_grad_norm": "largest gradient norm it met",
    "final_grad_norm": "gradient norm at its last update",
}
PLAYGROUND_GLOBAL = {"lowest": "L*, the lowest known minimum", "racers": "how many optimizers race"}


def _playground_names(s: Settings) -> set[str]:
    return set(PLAYGROUND_GLOBAL) | {f"{k}.{f}" for k in s.race for f in PLAYGROUND_RACER}


def _playground(s: Settings) -> Facts:
    surface = s.surface.build()
    _, _, z = _grid(surface)
    landscape = pg_page.Landscape.of(surface, z, critical_points_of(surface))
    result = pg_page.run(s, landscape)
    out: Facts = {"lowest": result.lowest, "racers": len(result.traces)}
    for i, (k, t) in enumerate(result.traces.items()):
        last = t.last_valid
        gap = result.loss_gap[i][: last + 1]
        steps = np.linalg.norm(np.diff(t.points[: last + 1], axis=0), axis=1)
        grads = np.linalg.norm(t.gradients[1: last + 1], axis=1) if t.gradients is not None and last else np.zeros(1)
        reached = np.flatnonzero(gap <= PLAYGROUND_TOL)
        facts = {
            "diverged": t.diverged_at is not None,
            "diverged_at": INF if t.diverged_at is None else t.diverged_at,
            "final_loss": float(t.losses[last]), "final_gap": float(gap[-1]), "min_gap": float(np.min(gap)),
            "final_x": float(t.points[last, 0]), "final_y": float(t.points[last, 1]),
            "final_distance": INF if result.distance is None else float(result.distance[i][last]),
            "steps_to_tolerance": float(reached[0]) if reached.size else INF,
            "first_step": float(steps[0]) if steps.size else 0.0,
            "last_step": float(steps[-1]) if steps.size else 0.0,
            "max_step": float(np.max(steps)) if steps.size else 0.0,
            "start_grad_norm": float(grads[0]) if grads.size else 0.0,
            "path_length": float(np.sum(steps)),
            "learning_rate": float(s.hypers.of(k)["learning_rate"]),
            "max_grad_norm": float(np.max(grads)) if grads.size else 0.0,
            "final_grad_norm": float(grads[-1]) if grads.size else 0.0,
        }
        out.update({f"{k}.{name}": v for name, v in facts.items()})
    return out


@functools.lru_cache(maxsize=32)
def _grid(surface):
    import surfaces
    return surfaces.evaluate_grid(surface, surface.domain, PLAYGROUND_GRID)


# ---------------------------------------------------------------------------------------
# Curvature

CURVATURE_POINT = {
    "point.kind": "the second-order verdict at the probed point: minimum, maximum, saddle or degenerate",
    "point.shape": "what the Hessian says: minimum, maximum, saddle, flat (H = 0) or one_flat",
    "point.critical": "true if the gradient is (numerically) zero there",
    "point.grad_norm": "the gradient norm there",
    "point.value": "L there",
    "point.lambda_min": "the smaller Hessian eigenvalue", "point.lambda_max": "the larger Hessian eigenvalue",
    "point.zero_eigenvalues": "how many eigenvalues count as zero",
    "taylor.error_near": "largest |L - Taylor model| within a tenth of the window's half-width",
    "taylor.error_far": "largest |L - Taylor model| over the whole window",
    "newton.outcome": "how Newton's method from the point ended (reached, stopped, singular, ...)",
    "newton.end_kind": "the kind of critical point Newton reached ('' if none)",
    "newton.end_value": "L at Newton's last point",
    "critical.count": "critical points listed", "critical.minima": "minima listed",
    "critical.saddles": "saddles listed", "critical.maxima": "maxima listed",
    "critical.degenerate": "degenerate points listed",
    "stable_lr": "2 / lambda_max at the minimum nearest the point (inf: no minimum)",
    "escape.possible": "true if the point is critical with a negative eigenvalue (the escape step is offered)",
    "escape.drop": "the smaller of the two sides' falls of L along the escape direction (> 0: L fell both ways; 0 if none)",
    "escape.predicted_drop": "the fall the Hessian predicts, -1/2 lambda t^2 (0 if no escape)",
}
CURVATURE_RUN = {
    "outcome": "how GD at this multiple of 2/lambda_max ended: converges, oscillates, diverged, two_cycle, stalled",
    "diverged": "true if it diverged",
    "learning_rate": "the learning rate used",
    "max_factor": "max |1 - eta lambda_i| (the predicted contraction per step)",
    "measured": "the measured contraction per step (NaN if not measurable)",
    "end_distance": "distance of its last finite point to the minimum",
}


def _curvature_names(s: Settings) -> set[str]:
    return set(CURVATURE_POINT) | {f"gd_{m}.{f}" for m in s.multiples for f in CURVATURE_RUN}


def _curvature(s: Settings) -> Facts:
    r = curv_page.run(s)
    out: Facts = {}
    p = r.probe
    if p is not None:
        lam = np.sort(np.asarray(p.eigenvalues, float))
        out.update({"point.kind": str(p.kind), "point.shape": str(p.shape), "point.critical": bool(p.critical),
                    "point.grad_norm": float(np.linalg.norm(p.gradient)), "point.value": float(p.value),
                    "point.lambda_min": float(lam[0]), "point.lambda_max": float(lam[-1]),
                    "point.zero_eigenvalues": int(np.sum(p.zero))})
    if r.model is not None:
        m = r.model
        err = np.abs(m.f - m.q)
        xs, ys = np.meshgrid(m.xs, m.ys)
        cx, cy = r.point
        half = (m.xs[-1] - m.xs[0]) / 2
        near = np.maximum(np.abs(xs - cx), np.abs(ys - cy)) <= half / 10
        out["taylor.error_near"] = float(np.nanmax(err[near])) if near.any() else 0.0
        out["taylor.error_far"] = float(np.nanmax(err))
    if r.newton is not None:
        out["newton.outcome"] = str(r.newton.outcome)
        out["newton.end_kind"] = str(r.newton.end_kind) if r.newton.end_kind is not None else ""
        out["newton.end_value"] = float(r.surface.fn(np.asarray(r.newton.end, np.float32)))
    kinds = [str(c.kind) for c in r.critical]
    out.update({"critical.count": len(kinds), "critical.minima": kinds.count("minimum"),
                "critical.saddles": kinds.count("saddle"), "critical.maxima": kinds.count("maximum"),
                "critical.degenerate": kinds.count("degenerate")})
    e = r.escape
    out["escape.possible"] = e is not None
    out["escape.drop"] = 0.0 if e is None else float(min(-side.change for side in e.steps))
    out["escape.predicted_drop"] = 0.0 if e is None else float(-e.second_order)
    limit = r.step_limit
    out["stable_lr"] = INF if limit is None else float(limit.stable_step)
    for run in (limit.runs if limit is not None else ()):
        facts = {"outcome": str(run.outcome), "diverged": run.diverged_at is not None,
                 "learning_rate": run.learning_rate, "max_factor": float(np.max(run.factors)),
                 "measured": float(run.measured), "end_distance": float(run.end_distance)}
        out.update({f"gd_{run.multiple}.{k}": v for k, v in facts.items()})
    return out


# ---------------------------------------------------------------------------------------
# Classifier

CLASSIFIER_RUN = {
    "train_loss": "training loss at the last epoch run", "test_loss": "test loss at the last epoch run",
    "train_acc": "training accuracy at the last epoch run", "test_acc": "test accuracy at the last epoch run",
    "first_train_loss": "training loss of the initial network (epoch 0)",
    "min_test_loss": "the lowest test loss", "best_epoch": "the epoch of the lowest test loss",
    "epochs_run": "epochs trained (fewer if it stopped early or diverged)",
    "updates": "optimizer updates made: updates per epoch x epochs trained",
    "diverged": "true if the loss left the finite numbers", "early_stopped": "true if early stopping ended it",
    "outcome": "finished, diverged, early_stopped or loss_rose",
    "grad_ratio": "first layer's gradient norm / the output layer's, at epoch 0",
    "grad_first": "the first layer's gradient norm at epoch 0",
    "grad_last": "the output layer's gradient norm at epoch 0",
    "rises": "share of epochs in which the training loss went up (how noisy the curve is)",
    "acc_at_0": "test accuracy of the initial network (epoch 0)",
    "acc_at_10": "test accuracy after 10 epochs (or at the last epoch, if fewer)",
    "max_train_loss": "the highest training loss over the run",
    "acc_at_50": "test accuracy after 50 epochs (or at the last epoch, if fewer)",
    "train_test_gap": "training accuracy minus test accuracy at the last epoch",
    "sharpness": "the largest Hessian eigenvalue at the last kept network (only with sharpness on; NaN otherwise)",
}
CLASSIFIER_GLOBAL = {
    "vanishing": "true if the page reports vanishing gradients (ratio below 1e-3)",
    "overfitting": "true if the page reports overfitting (test loss up 25% from its lowest, train loss falling)",
    "gradcheck.passed": "true if every layer's relative error is below 1e-6 (gradient check on)",
    "gradcheck.worst": "the largest relative error of the gradient check (gradient check on)",
    "gradcheck.error_first": "the first layer's relative error in the gradient check (gradient check on)",
    "gradcheck.error_last": "the output layer's relative error in the gradient check (gradient check on)",
    "n_params": "the network's parameters", "layers": "hidden layers", "n_train": "training examples",
}


def _classifier_names(s: Settings) -> set[str]:
    keys = set(CLASSIFIER_RUN) | {f"{k}.{f}" for k in s.race for f in CLASSIFIER_RUN}
    keys |= {k for k in CLASSIFIER_GLOBAL if s.gradcheck or not k.startswith("gradcheck.")}
    return keys


def _run_facts(r) -> Facts:
    v = cls_page.verdict(r)
    n = len(r.train_loss)
    train = np.asarray(r.train_loss, float)
    rises = float(np.mean(np.diff(train) > 0)) if n > 1 else 0.0
    ratio = float(r.grad_norms[0, 0] / r.grad_norms[0, -1]) if r.grad_norms.shape[1] > 1 and r.grad_norms[0, -1] > 0 \
        else INF
    sharp = float(r.sharpness[-1]) if r.sharpness is not None and len(r.sharpness) else math.nan
    return {
        "train_loss": float(train[-1]), "test_loss": float(r.test_loss[-1]), "train_acc": float(r.train_acc[-1]),
        "test_acc": float(r.test_acc[-1]), "first_train_loss": float(train[0]),
        "min_test_loss": float(np.nanmin(r.test_loss)), "best_epoch": int(r.best_epoch),
        "epochs_run": int(r.epochs_run), "updates": int(r.steps_per_epoch) * int(r.epochs_run), "diverged": r.diverged_at is not None,
        "early_stopped": r.stopped_at is not None, "outcome": v.outcome.value, "grad_ratio": ratio,
        "rises": rises, "grad_first": float(r.grad_norms[0, 0]), "grad_last": float(r.grad_norms[0, -1]),
        "acc_at_0": float(r.test_acc[0]), "max_train_loss": float(np.nanmax(train)),
        "acc_at_10": float(r.test_acc[min(10, n - 1)]), "acc_at_50": float(r.test_acc[min(50, n - 1)]),
        "train_test_gap": float(r.train_acc[-1] - r.test_acc[-1]), "sharpness": sharp,
    }


def _classifier(s: Settings) -> Facts:
    result = cls_page.run(s)
    out: Facts = {}
    for k, r in result.runs.items():
        out.update({f"{k}.{name}": v for name, v in _run_facts(r).items()})
    out.update(_run_facts(result.shown_run))
    out.update({"vanishing": result.vanishing is not None, "overfitting": result.overfitting is not None,
                "n_params": result.arch.n_params, "layers": int(s.layers), "n_train": int(result.data.n_train)})
    if result.check is not None:
        out["gradcheck.passed"] = result.check.verdict is cls_page.CheckVerdict.PASSED
        out["gradcheck.worst"] = result.check.worst
        errors = np.asarray(result.check.result.rel_errors, float)
        out["gradcheck.error_first"], out["gradcheck.error_last"] = float(errors[0]), float(errors[-1])
    return out


# ---------------------------------------------------------------------------------------
# Inside the network (the facts of the view the step stages)

INSIDE_SPECTRUM = {
    "spectrum.n_params": "eigenvalues counted: the network's trainable parameters",
    "spectrum.n_negative": "eigenvalues below -tol at the epoch shown",
    "spectrum.n_flat": "eigenvalues within +-tol (zero within rounding), softmax's gauge directions included",
    "spectrum.n_gauge": "zero eigenvalues softmax's invariance puts at every point",
    "spectrum.n_positive": "eigenvalues above tol",
    "spectrum.negative_fraction": "n_negative / n_params",
    "spectrum.min_ratio": "n_positive / n_params (the lecture's minimum ratio)",
    "spectrum.top": "the largest eigenvalue",
    "spectrum.exact": "true if the whole Hessian was computed (at most 3,000 parameters)",
    "spectrum.grad_norm": "||grad J|| at the network shown",
    "spectrum.verdict": "saddle (a negative eigenvalue), degenerate (flat directions besides softmax's) or minimum",
    "evolution.top_first": "the largest eigenvalue at epoch 0 (with i.evolve)",
    "evolution.top_last": "the largest eigenvalue at the last kept epoch (with i.evolve)",
    "evolution.negative_first": "the share of negative eigenvalues at epoch 0 (with i.evolve)",
    "evolution.negative_last": "the share of negative eigenvalues at the last kept epoch (with i.evolve)",
}
INSIDE_LANDSCAPE = {
    "<net>.top": "lambda_max at the trained network (net: a, and b when comparing)",
    "<net>.rise": "mean loss rise on the circle of radius 0.25 in the filter-normalized plane",
    "<net>.center": "the slice's loss at (0, 0)",
    "<net>.trained_loss": "the training objective of the trained network",
    "<net>.slice_max": "the highest loss on the slice",
    "<net>.barrier": "the highest loss on the line between a = 0 and 1 minus the higher of its two ends (0: no bump)",
    "<net>.start_loss": "the loss at a = 0 (the initial network)",
    "<net>.end_loss": "the loss at a = 1 (the trained network)",
    "<net>.pc1": "the share of the path's variance on its first principal direction",
    "<net>.pc2": "the share on its second",
}
INSIDE_CENSUS = {
    "census.n": "networks trained", "census.converged": "networks driven to ||grad|| < 1e-6",
    "census.minimum": "converged points that are local minima", "census.saddle": "converged points that are saddles",
    "census.degenerate": "converged points the Hessian cannot tell", "census.maximum": "converged local maxima",
    "census.saddle_share": "saddles / converged", "census.max_grad": "the largest ||grad|| among converged points",
    "census.max_ratio": "the largest minimum ratio among converged points",
    "census.lowest": "the most negative eigenvalue among converged points",
}


def _inside_names(s: Settings) -> set[str]:
    view = inside_page.View(s.view)
    if view is inside_page.View.SPECTRUM:
        return {k for k in INSIDE_SPECTRUM if s.evolve or not k.startswith("evolution.")}
    if view is inside_page.View.LANDSCAPE:
        nets = ("a", "b") if inside_page.Versus(s.versus) is not inside_page.Versus.NONE else ("a",)
        return {k.replace("<net>", n) for n in nets for k in INSIDE_LANDSCAPE}
    return set(INSIDE_CENSUS)


def _inside(s: Settings) -> Facts:
    r = inside_page.run(s)
    out: Facts = {}
    if r.spectrum is not None:
        sp = r.spectrum.spectrum
        out.update({"spectrum.n_params": sp.n_params, "spectrum.n_negative": sp.n_negative,
                    "spectrum.n_flat": sp.n_flat, "spectrum.n_gauge": r.spectrum.n_gauge,
                    "spectrum.n_positive": sp.n_positive, "spectrum.negative_fraction": float(sp.negative_fraction),
                    "spectrum.min_ratio": float(sp.min_ratio), "spectrum.top": float(sp.top[0]),
                    "spectrum.exact": bool(sp.exact), "spectrum.grad_norm": r.spectrum.grad_norm,
                    "spectrum.verdict": r.spectrum.verdict})
    if r.evolution is not None:
        e = r.evolution
        out.update({"evolution.top_first": float(e.top[0, 0]), "evolution.top_last": float(e.top[-1, 0]),
                    "evolution.negative_first": float(e.negative_fraction[0]),
                    "evolution.negative_last": float(e.negative_fraction[-1])})
    for k, v in (r.landscapes or {}).items():
        alphas, losses = (np.asarray(a, float) for a in v.interpolation)
        inner = losses[(alphas >= -1e-9) & (alphas <= 1 + 1e-9)]
        ends = (float(losses[np.argmin(np.abs(alphas))]), float(losses[np.argmin(np.abs(alphas - 1))]))
        a, b, z = v.plane
        net = r.net if k == "a" else r.second
        last = net.shown_run.snapshots[-1]
        c = net.shown_run.config
        trained = float(objective(last, net.data.x_train, net.data.y_train, c.activation, c.loss, c.l2))
        out.update({f"{k}.top": v.top_eigenvalue, f"{k}.rise": float(v.flatness.rise),
                    f"{k}.center": float(z[len(b) // 2, len(a) // 2]), f"{k}.trained_loss": trained,
                    f"{k}.slice_max": float(np.nanmax(z)), f"{k}.barrier": float(inner.max() - max(ends)),
                    f"{k}.start_loss": ends[0], f"{k}.end_loss": ends[1],
                    f"{k}.pc1": float(v.trajectory.explained[0]), f"{k}.pc2": float(v.trajectory.explained[1])})
    if r.census is not None:
        c = r.census
        ok = np.flatnonzero(c.converged)
        n_ok = max(len(ok), 1)
        eig = c.eigenvalues[ok]
        out.update({"census.n": len(c.seeds), "census.converged": int(c.n_converged),
                    **{f"census.{kind.value}": c.count(kind) for kind in census_lib.KINDS},
                    "census.saddle_share": c.count(census_lib.Kind.SADDLE) / n_ok,
                    "census.max_grad": float(c.grad_norm[ok].max()) if len(ok) else INF,
                    "census.max_ratio": float(np.nanmax(c.min_ratio[ok])) if len(ok) else INF,
                    "census.lowest": float(eig.min()) if eig.size else INF})
    return out


PAGES: dict[str, PageFacts] = {
    "playground": PageFacts(pg_page.Settings, _playground_names, _playground,
                            {**PLAYGROUND_GLOBAL, **{f"<optimizer>.{k}": v for k, v in PLAYGROUND_RACER.items()}}),
    "curvature": PageFacts(curv_page.Settings, _curvature_names, _curvature,
                           {**CURVATURE_POINT, **{f"gd_<multiple>.{k}": v for k, v in CURVATURE_RUN.items()}}),
    "classifier": PageFacts(cls_page.Settings, _classifier_names, _classifier,
                            {**CLASSIFIER_GLOBAL, **CLASSIFIER_RUN,
                             **{f"<optimizer>.{k}": v for k, v in CLASSIFIER_RUN.items()}}),
    "inside": PageFacts(inside_page.Settings, _inside_names, _inside,
                        {**INSIDE_SPECTRUM, **INSIDE_LANDSCAPE, **INSIDE_CENSUS}),
}


def names(page: str, settings: Settings) -> set[str]:
    return PAGES[page].names(settings)


def of(page: str, settings: Settings) -> Facts:
    """Run the page's experiment on ``settings`` and read its facts."""
    return PAGES[page].compute(settings)
