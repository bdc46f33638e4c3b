"""HTML sections of detail: per-task proxy scores, predicted vs measured latency, and the chosen
program's per-operator time. Each says plainly when its data is absent from the study."""

from __future__ import annotations

import statistics

from star_search.report.detail_figures import (
    TOP_OPERATORS,
    family_heatmap_figure,
    latency_figure,
    operator_figure,
    task_heatmap_figure,
)
from star_search.report.latency_check import COMPARED
from star_search.report.model import ReportModel
from star_search.report.sections import esc, figure_block, section


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


def _error_table(report: ReportModel) -> str:
    rows = []
    for metric in COMPARED:
        pairs = report.latency.for_metric(metric)
        if not pairs:
            continue
        errors = [abs(p.relative_error) * 100 for p in pairs]
        signed = [p.relative_error * 100 for p in pairs]
        rows.append(f"<tr><td>{esc(metric)}</td><td class=num>{len(pairs)}</td>"
                    f"<td class=num>{statistics.median(errors):.1f}%</td>"
                    f"<td class=num>{max(errors):.1f}%</td>"
                    f"<td class=num>{statistics.fmean(signed):+.1f}%</td></tr>")
    return ('<table class="facts"><thead><tr><th>figure</th><th>trials</th><th>median |error|</th>'
            "<th>max |error|</th><th>mean error (bias)</th></tr></thead>"
            f'<tbody>{"".join(rows)}</tbody></table>')


def latency_section(report: ReportModel, prefix: str = "") -> str:
    title = "Predicted vs measured latency"
    latency = report.latency
    if latency.n_predicted == 0:
        return section(prefix, "latency", title,
                       f"<p>No predictions in this study: all {latency.n_measured} trials with latency "
                       f"figures were measured.</p>")
    counts = (f'<p class="note">{latency.n_predicted} trials have predicted figures, {latency.n_measured} '
              f"have measured ones; {len({p.number for p in latency.pairs})} have both.</p>")
    figure = latency_figure(latency)
    if figure is None:
        return section(prefix, "latency", title,
                       counts + "<p>No trial has both a prediction and a measurement to compare yet.</p>")
    return section(prefix, "latency", title,
                   counts + _error_table(report) + figure_block(figure, f"{prefix}latency-check"))


def operators_section(report: ReportModel, prefix: str = "") -> str:
    title = "Per-operator time of the chosen candidate"
    breakdown = report.operators
    figure = operator_figure(breakdown)
    if figure is None:
        return section(prefix, "operators", title,
                       f"<p>No per-operator breakdown: {esc(breakdown.note)}.</p>")
    per_method = [sum(r.method == row.method for r in breakdown.rows) for row in breakdown.rows]
    rest = (f" The largest {TOP_OPERATORS} per method are drawn; the rest are summed as other."
            if max(per_method) > TOP_OPERATORS else "")
    note = (f'<p class="note">{esc(breakdown.note)}: {len(breakdown.rows)} (method, operator) entries, '
            f"times per method call (prefill: the whole prompt; decode: one token). A delegate call "
            f"covers the delegated operators listed beside it.{rest}</p>")
    return section(prefix, "operators", title, note + figure_block(figure, f"{prefix}operator-times"))
