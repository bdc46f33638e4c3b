"""HTML sections of detail: per-task proxy scores, predicted vs measured latency, and the chosen
program's per-operator time. Each says plainly when its data is absent from the study."""

from __future__ import annotations

import re

from star_search.report.detail_figures import (
    TOP_OPERATORS,
    family_heatmap_figure,
    latency_figure,
    operator_figure,
    task_heatmap_figure,
)
from star_search.report.latency_check import COMPARED, WITHIN, LatencyComparison
from star_search.report.model import ReportModel
from star_search.report.sections import esc, figure_block, section


def code_spans(text: str) -> str:
    """Already-escaped `text` with each `name` in backticks set as <code>name</code>."""
    return re.sub(r"`([^`<>]+)`", r"<code>\1</code>", text)


def tasks_section(report: ReportModel, prefix: str = "") -> str:
    title = "Proxy scores per task"
    heatmap = report.tasks
    if heatmap is None:
        return section(prefix, "tasks", title, "<p>No chosen or front trial has per-task proxy scores.</p>")
    more = f" {heatmap.left_out} more front members are left out." if heatmap.left_out else ""
    note = (f'<p class="note">Rows: the chosen trial, then the feasible Pareto front by quality '
            f"({len(heatmap.labels)} trials). Score 0 = chance, 1 = perfect; blank = task not run.{more}</p>")
    families = family_heatmap_figure(heatmap)
    return section(prefix, "tasks", title,
                   note + figure_block(families, f"{prefix}families")
                   + figure_block(task_heatmap_figure(heatmap), f"{prefix}task-scores"))


def _percent(fraction: float, signed: bool = False) -> str:
    return f"{100 * fraction:+.1f}%" if signed else f"{100 * fraction:.1f}%"


def _error_table(latency: LatencyComparison) -> str:
    rows = "".join(
        f"<tr><td>{esc(e.metric)}</td><td>{esc(COMPARED[e.metric][0])}</td><td class=num>{e.n}</td>"
        f"<td class=num>{_percent(e.mape)}</td><td class=num>{_percent(e.median_abs)}</td>"
        f"<td class=num>{_percent(e.max_abs)}</td><td class=num>{_percent(e.within)}</td>"
        f"<td class=num>{_percent(e.bias, signed=True)}</td></tr>" for e in latency.errors)
    return ('<table class="facts"><thead><tr><th>figure</th><th>unit</th><th>trials</th><th>MAPE</th>'
            f"<th>median |error|</th><th>max |error|</th><th>within ±{100 * WITHIN:.0f}%</th>"
            f"<th>mean error (bias)</th></tr></thead><tbody>{rows}</tbody></table>")


def latency_section(report: ReportModel, prefix: str = "") -> str:
    title = "Predicted vs measured latency"
    latency = report.latency
    if latency.n_predicted == 0:
        return section(prefix, "latency", title,
                       f"<p>No predictions in this study: all {latency.n_measured} trials with latency "
                       f"figures were measured. (A search records the latency table's prediction of a "
                       f"trial, <code>prediction</code>, when its pipeline has the <code>predict</code> "
                       f"stage.)</p>")
    versions = ", ".join(latency.table_versions)
    counts = (f'<p class="note">{latency.n_predicted} trials have a prediction (<code>prediction</code>, '
              f"from the latency table), {latency.n_measured} were measured whole "
              f"(<code>measurement</code>); {latency.n_compared} have both and are compared here"
              f"{f' (table version {esc(versions)})' if versions else ''}. Error = (predicted − measured) "
              f"/ measured; MAPE is the mean of its absolute value.</p>")
    figure = latency_figure(latency)
    if figure is None:
        return section(prefix, "latency", title,
                       counts + "<p>No trial has both a prediction and a measurement to compare yet: "
                       "the pipeline measures only the candidates that reach its <code>measure</code> "
                       "stage.</p>")
    return section(prefix, "latency", title,
                   counts + _error_table(latency) + figure_block(figure, f"{prefix}latency-check"))


def operators_section(report: ReportModel, prefix: str = "") -> str:
    title = "Per-operator time of the chosen candidate"
    breakdown = report.operators
    figure = operator_figure(breakdown)
    if figure is None:
        return section(prefix, "operators", title,
                       f"<p>No per-operator breakdown: {code_spans(esc(breakdown.note))}.</p>")
    per_method = [sum(r.method == row.method for r in breakdown.rows) for row in breakdown.rows]
    rest = (f" The largest {TOP_OPERATORS} per method are drawn; the rest are summed as other."
            if max(per_method) > TOP_OPERATORS else "")
    note = (f'<p class="note">{esc(breakdown.note)}: {len(breakdown.rows)} (method, operator) entries, '
            f"times per method call (prefill: the whole prompt; decode: one token). A delegate call "
            f"covers the delegated operators listed beside it.{rest}</p>")
    return section(prefix, "operators", title, note + figure_block(figure, f"{prefix}operator-times"))
