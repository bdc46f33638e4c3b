"""Predictions corrected by the study's own measured/predicted ratios (`latency/correction.py`)."""

from __future__ import annotations

import pytest

from star_search.latency.correction import MIN_PAIRS, MeasuredPair, correct, pairs_of

DEVICE = "local:test"


def prediction(ttft_ms: float = 1000.0, decode_ms: float = 40.0) -> dict:
    return {"source": "predicted", "prompt_len": 1000, "ttft_ms": ttft_ms,
            "prefill_tok_s": 1000 / (ttft_ms / 1000), "decode_p50_ms": decode_ms,
            "decode_p95_ms": decode_ms * 1.2, "peak_rss_bytes": 1000}


def trial_attrs(d_model: int, ratio: float, device: str = DEVICE, source: str = "measured") -> dict:
    """A finished trial measured at `ratio` × its (uncorrected) prediction on every figure."""
    predicted = prediction()
    measured = {name: predicted[name] * ratio for name in ("ttft_ms", "decode_p50_ms", "decode_p95_ms",
                                                           "peak_rss_bytes")}
    return {"target_arch": {"d_model": d_model}, "prediction": predicted,
            "measurement": {"source": source, "device_id": device, **measured}}


def test_a_prediction_is_scaled_by_the_median_ratio_of_trials_of_its_width() -> None:
    trials = ([trial_attrs(1536, r) for r in (1.1, 1.2, 1.3, 5.0)]
              + [trial_attrs(1024, r) for r in (0.9, 1.0, 1.0)])
    pairs = pairs_of(trials, DEVICE)
    wide = correct(prediction(), 1536, pairs)
    assert wide["ttft_ms"] == pytest.approx(1250.0) and wide["decode_p50_ms"] == pytest.approx(50.0)
    assert wide["prefill_tok_s"] == pytest.approx(1000 / 1.25) and isinstance(wide["peak_rss_bytes"], int)
    assert wide["correction"]["basis"] == "4 measured trials at d_model 1536"
    assert wide["correction"]["uncorrected"]["ttft_ms"] == 1000.0
    assert correct(prediction(), 1024, pairs)["ttft_ms"] == pytest.approx(1000.0)
    # A width with too few trials of its own takes the median of all of them.
    other = correct(prediction(), 2048, pairs)
    assert other["ttft_ms"] == pytest.approx(1100.0) and other["correction"]["basis"] == "7 measured trials"


def test_too_few_measured_trials_leave_the_prediction_as_it_is() -> None:
    strays = [trial_attrs(1024, 2.0, device="phone"), trial_attrs(1024, 2.0, source="predicted"),
              {"prediction": {}}]
    trials = [trial_attrs(1024, 2.0)] * (MIN_PAIRS - 1) + strays
    pairs = pairs_of(trials, DEVICE)
    assert len(pairs) == MIN_PAIRS - 1
    out = correct(prediction(), 1024, pairs)
    assert out["ttft_ms"] == 1000.0 and out["correction"]["factors"] == {}
    assert out["correction"]["basis"].startswith("none")


def test_ratios_are_taken_against_the_uncorrected_prediction() -> None:
    """A trial whose own prediction was corrected counts by its uncorrected one, so a second
    round of correction does not shrink towards 1 (or compound)."""
    doubled = MeasuredPair(1024, {"ttft_ms": 2000.0}, prediction())
    corrected = correct(prediction(), 1024, [doubled] * MIN_PAIRS)
    assert corrected["ttft_ms"] == pytest.approx(2000.0)
    again = MeasuredPair(1024, {"ttft_ms": 2000.0}, corrected)
    assert again.ratio("ttft_ms") == pytest.approx(2.0)
    assert again.ratio("decode_p50_ms") is None


def test_ratios_can_be_taken_against_todays_prediction_of_each_trial() -> None:
    """A study resumed after its calibration changed: the trials' recorded predictions were half
    what the predictor says now, so by the recorded ones today's prediction would be doubled; by
    today's, it is left as it is (the measurements match today's predictions)."""
    trials = [trial_attrs(1536, 2.0) for _ in range(MIN_PAIRS)]
    today = {name: 2 * value for name, value in prediction().items() if name != "source"}
    seen: list[dict] = []

    def predict(target):
        seen.append(dict(target))
        return today

    stale = correct(prediction(), 1536, pairs_of(trials, DEVICE))
    assert stale["ttft_ms"] == pytest.approx(2000.0)
    fresh = correct(prediction(), 1536, pairs_of(trials, DEVICE, predict=predict))
    assert fresh["ttft_ms"] == pytest.approx(1000.0) and fresh["decode_p50_ms"] == pytest.approx(40.0)
    assert seen == [{"d_model": 1536}] * MIN_PAIRS
