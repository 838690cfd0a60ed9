"""What the pages read about each optimizer: its name, hyperparameters and formula.

The LaTeX shown on a page is taken from the rule's own docstring (its ``.. math::``
block), so the page and the code cannot disagree.
"""
from __future__ import annotations

import catalog

import functools
import inspect
from dataclasses import dataclass
from typing import Callable, Mapping

from optimizers import rules
from optimizers.base import GradientTransformation
from optimizers.hyperparam import HyperParam


@dataclass(frozen=True)
class OptimizerSpec:
    key: str
    english_title: str
    build: Callable[..., GradientTransformation]
    # explain(state, lr, grads=g, **hyper) -> {statistic: value} after an update: state the
    # rule's new state, lr the step's rate, g the gradient the update used.
    explain: Callable[..., dict]
    hyperparams: tuple[HyperParam, ...]
    english_summary: str
    stats: tuple[str, ...]  # the statistics explain() returns, in order
    # fill(latex, values) -> the formula with this run's settings written in (RAdam's
    # threshold, RMSProp's start); None: the formula does not depend on them.
    fill: Callable[[str, Mapping[str, float]], str] | None = None

    # The name and summary a student reads, in the session's language (catalog/<lang>/
    # optimizers.toml); the English ones stay with the rule for code and tests.
    @property
    def title(self) -> str:
        return catalog.t(f"optimizers.{self.key}.title") if catalog.has(f"optimizers.{self.key}.title") else self.english_title

    @property
    def summary(self) -> str:
        key = f"optimizers.{self.key}.summary"
        return catalog.t(key) if catalog.has(key) else self.english_summary

    @property
    def note(self) -> str:
        """What a student should know next to the formula (a convention, where it differs
        from Optax or the course's notes); "" if nothing."""
        key = f"optimizers.{self.key}.note"
        return catalog.t(key) if catalog.has(key) else ""

    # Kept on the spec (computed once): trace() reads them on every rerun for every racer.
    @functools.cached_property
    def hyper_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparams)

    @functools.cached_property
    def hyper_defaults(self) -> tuple[float, ...]:
        return tuple(h.default for h in self.hyperparams)

    @functools.cached_property
    def switches(self) -> tuple[str, ...]:
        """The hyperparameters of kind "bool" (passed as 0/1, used as booleans)."""
        return tuple(h.name for h in self.hyperparams if h.kind == "bool")

    @property
    def latex(self) -> str:
        return latex_of(self.build)

    def latex_for(self, values: Mapping[str, float]) -> str:
        """The formula with the settings in use written in (values: hyperparameters by
        name; missing ones take their defaults)."""
        return self.fill(self.latex, {**self.defaults, **values}) if self.fill else self.latex

    @property
    def defaults(self) -> dict[str, float]:
        return {h.name: h.default for h in self.hyperparams}

    def hyperparam(self, name: str) -> HyperParam:
        return next(h for h in self.hyperparams if h.name == name)


def latex_of(fn: Callable) -> str:
    """The ``.. math::`` block of fn's docstring, as one LaTeX display (blank-line
    separated rows become rows of a gathered environment)."""
    doc = inspect.getdoc(fn) or ""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(".. math::"))
    first = lines[start].split(".. math::", 1)[1].strip()
    body: list[str] = [first] if first else []
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break
        body.append(line.strip())
    rows = [" ".join(r.split("\n")).strip() for r in "\n".join(body).strip().split("\n\n")]
    rows = [" ".join(r.split()) for r in rows if r.strip()]
    if len(rows) == 1:
        return rows[0]
    return r"\begin{gathered} " + r" \\ ".join(rows) + r" \end{gathered}"


def _lr(default: float) -> HyperParam:
    return HyperParam("learning_rate", default, 1e-5, 10.0, True, "step size: how far each update moves", r"\eta")


_B1 = HyperParam("b1", 0.9, 0.0, 0.999, False, "decay of the gradient average (momentum)", r"\beta_1")
_B2 = HyperParam("b2", 0.999, 0.5, 0.99999, False, "decay of the squared-gradient average", r"\beta_2")
_EPS = HyperParam("eps", 1e-8, 1e-12, 1.0, True, "keeps the division finite where v is tiny", r"\epsilon")
_MOMENTUM = HyperParam("momentum", 0.9, 0.0, 0.999, False, "share of the velocity kept each step", r"\lambda")

_ADAM_STATS = ("m_hat", "v_hat", "step_size")


def _radam_formula(latex: str, values: Mapping[str, float]) -> str:
    """The threshold in use, where the formula compares rho_t with it."""
    return latex.replace(r"\rho_{\min}", rf"\rho_{{\min}} = {float(values['threshold']):g}", 1)


def _rmsprop_formula(latex: str, values: Mapping[str, float]) -> str:
    """The start in use: sigma_0^2 = 0 (PyTorch, Optax) or the course's sigma_1^2 = g_1^2."""
    return latex.replace(r"\sigma_0^2 = 0", r"\sigma_1^2 = g_1^2") if values.get("initial_sq_grad") else latex

REGISTRY: dict[str, OptimizerSpec] = {
    spec.key: spec
    for spec in (
        OptimizerSpec("gd", "Gradient descent", rules.gd, rules.explain_gd, (_lr(0.01),),
                      "Step against the gradient, scaled by the learning rate.", ()),
        OptimizerSpec("momentum", "Momentum", rules.momentum, rules.explain_momentum, (_lr(0.01), _MOMENTUM),
                      "A ball with inertia: past gradients keep pushing.", ("velocity",)),
        OptimizerSpec("nesterov", "Nesterov (NAG)", rules.nesterov, rules.explain_nesterov,
                      (_lr(0.01), HyperParam("momentum", 0.9, 0.0, 0.999, False, "share of the buffer kept each step", r"\mu")),
                      "Momentum that looks where it is about to land.", ("velocity",)),
        OptimizerSpec("adagrad", "AdaGrad", rules.adagrad, rules.explain_adagrad,
                      (_lr(0.1),
                       HyperParam("initial_accumulator_value", 0.0, 0.0, 1.0, False, "G at the start", r"G_0"),
                       HyperParam("eps", 1e-7, 1e-12, 1.0, True, "keeps the division finite", r"\epsilon")),
                      "Per-coordinate steps that shrink with all past gradients.", ("sum_sq", "step_size")),
        OptimizerSpec("rmsprop", "RMSProp", rules.rmsprop, rules.explain_rmsprop,
                      (_lr(0.01),
                       HyperParam("decay", 0.9, 0.0, 0.9999, False, "weight of the past in the squared average", r"\alpha"),
                       _EPS,
                       # Off by default: sigma_0^2 = 0 as in PyTorch and Optax (so Optax still matches).
                       HyperParam("initial_sq_grad", 0.0, 0.0, 1.0, False, "start from sigma^2 = g^2 (the course's form)",
                                  "", kind="bool")),
                      "AdaGrad with a moving window: old gradients fade.", ("sq_avg", "step_size"),
                      fill=_rmsprop_formula),
        OptimizerSpec("adam", "Adam", rules.adam, rules.explain_adam,
                      (_lr(0.001), _B1, _B2, _EPS,
                       HyperParam("bias_correction", 1.0, 0.0, 1.0, False, "divide m and v by 1 - beta^t", "", kind="bool")),
                      "Momentum plus RMSProp, with bias correction.", _ADAM_STATS),
        OptimizerSpec("adamw", "AdamW", rules.adamw, rules.explain_adamw,
                      (_lr(0.001), _B1, _B2, _EPS,
                       HyperParam("weight_decay", 0.01, 0.0, 1.0, False, "pull toward 0, apart from the gradient", r"\lambda")),
                      "Adam with weight decay kept out of the adaptive scaling.", _ADAM_STATS),
        OptimizerSpec("amsgrad", "AMSGrad", rules.amsgrad, rules.explain_amsgrad, (_lr(0.001), _B1, _B2, _EPS),
                      "Adam whose denominator never shrinks.", ("m_hat", "v_hat", "v_max", "step_size")),
        OptimizerSpec("nadam", "Nadam", rules.nadam, rules.explain_nadam, (_lr(0.001), _B1, _B2, _EPS),
                      "Adam with a Nesterov look-ahead.", ("m_hat", "m_bar", "v_hat", "step_size")),
        OptimizerSpec("radam", "RAdam", rules.radam, rules.explain_radam,
                      (_lr(0.001), _B1, _B2, _EPS,
                       HyperParam("threshold", 5.0, 0.0, 100.0, False, "rho above which v-hat is trusted", r"\rho_{\min}")),
                      "Adam with a built-in warm-up while v-hat is unreliable.", _ADAM_STATS, fill=_radam_formula),
    )
}

STAT_TITLES = {
    "velocity": "velocity v",
    "sum_sq": "sum of g² (G)",
    "sq_avg": "σ² (avg of g²)",
    "m_hat": "m̂",
    "m_bar": "m̄ (look-ahead m̂)",
    "v_hat": "v̂",
    "v_max": "max v̂",
    "step_size": "effective step size",
}


def names() -> list[str]:
    return list(REGISTRY)


def build(name: str, **hyper) -> GradientTransformation:
    """An optimizer by registry key; unspecified hyperparameters take their defaults.
    Values may be numbers, traced JAX scalars, or (learning_rate) a schedule."""
    spec = REGISTRY[name]
    unknown = set(hyper) - {h.name for h in spec.hyperparams}
    if unknown:
        raise TypeError(f"{name} has no hyperparameter {sorted(unknown)}")
    return spec.build(**{**spec.defaults, **hyper})
