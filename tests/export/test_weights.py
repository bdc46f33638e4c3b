"""Weights export: transformers loads our checkpoints with no missing keys and equal logits."""

from __future__ import annotations

import pytest
import torch
import transformers

from star_search.errors import ExportError
from star_search.export.weights import (
    hf_state_dict,
    load_native_weights,
    write_hf_checkpoint,
    write_native_weights,
    write_weights,
)
from star_search.model import build_model
from star_search.presets import PRESETS
from star_search.spec import ArchSpec, LayerSpec

TINY = dict(d_model=64, n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=96, vocab_size=256, max_seq_len=128)
TINY_MOE = dict(moe_expert_dim=32, moe_num_experts=8, moe_top_k=2)


def tiny(spec: ArchSpec) -> ArchSpec:
    """The preset's layer pattern at small dimensions."""
    return spec.with_width(**TINY, **(TINY_MOE if spec.moe_num_experts else {}))


def perturbed(spec: ArchSpec):
    """A seeded model whose norms and expert biases are not at their initial values, so a name
    mix-up between them cannot go unnoticed."""
    model = build_model(spec, seed=3)
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if "norm" in name or "expert_bias" in name:
                tensor.add_(0.2 * torch.randn(tensor.shape, generator=generator))
    return model


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_transformers_loads_tiny_preset_with_equal_logits(name: str, tmp_path) -> None:
    model = perturbed(tiny(PRESETS[name]))
    write_hf_checkpoint(model, tmp_path)
    hf_model, info = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"]
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    expected_class = "Lfm2MoeForCausalLM" if PRESETS[name].moe_num_experts else "Lfm2ForCausalLM"
    assert type(hf_model).__name__ == expected_class
    tokens = torch.randint(0, 256, (2, 48), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ours, theirs = model(tokens), hf_model(tokens).logits
    assert ours.abs().max() > 0.1  # the comparison below is not between two near-zero tensors
    torch.testing.assert_close(theirs, ours, atol=1e-4, rtol=0)


def test_untied_head_is_exported(tmp_path) -> None:
    spec = tiny(PRESETS["lfm2-350m"]).with_width(tie_embeddings=False)
    model = perturbed(spec)
    assert "lm_head.weight" in hf_state_dict(model)
    write_hf_checkpoint(model, tmp_path)
    hf_model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path)
    tokens = torch.arange(20)[None]
    with torch.no_grad():
        torch.testing.assert_close(hf_model(tokens).logits, model(tokens), atol=1e-4, rtol=0)


def test_ssm_and_linear_attention_export_native_weights(tmp_path) -> None:
    layers = (LayerSpec("conv"), LayerSpec("ssm"), LayerSpec("linear_attention"), LayerSpec("attention"))
    spec = ArchSpec(layers=layers, **TINY)
    model = perturbed(spec)
    with pytest.raises(ExportError, match=r"layers \[1, 2\].*no transformers equivalent"):
        hf_state_dict(model)
    files, note = write_weights(model, tmp_path)
    assert [p.name for p in files] == ["arch.json", "weights.safetensors"]
    assert "transformers has no model class for ssm or linear_attention" in note
    loaded = load_native_weights(tmp_path)
    tokens = torch.arange(30)[None]
    with torch.no_grad():
        torch.testing.assert_close(loaded(tokens), model(tokens), atol=0, rtol=0)


def test_native_weights_must_match_the_spec(tmp_path) -> None:
    spec = ArchSpec(layers=(LayerSpec("conv"), LayerSpec("ssm")), **TINY)
    write_native_weights(build_model(spec), tmp_path)
    other = ArchSpec(layers=(LayerSpec("conv"), LayerSpec("attention")), **TINY)
    (tmp_path / "arch.json").write_text(other.to_json())
    with pytest.raises(ExportError, match=r"does not match arch\.json"):
        load_native_weights(tmp_path)
    with pytest.raises(ExportError, match=r"missing has no arch\.json"):
        load_native_weights(tmp_path / "missing")
