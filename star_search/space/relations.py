"""Relations between a space's global parameters, checked on every combination it can sample.

A space is refused when any combination of its values makes an invalid architecture (heads that
do not divide the width, KV heads that do not divide the heads, more experts routed than exist,
sizes past `spec.MAX_SIZE`), naming the parameter to change and the combination.

An integer range too long to enumerate stands for itself by its first two values and its last
when the relations are linear in it (`_LINEAR`): divisibility that holds at `low` and `low + step`
holds at every `low + k*step`, and an inequality that holds at both ends holds between them. Only a
long range of a divisor (head_dim, n_kv_heads), or a relation with more than `MAX_COMBINATIONS`
combinations, is left to sampling, where the same rules (`ArchSpec`) make the candidate a
`SpecError` that names its field.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields

from star_search.errors import SpecError
from star_search.space.rules import TARGET_COUNT_PARAMS, Fail
from star_search.space.sample import DEFAULTS, round_up
from star_search.space.schema import Categorical, Distribution, Fixed, FloatRange, IntRange, LayerGroup
from star_search.spec import MAX_SIZE, ArchSpec

# Most combinations of the parameters in one relation enumerated at parse time.
MAX_COMBINATIONS = 100_000
# Parameters every relation is linear (divisibility as the dividend) or monotone (inequalities) in.
_LINEAR = ("d_model", "n_heads", "ssm_expand", "moe_num_experts", "moe_top_k")
_ARCH_DEFAULTS = {f.name: f.default for f in fields(ArchSpec)}


@dataclass(frozen=True)
class _Parameter:
    """One global parameter: where the file sets it (`fixed.x`, `params.x`; for a default, where
    it would be set) and how it is drawn."""

    name: str
    where: str
    dist: Distribution
    choices_at: str = ""  # where a categorical's list stands (`params.d_model.choices`)

    def values(self) -> tuple[object, ...] | None:
        """The values the relations must hold at: every value it can take, or for a long integer
        range of a `_LINEAR` parameter the ones that stand for all (None: a long range of another)."""
        dist = self.dist
        if isinstance(dist, Fixed):
            return (dist.value,)
        if isinstance(dist, Categorical):
            return dist.choices
        if isinstance(dist, IntRange) and (dist.high - dist.low) // dist.step < MAX_COMBINATIONS:
            return tuple(range(dist.low, dist.high + 1, dist.step))
        if isinstance(dist, IntRange) and self.name in _LINEAR:
            return (dist.low, dist.low + dist.step, dist.high)
        return None

    def maximum(self) -> float:
        dist = self.dist
        if isinstance(dist, Fixed):
            return dist.value  # type: ignore[return-value]
        if isinstance(dist, Categorical):
            return max(dist.choices)  # type: ignore[type-var, return-value]
        return dist.high

    def location(self, value: object) -> str:
        """The place in the file of `value` (a choice's own index when it is one)."""
        if isinstance(self.dist, Categorical):
            for index, choice in enumerate(self.dist.choices):
                if choice == value and type(choice) is type(value):
                    return f"{self.choices_at or self.where}[{index}]"
        return self.where


class _Space:
    def __init__(self, fixed: Mapping[str, object], params: Mapping[str, Distribution], fail: Fail,
                 places: Mapping[str, str]):
        self.fail = fail
        self.parameters = {name: _Parameter(name, f"fixed.{name}", Fixed(value))  # type: ignore[arg-type]
                           for name, value in fixed.items()}
        self.parameters.update({
            name: _Parameter(name, f"params.{name}", dist, places.get(f"params.{name}", ""))
            for name, dist in params.items()})

    def has(self, name: str) -> bool:
        return name in self.parameters

    def get(self, name: str) -> _Parameter:
        if name in self.parameters:
            return self.parameters[name]
        default = DEFAULTS.get(name, _ARCH_DEFAULTS.get(name))
        return _Parameter(name, f"params.{name}", Fixed(default))  # type: ignore[arg-type]

    def combinations(self, names: tuple[str, ...]) -> Iterator[dict[str, object]]:
        """Every combination of the values of `names` (nothing when there are too many)."""
        values = [self.get(name).values() for name in names]
        count = 1
        for options in values:
            if options is None:
                return
            count *= len(options)
        if count > MAX_COMBINATIONS:
            return
        for combination in itertools.product(*values):  # type: ignore[arg-type]
            yield dict(zip(names, combination, strict=True))

    def blame(self, combination: Mapping[str, object], expected: str, sampled_order: tuple[str, ...],
              fixed_order: tuple[str, ...]) -> SpecError:
        """The error for `combination`, on the first parameter of `sampled_order` that the space
        samples (the value to drop from its choices), else the first of `fixed_order` it sets."""
        sampled = [name for name in sampled_order if self.get(name).where.startswith("params.")
                   and self.has(name)]
        set_here = [name for name in fixed_order if self.has(name)]
        name = (sampled or set_here or list(fixed_order))[0]
        parameter = self.get(name)
        others = ", ".join(f"{key}={value}" for key, value in combination.items() if key != name)
        here = f"; here {others}" if others else ""
        return self.fail(parameter.location(combination[name]), combination[name],
                         f"{expected}{here} (every combination a space can sample must make a valid "
                         f"architecture)")

    def check(self, names: tuple[str, ...], holds: Callable[..., bool], expected: str,
              fixed_order: tuple[str, ...] | None = None) -> None:
        """Every combination of `names` must satisfy `holds`; the error names the first of `names`
        that the space samples, else the first of `fixed_order` (default `names`) that it sets."""
        for combination in self.combinations(names):
            if not holds(**combination):
                raise self.blame(combination, expected, names, fixed_order or names)


def check_relations(fixed: Mapping[str, object], params: Mapping[str, Distribution],
                    groups: tuple[LayerGroup, ...], fail: Fail, places: Mapping[str, str]) -> None:
    """Refuse a space any of whose combinations of global values is not a valid `ArchSpec`;
    `places` maps `params.<name>` to where its choices stand in the file, for the error."""
    space = _Space(fixed, params, fail, places)
    mixers = _offered(groups, "mixer")
    ffns = _offered(groups, "ffn")
    if not space.has("n_heads"):
        space.check(("d_model", "head_dim"), lambda d_model, head_dim: d_model % head_dim == 0,
                    "a d_model that is a multiple of head_dim (n_heads = d_model / head_dim)")
    if space.has("n_kv_heads"):
        if space.has("n_heads"):
            space.check(("n_heads", "n_kv_heads"), lambda n_heads, n_kv_heads: n_heads % n_kv_heads == 0,
                        "n_heads divisible by n_kv_heads", ("n_kv_heads", "n_heads"))
        else:
            space.check(("d_model", "head_dim", "n_kv_heads"),
                        lambda d_model, head_dim, n_kv_heads: (d_model // head_dim) % n_kv_heads == 0,
                        "n_heads = d_model / head_dim divisible by n_kv_heads",
                        ("n_kv_heads", "d_model", "head_dim"))
    if "ssm" in mixers:
        space.check(("d_model", "ssm_expand", "head_dim"),
                    lambda d_model, ssm_expand, head_dim: (d_model * ssm_expand) % head_dim == 0,
                    "d_model * ssm_expand a multiple of head_dim (SSM heads, a slot may choose 'ssm')")
        space.check(("d_model", "ssm_expand"), lambda d_model, ssm_expand: d_model * ssm_expand <= MAX_SIZE,
                    f"d_model * ssm_expand at most {MAX_SIZE}")
    if "moe" in ffns:
        for name in ("moe_num_experts", "moe_top_k"):
            if not space.has(name):
                raise fail(f"params.{name}", None, f"{name} in 'fixed' or 'params' (a slot may choose "
                           f"ffn 'moe')")
        space.check(("moe_num_experts",), lambda moe_num_experts: moe_num_experts >= 2,
                    "at least 2 experts (a slot may choose ffn 'moe')")
        space.check(("moe_top_k", "moe_num_experts"),
                    lambda moe_top_k, moe_num_experts: moe_top_k <= moe_num_experts,
                    "moe_top_k at most moe_num_experts (experts routed per token)")
    targets = [name for name in TARGET_COUNT_PARAMS if space.has(name)]
    if len(targets) > 1:
        raise fail(f"fixed.{targets[1]}", space.get(targets[1]).maximum(),
                   f"one target: '{targets[0]}' (total) or '{targets[1]}' (active), not both")
    if targets:
        for size in ("ffn_dim", "ffn_ratio"):  # the dense FFN width is what a target solves
            if space.has(size):
                parameter = space.get(size)
                raise space.fail(parameter.where, _shown_dist(parameter.dist),
                                 f"no {size} with {targets[0]} (the FFN width is solved to reach it)")
    elif space.has("target_params_tolerance"):
        raise fail("fixed.target_params_tolerance", space.get("target_params_tolerance").maximum(),
                   "target_params or target_active_params beside it (a tolerance of no target)")
    else:
        _check_derived(space, "ffn_dim", "ffn_ratio")
    if "moe" in ffns:
        _check_derived(space, "moe_expert_dim", "moe_expert_ratio")


def _check_derived(space: _Space, size: str, ratio: str) -> None:
    """A size given by `ratio * d_model` rounded up to ffn_multiple_of: not both, and at most
    MAX_SIZE at the largest ratio and width."""
    if space.has(size):
        if space.has(ratio):
            parameter = space.get(ratio)
            raise space.fail(parameter.where, _shown_dist(parameter.dist),
                             f"no {ratio} when {size} is set ({size} is used as it is)")
        return
    largest = space.get(ratio).maximum() * space.get("d_model").maximum()
    multiples = space.get("ffn_multiple_of").values() or (space.get("ffn_multiple_of").maximum(),)
    if any(round_up(largest, multiple) > MAX_SIZE for multiple in multiples):  # type: ignore[arg-type]
        parameter = space.get(ratio)
        raise space.fail(parameter.where, _shown_dist(parameter.dist),
                         f"a {ratio} whose {size} = {ratio} * d_model (rounded up to ffn_multiple_of) "
                         f"is at most {MAX_SIZE} for the largest d_model {space.get('d_model').maximum()}")


def _offered(groups: tuple[LayerGroup, ...], key: str) -> set[object]:
    offered: set[object] = set()
    for group in groups:
        for slot in group.slots:
            dist = getattr(slot, key)
            offered.update(dist.choices if isinstance(dist, Categorical) else (getattr(dist, "value", None),))
    return offered


def _shown_dist(dist: Distribution) -> object:
    if isinstance(dist, Fixed):
        return dist.value
    if isinstance(dist, Categorical):
        return list(dist.choices)
    assert isinstance(dist, IntRange | FloatRange)
    return {"low": dist.low, "high": dist.high}
