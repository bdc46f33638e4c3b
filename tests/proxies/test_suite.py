"""The proxy suite: pattern-keeping proxies, determinism, and behaviour that can fail."""

from __future__ import annotations

import pytest

from star_search.proxies import SuiteResult, proxy_config_for_tier, run_suite
from star_search.proxies.proxy_model import proxy_spec
from star_search.spec import ArchSpec, LayerSpec


def arch(*mixers: str, ffn: str = "swiglu") -> ArchSpec:
    layers = tuple(LayerSpec(m, ffn) for m in mixers)
    moe = {"moe_num_experts": 16, "moe_top_k": 2, "moe_expert_dim": 256} if ffn == "moe" else {}
    return ArchSpec(d_model=512, layers=layers, n_heads=8, n_kv_heads=2, head_dim=64, ffn_dim=1536,
                    vocab_size=32000, **moe)


def test_proxy_keeps_pattern_and_ratios() -> None:
    spec = arch("conv", "attention", "ssm", "linear_attention", ffn="moe")
    small = proxy_spec(spec, d_model=64, head_dim=16, max_seq_len=64)
    assert small.layers == spec.layers
    assert small.d_model == 64 and small.n_heads == 4 and small.n_kv_heads == 1
    assert small.ffn_dim == 192  # 3 × width, as in the candidate
    assert small.moe_num_experts == 8 and small.moe_top_k == 2


def test_suite_is_deterministic_and_round_trips() -> None:
    config = proxy_config_for_tier("demo", steps=8, eval_samples=16)
    spec = arch("conv", "attention")
    first, second = run_suite(spec, config), run_suite(spec, config)
    assert {n: t.accuracy for n, t in first.tasks.items()} == {n: t.accuracy for n, t in second.tasks.items()}
    assert first.final_loss == second.final_loss
    again = SuiteResult.from_dict(first.to_dict())
    assert again.quality == pytest.approx(first.quality)
    assert 0.0 <= first.quality <= 1.0
    assert len(first.tasks) >= 6


def test_attention_learns_recall_where_short_convolution_cannot() -> None:
    """Known behaviour: associative recall needs a global mixer; a short conv sees 3 tokens."""
    config = proxy_config_for_tier("demo", steps=300, tasks=("mqar/pairs4-keys32-values32",),
                                   batch_per_task=32)
    attention = run_suite(arch("attention", "attention"), config)
    conv = run_suite(arch("conv", "conv"), config)
    name = "mqar/pairs4-keys32-values32"
    chance = attention.tasks[name].chance
    assert conv.tasks[name].accuracy < 3 * chance  # measured here: 0.057 (chance 0.031)
    assert attention.tasks[name].accuracy > 5 * chance  # measured here: 0.25 (0.46 at 800 steps)
