"""Hard device budgets as Optuna constraints (`Trial.set_constraint`): ≤ 0 means the budget holds.

Each constraint is the relative overshoot `(figure - budget) / budget`, so constraints of
different units are comparable when NSGA-II ranks infeasible candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

from star_search.profiler.device_profile import Budgets

CONSTRAINTS_ATTR = "constraints"
CONSTRAINT_NAMES_ATTR = "constraint_names"
BUDGET_FIELDS = ("decode_p50_ms", "ttft_ms", "peak_rss_mb", "params", "cache_mb")


@dataclass(frozen=True)
class Figures:
    """What the budgets are checked against, in the budgets' units."""

    decode_p50_ms: float | None = None
    ttft_ms: float | None = None
    peak_rss_mb: float | None = None
    params: int | None = None
    cache_mb: float | None = None


def budget_constraints(budgets: Budgets, figures: Figures) -> dict[str, float]:
    """Relative overshoot per budget that is set and whose figure is known."""
    result: dict[str, float] = {}
    for name in BUDGET_FIELDS:
        limit = getattr(budgets, name)
        value = getattr(figures, name)
        if limit is not None and value is not None:
            result[name] = (float(value) - float(limit)) / float(limit)
    return result


def budget_names(budgets: Budgets) -> list[str]:
    """Names of the budgets that are set, in the order constraints are stored."""
    return [name for name in BUDGET_FIELDS if getattr(budgets, name) is not None]
