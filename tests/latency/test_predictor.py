"""A real table on this machine: tiny stack programs lowered through ExecuTorch and measured."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from star_search.json_cache import JsonCache
from star_search.latency import LatencyPredictor, validate
from star_search.latency.blocks import WidthKey, component_spec
from star_search.latency.predictor import CALIBRATION_POOL_FACTOR
from star_search.latency.sampling import draw_archs
from star_search.latency.table import LatencyTable
from star_search.latency.validation import pair_key
from star_search.profiler.anchor import Anchor
from star_search.profiler.device_profile import Budgets, parse_profile
from star_search.profiler.hardware import local_cpu
from star_search.profiler.meter import Meter
from star_search.space import parse_space

pytestmark = pytest.mark.slow

SPACE = {
    "name": "tiny-latency",
    "description": "Two-layer hybrids narrow enough to lower in seconds.",
    "fixed": {"vocab_size": 256, "head_dim": 16, "n_kv_heads": 2, "ffn_multiple_of": 16, "max_seq_len": 256},
    "params": {"d_model": {"choices": [32]}, "ffn_ratio": {"choices": [2.0, 3.0]}},
    "layers": [{"slots": [{"mixer": ["conv", "attention"]}, {"mixer": ["conv", "ssm"]}]}],
}
PROFILE = {
    "name": "tiny-cpu", "backend": "local", "threads": 1,
    "shapes": {"prompt_len": 16, "decode_steps": 8, "context_len": 1024},
    "protocol": {"warmup": 1, "repeats": 2, "max_repeats": 3},
    "latency": {"stack_layers": 2, "calibration_archs": 2, "min_repeats": 2, "rounds": 2},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[LatencyPredictor, Path, list[str]]:
    root = tmp_path_factory.mktemp("latency")
    lines: list[str] = []
    profile = parse_profile(PROFILE)
    predictor = LatencyPredictor.load_or_build(profile, root / "latency", Meter.for_profile(profile, root),
                                               space=parse_space(SPACE), echo=lines.append)
    return predictor, root, lines


def test_the_table_times_every_family_the_space_uses_and_is_calibrated(built):
    predictor, _, lines = built
    (row,) = predictor.table.widths.values()
    assert set(row["components"]) == {"base", "stack:conv", "ffn2", "stack:attention", "stack:ssm"}
    for figures in row["components"].values():
        assert figures["decode_p50_ms"] > 0 and figures["peak_rss_bytes"] > 0
        assert len(figures["program_sha256"]) == 64
        assert figures["repeats"] == 2 * 2  # two rounds of two sequences, pooled
    calibration = predictor.table.calibrations[predictor.calibration]
    assert len(calibration["archs"]) == 2
    assert any(line.startswith("latency calibration") for line in lines)
    # A new table records the processor it is timed on, and keeps it in its file.
    assert predictor.table.hardware == local_cpu() and predictor.table.hardware["cpu"]
    assert LatencyTable.open(predictor.table.path.parent, predictor.profile.name,
                             predictor.table.settings).hardware == local_cpu()


def test_calibration_models_span_the_range_of_the_pool_they_come_from(built):
    predictor, _, _ = built
    settings = predictor.profile.latency
    pool = draw_archs(parse_space(SPACE), settings.calibration_archs * CALIBRATION_POOL_FACTOR, settings.seed,
                      predictor.profile.target)
    ranked = sorted(pool, key=lambda spec: predictor.raw(spec)["ttft_ms"])
    chosen = [a["arch_id"] for a in predictor.table.calibrations[predictor.calibration]["archs"]]
    assert chosen == [ranked[0].arch_id, ranked[-1].arch_id]


def test_predictions_are_labelled_and_plausible(built):
    predictor, _, _ = built
    spec = draw_archs(parse_space(SPACE), 1, seed=7, target=predictor.profile.target)[0]
    prediction = predictor.predict(spec)
    assert prediction["source"] == "predicted" and prediction["calibrated"]
    assert prediction["table_version"] == predictor.version
    assert 0 < prediction["ttft_ms"] < 10_000
    assert 0 < prediction["decode_p50_ms"] <= prediction["decode_p95_ms"]
    assert prediction["prefill_tok_s"] == pytest.approx(16 / (prediction["ttft_ms"] / 1000))
    # A 1024-token context holds more KV cache than the 24-token program when there is attention.
    growth = prediction["peak_rss_at_context_bytes"] - prediction["peak_rss_bytes"]
    assert (growth > 0) == (spec.count("attention") > 0)


def test_reopening_times_nothing_and_validation_reports_json(built):
    predictor, root, _ = built
    meter = Meter.for_profile(predictor.profile, root)
    again = LatencyPredictor.load_or_build(predictor.profile, root / "latency", meter,
                                           space=parse_space(SPACE), echo=lambda line: None)
    assert again.version == predictor.version and again.table.path == predictor.table.path
    assert again.ensure(draw_archs(parse_space(SPACE), 8, seed=3, target=predictor.profile.target)) == 0
    calibrated = [a["arch_id"] for a in predictor.table.calibrations[predictor.calibration]["archs"]]
    pool = draw_archs(parse_space(SPACE), 16, seed=5, target=predictor.profile.target)
    outside = next(spec for spec in pool if spec.arch_id not in calibrated)
    inside = next(spec for spec in pool if spec.arch_id in calibrated)
    result = validate(again, parse_space(SPACE), n=2, seed=99, echo=lambda line: None, noise_check=True,
                      extra=[outside, inside])
    validated = [case.arch_id for case in result.cases]
    assert len(validated) >= 2 and not set(calibrated) & set(validated)
    # An extra architecture is validated once, unless the calibration used it.
    assert validated.count(outside.arch_id) == 1 and inside.arch_id not in validated
    summary = json.loads(result.report().splitlines()[-1])
    for metric in ("ttft_ms", "decode_p50_ms", "peak_rss_bytes"):
        assert 0 <= summary[metric]["within_10pct"] <= 1 and summary[metric]["mape"] >= 0
        assert 0 <= summary["noise_floor"][metric]["within_10pct"] <= 1


def test_relative_validation_times_each_model_beside_the_anchor_and_resumes(built, tmp_path, monkeypatch):
    predictor, _, _ = built
    space = parse_space(SPACE)
    calibrated = {a["arch_id"] for a in predictor.table.calibrations[predictor.calibration]["archs"]}
    pool = [spec for spec in draw_archs(space, 16, seed=11, target=predictor.profile.target)
            if spec.arch_id not in calibrated]
    anchor = Anchor.of(Budgets(ttft_ms=5.0, decode_p50_ms=0.5, relative_to="anchor"), pool[0])
    pairs = JsonCache(tmp_path / "pairs")
    result = validate(predictor, space, n=2, seed=99, echo=lambda line: None, noise_check=True,
                      extra=[pool[0], pool[1]], anchor=anchor, pairs=pairs)
    validated = [case.arch_id for case in result.cases]
    # The anchor is not a held-out model.
    assert pool[0].arch_id not in validated and pool[1].arch_id in validated
    assert len(list((tmp_path / "pairs").glob("*.json"))) == 2 * len(validated)  # a pair and its re-timing
    anchor_prediction = predictor.predict(anchor.spec)
    drawn = draw_archs(space, 2, seed=99, target=predictor.profile.target,
                       exclude=calibrated | {anchor.spec.arch_id})
    specs = {spec.arch_id: spec for spec in [*drawn, pool[1]]}
    assert set(validated) == set(specs)
    for case in result.cases:
        spec = specs[case.arch_id]
        # Predictions are read as the search reads them: the ratio to the anchor's, times its budget.
        raw = predictor.predict(spec)
        assert case.predicted["ttft_ms"] == pytest.approx(raw["ttft_ms"] / anchor_prediction["ttft_ms"] * 5.0)
        # Memory does not drift and is not scaled.
        assert case.predicted["peak_rss_bytes"] == pytest.approx(raw["peak_rss_bytes"])
        assert case.remeasured is not None and case.remeasured != case.measured  # timed twice
    summary = json.loads(result.report().splitlines()[-1])
    assert summary["relative_to"] == "anchor" and "noise_floor" in summary
    assert "each timed beside anchor and read relative to it" in result.report().splitlines()[0]
    # A rerun reads every pair from the cache: the same figures, nothing timed again, and nothing
    # lowered either (pairs are keyed by what the programs are made from, so a checkout whose
    # lowered programs are gone reads them as they are).
    def no_lowering(*args, **kwargs):
        raise AssertionError("a cached pair was read by lowering its program")

    monkeypatch.setattr(predictor.meter.programs, "get_or_lower", no_lowering)
    again = validate(predictor, space, n=2, seed=99, echo=lambda line: None, noise_check=True,
                     extra=[pool[0], pool[1]], anchor=anchor, pairs=pairs)
    assert [case.measured for case in again.cases] == [case.measured for case in result.cases]
    assert again.seconds < result.seconds / 2
    assert pairs.get(pair_key(predictor.meter, pool[1], anchor, 0))["arch_id"] == pool[1].arch_id


def test_a_late_component_is_timed_beside_its_reference_and_scaled_by_its_drift(built):
    """The space never asks for a SwiGLU wider than 4 x d_model; the first candidate that does has
    `ffn3` timed into the built table, beside `ffn2` timed again, and stored drift-scaled."""
    predictor, _, lines = built
    (row,) = predictor.table.widths.values()
    width = WidthKey(**row["width"])
    stored_ffn2 = dict(row["components"]["ffn2"])
    wide = replace(component_spec(width, "base", 2), ffn_dim=5 * width.d_model)
    assert predictor.ensure([wide]) == 1
    (row,) = LatencyTable.open(predictor.table.path.parent, predictor.profile.name,
                               predictor.table.settings).widths.values()
    ffn3 = row["components"]["ffn3"]
    assert row["components"]["ffn2"] == stored_ffn2  # the reference's row is left as it was
    drift = ffn3["drift"]
    assert drift["reference"] == "ffn2" and drift["hardware"] == local_cpu()
    for metric in ("ttft_ms", "decode_p50_ms", "decode_p95_ms"):
        assert drift["ratios"][metric] > 0
        assert ffn3[metric] == pytest.approx(drift["unscaled"][metric] * drift["ratios"][metric])
    assert any(line.startswith("latency table: ffn3") and "drift of ffn2" in line for line in lines)
    assert "swiglu_per_unit_wide" in predictor.costs(wide)["ttft_ms"]
    assert predictor.ensure([wide]) == 0
