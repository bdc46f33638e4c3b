"""The validation's figures, from cases (no timing): plain errors and leave-one-out correction."""

from __future__ import annotations

import json

import pytest

from star_search.latency.validation import Case, ValidationResult, corrected_leave_one_out

METRICS = ("ttft_ms", "decode_p50_ms", "decode_p95_ms", "peak_rss_bytes")


def _case(i: int, d_model: int, measured: float, predicted: float) -> Case:
    return Case(f"arch{i}", "ccac", d_model, {m: predicted for m in METRICS}, {m: measured for m in METRICS})


def test_a_shared_bias_is_corrected_from_the_other_models_at_the_same_width() -> None:
    # At d_model 1024 the table predicts 20% too fast, at 1536 8% too slow, each with scatter.
    cases = [_case(i, 1024, 100.0 + i, (100.0 + i) * 0.8) for i in range(4)]
    cases += [_case(10 + i, 1536, 200.0 + 3 * i, (200.0 + 3 * i) * 1.08) for i in range(4)]
    result = ValidationResult("dev", "t1", "cal", "space", cases, 1.0)
    summary = result.summary()
    assert summary["ttft_ms"]["within_10pct"] == pytest.approx(0.5)  # 1536's +8% is within ±10%
    assert summary["corrected_leave_one_out"]["ttft_ms"]["within_10pct"] == 1.0
    assert summary["corrected_leave_one_out"]["ttft_ms"]["mape"] < 1e-9
    report = result.report()
    assert "leave one out" in report
    printed = json.loads(report.splitlines()[-1])
    assert printed["corrected_leave_one_out"]["decode_p50_ms"]["within_10pct"] == 1.0


def test_no_model_is_corrected_by_its_own_measurement() -> None:
    cases = [_case(i, 1024, 100.0, 80.0) for i in range(5)]
    wild = [*cases[:4], _case(4, 1024, 1000.0, 80.0)]  # only the last model's measurement differs
    first, second = corrected_leave_one_out(cases), corrected_leave_one_out(wild)
    assert second[4].predicted == first[4].predicted  # its correction comes from the other four
    assert second[4].predicted["ttft_ms"] == pytest.approx(100.0)
    assert second[4].error("ttft_ms") == pytest.approx(-0.9)


def test_too_few_models_give_no_corrected_figures() -> None:
    summary = ValidationResult("dev", "t1", None, "space", [_case(i, 1024, 100.0, 90.0) for i in range(3)],
                               1.0).summary()
    assert "corrected_leave_one_out" not in summary
