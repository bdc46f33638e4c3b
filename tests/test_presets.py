"""Presets: the published LFM2 models, counted without allocation and by transformers on meta."""

from __future__ import annotations

import pytest
import torch
import transformers

from star_search.errors import SpecError
from star_search.export import write_hf_config
from star_search.presets import PRESETS, lfm2_ffn_dim, preset
from star_search.sizing import active_param_count, param_count

# Parameter counts as the model cards state them (rounded there; compared to that precision).
PUBLISHED_TOTAL = {"lfm2-350m": 354e6, "lfm2-700m": 742e6, "lfm2-1.2b": 1.17e9, "lfm2-2.6b": 2.57e9,
                   "lfm2-8b-a1b": 8.34e9}


def test_the_five_published_names() -> None:
    assert sorted(PRESETS) == ["lfm2-1.2b", "lfm2-2.6b", "lfm2-350m", "lfm2-700m", "lfm2-8b-a1b"]
    assert all(spec.name == name for name, spec in PRESETS.items())
    with pytest.raises(SpecError, match=r"preset.*lfm2-9b.*lfm2-1\.2b"):
        preset("lfm2-9b")


def test_ffn_rule_gives_the_checkpoint_widths() -> None:
    assert [lfm2_ffn_dim(w) for w in (6656, 10240, 12288)] == [4608, 6912, 8192]


def test_shapes_follow_the_reference() -> None:
    small = preset("lfm2-350m")
    assert small.pattern() == "ccaccaccacacacac"
    assert (small.d_model, small.n_heads, small.n_kv_heads) == (1024, 16, 8)
    big = preset("lfm2-2.6b")
    assert [i for i, m in enumerate(big.mixers()) if m == "attention"] == [2, 5, 9, 13, 17, 21, 24, 27]
    moe = preset("lfm2-8b-a1b")
    assert [layer.ffn for layer in moe.layers[:3]] == ["swiglu", "swiglu", "moe"]
    assert (moe.moe_num_experts, moe.moe_top_k, moe.moe_expert_dim, moe.ffn_dim) == (32, 4, 1792, 7168)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_counts_equal_transformers_on_meta(name: str, tmp_path) -> None:
    spec = preset(name)
    write_hf_config(spec, tmp_path)
    config = transformers.AutoConfig.from_pretrained(tmp_path)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    total = sum(p.numel() for p in model.parameters())
    assert param_count(spec) == total
    assert abs(total / PUBLISHED_TOTAL[name] - 1) < 0.005
    # Active per token: every parameter but the experts a token is not routed to.
    inactive = 0
    for module_name, module in model.named_modules():
        if module_name.endswith("feed_forward.experts"):
            expert_params = sum(p.numel() for p in module.parameters())
            unused = config.num_experts - config.num_experts_per_tok
            inactive += expert_params * unused // config.num_experts
    assert active_param_count(spec) == total - inactive


def test_moe_active_count_is_the_published_one() -> None:
    spec = preset("lfm2-8b-a1b")
    assert 1.5e9 <= active_param_count(spec) <= 1.6e9  # "1.5B active" on the model card


def test_preset_table_lists_every_preset_with_counts() -> None:
    from star_search.presets import preset_table

    lines = preset_table().splitlines()
    assert len(lines) == 1 + len(PRESETS)
    assert "lfm2-8b-a1b" in lines[-1] and "8,339,929,856" in lines[-1] and "1,557,740,288" in lines[-1]
