"""A real search: sample, train proxies, lower through ExecuTorch, measure, record, resume."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from star_search.commands.search import search_and_finish
from star_search.profiler.device_profile import with_changes
from star_search.proxies.suite import proxy_config_for_tier
from star_search.search import SearchSettings, open_study, run_search
from star_search.space import parse_space


@pytest.fixture
def tiny_settings(tmp_path: Path, demo_space, quick_profile) -> SearchSettings:
    return SearchSettings(space=demo_space, profile=quick_profile, out_dir=tmp_path / "run",
                          n_trials=2, seed=0, population_size=4,
                          proxies=replace(proxy_config_for_tier("demo"), steps=20))


def test_search_records_measured_trials_and_resumes(tiny_settings: SearchSettings) -> None:
    lines: list[str] = []
    run = search_and_finish(tiny_settings, echo=lines.append)
    outcome = run.outcome
    assert outcome.n_complete + outcome.n_failed + outcome.n_pruned == 2
    assert outcome.n_complete >= 1, lines
    assert run.report_path is not None and run.report_path.stat().st_size > 100_000
    assert run.csv_path is not None and len(run.csv_path.read_text().splitlines()) == 3
    study = open_study(tiny_settings)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    for trial in complete:
        m = trial.user_attrs["measurement"]
        assert m["source"] == "measured"
        assert m["decode_p50_ms"] > 0 and m["ttft_ms"] > 0 and m["peak_rss_bytes"] > 0
        assert len(m["decode_samples_ms"]) == tiny_settings.profile.shapes.decode_steps * 2
        assert trial.values[1] == pytest.approx(m["decode_p50_ms"])
        assert trial.user_attrs["arch_id"] and trial.user_attrs["proxy"]["tasks"]
        assert len(trial.user_attrs["constraints"]) == len(trial.user_attrs["constraint_names"])
    assert any("trial 0" in line for line in lines)  # progress is shown per trial
    cost = outcome.session_cost
    assert cost is not None and cost.trials == 2 and cost.wall_s > 0 and cost.cpu_s > 0
    assert cost.programs_lowered >= len({t.user_attrs["arch_id"] for t in complete})
    assert any(line.startswith("cost of this session: ") for line in lines)

    # Same study name and storage: resume, keeping finished trials, adding one more.
    before = {t.number: t.values for t in complete}
    again = run_search(replace(tiny_settings, n_trials=3), echo=lines.append)
    study = open_study(tiny_settings)
    assert len(study.trials) == 3
    assert again.n_complete >= outcome.n_complete
    for number, values in before.items():
        assert study.trials[number].values == values
    assert again.total_cost is not None
    assert (again.total_cost.sessions, again.total_cost.trials) == (2, 3)


def test_failing_candidate_becomes_failed_trial_and_search_goes_on(tiny_settings: SearchSettings) -> None:
    # A space that cannot sample at all is refused when it is parsed, so the failure here is one
    # only the study can see: it was started with d_model among [64], and the space now offers
    # [64, 128] (Optuna refuses a changed set of choices for a parameter already in the study).
    raw = {"name": "changed", "fixed": {"vocab_size": 512, "head_dim": 16, "n_kv_heads": 2},
           "params": {"d_model": {"choices": [64, 128]}}, "layers": [{"repeat": 1, "slots": ["attention"]}]}
    settings = replace(tiny_settings, space=parse_space(raw), n_trials=3)
    study = open_study(settings)
    first = study.ask({"d_model": optuna.distributions.CategoricalDistribution([64])})
    study.tell(first, state=TrialState.FAIL)
    outcome = run_search(settings, echo=lambda _: None)
    assert outcome.n_failed == 3
    for trial in open_study(settings).trials[1:]:
        assert trial.state == TrialState.FAIL
        assert trial.user_attrs["fail_stage"] == "sample"
        assert "search space change" in trial.user_attrs["fail_reason"]


def test_param_budget_prunes_before_any_work(tiny_settings: SearchSettings) -> None:
    profile = with_changes(tiny_settings.profile, {"budgets": {"params": 1000}})
    settings = replace(tiny_settings, profile=profile, n_trials=1)
    outcome = run_search(settings, echo=lambda _: None)
    assert outcome.n_pruned == 1
    trial = open_study(settings).trials[0]
    assert "exceed the budget" in trial.user_attrs["prune_reason"]
    assert "measurement" not in trial.user_attrs


def test_sampler_is_nsga2_with_constraints(tiny_settings: SearchSettings) -> None:
    study = open_study(tiny_settings)
    assert isinstance(study.sampler, optuna.samplers.NSGAIISampler)
    assert study.metric_names == ["quality", "decode_p50_ms", "ttft_ms", "peak_rss_mb"]


def _first_draw(settings: SearchSettings, worker: int = 0) -> float:
    study = open_study(settings, worker=worker)
    trial = study.ask()
    value = trial.suggest_float("x", 0.0, 1.0)
    study.tell(trial, [0.1, 1.0, 1.0, 1.0])
    return value


def test_resumed_and_parallel_samplers_do_not_replay_draws(tiny_settings: SearchSettings) -> None:
    settings = replace(tiny_settings, sampler="random")
    first = _first_draw(settings)
    assert _first_draw(settings) != first  # resumed: a new stream, not the first run's draws again
    fresh = replace(settings, out_dir=settings.out_dir.parent / "fresh")
    assert _first_draw(fresh) == first  # a fresh run with the same seed is reproducible
    other = replace(settings, out_dir=settings.out_dir.parent / "worker1")
    assert _first_draw(other, worker=1) != first  # another worker, another stream


def test_candidate_off_the_parameter_target_is_pruned_at_sample(tiny_settings: SearchSettings) -> None:
    fixed = {"vocab_size": 512, "head_dim": 16, "n_kv_heads": 2, "target_params": 1000}
    raw = {"name": "sized", "fixed": fixed, "params": {"d_model": {"choices": [64, 128]}},
           "layers": [{"repeat": 2, "slots": ["conv", "attention"]}]}
    settings = replace(tiny_settings, space=parse_space(raw), n_trials=2)
    outcome = run_search(settings, echo=lambda _: None)
    assert outcome.n_pruned == 2
    for trial in open_study(settings).trials:
        assert trial.state == TrialState.PRUNED and trial.user_attrs["prune_stage"] == "sample"
        assert trial.user_attrs["pattern"] == "caca"  # the candidate's strip, though it was never built
        assert "cannot reach the space's target of 1,000 parameters" in trial.user_attrs["prune_reason"]


def test_references_are_scored_in_the_study_s_terms_once(tiny_settings: SearchSettings, tiny_spec) -> None:
    """A reference goes through the same proxy tier and measurement as the trials, is stored
    beside them (not as a trial), is drawn in the report with where it falls, and a resumed
    search does not score it again."""
    from star_search.report import collect, render_html
    from star_search.search.references import REFERENCES_ATTR

    reference = replace(tiny_spec, name="tiny-reference")
    settings = replace(tiny_settings, n_trials=1, references=(reference,))
    lines: list[str] = []
    run_search(settings, echo=lines.append)
    study = open_study(settings)
    assert len(study.trials) == 1
    (record,) = study.user_attrs[REFERENCES_ATTR]
    assert record["arch_id"] == reference.arch_id and record["pipeline"] == ["demo", "measure"]
    assert record["measurement"]["source"] == "measured" and record["measurement"]["decode_p50_ms"] > 0
    quality, decode_ms, _, _ = record["values"]
    assert 0 <= quality <= 1 and decode_ms == record["measurement"]["decode_p50_ms"]
    assert any(line.startswith("reference tiny-reference") for line in lines)
    report = collect(study)
    (point,) = report.references
    assert point.values is not None and point.values["quality"] == quality
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert set(point.dominated_by) | set(point.dominates) <= {t.number for t in complete}
    page = render_html(report)
    assert "reference: tiny-reference" in page and "where it falls" in page
    assert "tiny-reference: fastest feasible measured trial with quality at least its own" in page
    assert "tiny-reference: best quality among feasible measured trials no slower than it" in page
    assert "<th>pipeline</th><td>static → demo → measure</td>" in page
    assert "Mixers on the front:" in page or not report.front

    again: list[str] = []
    run_search(replace(settings, n_trials=1), echo=again.append)
    assert "reference tiny-reference: already scored in this study" in again
    assert len(open_study(settings).user_attrs[REFERENCES_ATTR]) == 1


def test_a_session_out_of_time_finishes_its_trial_and_a_rerun_goes_on(tiny_settings: SearchSettings) -> None:
    settings = replace(tiny_settings, n_trials=50, timeout_s=20.0)
    lines: list[str] = []
    outcome = run_search(settings, echo=lines.append)
    finished = outcome.n_complete + outcome.n_failed + outcome.n_pruned
    assert 1 <= finished < 50, lines  # the first trial is started at once; 50 take far longer than 20 s
    assert any(f"stopped after search.timeout_s=20 s with {finished} of 50 trials finished" in line
               for line in lines)
    assert any(line.startswith("cost of this session") for line in lines)
    none = run_search(replace(settings, timeout_s=0.0), echo=lines.append)
    assert none.n_complete + none.n_failed + none.n_pruned == finished  # no trial starts at all
    again = run_search(replace(settings, n_trials=finished + 1, timeout_s=None), echo=lines.append)
    assert again.n_complete + again.n_failed + again.n_pruned == finished + 1
