"""The measurement protocol: stopping rule, validation that names the field, cache keys."""

from __future__ import annotations

import statistics
from dataclasses import replace
from pathlib import Path

import pytest

from star_search.errors import SpecError
from star_search.profiler import Measurement, MeasurementProtocol
from star_search.profiler.measurement import decode_repeat_cv
from star_search.profiler.measurement_cache import MeasurementCache, measurement_key
from star_search.profiler.protocol import repeats_done, split_repeats


def test_repeats_stop_on_cv_target_or_max_count() -> None:
    protocol = MeasurementProtocol(repeats=3, max_repeats=6, cv_target=0.05)
    assert repeats_done(0.01, 0.01, 2, protocol) == (False, "")  # below the minimum
    assert repeats_done(0.01, 0.04, 3, protocol) == (True, "cv_target")
    assert repeats_done(0.01, 0.20, 3, protocol) == (False, "")  # decode repeats still disagree
    assert repeats_done(0.20, 0.01, 5, protocol) == (False, "")  # TTFT still noisy
    assert repeats_done(0.20, 0.20, 6, protocol) == (True, "max_repeats")
    # One sequence has no spread to judge: at least two run unless max_repeats is 1.
    assert repeats_done(0.0, 0.0, 1, MeasurementProtocol(repeats=1, max_repeats=4))[0] is False
    assert repeats_done(0.0, 0.0, 1, MeasurementProtocol(repeats=1, max_repeats=1)) == (True, "max_repeats")


def test_decode_repeat_cv_compares_per_sequence_medians() -> None:
    samples = [1.0, 1.0, 9.0, 2.0, 2.0, 9.0]  # two sequences of three steps
    assert split_repeats(samples, 3) == [[1.0, 1.0, 9.0], [2.0, 2.0, 9.0]]
    assert decode_repeat_cv(samples, 3) == pytest.approx(statistics.stdev([1.0, 2.0]) / 1.5)
    assert decode_repeat_cv([1.0, 1.0, 1.0, 1.0], 2) == 0.0


@pytest.mark.parametrize(("field", "value"), [("max_repeats", 2), ("cv_target", 0), ("cv_target", 1.5),
                                              ("cv_target", True), ("etdump", "yes")])
def test_protocol_names_the_bad_field(field: str, value: object) -> None:
    with pytest.raises(SpecError, match=rf"protocol\.{field}"):
        MeasurementProtocol(**{"repeats": 3, field: value})


def test_from_dict_rejects_unknown_fields() -> None:
    protocol = MeasurementProtocol(repeats=2, max_repeats=4)
    assert MeasurementProtocol.from_dict(protocol.to_dict()) == protocol
    with pytest.raises(SpecError, match=r"protocol\.speed"):
        MeasurementProtocol.from_dict({**protocol.to_dict(), "speed": "fast"})


def test_cache_key_holds_what_changes_the_figures_only() -> None:
    base = MeasurementProtocol(threads=2, prompt_len=16, decode_steps=4)
    key = measurement_key("ab" * 32, "dev", base)
    assert measurement_key("ab" * 32, "dev", replace(base, timeout_s=1.0)) == key
    for changed in (replace(base, threads=1), replace(base, prompt_len=8), replace(base, decode_steps=5),
                    replace(base, cv_target=0.1), replace(base, etdump=True)):
        assert measurement_key("ab" * 32, "dev", changed) != key
    assert measurement_key("cd" * 32, "dev", base) != key
    assert measurement_key("ab" * 32, "other", base) != key


def test_rounds_enter_the_key_only_when_there_are_several() -> None:
    base = MeasurementProtocol(threads=2, prompt_len=16, decode_steps=4)
    # Keys written before `rounds` existed stay valid: one round is not spelled out.
    assert "rounds" not in base.key() and base.rounds == 1
    assert '"rounds": 3' in replace(base, rounds=3).key()
    assert replace(base, rounds=3).one_round() == base
    with pytest.raises(SpecError, match=r"protocol\.rounds"):
        replace(base, rounds=0)


def test_measurement_cache_round_trip(tmp_path: Path) -> None:
    cache = MeasurementCache(tmp_path)
    protocol = MeasurementProtocol(prompt_len=10, decode_steps=2, repeats=2)
    m = Measurement.from_samples(
        backend="local", device_id="dev", program_sha256="ab" * 32, threads=1, prompt_len=10,
        decode_steps=2, warmup=1, repeats=2, ttft_samples_ms=[4.0, 2.0],
        decode_samples_ms=[1.0, 2.0, 3.0, 4.0], peak_rss_bytes=1 << 20,
        operator_times=[{"method": "decode", "operator": "cat.out", "delegated": False, "calls": 1.0,
                         "ms": 0.5}])
    assert cache.get(m.program_sha256, "dev", protocol) is None
    cache.put("dev", protocol, m)
    assert cache.get(m.program_sha256, "dev", protocol) == m
    assert cache.get(m.program_sha256, "dev", replace(protocol, threads=2)) is None
    assert MeasurementCache(tmp_path).get(m.program_sha256, "dev", protocol) == m  # persisted
