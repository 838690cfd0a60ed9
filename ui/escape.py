"""The saddle escape on the Curvature page: at a critical point whose Hessian has an
eigenvalue < 0, a button steps from θ′ both ways along that eigenvector and shows f
falling, against the second-order prediction ½λt² (experiments.curvature.escape_from)."""
from __future__ import annotations

import streamlit as st

from catalog import t
from experiments.curvature import Escape, Result
from ui.formulas import markdown_table, num

SUB = "₁₂"
BUTTON_KEY = "curv_escape"
SHOWN = "escape.shown_at"  # session state: the θ′ the button was pressed at


def _press(point: tuple[float, float]) -> None:
    st.session_state[SHOWN] = point


def table(e: Escape) -> str:
    """Both sides of the escape as a Markdown table."""
    sub = SUB[e.index]
    header = [t(f"curvature.escape.{k}") for k in ("side", "point", "before", "after", "change", "predicted")]
    rows = [[f"θ′ {'+' if s.sign > 0 else '−'} t·v{sub}", f"({s.point[0]:.5g}, {s.point[1]:.5g})", f"{e.value:.6g}",
             f"{s.value:.6g}", f"{s.change:.4g}", f"{s.predicted:.4g}"] for s in e.steps]
    return markdown_table(header, rows)


def panel(result: Result) -> None:
    """The heading and button at a point with an escape; after a press, the step's numbers."""
    e = result.escape
    if e is None:
        return
    sub = SUB[e.index]
    st.markdown(t("curvature.escape.heading", i=sub, lam=e.eigenvalue))
    st.button(t("curvature.escape.button", i=sub), key=BUTTON_KEY, on_click=_press, args=(e.start,),
              help=t("curvature.escape.help"))
    if st.session_state.get(SHOWN) != e.start:
        return
    st.latex(rf"\theta = \theta' \pm t\,v_{{{e.index + 1}}},\quad t = {num(e.step)},\quad "
             rf"\tfrac12\lambda_{{{e.index + 1}}}t^2 = {num(e.second_order)}")
    st.markdown(table(e))
    box = st.success if e.falls else st.warning
    box(t("curvature.escape.result", i=sub, down1=-e.steps[0].change, down2=-e.steps[1].change,
          pred=-e.second_order, step=e.step))
    st.caption(t("curvature.escape.caption"))
