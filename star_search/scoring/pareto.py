"""Feasibility of a recorded trial and Pareto dominance, shared by selection and the report."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from optuna.trial import FrozenTrial


def trial_feasible(trial: FrozenTrial) -> bool:
    """Every constraint the trial recorded is ≤ 0 (a trial that recorded none counts as feasible)."""
    return all(float(c) <= 0 for c in trial.user_attrs.get("constraints") or [])


def dominates(a: Sequence[float], b: Sequence[float], maximize: Sequence[bool]) -> bool:
    """Whether objective values `a` dominate `b`: at least as good in every objective, better in one."""
    signs = np.where(maximize, -1.0, 1.0)
    cost_a, cost_b = np.asarray(a, dtype=float) * signs, np.asarray(b, dtype=float) * signs
    return bool(np.all(cost_a <= cost_b) and np.any(cost_a < cost_b))


def non_dominated(values: np.ndarray, maximize: list[bool]) -> np.ndarray:
    """Boolean mask of the rows of `values` [n, k] that no other row dominates."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    signs = np.where(maximize, -1.0, 1.0)
    costs = values * signs
    mask = np.ones(len(costs), dtype=bool)
    for i, row in enumerate(costs):
        better_or_equal = np.all(costs <= row, axis=1)
        strictly_better = np.any(costs < row, axis=1)
        mask[i] = not np.any(better_or_equal & strictly_better)
    return mask
