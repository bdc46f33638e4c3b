"""Reading the optional parts of a trial record defensively: per-task proxy scores (many tasks,
families), predicted vs measured latency, and ETDump per-operator times in their several shapes."""

from __future__ import annotations

import statistics

import optuna
import pytest
from synthetic_study import build_synthetic_study

from star_search.report import collect, render_html
from star_search.report.detail_figures import family_heatmap_figure
from star_search.report.latency_check import COMPARED, latency_comparison
from star_search.report.operator_times import operator_breakdown
from star_search.report.overview_figures import hypervolume_figure
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


def prediction(decode_ms: float, ttft_ms: float, peak_rss_bytes: int) -> dict:
    """The latency predictor's record, with exactly its keys."""
    return {"ttft_ms": ttft_ms, "prefill_tok_s": 64 / (ttft_ms / 1000), "decode_p50_ms": decode_ms,
            "decode_p95_ms": decode_ms * 1.5, "peak_rss_bytes": peak_rss_bytes, "source": "predicted",
            "table_version": "t1"}


def measured(decode_ms: float, ttft_ms: float, peak_rss_bytes: int) -> dict:
    return {"source": "measured", "backend": "local", "ttft_ms": ttft_ms,
            "prefill_tok_s": 64 / (ttft_ms / 1000), "decode_p50_ms": decode_ms,
            "decode_p95_ms": decode_ms * 1.5, "peak_rss_bytes": peak_rss_bytes}


def test_latency_pairs_read_the_prediction_and_measurement_attrs():
    only_predicted = prediction(7.0, 70.0, 2**30)
    trials = [
        trial(1, measurement=measured(10.0, 100.0, 2**30), prediction=prediction(12.0, 90.0, 2**30)),
        trial(2, measurement=only_predicted, prediction=only_predicted),  # a pipeline without measure
        trial(3, measurement=measured(5.0, 50.0, 2**29)),                  # measured, never predicted
        trial(4, measurement={**measured(20.0, 100.0, 2**30), "ttft_ms": float("nan")},
              prediction=prediction(21.0, 150.0, 2**31)),
        # `predicted` is not the attr the search writes: not read.
        trial(5, measurement=measured(5.0, 50.0, 2**29), predicted=prediction(9.0, 90.0, 2**29)),
    ]
    latency = latency_comparison(trials)
    assert (latency.n_predicted, latency.n_measured, latency.n_compared) == (3, 4, 2)
    assert latency.table_versions == ("t1",)
    pairs = {(p.number, p.metric): p for p in latency.pairs}
    assert set(pairs) == {(1, m) for m in COMPARED} | {(4, m) for m in COMPARED if m != "ttft_ms"}
    assert pairs[(1, "decode_p50_ms")].relative_error == pytest.approx(0.2)
    assert pairs[(1, "ttft_ms")].relative_error == pytest.approx(-0.1)
    assert pairs[(1, "prefill_tok_s")].relative_error == pytest.approx(100 / 90 - 1)
    assert pairs[(4, "peak_rss_bytes")].relative_error == pytest.approx(1.0)
    errors = {e.metric: e for e in latency.errors}
    assert list(errors) == list(COMPARED)
    decode = errors["decode_p50_ms"]  # trial 1: +20%, trial 4: +5%
    assert (decode.n, decode.mape, decode.max_abs, decode.bias, decode.within) == pytest.approx(
        (2, 0.125, 0.2, 0.125, 0.5))
    assert (errors["ttft_ms"].n, errors["ttft_ms"].within) == (1, 1.0)
    assert (errors["peak_rss_bytes"].mape, errors["peak_rss_bytes"].bias) == pytest.approx((0.5, 0.5))


def test_latency_section_shows_the_error_of_every_figure():
    study = build_synthetic_study(optuna.storages.InMemoryStorage(), 120, seed=4)
    # Expected from the raw attrs, independently of the report code.
    errors: dict[str, list[float]] = {m: [] for m in COMPARED}
    for t in study.trials:
        m, p = t.user_attrs.get("measurement"), t.user_attrs.get("prediction")
        if m and p and m["source"] == "measured":
            for metric in COMPARED:
                errors[metric].append((p[metric] - m[metric]) / m[metric])
    assert len(errors["ttft_ms"]) >= 5
    page = render_html(collect(study))
    section = page[page.index('<section id="latency">'):page.index('<section id="operators">')]
    for metric, values in errors.items():
        absolute = sorted(abs(v) for v in values)
        figures = [sum(absolute) / len(values), statistics.median(absolute), absolute[-1],
                   sum(v <= 0.1 for v in absolute) / len(values)]
        cells = "".join(f"<td class=num>{100 * f:.1f}%</td>" for f in figures)
        bias = f"<td class=num>{100 * sum(values) / len(values):+.1f}%</td>"
        row = f"<tr><td>{metric}</td><td>{COMPARED[metric][0]}</td><td class=num>{len(values)}</td>"
        assert f"{row}{cells}{bias}</tr>" in section
    assert "table version synthetic-test-table" in section and 'id="latency-check"' in section


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


def test_family_heatmap_only_when_a_family_has_several_tasks():
    several = task_heatmap([(0, "#0", proxy_with(3, 2))])
    assert family_heatmap_figure(several) is not None
    one_each = task_heatmap([(0, "#0", proxy_with(3, 1))])
    assert len(one_each.families) == 3 and family_heatmap_figure(one_each) is None


def test_few_trials_get_whole_number_ticks(contract_study):
    figure = hypervolume_figure(collect(contract_study).hypervolume)
    assert figure.layout.xaxis.dtick == 1 and figure.layout.xaxis.title.text == "trial number"
