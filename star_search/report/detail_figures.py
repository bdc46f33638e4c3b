"""Figures of detail: per-task proxy scores of front members, predicted vs measured latency,
and the chosen program's per-operator time."""

from __future__ import annotations

import html

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from star_search.report.figures import base_layout
from star_search.report.latency_check import COMPARED, LatencyComparison
from star_search.report.operator_times import OperatorBreakdown
from star_search.report.proxy_tasks import TaskHeatmap

SCORE_SCALE = "Viridis"
TOP_OPERATORS = 20
DELEGATION = {True: ("delegated", "#4c78a8"), False: ("portable kernel", "#f58518"), None: ("", "#9a9a9a")}


def _heatmap(z: tuple[tuple[float | None, ...], ...], columns: list[str], rows: list[str],
             hover: list[list[str]], title: str, column_title: str) -> go.Figure:
    figure = go.Figure(go.Heatmap(
        z=[list(row) for row in z], x=columns, y=rows, zmin=0.0, zmax=1.0, colorscale=SCORE_SCALE,
        customdata=hover, xgap=1, ygap=1, colorbar=dict(title=dict(text="score"), thickness=12),
        hovertemplate="%{y}<br>%{customdata}<br>score %{z:.3f}<extra></extra>", hoverongaps=False))
    base_layout(figure, title, height=150 + 18 * len(rows) + 6 * max(len(c) for c in columns))
    figure.update_layout(xaxis=dict(title=column_title, tickangle=-60, tickfont=dict(size=10),
                                    type="category"),
                         yaxis=dict(autorange="reversed", tickfont=dict(size=11), type="category"),
                         margin=dict(l=140, r=24, t=16, b=40))
    return figure


def family_heatmap_figure(heatmap: TaskHeatmap) -> go.Figure | None:
    if not heatmap.families:
        return None
    rows = [html.escape(label) for label in heatmap.labels]
    columns = [html.escape(name) for name in heatmap.families]
    hover = [[f"family {name}" for name in columns] for _ in rows]
    return _heatmap(heatmap.family_scores, columns, rows, hover,
                    "Proxy score by task family (mean of its settings)", "task family")


def task_heatmap_figure(heatmap: TaskHeatmap) -> go.Figure:
    rows = [html.escape(label) for label in heatmap.labels]
    columns = [html.escape(name) for name in heatmap.tasks]
    hover = [[f"task {task}<br>family {html.escape(family)}"
              for task, family in zip(columns, heatmap.task_families, strict=True)] for _ in rows]
    return _heatmap(heatmap.scores, columns, rows, hover,
                    f"Proxy score per task ({len(columns)} tasks, grouped by family)", "task")


def latency_figure(comparison: LatencyComparison) -> go.Figure | None:
    """Predicted (y) against measured (x), one panel per compared figure; the diagonal is exact."""
    metrics = [m for m in COMPARED if comparison.for_metric(m)]
    if not metrics:
        return None
    figure = make_subplots(rows=1, cols=len(metrics), subplot_titles=[html.escape(m) for m in metrics],
                           horizontal_spacing=0.1)
    for column, metric in enumerate(metrics, start=1):
        pairs = comparison.for_metric(metric)
        measured, predicted = [p.measured for p in pairs], [p.predicted for p in pairs]
        low, high = min(measured + predicted) * 0.95, max(measured + predicted) * 1.05
        figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", hoverinfo="skip",
                                    line=dict(color="#888", dash="dash", width=1), showlegend=column == 1,
                                    name="prediction = measurement"), row=1, col=column)
        figure.add_trace(go.Scatter(
            x=measured, y=predicted, mode="markers", name="trial", showlegend=column == 1,
            marker=dict(size=8, color="#9467bd", opacity=0.75),
            customdata=[[p.number, 100 * p.relative_error] for p in pairs],
            hovertemplate=("trial %{customdata[0]}<br>measured %{x:.3g} ms<br>predicted %{y:.3g} ms<br>"
                           "error %{customdata[1]:+.1f}%<extra></extra>")), row=1, col=column)
        figure.update_xaxes(title_text="measured (ms)", row=1, col=column)
        figure.update_yaxes(title_text="predicted (ms)", row=1, col=column)
    base_layout(figure, "Predicted (y) vs measured (x); dashed: prediction = measurement", height=420)
    figure.update_layout(showlegend=False, margin=dict(t=40))
    return figure


def operator_figure(breakdown: OperatorBreakdown) -> go.Figure | None:
    """Horizontal bars per method (one panel each, own scale): the largest operators, the rest
    summed as "other"; colour says whether a delegate (XNNPACK) or a portable kernel ran it."""
    if not breakdown.rows:
        return None
    methods = breakdown.methods
    figure = make_subplots(rows=len(methods), cols=1, vertical_spacing=0.3 / len(methods),
                           subplot_titles=[f"{html.escape(m)}: ms per call" for m in methods])
    heights = []
    for index, method in enumerate(methods, start=1):
        rows = [row for row in breakdown.rows if row.method == method]
        shown, rest = rows[:TOP_OPERATORS], rows[TOP_OPERATORS:]
        names = [html.escape(row.name) for row in shown]
        names += [f"other ({len(rest)} operators)"] if rest else []
        times = [row.ms for row in shown] + ([sum(row.ms for row in rest)] if rest else [])
        calls = [row.calls for row in shown] + ([sum(row.calls for row in rest)] if rest else [])
        kinds = [DELEGATION.get(row.delegated, DELEGATION[None]) for row in shown]
        kinds += [DELEGATION[None]] if rest else []
        total = sum(times)
        figure.add_trace(go.Bar(
            x=times, y=names, orientation="h", showlegend=False, marker_color=[k[1] for k in kinds],
            customdata=[[c, 100 * t / total if total else 0.0, k[0]]
                        for c, t, k in zip(calls, times, kinds, strict=True)],
            hovertemplate=("%{y}<br>%{x:.4f} ms per call (%{customdata[1]:.1f}% of the method)<br>"
                           "%{customdata[0]:.4g} runs per call, %{customdata[2]}<extra></extra>")),
            row=index, col=1)
        figure.update_yaxes(autorange="reversed", row=index, col=1)
        figure.update_xaxes(title_text="ms", row=index, col=1)
        heights.append(len(names))
    base_layout(figure, f"Per-operator time of trial {breakdown.trial_number} "
                        f"(blue: delegated to XNNPACK, orange: portable kernel)",
                height=120 * len(methods) + 22 * sum(heights) + 60)
    figure.update_layout(margin=dict(l=260, r=24, t=40, b=40))
    return figure
