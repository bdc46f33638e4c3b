"""A storage outage longer than the grace period (a slow PostgreSQL restart): other workers fail the
running trials as stale and queue their retries. The worker that still runs one must not crash
when Optuna refuses its result: it leaves the trial to its retry and goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from star_search.scoring import budget_names
from star_search.search import SearchSettings, open_study
from star_search.search.candidate import CandidateResult
from star_search.search.objective import SearchObjective
from star_search.search.stopping import StopAtTrials
from star_search.spec import ArchSpec


class FailedElsewhereEvaluator:
    """Evaluates every candidate at once (made-up figures); while evaluating the first, its trial
    is failed as stale and retried, as `fail_stale_trials` in another worker does."""

    def __init__(self, profile, study: optuna.Study):
        self.profile = profile
        self.study = study
        self.calls = 0

    def evaluate(self, spec: ArchSpec, finished: Callable[[], object]) -> CandidateResult:
        self.calls += 1
        if self.calls == 1:
            [running] = self.study.get_trials(states=(TrialState.RUNNING,))
            storage = self.study._storage
            storage.set_trial_state_values(running._trial_id, TrialState.FAIL)
            RetryHeartbeatStaleTrialCallback(max_retry=2)(self.study, storage.get_trial(running._trial_id))
        latency = {"source": "measured", "decode_p50_ms": 5.0, "ttft_ms": 20.0, "peak_rss_bytes": 10**8}
        constraints = {name: -1.0 for name in budget_names(self.profile.budgets)}
        return CandidateResult(spec, 1000, {"quality": 0.5}, latency, constraints)


def test_a_worker_whose_trial_was_failed_elsewhere_goes_on(tmp_path: Path, demo_space, quick_profile,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    settings = SearchSettings(space=demo_space, profile=quick_profile, out_dir=tmp_path / "run",
                              sampler="random")
    study = open_study(settings)
    evaluator = FailedElsewhereEvaluator(quick_profile, study)
    objective = SearchObjective(demo_space, evaluator)
    objective.optimize(study, [StopAtTrials(3)])  # no error: the loop went on past trial 0

    trials = study.get_trials()
    assert trials[0].state == TrialState.FAIL
    [retry] = [t for t in trials if 0 in t.system_attrs.get("retry_history", [])]
    assert retry.state == TrialState.COMPLETE and retry.params == trials[0].params
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 3
    assert "trial 0 was failed by another worker" in caplog.text
