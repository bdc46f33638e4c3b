"""The Optuna objective: sample a candidate, evaluate it, record everything on the trial.

Trial user attrs are the trial record the report and export read: `arch`, `arch_id`, `pattern`,
`params`, `proxy` (the last proxy tier's result), `proxy_tiers` (every tier's, by name),
`measurement` (the latency and memory figures the objectives use: `source` says measured or
predicted), `prediction` (the predicted figures, when the pipeline predicted), `fidelity` (the
stages passed), `constraints` (+ `constraint_names`), `stage_seconds`, `duration_s`, `worker`
(host:pid), `hypervolume` (of the feasible front once this trial is done), `reused_from` (a
finished twin whose record was copied, see `twins.py`); a pruned trial has `prune_stage` and
`prune_reason`, a failed one `fail_stage` and `fail_reason`.

A candidate's own failure fails its trial and the search goes on. A failure of the machine or
the storage (`FATAL_ERRORS`: the disk full, the study's database lost past its reconnect window)
would fail every trial after it the same way, so it fails the trial (when the storage still takes
the record) and stops this process's search with that error (`SearchObjective.optimize`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from star_search.errors import DiskFullError, SizeUnreachable, SpecError, StudyStorageError
from star_search.scoring import budget_names, objective_values
from star_search.scoring.constraints import CONSTRAINT_NAMES_ATTR, CONSTRAINTS_ATTR
from star_search.search.candidate import CandidateEvaluator, StageFailure, StagePruned
from star_search.search.front_hypervolume import HYPERVOLUME_ATTR, front_hypervolume
from star_search.search.stopping import StopAtTrials, trials_to_start
from star_search.search.twins import copy_record, finished_twin
from star_search.space import SearchSpace, sample_arch

logger = logging.getLogger(__name__)
# Which process ran a trial (host:pid), for reports and for tests that kill one worker.
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
# Errors that are not the candidate's: they stop the search instead of failing trial after trial.
FATAL_ERRORS = (DiskFullError, StudyStorageError)


class SearchObjective:
    """`twin_wait_s`: how long a trial waits for another worker's running trial of the same
    architecture before evaluating it itself."""

    def __init__(self, space: SearchSpace, evaluator: CandidateEvaluator, twin_wait_s: float = 0.0):
        self.space = space
        self.evaluator = evaluator
        self.twin_wait_s = twin_wait_s
        self.constraint_names = budget_names(evaluator.profile.budgets)
        self.budgets = asdict(evaluator.profile.budgets)
        self.fatal_error: Exception | None = None  # set when a FATAL_ERRORS error stopped the search
        self.trial_number: int | None = None  # the trial this process ran last

    def optimize(self, study: optuna.Study,
                 callbacks: list[Callable[[optuna.Study, FrozenTrial], None]]) -> None:
        """`study.optimize` with this objective until a callback stops it. A candidate's failure
        fails its trial and the loop goes on; a fatal error stops the loop and is raised (also
        when the storage cannot take the failed trial's record because of it). A trial that
        another worker failed as stale while it still ran (its heartbeats could not reach the
        storage for longer than the grace period, e.g. while the database restarted) is left to
        its retry, and the loop goes on."""
        self.fatal_error = None
        stop = next((c for c in callbacks if isinstance(c, StopAtTrials)), None)
        while True:
            try:
                # Optuna checks its timeout before each trial starts: none starts after the deadline.
                deadline = None if stop is None else stop.deadline
                timeout = None if deadline is None else max(0.0, deadline - time.time())
                study.optimize(self, n_trials=None, timeout=timeout, catch=(Exception,), callbacks=callbacks)
            except Exception as err:
                if self.fatal_error is not None and err is not self.fatal_error:
                    raise self.fatal_error from err
                if self.fatal_error is not None or not self._finished_elsewhere(study, err):
                    raise
                logger.warning("trial %s was failed by another worker while it still ran (its heartbeat "
                               "went stale); its retry evaluates it again", self.trial_number)
                if stop is None or (trials_to_start(study, stop.n_trials) > 0 and not stop.out_of_time):
                    continue
            break
        if self.fatal_error is not None:
            raise self.fatal_error

    def _finished_elsewhere(self, study: optuna.Study, err: Exception) -> bool:
        """Whether `err` is Optuna refusing to update this process's last trial because it was
        already failed (by `fail_stale_trials` in another process)."""
        if not isinstance(err, ValueError | UpdateFinishedTrialError) or self.trial_number is None:
            return False
        trial = next((t for t in study.get_trials(deepcopy=False) if t.number == self.trial_number), None)
        return trial is not None and trial.state == TrialState.FAIL

    def _record_hypervolume(self, trial: optuna.Trial, values: list[float] | None) -> None:
        trial.set_user_attr(HYPERVOLUME_ATTR, front_hypervolume(trial.study, self.budgets, values))

    def _record_failure(self, trial: optuna.Trial, stage: str, reason: str) -> None:
        trial.set_user_attr("fail_stage", stage)
        trial.set_user_attr("fail_reason", reason[:2000])
        self._record_hypervolume(trial, None)

    def _stop_for(self, trial: optuna.Trial, stage: str, err: Exception) -> None:
        """Record a fatal error on its trial as far as the storage allows, and stop the search."""
        self.fatal_error = err
        trial.study.stop()
        try:
            self._record_failure(trial, stage, f"{type(err).__name__}: {err}")
        except Exception as record_err:  # the storage itself may be what failed
            logger.warning("trial %s: could not record its failure (%s)", trial.number, record_err)

    def __call__(self, trial: optuna.Trial) -> list[float]:
        self.trial_number = trial.number
        try:
            return self._run(trial)
        except Exception as err:
            fatal = fatal_cause(err)
            if fatal is not None:
                self._stop_for(trial, getattr(err, "stage", "evaluate"), fatal)
            raise

    def _run(self, trial: optuna.Trial) -> list[float]:
        start = time.perf_counter()
        try:
            spec = sample_arch(self.space, trial)
        except SizeUnreachable as err:  # a region of the space off its parameter target: pruned
            trial.set_user_attr("pattern", err.pattern)
            trial.set_user_attr("prune_stage", "sample")
            trial.set_user_attr("prune_reason", str(err)[:2000])
            self._record_hypervolume(trial, None)
            raise optuna.TrialPruned(str(err)) from err
        except SpecError as err:
            self._record_failure(trial, "sample", str(err))
            raise
        except ValueError as err:  # Optuna's: a parameter's range or choices differ from the study's
            self._record_failure(trial, "sample", f"{err} (did the search space change since this study "
                                 "started? a changed space needs a new out_dir or search.study_name)")
            raise
        trial.set_user_attr("worker", WORKER_ID)
        trial.set_user_attr("arch", spec.to_dict())
        trial.set_user_attr("arch_id", spec.arch_id)
        trial.set_user_attr("pattern", spec.pattern())
        twin = finished_twin(trial.study, spec.arch_id, trial.number, self.twin_wait_s,
                             lambda twin: self.evaluator.reusable(twin.user_attrs))
        if twin is not None:
            values = list(copy_record(twin, trial))
            trial.set_user_attr("duration_s", round(time.perf_counter() - start, 3))
            self._record_hypervolume(trial, values if trial_feasible_values(trial) else None)
            return values
        try:
            result = self.evaluator.evaluate(spec, lambda: finished_trials(trial.study))
        except StagePruned as err:
            trial.set_user_attr("prune_stage", err.stage)
            trial.set_user_attr("prune_reason", err.reason[:2000])
            for name, value in err.constraints.items():
                trial.set_constraint(name, value)
            self._record_hypervolume(trial, None)
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
            "proxy_tiers": result.proxy_tiers,
            "measurement": result.latency,
            "prediction": result.prediction,
            "fidelity": result.fidelity,
            "stage_seconds": result.stage_seconds,
            CONSTRAINT_NAMES_ATTR: self.constraint_names,
            CONSTRAINTS_ATTR: [result.constraints[name] for name in self.constraint_names],
        }
        for key, value in record.items():
            trial.set_user_attr(key, value)
        for name in self.constraint_names:
            trial.set_constraint(name, result.constraints[name])
        m = result.latency
        values = objective_values(result.quality, m["decode_p50_ms"], m["ttft_ms"], m["peak_rss_bytes"])
        feasible = all(result.constraints[name] <= 0 for name in self.constraint_names)
        self._record_hypervolume(trial, values if feasible else None)
        return values


def fatal_cause(err: BaseException) -> Exception | None:
    """The `FATAL_ERRORS` error behind `err` (itself, or what a stage's failure was raised from)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, FATAL_ERRORS):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def finished_trials(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def trial_feasible_values(trial: optuna.Trial) -> bool:
    """Whether the constraints recorded on a running trial all hold."""
    return all(float(c) <= 0 for c in trial.user_attrs.get(CONSTRAINTS_ATTR) or [])
