"""The Optuna objective: sample a candidate, evaluate it, record everything on the trial.

Trial user attrs are the trial record the report and export read: `arch`, `arch_id`, `pattern`,
`params`, `proxy`, `measurement`, `constraints` (+ `constraint_names`), `stage_seconds`,
`duration_s`, and on failure `fail_stage` and `fail_reason`.
"""

from __future__ import annotations

import time
from typing import Any

import optuna

from star_search.errors import SpecError
from star_search.scoring import budget_names, objective_values
from star_search.scoring.constraints import CONSTRAINT_NAMES_ATTR, CONSTRAINTS_ATTR
from star_search.search.candidate import CandidateEvaluator, StageFailure, StaticReject
from star_search.space import SearchSpace, sample_arch


class SearchObjective:
    def __init__(self, space: SearchSpace, evaluator: CandidateEvaluator):
        self.space = space
        self.evaluator = evaluator
        self.constraint_names = budget_names(evaluator.profile.budgets)

    def _record_failure(self, trial: optuna.Trial, stage: str, reason: str) -> None:
        trial.set_user_attr("fail_stage", stage)
        trial.set_user_attr("fail_reason", reason[:2000])

    def __call__(self, trial: optuna.Trial) -> list[float]:
        start = time.perf_counter()
        try:
            spec = sample_arch(self.space, trial)
        except SpecError as err:
            self._record_failure(trial, "sample", str(err))
            raise
        trial.set_user_attr("arch", spec.to_dict())
        trial.set_user_attr("arch_id", spec.arch_id)
        trial.set_user_attr("pattern", spec.pattern())
        try:
            result = self.evaluator.evaluate(spec)
        except StaticReject as err:
            trial.set_user_attr("prune_reason", err.reason)
            for name, value in err.constraints.items():
                trial.set_constraint(name, value)
            raise optuna.TrialPruned(err.reason) from err
        except StageFailure as err:
            self._record_failure(trial, err.stage, err.reason)
            raise
        except Exception as err:
            self._record_failure(trial, "evaluate", f"{type(err).__name__}: {err}")
            raise
        finally:
            trial.set_user_attr("duration_s", round(time.perf_counter() - start, 3))
        record: dict[str, Any] = {
            "params": result.params,
            "target_arch": result.target.to_dict(),
            "proxy": result.proxy,
            "measurement": result.measurement,
            "stage_seconds": result.stage_seconds,
            CONSTRAINT_NAMES_ATTR: self.constraint_names,
            CONSTRAINTS_ATTR: [result.constraints[name] for name in self.constraint_names],
        }
        for key, value in record.items():
            trial.set_user_attr(key, value)
        for name in self.constraint_names:
            trial.set_constraint(name, result.constraints[name])
        m = result.measurement
        return objective_values(result.quality, m["decode_p50_ms"], m["ttft_ms"], m["peak_rss_bytes"])
