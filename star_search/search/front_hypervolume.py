"""The hypervolume of a study's feasible front, recorded on every trial as it finishes.

The box is `scoring.hypervolume.hypervolume_box` over the study's objectives and the device
budgets (quality from 1 down to chance, each cost from 0 up to its budget), so with every cost
budgeted the figure is comparable from trial to trial; an unbudgeted cost's reference follows the
worst feasible value seen so far, and the report recomputes the whole history in one final box.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import optuna
from optuna.trial import TrialState

from star_search.scoring.hypervolume import hypervolume, hypervolume_box
from star_search.scoring.objectives import OBJECTIVES
from star_search.scoring.pareto import trial_feasible

HYPERVOLUME_ATTR = "hypervolume"
MAXIMIZE = [o.direction == optuna.study.StudyDirection.MAXIMIZE for o in OBJECTIVES]
NAMES = [o.name for o in OBJECTIVES]


def front_hypervolume(study: optuna.Study, budgets: Mapping[str, float | None],
                      extra: Sequence[float] | None = None) -> float:
    """Normalised hypervolume of the study's feasible complete trials, plus `extra` (the values
    of the trial being finished, when it is feasible)."""
    rows = [t.values for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.values is not None and trial_feasible(t)]
    if extra is not None:
        rows.append(list(extra))
    if not rows:
        return 0.0
    values = np.asarray(rows, dtype=float)
    box = hypervolume_box(NAMES, MAXIMIZE, budgets, values)
    return hypervolume(box.normalise(values), [1.0] * len(NAMES))
