"""Choose one architecture from a finished study.

The chosen trial is the feasible Pareto-front member with the best proxy quality; ties go to the
lowest decode latency. When no complete trial meets every budget, the least-violating complete
trial is chosen instead so the user still gets an answer (and the report says it is infeasible).
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from star_search.errors import StarSearchError


def feasible(trial: FrozenTrial) -> bool:
    return all(value <= 0 for value in trial.user_attrs.get("constraints", []))


def choose_trial(study: optuna.Study) -> FrozenTrial:
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not complete:
        raise StarSearchError(f"study '{study.study_name}' has no complete trial to choose from")
    front_numbers = {t.number for t in study.best_trials}
    candidates = [t for t in complete if t.number in front_numbers and feasible(t)]
    if candidates:
        return max(candidates, key=lambda t: (t.values[0], -t.values[1]))
    return min(complete, key=lambda t: (sum(max(0.0, c) for c in t.user_attrs.get("constraints", [1.0])),
                                        -t.values[0]))
