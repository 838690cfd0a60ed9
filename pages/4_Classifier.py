"""Classifier: train a small network on 2-D points, TensorFlow-Playground style, with the
course's ideas (normalization, initialization, softmax and losses, regularization,
batch size, optimizers) as switches."""
from __future__ import annotations

from ui.preload import plotly_early

plotly_early()  # first, before the heavy imports below: the browser fetches Plotly.js meanwhile

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

import optimizers  # noqa: E402
from charts.classifier import (  # noqa: E402
    curves_figure,
    decision_boundary_figure,
    gradcheck_figure,
    gradient_norms_figure,
    sharpness_figure,
)
from classifier import budget, datasets  # noqa: E402
from classifier import model as mlp  # noqa: E402
from classifier.losses import LOSS_TITLES, LOSSES  # noqa: E402
from classifier.train import MAX_EPOCHS, TrainConfig, TrainResult  # noqa: E402
from ui import frame, jobs, urlstate  # noqa: E402
from ui.plots import plotly_chart  # noqa: E402
from ui import training_cache as cache  # noqa: E402
from ui.controls import (  # noqa: E402
    _hyper_widget,
    _number,
    hyper_key,
    hyper_values,
    log_grid,
    optimizer_fields,
    schedule_expander,
    schedule_fields,
)

NAMES = tuple(optimizers.names())
ACTIVATION_TITLES = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU"}
INIT_TITLES = {
    "small": "small: N(0, 0.01²)",
    "normal": "N(0, 1)",
    "xavier": "Xavier: Var = 2/(n_in + n_out)",
    "he": "He: Var = 2/n_in",
}
BATCH_TITLES = {"full": "full batch", "mini": "mini-batch", "sgd": "1 (SGD)"}
BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128, 256, 512)
# Batch size 1 on thousands of points costs minutes; a run is cut to this many updates.
# What a whole page run may train (every run of a comparison together) is capped by
# classifier/budget.py.
MAX_UPDATES = 200_000
GRADCHECK_TOL = 1e-6

# One-click set-ups for the lessons: (what to look at, settings that differ from the defaults).
EXPERIMENTS: dict[str, tuple[str, dict]] = {
    "Vanishing gradients": (
        "Four sigmoid layers, N(0, 0.01²) weights, plain gradient descent: the first layer's gradient starts near "
        "1e-9 and the loss stays at ln 2. Then switch to ReLU with He initialization.",
        {"c.layers": 4, "c.act": "sigmoid", "c.init": "small", "c.opt": "gd"}),
    "Badly scaled features": (
        "x₁ × 100 with gradient descent: stuck near 70% accuracy. Then normalize the features, or compare with Adam, "
        "whose per-coordinate steps cope with the scale.",
        {"c.badscale": True, "c.opt": "gd"}),
    "Overfitting": (
        "200 noisy points and a 3 × 64 ReLU network: the training loss goes to 0 while the test loss climbs. Then "
        "try L2 λ = 0.01, dropout 0.5, or early stopping.",
        {"c.points": 200, "c.noise": 0.4, "c.layers": 3, "c.width": 64, "c.act": "relu", "c.init": "he",
         "c.epochs": 500}),
    "Edge of stability": (
        "Gradient descent at η = 2 with sharpness on: λ_max keeps coming back to the stability limit 2/η = 1; where "
        "it climbs well above it, the loss spikes (near epoch 100) and λ_max drops back below.",
        {"c.opt": "gd", "gd.learning_rate": 2.0, "c.sharp": True}),
}

frame.page("Classifier", "🧠")

FIELDS = (
    optimizer_fields(cache.CLASSIFIER_LR)
    + schedule_fields()
    + [
        urlstate.Field("c.data", cache.DEFAULT_DATA.name, "choice", choices=tuple(datasets.names())),
        urlstate.Field("c.classes", 2, "int", 2, 3),
        urlstate.Field("c.noise", cache.DEFAULT_DATA.noise, "float", 0.0, 0.5),
        urlstate.Field("c.points", cache.DEFAULT_DATA.n_points, "int", datasets.MIN_POINTS, datasets.MAX_POINTS),
        urlstate.Field("c.test", cache.DEFAULT_DATA.test_fraction, "float", 0.1, 0.9),
        urlstate.Field("c.seed", cache.DEFAULT_DATA.seed, "int", 0, 2**31 - 1),
        urlstate.Field("c.badscale", False, "bool"),
        urlstate.Field("c.norm", False, "bool"),
        urlstate.Field("c.layers", 2, "int", 0, mlp.MAX_HIDDEN_LAYERS),
        urlstate.Field("c.width", 16, "int", 1, mlp.MAX_WIDTH),
        urlstate.Field("c.act", "tanh", "choice", choices=tuple(mlp.ACTIVATIONS)),
        urlstate.Field("c.init", "xavier", "choice", choices=mlp.INITS),
        urlstate.Field("c.loss", "cross_entropy", "choice", choices=LOSSES),
        urlstate.Field("c.l2", 0.0, "float", 0.0, 1.0),
        urlstate.Field("c.dropout", 0.0, "float", 0.0, mlp.MAX_DROPOUT),
        urlstate.Field("c.es", False, "bool"),
        urlstate.Field("c.patience", 20, "int", 1, 500),
        urlstate.Field("c.batch", "full", "choice", choices=tuple(BATCH_TITLES)),
        urlstate.Field("c.bs", 32, "int", 2, 512),
        urlstate.Field("c.epochs", cache.DEFAULT_EPOCHS, "int", 1, MAX_EPOCHS),
        urlstate.Field("c.opt", cache.DEFAULT_OPTIMIZER, "choice", choices=NAMES),
        urlstate.Field("c.compare", False, "bool"),
        urlstate.Field("c.opts", ["gd", "momentum", "adam"], "multi", choices=NAMES),
        urlstate.Field("c.show", None, "choice", choices=NAMES),  # whose boundary (compare mode)
        urlstate.Field("c.at", None, "int", 0, MAX_EPOCHS),  # epoch shown; None: the last
        urlstate.Field("c.sharp", False, "bool"),
        urlstate.Field("c.gc", False, "bool"),
    ]
)
notices = urlstate.restore(FIELDS)
# Streamlit forgets the value of a widget that is not drawn in a run (an optimizer's
# hyperparameters while another is picked, the batch size on full batch); keeping every
# field as plain state keeps the user's settings.
for _f in FIELDS:
    st.session_state[_f.key] = st.session_state[_f.key]
S = st.session_state


def title_of(key: str) -> str:
    return optimizers.REGISTRY[key].title


def learning_rate_slider(opt: str, label: str) -> None:
    h = optimizers.REGISTRY[opt].hyperparam("learning_rate")
    _number(hyper_key(opt, h.name), label, h.low, h.high, h.log, help=h.help)


def update_rules(race: list[str]) -> None:
    """One expander: each optimizer's update rule and its hyperparameters besides η (the
    learning rates stay in view above it: they are what one changes most)."""
    with st.expander("Update rule" + ("s" if len(race) > 1 else "") + " and the other hyperparameters"):
        for opt in race:
            spec = optimizers.REGISTRY[opt]
            st.markdown(f"**{spec.title}** — {spec.summary}")
            st.latex(spec.latex)
            others = [h for h in spec.hyperparams if h.name != "learning_rate"]
            if others:
                cols = st.columns(4)
                for i, h in enumerate(others):
                    with cols[i % 4]:
                        _hyper_widget(opt, h)


def load_experiment(name: str) -> None:
    """Every setting back to this page's default, then the experiment's own."""
    for f in FIELDS:
        S[f.key] = list(f.default) if f.kind == "multi" else f.default
    for key, value in EXPERIMENTS[name][1].items():
        S[key] = value


# ---------------------------------------------------------------------------------------
# Sidebar: data, network, training

with st.sidebar:
    st.markdown("#### Data")
    st.selectbox("Data set", datasets.names(), key="c.data", format_func=lambda k: datasets.DATASETS[k].title)
    spec = datasets.DATASETS[S["c.data"]]
    if S["c.classes"] not in spec.classes:
        offered = " or ".join(str(k) for k in spec.classes)
        notices.append(f"{spec.title} comes with {offered} classes, not {int(S['c.classes'])}: "
                       f"{spec.classes[0]} classes are used.")
        S["c.classes"] = spec.classes[0]
    if len(spec.classes) > 1:
        st.radio("Classes", list(spec.classes), key="c.classes", horizontal=True)
    n_classes = int(S["c.classes"])
    st.slider("Noise σ", 0.0, 0.5, step=0.01, key="c.noise", help="Gaussian jitter added to both coordinates.")
    st.slider("Points", datasets.MIN_POINTS, datasets.MAX_POINTS, step=10, key="c.points",
              help=f"Train and test together, up to {datasets.MAX_POINTS:,}.")
    st.slider("Test share", 0.1, 0.9, step=0.05, key="c.test", help="Held out: never used for a step.")
    st.number_input("Seed (data, initial weights, batches)", 0, 2**31 - 1, step=1, key="c.seed")
    st.toggle("Badly scaled features (x₁ × 100)", key="c.badscale",
              help="Stretches the first coordinate: the loss becomes a long thin valley in the first-layer weights.")
    st.toggle("Normalize features", key="c.norm",
              help="x' = (x − μ)/σ per feature with the TRAINING set's μ and σ, applied to test points too.")

    st.markdown("#### Network")
    st.slider("Hidden layers", 0, mlp.MAX_HIDDEN_LAYERS, key="c.layers",
              help="0: a linear softmax classifier (logistic regression).")
    if S["c.layers"] > 0:
        st.slider("Units per hidden layer", 1, mlp.MAX_WIDTH, key="c.width")
    st.selectbox("Activation", list(mlp.ACTIVATIONS), key="c.act", format_func=ACTIVATION_TITLES.get)
    st.selectbox("Initialization", list(mlp.INITS), key="c.init", format_func=INIT_TITLES.get,
                 help="Weights W ~ N(0, σ²); biases start at 0.")

    st.markdown("#### Training")
    st.radio("Loss", list(LOSSES), key="c.loss", format_func=LOSS_TITLES.get, horizontal=True)
    l2_options = [0.0] + log_grid(1e-5, 1.0, S["c.l2"] if S["c.l2"] > 0 else None)
    if S["c.l2"] not in l2_options:
        notices.append(f"L2 strength {float(S['c.l2']):g} is below the smallest one offered, {l2_options[1]:g}, "
                       "so L2 is off.")
        S["c.l2"] = 0.0
    st.select_slider("L2 strength λ", l2_options, key="c.l2", format_func=lambda v: f"{v:g}",
                     help="Adds λ/2·Σ‖W‖² (weights only) to the training objective.")
    st.slider("Dropout rate p", 0.0, mlp.MAX_DROPOUT, step=0.05, key="c.dropout",
              help="Each hidden unit is dropped with probability p in training only.")
    st.toggle("Early stopping", key="c.es", help="Stop when the test loss has not improved for `patience` epochs.")
    if S["c.es"]:
        st.number_input("Patience (epochs)", 1, 500, step=5, key="c.patience")
    st.radio("Batch size", list(BATCH_TITLES), key="c.batch", format_func=BATCH_TITLES.get, horizontal=True)
    if S["c.batch"] == "mini":
        if S["c.bs"] not in BATCH_SIZES:
            nearest = min(BATCH_SIZES, key=lambda b: abs(b - S["c.bs"]))
            notices.append(f"Mini-batch size {int(S['c.bs'])} is not one of the sizes offered; the nearest, {nearest}, "
                           "is used.")
            S["c.bs"] = nearest
        st.select_slider("Mini-batch size B", BATCH_SIZES, key="c.bs")
    st.number_input("Epochs", 1, MAX_EPOCHS, step=50, key="c.epochs",
                    help=f"Passes over the training set, up to {MAX_EPOCHS:,}.")

# ---------------------------------------------------------------------------------------
# What to train

data_params = cache.DataParams(S["c.data"], int(S["c.points"]), float(S["c.noise"]), float(S["c.test"]),
                               int(S["c.seed"]), int(n_classes), bool(S["c.badscale"]), bool(S["c.norm"]))
data = cache.dataset(data_params)
hidden = (int(S["c.width"]),) * int(S["c.layers"])
arch = mlp.Architecture(hidden, S["c.act"], 2, n_classes)
batch = {"full": None, "mini": int(S["c.bs"]), "sgd": 1}[S["c.batch"]]
if batch is not None and batch > 1 and batch >= data.n_train:
    notices.append(f"Mini-batch size {batch} is not smaller than the {data.n_train:,} training points, so every "
                   "epoch is one full batch.")
steps_per_epoch = 1 if batch is None else -(-data.n_train // min(batch, data.n_train))
epochs_wanted = int(S["c.epochs"])
epochs_by_updates = max(1, MAX_UPDATES // steps_per_epoch)
epochs_asked = min(epochs_wanted, epochs_by_updates)

st.title("🧠 Classifier")
notice_box = st.container()  # notices found later in the run go here too, above the results


def show_notices() -> None:
    with notice_box:
        frame.notices(notices)
    notices.clear()


show_notices()
sizes = " → ".join(str(s) for s in arch.sizes)
st.markdown(
    f"**{spec.title}** ({n_classes} classes) — {spec.lesson} "
    f"{data.n_train:,} training and {data.n_test:,} test points. "
    f"Network {sizes}, {ACTIVATION_TITLES[arch.activation]}, {arch.n_params:,} parameters."
)

progress_slot = st.empty()  # near the top, so a long run's progress is in view

with st.expander("🧪 Experiments: one click sets up a lesson"):
    for i, (name, (what, _)) in enumerate(EXPERIMENTS.items()):
        b, t = st.columns([1, 4], vertical_alignment="center")
        b.button(name, key=f"c.exp{i}", on_click=load_experiment, args=(name,), width="stretch")
        t.caption(what)

top = st.columns([1, 1.2, 1.1], gap="medium")
with top[0]:
    st.toggle("Compare optimizers", key="c.compare",
              help="The same network (same initial weights, same mini-batches) trained once per optimizer.")
    compare = bool(S["c.compare"])
    if compare:
        st.multiselect("Optimizers", NAMES, key="c.opts", format_func=title_of)
        race = [k for k in S["c.opts"] if k in optimizers.REGISTRY]
    else:
        st.selectbox("Optimizer", NAMES, key="c.opt", format_func=title_of)
        race = [S["c.opt"]]
with top[1]:
    for k in race:
        learning_rate_slider(k, f"η · {title_of(k)}" if compare else "Learning rate η")
with top[2]:
    with schedule_expander() as (schedule, shown):
        if shown:
            st.caption(f"t counts updates, not epochs: {steps_per_epoch:,} "
                       f"update{'s' if steps_per_epoch > 1 else ''} per epoch here.")
if race:
    update_rules(race)
hypers = {k: hyper_values(k) for k in race}

if not race:
    st.warning("Pick at least one optimizer to compare.")
    urlstate.publish(FIELDS)
    st.stop()

patience = int(S["c.patience"]) if S["c.es"] else 0


def configs_for(epochs: int, n_snapshots: int, sharpness: bool) -> dict[str, TrainConfig]:
    base = TrainConfig(
        hidden=hidden, activation=arch.activation, init=S["c.init"], loss=S["c.loss"], batch_size=batch,
        epochs=epochs, l2=float(S["c.l2"]), dropout=float(S["c.dropout"]), patience=patience,
        seed=int(S["c.seed"]), n_snapshots=n_snapshots, schedule=schedule, track_sharpness=sharpness,
    )
    return {k: base.with_optimizer(k, hypers[k]) for k in race}


# One budget for everything this page run trains (classifier/budget.py); runs already
# trained with the asked-for settings are free.
asked = configs_for(epochs_asked, cache.N_SNAPSHOTS, bool(S["c.sharp"]))
plan = budget.plan_training(budget.TrainingRequest(
    budget.TrainShape(data.n_train, arch.n_params, arch.n_layers, steps_per_epoch), epochs_asked, cache.N_SNAPSHOTS,
    bool(S["c.sharp"]), len(race), sum(cache.is_cached(data_params, c) for c in asked.values())))
configs = configs_for(plan.epochs, plan.n_snapshots, plan.sharpness) if plan.cut else asked
epochs = plan.epochs

if plan.cut:
    runs_asked = f"{len(race)} runs of {epochs_asked:,} epochs" if len(race) > 1 else f"{epochs_asked:,} epochs"
    cuts = []
    if plan.cut_epochs:
        cuts.append(f"{epochs:,} epochs run" + (" per optimizer" if len(race) > 1 else ""))
    if plan.cut_snapshots:
        cuts.append(f"λ_max is computed at {plan.n_snapshots} kept networks per run, not {cache.N_SNAPSHOTS}")
    if plan.dropped_sharpness:
        cuts.append(f"λ_max is not computed (each estimate costs about {budget.SHARPNESS_PASSES:.0f} epochs' worth)")
    remedies = ["Fewer points", "a smaller network"] + ["fewer optimizers"] * (len(race) > 1) \
        + ["sharpness off"] * bool(S["c.sharp"])
    st.warning(
        f"Training {runs_asked} of a {arch.n_params:,}-parameter network on {data.n_train:,} points"
        f"{' with sharpness' if S['c.sharp'] else ''} is more than one page run may compute on this shared server, "
        f"so {' and '.join(cuts)}. {', '.join(remedies[:-1])} or {remedies[-1]} leave room for more.", icon="⏱️")
if epochs_asked < epochs_wanted and not plan.cut_epochs:
    st.warning(
        f"Batch size {batch} on {data.n_train:,} training points is {steps_per_epoch:,} updates per epoch: "
        f"{epochs_wanted:,} epochs would be {epochs_wanted * steps_per_epoch:,} updates. "
        f"Training is capped at {MAX_UPDATES:,} updates per run, so {epochs:,} epochs run. "
        "A larger batch or fewer points allows more epochs.", icon="⏱️")

# ---------------------------------------------------------------------------------------
# Train (only what is not cached) in the server's heavy-work queue, with progress

COMPILE_NOTE = "(a new network shape, batch size or optimizer compiles first: a few seconds)"


def training_job(k: str, j: int, n_todo: int, report: jobs.Report) -> TrainResult:
    """Runs on a queue worker, so no Streamlit here: report() only records progress, and
    stops the run at its next chunk once the user changed something or left."""
    def on_chunk(done: int, total: int) -> None:
        report((j + done / total) / n_todo, f"Training {title_of(k)}: epoch {done:,} of {total:,}")

    report(j / n_todo, f"Training {title_of(k)}… {COMPILE_NOTE}")
    return cache.run(data_params, configs[k], on_chunk)


results: dict[str, TrainResult] = {}
todo = [k for k in race if not cache.is_cached(data_params, configs[k])]
for k in race:
    hit = cache.cached(data_params, configs[k])
    if hit is not None:
        results[k] = hit
        continue
    j = todo.index(k) if k in todo else 0
    results[k] = jobs.run(lambda report, k=k, j=j: training_job(k, j, len(todo), report),
                          f"Training {title_of(k)}… {COMPILE_NOTE}", progress_slot)

for k, r in results.items():
    lr = hypers[k]["learning_rate"]
    if r.diverged_at is not None:
        shown_to = r.diverged_at - 1
        st.error(f"**{title_of(k)} diverged at epoch {r.diverged_at}** (learning rate {lr:g}): the loss became "
                 f"infinite or NaN. Curves and boundary are shown up to epoch {shown_to}. Try a smaller learning "
                 "rate, or normalize the features.", icon="💥")
    elif r.stopped_at is not None:
        st.info(f"**{title_of(k)}: early stopping at epoch {r.stopped_at}**. The test loss was lowest at epoch "
                f"{r.best_epoch} and did not improve for {patience} epochs.", icon="✋")
    elif len(r.train_loss) > 1 and r.train_loss[-1] > r.train_loss[0]:
        st.warning(f"**{title_of(k)} ends with a higher training loss than it started with** "
                   f"({r.train_loss[0]:.3g} → {r.train_loss[-1]:.3g}): the learning rate {lr:g} is probably "
                   "too large.", icon="⚠️")

# ---------------------------------------------------------------------------------------
# Which run and which epoch the boundary shows

if compare and len(race) > 1:
    if S["c.show"] not in race:
        if S["c.show"] is not None:
            notices.append(f"{title_of(S['c.show'])} is not among the compared optimizers, so the boundary of "
                           f"{title_of(race[0])} is shown.")
        S["c.show"] = race[0]
    shown_key = S["c.show"]
else:
    shown_key = race[0]
shown = results[shown_key]
options = [int(e) for e in shown.snapshot_epochs]
previous_last = S.get("_c_at_last")
if S["c.at"] is None or S["c.at"] == previous_last:
    S["c.at"] = options[-1]  # follow the end of training
elif S["c.at"] not in options:
    nearest = min(options, key=lambda e: abs(e - S["c.at"]))
    notices.append(f"No network was kept at epoch {int(S['c.at']):,}; the nearest kept one, epoch {nearest:,}, "
                   "is shown.")
    S["c.at"] = nearest
S["_c_at_last"] = options[-1]
show_notices()

left, right = st.columns(2, gap="medium")
with left:
    if compare and len(race) > 1:
        st.selectbox("Boundary and gradients of", race, key="c.show", format_func=title_of)
    if len(options) > 1:
        st.select_slider("Epoch shown", options, key="c.at",
                         help=f"{len(options)} networks were kept during training.")
    at = int(S["c.at"])
    xs, ys, probs = cache.boundary(data_params, shown, at)
    i_at = min(at, len(shown.train_acc) - 1)
    fig = decision_boundary_figure(
        xs, ys, probs, data.x_train_raw, data.y_train, data.x_test_raw, data.y_test,
        title=f"{title_of(shown_key)}, epoch {at}: train accuracy {shown.train_acc[i_at]:.1%}, "
              f"test {shown.test_acc[i_at]:.1%}",
    )
    fig.update_layout(height=520)
    if data.badly_scaled:
        fig.update_xaxes(title_text="x₁ (× 100)")
    plotly_chart(fig, width="stretch")
    shading = ("The shading is P(class 1) = softmax(z)₁; the black line is P = 0.5, the decision boundary."
               if n_classes == 2 else "Each point of the plane takes the colour of its most probable class, "
               "pale where that probability is near 1/K.")
    st.caption(f"Filled dots: training points; open circles: test points. {shading}"
               + (" The network sees normalized coordinates; the axes show the raw ones." if data.normalized else ""))
with right:
    curves = curves_figure(results, title="Loss and accuracy per epoch (solid: train, dashed: test)")
    curves.add_vline(x=at, line=dict(color="gray", dash="dot", width=1))
    curves.update_layout(height=520)
    start = max(float(r.train_loss[0]) for r in results.values())
    peak = max(float(np.nanmax(np.r_[r.train_loss, r.test_loss])) for r in results.values())
    if peak > 10 * start:
        # A blow-up would flatten every other curve on a linear axis.
        curves.update_yaxes(type="log", exponentformat="power", title_text="loss (log scale)", row=1, col=1)
    if len(shown.epoch) < 3 or any(len(r.epoch) < 3 for r in results.values()):
        curves.update_traces(mode="lines+markers")  # a run that diverged at once has one or two points
    plotly_chart(curves, width="stretch")
    st.caption("Loss is the data loss alone (no L2 term) on the full sets, without dropout, after each epoch; "
               "epoch 0 is the untrained network. Test loss turning up while train loss falls is overfitting.")

g1, g2 = st.columns(2, gap="medium")
with g1:
    norms = gradient_norms_figure(shown.epoch, shown.grad_norms, shown.layer_names,
                                  title=f"Gradient norm per layer ({title_of(shown_key)})")
    positive = shown.grad_norms[shown.grad_norms > 0]
    if positive.size and np.log10(positive.max() / positive.min()) >= 1:
        norms.update_yaxes(dtick=1)  # one label per decade: the spread across layers is what matters
    plotly_chart(norms, width="stretch")
    st.caption("‖∂L/∂(W, b)‖ of each layer on the full training set, after each epoch. Back-propagation multiplies "
               "by σ′(z) once per layer (sigmoid: σ′ ≤ ¼), so in a deep sigmoid network the first layers' "
               "gradients are orders of magnitude smaller: they barely learn.")
with g2:
    st.toggle("Sharpness: top Hessian eigenvalue λ_max vs 2/η (slower)", key="c.sharp",
              help="λ_max of the Hessian of the training objective at each kept network (Lanczos, 20 steps).")
    if plan.dropped_sharpness:
        st.caption("Not computed for this request: see the note on the work budget above.")
    elif S["c.sharp"]:
        sharp = sharpness_figure(results, title="Sharpness λ_max and the stability limit 2/η")
        sharp.update_yaxes(dtick=1)  # one label per decade
        plotly_chart(sharp, width="stretch")
        st.caption("Plain gradient descent on a quadratic is stable only while λ_max < 2/η: during training "
                   "λ_max often rises until it meets 2/η (the edge of stability). For momentum and adaptive "
                   "methods 2/η is only a reference line.")
    else:
        st.caption("Off by default: it adds a Hessian eigenvalue computation at each of the kept networks.")

# ---------------------------------------------------------------------------------------
st.subheader("✅ Gradient check")
st.toggle(f"Check back-propagation at epoch {at} ({title_of(shown_key)})", key="c.gc",
          help="Float64 central differences on up to 512 training points, 64 random coordinates per layer.")
check = cache.grad_check(data_params, shown, at) if S["c.gc"] else None
if check is not None and not np.all(np.isfinite(check.rel_errors)):
    st.warning("The gradient check gave no finite error for this network: its loss or weights are too large for "
               "finite differences (a run near divergence). Pick an earlier epoch.")
elif check is not None:
    c1, c2 = st.columns([1.2, 1], gap="medium")
    with c1:
        plotly_chart(gradcheck_figure(check.layer_names, check.rel_errors, GRADCHECK_TOL,
                                      title="Relative error per layer"),
                     width="stretch")
    with c2:
        st.latex(r"g^{\text{num}}_i = \frac{J(\theta + \varepsilon e_i) - J(\theta - \varepsilon e_i)}{2\varepsilon},"
                 rf"\quad \varepsilon = 10^{{{round(np.log10(check.eps))}}}")
        st.latex(r"r_l = \frac{\lVert g^{a} - g^{\text{num}} \rVert}"
                 r"{\lVert g^{a} \rVert + \lVert g^{\text{num}} \rVert}")
        worst = float(np.max(check.rel_errors))
        verdict = "below" if worst < GRADCHECK_TOL else "above"
        st.markdown(f"Largest relative error **{worst:.1e}**, {verdict} the {GRADCHECK_TOL:.0e} threshold.")
        st.caption(
            f"g^a is back-propagation, g^num the central difference, both of J = data loss + L2 (no dropout), "
            f"in float64 (rounding unit u ≈ 1e-16), over {int(check.n_checked.sum())} coordinates. With ε = 1e-6 "
            "the quotient is off by O(ε²) ≈ 1e-12 (truncation) plus O(u·J/ε) ≈ 1e-10 (rounding), so correct "
            "derivatives give r far below the 1e-6 line; above it deserves a look, above 1e-2 means a bug "
            "(or a ReLU kink crossed within ±ε).")
else:
    st.caption("Compares back-propagation with the numerical derivative (J(θ+ε) − J(θ−ε))/2ε, layer by layer.")

# ---------------------------------------------------------------------------------------
with st.expander("📖 The ideas behind the switches"):
    tabs = st.tabs(["Softmax", "Cross-entropy vs MSE", "Normalization", "Initialization", "Vanishing gradients",
                    "Dropout", "L2", "Early stopping", "Batch size"])
    with tabs[0]:
        st.latex(r"p_k = \mathrm{softmax}(z)_k = \frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}")
        st.caption("The last layer's scores z become probabilities (positive, summing to 1). The exponential "
                   "exaggerates differences: z = (2, 1) gives p ≈ (0.73, 0.27).")
    with tabs[1]:
        st.latex(r"L_{\text{CE}} = -\frac{1}{N}\sum_i \log p_{i, y_i} \qquad "
                 r"L_{\text{MSE}} = \frac{1}{N}\sum_i \sum_k (p_{ik} - \hat y_{ik})^2")
        st.latex(r"K = 2,\ d = z_y - z_{\text{other}},\ p = p_y:\qquad \frac{\partial L_{\text{CE}}}{\partial d} "
                 r"= -(1 - p) \qquad \frac{\partial L_{\text{MSE}}}{\partial d} = -4\,p\,(1-p)^2")
        st.caption("ŷ is the one-hot target. Where the model is confidently wrong (p → 0) the cross-entropy "
                   "gradient stays near −1 but the MSE gradient vanishes: MSE's surface is flat exactly where "
                   "the model is most wrong, so training can stall.")
    with tabs[2]:
        st.latex(r"x'_j = \frac{x_j - \mu_j}{\sigma_j},\qquad \mu_j, \sigma_j \text{ from the training set}")
        st.caption("With x₁ a hundred times larger than x₂, the gradient along the weights that multiply x₁ is a "
                   "hundred times larger and the curvature 10⁴ times: a long thin valley where one learning rate is "
                   "too large for one direction and too small for the other. Test points (and the plotted grid) go "
                   "through the training μ and σ: the test set stands for data not seen in advance.")
    with tabs[3]:
        st.latex(r"W_{ij} \sim N(0, \sigma^2):\quad \text{small } \sigma = 0.01,\quad N(0,1),\quad "
                 r"\text{Xavier } \sigma^2 = \frac{2}{n_{\text{in}} + n_{\text{out}}},\quad "
                 r"\text{He } \sigma^2 = \frac{2}{n_{\text{in}}}")
        st.caption("z = Σᵢ wᵢxᵢ over n inputs has Var(z) = n·Var(w)·Var(x), so Var(w) = 1/n keeps the signal's "
                   "size from layer to layer (Xavier averages fan-in and fan-out); ReLU zeroes about half its "
                   "inputs, so He doubles it to 2/n. Too small: signals and gradients shrink layer by layer; "
                   "N(0, 1): tanh and sigmoid units saturate.")
    with tabs[4]:
        st.latex(r"\frac{\partial L}{\partial h_{l-1}} = \Big(\frac{\partial L}{\partial h_l} \odot \sigma'(z_l)\Big)"
                 r" W_l^{\top},\qquad \sigma'_{\text{sigmoid}}(z) = \sigma(z)(1 - \sigma(z)) \le \tfrac14")
        st.caption("Each layer on the way back multiplies the gradient by σ′(z) (and W): with four sigmoid layers "
                   "the first layer's gradient can be (¼)⁴ ≈ 0.004 of the last one's. tanh′ ≤ 1 with tanh′(0) = 1; "
                   "ReLU′ = 1 for active units. Try 4 sigmoid layers with small initialization, then ReLU with He.")
    with tabs[5]:
        st.latex(r"\text{training: } \tilde h_j = \frac{m_j\, h_j}{1 - p},\ m_j \sim \text{Bernoulli}(1-p),"
                 r"\quad \mathbb{E}[\tilde h_j] = h_j;\qquad \text{test: } \tilde h_j = h_j")
        st.caption("Inverted dropout on the hidden units: dividing the kept units by 1 − p during training keeps "
                   "each unit's expected value, so the test network uses all units unscaled (the same as "
                   "multiplying the weights by 1 − p at test time). Curves and boundary are without dropout.")
    with tabs[6]:
        st.latex(r"L'(\theta) = L(\theta) + \frac{\lambda}{2}\sum_l \lVert W_l \rVert^2,\qquad "
                 r"w \leftarrow w - \eta\Big(\frac{\partial L}{\partial w} + \lambda w\Big) "
                 r"= (1 - \eta\lambda)\, w - \eta \frac{\partial L}{\partial w}")
        st.caption("Weight decay: with gradient descent each step first shrinks the weights by 1 − ηλ. Biases are "
                   "not decayed. With adaptive optimizers the λw term is rescaled like the rest of the gradient "
                   "(AdamW decays the weights directly instead).")
    with tabs[7]:
        st.latex(r"\text{stop at the first epoch } t \text{ with } "
                 r"t - \operatorname*{arg\,min}_{s \le t} L_{\text{test}}(s) \ge \text{patience}")
        st.caption("Stop once the test loss has not improved on its best for `patience` epochs; the network kept is "
                   "the one at the stop, the best epoch is reported. Here the test set doubles as the held-out "
                   "set; in practice a separate validation set decides the stop, so the test score stays "
                   "an honest estimate.")
    with tabs[8]:
        st.latex(r"g_B = \frac{1}{B}\sum_{i \in B} \nabla_\theta \ell_i(\theta),\qquad "
                 r"\mathbb{E}[g_B] = \nabla L(\theta),\qquad "
                 r"\mathrm{Var}(g_B) = \frac{\sigma^2}{B}\cdot\frac{N - B}{N - 1}")
        st.caption("An epoch is one pass over the N training points, reshuffled and cut into ⌈N/B⌉ mini-batches. "
                   "Full batch (B = N): one exact step per epoch, a smooth curve. Mini-batch: many cheap, noisy "
                   "steps. B = 1 (SGD): the noisiest, N steps per epoch. σ² is the variance of one example's "
                   "gradient. The noise can help leave sharp minima.")

urlstate.publish(FIELDS, implied={"c.at": options[-1], "c.show": race[0]})
frame.footer()
