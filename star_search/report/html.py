"""Render a `ReportModel` as ONE self-contained, offline HTML file.

Sections: run summary, trade-off scatters (plotly.js inlined once, with the first figure), a
layer strip per Pareto-front member, a sortable trials table (a few lines of inline JavaScript,
no CDN) and the trials that failed or were pruned, with reasons. Every string that came from the
study is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import optuna

from star_search.report.figures import figure_html, tradeoff_figures
from star_search.report.load import load_study
from star_search.report.model import FrontMember, ReportModel, StoppedTrial, collect
from star_search.report.page_assets import MIXER_COLOURS, SORT_SCRIPT, STYLE

TABLE_COLUMNS = ("number", "status", "pattern", "arch_id", "params", "quality", "decode_p50_ms",
                 "ttft_ms", "peak_rss_mb", "decode_p95_ms", "prefill_tok_s", "measurement_source",
                 "duration_s")
PROFILE_FACTS = ("name", "backend", "threads", "prompt_len", "decode_steps")


def esc(value: Any) -> str:
    """HTML-escaped text of `value` (quotes too, so it is safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(column: str, value: Any) -> str:
    """Display text of a table cell: thousands separators for counts, short decimals for figures."""
    if _is_missing(value):
        return ""
    if column in ("number", "params") and isinstance(value, int | float):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4g}" if column == "quality" else f"{value:.2f}"
    return str(value)


def _budget_text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _profile_fact(profile: dict[str, Any], key: str) -> Any:
    shapes = profile.get("shapes") if isinstance(profile.get("shapes"), dict) else {}
    return profile.get(key, shapes.get(key))


def summary_section(report: ReportModel) -> str:
    s = report.summary
    rows: list[tuple[str, Any]] = [("study", s.study_name), ("search space", s.space)]
    rows += [(f"device {key}", _profile_fact(s.profile, key)) for key in PROFILE_FACTS]
    budgets = ", ".join(f"{name} ≤ {_budget_text(value)}" for name, value in s.budgets.items()
                        if value is not None)
    rows += [("budgets", budgets or "none"), ("started", s.started_at), ("finished", s.finished_at)]
    by_state = ", ".join(f"{state.lower()} {count}" for state, count in s.counts.items())
    rows.append(("trials by state", by_state))
    rows += [("complete and feasible", s.n_feasible), ("complete but infeasible", s.n_infeasible),
             ("Pareto front (feasible)", s.n_front), ("chosen trial", s.chosen_trial),
             ("objectives", ", ".join(f"{n} ({d})" for n, d in zip(s.metric_names, s.directions,
                                                                   strict=True)))]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc('—' if v is None else v)}</td></tr>" for k, v in rows)
    return f'<section id="summary"><h2>Run summary</h2><table class="facts">{body}</table></section>'


def tradeoff_section(report: ReportModel) -> str:
    figures = tradeoff_figures(report)
    if not figures:
        return '<section id="tradeoffs"><h2>Trade-offs</h2><p>No complete trial yet.</p></section>'
    parts = [figure_html(fig, f"tradeoff-{index}", include_plotlyjs=index == 0)
             for index, (_, fig) in enumerate(figures)]
    blocks = "".join(f'<div class="figure">{part}</div>' for part in parts)
    return (f'<section id="tradeoffs"><h2>Trade-offs</h2><p>The front is computed over all '
            f'{len(report.summary.metric_names)} objectives among feasible trials; each plot is a '
            f'projection, so front members may look dominated in it.</p>{blocks}</section>')


def _strip(member: FrontMember) -> str:
    cells = []
    for index, (mixer, ffn) in enumerate(zip(member.mixers, member.ffns, strict=True)):
        colour = MIXER_COLOURS.get(mixer, "#999999")
        moe = " moe" if ffn == "moe" else ""
        cells.append(f'<span class="cell{moe}" style="background:{colour}" '
                     f'title="layer {index}: {esc(mixer)} / {esc(ffn)}"></span>')
    values = ", ".join(f"{esc(k)} {v:.4g}" for k, v in member.values.items())
    return (f'<tr><td>{member.number}</td><td class="mono">{esc(member.pattern)}</td>'
            f'<td class="strip">{"".join(cells)}</td><td>{values}</td></tr>')


def layers_section(report: ReportModel) -> str:
    legend = "".join(f'<span class="cell" style="background:{colour}"></span> {esc(kind)} &nbsp;'
                     for kind, colour in MIXER_COLOURS.items())
    legend += '<span class="cell moe" style="background:#ffffff"></span> MoE feed-forward'
    if not report.front:
        body = "<p>No feasible complete trial yet.</p>"
    else:
        rows = "".join(_strip(member) for member in report.front)
        body = (f'<table class="strips"><thead><tr><th>trial</th><th>pattern</th><th>layers</th>'
                f'<th>objectives</th></tr></thead><tbody>{rows}</tbody></table>')
    return (f'<section id="front"><h2>Pareto front: layer strips</h2><p class="legend">{legend}</p>'
            f'{body}</section>')


def trials_section(report: ReportModel) -> str:
    frame = report.trials
    columns = [c for c in TABLE_COLUMNS if c in frame.columns]
    columns += [c for c in frame.columns if c.startswith("constraint.")]
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    rows = []
    for record in frame.to_dict(orient="records"):
        cells = "".join(f'<td data-sort="{esc("" if _is_missing(record[c]) else record[c])}">'
                        f"{esc(format_value(c, record[c]))}</td>" for c in columns)
        rows.append(f'<tr class="{esc(record["status"]).replace(" ", "-")}">{cells}</tr>')
    return (f'<section id="trials"><h2>All trials</h2><p>Click a column header to sort.</p>'
            f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f"</table></section>")


def _stopped_row(trial: StoppedTrial) -> str:
    return (f"<tr><td>{trial.number}</td><td>{esc(trial.state)}</td><td>{esc(trial.stage)}</td>"
            f'<td class="mono">{esc(trial.pattern)}</td><td class="mono">{esc(trial.arch_id)}</td>'
            f'<td class="reason">{esc(trial.reason)}</td></tr>')


def stopped_section(report: ReportModel) -> str:
    if not report.stopped:
        return '<section id="failed"><h2>Failed and pruned trials</h2><p>None.</p></section>'
    rows = "".join(_stopped_row(trial) for trial in report.stopped)
    return ('<section id="failed"><h2>Failed and pruned trials</h2><table class="sortable"><thead><tr>'
            "<th>number</th><th>state</th><th>stage</th><th>pattern</th><th>arch_id</th><th>reason</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></section>")


def render_html(report: ReportModel) -> str:
    """The whole report page as one string (plotly.js inlined once when there is a figure)."""
    title = f"star-search report: {report.summary.study_name}"
    sections = (summary_section(report), tradeoff_section(report), layers_section(report),
                trials_section(report), stopped_section(report))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{esc(title)}</h1>{''.join(sections)}<script>{SORT_SCRIPT}</script></body></html>\n")


def write_report(study: optuna.Study, path: str | Path) -> Path:
    """Collect `study` and write its HTML report to `path` (parent folders created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(collect(study)), encoding="utf-8")
    return target


def write_report_from_storage(storage_url: str, study_name: str | None, path: str | Path) -> Path:
    """`write_report` for a study named in a storage (the only one when `study_name` is None)."""
    return write_report(load_study(storage_url, study_name), path)
