"""Family scaling: from one backbone, a dense ladder at LFM2's published sizes and one MoE size.

The backbone contributes its *shape*, not its absolute size: the order of its mixers along depth,
its attention fraction, its FFN-to-width ratio and its conv/SSM settings. The sizes come from
the published LFM2 family (`star_search.presets`), whose parameter counts are the targets:
350m, 700m, 1.2b and 2.6b total, and 8b-a1b total *and* active.

Rules (`FamilyRules` holds the constants):

0. **A backbone that already is a size stays as it is.** A dense backbone at the anchor width
   whose total lands within the tolerance of a dense target is that size's member unchanged
   (only its name is the size's): the family of a searched 350M backbone has the searched
   backbone itself at 350m, the very model the search measured, whatever its depth. The
   other sizes follow rules 1–7.
1. **Anchor depth.** At the anchor width (1024) the backbone's FFN ratio is kept and the even
   depth whose count is closest to the smallest target is chosen; its attention count is
   `round(fraction · depth)`. For LFM2-350M's pattern this is 16 layers, 6 attention.
2. **Width** of a dense size grows with the square root of its target over the anchor's, rounded
   to a multiple of 512 (8 KV heads × head_dim 64), capped at 2048.
3. **Depth** stays at the anchor depth while the width fits under the cap; beyond it, depth grows
   by the square of the missing width factor (parameters grow as width² · depth), rounded *up* to
   an even number.
4. **Attention** count grows with the square root of depth (KV cache grows with context, so
   deeper models add attention sub-linearly); positions follow the backbone's attention positions
   as quantiles of relative depth (where more attention layers are wanted than fit between the
   backbone's first and last attention, each takes the free layer nearest to its quantile). Other
   layers take the mixer of the nearest non-attention layer of the backbone at the same relative
   depth.
5. **FFN** width is then solved so the total hits the target, rounded to a multiple of 256, or
   of 64 where 256 would miss the target by more than 1% (deep or narrow shapes).
6. **MoE size**: width from the *active* target (rule 2), depth 1.5 × anchor depth, the anchor's
   attention count (the KV cache of the dense size nearest its active count), the first
   `round(depth / 12)` layers dense; 32 experts, top-4 (or the backbone's own expert count and
   top-k when it has MoE layers). Expert width is solved from total − active, the dense FFN width
   from the active target, both rounded as in rule 5. Where the active target would leave the
   dense layers an FFN narrower than the model, depth drops by two until it does not.
7. Heads are width / 64 with 8 KV heads; vocabulary 65,536 (LFM2's tokenizer). Every size must
   land within ±3% of its targets, else `ExportError` names the size.

Applied to LFM2-350M these rules give the published depths (16, 16, 16, 30, 24), attention
counts (6, 6, 6, 8, 6), widths and FFN widths (4608, 6912, 8192, 10752; experts 1792, dense 7168).
This module must not import torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from star_search.errors import ExportError
from star_search.presets import LFM2_HEAD_DIM, LFM2_KV_HEADS, LFM2_MAX_POSITIONS, LFM2_VOCAB, PRESETS
from star_search.scaling import round_to
from star_search.sizing import active_param_count, param_count
from star_search.spec import ArchSpec, LayerSpec


@dataclass(frozen=True)
class SizeTarget:
    """A family member to generate: its label and the published counts it must reach."""

    name: str
    total: int
    active: int | None = None  # set for the MoE size only

    @property
    def is_moe(self) -> bool:
        return self.active is not None


def _published(name: str) -> int:
    return param_count(PRESETS[name])


DENSE_TARGETS: tuple[SizeTarget, ...] = tuple(
    SizeTarget(size, _published(f"lfm2-{size}")) for size in ("350m", "700m", "1.2b", "2.6b"))
MOE_TARGET = SizeTarget("8b-a1b", _published("lfm2-8b-a1b"), active_param_count(PRESETS["lfm2-8b-a1b"]))
FAMILY_TARGETS: tuple[SizeTarget, ...] = (*DENSE_TARGETS, MOE_TARGET)


@dataclass(frozen=True)
class FamilyRules:
    """The constants of the scaling rules (see the module docstring)."""

    anchor_width: int = 1024
    width_step: int = LFM2_KV_HEADS * LFM2_HEAD_DIM
    max_width: int = 2048
    head_dim: int = LFM2_HEAD_DIM
    kv_heads: int = LFM2_KV_HEADS
    vocab_size: int = LFM2_VOCAB
    multiple_of: int = 256
    fine_multiple_of: int = 64
    fine_rounding_above: float = 0.01
    moe_depth_factor: float = 1.5
    moe_layers_per_dense: int = 12
    moe_num_experts: int = 32
    moe_top_k: int = 4
    tolerance: float = 0.03


@dataclass(frozen=True)
class FamilyMember:
    """One generated size with its counts and its relative error against the target."""

    target: SizeTarget
    spec: ArchSpec

    @property
    def total(self) -> int:
        return param_count(self.spec)

    @property
    def active(self) -> int:
        return active_param_count(self.spec)

    @property
    def total_error(self) -> float:
        return self.total / self.target.total - 1.0

    @property
    def active_error(self) -> float | None:
        return None if self.target.active is None else self.active / self.target.active - 1.0


# ----- pattern stretching --------------------------------------------------------------------
def _relative(index: int, n_layers: int) -> float:
    return (index + 0.5) / n_layers


def _quantiles(values: list[float], count: int) -> list[float]:
    """`count` evenly spaced quantiles of the sorted `values` (linear interpolation)."""
    if count == 1:
        return [values[len(values) // 2]]
    points = []
    for k in range(count):
        position = k * (len(values) - 1) / (count - 1)
        low = math.floor(position)
        high = min(low + 1, len(values) - 1)
        points.append(values[low] + (position - low) * (values[high] - values[low]))
    return points


def _attention_positions(backbone: ArchSpec, n_layers: int, n_attention: int) -> set[int]:
    base = [_relative(i, backbone.n_layers) for i, m in enumerate(backbone.mixers()) if m == "attention"]
    if not base or n_attention == 0:
        return set()
    if len(base) == 1:
        base = base * 2
    positions: set[int] = set()
    for quantile in _quantiles(base, n_attention):
        wanted = min(n_layers - 1, max(0, round(quantile * n_layers - 0.5)))
        # Two quantiles on one layer: the free layer nearest to where this one wanted to be (the
        # later one on a tie), so crowded attention spreads around its place, never wraps around.
        free = [i for i in range(n_layers) if i not in positions]
        positions.add(min(free, key=lambda i: (abs(i - wanted), -i)))
    return positions


def stretch_mixers(backbone: ArchSpec, n_layers: int, n_attention: int) -> tuple[str, ...]:
    """The backbone's mixer order at a new depth with `n_attention` attention layers (rule 4)."""
    attention = _attention_positions(backbone, n_layers, n_attention)
    others = [(_relative(i, backbone.n_layers), m)
              for i, m in enumerate(backbone.mixers()) if m != "attention"]
    mixers = []
    for index in range(n_layers):
        if index in attention or not others:
            mixers.append("attention")
            continue
        where = _relative(index, n_layers)
        mixers.append(min(others, key=lambda item: abs(item[0] - where))[1])
    return tuple(mixers)


# ----- sizing helpers ------------------------------------------------------------------------
def _even_up(value: float) -> int:
    return 2 * math.ceil(value / 2 - 1e-9)


def _attention_count(backbone: ArchSpec, n_layers: int) -> int:
    if not backbone.count("attention"):
        return 0
    return max(1, round(backbone.count("attention") / backbone.n_layers * n_layers))


def _dense_spec(backbone: ArchSpec, rules: FamilyRules, width: int, n_layers: int, n_attention: int,
                ffn_dim: int, name: str) -> ArchSpec:
    layers = tuple(LayerSpec(mixer) for mixer in stretch_mixers(backbone, n_layers, n_attention))
    return replace(backbone, d_model=width, layers=layers, n_heads=width // rules.head_dim,
                   n_kv_heads=min(rules.kv_heads, width // rules.head_dim), head_dim=rules.head_dim,
                   ffn_dim=ffn_dim, vocab_size=rules.vocab_size, max_seq_len=LFM2_MAX_POSITIONS,
                   moe_num_experts=0, moe_top_k=0, moe_expert_dim=0, tie_embeddings=True, name=name)


def _ffn_ratio(backbone: ArchSpec) -> float:
    return backbone.ffn_dim / backbone.d_model


def _anchor_depth(backbone: ArchSpec, rules: FamilyRules, target: int) -> int:
    """Rule 1: the even depth at the anchor width and the backbone's FFN ratio closest to `target`."""
    ffn = round_to(_ffn_ratio(backbone) * rules.anchor_width, rules.multiple_of)

    def miss(depth: int) -> int:
        attention = _attention_count(backbone, depth)
        spec = _dense_spec(backbone, rules, rules.anchor_width, depth, attention, ffn, "")
        return abs(param_count(spec) - target)

    return min(range(2, 129, 2), key=miss)


def _width_for(rules: FamilyRules, count: int, anchor_count: int) -> tuple[int, float]:
    """Rule 2: (width under the cap, the uncapped width wanted)."""
    wanted = rules.anchor_width * math.sqrt(count / anchor_count)
    return min(rules.max_width, round_to(wanted, rules.width_step)), wanted


def _fit_width(exact: float, error_at: Callable[[int], float], rules: FamilyRules) -> int:
    """Rule 5's rounding: a multiple of 256, or of 64 when 256 misses the target by more than 1%."""
    coarse = round_to(exact, rules.multiple_of)
    if abs(error_at(coarse)) <= rules.fine_rounding_above:
        return coarse
    return round_to(exact, rules.fine_multiple_of)


def _solve_ffn(spec: ArchSpec, target: int, rules: FamilyRules) -> int:
    """Rule 5: the FFN width that brings the dense `spec`'s total nearest `target`."""
    per_unit = spec.n_layers * 3 * spec.d_model
    without = param_count(replace(spec, ffn_dim=1)) - per_unit
    exact = (target - without) / per_unit
    if exact < rules.fine_multiple_of / 2:
        raise ExportError(f"size {spec.name}: the mixers alone already exceed {target:,} parameters "
                          f"at width {spec.d_model} and depth {spec.n_layers}")
    return _fit_width(exact, lambda width: (without + per_unit * width) / target - 1.0, rules)


# ----- the family ----------------------------------------------------------------------------
def _dense_member(backbone: ArchSpec, rules: FamilyRules, target: SizeTarget, anchor_depth: int,
                  anchor_attention: int) -> FamilyMember:
    width, wanted = _width_for(rules, target.total, DENSE_TARGETS[0].total)
    depth = anchor_depth
    if wanted > rules.max_width:
        depth = _even_up(anchor_depth * (wanted / rules.max_width) ** 2)
    attention = round(anchor_attention * math.sqrt(depth / anchor_depth)) if anchor_attention else 0
    spec = _dense_spec(backbone, rules, width, depth, attention, 1, target.name)
    spec = replace(spec, ffn_dim=_solve_ffn(spec, target.total, rules))
    return FamilyMember(target, spec)


def _moe_spec(backbone: ArchSpec, rules: FamilyRules, target: SizeTarget, width: int, depth: int,
              n_attention: int) -> ArchSpec | None:
    """Rule 6 at one depth; None when the dense layers would get an FFN narrower than `width`."""
    assert target.active is not None
    n_dense = max(1, round(depth / rules.moe_layers_per_dense))
    n_moe = depth - n_dense
    has_moe = any(layer.ffn == "moe" for layer in backbone.layers)
    experts = backbone.moe_num_experts if has_moe else rules.moe_num_experts
    top_k = backbone.moe_top_k if has_moe else rules.moe_top_k
    dense = _dense_spec(backbone, rules, width, depth, n_attention, 1, target.name)
    layers = tuple(LayerSpec(layer.mixer, "swiglu" if i < n_dense else "moe")
                   for i, layer in enumerate(dense.layers))
    spec = replace(dense, layers=layers, moe_num_experts=experts, moe_top_k=top_k, moe_expert_dim=1)
    inactive_unit = n_moe * (experts - top_k) * 3 * width  # parameters per unit of expert width
    inactive = target.total - target.active
    expert_dim = _fit_width(inactive / inactive_unit, lambda w: w * inactive_unit / inactive - 1.0, rules)
    spec = replace(spec, moe_expert_dim=expert_dim)
    # Dense FFN width from the active target: active = everything else + n_dense · 3 · d · ffn.
    per_unit = n_dense * 3 * width
    without = active_param_count(spec) - per_unit
    exact = (target.active - without) / per_unit
    if exact < width:
        return None
    return replace(spec, ffn_dim=_fit_width(exact, lambda w: (without + per_unit * w) / target.active - 1.0,
                                            rules))


def _moe_member(backbone: ArchSpec, rules: FamilyRules, target: SizeTarget, anchor_depth: int,
                anchor_attention: int) -> FamilyMember:
    assert target.active is not None
    width, _ = _width_for(rules, target.active, DENSE_TARGETS[0].total)
    depth = _even_up(anchor_depth * rules.moe_depth_factor)
    while depth >= 2:
        spec = _moe_spec(backbone, rules, target, width, depth, min(anchor_attention, depth))
        if spec is not None:
            return FamilyMember(target, spec)
        depth -= 2
    raise ExportError(f"size {target.name}: the mixers of {backbone.pattern()} at width {width} leave "
                      f"no room for dense FFN layers within {target.active:,} active parameters")


def _check(member: FamilyMember, tolerance: float) -> None:
    for label, error in (("total", member.total_error), ("active", member.active_error)):
        if error is not None and abs(error) > tolerance:
            raise ExportError(f"size {member.target.name}: {label} parameters miss the target by "
                              f"{error:+.1%} (limit ±{tolerance:.0%}); the backbone {member.spec.pattern()} "
                              f"cannot be scaled to it by these rules")


def _already(backbone: ArchSpec, rules: FamilyRules, target: SizeTarget) -> bool:
    """Rule 0: `backbone` is a dense model at the anchor width within tolerance of `target`."""
    dense = not target.is_moe and all(layer.ffn != "moe" for layer in backbone.layers)
    return (dense and backbone.d_model == rules.anchor_width
            and abs(param_count(backbone) / target.total - 1.0) <= rules.tolerance)


def scale_family(backbone: ArchSpec, rules: FamilyRules = FamilyRules(),
                 targets: tuple[SizeTarget, ...] = FAMILY_TARGETS) -> list[FamilyMember]:
    """The dense ladder and the MoE size of `backbone` (module docstring), each checked to ±3%."""
    dense_anchor = DENSE_TARGETS[0].total
    anchor_depth = _anchor_depth(backbone, rules, dense_anchor)
    anchor_attention = _attention_count(backbone, anchor_depth)
    members = []
    for target in targets:
        if _already(backbone, rules, target):
            member = FamilyMember(target, replace(backbone, name=target.name))
        else:
            build = _moe_member if target.is_moe else _dense_member
            member = build(backbone, rules, target, anchor_depth, anchor_attention)
        _check(member, rules.tolerance)
        members.append(member)
    return members


def family_table(members: list[FamilyMember]) -> str:
    """A Markdown table of the sizes: shape, counts and error against the targets."""
    lines = ["| size | d_model | layers | attention | ffn | experts | total | target | error | active | "
             "active target | active error |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in members:
        spec = m.spec
        experts = (f"{spec.moe_num_experts}×{spec.moe_expert_dim} top-{spec.moe_top_k}"
                   if m.target.is_moe else "-")
        active = (f"{m.active:,} | {m.target.active:,} | {m.active_error:+.2%}"
                  if m.target.active is not None and m.active_error is not None else "- | - | -")
        lines.append(f"| {m.target.name} | {spec.d_model} | {spec.n_layers} | {spec.count('attention')} | "
                     f"{spec.ffn_dim} | {experts} | {m.total:,} | {m.target.total:,} | "
                     f"{m.total_error:+.2%} | {active} |")
    return "\n".join(lines)


__all__ = ["DENSE_TARGETS", "FAMILY_TARGETS", "MOE_TARGET", "FamilyMember", "FamilyRules", "SizeTarget",
           "family_table", "scale_family", "stretch_mixers"]
