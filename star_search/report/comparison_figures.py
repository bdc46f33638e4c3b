"""Figures that overlay several studies: their fronts per cost, and their hypervolumes."""

from __future__ import annotations

import html

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from star_search.report.comparison import Comparison
from star_search.report.figures import (
    CHOSEN_MARKER,
    axis_title,
    base_layout,
    colour,
    draw_budget,
    hover_data,
    hover_template,
    trial_axis,
)


def fronts_figure(comparison: Comparison) -> go.Figure | None:
    """One panel per cost; per study, its feasible trials (faint), the 2-D front of the panel
    (staircase) and its chosen trial (star). Clicking a legend entry hides that study everywhere."""
    names = comparison.reports[0].summary.metric_names
    costs, y_name = names[1:], names[0]
    feasible = ["front", "dominated"]
    if not costs or not any(r.trials["status"].isin(feasible).any() for r in comparison.reports):
        return None
    figure = make_subplots(rows=1, cols=len(costs), shared_yaxes=True, horizontal_spacing=0.04)
    for index, (label, report) in enumerate(zip(comparison.labels, comparison.reports, strict=True)):
        frame = report.trials
        feasible = frame[frame["status"].isin(["front", "dominated"])]
        chosen = frame[frame["number"] == report.summary.chosen_trial]
        group, name = f"study{index}", html.escape(label)
        for column, cost in enumerate(costs, start=1):
            first = column == 1
            figure.add_trace(go.Scatter(
                x=feasible[cost].tolist(), y=feasible[y_name].tolist(), mode="markers", legendgroup=group,
                name=f"{name}: feasible", showlegend=first,
                marker=dict(size=5, color=colour(index), opacity=0.25), customdata=hover_data(feasible),
                hovertemplate=hover_template(cost, y_name, label)), row=1, col=column)
            stairs = frame.set_index("number").loc[list(report.projected_fronts.get(cost, ()))]
            figure.add_trace(go.Scatter(
                x=stairs[cost].tolist(), y=stairs[y_name].tolist(), mode="lines+markers", line_shape="hv",
                legendgroup=group, name=f"{name}: front", showlegend=first,
                line=dict(color=colour(index), width=2), marker=dict(size=8, color=colour(index)),
                customdata=hover_data(stairs.reset_index()),
                hovertemplate=hover_template(cost, y_name, f"{label} front")), row=1, col=column)
            if len(chosen) and chosen[cost].notna().all():
                figure.add_trace(go.Scatter(
                    x=chosen[cost].tolist(), y=chosen[y_name].tolist(), mode="markers", legendgroup=group,
                    name=f"{name}: chosen", showlegend=first,
                    marker={**CHOSEN_MARKER, "size": 16, "line": dict(width=2, color=colour(index))},
                    customdata=hover_data(chosen), hovertemplate=hover_template(cost, y_name, "chosen")),
                    row=1, col=column)
            spread = [v for r in comparison.reports for v in r.trials[cost].dropna().tolist()]
            draw_budget(figure, report.summary.budgets.get(cost), spread, colour(index), label=False,
                        row=1, col=column)
            figure.update_xaxes(title_text=axis_title(cost), row=1, col=column)
    figure.update_yaxes(title_text=axis_title(y_name), row=1, col=1)
    base_layout(figure, "Fronts of every study (dashed: each study's budget, where near the data)",
                height=470)
    figure.update_layout(margin=dict(l=64, r=24, t=40, b=54))
    return figure


def hypervolumes_figure(comparison: Comparison) -> go.Figure | None:
    figure = go.Figure()
    for index, (label, report) in enumerate(zip(comparison.labels, comparison.reports, strict=True)):
        trace = report.hypervolume
        if trace is None or not trace.numbers:
            continue
        figure.add_trace(go.Scatter(
            x=list(trace.numbers), y=list(trace.values), mode="lines", line_shape="hv",
            name=html.escape(label),
            line=dict(color=colour(index), width=2),
            hovertemplate="after trial %{x}<br>hypervolume %{y:.4f}<extra>%{fullData.name}</extra>"))
    if not figure.data:
        return None
    base_layout(figure, "Hypervolume over trials, every study in the same box", height=360)
    figure.update_layout(yaxis_title="fraction of the box", yaxis_rangemode="tozero")
    trial_axis(figure, [n for report in comparison.reports if report.hypervolume
                        for n in report.hypervolume.numbers])
    return figure
