"""An update written out with one step's numbers, for the step inspector."""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np

import optimizers
from catalog import has, t
from optimizers import rules
from optimizers.trace import Trace

if TYPE_CHECKING:
    from experiments.playground import StepRow

STAT_SYMBOLS = {
    "velocity": "v_{k}",
    "sum_sq": "G_{k}",
    "sq_avg": r"\sigma^2_{k}",
    "m_hat": r"\hat m_{k}",
    "m_bar": r"\bar m_{k}",
    "v_hat": r"\hat v_{k}",
    "v_max": r"\hat v^{\max}_{k}",
    "step_size": r"\text{step}_{k}",
}


def num(v: float) -> str:
    if not np.isfinite(v):
        return r"\text{NaN}"
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 1e4:
        return f"{v:.4g}"
    mant, exp = f"{v:.3e}".split("e")
    return rf"{mant}\times 10^{{{int(exp)}}}"


def vec(v: np.ndarray) -> str:
    return r"\begin{pmatrix}" + num(float(v[0])) + r"\\" + num(float(v[1])) + r"\end{pmatrix}"


def gradient_line(trace: Trace, k: int, true_gradient: np.ndarray | None = None) -> str:
    """The gradient step k used. With noise (true_gradient given) it is
    g̃_k = ∇L(θ_{k-1}) + ξ_k, written out as the true gradient plus the noise."""
    g = trace.gradients[k]
    if true_gradient is None:
        return rf"g_{{k}} = \nabla L(\theta_{{k-1}}) = {vec(g)}"
    return (rf"g_{{k}} = \tilde g_{{k}} = \nabla L(\theta_{{k-1}}) + \xi_{{k}} = {vec(true_gradient)} + "
            rf"{vec(g - true_gradient)} = {vec(g)}")


def setting_lines(trace: Trace, k: int) -> list[str]:
    """What the rule's settings make of step k: RAdam's rho_k against its threshold (the
    value in use), Adam's step without bias correction as a multiple of the corrected one."""
    h = trace.hyper
    if trace.optimizer == "radam" and h:
        rho, r = (float(np.asarray(x)) for x in rules.radam_rectifier(np.float32(h["b2"]), np.asarray(k)))
        threshold = float(h["threshold"])
        if rho >= threshold:
            return [rf"\rho_{{k}} = {num(rho)} \ge \rho_{{\min}} = {num(threshold)},\quad r_{{k}} = {num(r)}"]
        return [rf"\rho_{{k}} = {num(rho)} < \rho_{{\min}} = {num(threshold)}"]
    if "bias_correction" in h and not h["bias_correction"]:
        ratio = float(rules.bias_ratio(h["b1"], h["b2"], k))
        return [rf"\frac{{1-\beta_1^{{k}}}}{{\sqrt{{1-\beta_2^{{k}}}}}} = {num(ratio)}"]
    return []


def filled_update(trace: Trace, k: int, true_gradient: np.ndarray | None = None) -> list[str]:
    """LaTeX lines: the step-k inputs and statistics, then theta_k = theta_{k-1} + delta.
    true_gradient: ∇L(θ_{k-1}) without noise, for a trace with gradient noise."""
    spec = optimizers.REGISTRY[trace.optimizer]
    k = int(np.clip(k, 1, max(trace.num_steps, 1)))
    lines = [
        rf"k = {k},\quad \eta_{{k}} = {num(float(trace.learning_rates[k]))},\quad "
        rf"\theta_{{k-1}} = {vec(trace.points[k - 1])},\quad " + gradient_line(trace, k, true_gradient)
    ]
    stats = [rf"{STAT_SYMBOLS.get(s, s)} = {vec(trace.stats[s][k])}" for s in spec.stats]
    if stats:
        lines.append(r",\quad ".join(stats))
    lines += setting_lines(trace, k)
    lines.append(
        rf"\theta_{{k}} = \theta_{{k-1}} + \Delta\theta_{{k}} = {vec(trace.points[k - 1])} + {vec(trace.updates[k])}"
        rf" = {vec(trace.points[k])}"
    )
    return lines


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table. st.markdown draws it as a plain HTML table: lighter for the
    browser to redraw on every rerun than a data grid, and it needs no pandas."""

    def cell(text: str) -> str:
        return str(text).replace("|", r"\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def pair(v: np.ndarray, digits: int = 3) -> str:
    return f"({v[0]:.{digits}g}, {v[1]:.{digits}g})"


def stat_title(name: str) -> str:
    key = f"playground.inspector.stat.{name}"
    return t(key) if has(key) else optimizers.STAT_TITLES.get(name, name)


def step_table_markdown(table: Mapping[str, StepRow | None]) -> str:
    """Every racer at one step (experiments.playground.step_table): one column per
    optimizer, one row per quantity, so it fits beside the arrows however many race. A
    statistic an optimizer does not keep is left blank; a racer that has diverged by then
    says so."""
    point, diverged = t("playground.inspector.row.point"), t("playground.inspector.diverged")
    columns: list[dict[str, str]] = []
    for row in table.values():
        if row is None:
            columns.append({point: diverged})
            continue
        columns.append({point: pair(row.point, 4), t("playground.inspector.row.loss"): f"{row.loss:.4g}",
                        t("playground.inspector.row.learning_rate"): f"{row.learning_rate:.3g}",
                        t("playground.inspector.row.noisy_gradient" if row.noisy else "playground.inspector.row.gradient"):
                            pair(row.gradient),
                        t("playground.inspector.row.update"): pair(row.update),
                        **{stat_title(s): pair(v) for s, v in row.stats.items()}})
    quantities = list(dict.fromkeys(q for col in columns for q in col))
    return markdown_table([""] + [optimizers.REGISTRY[key].title for key in table],
                          [[q] + [col.get(q, "") for col in columns] for q in quantities])
