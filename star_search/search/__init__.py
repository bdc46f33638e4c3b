"""Study orchestration: settings, candidate evaluation, the Optuna objective, run and resume."""

from star_search.search.settings import SearchSettings
from star_search.search.study import SearchOutcome, open_study, run_search

__all__ = ["SearchOutcome", "SearchSettings", "open_study", "run_search"]
