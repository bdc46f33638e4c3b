"""Choose one architecture from a finished study.

The chosen trial is the feasible Pareto-front member with the best proxy quality; ties go to the
lowest decode latency. When no complete trial meets every budget, the least-violating complete
trial is chosen instead so the user still gets an answer (and the report says it is infeasible).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from star_search.errors import StarSearchError
from star_search.scoring.pareto import non_dominated, trial_feasible


def choose_trial(study: optuna.Study,
                 accept: Callable[[FrozenTrial], bool] | None = None) -> FrozenTrial:
    """The trial to ship; `accept` restricts the choice (e.g. to Hugging Face-expressible specs)."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if accept is None or accept(t)]
    if not complete:
        raise StarSearchError(f"study '{study.study_name}' has no complete trial to choose from")
    # The front among the accepted trials, so a restricted choice is still Pareto-optimal there.
    front_numbers = {t.number for t in _non_dominated(complete, study.directions)}
    candidates = [t for t in complete if t.number in front_numbers and trial_feasible(t)]
    if candidates:
        return max(candidates, key=lambda t: (t.values[0], -t.values[1]))
    return min(complete, key=lambda t: (sum(max(0.0, c) for c in t.user_attrs.get("constraints", [1.0])),
                                        -t.values[0]))


def _non_dominated(trials: list[FrozenTrial], directions: list[StudyDirection]) -> list[FrozenTrial]:
    pool = [t for t in trials if trial_feasible(t)] or trials
    mask = non_dominated(np.array([t.values for t in pool], dtype=float),
                         [d == StudyDirection.MAXIMIZE for d in directions])
    return [t for t, keep in zip(pool, mask, strict=True) if keep]
