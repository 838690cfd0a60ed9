"""Classifier figures: the traces each builder must draw, carrying the data it was given."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from charts import classifier as charts
from classifier.train import TrainConfig, TrainResult


def fake_result(optimizer: str = "adam", epochs: int = 10, layers: int = 3, sharpness: bool = True,
                diverged_at: int | None = None, shift: float = 0.0) -> TrainResult:
    e = np.arange(epochs + 1)
    snaps = np.array([0, epochs // 2, epochs])
    return TrainResult(
        config=TrainConfig(optimizer=optimizer),
        layer_names=tuple(f"layer {i + 1}" for i in range(layers)),
        epoch=e,
        train_loss=1.0 / (1 + e) + shift,
        test_loss=1.2 / (1 + e) + shift,
        train_acc=np.linspace(0.5, 0.99, epochs + 1),
        test_acc=np.linspace(0.5, 0.95, epochs + 1),
        grad_norms=np.outer(1.0 / (1 + e), 10.0 ** np.arange(layers)),
        learning_rate=0.01 * 0.5 ** (e // 4),
        snapshot_epochs=snaps,
        snapshots=tuple([] for _ in snaps),
        sharpness=np.array([1.0, 5.0, 20.0]) if sharpness else None,
        status="diverged" if diverged_at else "finished",
        diverged_at=diverged_at,
        stopped_at=None,
        best_epoch=epochs,
        steps_per_epoch=1,
    )


def test_curves_one_run_four_traces_on_two_panels():
    r = fake_result()
    fig = charts.curves_figure(r)
    assert isinstance(fig, go.Figure) and len(fig.data) == 4
    names = [t.name for t in fig.data]
    assert names == ["adam · train", "adam · test", "adam · train", "adam · test"]
    np.testing.assert_array_equal(fig.data[1].y, r.test_loss)
    np.testing.assert_array_equal(fig.data[2].y, r.train_acc)
    assert fig.data[0].xaxis == "x" and fig.data[2].xaxis == "x2"
    assert fig.data[1].line.dash == "dash" and fig.data[0].line.dash == "solid"


def test_curves_compare_mode_one_colour_per_optimizer():
    runs = {"gd": fake_result("gd", diverged_at=7), "adam": fake_result("adam", shift=0.1)}
    fig = charts.curves_figure(runs)
    assert len(fig.data) == 8
    assert {t.line.color for t in fig.data[:4]} != {t.line.color for t in fig.data[4:]}
    assert len({t.line.color for t in fig.data[:4]}) == 1
    assert "diverged at epoch 7" in fig.data[0].name
    np.testing.assert_allclose(fig.data[4].y, runs["adam"].train_loss)
    # The legend sits on the figure's bottom edge: Plotly then reserves room for it below
    # the x-axis titles, however many rows ten optimizers' entries wrap to.
    legend = fig.layout.legend
    assert (legend.yref, legend.yanchor, legend.y, legend.orientation) == ("container", "bottom", 0, "h")


def _grid(n_classes: int):
    xs, ys = np.linspace(-2, 2, 30), np.linspace(-1, 1, 20)
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((20, 30, n_classes))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    x = rng.standard_normal((50, 2))
    y = np.arange(50) % n_classes
    return xs, ys, probs, x, y


def test_decision_boundary_two_classes():
    xs, ys, probs, x, y = _grid(2)
    fig = charts.decision_boundary_figure(xs, ys, probs, x[:30], y[:30], x[30:], y[30:])
    kinds = [type(t).__name__ for t in fig.data]
    assert kinds == ["Contour", "Scatter", "Scatter", "Scatter", "Scatter", "Scatter"]
    # P(class 1) to the hover's three decimals, coloured as a heatmap, one line at P = 0.5.
    np.testing.assert_array_equal(fig.data[0].z, np.round(probs[..., 1], 3))
    contours = fig.data[0].contours
    assert (contours.start, contours.end, contours.coloring) == (0.5, 0.5, "heatmap")
    assert fig.data[1].name == "boundary (P = 0.5)" and fig.data[1].line.color == "black"  # the line's legend entry
    assert [t.name for t in fig.data[2:]] == ["train class 0", "train class 1", "test class 0", "test class 1"]
    assert len(fig.data[2].x) == np.sum(y[:30] == 0) and fig.data[4].marker.symbol == "circle-open"


def test_decision_boundary_three_classes_argmax_with_confidence():
    xs, ys, probs, x, y = _grid(3)
    fig = charts.decision_boundary_figure(xs, ys, probs, x, y)
    assert [type(t).__name__ for t in fig.data] == ["Heatmap"] + ["Scatter"] * 3
    z = np.asarray(fig.data[0].z)
    np.testing.assert_array_equal(np.floor(z), np.argmax(probs, axis=-1))
    confident = np.unravel_index(np.argmax(probs.max(-1)), probs.shape[:2])
    doubtful = np.unravel_index(np.argmin(probs.max(-1)), probs.shape[:2])
    assert z[confident] % 1 > z[doubtful] % 1  # stronger colour where the winner is surer


def test_gradient_norms_log_axis_one_trace_per_layer():
    r = fake_result(layers=4)
    g = r.grad_norms.copy()
    g[3, 0] = 0.0
    fig = charts.gradient_norms_figure(r.epoch, g, r.layer_names)
    assert len(fig.data) == 4 and fig.layout.yaxis.type == "log"
    assert [t.name for t in fig.data] == ["layer 1", "layer 2", "layer 3", "layer 4 (output)"]
    assert np.isnan(fig.data[0].y[3])  # a zero norm is a gap on a log axis
    np.testing.assert_allclose(fig.data[2].y, r.grad_norms[:, 2])


def test_sharpness_with_two_over_eta_line():
    runs = {"gd": fake_result("gd"), "adam": fake_result("adam", sharpness=False)}
    fig = charts.sharpness_figure(runs)
    assert len(fig.data) == 2 and fig.layout.yaxis.type == "log"  # adam has no record: skipped
    np.testing.assert_array_equal(fig.data[0].x, runs["gd"].snapshot_epochs)
    np.testing.assert_allclose(fig.data[0].y, runs["gd"].sharpness)
    np.testing.assert_allclose(fig.data[1].y, 2.0 / runs["gd"].learning_rate)
    assert fig.data[1].line.dash == "dash"


@pytest.mark.parametrize("threshold", [1e-6, 1e-3])
def test_gradcheck_bars(threshold):
    errors = [1e-9, 0.0, 1e-4]
    fig = charts.gradcheck_figure(["layer 1", "layer 2", "layer 3 (output)"], errors, threshold=threshold)
    assert len(fig.data) == 1 and isinstance(fig.data[0], go.Bar) and fig.layout.yaxis.type == "log"
    assert fig.data[0].y[1] == charts.LOG_FLOOR
    colors = list(fig.data[0].marker.color)
    assert colors[0] == colors[1] == "#2ca02c"
    assert colors[2] == ("#d62728" if threshold < 1e-4 else "#2ca02c")
    assert any(shape.y0 == threshold for shape in fig.layout.shapes)
