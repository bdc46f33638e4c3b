"""Fidelity of a cheap proxy tier: the architectures it is checked on and rank agreement.

`benchmarks/proxy_fidelity.py` scores `FIDELITY_PATTERNS` with the `fast` tier and with a
reference run (the `full` suite, several times the steps) and reports Kendall's τ-b between the
two orderings. This module holds what that script needs and tests can check: the architecture
set, built from layer strips, and τ-b itself (scipy is not a dependency).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from star_search.errors import SpecError
from star_search.spec import ArchSpec, LayerSpec

# Layer strips (c conv, a attention, s SSM, l linear attention; * = MoE feed-forward): the four
# pure mixers, then hybrids at attention fractions 1/6 … 3/4, attention-free hybrids, depth 2 to
# 6, and an MoE hybrid.
FIDELITY_PATTERNS: tuple[str, ...] = (
    "aaaa", "cccc", "ssss", "llll",
    "ccca", "caca", "acaa", "cccacc", "ccacca",
    "sass", "lala", "csca",
    "clcl", "scsc", "ac", "c*a*c*a*",
)

# The deep set: where backbones ship (12 to 24 layers; issue 23). Published patterns (LFM2-350M;
# LFM2-8B-A1B with its MoE feed-forwards), the two pure stacks at 16, 1 to 8 attention layers of 16
# placed early, late and spread, SSM and linear-attention hybrids with and without attention, one
# pattern at four depths, and the project's searched backbone.
FIDELITY_DEEP_PATTERNS: tuple[str, ...] = (
    "ccaccaccacacacac",                                   # LFM2-350M
    "cca*c*c*c*a*c*c*c*a*c*c*c*a*c*c*c*a*c*c*a*c*c*",     # LFM2-8B-A1B (24 layers, MoE after the first 2)
    "a" * 16, "c" * 16,
    "a" + "c" * 15, "c" * 15 + "a", "ccccaccccccacccc",
    "aaaa" + "c" * 12, "c" * 12 + "aaaa", "caccccacccacccac",
    "a" * 6 + "c" * 10, "ca" * 8, "c" * 8 + "a" * 8,
    "cs" * 8, "csca" * 4, "cl" * 8, "clca" * 4,
    "ccca" * 3, "ccca" * 4, "ccca" * 5, "ccca" * 6,
    "cccccccccccccaca",                                   # benchmarks/searched_backbone.json
)
# Held back (issue 23's check): deep patterns that appear nowhere else in the project, written down
# on 2026-12-05 before any of them was run, and never used to choose a tier's recipe: the check that
# a recipe chosen on the deep set did not merely fit its 22 patterns.
FIDELITY_DEEP_HELD_BACK: tuple[str, ...] = (
    "ccacccaccaccacca",             # 5 of 16 attention, irregular
    "scscscsascscscsa",             # SSM hybrid with 2 attention layers
    "clccclccclccclcc",             # linear attention in a convolution stack
    "aacccccccccccccc",             # 2 attention layers first
    "cccaccccccccaccc",             # 2 attention layers in the middle
    "c*c*a*c*c*a*c*c*a*c*c*a*",     # 12 layers, every feed-forward MoE
    "ccaccaccaccaccaccacc",         # 20 layers, one attention in three
    "acacacacaccccccc",             # attention alternating in the first half only
)
FIDELITY_SETS = {"shallow": FIDELITY_PATTERNS, "deep": FIDELITY_DEEP_PATTERNS,
                 "deep-held-back": FIDELITY_DEEP_HELD_BACK}
# The depth bands of the measured seed spread (`star_search.proxies.spread`): sets of one depth
# range pooled.
SPREAD_BANDS = {"shallow": FIDELITY_PATTERNS, "deep": FIDELITY_DEEP_PATTERNS + FIDELITY_DEEP_HELD_BACK}

_MIXERS = {"c": "conv", "a": "attention", "s": "ssm", "l": "linear_attention"}


def arch_from_pattern(pattern: str) -> ArchSpec:
    """An LFM2-350M-width backbone (d_model 1024, 16 heads of 64, 4 KV heads, FFN 4608) with
    the layers of `pattern`; MoE layers get 32 experts of width 768, top-4."""
    layers: list[LayerSpec] = []
    for index, letter in enumerate(pattern):
        if letter == "*":
            if not layers or layers[-1].ffn == "moe":
                raise SpecError("pattern", pattern, "'*' only right after a mixer letter")
            layers[-1] = LayerSpec(layers[-1].mixer, "moe")
        elif letter in _MIXERS:
            layers.append(LayerSpec(_MIXERS[letter]))
        else:
            raise SpecError(f"pattern[{index}]", letter, f"one of {sorted(_MIXERS)} or '*'")
    if not layers:
        raise SpecError("pattern", pattern, "at least one mixer letter")
    moe = any(layer.ffn == "moe" for layer in layers)
    return ArchSpec(d_model=1024, layers=tuple(layers), n_heads=16, n_kv_heads=4, head_dim=64, ffn_dim=4608,
                    moe_num_experts=32 if moe else 0, moe_top_k=4 if moe else 0,
                    moe_expert_dim=768 if moe else 0, name=pattern)


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's τ-b of paired scores: (concordant - discordant) / sqrt((n0 - ties_x)(n0 - ties_y)),
    n0 = pairs. 1 = same order, -1 = reversed; NaN when either side is constant."""
    if len(x) != len(y):
        raise ValueError(f"paired scores differ in length: {len(x)} and {len(y)}")
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 or dy == 0:
                ties_x += dx == 0
                ties_y += dy == 0
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    pairs = len(x) * (len(x) - 1) // 2
    denominator = math.sqrt((pairs - ties_x) * (pairs - ties_y))
    return (concordant - discordant) / denominator if denominator else math.nan
