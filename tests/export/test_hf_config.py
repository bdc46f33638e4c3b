"""to_hf_config: the written config.json loads in transformers and builds a model of our size."""

from __future__ import annotations

import json

import pytest
import torch
import transformers

from star_search.errors import ExportError
from star_search.export import to_hf_config, write_hf_config
from star_search.spec import ArchSpec, LayerSpec

LETTERS = {"c": "conv", "a": "attention", "s": "ssm", "l": "linear_attention"}


def spec_of(letters: str, ffns: str | None = None, **sizes) -> ArchSpec:
    ffns = ffns or "d" * len(letters)
    layers = tuple(LayerSpec(LETTERS[m], "moe" if f == "m" else "swiglu")
                   for m, f in zip(letters, ffns, strict=True))
    fields = dict(d_model=64, n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=96, vocab_size=320,
                  conv_kernel=4, rope_theta=10_000.0, max_seq_len=512)
    fields.update(sizes)
    return ArchSpec(layers=layers, **fields)


def load_config(spec: ArchSpec, tmp_path):
    write_hf_config(spec, tmp_path)
    return transformers.AutoConfig.from_pretrained(tmp_path)


def test_dense_config_loads_with_matching_fields(tmp_path):
    spec = spec_of("ccaccacc")
    cfg = load_config(spec, tmp_path)
    assert type(cfg).__name__ == "Lfm2Config"
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.vocab_size) == (64, 8, 320)
    assert (cfg.num_attention_heads, cfg.num_key_value_heads) == (4, 2)
    assert cfg.layer_types == ["conv", "conv", "full_attention", "conv", "conv", "full_attention",
                               "conv", "conv"]
    assert cfg.full_attn_idxs == [2, 5]
    assert cfg.intermediate_size == 96 and cfg.block_auto_adjust_ff_dim is False
    assert cfg.conv_L_cache == 4 and cfg.norm_eps == spec.norm_eps
    assert cfg.rope_parameters["rope_theta"] == 10_000.0 and cfg.tie_word_embeddings is True
    assert cfg.architectures == ["Lfm2ForCausalLM"]


@pytest.mark.parametrize("sizes", [{}, dict(d_model=128, n_heads=8, ffn_dim=333, tie_embeddings=False)])
def test_dense_hf_model_has_our_parameter_count(tmp_path, sizes):
    try:
        from star_search.model import build_model
    except ImportError as err:
        pytest.skip(f"star_search.model is not importable yet: {err}")
    spec = spec_of("cacca", **sizes)
    cfg = load_config(spec, tmp_path)
    with torch.device("meta"):
        hf_model = transformers.AutoModelForCausalLM.from_config(cfg)
        ours = build_model(spec)
    hf_count = sum(p.numel() for p in hf_model.parameters())
    assert hf_count == sum(p.numel() for p in ours.parameters())


def test_moe_config_has_trailing_moe_block(tmp_path):
    spec = spec_of("ccaccacc", ffns="ddmmmmmm", moe_num_experts=4, moe_top_k=2, moe_expert_dim=32)
    cfg = load_config(spec, tmp_path)
    assert type(cfg).__name__ == "Lfm2MoeConfig"
    assert (cfg.num_dense_layers, cfg.num_experts, cfg.num_experts_per_tok) == (2, 4, 2)
    assert (cfg.intermediate_size, cfg.moe_intermediate_size) == (96, 32)
    assert cfg.layer_types[2] == "full_attention" and cfg.use_expert_bias is True
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(cfg)
    assert type(model).__name__ == "Lfm2MoeForCausalLM"


def test_moe_layers_must_trail_the_dense_ones():
    spec = spec_of("cccc", ffns="dmdm", moe_num_experts=4, moe_top_k=2, moe_expert_dim=32)
    with pytest.raises(ExportError, match=r"layers \[2\] are swiglu after the first moe layer 1"):
        to_hf_config(spec)


def test_ssm_and_linear_attention_are_refused_by_name():
    with pytest.raises(ExportError) as info:
        to_hf_config(spec_of("ccsca"))
    message = str(info.value)
    assert "layer 2 is ssm" in message and "no LFM2 model class for ssm" in message
    with pytest.raises(ExportError, match="layer 0 is linear_attention"):
        to_hf_config(spec_of("lcca"))


def test_head_dim_must_match_hidden_over_heads():
    with pytest.raises(ExportError, match=r"head_dim=32 must equal d_model / n_heads = 64 / 4"):
        to_hf_config(spec_of("ccac", head_dim=32))


def test_written_file_is_plain_json(tmp_path):
    path = write_hf_config(spec_of("cca"), tmp_path / "nested")
    data = json.loads(path.read_text())
    assert data["model_type"] == "lfm2" and data["conv_L_cache"] == 4
