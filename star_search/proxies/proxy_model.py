"""The small proxy model of a candidate: same layer pattern, tiny widths, the proxy vocabulary."""

from __future__ import annotations

from star_search.proxies.vocab import VOCAB_SIZE
from star_search.spec import ArchSpec


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def proxy_spec(spec: ArchSpec, d_model: int, head_dim: int, max_seq_len: int) -> ArchSpec:
    """Scale `spec` down to `d_model`, keeping mixers and feed-forwards in order and the
    ratios that shape them (FFN/width, query/KV heads, expert size/width)."""
    n_heads = max(1, d_model // head_dim)
    kv_ratio = max(1, spec.n_heads // spec.n_kv_heads)
    n_kv_heads = max(1, n_heads // kv_ratio)
    while n_heads % n_kv_heads:
        n_kv_heads -= 1
    has_moe = spec.moe_num_experts > 0
    experts = min(spec.moe_num_experts, 8) if has_moe else 0
    return spec.with_width(
        d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv_heads, head_dim=head_dim,
        ffn_dim=_round_to(spec.ffn_dim / spec.d_model * d_model, 8),
        vocab_size=VOCAB_SIZE, max_seq_len=max_seq_len,
        ssm_state_dim=min(spec.ssm_state_dim, 16),
        moe_num_experts=experts, moe_top_k=min(spec.moe_top_k, experts) if has_moe else 0,
        moe_expert_dim=_round_to(spec.moe_expert_dim / spec.d_model * d_model, 8) if has_moe else 0,
        name=f"{spec.name}-proxy" if spec.name else "proxy")
