"""Write the trials table of a study as CSV: the same flattened DataFrame the HTML report shows."""

from __future__ import annotations

from pathlib import Path

import optuna

from star_search.report.collect import collect


def write_trials_csv(study: optuna.Study, path: str | Path) -> Path:
    """One row per trial (all states), columns as in `report.trial_row`; parent folders created."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    collect(study).trials.to_csv(target, index=False)
    return target
