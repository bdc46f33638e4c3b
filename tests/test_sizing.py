"""sizing.py's formulas agree exactly with the built model's parameters and decode state."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from star_search import sizing
from star_search.model import Backbone
from star_search.spec import MIXER_KINDS, ArchSpec, LayerSpec

CONTEXT_LEN = 40


def make_spec(layers: tuple[LayerSpec, ...], **changes: object) -> ArchSpec:
    sizes: dict[str, object] = dict(
        d_model=48, n_heads=4, n_kv_heads=2, head_dim=12, ffn_dim=80, vocab_size=96, conv_kernel=4,
        ssm_state_dim=6, ssm_expand=2, moe_num_experts=5, moe_top_k=2, moe_expert_dim=24)
    sizes.update(changes)
    return ArchSpec(layers=layers, **sizes)  # type: ignore[arg-type]


SPECS = {
    **{f"{kind}-only": make_spec((LayerSpec(kind),)) for kind in MIXER_KINDS},
    "hybrid-moe-untied": make_spec(
        tuple(LayerSpec(kind, ffn) for kind in MIXER_KINDS for ffn in ("swiglu", "moe")),
        tie_embeddings=False),
    "hybrid-moe-tied": make_spec((LayerSpec("conv"), LayerSpec("attention", "moe"),
                                  LayerSpec("ssm", "moe"), LayerSpec("linear_attention", "moe"))),
    "kernel-2-mqa": make_spec((LayerSpec("attention"), LayerSpec("ssm"), LayerSpec("conv")),
                              conv_kernel=2, n_kv_heads=1, ssm_expand=1, tie_embeddings=False),
}


@pytest.fixture(scope="module", params=sorted(SPECS))
def spec_and_model(request: pytest.FixtureRequest) -> tuple[ArchSpec, Backbone]:
    spec = SPECS[request.param]
    return spec, Backbone(spec)


def test_param_count_matches_built_model(spec_and_model: tuple[ArchSpec, Backbone]) -> None:
    spec, model = spec_and_model
    assert sizing.param_count(spec) == sum(p.numel() for p in model.parameters())


def test_operator_counts_match_built_modules(spec_and_model: tuple[ArchSpec, Backbone]) -> None:
    spec, model = spec_and_model
    for layer, block in zip(spec.layers, model.blocks, strict=True):
        assert sizing.mixer_params(layer.mixer, spec) == sum(p.numel() for p in block.mixer.parameters())
        assert sizing.ffn_params(layer.ffn, spec) == sum(p.numel() for p in block.ffn.parameters())


def test_state_bytes_match_init_state(spec_and_model: tuple[ArchSpec, Backbone]) -> None:
    spec, model = spec_and_model
    state = model.init_state(1, CONTEXT_LEN, torch.float32)
    assert sizing.state_bytes(spec, CONTEXT_LEN) == sum(t.numel() * t.element_size() for t in state)
    for layer, block in zip(spec.layers, model.blocks, strict=True):
        elements = sum(t.numel() for t in block.mixer.init_state(1, CONTEXT_LEN, torch.float32))
        assert sizing.mixer_state_elements(layer.mixer, spec, CONTEXT_LEN) == elements


def test_only_kv_cache_grows_with_context() -> None:
    spec = SPECS["hybrid-moe-untied"]
    per_token = sizing.kv_cache_bytes_per_token(spec)
    assert per_token == 2 * 2 * 12 * 4 * 2  # two attention layers, K and V, 2 kv heads x 12, fp32
    assert sizing.state_bytes(spec, 100) - sizing.state_bytes(spec, 99) == per_token
    assert sizing.state_bytes(spec, 10, bytes_per_element=2) * 2 == sizing.state_bytes(spec, 10)
    recurrent_only = SPECS["linear_attention-only"]
    assert sizing.kv_cache_bytes_per_token(recurrent_only) == 0
    assert sizing.state_bytes(recurrent_only, 10) == sizing.state_bytes(recurrent_only, 10_000)


def test_active_params_count_only_routed_experts() -> None:
    dense = SPECS["attention-only"]
    assert sizing.active_param_count(dense) == sizing.param_count(dense)
    spec = SPECS["hybrid-moe-tied"]
    expert = 3 * spec.d_model * spec.moe_expert_dim
    idle = spec.moe_num_experts - spec.moe_top_k
    moe_layers = sum(layer.ffn == "moe" for layer in spec.layers)
    assert sizing.active_param_count(spec) == sizing.param_count(spec) - moe_layers * idle * expert
    assert sizing.active_param_count(spec) < sizing.param_count(spec)


def test_sizing_does_not_import_torch() -> None:
    code = "import sys, star_search.sizing; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
