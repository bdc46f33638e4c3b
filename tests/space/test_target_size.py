"""A space with a parameter target: every candidate at one size, so width is not free quality."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from star_search.errors import SizeUnreachable, SpecError
from star_search.presets import preset
from star_search.proxies.config import proxy_config_for_tier
from star_search.proxies.proxy_model import proxy_size
from star_search.scaling import proxy_spec
from star_search.sizing import active_param_count, param_count
from star_search.space import load_space, parse_space, sample_arch
from star_search.space.target_size import solve_to_target
from star_search.spec import ArchSpec

ROOT = Path(__file__).resolve().parents[2]
SPACE_350M = ROOT / "search_spaces" / "lfm2_hybrid_350m.yaml"
LFM2_350M = param_count(preset("lfm2-350m"))


def fixed_trial(d_model: int, mixers: str = "ccaccaccaccacca", moe: bool = False) -> optuna.trial.FixedTrial:
    """The lfm2_hybrid(_350m) candidate with layer strip `mixers` (groups of three) at `d_model`."""
    letters = {"c": "conv", "a": "attention", "s": "ssm", "l": "linear_attention"}
    repeats = len(mixers) // 3
    params: dict[str, Any] = {"d_model": d_model, "ffn_ratio": 3.0, "conv_kernel": 3, "ssm_state_dim": 16,
                              "moe_num_experts": 8, "moe_top_k": 2, "moe_expert_ratio": 0.5,
                              "g0.repeat": repeats}
    for r in range(repeats):
        for s in range(3):
            params[f"g0.r{r}.s{s}.mixer"] = letters[mixers[3 * r + s]]
        params[f"g0.r{r}.s2.ffn"] = "moe" if moe else "swiglu"
    return optuna.trial.FixedTrial(params)


def proxy_ffn(spec: ArchSpec) -> int:
    """The FFN width of `spec`'s proxy (d_model 64 for every candidate): the capacity it sees."""
    return proxy_spec(spec, proxy_size(proxy_config_for_tier("fast"))).ffn_dim


def test_a_wider_copy_of_a_pattern_is_not_free_quality() -> None:
    """Without a target (lfm2_hybrid) the 1536-wide copy of a pattern trains a proxy of the same
    width and FFN as the 1024-wide one (only its KV grouping follows 24/8 instead of 16/8 heads),
    so the extra capacity is invisible to quality and only costs: a search drops it. At LFM2-350M's
    count (lfm2_hybrid_350m) both have 354M parameters, the wider one a narrower FFN, and the
    proxies differ in capacity: quality decides between them."""
    free = load_space(ROOT / "search_spaces" / "lfm2_hybrid.yaml")
    narrow, wide = (sample_arch(free, fixed_trial(d)) for d in (1024, 1536))
    assert proxy_ffn(narrow) == proxy_ffn(wide) and param_count(wide) > 1.5 * param_count(narrow)

    sized = load_space(SPACE_350M)
    narrow, wide = (sample_arch(sized, fixed_trial(d)) for d in (1024, 1536))
    assert narrow.pattern() == wide.pattern()
    for spec in (narrow, wide):
        assert abs(param_count(spec) / LFM2_350M - 1) <= 0.03
    assert wide.ffn_dim < narrow.ffn_dim and wide.ffn_dim % 64 == 0
    assert proxy_ffn(wide) < proxy_ffn(narrow)


def test_every_reachable_candidate_of_the_350m_space_has_lfm2_350m_s_size() -> None:
    space = load_space(SPACE_350M)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    sizes, pruned = [], []
    for _ in range(60):
        try:
            sizes.append(param_count(sample_arch(space, study.ask())))
        except SizeUnreachable as err:
            pruned.append(str(err))
    assert len(sizes) >= 45 and all(abs(n / LFM2_350M - 1) <= 0.03 for n in sizes)
    assert all("354,483,968 parameters ±3%" in reason for reason in pruned)


def test_active_target_counts_the_parameters_a_token_uses() -> None:
    raw = yaml.safe_load(SPACE_350M.read_text())
    raw["fixed"]["target_active_params"] = raw["fixed"].pop("target_params")
    space = parse_space(raw)
    moe = sample_arch(space, fixed_trial(1024, "ccaccaccacca", moe=True))
    assert abs(active_param_count(moe) / LFM2_350M - 1) <= 0.03 and param_count(moe) > active_param_count(moe)
    # Every layer MoE: the expert width is what is solved.
    assert moe.ffn_dim > 0 and moe.moe_expert_dim > 0


def test_unreachable_candidates_name_pattern_width_and_target() -> None:
    spec = sample_arch(load_space(ROOT / "search_spaces" / "lfm2_hybrid.yaml"), fixed_trial(1536, "caa" * 6))
    with pytest.raises(SizeUnreachable, match=re.escape("caacaacaacaacaacaa at d_model 1536 cannot reach the "
                                                        "space's target of 100,000,000 parameters ±3%")):
        solve_to_target(spec, 100_000_000, active=False, multiple=256)
    solved = solve_to_target(spec, 700_000_000, active=False, multiple=256, tolerance=0.01)
    assert abs(param_count(solved) / 7e8 - 1) <= 0.01


@pytest.mark.parametrize(("change", "field", "hint"), [
    ({"params": {"ffn_ratio": {"low": 2.5, "high": 5.0, "step": 0.25}}}, "params.ffn_ratio", "solved"),
    ({"fixed": {"ffn_dim": 4096}}, "fixed.ffn_dim", "solved"),
    ({"fixed": {"target_active_params": 10**8}}, "fixed.target_active_params", "not both"),
    ({"fixed": {"target_params": 0}}, "fixed.target_params", "whole number of parameters"),
    ({"fixed": {"target_params_tolerance": 0.5}}, "fixed.target_params_tolerance", "below 0.5"),
    ({"params": {"target_params": {"choices": [10**8, 2 * 10**8]}}}, "params.target_params", "under 'fixed'"),
])
def test_target_conflicts_are_named(change: dict[str, Any], field: str, hint: str) -> None:
    raw = copy.deepcopy(yaml.safe_load(SPACE_350M.read_text()))
    for section, values in change.items():
        raw[section].update(values)
    if field == "params.target_params":
        del raw["fixed"]["target_params"]
    with pytest.raises(SpecError) as caught:
        parse_space(raw, source="space.yaml")
    assert caught.value.field == field and hint in str(caught.value)


def test_a_tolerance_needs_a_target() -> None:
    raw = yaml.safe_load((ROOT / "search_spaces" / "lfm2_hybrid.yaml").read_text())
    raw["fixed"]["target_params_tolerance"] = 0.05
    with pytest.raises(SpecError, match="a tolerance of no target"):
        parse_space(raw)
