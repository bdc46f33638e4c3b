"""`star-search report`: the HTML report of one study, or the comparison of several."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from star_search.commands.studies import storage_from_study_arg
from star_search.report import write_report_from_storage


def run_report(study: Any, study_name: str | None, labels: list[str] | None, out: str) -> str:
    """`study`: a run folder, .db file or storage URL, or a list of them; returns the line to print."""
    studies = [str(s) for s in study] if isinstance(study, list | tuple) else [str(study)]
    path = write_report_from_storage([storage_from_study_arg(s) for s in studies], study_name, Path(out),
                                     labels=labels or studies)
    return f"report: {path}"
