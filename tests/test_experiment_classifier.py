"""experiments.classifier in plain pytest: the page's settings, its plan under the work
budget, and runs checked against known truths (no Streamlit)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import catalog
from classifier import budget, datasets
from classifier import model as mlp
from classifier.train import MAX_EPOCHS
from experiments import classifier as ex
from experiments.schema import Notice

# An address the page wrote before its settings moved to experiments/classifier.py.
OLD_URL = {"c.compare": "1", "c.opts": "gd,adam,rmsprop", "c.show": "adam", "c.seed": "7", "c.data": "spirals",
           "c.classes": "3", "c.batch": "mini", "c.bs": "64", "c.act": "relu", "c.init": "he", "c.l2": "0.001",
           "c.epochs": "300", "c.at": "20", "gd.learning_rate": "0.2", "sched": "cosine", "c.sharp": "1"}


def moons(**values) -> ex.Settings:
    return ex.Settings().replace(**values)


def test_defaults_are_the_pages_and_make_a_bare_address():
    s = ex.Settings()
    assert (s.data, s.points, s.noise, s.test_share, s.layers, s.width, s.activation, s.optimizer, s.epochs) == (
        "moons", 400, 0.15, 0.3, 2, 16, "tanh", "adam", 200)
    assert s.hypers.of("adam")["learning_rate"] == 0.01 and s.hypers.of("gd")["learning_rate"] == 0.5
    assert s.compared == ("gd", "momentum", "adam") and s.show is None and s.at is None
    assert s.to_query() == {} and s.race == ("adam",) and s.batch is None


def test_an_old_url_round_trips():
    s, notices = ex.Settings.from_query(OLD_URL)
    assert notices == []
    assert s.race == ("gd", "adam", "rmsprop") and s.comparing and s.show == "adam" and s.batch == 64
    assert s.hypers.of("gd")["learning_rate"] == 0.2 and s.schedule.config().kind == "cosine" and s.at == 20
    assert s.to_query() == OLD_URL
    assert ex.Settings.from_query(s.to_query())[0] == s


def test_junk_in_the_url_becomes_notices_and_defaults():
    s, notices = ex.Settings.from_query({"c.epochs": "lots", "c.layers": "9", "c.data": "nowhere", "hack": "1"})
    assert (s.epochs, s.layers, s.data) == (200, mlp.MAX_HIDDEN_LAYERS, "moons")
    assert [n.key for n in notices] == ["url.ignored", "url.above", "url.ignored", "url.unknown"]


@pytest.mark.parametrize("values,key,fixed", [
    ({"c.classes": 3}, "classifier.notice.classes", {"c.classes": 2}),  # two moons come in two classes
    ({"c.l2": 1e-6}, "classifier.notice.l2_off", {"c.l2": 0.0}),
    ({"c.batch": "mini", "c.bs": 100}, "classifier.notice.batch_size", {"c.bs": 128}),
    ({"c.compare": True, "c.opts": ("gd", "adam"), "c.show": "nadam"}, "classifier.notice.show", {"c.show": "gd"}),
])
def test_settle_replaces_what_other_settings_rule_out(values, key, fixed):
    settled, notices = ex.settle(moons(**values))
    assert [n.key for n in notices] == [key]
    assert all(settled.values()[k] == v for k, v in fixed.items())
    assert ex.settle(settled) == (settled, [])  # idempotent


def test_settle_leaves_valid_settings_alone():
    s = moons(**{"c.data": "spirals", "c.classes": 3, "c.batch": "mini", "c.bs": 64, "c.l2": 1e-5})
    assert ex.settle(s) == (s, [])
    assert ex.settle(moons(**{"c.compare": True, "c.opts": ("gd", "adam")}))[0].show == "gd"  # no notice: unset


def test_the_nearest_kept_epoch_is_shown():
    assert ex.epoch_shown(7, (0, 4, 8, 12)) == (8, Notice("classifier.notice.epoch", {"asked": 7, "used": 8}))
    assert ex.epoch_shown(None, (0, 4, 8)) == (8, None) and ex.epoch_shown(4, (0, 4, 8)) == (4, None)


def heaviest() -> ex.Settings:
    """Every cap at once: the most points, the widest and deepest network, mini-batches of
    2, the most epochs, every optimizer compared, sharpness on."""
    return ex.Settings().replace(**{
        "c.points": datasets.MAX_POINTS, "c.test": 0.1, "c.layers": mlp.MAX_HIDDEN_LAYERS, "c.width": mlp.MAX_WIDTH,
        "c.act": "relu", "c.batch": "mini", "c.bs": 2, "c.epochs": MAX_EPOCHS, "c.compare": True,
        "c.opts": ex.NAMES, "c.sharp": True})


def test_the_budget_cuts_the_heaviest_request_and_says_so():
    """Compiling a mini-batch program of 8 hidden layers nearly fills the budget: the first
    optimizer of the ten trains one epoch, and the page says so, sentence by sentence."""
    s = heaviest()
    data = ex.UNCACHED.dataset(s.data_params())
    plan = ex.plan(s, data, lambda p, c: False)
    assert plan.budget.cut_runs and plan.epochs == 1 < plan.epochs_asked <= MAX_EPOCHS
    assert plan.race == ex.NAMES[: plan.budget.runs] and set(plan.configs) == set(plan.race)
    assert plan.epochs_asked == ex.MAX_UPDATES // plan.steps_per_epoch  # the cap on updates came first
    assert all(c.epochs == plan.epochs for c in plan.configs.values())  # a fair comparison: the same for all
    said = plan.cuts()
    assert said[0] == Notice("classifier.budget.asked_many_sharp", {
        "runs": len(ex.NAMES), "epochs": plan.epochs_asked, "params": s.architecture().n_params,
        "points": data.n_train})
    assert Notice("classifier.budget.cut_runs_one", {"kept": 1, "asked": len(ex.NAMES)}) in said
    assert said[-1].key == "classifier.budget.remedy_many_sharp"
    for lang, sentence in (("en", "So only the first of the 10 optimizers trains, for one epoch."),
                           ("zh", "因此 10 个优化器中只训练第一个，而且只训练一轮。")):
        catalog.set_language(lang)
        try:
            text = " ".join(catalog.t(n.key, **n.params) for n in said)
        finally:
            catalog.set_language("en")
        assert sentence in text
    assert plan.update_cap() is None  # the budget said why; the cap on updates is not repeated


def test_fewer_optimizers_train_when_not_one_epoch_of_each_fits_and_the_check_is_then_left_out():
    """2 x 64 ReLU on 4,500 points with SGD: compiling, the gradient check and one epoch of
    a few optimizers fit, of all ten do not. The first few train; turning the check off
    changes no run (its share is set aside either way)."""
    s = ex.Settings().replace(**{"c.points": datasets.MAX_POINTS, "c.test": 0.1, "c.layers": 2, "c.width": 64,
                                 "c.act": "relu", "c.init": "he", "c.batch": "sgd", "c.compare": True,
                                 "c.opts": ex.NAMES, "c.gc": True})
    data = ex.UNCACHED.dataset(s.data_params())
    arch = s.architecture()
    shape = budget.TrainShape(data.n_train, arch.n_params, arch.n_layers, data.n_train)
    room = budget.CLASSIFIER_CAP - budget.compile_work(shape) - budget.gradcheck_share(shape)
    kept = int(room // budget.epoch_work(shape))
    assert 1 < kept < len(ex.NAMES)
    plan = ex.plan(s, data, lambda p, c: False)
    assert plan.race == ex.NAMES[:kept] and plan.epochs == 1 and plan.gradcheck
    assert Notice("classifier.budget.cut_runs_many", {"kept": kept, "asked": len(ex.NAMES)}) \
        in plan.cuts()
    off = ex.plan(s.replace(**{"c.gc": False}), data, lambda p, c: False)
    assert off.configs == plan.configs  # turning the check on changed no run


def test_defaults_are_not_cut_and_cached_runs_are_free():
    s = ex.Settings()
    data = ex.UNCACHED.dataset(s.data_params())
    plan = ex.plan(s, data, lambda p, c: False)
    assert not plan.budget.cut and plan.cuts() == [] and plan.epochs == 200
    assert ex.plan(s, data, lambda p, c: True).budget.work == 0.0
    assert plan.configs["adam"] == ex.default_run()[1]  # what the warm-up trains is what the page asks


def test_sgd_on_many_points_is_capped_in_updates():
    s = moons(**{"c.batch": "sgd", "c.points": 1000, "c.test": 0.5, "c.epochs": 2000})
    plan = ex.plan(s, ex.UNCACHED.dataset(s.data_params()), lambda p, c: False)
    assert plan.steps_per_epoch == 500 and plan.epochs_asked == 400  # 200,000 / 500
    if not plan.budget.cut_epochs:
        cap = plan.update_cap()
        assert cap is not None and cap.params["epochs"] == 400 and cap.params["updates"] == 2000 * 500


class FakeStore(ex.Uncached):
    """Records what was trained; trains nothing."""

    def __init__(self):
        self.trained = []

    def train(self, p, base, runs, on_chunk=None):
        self.trained.append(tuple(runs))
        for done in range(0, base.epochs * len(runs) + 1, base.epochs // 2):
            on_chunk(done, base.epochs * len(runs))
        return {}


def test_the_training_job_says_which_optimizer_and_epoch():
    s = moons(**{"c.compare": True, "c.opts": ("gd", "adam"), "c.epochs": 10})
    store = FakeStore()
    plan = ex.plan(s, store.dataset(s.data_params()), lambda p, c: False)
    said: list[tuple[float, Notice]] = []
    ex.training_job(plan, ("gd", "adam"), store)(lambda f, n: said.append((f, n)))
    assert store.trained == [("gd", "adam")]
    steps = [(f, n.key, n.params.get("optimizer"), n.params.get("epoch")) for f, n in said]
    assert steps == [(0.0, "classifier.progress.start", "gd", None), (0.0, "classifier.progress.epoch", "gd", 0),
                     (0.25, "classifier.progress.epoch", "gd", 5), (0.5, "classifier.progress.start", "adam", None),
                     (0.75, "classifier.progress.epoch", "adam", 5), (1.0, "classifier.progress.epoch", "adam", 10)]


# ---------------------------------------------------------------------------------------
# Runs against known truths


@pytest.fixture(scope="module")
def default_result() -> ex.Result:
    return ex.run(ex.Settings())


def test_defaults_train_a_good_classifier(default_result):
    r = default_result
    run = r.runs["adam"]
    assert len(run.train_loss) == 201 and r.at == 200 and r.kept_epochs[-1] == 200 and len(r.kept_epochs) == 51
    assert math.isclose(run.train_loss[0], math.log(2), abs_tol=0.15)  # an untrained 2-class net: about ln 2
    assert run.train_loss[-1] < 0.1 and run.test_acc[-1] > 0.9 and r.test_acc_at == run.test_acc[-1]
    assert r.verdicts["adam"].outcome is ex.Outcome.FINISHED and r.notices == ()
    assert r.vanishing is None and not r.log_loss_axis and not r.markers and r.check is None
    xs, ys, probs = r.boundary
    assert probs.shape == (len(ys), len(xs), 2) and np.allclose(probs.sum(-1), 1, atol=1e-5)


def test_the_gradient_check_passes_for_the_trained_network(default_result):
    r = default_result
    check = ex.grad_check_verdict(ex.check_gradients(r.data, r.shown_run, r.at))
    assert check.verdict is ex.CheckVerdict.PASSED and check.worst < ex.GRADCHECK_TOL and check.eps_exponent == -6


def test_compare_mode_starts_every_optimizer_from_the_same_network():
    s = moons(**{"c.compare": True, "c.opts": ("gd", "momentum", "adam"), "c.epochs": 10, "c.show": "momentum"})
    r = ex.run(s)
    assert list(r.runs) == ["gd", "momentum", "adam"] and r.shown == "momentum"
    first = [r.runs[k].snapshots[0] for k in r.runs]
    for other in first[1:]:
        for a, b in zip(first[0], other):
            assert a.keys() == b.keys() and all(np.array_equal(a[n], b[n]) for n in a)
    assert len({float(r.runs[k].train_loss[0]) for k in r.runs}) == 1  # the same epoch-0 losses
    assert len({float(r.runs[k].test_loss[0]) for k in r.runs}) == 1
    assert len({float(r.runs[k].train_loss[-1]) for k in r.runs}) == 3  # then each optimizer goes its own way


def test_a_huge_learning_rate_is_flagged_at_the_epoch_it_diverged():
    # Unbounded leaky ReLU units and gradient descent at the largest rate: the loss overflows.
    s = moons(**{"c.act": "leaky_relu", "c.init": "he", "c.opt": "gd", "gd.learning_rate": 10.0})
    r = ex.run(s)
    v = r.verdicts["gd"]
    k = v.epoch
    assert v.outcome is ex.Outcome.DIVERGED and k == r.runs["gd"].diverged_at and 1 < k < 200
    assert v.learning_rate == 10.0
    loss = r.runs["gd"].train_loss
    assert len(loss) == k and np.all(np.isfinite(loss))  # curves up to epoch k - 1
    assert r.at == k - 1 and r.kept_epochs[-1] == k - 1  # the last finite network is shown
    # The truth behind "at epoch k": the same run stopped one epoch earlier never leaves the finite numbers.
    before = ex.run(s.replace(**{"c.epochs": k - 1}))
    assert before.verdicts["gd"].outcome is not ex.Outcome.DIVERGED
    assert np.all(np.isfinite(before.runs["gd"].train_loss))


def test_the_vanishing_gradients_lesson_is_detected():
    r = ex.run(ex.lesson(ex.Lesson.VANISHING).replace(**{"c.epochs": 5}))
    assert r.vanishing is not None and r.vanishing.ratio < ex.VANISHING_RATIO
    norms = r.shown_run.grad_norms[0]
    assert r.vanishing.ratio == pytest.approx(norms[0] / norms[-1])


def test_overfitting_is_flagged_only_when_the_test_loss_climbs():
    class Curves:
        def __init__(self, test, train):
            self.test_loss, self.train_loss = np.asarray(test, float), np.asarray(train, float)

    assert ex.overfitting(Curves([1.0, 0.5, 0.4, 0.6], [1.0, 0.5, 0.3, 0.1])) == ex.Overfitting(2, 0.4, 0.6)
    assert ex.overfitting(Curves([1.0, 0.5, 0.4, 0.45], [1.0, 0.5, 0.3, 0.1])) is None  # within OVERFIT_RISE
    assert ex.overfitting(Curves([1.0, 0.5, 0.4, 0.6], [1.0, 0.5, 0.3, 0.4])) is None  # training loss rose too


# ---------------------------------------------------------------------------------------
# Every message the page can say exists


def test_every_choice_and_lesson_has_its_words():
    keys = [f"classifier.data.{k}.{part}" for k in datasets.names() for part in ("title", "lesson")]
    keys += [f"classifier.activation.{k}" for k in mlp.ACTIVATIONS] + [f"classifier.init.{k}" for k in mlp.INITS]
    keys += [f"classifier.loss.{k}" for k in ("cross_entropy", "mse")] + [f"classifier.batching.{b.value}"
                                                                         for b in ex.Batching]
    keys += [f"classifier.lesson.{x.value}.{part}" for x in ex.Lesson for part in ("name", "what")]
    keys += [f"classifier.verdict.{o.value}" for o in ex.Outcome if o is not ex.Outcome.FINISHED]
    keys += [f"classifier.check.{v.value}" for v in ex.CheckVerdict]
    for lesson in ex.Lesson:
        assert ex.lesson(lesson).check() == []  # every staged value is in range
    missing = [k for k in keys if not catalog.has(k)]
    assert not missing, missing


def test_every_notice_key_the_experiment_uses_is_in_the_catalog():
    import re
    from pathlib import Path

    source = Path(ex.__file__).read_text()
    keys = set(re.findall(r'"(classifier\.[a-z_.]+)"', source))
    for prefix, variants in (("classifier.budget.asked_", ("one", "one_sharp", "many", "many_sharp")),
                             ("classifier.budget.cut_epochs_", ("one", "many")),
                             ("classifier.budget.remedy", ("", "_sharp", "_many", "_many_sharp"))):
        keys |= {prefix + v for v in variants}
    assert len(keys) > 15
    missing = sorted(k for k in keys if not catalog.has(k) and not k.endswith("_"))
    assert not missing, missing
