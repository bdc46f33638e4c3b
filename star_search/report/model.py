"""Collect a study into a `ReportModel`: plain data that the HTML and CSV writers only render.

Feasibility is read from each trial's `constraints` user attr (feasible iff every value is
≤ 0; a complete trial that recorded none counts as feasible). The Pareto front is computed among
COMPLETE, feasible trials with finite values, over every objective in the study's directions, so
an infeasible trial never pushes a feasible one off the front.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from star_search.errors import StarSearchError
from star_search.report.trial_row import order_columns, trial_row
from star_search.scoring.constraints import BUDGET_FIELDS
from star_search.scoring.objectives import OBJECTIVE_NAMES
from star_search.scoring.pareto import non_dominated, trial_feasible
from star_search.scoring.selection import choose_trial

LISTED_STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING")


@dataclass(frozen=True)
class RunSummary:
    """What ran, where, under which budgets, and how the trials ended."""

    study_name: str
    space: str | None
    profile: dict[str, Any]
    budgets: dict[str, float | None]
    started_at: str | None
    finished_at: str | None
    counts: dict[str, int]
    n_feasible: int
    n_infeasible: int
    n_front: int
    chosen_trial: int | None
    metric_names: tuple[str, ...]
    directions: tuple[str, ...]


@dataclass(frozen=True)
class FrontMember:
    """One feasible Pareto-optimal trial with its layer strip (mixer and ffn kind per layer)."""

    number: int
    arch_id: str
    pattern: str
    mixers: tuple[str, ...]
    ffns: tuple[str, ...]
    values: dict[str, float]


@dataclass(frozen=True)
class StoppedTrial:
    """A FAIL or PRUNED trial and why it stopped."""

    number: int
    state: str
    stage: str
    reason: str
    pattern: str
    arch_id: str


@dataclass(frozen=True)
class ReportModel:
    """Everything the report shows. `trials` has one row per trial (see `trial_row` for columns)."""

    summary: RunSummary
    trials: pd.DataFrame
    front: tuple[FrontMember, ...]
    stopped: tuple[StoppedTrial, ...]


def has_values(trial: FrozenTrial, n_objectives: int) -> bool:
    values = trial.values or []
    return len(values) == n_objectives and all(math.isfinite(v) for v in values)


def metric_names(study: optuna.Study) -> tuple[str, ...]:
    """The study's metric names; the project's objective names when unset and the count matches."""
    n = len(study.directions)
    if study.metric_names is not None:
        return tuple(study.metric_names)
    if n == len(OBJECTIVE_NAMES):
        return OBJECTIVE_NAMES
    return tuple(f"objective_{i}" for i in range(n))


def _front_numbers(trials: list[FrozenTrial], directions: list[StudyDirection]) -> set[int]:
    candidates = [t for t in trials if t.state == TrialState.COMPLETE and trial_feasible(t)
                  and has_values(t, len(directions))]
    values = np.array([t.values for t in candidates], dtype=float).reshape(len(candidates), len(directions))
    mask = non_dominated(values, [d == StudyDirection.MAXIMIZE for d in directions])
    return {t.number for t, on_front in zip(candidates, mask, strict=True) if on_front}


def _status(trial: FrozenTrial, on_front: bool, n_objectives: int) -> str:
    if trial.state == TrialState.FAIL:
        return "failed"
    if trial.state != TrialState.COMPLETE:
        return trial.state.name.lower()
    if not has_values(trial, n_objectives):
        return "no values"
    if not trial_feasible(trial):
        return "infeasible"
    return "front" if on_front else "dominated"


def _layers(trial: FrozenTrial) -> tuple[tuple[str, ...], tuple[str, ...]]:
    arch = trial.user_attrs.get("arch") or {}
    layers = [layer for layer in arch.get("layers") or [] if isinstance(layer, dict)]
    return (tuple(str(layer.get("mixer", "?")) for layer in layers),
            tuple(str(layer.get("ffn", "swiglu")) for layer in layers))


def _stopped(trial: FrozenTrial) -> StoppedTrial:
    attrs = trial.user_attrs
    if trial.state == TrialState.PRUNED:
        stage, reason = "static check", attrs.get("prune_reason", "")
    else:
        stage, reason = attrs.get("fail_stage", "?"), attrs.get("fail_reason", "")
    return StoppedTrial(trial.number, trial.state.name, str(stage), str(reason or "(no reason recorded)"),
                        str(attrs.get("pattern", "")), str(attrs.get("arch_id", "")))


def _chosen(study: optuna.Study) -> int | None:
    try:
        return choose_trial(study).number
    except StarSearchError:
        return None


def _summary(study: optuna.Study, trials: list[FrozenTrial], frame: pd.DataFrame, names: tuple[str, ...],
             n_front: int) -> RunSummary:
    attrs = study.user_attrs
    profile = attrs.get("device_profile") or {}
    raw_budgets = profile.get("budgets") or {}
    counts = {state: 0 for state in LISTED_STATES}
    for trial in trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    status = frame["status"]
    return RunSummary(
        study_name=study.study_name,
        space=attrs.get("space"),
        profile=dict(profile),
        budgets={name: raw_budgets.get(name) for name in BUDGET_FIELDS},
        started_at=attrs.get("started_at"),
        finished_at=attrs.get("finished_at"),
        counts=counts,
        n_feasible=int(status.isin(["front", "dominated"]).sum()),
        n_infeasible=int((status == "infeasible").sum()),
        n_front=n_front,
        chosen_trial=_chosen(study),
        metric_names=names,
        directions=tuple(d.name.lower() for d in study.directions),
    )


def collect(study: optuna.Study) -> ReportModel:
    """Read every trial of `study` into a `ReportModel`; computes nothing but feasibility and front."""
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    names = metric_names(study)
    directions = list(study.directions)
    front_numbers = _front_numbers(trials, directions)
    rows = [trial_row(t, names, _status(t, t.number in front_numbers, len(names)),
                      trial_feasible(t) if t.state == TrialState.COMPLETE else None)
            for t in trials]
    frame = pd.DataFrame(rows)
    frame = frame.reindex(columns=order_columns(list(frame.columns), names))
    front = []
    for trial in trials:
        if trial.number in front_numbers:
            mixers, ffns = _layers(trial)
            front.append(FrontMember(trial.number, str(trial.user_attrs.get("arch_id", "")),
                                     str(trial.user_attrs.get("pattern", "")), mixers, ffns,
                                     dict(zip(names, trial.values, strict=True))))
    front.sort(key=lambda m: [-v if d == StudyDirection.MAXIMIZE else v
                              for v, d in zip(m.values.values(), directions, strict=True)])
    stopped = tuple(_stopped(t) for t in trials if t.state in (TrialState.FAIL, TrialState.PRUNED))
    summary = _summary(study, trials, frame, names, len(front))
    return ReportModel(summary, frame, tuple(front), stopped)
