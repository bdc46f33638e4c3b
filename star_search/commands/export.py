"""`star-search export`: a trial of a study, or a published preset, as files (see `export`)."""

from __future__ import annotations

from pathlib import Path

from star_search.commands.studies import export_trial, storage_from_study_arg
from star_search.errors import ExportError
from star_search.export import export_preset
from star_search.progress import console_progress


def run_export(study: str | None, trial: int | None, study_name: str | None, preset: str | None,
               family: bool, weights: bool, seed: int, out_dir: str) -> str:
    """Export `study`'s trial (the chosen one when `trial` is None) or `preset`; returns the summary."""
    if (study is None) == (preset is None):
        raise ExportError(f"give exactly one of study=<run dir or storage URL> and preset=<name> "
                          f"(got study={study!r}, preset={preset!r})")
    if preset is not None:
        result = export_preset(preset, Path(out_dir), family, weights, seed, console_progress())
    else:
        assert study is not None
        result = export_trial(storage_from_study_arg(study), study_name, trial, Path(out_dir), family=family,
                              weights=weights, seed=seed, progress=console_progress())
    return result.summary()
