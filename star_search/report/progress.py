"""Hypervolume of the feasible front after each trial, in the normalised box of `scoring`.

The box is documented in `scoring.hypervolume.hypervolume_box`: quality from 1 (ideal) to 0
(chance), each cost from 0 to its budget (or 1.1 × its worst feasible value when it has no
budget). A value of 0.4 means the feasible front dominates 40% of that box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from star_search.scoring.hypervolume import HypervolumeBox, hypervolume_box, hypervolume_history
from star_search.scoring.pareto import trial_feasible

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass(frozen=True)
class HypervolumeTrace:
    """numbers: finished trials in order; values: the hypervolume after each (0–1 of the box)."""

    numbers: tuple[int, ...]
    values: tuple[float, ...]
    box: HypervolumeBox

    @property
    def final(self) -> float:
        return self.values[-1] if self.values else 0.0


def counted_values(trial: FrozenTrial, n_objectives: int) -> np.ndarray | None:
    """The objective values of a complete, feasible trial with finite values; else None."""
    values = trial.values or []
    if trial.state != TrialState.COMPLETE or len(values) != n_objectives or not trial_feasible(trial):
        return None
    array = np.asarray(values, dtype=float)
    return array if np.all(np.isfinite(array)) else None


def default_box(trials: Sequence[FrozenTrial], names: Sequence[str], maximize: Sequence[bool],
                budgets: dict[str, float | None]) -> HypervolumeBox:
    counted = [v for v in (counted_values(t, len(names)) for t in trials) if v is not None]
    values = np.array(counted).reshape(len(counted), len(names))
    return hypervolume_box(names, maximize, budgets, values)


def hypervolume_trace(trials: Sequence[FrozenTrial], box: HypervolumeBox) -> HypervolumeTrace:
    """The trace over `trials` (sorted by number; unfinished ones are skipped)."""
    finished = [t for t in trials if t.state in FINISHED]
    points = []
    for trial in finished:
        values = counted_values(trial, len(box.names))
        points.append(None if values is None else box.normalise(values))
    history = hypervolume_history(points, [1.0] * len(box.names))
    return HypervolumeTrace(tuple(t.number for t in finished), tuple(history), box)
