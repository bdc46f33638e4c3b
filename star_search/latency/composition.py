"""From timed stack programs to per-block costs, and from block costs to a whole candidate.

`block_costs` turns the figures of one width's stack programs (see `blocks.py`) into per-block
costs, metric by metric: a fixed part, one cost per mixer block (without its feed-forward), the
SwiGLU's cost per unit of `ffn_dim`, and the MoE feed-forward at its reference shape.
`compose` adds them up for a candidate; that raw sum is what the calibration corrects
(blocks do not simply add: caches, threads and memory reuse differ between small and large
programs). Costs are clamped at zero, since noise can make a small difference negative.

Memory is composed differently from time. A stack of SSM or linear-attention layers holds no
more program bytes than a conv stack but peaks hundreds of MiB higher (its prefill's working
memory), and a model holds that working memory about once, not once per layer (BENCHMARKS.md,
"the 8da4w table": summed per layer it over-predicted models with many such layers by up to 26%).
So for memory every mixer block is charged the conv block's per-layer cost, and the stack's excess
over the conv stack, `working:<kind>`, is charged once per model, for the largest of the kinds it
uses. (Approximation: a mixer whose weights are larger than a conv block's has its extra weights
counted once rather than per layer; in the shipped spaces they differ by under 1% of a stack.)

Scaling rules (documented approximations): a SwiGLU block costs `swiglu_per_unit x ffn_dim`;
for prefill (TTFT), where the table timed `ffn3`, only up to f2 = 4 x d_model, and
`swiglu_per_unit_wide` per unit above it (piecewise linear: a prompt's intermediates of a wide
SwiGLU, 1024 tokens x ffn_dim, outgrow the last-level cache; extrapolating the slope below f2
under-predicted the TTFT of 12-layer models with SwiGLUs of 6-9 x d_model). A decode step's
intermediates are one token's, and memory holds the weights: both stay linear in `ffn_dim`;
the MoE feed-forward's decode time scales with the routed width `top_k x expert_dim` (a decode
step gathers only the chosen experts), its prefill time (TTFT) and memory with the stored width
`num_experts x expert_dim` (a prompt of at least `num_experts / top_k` tokens runs every expert
on every token, `ops/moe.py`), all relative to the reference (8 experts, top-2, expert_dim =
d_model). Scaling prefill by the routed
width under-predicted the TTFT of models with more experts than the reference's ratio
(BENCHMARKS.md, "MoE prefill runs every expert"). The conv kernel length is not a table
dimension: blocks are timed with 3 taps.
"""

from __future__ import annotations

from collections.abc import Mapping

from star_search.errors import StarSearchError
from star_search.latency.blocks import MOE_REFERENCE_EXPERTS, MOE_REFERENCE_TOP_K, WidthKey
from star_search.spec import MIXER_KINDS, ArchSpec

# Figures the table predicts, as named in a Measurement record.
METRICS: tuple[str, ...] = ("ttft_ms", "decode_p50_ms", "decode_p95_ms", "peak_rss_bytes")
MEMORY_METRICS = ("peak_rss_bytes",)
# Figures of work over every expert (the prompt's dense path, and the stored weights); the others
# (decode) touch only the `top_k` routed experts.
ALL_EXPERTS_METRICS = ("ttft_ms", *MEMORY_METRICS)
# Figures of the prompt's work, whose SwiGLU cost per unit rises above f2 (see the docstring).
PREFILL_METRICS = ("ttft_ms",)

# "fixed", "mixer:<kind>", "swiglu_per_unit", "moe_reference"; where `ffn3` was timed also
# "swiglu_per_unit_wide" (above f2) for the prefill metrics; for memory also "working:<kind>".
BlockCosts = dict[str, float]
WORKING = "working:"


def block_costs(width: WidthKey, figures: Mapping[str, Mapping[str, float]], stack_layers: int,
                metric: str) -> BlockCosts:
    """Per-block costs of `metric` at `width` from the stack programs' figures (by component)."""
    def get(component: str) -> float:
        return float(figures[component][metric])

    n = stack_layers
    base = get("base")
    conv_layer = (get("stack:conv") - base) / n
    slope = max(0.0, (get("ffn2") - get("stack:conv")) / ((n + 1) * (width.f2 - width.f1)))
    costs: BlockCosts = {"swiglu_per_unit": slope, "fixed": max(0.0, base - conv_layer)}
    if "ffn3" in figures and metric in PREFILL_METRICS:
        wide = (get("ffn3") - get("ffn2")) / ((n + 1) * (width.f3 - width.f2))
        costs["swiglu_per_unit_wide"] = max(0.0, wide)
    for kind in MIXER_KINDS:
        if f"stack:{kind}" in figures:
            layer = (get(f"stack:{kind}") - base) / n
            costs[f"mixer:{kind}"] = max(0.0, layer - slope * width.f1)
    if metric in MEMORY_METRICS:
        conv = costs["mixer:conv"]
        for kind in MIXER_KINDS:
            if f"stack:{kind}" in figures:
                costs[f"{WORKING}{kind}"] = max(0.0, get(f"stack:{kind}") - get("stack:conv"))
                costs[f"mixer:{kind}"] = conv
    if "moe" in figures:
        moe_layer = (get("moe") - base) / n
        costs["moe_reference"] = max(0.0, moe_layer - costs["mixer:conv"])
    return costs


def moe_scale(spec: ArchSpec, metric: str) -> float:
    """The MoE feed-forward's cost relative to the reference shape the table timed: by the experts
    stored for prefill and memory, by the experts routed to for decode."""
    if metric in ALL_EXPERTS_METRICS:
        return (spec.moe_num_experts * spec.moe_expert_dim) / (MOE_REFERENCE_EXPERTS * spec.d_model)
    return (spec.moe_top_k * spec.moe_expert_dim) / (MOE_REFERENCE_TOP_K * spec.d_model)


def swiglu(costs: BlockCosts, ffn_dim: int, knee: int) -> float:
    """One SwiGLU block of width `ffn_dim`: one slope up to `knee` (the width's f2), the wide slope
    above it (a table without `ffn3` extrapolates the first)."""
    if "swiglu_per_unit_wide" not in costs or ffn_dim <= knee:
        return costs["swiglu_per_unit"] * ffn_dim
    return costs["swiglu_per_unit"] * knee + costs["swiglu_per_unit_wide"] * (ffn_dim - knee)


def compose(spec: ArchSpec, costs: BlockCosts, metric: str) -> float:
    """The raw (uncalibrated) figure of `spec`: fixed part plus every layer's blocks."""
    total = costs["fixed"]
    for index, layer in enumerate(spec.layers):
        key = f"mixer:{layer.mixer}"
        if key not in costs:
            raise StarSearchError(f"latency table has no '{layer.mixer}' block at this width "
                                  f"(layers[{index}] of {spec.pattern()})")
        total += costs[key]
        if layer.ffn == "moe":
            total += costs["moe_reference"] * moe_scale(spec, metric)
        else:
            total += swiglu(costs, spec.ffn_dim, WidthKey.of(spec).f2)
    if metric in MEMORY_METRICS:
        total += max((costs.get(f"{WORKING}{layer.mixer}", 0.0) for layer in spec.layers), default=0.0)
    return total
