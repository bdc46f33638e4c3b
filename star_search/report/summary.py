"""The run summary of a study: space, device profile, budgets, trial counts and time spent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial

from star_search.scoring.constraints import BUDGET_FIELDS

LISTED_STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING")


def _parse(when: Any) -> dt.datetime | None:
    if not isinstance(when, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(when)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _utc(when: dt.datetime) -> dt.datetime:
    # Optuna stores naive local datetimes; treat them as local time to compare with the attrs.
    return when.astimezone(dt.UTC)


def wall_seconds(attrs: dict[str, Any], trials: Sequence[FrozenTrial]) -> float | None:
    """finished_at − started_at from the study attrs, else last trial end − first trial start."""
    start, end = _parse(attrs.get("started_at")), _parse(attrs.get("finished_at"))
    if start and end:
        return (end - start).total_seconds()
    starts = [_utc(t.datetime_start) for t in trials if t.datetime_start]
    ends = [_utc(t.datetime_complete) for t in trials if t.datetime_complete]
    if start:
        starts.append(start)
    if not starts or not ends:
        return None
    return max(0.0, (max(ends) - min(starts)).total_seconds())


def busy_seconds(trials: Sequence[FrozenTrial]) -> float | None:
    """The trials' recorded `duration_s` added up (None when no trial recorded one)."""
    durations = [float(d) for t in trials if isinstance(d := t.user_attrs.get("duration_s"), int | float)]
    return sum(durations) if durations else None


def state_counts(trials: Sequence[FrozenTrial]) -> dict[str, int]:
    counts = {state: 0 for state in LISTED_STATES}
    for trial in trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def study_facts(study: optuna.Study) -> dict[str, Any]:
    """The study attrs the summary reads, each with a safe default."""
    attrs = study.user_attrs
    profile = attrs.get("device_profile") if isinstance(attrs.get("device_profile"), dict) else {}
    raw_budgets = profile.get("budgets") if isinstance(profile.get("budgets"), dict) else {}
    return {
        "attrs": attrs, "profile": dict(profile),
        "budgets": {name: raw_budgets.get(name) for name in BUDGET_FIELDS},
        "space_info": attrs.get("space_info") if isinstance(attrs.get("space_info"), dict) else {},
        "proxy_config": attrs.get("proxy_config") if isinstance(attrs.get("proxy_config"), dict) else {},
    }


def status_counts(frame: pd.DataFrame) -> tuple[int, int]:
    """(feasible, infeasible) complete trials of a collected frame."""
    status = frame["status"]
    return int(status.isin(["front", "dominated"]).sum()), int((status == "infeasible").sum())
