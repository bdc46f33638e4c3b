"""collect(): states, feasibility, Pareto front membership and stop reasons from a real study."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from report_study import DOMINATED, FRONT, HOSTILE, INFEASIBLE, OUTCOMES

from star_search.report import collect
from star_search.scoring.pareto import non_dominated


def test_summary_counts_profile_and_budgets(contract_study):
    summary = collect(contract_study).summary
    assert summary.counts == {"COMPLETE": 5, "PRUNED": 1, "FAIL": 1, "RUNNING": 0}
    assert summary.metric_names == ("quality", "decode_p50_ms", "ttft_ms", "peak_rss_mb")
    assert summary.directions == ("maximize", "minimize", "minimize", "minimize")
    assert summary.budgets["decode_p50_ms"] == 20.0 and summary.budgets["params"] == 10_000_000
    assert summary.profile["name"] == "laptop_cpu" and summary.space == "demo"
    assert (summary.n_feasible, summary.n_infeasible, summary.n_front) == (4, 1, 3)
    assert summary.finished_at is None


def test_front_excludes_dominated_and_infeasible(contract_study):
    report = collect(contract_study)
    status = dict(zip(report.trials["number"], report.trials["status"], strict=True))
    assert {n for n, s in status.items() if s == "front"} == FRONT
    assert {n for n, s in status.items() if s == "dominated"} == DOMINATED
    assert {n for n, s in status.items() if s == "infeasible"} == INFEASIBLE
    assert (status[4], status[5]) == ("failed", "pruned")
    assert {m.number for m in report.front} == FRONT
    best = report.front[0]
    assert best.number == 0 and best.mixers == ("conv", "conv", "attention", "conv", "conv", "attention")


def test_trials_frame_is_flat_with_one_row_per_trial(contract_study):
    frame = collect(contract_study).trials
    assert list(frame["number"]) == list(range(len(OUTCOMES)))
    row = frame.set_index("number").loc[0]
    assert row["quality"] == 0.80 and row["decode_p95_ms"] == 11.0 and row["d_model"] == 64
    assert row["task.recall.score"] == 0.80 and row["constraint.params"] == -0.9
    assert bool(frame.set_index("number").loc[3, "feasible"]) is False
    assert frame.set_index("number").loc[6, "pattern"] == HOSTILE


def test_stopped_trials_keep_their_reasons(contract_study):
    stopped = {t.number: t for t in collect(contract_study).stopped}
    assert stopped[4].state == "FAIL" and stopped[4].stage == "measure"
    assert "child crashed" in stopped[4].reason
    assert stopped[5].state == "PRUNED" and stopped[5].stage == "static"
    assert "exceed the budget" in stopped[5].reason


def test_non_dominated_keeps_ties_and_honours_directions():
    values = np.array([[1.0, 5.0], [1.0, 5.0], [0.5, 6.0], [2.0, 9.0]])
    assert non_dominated(values, [True, False]).tolist() == [True, True, False, True]
    assert non_dominated(np.zeros((0, 2)), [True, False]).tolist() == []


def test_hypervolume_counts_only_feasible_trials_in_the_budget_box(contract_study):
    trace = collect(contract_study).hypervolume
    assert trace.box.ideal == (1.0, 0.0, 0.0, 0.0)
    assert trace.box.reference == (0.0, 20.0, 200.0, 1000.0)
    # Normalised, trial 0 spans 0.8·0.5·0.5·0.5 = 0.1 of the box; trial 2 adds 0.23625 − 0.075
    # (its overlap with 0); trial 6 brings the union of the three boxes to 0.304375 (inclusion–
    # exclusion by hand). Trial 1 is dominated, 3 breaks a budget, 4 failed, 5 was pruned.
    assert trace.numbers == tuple(range(len(OUTCOMES)))
    expected = [0.1, 0.1, 0.26125, 0.26125, 0.26125, 0.26125, 0.304375]
    assert list(trace.values) == pytest.approx(expected)


def test_chosen_and_projected_fronts(contract_study):
    report = collect(contract_study)
    assert report.chosen is not None and report.chosen.number == 0 and report.chosen.feasible
    assert report.summary.chosen_trial == 0
    # quality vs each cost among feasible trials {0, 1, 2, 6}: 1 is beaten by 0 in every view.
    costs = ("decode_p50_ms", "ttft_ms", "peak_rss_mb")
    assert report.projected_fronts == dict.fromkeys(costs, (6, 2, 0))


def test_task_heatmap_rows_are_chosen_then_front(contract_study):
    heatmap = collect(contract_study).tasks
    assert heatmap.numbers == (0, 2, 6)
    assert heatmap.tasks == ("copy", "recall") and heatmap.task_families == ("(no family)",) * 2
    assert heatmap.scores[0] == (0.44, 0.80) and heatmap.families == ()


def test_summary_wall_time_from_trials_when_unfinished(contract_study):
    summary = collect(contract_study).summary
    assert summary.busy_seconds == pytest.approx(1.5 * len(OUTCOMES))
    assert summary.wall_seconds is not None and summary.wall_seconds >= 0


def test_a_trial_failed_as_stale_says_why() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.add_trial(optuna.trial.create_trial(state=TrialState.FAIL, user_attrs={"pattern": "cc"}))
    (stopped,) = collect(study).stopped
    assert stopped.stage == "stale" and "no heartbeat" in stopped.reason
