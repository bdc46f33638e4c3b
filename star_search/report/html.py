"""Render a `ReportModel` (or a `Comparison` of several) as ONE self-contained, offline HTML file.

plotly.js is inlined once, in the page head, when the page has a figure; the table sorting and
CSV download are a few lines of inline JavaScript; nothing is loaded from the network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import optuna
from plotly.offline import get_plotlyjs

from star_search.report.collect import collect
from star_search.report.comparison import Comparison, collect_comparison
from star_search.report.comparison_figures import fronts_figure, hypervolumes_figure
from star_search.report.detail_sections import latency_section, operators_section, tasks_section
from star_search.report.load import load_study
from star_search.report.model import ReportModel
from star_search.report.page_assets import PAGE_SCRIPT, STYLE
from star_search.report.sections import (
    esc,
    figure_block,
    layers_section,
    overview_section,
    section,
    stopped_section,
    summary_section,
    tradeoff_section,
    trials_section,
)

SECTIONS: tuple[tuple[str, str, Callable[[ReportModel, str], str]], ...] = (
    ("summary", "Summary", summary_section),
    ("tradeoffs", "Pareto fronts", tradeoff_section),
    ("overview", "All trials", overview_section),
    ("front", "Architectures", layers_section),
    ("tasks", "Proxy tasks", tasks_section),
    ("latency", "Predicted vs measured", latency_section),
    ("operators", "Operators", operators_section),
    ("failed", "Failed / pruned", stopped_section),
    ("trials", "Trial table", trials_section),
)


def study_sections(report: ReportModel, prefix: str = "") -> str:
    return "".join(render(report, prefix) for _, _, render in SECTIONS)


def _page(title: str, nav: Sequence[tuple[str, str]], body: str) -> str:
    has_figure = 'class="plotly-graph-div"' in body
    plotly = f"<script>{get_plotlyjs()}</script>" if has_figure else ""
    links = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in nav)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style>{plotly}</head><body>"
            f'<header class="top"><h1>{esc(title)}</h1><nav>{links}</nav></header>'
            f"<main>{body}</main><script>{PAGE_SCRIPT}</script></body></html>\n")


def render_html(report: ReportModel) -> str:
    """The whole report page of one study as one string."""
    return _page(f"star-search report: {report.summary.study_name}",
                 [(anchor, label) for anchor, label, _ in SECTIONS], study_sections(report))


def _comparison_table(comparison: Comparison) -> str:
    rows = []
    for index, (label, report) in enumerate(zip(comparison.labels, comparison.reports, strict=True), start=1):
        s = report.summary
        hv = report.hypervolume.final if report.hypervolume else 0.0
        finished = sum(s.counts.get(state, 0) for state in ("COMPLETE", "PRUNED", "FAIL"))
        rows.append(f'<tr><td><a href="#s{index}-summary">{esc(label)}</a></td><td>{esc(s.study_name)}</td>'
                    f"<td>{esc(s.space)}</td><td>{esc(s.profile.get('name'))}</td>"
                    f"<td class=num>{finished}</td>"
                    f"<td class=num>{s.n_feasible}</td><td class=num>{s.n_front}</td>"
                    f"<td>{esc(s.chosen_trial)}</td><td class=num>{hv:.3g}</td></tr>")
    return ('<table class="facts"><thead><tr><th>study</th><th>name</th><th>space</th><th>device</th>'
            "<th>finished</th><th>feasible</th><th>front</th><th>chosen</th><th>hypervolume</th></tr></thead>"
            f'<tbody>{"".join(rows)}</tbody></table>')


def render_comparison_html(comparison: Comparison) -> str:
    """One page: the studies side by side (overlaid fronts, hypervolumes in one box), then each
    study's full report."""
    note = ('<p class="note">Hypervolumes here share one box: quality 1 → 0 and each cost from 0 to the '
            "loosest budget the studies share, so they compare across studies.</p>")
    body = [section("", "comparison", "Comparison", _comparison_table(comparison) + note
                    + figure_block(fronts_figure(comparison), "compare-fronts")
                    + figure_block(hypervolumes_figure(comparison), "compare-hypervolume"))]
    nav = [("comparison", "Comparison")]
    for index, (label, report) in enumerate(zip(comparison.labels, comparison.reports, strict=True), start=1):
        prefix = f"s{index}-"
        body.append(f'<h2 class="study-title">Study {index}: {esc(label)}</h2>'
                    f"{study_sections(report, prefix)}")
        nav.append((f"{prefix}summary", label))
    names = ", ".join(comparison.labels)
    return _page(f"star-search comparison: {names}", nav, "".join(body))


def _write(page: str, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target


def write_report(study: optuna.Study, path: str | Path) -> Path:
    """Collect `study` and write its HTML report to `path` (parent folders created)."""
    return _write(render_html(collect(study)), path)


def write_comparison(studies: Sequence[optuna.Study], labels: Sequence[str], path: str | Path) -> Path:
    """One report comparing `studies` (labelled by `labels`), written to `path`."""
    return _write(render_comparison_html(collect_comparison(studies, labels)), path)


def write_report_from_storage(storage_url: str | Sequence[str], study_name: str | None, path: str | Path,
                              labels: Sequence[str] | None = None) -> Path:
    """`write_report` for a study named in a storage (the only one when `study_name` is None); for
    several storages, `write_comparison` of their studies, labelled by `labels` (default: URLs)."""
    if isinstance(storage_url, str):
        return write_report(load_study(storage_url, study_name), path)
    urls = list(storage_url)
    studies = [load_study(url, study_name) for url in urls]
    if len(studies) == 1:
        return write_report(studies[0], path)
    return write_comparison(studies, list(labels) if labels is not None else urls, path)
