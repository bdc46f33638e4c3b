"""Choose one architecture from a finished study.

The chosen trial is the feasible Pareto-front member with the best proxy quality; ties go to the
lowest decode latency. When no complete trial meets every budget, the least-violating complete
trial is chosen instead so the user still gets an answer (and the report says it is infeasible).
"""

from __future__ import annotations

from collections.abc import Callable

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from star_search.errors import StarSearchError


def feasible(trial: FrozenTrial) -> bool:
    return all(value <= 0 for value in trial.user_attrs.get("constraints", []))


def choose_trial(study: optuna.Study,
                 accept: Callable[[FrozenTrial], bool] | None = None) -> FrozenTrial:
    """The trial to ship; `accept` restricts the choice (e.g. to Hugging Face-expressible specs)."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if accept is None or accept(t)]
    if not complete:
        raise StarSearchError(f"study '{study.study_name}' has no complete trial to choose from")
    # The front among the accepted trials, so a restricted choice is still Pareto-optimal there.
    front_numbers = {t.number for t in _non_dominated(complete, study.directions)}
    candidates = [t for t in complete if t.number in front_numbers and feasible(t)]
    if candidates:
        return max(candidates, key=lambda t: (t.values[0], -t.values[1]))
    return min(complete, key=lambda t: (sum(max(0.0, c) for c in t.user_attrs.get("constraints", [1.0])),
                                        -t.values[0]))


def _dominates(a: FrozenTrial, b: FrozenTrial, directions: list[StudyDirection]) -> bool:
    better_or_equal = all((x >= y) if d == StudyDirection.MAXIMIZE else (x <= y)
                          for x, y, d in zip(a.values, b.values, directions, strict=True))
    return better_or_equal and a.values != b.values


def _non_dominated(trials: list[FrozenTrial], directions: list[StudyDirection]) -> list[FrozenTrial]:
    pool = [t for t in trials if feasible(t)] or trials
    return [t for t in pool if not any(_dominates(o, t, directions) for o in pool)]
