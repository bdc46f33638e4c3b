"""The small proxy model of a candidate: same layer pattern, tiny widths, the proxy vocabulary."""

from __future__ import annotations

import torch

from star_search.model import Backbone, build_model
from star_search.proxies.config import ProxyConfig
from star_search.proxies.vocab import VOCAB_SIZE
from star_search.spec import ArchSpec

STATE_DIM_CAP = 16  # SSM state entries per channel in the proxy


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def proxy_seq_len(config: ProxyConfig) -> int:
    """Longest training sequence in tokens: the longest selected task plus its family token."""
    return max(task.seq_len for task in config.select_tasks()) + 1


def proxy_spec(spec: ArchSpec, config: ProxyConfig) -> ArchSpec:
    """Scale `spec` down to the proxy width `config.d_model`.

    Kept: the layers (mixer and feed-forward kinds, in order), conv kernel, SSM expansion, RoPE
    theta, and the ratios that shape the blocks (FFN width / d_model, query heads per KV head,
    expert width / d_model). Adapted: heads = d_model / head_dim, SSM state ≤ 16, experts ≤
    `config.max_experts` with top-k clipped to them, vocabulary = the proxy vocabulary (128),
    max_seq_len = the longest selected task.
    """
    d_model, head_dim = config.d_model, config.head_dim
    n_heads = d_model // head_dim
    n_kv_heads = max(1, n_heads // max(1, spec.n_heads // spec.n_kv_heads))
    while n_heads % n_kv_heads:
        n_kv_heads -= 1
    scale = d_model / spec.d_model
    experts = min(spec.moe_num_experts, config.max_experts)
    return spec.with_width(
        d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv_heads, head_dim=head_dim,
        ffn_dim=_round_to(spec.ffn_dim * scale, 8),
        vocab_size=VOCAB_SIZE, max_seq_len=proxy_seq_len(config),
        ssm_state_dim=min(spec.ssm_state_dim, STATE_DIM_CAP),
        moe_num_experts=experts, moe_top_k=min(spec.moe_top_k, experts),
        moe_expert_dim=_round_to(spec.moe_expert_dim * scale, 8) if experts else 0,
        name=f"{spec.name}-proxy" if spec.name else "proxy")


def build_proxy(small: ArchSpec, seed: int) -> Backbone:
    """`build_model(small, seed)`, then the token embedding (tied to the LM head) redrawn from
    N(0, 1/d_model) with a generator seeded by `seed`.

    Why: `nn.Embedding`'s default N(0, 1) makes the tied head's initial logits ~sqrt(d_model)
    wide (an initial loss near 57 nats at d_model 64 instead of ln 128 = 4.9), and a short
    proxy run spends its first steps undoing that.
    """
    model = build_model(small, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    weight = model.embed.weight
    with torch.no_grad():
        weight.copy_(torch.randn(weight.shape, generator=generator) * small.d_model ** -0.5)
    return model
