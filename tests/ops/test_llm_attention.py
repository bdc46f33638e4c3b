"""Attention on ExecuTorch's LLM custom ops (`ops.llm_attention`) equals the plain attention.

Eager, fp32, tiny widths: the same weights through the plain path (explicit KV cache, written-out
softmax attention) and through `llama::update_cache` + `llama::custom_sdpa` over buffers give the
same prefill logits and the same logits for every decode step after it.
"""

from __future__ import annotations

import copy

import pytest
import torch

from star_search.lower.cache import ProgramCache
from star_search.lower.programs import ProgramShapes, prefill_dynamic_shapes
from star_search.model import build_model
from star_search.ops.attention import GroupedQueryAttention
from star_search.ops.llm_attention import LLMOpsAttention, apply_llm_ops
from star_search.spec import ArchSpec, LayerSpec

HYBRID = ArchSpec(d_model=64, layers=tuple(LayerSpec(m) for m in ("conv", "attention", "conv", "attention")),
                  n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=128, vocab_size=256, name="hybrid")
# Qwen3-like: head_dim * heads != d_model, grouped KV heads, every layer attention.
QWEN_LIKE = ArchSpec(d_model=64, layers=tuple(LayerSpec("attention") for _ in range(3)), n_heads=4,
                     n_kv_heads=2, head_dim=32, ffn_dim=96, vocab_size=300, norm_eps=1e-6,
                     name="qwen-like")


@pytest.mark.parametrize("spec", [HYBRID, QWEN_LIKE], ids=lambda s: s.name)
@pytest.mark.parametrize("prompt_len", [1, 7])
def test_custom_op_attention_matches_plain_path(spec: ArchSpec, prompt_len: int) -> None:
    plain = build_model(spec, seed=3).eval()
    with torch.no_grad():  # non-trivial QK-norm scales, so the norms are exercised
        for block in plain.blocks:
            if isinstance(block.mixer, GroupedQueryAttention):
                block.mixer.q_layernorm.weight.uniform_(0.5, 1.5)
                block.mixer.k_layernorm.weight.uniform_(0.5, 1.5)
    custom = copy.deepcopy(plain)
    swapped = apply_llm_ops(custom, max_seq_len=32)
    assert swapped == spec.count("attention")
    for block, layer in zip(custom.blocks, spec.layers, strict=True):
        assert isinstance(block.mixer, LLMOpsAttention) == (layer.mixer == "attention")
    tokens = torch.randint(0, spec.vocab_size, (1, prompt_len), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        plain_state, custom_state = plain.init_state(1, 32), custom.init_state(1, 32)
        assert len(custom_state) == len(plain_state) - 2 * spec.count("attention")
        plain_logits, plain_state = plain.prefill(tokens, plain_state)
        custom_logits, custom_state = custom.prefill(tokens, custom_state)
        torch.testing.assert_close(custom_logits, plain_logits, rtol=1e-4, atol=1e-4)
        for step in range(6):
            token = plain_logits.argmax(-1).reshape(1, 1)
            pos = torch.tensor([prompt_len + step])
            plain_logits, plain_state = plain.step(token, plain_state, pos)
            custom_logits, custom_state = custom.step(token, custom_state, pos)
            torch.testing.assert_close(custom_logits, plain_logits, rtol=1e-4, atol=1e-4)


def test_llm_ops_model_exports_with_a_dynamic_prompt() -> None:
    """torch.export takes the custom ops, the buffers and a prompt of variable length."""
    from star_search.lower.programs import PrefillProgram, prefill_example_inputs

    shapes = ProgramShapes(prompt_len=8, max_seq_len=16, dynamic_prompt=True, llm_ops=True)
    model = build_model(HYBRID).eval()
    apply_llm_ops(model, shapes.max_seq_len)
    with torch.no_grad():
        exported = torch.export.export(PrefillProgram(model), prefill_example_inputs(model, shapes),
                                       dynamic_shapes=prefill_dynamic_shapes(model, shapes), strict=False)
    targets = {str(node.target) for node in exported.graph.nodes}
    assert any("custom_sdpa" in t for t in targets)
    assert any("update_cache" in t for t in targets)
    # The cache writes stay in place on the layers' buffers (`to_edge` functionalises them into
    # buffer mutations, which `share_mutable_buffers` then plans once for both methods).
    buffers = set(exported.graph_signature.inputs_to_buffers)
    written = {node.args[1].name for node in exported.graph.nodes if "update_cache" in str(node.target)}
    assert len(written) == 4
    assert written <= buffers


def test_new_shape_options_leave_existing_cache_keys_alone(tmp_path) -> None:
    cache = ProgramCache(tmp_path)
    plain = ProgramShapes(prompt_len=8, max_seq_len=16)
    assert plain.to_dict() == {"prompt_len": 8, "max_seq_len": 16, "dtype": "fp32"}
    keys = {cache.key(HYBRID, s, None) for s in (
        plain, ProgramShapes(8, 16, dynamic_prompt=True), ProgramShapes(8, 16, llm_ops=True),
        ProgramShapes(8, 16, dynamic_prompt=True, llm_ops=True))}
    assert len(keys) == 4


def test_shape_options_are_validated() -> None:
    from star_search.errors import SpecError

    with pytest.raises(SpecError, match="llm_ops"):
        ProgramShapes(8, 16, llm_ops="yes")
    with pytest.raises(SpecError, match="dynamic_prompt"):
        ProgramShapes(1, 16, dynamic_prompt=True)
