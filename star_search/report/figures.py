"""Plotly figures of the trade-offs: the first objective (quality) against each cost.

Points are split into three traces (feasible Pareto front, feasible but dominated, infeasible)
so they differ in marker and colour and can be toggled from the legend; the quality axis carries
error bars of ± one expected seed spread (`quality_sd`) where the spread was measured; the chosen
trial is a star, the 2-D front of the view is a staircase, and a budget that is set is a dashed vertical
line. Strings from the study are HTML-escaped before they enter hover text, because Plotly
renders hover labels as (a subset of) HTML.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from star_search.report.model import ReportModel
from star_search.scoring.objectives import OBJECTIVES

UNITS = {objective.name: objective.unit for objective in OBJECTIVES}
SHORT_UNITS = {"quality": "0 = chance, 1 = perfect", "decode_p50_ms": "ms/token", "ttft_ms": "ms",
               "peak_rss_mb": "MiB"}
FRONT_COLOUR = "#d62728"
GROUPS = (
    ("dominated", "dominated (feasible)", dict(symbol="circle", size=7, color="#9a9a9a", opacity=0.6)),
    ("infeasible", "infeasible (breaks a budget)", dict(symbol="x", size=7, color="#1f77b4", opacity=0.55)),
    ("front", "Pareto front (feasible)", dict(symbol="circle", size=11, color=FRONT_COLOUR,
                                              line=dict(width=1, color="#222"))),
)
CHOSEN_MARKER = dict(symbol="star", size=20, color="#ffd700", line=dict(width=1.5, color="#222"))
REFERENCE_MARKER = dict(symbol="diamond", size=14, color="#111111", line=dict(width=1.5, color="#ffffff"))
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
PALETTE = qualitative.D3


def colour(index: int) -> str:
    """The `index`-th colour of the palette that tells studies (and methods) apart."""
    return PALETTE[index % len(PALETTE)]


def axis_title(name: str) -> str:
    unit = SHORT_UNITS.get(name, UNITS.get(name))
    return html.escape(f"{name} ({unit})" if unit else name)


def hover_data(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(int(number)), html.escape(str(pattern or "")), html.escape(str(arch_id or ""))]
            for number, pattern, arch_id in zip(frame["number"], frame["pattern"], frame["arch_id"],
                                                strict=True)]


def hover_template(x_name: str, y_name: str, label: str) -> str:
    return (f"trial %{{customdata[0]}}<br>pattern %{{customdata[1]}}<br>arch_id %{{customdata[2]}}<br>"
            f"{html.escape(y_name)} %{{y:.4g}}<br>{html.escape(x_name)} %{{x:.4g}}"
            f"<extra>{html.escape(label)}</extra>")


def base_layout(figure: go.Figure, title: str, height: int = 420) -> None:
    """House style. `title` (HTML-escaped) is shown by `figure_html` above the plot, not inside
    it, so that a legend of any length never runs into it."""
    figure.update_layout(
        title=dict(text=title), template="plotly_white", height=height,
        margin=dict(l=64, r=24, t=24, b=54), hoverlabel=dict(align="left"),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0.0, title_text="",
                    font=dict(size=11)),
    )


def trial_axis(figure: go.Figure, numbers: list[int]) -> None:
    """Label the x axis as trial numbers, with a tick per trial when there are few (never 0.5)."""
    few = bool(numbers) and max(numbers) - min(numbers) < 12
    figure.update_xaxes(title_text="trial number", dtick=1 if few else None, tick0=0 if few else None)


def budget_in_view(budget: float, values: list[float]) -> bool:
    """Whether a budget line belongs in the plot: not further beyond the data than twice the
    data's own spread (a far budget would squash every point into one column)."""
    if not values:
        return True
    low, high = min(values), max(values)
    spread = max(high - low, abs(high) * 0.1, 1e-12)
    return low - 2 * spread <= budget <= high + 2 * spread


def draw_budget(figure: go.Figure, budget: float | None, values: list[float], colour: str = "#444",
                label: bool = True, **subplot: int) -> str:
    """A dashed vertical line at `budget` when it is near the data. Returns "" then (or with no
    budget); when the budget is far off the data, draws nothing and returns a note saying where
    it is, for the caller to show beside the plot (inside it, it could cover points)."""
    if budget is None:
        return ""
    budget = float(budget)
    if budget_in_view(budget, values):
        # Without a label, pass no annotation_* at all: any of them makes Plotly add one that
        # reads "new text".
        annotation = dict(annotation_text=f"budget {budget:g}", annotation_position="bottom left",
                          annotation_textangle=-90, annotation_font_size=11) if label else {}
        figure.add_vline(x=budget, line=dict(dash="dash", color=colour, width=1.5), **annotation, **subplot)
        return ""
    if budget > max(values):
        return f"budget {budget:g} is far to the right: every point is within it"
    return f"budget {budget:g} is far to the left: every point breaks it"


def quality_error_bars(part: pd.DataFrame, y_name: str) -> dict[str, object] | None:
    """± one expected seed spread on the quality axis, for the rows whose spread is known."""
    if y_name != "quality" or "quality_sd" not in part or not part["quality_sd"].notna().any():
        return None
    spreads = [float(v) if pd.notna(v) else 0.0 for v in part["quality_sd"]]
    return dict(type="data", array=spreads, visible=True, thickness=1, width=3)


def tradeoff_figure(report: ReportModel, x_name: str) -> go.Figure:
    """Scatter of the first objective against `x_name`, by front / dominated / infeasible."""
    y_name = report.summary.metric_names[0]
    frame = report.trials
    figure = go.Figure()
    staircase = frame.set_index("number").loc[list(report.projected_fronts.get(x_name, ()))]
    if len(staircase):
        figure.add_trace(go.Scatter(
            x=staircase[x_name].tolist(), y=staircase[y_name].tolist(), mode="lines", line_shape="hv",
            line=dict(color=FRONT_COLOUR, width=1.2, dash="dot"), name="front of this view (2-D)",
            hoverinfo="skip"))
    for status, label, marker in GROUPS:
        part = frame[frame["status"] == status]
        figure.add_trace(go.Scatter(
            x=part[x_name].tolist(), y=part[y_name].tolist(), mode="markers", name=label, marker=marker,
            error_y=quality_error_bars(part, y_name), customdata=hover_data(part),
            hovertemplate=hover_template(x_name, y_name, label)))
    chosen = frame[frame["number"] == report.summary.chosen_trial]
    if len(chosen) and chosen[x_name].notna().all():
        figure.add_trace(go.Scatter(
            x=chosen[x_name].tolist(), y=chosen[y_name].tolist(), mode="markers", name="chosen",
            marker=CHOSEN_MARKER, customdata=hover_data(chosen),
            hovertemplate=hover_template(x_name, y_name, "chosen")))
    draw_references(figure, report, x_name, y_name)
    note = draw_budget(figure, report.summary.budgets.get(x_name), frame[x_name].dropna().tolist())
    base_layout(figure, f"{html.escape(y_name)} vs {html.escape(x_name)}"
                        + (f' <span class="aside">({html.escape(note)})</span>' if note else ""))
    figure.update_layout(xaxis_title=axis_title(x_name), yaxis_title=axis_title(y_name))
    return figure


def draw_references(figure: go.Figure, report: ReportModel, x_name: str, y_name: str) -> None:
    """Each scored reference architecture as a labelled black diamond (± its quality spread)."""
    for point in report.references:
        if point.values is None:
            continue
        spread = (dict(type="data", array=[point.quality_sd], visible=True, thickness=1, width=3)
                  if y_name == "quality" and point.quality_sd is not None else None)
        label = f"reference: {point.name}"
        figure.add_trace(go.Scatter(
            x=[point.values[x_name]], y=[point.values[y_name]], mode="markers+text", name=label,
            text=[html.escape(point.name)], textposition="top center", marker=REFERENCE_MARKER,
            error_y=spread, hovertemplate=(
                f"{html.escape(label)}<br>pattern {html.escape(point.pattern)}<br>"
                f"{html.escape(y_name)} %{{y:.4g}}<br>{html.escape(x_name)} %{{x:.4g}}<extra></extra>")))


def tradeoff_figures(report: ReportModel) -> list[tuple[str, go.Figure]]:
    """(cost name, figure) for every objective after the first; empty when nothing completed."""
    plotted = report.trials["status"].isin([status for status, _, _ in GROUPS])
    if not plotted.any():
        return []
    return [(name, tradeoff_figure(report, name)) for name in report.summary.metric_names[1:]]


def figure_html(figure: go.Figure, div_id: str) -> str:
    """An HTML fragment: the figure's title as a heading, then the plot (plotly.js itself is
    inlined once in the page head)."""
    title = figure.layout.title.text or ""
    figure.update_layout(title_text=None)
    plot = figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG)
    return f'<h3 class="figure-title">{title}</h3>{plot}'
