"""Reading the optional parts of a trial record defensively: per-task proxy scores (many tasks,
families), predicted vs measured latency, and ETDump per-operator times in their several shapes."""

from __future__ import annotations

import optuna
import pytest

from star_search.report.latency_check import latency_comparison
from star_search.report.operator_times import operator_breakdown
from star_search.report.proxy_tasks import NO_FAMILY, task_heatmap


def proxy_with(n_families: int, per_family: int) -> dict:
    tasks = {f"f{f}_t{t}": {"family": f"f{f}", "accuracy": 0.5, "chance": 0.1, "score": (f + t) / 100}
             for f in range(n_families) for t in range(per_family)}
    families = {f"f{f}": sum((f + t) / 100 for t in range(per_family)) / per_family
                for f in range(n_families)}
    return {"tasks": tasks, "families": families, "quality": 0.3}


def test_heatmap_handles_a_large_suite_grouped_by_family():
    rows = [(n, f"#{n}", proxy_with(13, 4)) for n in range(3)]
    heatmap = task_heatmap(rows)
    assert len(heatmap.tasks) == 52 and heatmap.tasks[:4] == ("f0_t0", "f0_t1", "f0_t2", "f0_t3")
    assert heatmap.task_families[4:8] == ("f1",) * 4
    assert len(heatmap.families) == 13 and heatmap.family_scores[0][0] == pytest.approx(0.015)
    assert heatmap.scores[2][heatmap.tasks.index("f12_t3")] == pytest.approx(0.15)


def test_heatmap_tolerates_odd_records_and_caps_rows():
    odd = {"tasks": {"plain": 0.7, "broken": "n/a", "nan": {"score": float("nan")}, "ok": {"score": 1}},
           "families": "not a dict"}
    rows = [(0, "#0", odd), (1, "#1", None), (2, "#2", {"tasks": {"extra": {"score": 0.2, "family": "x"}}})]
    heatmap = task_heatmap(rows, max_rows=2)
    assert heatmap.numbers == (0, 1) and heatmap.left_out == 1
    assert dict(zip(heatmap.tasks, heatmap.scores[0], strict=True)) == {
        "broken": None, "nan": None, "ok": 1.0, "plain": 0.7}
    assert set(heatmap.task_families) == {NO_FAMILY} and heatmap.scores[1] == (None,) * 4
    assert task_heatmap([(0, "#0", {"quality": 0.5})]) is None


def trial(number: int, **attrs: object) -> optuna.trial.FrozenTrial:
    return optuna.trial.FrozenTrial(number=number, state=optuna.trial.TrialState.COMPLETE, value=None,
                                    values=[0.5, 1.0], datetime_start=None, datetime_complete=None,
                                    params={}, distributions={}, user_attrs=dict(attrs), system_attrs={},
                                    intermediate_values={}, trial_id=number)


def test_latency_pairs_from_separate_and_nested_predictions():
    trials = [
        trial(1, measurement={"source": "measured", "decode_p50_ms": 10.0, "ttft_ms": 100.0},
              predicted={"source": "predicted", "decode_p50_ms": 12.0, "ttft_ms": 90.0}),
        trial(2, measurement={"source": "predicted", "decode_p50_ms": 7.0, "ttft_ms": 70.0}),
        trial(3, measurement={"decode_p50_ms": 20.0, "ttft_ms": float("nan"),
                              "prediction": {"decode_p50_ms": 18.0, "ttft_ms": 150.0}}),
        trial(4, measurement={"source": "measured", "decode_p50_ms": 5.0, "ttft_ms": 50.0}),
    ]
    latency = latency_comparison(trials)
    assert (latency.n_predicted, latency.n_measured) == (3, 3)
    pairs = {(p.number, p.metric): p for p in latency.pairs}
    assert set(pairs) == {(1, "decode_p50_ms"), (1, "ttft_ms"), (3, "decode_p50_ms")}
    assert pairs[(1, "decode_p50_ms")].relative_error == pytest.approx(0.2)
    assert pairs[(3, "decode_p50_ms")].relative_error == pytest.approx(-0.1)


@pytest.mark.parametrize("raw", [
    [{"name": "linear", "ms": 2.0}, {"name": "softmax", "ms": 0.5}, {"name": "linear", "ms": 1.0}],
    [{"op": "linear", "time_ms": 3.0}, {"operator": "softmax", "total_ms": 0.5}],
    {"linear": 3.0, "softmax": {"ms": 0.5}},
])
def test_operator_times_in_every_shape(raw):
    breakdown = operator_breakdown(7, {"measurement": {"source": "measured", "backend": "local",
                                                       "operator_times": raw}})
    assert [(r.method, r.name, r.ms) for r in breakdown.rows] == [("program", "linear", 3.0),
                                                                   ("program", "softmax", 0.5)]
    assert breakdown.trial_number == 7 and "ETDump" in breakdown.note


def test_operator_times_per_method_and_absent():
    per_method = {"prefill": [{"name": "linear", "ms": 9.0}], "decode": {"linear": 1.0, "add": 0.1}}
    rows = operator_breakdown(1, {"measurement": {"operator_times": per_method}}).rows
    assert [(r.method, r.name) for r in rows] == [("prefill", "linear"), ("decode", "linear"),
                                                  ("decode", "add")]
    absent = operator_breakdown(2, {"measurement": {"source": "predicted"}})
    assert absent.rows == () and "figures are predicted" in absent.note and "etdump: true" in absent.note
    unreadable = operator_breakdown(3, {"measurement": {"operator_times": [1, 2, {"name": "x"}]}})
    assert unreadable.rows == () and "holds no (operator, ms) entries" in unreadable.note


def test_operator_times_in_the_profilers_format():
    rows = [{"method": "prefill", "operator": "Fully Connected (NC, F32) GEMM", "delegated": True,
             "calls": 24.0, "ms": 30.0},
            {"method": "decode", "operator": "Fully Connected (NC, F32) GEMM", "delegated": True,
             "calls": 24.0, "ms": 1.5},
            {"method": "decode", "operator": "cat.out", "delegated": False, "calls": 8.0, "ms": 0.2}]
    breakdown = operator_breakdown(4, {"measurement": {"backend": "local", "operator_times": rows}})
    assert breakdown.methods == ("prefill", "decode")
    decode = [r for r in breakdown.rows if r.method == "decode"]
    assert [(r.name, r.ms, r.calls, r.delegated) for r in decode] == [
        ("Fully Connected (NC, F32) GEMM", 1.5, 24.0, True), ("cat.out", 0.2, 8.0, False)]
