"""Study → report: `collect` computes a `ReportModel`; the HTML and CSV writers render it."""

from star_search.report.html import render_html, write_report, write_report_from_storage
from star_search.report.load import load_study
from star_search.report.model import FrontMember, ReportModel, RunSummary, StoppedTrial, collect
from star_search.report.trials_csv import write_trials_csv

__all__ = ["FrontMember", "ReportModel", "RunSummary", "StoppedTrial", "collect", "load_study",
           "render_html", "write_report", "write_report_from_storage", "write_trials_csv"]
