"""Collect a study into a `ReportModel`.

Feasibility is read from each trial's `constraints` user attr (feasible iff every value is
≤ 0; a complete trial that recorded none counts as feasible). The Pareto front is computed among
COMPLETE, feasible trials with finite values, over every objective in the study's directions, so
an infeasible trial never pushes a feasible one off the front. Scores, fronts, hypervolume and
the chosen trial all come from `scoring`; this module only arranges them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import optuna
import pandas as pd
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from star_search.errors import StarSearchError
from star_search.report.latency_check import latency_comparison
from star_search.report.model import FrontMember, ReportModel, RunSummary, StoppedTrial
from star_search.report.operator_times import operator_breakdown
from star_search.report.progress import default_box, hypervolume_trace
from star_search.report.proxy_tasks import task_heatmap
from star_search.report.reference_points import reference_points
from star_search.report.summary import busy_seconds, state_counts, status_counts, study_facts, wall_seconds
from star_search.report.trial_row import order_columns, trial_row
from star_search.scoring.hypervolume import HypervolumeBox
from star_search.scoring.objectives import OBJECTIVE_NAMES
from star_search.scoring.pareto import non_dominated, trial_feasible
from star_search.scoring.selection import choose_trial
from star_search.search.cost import SearchCost, recorded_sessions
from star_search.search.references import stored_references


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


def _feasible_complete(trials: list[FrozenTrial], n_objectives: int) -> list[FrozenTrial]:
    return [t for t in trials if t.state == TrialState.COMPLETE and trial_feasible(t)
            and has_values(t, n_objectives)]


def _front_numbers(candidates: list[FrozenTrial], maximize: list[bool], columns: list[int]) -> list[int]:
    values = np.array([[t.values[c] for c in columns] for t in candidates], dtype=float)
    mask = non_dominated(values.reshape(len(candidates), len(columns)), [maximize[c] for c in columns])
    return [t.number for t, keep in zip(candidates, mask, strict=True) if keep]


def _projected_fronts(candidates: list[FrozenTrial], names: tuple[str, ...],
                      maximize: list[bool]) -> dict[str, tuple[int, ...]]:
    by_number = {t.number: t for t in candidates}
    fronts = {}
    for column, name in enumerate(names[1:], start=1):
        numbers = _front_numbers(candidates, maximize, [0, column])
        fronts[name] = tuple(sorted(numbers, key=lambda n: (by_number[n].values[column], n)))
    return fronts


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


def member(trial: FrozenTrial, names: tuple[str, ...]) -> FrontMember:
    """`trial` as a layer strip with its objective values."""
    arch = trial.user_attrs.get("arch") if isinstance(trial.user_attrs.get("arch"), dict) else {}
    layers = [layer for layer in arch.get("layers") or [] if isinstance(layer, dict)]
    values = trial.values if has_values(trial, len(names)) else [math.nan] * len(names)
    return FrontMember(trial.number, str(trial.user_attrs.get("arch_id", "")),
                       str(trial.user_attrs.get("pattern", "")),
                       tuple(str(layer.get("mixer", "?")) for layer in layers),
                       tuple(str(layer.get("ffn", "swiglu")) for layer in layers),
                       dict(zip(names, values, strict=True)), trial_feasible(trial))


STALE_REASON = ("its process stopped before finishing it (killed, or the machine went down): no heartbeat "
                "for search.grace_period_s, so a later run failed it and queued a retry of the same "
                "parameters (at most 2)")


def _stopped(trial: FrozenTrial) -> StoppedTrial:
    attrs = trial.user_attrs
    if trial.state == TrialState.PRUNED:
        stage, reason = attrs.get("prune_stage", "?"), attrs.get("prune_reason", "")
    elif "fail_stage" not in attrs and "fail_reason" not in attrs:
        # Failed by Optuna, not by the evaluator: its heartbeat stopped (fail_stale_trials).
        stage, reason = "stale", STALE_REASON
    else:
        stage, reason = attrs.get("fail_stage", "?"), attrs.get("fail_reason", "")
    return StoppedTrial(trial.number, trial.state.name, str(stage), str(reason or "(no reason recorded)"),
                        str(attrs.get("pattern", "")), str(attrs.get("arch_id", "")))


def _chosen(study: optuna.Study) -> FrozenTrial | None:
    try:
        return choose_trial(study)
    except StarSearchError:
        return None


def collect(study: optuna.Study, box: HypervolumeBox | None = None) -> ReportModel:
    """Read every trial of `study` into a `ReportModel`. `box` fixes the hypervolume's box (to
    compare studies); by default it comes from this study's budgets and values."""
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    names = metric_names(study)
    maximize = [d == StudyDirection.MAXIMIZE for d in study.directions]
    candidates = _feasible_complete(trials, len(names))
    front_numbers = set(_front_numbers(candidates, maximize, list(range(len(names)))))
    rows = [trial_row(t, names, _status(t, t.number in front_numbers, len(names)),
                      trial_feasible(t) if t.state == TrialState.COMPLETE else None)
            for t in trials]
    frame = pd.DataFrame(rows)
    frame = frame.reindex(columns=order_columns(list(frame.columns), names))
    front = sorted((member(t, names) for t in candidates if t.number in front_numbers),
                   key=lambda m: [-v if up else v for v, up in zip(m.values.values(), maximize, strict=True)])
    chosen_trial = _chosen(study)
    chosen = member(chosen_trial, names) if chosen_trial is not None else None
    facts = study_facts(study)
    n_feasible, n_infeasible = status_counts(frame)
    summary = RunSummary(
        study_name=study.study_name, space=facts["attrs"].get("space"), profile=facts["profile"],
        budgets=facts["budgets"], started_at=facts["attrs"].get("started_at"),
        finished_at=facts["attrs"].get("finished_at"), counts=state_counts(trials),
        n_feasible=n_feasible, n_infeasible=n_infeasible, n_front=len(front),
        chosen_trial=chosen.number if chosen else None, metric_names=names,
        directions=tuple(d.name.lower() for d in study.directions),
        wall_seconds=wall_seconds(facts["attrs"], trials), busy_seconds=busy_seconds(trials),
        space_info=facts["space_info"], proxy_config=facts["proxy_config"],
        pipeline=tuple(str(stage) for stage in facts["attrs"].get("pipeline") or ()),
        cost=SearchCost.of(sessions) if (sessions := recorded_sessions(facts["attrs"])) else None)
    box = box or default_box(trials, names, maximize, facts["budgets"])
    by_number = {t.number: t for t in trials}
    shown = ([chosen] if chosen else []) + [m for m in front if not chosen or m.number != chosen.number]
    heatmap_rows = [(m.number, f"#{m.number} {m.pattern}", by_number[m.number].user_attrs.get("proxy"))
                    for m in shown]
    return ReportModel(
        summary=summary, trials=frame, front=tuple(front),
        stopped=tuple(_stopped(t) for t in trials if t.state in (TrialState.FAIL, TrialState.PRUNED)),
        chosen=chosen, projected_fronts=_projected_fronts(candidates, names, maximize),
        hypervolume=hypervolume_trace(trials, box), tasks=task_heatmap(heatmap_rows),
        latency=latency_comparison(trials),
        operators=operator_breakdown(chosen.number if chosen else None,
                                     chosen_trial.user_attrs if chosen_trial else {}),
        references=reference_points(stored_references(study), candidates, names, maximize),
        front_mixers=_front_mixers(front))


def _front_mixers(front: Sequence[FrontMember]) -> dict[str, tuple[int, ...]]:
    """Each mixer kind on the front, with the members that use it."""
    kinds = sorted({kind for member in front for kind in member.mixers})
    return {kind: tuple(m.number for m in front if kind in m.mixers) for kind in kinds}
