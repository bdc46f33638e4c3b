"""Objectives, budget constraints and feasibility."""

from star_search.scoring.constraints import (
    Figures,
    budget_constraints,
    budget_names,
)
from star_search.scoring.objectives import DIRECTIONS, OBJECTIVE_NAMES, OBJECTIVES, objective_values

__all__ = ["DIRECTIONS", "OBJECTIVES", "OBJECTIVE_NAMES", "Figures", "budget_constraints",
           "budget_names", "objective_values"]
