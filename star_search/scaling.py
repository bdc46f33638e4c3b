"""A candidate at other sizes: the target size its latency refers to, the proxy size it trains at.

Both keep the layer pattern (mixer and feed-forward kinds, in order) and the ratios that shape the
blocks; they change global widths only. Pure functions of an `ArchSpec` (no torch), so that every
room (profiler, latency, proxies, search) scales specs the same way without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from star_search.spec import ArchSpec

# SSM state entries per channel in the proxy.
PROXY_STATE_DIM_CAP = 16


@dataclass(frozen=True)
class Target:
    """The size a device profile's latency refers to: None keeps the candidate's own value."""

    d_model: int | None = None
    vocab_size: int | None = None


def target_spec(spec: ArchSpec, target: Target) -> ArchSpec:
    """The candidate at the target size (pattern and ratios kept: heads, FFN and expert widths
    scale with d_model, the KV heads stay)."""
    changes: dict[str, Any] = {}
    if target.vocab_size is not None:
        changes["vocab_size"] = target.vocab_size
    if target.d_model is not None and target.d_model != spec.d_model:
        scale = target.d_model / spec.d_model
        changes.update(d_model=target.d_model,
                       n_heads=max(spec.n_kv_heads, round(spec.n_heads * scale)),
                       ffn_dim=max(1, round(spec.ffn_dim * scale)),
                       moe_expert_dim=round(spec.moe_expert_dim * scale))
    return spec.with_width(**changes) if changes else spec


@dataclass(frozen=True)
class ProxySize:
    """The proxy's global sizes: width and head size (elements), the most experts kept, the proxy
    vocabulary and the longest training sequence (tokens)."""

    d_model: int
    head_dim: int
    max_experts: int
    vocab_size: int
    max_seq_len: int


def round_to(value: float, multiple: int) -> int:
    """`value` rounded to the nearest multiple of `multiple`, at least `multiple`."""
    return max(multiple, round(value / multiple) * multiple)


def proxy_spec(spec: ArchSpec, size: ProxySize) -> ArchSpec:
    """Scale `spec` down to the proxy size.

    Kept: the layers, conv kernel, SSM expansion, RoPE theta, and the ratios that shape the blocks
    (FFN width / d_model, query heads per KV head, expert width / d_model). Adapted: heads =
    d_model / head_dim, SSM state ≤ PROXY_STATE_DIM_CAP, experts ≤ `size.max_experts` with top-k
    clipped to them, vocabulary and max_seq_len from `size`.
    """
    d_model, head_dim = size.d_model, size.head_dim
    n_heads = d_model // head_dim
    n_kv_heads = max(1, n_heads // max(1, spec.n_heads // spec.n_kv_heads))
    while n_heads % n_kv_heads:
        n_kv_heads -= 1
    scale = d_model / spec.d_model
    experts = min(spec.moe_num_experts, size.max_experts)
    return spec.with_width(
        d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv_heads, head_dim=head_dim,
        ffn_dim=round_to(spec.ffn_dim * scale, 8),
        vocab_size=size.vocab_size, max_seq_len=size.max_seq_len,
        ssm_state_dim=min(spec.ssm_state_dim, PROXY_STATE_DIM_CAP),
        moe_num_experts=experts, moe_top_k=min(spec.moe_top_k, experts),
        moe_expert_dim=round_to(spec.moe_expert_dim * scale, 8) if experts else 0,
        name=f"{spec.name}-proxy" if spec.name else "proxy")
