"""Study → report: `collect` computes a `ReportModel`; the HTML and CSV writers render it."""

from star_search.report.collect import collect
from star_search.report.comparison import Comparison, collect_comparison
from star_search.report.html import (
    render_comparison_html,
    render_html,
    write_comparison,
    write_report,
    write_report_from_storage,
)
from star_search.report.load import load_study
from star_search.report.model import FrontMember, ReportModel, RunSummary, StoppedTrial
from star_search.report.trials_csv import write_trials_csv

__all__ = ["Comparison", "FrontMember", "ReportModel", "RunSummary", "StoppedTrial", "collect",
           "collect_comparison", "load_study", "render_comparison_html", "render_html", "write_comparison",
           "write_report", "write_report_from_storage", "write_trials_csv"]
