"""Exact parameter counts and decode-state sizes of an `ArchSpec`, without building the model.

The formulas mirror the operators in `star_search/ops/` one for one (tests compare them with the
built `Backbone`), so a search can prune over-budget candidates before touching torch. Counts are
in parameters (elements); state sizes are in elements per batch row or in bytes as named. Buffers
(RoPE frequencies, the MoE expert bias) are not parameters and are not counted.

This module must not import torch.
"""

from __future__ import annotations

from collections.abc import Callable

from star_search.spec import ArchSpec

GLA_GATE_RANK = 16  # rank of GatedLinearAttention's forget-gate projection (ops/linear_attention.py)


# ----- parameters per operator ---------------------------------------------------------------
def _conv_params(s: ArchSpec) -> int:
    d = s.d_model
    return 3 * d * d + d * s.conv_kernel + d * d  # in_proj, depthwise conv (no bias), out_proj


def _attention_params(s: ArchSpec) -> int:
    q_width, kv_width = s.n_heads * s.head_dim, s.n_kv_heads * s.head_dim
    projections = s.d_model * (q_width + 2 * kv_width) + q_width * s.d_model
    return projections + 2 * s.head_dim  # q_layernorm, k_layernorm


def _ssm_params(s: ArchSpec) -> int:
    inner, state = s.ssm_inner_dim, s.ssm_state_dim
    heads = inner // s.head_dim
    conv_dim = inner + 2 * state
    in_proj = s.d_model * (inner + conv_dim + heads)  # z, x, B, C, dt
    conv = conv_dim * s.conv_kernel + conv_dim  # depthwise weight + bias
    return in_proj + conv + 3 * heads + inner + inner * s.d_model  # A_log, D, dt_bias; norm; out_proj


def _linear_attention_params(s: ArchSpec) -> int:
    width = s.n_heads * s.head_dim
    gate = s.d_model * GLA_GATE_RANK + GLA_GATE_RANK * width + width  # low-rank gk_proj with bias
    return 4 * s.d_model * width + gate + s.head_dim + width * s.d_model  # q, k, v, g; norm; out_proj


def _swiglu_params(s: ArchSpec) -> int:
    return 3 * s.d_model * s.ffn_dim


def _expert_params(s: ArchSpec) -> int:
    return 3 * s.d_model * s.moe_expert_dim


def _moe_params(s: ArchSpec) -> int:
    return s.d_model * s.moe_num_experts + s.moe_num_experts * _expert_params(s)  # router + experts


MIXER_PARAMS: dict[str, Callable[[ArchSpec], int]] = {
    "conv": _conv_params,
    "attention": _attention_params,
    "ssm": _ssm_params,
    "linear_attention": _linear_attention_params,
}

FFN_PARAMS: dict[str, Callable[[ArchSpec], int]] = {
    "swiglu": _swiglu_params,
    "moe": _moe_params,
}

# Parameters of an FFN that one token does not touch (MoE: the experts it was not routed to).
FFN_INACTIVE_PARAMS: dict[str, Callable[[ArchSpec], int]] = {
    "swiglu": lambda s: 0,
    "moe": lambda s: (s.moe_num_experts - s.moe_top_k) * _expert_params(s),
}


def mixer_params(kind: str, spec: ArchSpec) -> int:
    """Parameters of one `kind` mixer at the sizes of `spec`."""
    return MIXER_PARAMS[kind](spec)


def ffn_params(kind: str, spec: ArchSpec) -> int:
    """Parameters of one `kind` feed-forward at the sizes of `spec`."""
    return FFN_PARAMS[kind](spec)


def param_count(spec: ArchSpec) -> int:
    """All parameters: embedding, blocks (two RMSNorms each), final norm, untied LM head."""
    d = spec.d_model
    total = spec.vocab_size * d + d
    if not spec.tie_embeddings:
        total += spec.vocab_size * d
    for layer in spec.layers:
        total += 2 * d + mixer_params(layer.mixer, spec) + ffn_params(layer.ffn, spec)
    return total


def active_param_count(spec: ArchSpec) -> int:
    """Parameters one token uses: `param_count` less the experts it is not routed to (embedding
    and LM head included, as in LFM2-8B-A1B's "1.5B active")."""
    return param_count(spec) - sum(FFN_INACTIVE_PARAMS[layer.ffn](spec) for layer in spec.layers)


# ----- decode state per operator -------------------------------------------------------------
def _conv_state(s: ArchSpec, context_len: int) -> int:
    return s.d_model * (s.conv_kernel - 1)


def _attention_state(s: ArchSpec, context_len: int) -> int:
    return 2 * s.n_kv_heads * s.head_dim * context_len  # keys and values


def _ssm_state(s: ArchSpec, context_len: int) -> int:
    inner, state = s.ssm_inner_dim, s.ssm_state_dim
    window = (inner + 2 * state) * (s.conv_kernel - 1)
    return window + (inner // s.head_dim) * s.head_dim * state


def _linear_attention_state(s: ArchSpec, context_len: int) -> int:
    return s.n_heads * s.head_dim * s.head_dim


MIXER_STATE: dict[str, Callable[[ArchSpec, int], int]] = {
    "conv": _conv_state,
    "attention": _attention_state,
    "ssm": _ssm_state,
    "linear_attention": _linear_attention_state,
}


def mixer_state_elements(kind: str, spec: ArchSpec, context_len: int) -> int:
    """Decode-state elements of one `kind` mixer per batch row, for a `context_len`-token cache."""
    return MIXER_STATE[kind](spec, context_len)


def state_bytes(spec: ArchSpec, context_len: int, bytes_per_element: int = 4) -> int:
    """Bytes of the whole model's decode state per batch row (KV caches sized for `context_len`
    tokens; conv windows and recurrent states are constant)."""
    elements = sum(mixer_state_elements(kind, spec, context_len) for kind in spec.mixers())
    return elements * bytes_per_element


def kv_cache_bytes_per_token(spec: ArchSpec, bytes_per_element: int = 4) -> int:
    """Bytes the KV caches grow by per token of context, per batch row."""
    return spec.count("attention") * _attention_state(spec, 1) * bytes_per_element


__all__ = ["active_param_count", "ffn_params", "kv_cache_bytes_per_token", "mixer_params",
           "mixer_state_elements", "param_count", "state_bytes"]
