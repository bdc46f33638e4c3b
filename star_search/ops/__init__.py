"""Operator registry: one file per operator; a new kind is a new file plus one line here."""

from __future__ import annotations

from collections.abc import Callable

from star_search.ops.attention import GroupedQueryAttention
from star_search.ops.base import FeedForward, Mixer, State
from star_search.ops.conv import GatedShortConv
from star_search.ops.linear_attention import GatedLinearAttention
from star_search.ops.moe import MixtureOfExperts
from star_search.ops.ssm import SelectiveSSM
from star_search.ops.swiglu import SwiGLU
from star_search.spec import ArchSpec

MIXER_BUILDERS: dict[str, Callable[[ArchSpec], Mixer]] = {
    "conv": lambda s: GatedShortConv(s.d_model, s.conv_kernel),
    "attention": lambda s: GroupedQueryAttention(
        s.d_model, s.n_heads, s.n_kv_heads, s.head_dim, s.rope_theta, s.norm_eps),
    "ssm": lambda s: SelectiveSSM(
        s.d_model, s.ssm_inner_dim, s.head_dim, s.ssm_state_dim, s.conv_kernel, s.norm_eps),
    "linear_attention": lambda s: GatedLinearAttention(s.d_model, s.n_heads, s.head_dim, s.norm_eps),
}

FFN_BUILDERS: dict[str, Callable[[ArchSpec], FeedForward]] = {
    "swiglu": lambda s: SwiGLU(s.d_model, s.ffn_dim),
    "moe": lambda s: MixtureOfExperts(s.d_model, s.moe_expert_dim, s.moe_num_experts, s.moe_top_k),
}


def build_mixer(kind: str, spec: ArchSpec) -> Mixer:
    return MIXER_BUILDERS[kind](spec)


def build_ffn(kind: str, spec: ArchSpec) -> FeedForward:
    return FFN_BUILDERS[kind](spec)


__all__ = ["FFN_BUILDERS", "MIXER_BUILDERS", "FeedForward", "Mixer", "State", "build_ffn", "build_mixer"]
