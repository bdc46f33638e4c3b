"""Plotly figures of the report: quality against each cost objective, one scatter per cost.

Points are split into three traces (feasible Pareto front, feasible but dominated, infeasible)
so they differ in marker and colour and can be toggled from the legend. A budget that is set is
drawn as a dashed vertical line. Strings from the study are HTML-escaped before they enter hover
text, because Plotly renders hover labels as (a subset of) HTML.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from star_search.report.model import ReportModel
from star_search.scoring.objectives import OBJECTIVES

UNITS = {objective.name: objective.unit for objective in OBJECTIVES}
GROUPS = (
    ("front", "Pareto front (feasible)", dict(symbol="circle", size=12, color="#d62728",
                                              line=dict(width=1, color="#222"))),
    ("dominated", "dominated (feasible)", dict(symbol="circle", size=8, color="#7f7f7f", opacity=0.7)),
    ("infeasible", "infeasible (breaks a budget)", dict(symbol="x", size=9, color="#1f77b4", opacity=0.8)),
)


def axis_title(name: str) -> str:
    unit = UNITS.get(name)
    return f"{name} ({unit})" if unit else name


def _hover_data(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(int(number)), html.escape(str(pattern or "")), html.escape(str(arch_id or ""))]
            for number, pattern, arch_id in zip(frame["number"], frame["pattern"], frame["arch_id"],
                                                strict=True)]


def tradeoff_figure(report: ReportModel, x_name: str) -> go.Figure:
    """Scatter of the first objective (quality) against `x_name`, by front / dominated / infeasible."""
    y_name = report.summary.metric_names[0]
    frame = report.trials
    figure = go.Figure()
    for status, label, marker in GROUPS:
        part = frame[frame["status"] == status]
        figure.add_trace(go.Scatter(
            x=part[x_name].tolist(), y=part[y_name].tolist(), mode="markers", name=label, marker=marker,
            customdata=_hover_data(part),
            hovertemplate=(f"trial %{{customdata[0]}}<br>pattern %{{customdata[1]}}<br>"
                           f"arch_id %{{customdata[2]}}<br>{html.escape(y_name)} %{{y:.4g}}<br>"
                           f"{html.escape(x_name)} %{{x:.4g}}<extra>{html.escape(label)}</extra>"),
        ))
    budget = report.summary.budgets.get(x_name)
    if budget is not None:
        figure.add_vline(x=float(budget), line=dict(dash="dash", color="#444", width=1.5),
                         annotation_text=f"budget {float(budget):g}", annotation_position="top right")
    figure.update_layout(
        title=f"{html.escape(y_name)} vs {html.escape(x_name)}",
        xaxis_title=html.escape(axis_title(x_name)), yaxis_title=html.escape(axis_title(y_name)),
        template="plotly_white", height=420, margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0, title_text=""),
    )
    return figure


def tradeoff_figures(report: ReportModel) -> list[tuple[str, go.Figure]]:
    """(cost name, figure) for every objective after the first; empty when nothing completed."""
    plotted = report.trials["status"].isin([status for status, _, _ in GROUPS])
    if not plotted.any():
        return []
    return [(name, tradeoff_figure(report, name)) for name in report.summary.metric_names[1:]]


def figure_html(figure: go.Figure, div_id: str, include_plotlyjs: bool) -> str:
    """An HTML fragment for `figure`; plotly.js is inlined only when `include_plotlyjs`."""
    return figure.to_html(full_html=False, include_plotlyjs=include_plotlyjs, div_id=div_id,
                          config={"displaylogo": False, "responsive": True})
