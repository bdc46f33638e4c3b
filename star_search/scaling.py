"""A candidate at other sizes: the target size its latency refers to, the proxy size it trains at.

Both keep the layer pattern (mixer and feed-forward kinds, in order) and the ratios that shape the
blocks; they change global widths only. Pure functions of an `ArchSpec` (no torch), so that every
room (profiler, latency, proxies, search) scales specs the same way without importing each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from star_search.spec import ArchSpec, LayerSpec

# SSM state entries per channel in the proxy.
PROXY_STATE_DIM_CAP = 16
# A depth reduction leaves stacks this shallow as they are (the shallow fidelity set is 2-6 layers).
SHALLOW_LAYERS = 6


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
    vocabulary and the longest training sequence (tokens); `depth_fraction` < 1: a stack of more
    than `SHALLOW_LAYERS` layers is reduced to that fraction of them, never below `SHALLOW_LAYERS`
    (`proxy_depth`, `reduced_layers`), so depth still orders the proxies of one pattern."""

    d_model: int
    head_dim: int
    max_experts: int
    vocab_size: int
    max_seq_len: int
    depth_fraction: float = 1.0


def round_to(value: float, multiple: int) -> int:
    """`value` rounded to the nearest multiple of `multiple`, at least `multiple`."""
    return max(multiple, round(value / multiple) * multiple)


def proxy_depth(layers: int, depth_fraction: float) -> int:
    """Layers a proxy of a `layers`-deep candidate keeps: round(layers · depth_fraction), at least
    `SHALLOW_LAYERS` (or all of a shallower stack)."""
    return max(min(layers, SHALLOW_LAYERS), round(layers * depth_fraction))


def reduced_layers(layers: Sequence[LayerSpec], count: int) -> tuple[LayerSpec, ...]:
    """`count` of `layers` with the same kinds in the same order and, as near as whole layers allow,
    the same ratio: each kind (mixer and feed-forward) keeps its share of `count` (largest
    remainder, at least one layer of every kind while `count` allows), its kept layers spread evenly over its
    own occurrences (the k-th of t kept is occurrence floor((k + 1/2) · c / t) of c), and the kept
    layers stay in their original order. `ccaccaccacacacac` (LFM2-350M) → `ccacacac`;
    `scscscsascscscsa` → `scscscsa`. Fewer layers than `count` come back unchanged."""
    if count <= 0 or len(layers) <= count:
        return tuple(layers)
    positions: dict[LayerSpec, list[int]] = {}
    for index, layer in enumerate(layers):
        positions.setdefault(layer, []).append(index)
    shares = {kind: len(where) * count / len(layers) for kind, where in positions.items()}
    kept = {kind: min(len(positions[kind]), max(1, math.floor(share))) for kind, share in shares.items()}
    by_remainder = sorted(shares, key=lambda kind: (kept[kind] - shares[kind], positions[kind][0]))
    while sum(kept.values()) > count:  # more kinds than layers: drop the smallest shares
        smallest = min((k for k in kept if kept[k]), key=lambda k: (shares[k], -positions[k][0]))
        kept[smallest] -= 1
    for kind in by_remainder:
        if sum(kept.values()) == count:
            break
        if kept[kind] < len(positions[kind]):
            kept[kind] += 1
    chosen = sorted(positions[kind][math.floor((k + 0.5) * len(positions[kind]) / kept[kind])]
                    for kind in positions for k in range(kept[kind]))
    return tuple(layers[index] for index in chosen)


def proxy_spec(spec: ArchSpec, size: ProxySize) -> ArchSpec:
    """Scale `spec` down to the proxy size.

    Kept: the layers, conv kernel, SSM expansion, RoPE theta, and the ratios that shape the blocks
    (FFN width / d_model, query heads per KV head, expert width / d_model). Adapted: heads =
    d_model / head_dim, SSM state ≤ PROXY_STATE_DIM_CAP, experts ≤ `size.max_experts` with top-k
    clipped to them, vocabulary and max_seq_len from `size`; with `size.depth_fraction` < 1, a deep
    stack reduced to fewer layers with the same order and ratio (`proxy_depth`, `reduced_layers`).
    """
    d_model, head_dim = size.d_model, size.head_dim
    n_heads = d_model // head_dim
    n_kv_heads = max(1, n_heads // max(1, spec.n_heads // spec.n_kv_heads))
    while n_heads % n_kv_heads:
        n_kv_heads -= 1
    scale = d_model / spec.d_model
    experts = min(spec.moe_num_experts, size.max_experts)
    depth = proxy_depth(spec.n_layers, size.depth_fraction)
    if depth < spec.n_layers:
        spec = replace(spec, layers=reduced_layers(spec.layers, depth))
    return spec.with_width(
        d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv_heads, head_dim=head_dim,
        ffn_dim=round_to(spec.ffn_dim * scale, 8),
        vocab_size=size.vocab_size, max_seq_len=size.max_seq_len,
        ssm_state_dim=min(spec.ssm_state_dim, PROXY_STATE_DIM_CAP),
        moe_num_experts=experts, moe_top_k=min(spec.moe_top_k, experts),
        moe_expert_dim=round_to(spec.moe_expert_dim * scale, 8) if experts else 0,
        name=f"{spec.name}-proxy" if spec.name else "proxy")
