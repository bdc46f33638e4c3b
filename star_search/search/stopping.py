"""When a study has enough trials: counted across every worker that shares its storage.

A trial counts once it is finished (complete, pruned or failed), except a failed trial that was
retried (Optuna's stale-trial retry re-queues it as a WAITING trial, which counts instead). A
worker stops when the finished trials plus those other workers are still running reach the
target and no retry is waiting, so N workers overshoot by at most N − 1 trials that started at
the same moment.
"""

from __future__ import annotations

import time

import optuna
from optuna.trial import FrozenTrial, TrialState

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _retried(trials: list[FrozenTrial]) -> set[int]:
    return {number for t in trials for number in t.system_attrs.get("retry_history", [])}


def finished_count(study: optuna.Study) -> int:
    """Finished trials, a retried failure counted once (through its retry)."""
    trials = study.get_trials(deepcopy=False)
    retried = _retried(trials)
    return sum(t.state in FINISHED and not (t.state == TrialState.FAIL and t.number in retried)
               for t in trials)


def trials_to_start(study: optuna.Study, n_trials: int) -> int:
    """How many more trials a worker may start: 0 once finished + running reach `n_trials`,
    but at least the number of queued retries (they must run for nothing to be lost)."""
    running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
    waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    return max(waiting, n_trials - finished_count(study) - running)


class StopAtTrials:
    """Optuna callback: stop this worker when `trials_to_start` says no more are needed, or once
    `deadline` (seconds since the epoch, `search.timeout_s` after the session started) has passed:
    like Optuna's own `timeout`, a trial that is running then is finished, none is started."""

    def __init__(self, n_trials: int, deadline: float | None = None):
        self.n_trials = n_trials
        self.deadline = deadline

    @property
    def out_of_time(self) -> bool:
        return self.deadline is not None and time.time() >= self.deadline

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if trials_to_start(study, self.n_trials) <= 0 or self.out_of_time:
            study.stop()
