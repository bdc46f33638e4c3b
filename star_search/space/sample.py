"""Sample an `ArchSpec` from a `SearchSpace` with an Optuna trial (define-by-run).

Parameter names are stable so studies can be resumed and compared: global choices use their own
name (`d_model`), layer slots use `g{group}.r{repeat}.s{slot}.mixer` (or `g{group}.s{slot}.mixer`
for tied slots) and group depths `g{group}.repeat`.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from star_search.errors import SpecError
from star_search.space.schema import (
    Categorical,
    Distribution,
    Fixed,
    FloatRange,
    IntRange,
    SearchSpace,
)
from star_search.space.target_size import DEFAULT_TOLERANCE, TARGET_KEYS, TOLERANCE_KEY, solve_to_target
from star_search.spec import ArchSpec, LayerSpec

DEFAULTS: dict[str, Any] = {"head_dim": 64, "ffn_ratio": 3.0, "ffn_multiple_of": 64,
                            "moe_expert_ratio": 0.75, "vocab_size": 65536}
# Keys the space may set that are not ArchSpec fields but rules to derive them.
DERIVATION_KEYS = ("ffn_ratio", "ffn_multiple_of", "moe_expert_ratio", *TARGET_KEYS, TOLERANCE_KEY)


class TrialLike(Protocol):
    """The part of `optuna.Trial` that sampling needs (also met by `optuna.trial.FixedTrial`)."""

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...
    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int: ...
    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float: ...


def suggest(trial: TrialLike, name: str, dist: Distribution) -> Any:
    """Draw one value of `dist` under the Optuna parameter name `name`."""
    if isinstance(dist, Fixed):
        return dist.value
    if isinstance(dist, Categorical):
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, IntRange):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, FloatRange):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    raise TypeError(f"unknown distribution {dist!r}")


def round_up(value: float, multiple: int) -> int:
    return int(math.ceil(value / multiple) * multiple)


def sample_layers(space: SearchSpace, trial: TrialLike) -> tuple[LayerSpec, ...]:
    layers: list[LayerSpec] = []
    for g, group in enumerate(space.groups):
        repeats = suggest(trial, f"g{g}.repeat", group.repeat)
        tied: dict[int, tuple[str, str]] = {}
        for r in range(repeats):
            for s, slot in enumerate(group.slots):
                if slot.tie and s in tied:
                    mixer, ffn = tied[s]
                else:
                    prefix = f"g{g}.s{s}" if slot.tie else f"g{g}.r{r}.s{s}"
                    mixer = suggest(trial, f"{prefix}.mixer", slot.mixer)
                    ffn = suggest(trial, f"{prefix}.ffn", slot.ffn)
                    tied[s] = (mixer, ffn)
                layers.append(LayerSpec(mixer, ffn))
    return tuple(layers)


def resolve_globals(values: dict[str, Any], source: str) -> dict[str, Any]:
    """Turn sampled/fixed global values into ArchSpec fields (heads from width, FFN from ratio)."""
    merged = {**DEFAULTS, **values}
    if "d_model" not in merged:
        raise SpecError("params.d_model", None, "d_model in 'fixed' or 'params'", source)
    d_model, head_dim = merged["d_model"], merged["head_dim"]
    if "n_heads" not in merged:
        if d_model % head_dim:
            raise SpecError("d_model", d_model, f"a multiple of head_dim={head_dim}", source)
        merged["n_heads"] = d_model // head_dim
    merged.setdefault("n_kv_heads", merged["n_heads"])
    multiple = merged["ffn_multiple_of"]
    merged.setdefault("ffn_dim", round_up(merged["ffn_ratio"] * d_model, multiple))
    merged.setdefault("moe_expert_dim", round_up(merged["moe_expert_ratio"] * d_model, multiple))
    for key in DERIVATION_KEYS:
        merged.pop(key, None)
    return merged


def sample_arch(space: SearchSpace, trial: TrialLike) -> ArchSpec:
    """Sample one candidate. Raises `SpecError` naming the space's field when the drawn
    combination is inconsistent (parsing refuses every such combination it can enumerate), and
    `SizeUnreachable` when the space has a parameter target the candidate cannot reach."""
    values: dict[str, Any] = dict(space.fixed)
    for name, dist in space.params.items():
        values[name] = suggest(trial, name, dist)
    layers = sample_layers(space, trial)
    try:
        fields = resolve_globals(values, space.source)
        if not any(layer.ffn == "moe" for layer in layers):
            fields.update(moe_num_experts=0, moe_top_k=0, moe_expert_dim=0)
        spec = ArchSpec(layers=layers, name=f"{space.name}", **fields)
    except SpecError as err:
        drawn = {name: values[name] for name in space.params}
        raise SpecError(_place(space, err.field), err.value, f"{err.expected}, in the candidate drawn "
                        f"with {drawn}", space.source) from None
    target = next(((key, values[key]) for key in TARGET_KEYS if key in values), None)
    if target is None:
        return spec
    multiple = values.get("ffn_multiple_of", DEFAULTS["ffn_multiple_of"])
    return solve_to_target(spec, target[1], target[0] == "target_active_params", multiple,
                           values.get(TOLERANCE_KEY, DEFAULT_TOLERANCE))


def _place(space: SearchSpace, field: str) -> str:
    """Where the space sets ArchSpec field `field` (`fixed.n_kv_heads`), else `candidate.<field>`
    for a field derived from others (n_heads from d_model / head_dim, ffn_dim from ffn_ratio)."""
    field = field.removeprefix("params.")
    if field in space.fixed:
        return f"fixed.{field}"
    if field in space.params:
        return f"params.{field}"
    return f"candidate.{field}"
