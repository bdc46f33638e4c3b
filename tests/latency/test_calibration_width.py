"""Calibration per width: a width with its own calibration models is corrected by their ratio,
any other by the line through all of them (`LatencyPredictor.corrections`)."""

from __future__ import annotations

import pytest

from star_search.latency import LatencyPredictor
from star_search.latency.blocks import WidthKey, component_names, component_spec
from star_search.latency.composition import METRICS, compose
from star_search.latency.predictor import MIN_WIDTH_POINTS, table_settings
from star_search.latency.table import LatencyTable
from star_search.profiler.device_profile import parse_profile
from star_search.profiler.meter import Meter
from star_search.spec import ArchSpec, LayerSpec

STACK_LAYERS = 2
PROFILE = {"name": "per-width", "backend": "local", "threads": 1,
           "shapes": {"prompt_len": 16, "decode_steps": 8, "context_len": 64},
           "latency": {"stack_layers": STACK_LAYERS, "calibration_archs": 5}}
# Block costs the fabricated stack figures follow (per unit of d_model, so widths differ).
COSTS = {"fixed": 0.05, "mixer:conv": 0.01, "mixer:attention": 0.02, "swiglu_per_unit": 0.0002}
KEY = "per-width-test"


def _spec(d_model: int, pattern: str, ffn_dim: int) -> ArchSpec:
    kinds = {"c": "conv", "a": "attention"}
    return ArchSpec(d_model=d_model, layers=tuple(LayerSpec(kinds[c]) for c in pattern), n_heads=4,
                    n_kv_heads=2, head_dim=16, ffn_dim=ffn_dim, vocab_size=256)


def _costs(d_model: int) -> dict[str, float]:
    return {name: value * d_model for name, value in COSTS.items()}


@pytest.fixture
def predictor(tmp_path) -> LatencyPredictor:
    """A table with stack figures at d_model 64, 96 and 128 (as if blocks added exactly), and a
    calibration whose models run 1.1x the raw sums at 64 (two models), 1.4x at 96 (two), 2x at
    128 (one)."""
    profile = parse_profile(PROFILE)
    meter = Meter.for_profile(profile, tmp_path)
    table = LatencyTable.open(tmp_path / "latency", profile.name, table_settings(profile, meter.device_id))
    calibration = [(_spec(64, "cac", 128), 1.1), (_spec(64, "ccca", 192), 1.1),
                   (_spec(96, "cca", 192), 1.4), (_spec(96, "caaca", 256), 1.4), (_spec(128, "ca", 256), 2.0)]
    for spec, _ in calibration:
        width = WidthKey.of(spec)
        for name in component_names(spec):
            program = component_spec(width, name, STACK_LAYERS)
            table.put_component(width, name, {m: compose(program, _costs(spec.d_model), m) for m in METRICS})
    predictor = LatencyPredictor(profile, table, meter)
    table.calibrations[KEY] = {"archs": [
        {"arch_id": spec.arch_id, "pattern": spec.pattern(), "d_model": spec.d_model, "spec": spec.to_dict(),
         "raw": (raw := predictor.raw(spec)), "measured": {m: ratio * raw[m] for m in METRICS}}
        for spec, ratio in calibration]}
    predictor.calibration = KEY
    return predictor


def test_a_width_with_its_own_calibration_models_takes_their_ratio(predictor):
    assert MIN_WIDTH_POINTS == 2
    for d_model, ratio in ((64, 1.1), (96, 1.4)):
        spec = _spec(d_model, "aacc", 160)  # not a calibration model
        prediction = predictor.predict(spec)
        assert prediction["calibration_basis"] == f"d_model {d_model}"
        for metric in ("ttft_ms", "decode_p50_ms"):
            assert prediction[metric] == pytest.approx(ratio * predictor.raw(spec)[metric])
        assert prediction["peak_rss_bytes"] == int(ratio * predictor.raw(spec)["peak_rss_bytes"])


def test_a_width_with_one_calibration_model_takes_the_line_through_all(predictor):
    spec = _spec(128, "cac", 192)
    prediction = predictor.predict(spec)
    assert predictor.calibration_width(128) is None
    assert prediction["calibration_basis"] == "all widths"
    line = predictor.corrections()["decode_p50_ms"]
    assert line.points == 5
    assert prediction["decode_p50_ms"] == pytest.approx(line.apply(predictor.raw(spec)["decode_p50_ms"]))
    # Its own single model's 2x does not decide it alone.
    assert prediction["decode_p50_ms"] < 1.9 * predictor.raw(spec)["decode_p50_ms"]
