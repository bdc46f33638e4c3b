"""The multi-fidelity pipeline: stage names from config, pruning with reasons, the front gate."""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from star_search.errors import SpecError, StarSearchError
from star_search.json_cache import JsonCache
from star_search.profiler.anchor import Anchor
from star_search.profiler.device_profile import with_changes
from star_search.profiler.meter import Meter
from star_search.proxies.proxy_model import proxy_size
from star_search.proxies.spread import Repeat, measure_spread, recipe_key
from star_search.proxies.suite import SuiteResult, proxy_config_for_tier
from star_search.scaling import proxy_spec
from star_search.search.candidate import CandidateEvaluator, StagePruned
from star_search.search.front_gate import FidelityPoint, dominating_trials
from star_search.search.pipeline import MULTI_FIDELITY_PIPELINE, parse_pipeline
from star_search.search.proxy_worker import InlineProxyRunner
from star_search.spec import ArchSpec, LayerSpec


def test_pipeline_names_are_validated_with_the_field() -> None:
    assert parse_pipeline(["static", "proxies", "measure"], "demo") == ("static", "demo", "measure")
    assert parse_pipeline(list(MULTI_FIDELITY_PIPELINE), "demo") == MULTI_FIDELITY_PIPELINE
    cases = {("static", "prxies", "measure"): "search.pipeline[1]",
             ("static", "front", "fast", "measure"): "search.pipeline[1]",
             ("static", "fast", "fast", "measure"): "search.pipeline[2]",
             ("static", "measure"): "proxy tier",
             ("static", "fast"): "latency stage"}
    for names, expected in cases.items():
        with pytest.raises(SpecError, match=re.escape(expected)):
            parse_pipeline(list(names), "demo")
    with pytest.raises(SpecError, match=r"search\.pipeline"):
        parse_pipeline("static", "demo")


def finished_trial(number: int, quality: float, params: int, feasible: bool = True,
                   prediction: dict | None = None, quality_sd: float | None = None) -> FrozenTrial:
    record = {"quality": quality} if quality_sd is None else {"quality": quality, "quality_sd": quality_sd}
    attrs = {"proxy_tiers": {"demo": record}, "params": params,
             "constraints": [-1.0 if feasible else 1.0]}
    if prediction is not None:
        attrs["prediction"] = prediction
    trial = optuna.trial.create_trial(state=TrialState.COMPLETE, values=[quality, 1.0, 1.0, 1.0],
                                      user_attrs=attrs)
    trial.number = number
    return trial


def predicted(decode_ms: float, ttft_ms: float, rss: int) -> dict:
    return {"source": "predicted", "decode_p50_ms": decode_ms, "ttft_ms": ttft_ms, "peak_rss_bytes": rss}


def test_front_gate_compares_like_with_like() -> None:
    trials = [finished_trial(0, 0.9, 100), finished_trial(1, 0.5, 50),
              finished_trial(2, 0.95, 10, feasible=False),
              finished_trial(3, 0.9, 100, prediction=predicted(5.0, 50.0, 10))]
    # Without latency: quality up, parameters down; infeasible trials never count.
    assert dominating_trials(FidelityPoint(0.8, 200, None), "demo", trials) == [0, 3]
    assert dominating_trials(FidelityPoint(0.8, 60, None), "demo", trials) == []
    assert dominating_trials(FidelityPoint(0.8, 200, None), "fast", trials) == []  # other tier
    # With a predicted latency: only trials that recorded a prediction are comparable.
    slow = FidelityPoint(0.8, 10, predicted(9.0, 60.0, 20))
    assert dominating_trials(slow, "demo", trials) == [3]
    fast = FidelityPoint(0.8, 10, predicted(4.0, 60.0, 20))
    assert dominating_trials(fast, "demo", trials) == []


def test_front_gate_needs_a_quality_gap_beyond_seed_noise() -> None:
    """With spreads of 0.03 each and z = 1 the margin is 0.042: a smaller trial 0.03 better does
    not prune the candidate (it may be as good, given the noise), one 0.05 better does; z = 0
    compares bare values; cost figures keep comparing exactly."""
    trials = [finished_trial(0, 0.83, 50, quality_sd=0.03), finished_trial(1, 0.85, 50, quality_sd=0.03),
              finished_trial(2, 0.9, 300, quality_sd=0.03)]
    candidate = FidelityPoint(0.8, 100, None, quality_sd=0.03)
    assert dominating_trials(candidate, "demo", trials, noise_z=1.0) == [1]
    assert dominating_trials(candidate, "demo", trials, noise_z=0.0) == [0, 1]
    assert dominating_trials(candidate, "demo", trials, noise_z=2.0) == []
    # Unknown spreads count as 0: the bare comparison.
    assert dominating_trials(FidelityPoint(0.8, 100, None), "demo", [finished_trial(3, 0.81, 50)],
                             noise_z=1.0) == [3]


@pytest.fixture
def tiny_spec() -> ArchSpec:
    return ArchSpec(d_model=32, layers=(LayerSpec("conv"), LayerSpec("attention")), n_heads=2, n_kv_heads=1,
                    head_dim=16, ffn_dim=64, vocab_size=128, max_seq_len=128)


def evaluator(tmp_path: Path, profile, pipeline: tuple[str, ...], runner: InlineProxyRunner | None = None,
              repeats: int = 1, **kwargs) -> CandidateEvaluator:
    tiers = {"demo": replace(proxy_config_for_tier("demo"), steps=4, eval_samples=8, repeats=repeats)}
    return CandidateEvaluator(profile, tiers, JsonCache(tmp_path / "results"),
                              Meter.for_profile(profile, tmp_path), runner or InlineProxyRunner(),
                              pipeline=pipeline, **kwargs)


def test_front_prunes_before_lowering_and_passes_others(tmp_path: Path, quick_profile, tiny_spec) -> None:
    run = evaluator(tmp_path, quick_profile, ("static", "demo", "front", "measure"))
    with pytest.raises(StagePruned) as pruned:
        run.evaluate(tiny_spec, lambda: [finished_trial(7, 1.0, 1)])
    assert pruned.value.stage == "front" and "#7" in pruned.value.reason
    assert not any((tmp_path / "programs").iterdir())  # nothing was lowered

    result = run.evaluate(tiny_spec, lambda: [finished_trial(7, 0.0, 10**12)])
    assert result.fidelity == ["static", "demo", "front", "measure"]
    assert result.latency["source"] == "measured" and result.latency["decode_p50_ms"] > 0
    assert result.proxy_tiers["demo"] == result.proxy and result.prediction is None


def test_front_gate_uses_the_measured_spread_of_the_tier(tmp_path: Path, quick_profile, tiny_spec) -> None:
    """A tier whose spread was measured (here a table for the test's own demo recipe) records it
    beside the quality, and the gate lets a candidate through when a finished, smaller trial
    beats it by less than the noise, not when by more."""
    config = replace(proxy_config_for_tier("demo"), steps=4, eval_samples=8)
    key = recipe_key(config)
    repeats = [Repeat(key, "ca", 2, seed, quality, "2026-12-05") for seed, quality in ((0, 0.3), (1, 0.5))]
    table = measure_spread(repeats, {"shallow": ("ca",)})
    sd = 0.2 / math.sqrt(2)
    run = evaluator(tmp_path, quick_profile, ("static", "demo", "front", "measure"), spreads=table)
    first = run.evaluate(tiny_spec)
    assert first.proxy["quality_sd"] == pytest.approx(sd) and "measured" in first.proxy["quality_sd_basis"]
    margin = sd * math.sqrt(2)  # z = 1, both spreads sd
    close = finished_trial(8, first.quality + 0.5 * margin, 1, quality_sd=sd)
    assert run.evaluate(tiny_spec, lambda: [close]).fidelity[-1] == "measure"
    far = finished_trial(9, first.quality + 1.5 * margin, 1, quality_sd=sd)
    with pytest.raises(StagePruned, match="#9"):
        run.evaluate(tiny_spec, lambda: [close, far])


def test_static_stage_prunes_unsupported_operators(tmp_path: Path, quick_profile, tiny_spec) -> None:
    profile = replace(quick_profile, operators=("conv", "swiglu"))
    run = evaluator(tmp_path, profile, ("static", "demo", "measure"))
    with pytest.raises(StagePruned, match="attention") as pruned:
        run.evaluate(tiny_spec)
    assert pruned.value.stage == "static"


def test_predict_stage_needs_a_predictor(tmp_path: Path, quick_profile) -> None:
    with pytest.raises(StarSearchError, match="predictor"):
        evaluator(tmp_path, quick_profile, ("static", "predict", "demo"))


class CountingRunner(InlineProxyRunner):
    def __init__(self) -> None:
        super().__init__()
        self.trained: list[str] = []

    def submit(self, spec: ArchSpec, config):
        self.trained.append(spec.pattern())
        return super().submit(spec, config)


def test_candidates_sharing_a_proxy_train_it_once(tmp_path: Path, quick_profile, tiny_spec) -> None:
    runner = CountingRunner()
    run = evaluator(tmp_path, quick_profile, ("static", "demo", "measure"), runner=runner)
    wider = replace(tiny_spec, d_model=64, n_heads=4, n_kv_heads=2, ffn_dim=128, vocab_size=256)  # same proxy
    other = replace(tiny_spec, ffn_dim=96)  # another FFN ratio: another proxy
    first, second = run.evaluate(tiny_spec), run.evaluate(wider)
    assert runner.trained == ["ca"] and first.proxy == second.proxy
    run.evaluate(other)
    assert len(runner.trained) == 2


class SeedRunner(InlineProxyRunner):
    def __init__(self) -> None:
        super().__init__()
        self.runs: list[tuple[int, int]] = []  # (seed, repeats) of every run submitted

    def submit(self, spec: ArchSpec, config):
        self.runs.append((config.seed, config.repeats))
        return super().submit(spec, config)


def test_a_tier_averaging_seeds_trains_only_the_seeds_its_cache_lacks(tmp_path: Path, quick_profile,
                                                                     tiny_spec) -> None:
    """The search's tier at `repeats=2` after a study ran it at one seed: seed 0 comes from the
    cache, only seed 1 trains, and the quality is the mean of the two runs'."""
    runner = SeedRunner()
    single = evaluator(tmp_path, quick_profile, ("static", "demo", "measure"), runner=runner)
    one = single.evaluate(tiny_spec).proxy
    assert runner.runs == [(0, 1)]
    runner.runs.clear()
    mean = evaluator(tmp_path, quick_profile, ("static", "demo", "measure"), runner=runner, repeats=2)
    two = mean.evaluate(tiny_spec).proxy
    assert runner.runs == [(1, 1)]  # single runs only: seed 0 was cached
    assert two["config"]["repeats"] == 2
    second = SuiteResult.from_dict(mean.results.get(
        f"proxy|{proxy_spec(tiny_spec, proxy_size(mean.proxy_tiers['demo'])).arch_id}|"
        f"{replace(mean.proxy_tiers['demo'], seed=1, repeats=1).cache_key()}"))
    assert two["quality"] == pytest.approx((one["quality"] + second.quality) / 2, abs=1e-9)
    assert all(len(task["repeat_values"]) == 2 for task in two["tasks"].values())
    runner.runs.clear()
    assert mean.evaluate(tiny_spec).proxy["quality"] == two["quality"] and runner.runs == []


def test_a_pair_whose_anchor_is_off_its_usual_figures_is_timed_again(tmp_path: Path, quick_profile,
                                                                      tiny_spec) -> None:
    """Real pairs timed beside an anchor: with earlier pairs whose anchor took 1/1000 of the time,
    every pair is off, so it is timed 1 + anchor_retimes times and the nearest kept, with the tries
    recorded; with earlier pairs like its own, the first try stands; with none, or only pairs
    older than an hour, nothing is usual. (The tolerance, 10× the usual figures, holds however
    much a loaded machine slows a tiny program between pairs; 1/1000 is off by far more.)"""
    anchor_spec = replace(tiny_spec, layers=(LayerSpec("attention"), LayerSpec("attention")), name="anchor")
    profile = with_changes(quick_profile, {"budgets": {"relative_to": "anchor", "ttft_ms": 100.0,
                                                       "decode_p50_ms": 10.0}})
    run = evaluator(tmp_path, profile, ("static", "demo", "measure"),
                    anchor=Anchor.of(profile.budgets, anchor_spec), anchor_tolerance=10.0, anchor_retimes=2)
    first_latency = run.evaluate(tiny_spec).latency
    first = first_latency["anchor"]
    assert first["usual"] is None and first["tries"] == [0.0]
    # A pair recorded before the check existed (no `tries`) is timed again, not reused.
    key = (f"beside|{run.meter.device_id}|{run.meter.protocol.key()}|{run.meter.program(tiny_spec).sha256}|"
           f"{run.meter.program(anchor_spec).sha256}")
    unchecked = {**first_latency, "anchor": {k: v for k, v in first.items() if k != "tries"}}
    run.results.put(key, unchecked)
    assert not run.reusable({"measurement": unchecked}) and run.reusable({"measurement": first_latency})
    assert run.evaluate(tiny_spec).latency["anchor"]["tries"] == [0.0]

    def history(scale: float, hours_ago: float = 0.0, copies: bool = False) -> list[FrozenTrial]:
        record = {"device_id": run.meter.device_id,
                  "anchor": {"arch_id": anchor_spec.arch_id,
                             "figures": {name: first["figures"][name] * scale
                                         for name in ("ttft_ms", "decode_p50_ms")}}}
        attrs = {"measurement": record, **({"reused_from": 0} if copies else {})}
        trials = [optuna.trial.create_trial(state=TrialState.COMPLETE, values=[0.0], user_attrs=attrs)
                  for _ in range(3)]
        for trial in trials:
            trial.datetime_complete = datetime.datetime.now() - datetime.timedelta(hours=hours_ago)
        return trials

    other = replace(tiny_spec, layers=(LayerSpec("conv"), LayerSpec("conv")))
    off = run.evaluate(other, lambda: history(0.001)).latency["anchor"]
    assert len(off["tries"]) == 3 and min(off["tries"]) > 10.0
    assert off["deviation"] == pytest.approx(min(off["tries"]), rel=1e-4)
    assert off["usual"]["ttft_ms"] == pytest.approx(first["figures"]["ttft_ms"] * 0.001)
    third = replace(tiny_spec, layers=(LayerSpec("attention"), LayerSpec("conv")))
    usual = run.evaluate(third, lambda: history(1.0)).latency["anchor"]
    assert len(usual["tries"]) == 1 and usual["deviation"] <= 10.0
    # Pairs from another session (over an hour ago) do not say what is usual now.
    fourth = replace(tiny_spec, layers=(LayerSpec("attention"), LayerSpec("attention"), LayerSpec("conv")))
    stale = run.evaluate(fourth, lambda: history(0.001, hours_ago=1.5)).latency["anchor"]
    assert stale["usual"] is None and stale["tries"] == [0.0]
    # Twins copy another trial's pair: they are not pairs of their own.
    fifth = replace(tiny_spec, layers=(LayerSpec("conv"), LayerSpec("attention"), LayerSpec("conv")))
    copied = run.evaluate(fifth, lambda: history(0.001, copies=True)).latency["anchor"]
    assert copied["usual"] is None and copied["tries"] == [0.0]
