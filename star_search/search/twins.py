"""Study-wide reuse: a candidate another trial (any worker, any machine) has evaluated is not redone.

Samplers propose the same architecture again (NSGA-II's crossover of two equal parents, TPE near
its optimum), and with many workers two of them may draw it at the same time. On-disk caches
catch repeats within one machine; this module catches them across the shared study: each trial
publishes its `arch_id` as soon as it is sampled, and a new trial with the same id either copies
the finished twin's record or, while the twin still runs on another worker, waits for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

# Trial record attrs copied from a finished twin (the sampled params are the trial's own).
RECORD_ATTRS = ("params", "target_arch", "proxy", "proxy_tiers", "measurement", "prediction", "fidelity",
                "stage_seconds", "constraint_names", "constraints")
POLL_S = 2.0
REUSED_ATTR = "reused_from"  # on a trial that copied a twin's record: the twin's number


def _twins(study: optuna.Study, arch_id: str, number: int) -> list[FrozenTrial]:
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
    return [t for t in trials if t.number != number and t.user_attrs.get("arch_id") == arch_id
            and (t.state == TrialState.RUNNING or t.values is not None)]


def finished_twin(study: optuna.Study, arch_id: str, number: int, wait_s: float,
                  usable: Callable[[FrozenTrial], bool] = lambda _: True) -> FrozenTrial | None:
    """A COMPLETE trial of `arch_id` other than `number` whose record is `usable`; while only
    RUNNING ones exist, wait up to `wait_s` seconds for one to complete. None when there is none
    (or it failed, or no finished one is usable: then the trial is evaluated afresh)."""
    deadline = time.monotonic() + wait_s
    while True:
        twins = _twins(study, arch_id, number)
        complete = [t for t in twins if t.state == TrialState.COMPLETE and usable(t)]
        if complete:
            return min(complete, key=lambda t: t.number)
        # Only wait for twins still running that started earlier: two trials that start together
        # must not wait for each other, and a finished twin whose record is not usable will not
        # become usable by waiting.
        earlier = [t for t in twins if t.number < number and t.state == TrialState.RUNNING]
        if not earlier or time.monotonic() >= deadline:
            return None
        time.sleep(POLL_S)
        # A twin whose worker died stops sending heartbeats: fail it (and queue its retry) so
        # this trial does not wait for a result that will never come.
        optuna.storages.fail_stale_trials(study)


def copy_record(twin: FrozenTrial, trial: optuna.Trial) -> Sequence[float]:
    """Copy the twin's record and constraints onto `trial`; return its objective values."""
    attrs: dict[str, Any] = twin.user_attrs
    for key in RECORD_ATTRS:
        if key in attrs:
            trial.set_user_attr(key, attrs[key])
    for name, value in zip(attrs.get("constraint_names", []), attrs.get("constraints", []), strict=False):
        trial.set_constraint(name, value)
    trial.set_user_attr(REUSED_ATTR, twin.number)
    assert twin.values is not None
    return list(twin.values)
