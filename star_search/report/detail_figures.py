"""Figures of detail: per-task proxy scores of front members, predicted vs measured latency,
and the chosen program's per-operator time."""

from __future__ import annotations

import html
import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from star_search.report.figures import base_layout
from star_search.report.latency_check import COMPARED, WITHIN, LatencyComparison
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
    """Scores by family; None when there are no family means, or when every family has one task
    (the per-task heatmap then shows the same cells)."""
    if not heatmap.families or len(set(heatmap.task_families)) == len(heatmap.tasks):
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
    """Predicted (y) against measured (x), one panel per compared figure (three to a row), in the
    figure's display unit; the dashed diagonal is an exact prediction, the band ±`WITHIN`."""
    metrics = [error.metric for error in comparison.errors]
    if not metrics:
        return None
    n_cols = min(3, len(metrics))
    n_rows = math.ceil(len(metrics) / n_cols)
    titles = [f"{html.escape(m)}: MAPE {100 * e.mape:.1f}%, {100 * e.within:.1f}% within "
              f"±{100 * WITHIN:.0f}%" for m, e in zip(metrics, comparison.errors, strict=True)]
    figure = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=titles, horizontal_spacing=0.08,
                           vertical_spacing=0.3 / n_rows)
    for index, metric in enumerate(metrics):
        row, col = index // n_cols + 1, index % n_cols + 1
        unit, factor = COMPARED[metric]
        pairs = comparison.for_metric(metric)
        measured = [p.measured * factor for p in pairs]
        predicted = [p.predicted * factor for p in pairs]
        # Pad by a share of the span, so the extreme points are whole, not cut by the frame.
        smallest, largest = min(measured + predicted), max(measured + predicted)
        pad = 0.06 * (largest - smallest) or 0.05 * largest
        low, high = max(smallest - pad, smallest / 2), largest + pad
        figure.add_trace(go.Scatter(x=[low, high, high, low], y=[low * (1 - WITHIN), high * (1 - WITHIN),
                                                                 high * (1 + WITHIN), low * (1 + WITHIN)],
                                    fill="toself", mode="none", fillcolor="rgba(120,120,120,0.12)",
                                    hoverinfo="skip", showlegend=False), row=row, col=col)
        figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", hoverinfo="skip",
                                    line=dict(color="#888", dash="dash", width=1), showlegend=False),
                         row=row, col=col)
        figure.add_trace(go.Scatter(
            x=measured, y=predicted, mode="markers", showlegend=False,
            marker=dict(size=8, color="#9467bd", opacity=0.75),
            customdata=[[p.number, 100 * p.relative_error] for p in pairs],
            hovertemplate=(f"trial %{{customdata[0]}}<br>measured %{{x:.4g}} {unit}<br>predicted "
                           f"%{{y:.4g}} {unit}<br>error %{{customdata[1]:+.1f}}%<extra></extra>")),
            row=row, col=col)
        figure.update_xaxes(title_text=f"measured ({unit})", range=[low, high], row=row, col=col)
        figure.update_yaxes(title_text=f"predicted ({unit})", range=[low, high], row=row, col=col)
    figure.update_annotations(font_size=12)
    base_layout(figure, f"Predicted (y) vs measured (x) per figure; dashed: prediction = measurement, "
                        f"grey band: within ±{100 * WITHIN:.0f}%", height=120 + 330 * n_rows)
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
