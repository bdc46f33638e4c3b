"""Candidates of one size: the feed-forward width solved so every candidate lands on a target.

Without a target, two candidates that differ only in `d_model` train the same proxy (the proxy
keeps ratios, not widths) and score the same quality, so a search always takes the narrower, cheaper
one: width never shows its worth. A space with `target_params` (total parameters) or
`target_active_params` (the parameters a token uses: MoE candidates compared at equal compute) in
`fixed` compares like with like, as LFM2 does (the best pattern at each size): the feed-forward
width is solved, not sampled, so a wider model gets a narrower FFN at the same count, and the
proxy, which keeps the FFN-to-width ratio, sees a different model.

Solved: the dense SwiGLU width `ffn_dim` (MoE layers keep `moe_expert_ratio` × d_model), or, when
every layer is MoE, the expert width. The count is linear in that width; the width is rounded to
`ffn_multiple_of`, or to 64 where that misses the target by more than the tolerance (as the family
export's rule 5 does), and must land within `target_params_tolerance` (default 3%) of the target.
A candidate that cannot (its mixers and embedding alone exceed the target, or the narrowest FFN
does) raises `SizeUnreachable`: the search prunes it at `sample` with that reason.
"""

from __future__ import annotations

from star_search.errors import SizeUnreachable
from star_search.sizing import active_param_count, param_count
from star_search.spec import MAX_SIZE, ArchSpec

TARGET_KEYS = ("target_params", "target_active_params")
TOLERANCE_KEY = "target_params_tolerance"
DEFAULT_TOLERANCE = 0.03
FALLBACK_MULTIPLE = 64


def solved_width_field(spec: ArchSpec) -> str:
    """The width a target solves: the dense FFN's, or the experts' when every layer is MoE."""
    return "ffn_dim" if any(layer.ffn != "moe" for layer in spec.layers) else "moe_expert_dim"


def solve_to_target(spec: ArchSpec, target: int, active: bool, multiple: int,
                    tolerance: float = DEFAULT_TOLERANCE) -> ArchSpec:
    """`spec` with the width of `solved_width_field` set so that its parameter count (active
    ones when `active`) is within `tolerance` of `target`."""
    field = solved_width_field(spec)
    count = active_param_count if active else param_count

    def counted(width: int) -> int:
        return count(spec.with_width(**{field: width}))

    base = counted(FALLBACK_MULTIPLE)
    slope = (counted(2 * FALLBACK_MULTIPLE) - base) / FALLBACK_MULTIPLE
    exact = FALLBACK_MULTIPLE + (target - base) / slope
    which = "active parameters" if active else "parameters"
    for step in dict.fromkeys((multiple, FALLBACK_MULTIPLE)):
        width = max(step, round(exact / step) * step)
        if width <= MAX_SIZE and abs(counted(width) - target) <= tolerance * target:
            return spec.with_width(**{field: width})
    narrowest = counted(min(multiple, FALLBACK_MULTIPLE))
    reason = (f"even the narrowest {field} gives {narrowest:,} {which}" if narrowest > target
              else f"no {field} (multiple of {multiple} or {FALLBACK_MULTIPLE}) lands within "
                   f"{tolerance:.0%}")
    raise SizeUnreachable(f"{spec.pattern()} at d_model {spec.d_model} cannot reach the space's target of "
                          f"{target:,} {which} ±{tolerance:.0%}: {reason}", spec.pattern())
