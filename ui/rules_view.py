"""The step inspector's two readings of the update rules: Lee's unified rule
θᵢᵗ⁺¹ ← θᵢᵗ − (ηᵗ/σᵢᵗ)·mᵢᵗ for every racer that has that form, and Momentum in Ng's
form V = βV + (1−β)g (optimizers.unified)."""
from __future__ import annotations

from typing import Mapping

import streamlit as st

import optimizers
from catalog import t
from optimizers import unified
from optimizers.trace import Trace
from ui.formulas import markdown_table, num, pair, vec

UNIFIED_LATEX = r"\theta_i^{t+1} \leftarrow \theta_i^{t} - \frac{\eta^{t}}{\sigma_i^{t}}\, m_i^{t}"


def unified_markdown(traces: Mapping[str, Trace], k: int) -> str:
    """A title line, then one row per racer of the five: what it uses as σ and m, their
    numbers at step k, −ηm/σ and the update it took."""
    header = [t(f"playground.unified.column.{c}")
              for c in ("optimizer", "sigma_is", "m_is", "eta", "sigma", "m", "rule", "taken")]
    rows = []
    for key, trace in traces.items():
        if key not in unified.UNIFIED:
            continue
        title = optimizers.REGISTRY[key].title
        what = [t(f"playground.unified.sigma.{key}"), t(f"playground.unified.m.{key}")]
        p = unified.parts(trace, k)
        if p is None:
            rows.append([title, *what, t("playground.inspector.diverged"), "", "", "", ""])
            continue
        rows.append([title, *what, f"{p.eta:.3g}", pair(p.sigma, 4), pair(p.m, 4), pair(p.update, 4),
                     pair(p.taken, 4)])
    return t("playground.unified.title", k=k) + "\n\n" + markdown_table(header, rows)


def unified_view(traces: Mapping[str, Trace], k: int) -> None:
    """Lee's unified rule at step k, side by side for the racers (nothing if none has it)."""
    if not any(key in unified.UNIFIED for key in traces):
        return
    st.latex(UNIFIED_LATEX)
    st.markdown(unified_markdown(traces, k))
    st.caption(t("playground.unified.caption"))


def ng_lines(trace: Trace, k: int) -> list[str]:
    """Momentum's step k in Ng's form with the numbers in (LaTeX); [] for another optimizer."""
    s = unified.ng_momentum(trace, k)
    if s is None:
        return []
    b = num(s.beta)
    return [
        rf"V_{{k}} = \beta V_{{k-1}} + (1-\beta)\,g_{{k}} = {b}\,{vec(s.previous)} + {num(1 - s.beta)}\,"
        rf"{vec(s.gradient)} = {vec(s.velocity)}",
        rf"\theta_{{k}} = \theta_{{k-1}} - \alpha V_{{k}},\quad \alpha = \frac{{\eta_{{k}}}}{{1-\beta}} = {num(s.alpha)}"
        rf",\quad -\alpha V_{{k}} = {vec(s.update)},\quad v_{{k}} = \Delta\theta_{{k}} = {vec(s.taken)}",
    ]


def ng_view(trace: Trace, k: int) -> None:
    """Ng's form of a Momentum step under the course form, and whether the two agree."""
    lines = ng_lines(trace, k)
    if not lines:
        return
    s = unified.ng_momentum(trace, k)
    st.markdown(t("playground.ng.heading"))
    for line in lines:
        st.latex(line)
    st.caption(t("playground.ng.same" if s.constant_rate else "playground.ng.schedule"))
