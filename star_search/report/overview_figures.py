"""Figures over the whole study: parallel coordinates of every complete trial, and the
hypervolume of the feasible front after each trial."""

from __future__ import annotations

import html

import plotly.graph_objects as go

from star_search.report.figures import GROUPS, base_layout, trial_axis
from star_search.report.model import ReportModel
from star_search.report.progress import HypervolumeTrace

STATUS_CODES = {"infeasible": 0, "dominated": 1, "front": 2}
# Extra axes after the objectives: (column, label, scale)
SHAPE_AXES = (("params", "params (M)", 1e-6), ("n_layers", "layers", 1.0),
              ("n_attention", "attention layers", 1.0), ("n_moe", "MoE layers", 1.0),
              ("d_model", "d_model", 1.0))


def parallel_figure(report: ReportModel) -> go.Figure | None:
    """One line per complete trial across objectives and shape; colour = front / dominated /
    infeasible. Drag along an axis to filter; None when no trial completed."""
    frame = report.trials[report.trials["status"].isin(STATUS_CODES)]
    if frame.empty:
        return None
    # Lines are drawn in order: front last, so it stays on top.
    frame = frame.iloc[frame["status"].map(STATUS_CODES).argsort(kind="stable")]
    dimensions = [dict(label=html.escape(name), values=frame[name].tolist())
                  for name in report.summary.metric_names]
    for column, label, scale in SHAPE_AXES:
        if column in frame and frame[column].notna().all() and frame[column].nunique() > 1:
            dimensions.append(dict(label=label, values=(frame[column].astype(float) * scale).tolist()))
    colours = {status: marker["color"] for status, _, marker in GROUPS}
    scale = [[0.0, colours["infeasible"]], [0.33, colours["infeasible"]], [0.34, colours["dominated"]],
             [0.66, colours["dominated"]], [0.67, colours["front"]], [1.0, colours["front"]]]
    figure = go.Figure(go.Parcoords(
        dimensions=dimensions, labelangle=-20, labelside="top",
        line=dict(color=frame["status"].map(STATUS_CODES).tolist(), colorscale=scale, cmin=0, cmax=2,
                  showscale=True, colorbar=dict(tickvals=[0.33, 1, 1.67], thickness=12,
                                                ticktext=["infeasible", "dominated", "front"])),
    ))
    base_layout(figure, "All complete trials across objectives and shape (drag on an axis to filter)",
                height=460)
    figure.update_layout(margin=dict(l=70, r=40, t=90, b=30))
    return figure


def hypervolume_figure(trace: HypervolumeTrace) -> go.Figure | None:
    """The hypervolume after each finished trial (a staircase that only rises)."""
    if not trace.numbers:
        return None
    figure = go.Figure(go.Scatter(
        x=list(trace.numbers), y=list(trace.values), mode="lines", line_shape="hv",
        line=dict(color="#2ca02c", width=2), fill="tozeroy", fillcolor="rgba(44,160,44,0.12)",
        name="hypervolume", hovertemplate="after trial %{x}<br>hypervolume %{y:.4f}<extra></extra>"))
    base_layout(figure, f"Hypervolume of the feasible front: {trace.final:.4f} after "
                        f"{len(trace.numbers)} trials", height=340)
    figure.update_layout(yaxis_title=html.escape("fraction of the box"), showlegend=False,
                         yaxis_rangemode="tozero")
    trial_axis(figure, list(trace.numbers))
    return figure
