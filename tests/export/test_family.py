"""Family scaling: the rules reproduce LFM2's published family and keep any backbone within ±3%."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
import transformers

from star_search.errors import ExportError
from star_search.export import export_preset, scale_family
from star_search.export.family import FAMILY_TARGETS, FamilyRules, stretch_mixers
from star_search.presets import PRESETS
from star_search.sizing import active_param_count, param_count
from star_search.spec import ArchSpec, LayerSpec

LETTERS = {"c": "conv", "a": "attention", "s": "ssm", "l": "linear_attention"}


def backbone(letters: str, ffn_ratio: float, d_model: int = 128) -> ArchSpec:
    return ArchSpec(d_model=d_model, layers=tuple(LayerSpec(LETTERS[c]) for c in letters), n_heads=4,
                    n_kv_heads=2, head_dim=32, ffn_dim=int(ffn_ratio * d_model), vocab_size=4096)


def test_lfm2_350m_pattern_reproduces_the_published_family() -> None:
    members = {m.target.name: m.spec for m in scale_family(PRESETS["lfm2-350m"])}
    assert list(members) == ["350m", "700m", "1.2b", "2.6b", "8b-a1b"]
    shapes = {name: (s.d_model, s.n_layers, s.count("attention"), s.ffn_dim) for name, s in members.items()}
    assert shapes == {"350m": (1024, 16, 6, 4608), "700m": (1536, 16, 6, 6912), "1.2b": (2048, 16, 6, 8192),
                      "2.6b": (2048, 30, 8, 10752), "8b-a1b": (2048, 24, 6, 7168)}
    assert members["350m"].layers == PRESETS["lfm2-350m"].layers  # same placement at the anchor
    moe = members["8b-a1b"]
    assert (moe.moe_num_experts, moe.moe_top_k, moe.moe_expert_dim) == (32, 4, 1792)
    assert [layer.ffn for layer in moe.layers].count("swiglu") == 2
    for name, spec in members.items():
        published = PRESETS[f"lfm2-{name}"]
        assert param_count(spec) == param_count(published)
        assert active_param_count(spec) == active_param_count(published)
        assert (spec.n_heads, spec.n_kv_heads, spec.head_dim) == (spec.d_model // 64, 8, 64)


@pytest.mark.parametrize(("letters", "ratio"), [
    ("cacs", 3.0), ("cccc", 2.0), ("aaaa", 4.0), ("ssss", 3.0), ("llal", 2.5), ("cacacaca", 6.0), ("a", 1.0),
    ("ccccccccccccccca", 8.0)])
def test_any_backbone_lands_within_three_percent(letters: str, ratio: float) -> None:
    members = scale_family(backbone(letters, ratio))
    for member, target in zip(members, FAMILY_TARGETS, strict=True):
        assert abs(param_count(member.spec) / target.total - 1) <= 0.03
        if target.active is not None:
            assert abs(active_param_count(member.spec) / target.active - 1) <= 0.03
        assert set(member.spec.mixers()) == set(LETTERS[c] for c in letters)  # no mixer invented or lost


def test_attention_fraction_and_order_follow_the_backbone() -> None:
    mixers = stretch_mixers(backbone("ssaaccll", 3.0), 16, 4)
    # Each base layer covers two of the sixteen, in order.
    assert mixers == ("ssm",) * 4 + ("attention",) * 4 + ("conv",) * 4 + ("linear_attention",) * 4


def test_crowded_attention_spreads_in_place_and_never_wraps_to_the_front() -> None:
    # caaa at 18 layers wants 14 attention layers between relative depths 3/8 and 7/8, more
    # than fit there: they spread to the nearest free layers, so the conv start is kept.
    mixers = stretch_mixers(backbone("caaa", 4.0), 18, 14)
    assert mixers == ("conv",) * 4 + ("attention",) * 14


def test_a_size_out_of_reach_is_an_error_naming_it() -> None:
    with pytest.raises(ExportError, match=r"size 350m: total parameters miss the target"):
        scale_family(backbone("cacc", 4.0), FamilyRules(tolerance=1e-9))


def test_family_configs_load_in_transformers_with_our_counts(tmp_path) -> None:
    result = export_preset("lfm2-350m", tmp_path, family=True)
    assert (tmp_path / "family.md").is_file() and len(result.family) == 5
    for member in result.family:
        config = transformers.AutoConfig.from_pretrained(member.out_dir)
        with torch.device("meta"):
            model = transformers.AutoModelForCausalLM.from_config(config)
        spec = ArchSpec.from_json((member.out_dir / "arch.json").read_text())
        assert sum(p.numel() for p in model.parameters()) == param_count(spec)
    assert json.loads((tmp_path / "8b-a1b" / "config.json").read_text())["model_type"] == "lfm2_moe"


def test_a_backbone_already_at_a_size_is_that_member_unchanged() -> None:
    """Rule 0: the shipping-size search's answer (trial 224, 15 layers, 354M) is its family's 350m
    member as searched and measured, not a 16-layer re-scaling; the other sizes follow the rules."""
    searched = replace(PRESETS["lfm2-350m"], ffn_dim=4864, name="lfm2_hybrid_350m",
                       layers=tuple(LayerSpec(LETTERS[c]) for c in "cccccacccccaccc"))
    members = {m.target.name: m.spec for m in scale_family(searched)}
    assert members["350m"] == replace(searched, name="350m")
    assert members["700m"].n_layers == 16 and members["700m"].count("attention") == 2
    wider = replace(searched, d_model=1536, n_heads=24)  # off the anchor width: rescaled by the rules
    assert {m.target.name: m.spec for m in scale_family(wider)}["350m"].d_model == 1024
