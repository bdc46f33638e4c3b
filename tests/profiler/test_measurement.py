"""Measurement and MeasurementProtocol: statistics, round trip, validation."""

from __future__ import annotations

import math

import pytest

from star_search.errors import SpecError
from star_search.profiler import Measurement, MeasurementProtocol
from star_search.profiler.measurement import coefficient_of_variation, percentile, pooled


def _measurement() -> Measurement:
    return Measurement.from_samples(
        backend="local", device_id="test", program_sha256="ab" * 32, threads=1, prompt_len=10,
        decode_steps=2, warmup=1, repeats=2, ttft_samples_ms=[4.0, 2.0],
        decode_samples_ms=[1.0, 2.0, 3.0, 4.0], peak_rss_bytes=1 << 20, baseline_rss_bytes=1 << 19)


def test_summary_statistics() -> None:
    m = _measurement()
    assert m.source == "measured"
    assert m.ttft_ms == 3.0
    assert m.prefill_tok_s == pytest.approx(10 / 0.003)
    assert m.decode_p50_ms == 2.5
    assert m.decode_p95_ms == pytest.approx(3.85)
    assert m.decode_cv == pytest.approx(coefficient_of_variation([1.0, 2.0, 3.0, 4.0]))
    assert m.decode_tok_s == pytest.approx(400.0)
    assert math.isnan(percentile([], 50.0))
    assert coefficient_of_variation([5.0]) == 0.0


def test_round_trip_and_unknown_fields() -> None:
    m = _measurement()
    data = m.to_dict()
    assert isinstance(data["decode_samples_ms"], list)
    assert Measurement.from_dict(data) == m
    with pytest.raises(SpecError, match="latency"):
        Measurement.from_dict({**data, "latency": 1.0})
    with pytest.raises(SpecError, match="source"):
        Measurement.from_dict({**data, "source": "guessed"})
    with pytest.raises(SpecError, match="page_cache"):
        Measurement.from_dict({**data, "page_cache": "warm"})
    del data["page_cache"]  # a record written before the field existed still loads
    assert Measurement.from_dict(data).page_cache is None


@pytest.mark.parametrize(("field", "value"), [("threads", 0), ("repeats", 0), ("warmup", -1),
                                              ("decode_steps", 1.5), ("timeout_s", 0)])
def test_protocol_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(SpecError, match=field):
        MeasurementProtocol(**{field: value})


def test_rounds_pool_their_samples() -> None:
    first = _measurement()
    second = Measurement.from_samples(
        backend="local", device_id="test", program_sha256="ab" * 32, threads=1, prompt_len=10,
        decode_steps=2, warmup=1, repeats=1, ttft_samples_ms=[9.0], decode_samples_ms=[5.0, 6.0],
        peak_rss_bytes=1 << 21, baseline_rss_bytes=1 << 18)
    both = pooled([first, second])
    assert both.ttft_samples_ms == (4.0, 2.0, 9.0) and both.ttft_ms == 4.0
    assert both.decode_samples_ms == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0) and both.decode_p50_ms == 3.5
    assert both.repeats == 3 and both.stop_reason == "rounds"
    assert (both.peak_rss_bytes, both.baseline_rss_bytes) == (1 << 21, 1 << 18)
    assert pooled([first]) == first
    with pytest.raises(ValueError, match="different programs"):
        pooled([first, Measurement.from_dict({**second.to_dict(), "program_sha256": "cd" * 32})])


@pytest.mark.parametrize(("states", "expected"), [
    (("evicted", "evicted"), "evicted"), (("evicted", "as found"), "mixed"),
    (("evicted", None), "mixed"), ((None, None), None)])
def test_pooled_rounds_keep_their_page_cache_state(states: tuple, expected: str | None) -> None:
    rounds = [Measurement.from_dict({**_measurement().to_dict(), "page_cache": state}) for state in states]
    assert pooled(rounds).page_cache == expected
