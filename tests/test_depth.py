"""The Classifier's accuracy-against-depth experiment (experiments/depth.py) and its section."""
from __future__ import annotations

import dataclasses
import math

import pytest

from classifier import budget
from classifier import train as training
from experiments import classifier as ex
from experiments import depth
from tests.conftest import arr, chart_specs, open_page

PAGE = "pages/4_Classifier.py"


def test_plan_fits_the_budget_by_epochs_then_by_depth():
    s = ex.Settings().replace(**{"c.points": 200, "c.epochs": 300})
    data = s.data_params().make()
    # Work of one epoch of every network, by hand: 2 activations x 8 depths, each network
    # the 8 x 16 stack with its layers past the depth passing their input on.
    n_params = (2 * 16 + 16) + 7 * (16 * 16 + 16) + (16 * 2 + 2)
    per_epoch = 2 * 8 * (data.n_train * n_params + budget.EPOCH_FIXED + budget.UPDATE_FIXED
                         + budget.UPDATE_PER_PARAM * n_params)
    assert depth.plan(s, data, cap=1e15).epochs == 300 and not depth.plan(s, data, cap=1e15).cuts()
    cut = depth.plan(s, data, cap=per_epoch * 10.5)
    assert (cut.epochs, cut.depths) == (10, depth.DEPTHS)
    assert [n.key for n in cut.cuts()] == ["classifier.depth.cut_epochs"]
    assert all(c.epochs == 10 and c.n_snapshots == 2 for _, _, c in cut.configs)
    tiny = depth.plan(s, data, cap=per_epoch / 3)  # not even one epoch of all eight depths
    assert tiny.epochs >= 1 and tiny.depths[-1] < 8 and tiny.depths == depth.DEPTHS[:len(tiny.depths)]
    assert [n.key for n in tiny.cuts()][-1] == "classifier.depth.cut_depths"
    with pytest.raises(ValueError, match="depths"):
        depth.plan(s, data, depths=(0, 9))


def test_pairs_use_the_initialization_made_for_each_activation():
    s = ex.Settings().replace(**{"c.points": 100, "c.width": 8})
    p = depth.plan(s, s.data_params().make(), depths=(1, 3))
    assert [(a, d, c.activation, c.init, c.hidden, c.depth) for a, d, c in p.configs] == [
        ("sigmoid", 1, "sigmoid", "xavier", (8, 8, 8), 1), ("sigmoid", 3, "sigmoid", "xavier", (8, 8, 8), 3),
        ("relu", 1, "relu", "he", (8, 8, 8), 1), ("relu", 3, "relu", "he", (8, 8, 8), 3)]


def test_deep_sigmoid_falls_behind_deep_relu():
    # Two moons, 200 points, Adam (η 0.01), 150 full-batch epochs, seed 0: eight sigmoid
    # layers end near 85 % test accuracy, eight ReLU layers near 97 %.
    s = ex.Settings().replace(**{"c.points": 200, "c.epochs": 150})
    seen = []
    before = training._programs.cache_info().misses
    p, r = depth.run(s, depths=(1, 8), report=lambda f, n: seen.append((f, n.key)))
    # One program per activation, shared by both depths (at most two new ones: another
    # test of this process may have compiled them already).
    assert training._programs.cache_info().misses - before <= 2
    assert r.depths == (1, 8) and r.epochs == 150 and math.isclose(r.chance, 0.5)
    assert set(r.test_acc) == {"sigmoid", "relu"} and all(len(v) == 2 for v in r.test_acc.values())
    assert all(0.0 <= a <= 1.0 for v in r.test_acc.values() for a in v)
    assert r.test_acc["sigmoid"][-1] < r.test_acc["relu"][-1]
    assert r.test_acc["relu"][-1] > 0.9
    assert [f for f, _ in seen] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_toggle_draws_the_depth_chart():
    # The sweep's two programs compile once in this process first, so the page's run (same
    # process, same shapes) stays within the AppTest timeout on a busy machine.
    depth.run(ex.Settings().replace(**{"c.points": 60, "c.epochs": 5}))
    at = open_page(PAGE, {"c.points": "60", "c.epochs": "5"}, timeout=120)
    at.run()
    assert not at.exception
    assert not any("hidden layers" in str(s.get("layout", {}).get("xaxis", {})) for s in chart_specs(at))
    at.toggle(key="c.depth").set_value(True).run()
    assert not at.exception
    spec = next(s for s in chart_specs(at) if any(t.get("name", "").startswith("ReLU") for t in s["data"]))
    lines = {t["name"]: arr(t["y"]) for t in spec["data"]}
    assert set(lines) == {"sigmoid (Xavier)", "ReLU (He)"}
    assert all(len(v) == 8 for v in lines.values())
    assert at.query_params["c.depth"] == "1"  # in the address, so a link opens it on


def test_parameter_count_includes_batch_norms_gamma_and_beta():
    import jax

    from classifier import model as mlp

    plain = ex.Settings().replace(**{"c.layers": 3, "c.width": 5}).architecture()
    bn = ex.Settings().replace(**{"c.layers": 3, "c.width": 5, "c.bn": True}).architecture()
    by_hand = (2 * 5 + 5) + 2 * (5 * 5 + 5) + (5 * 2 + 2)  # 87 weights and biases
    assert plain.n_params == by_hand and bn.n_params == by_hand + 2 * 3 * 5  # gamma and beta per unit
    params = mlp.init_params(jax.random.PRNGKey(0), bn, "xavier", batch_norm=True)
    learnt = sum(v.size for layer in params for k, v in layer.items() if k in ("w", "b", "gamma", "beta"))
    assert learnt == bn.n_params


def test_a_masked_stack_is_exactly_the_shallower_network():
    """The first ``depth`` hidden layers and the output layer of an 8-layer stack, run with
    ``depth``, give the logits of the network made of those layers alone (so a masked
    network is that network); training leaves the layers past the depth as they were."""
    import jax
    import numpy as np

    from classifier import model as mlp

    arch = mlp.Architecture((8,) * 8, "sigmoid")
    params = mlp.init_params(jax.random.key(3), arch, "xavier")
    x = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    for d in (1, 3, 8):
        alone = params[:d] + params[-1:]
        np.testing.assert_array_equal(np.asarray(mlp.forward(params, x, "sigmoid", depth=d)),
                                      np.asarray(mlp.forward(alone, x, "sigmoid")))
    s = ex.Settings().replace(**{"c.points": 100, "c.epochs": 20, "c.width": 8})
    config = dataclasses.replace(depth.plan(s, s.data_params().make(), depths=(2, 8)).configs[0][2], l2=0.0)
    assert config.depth == 2 and config.hidden == (8,) * 8
    result = training.train(s.data_params().make(), config)
    first, last = result.snapshots[0], result.snapshots[-1]
    for i in range(2, 8):  # hidden layers 3..8: inactive at depth 2
        np.testing.assert_array_equal(first[i]["w"], last[i]["w"])
    assert not np.array_equal(first[1]["w"], last[1]["w"]) and not np.array_equal(first[-1]["w"], last[-1]["w"])
    with pytest.raises(ValueError, match="depth"):
        training.TrainConfig(hidden=(8, 16), depth=1).validate()
