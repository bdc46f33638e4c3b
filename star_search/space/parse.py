"""Parse and validate search-space YAML into a `SearchSpace`; errors name the field and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from star_search.errors import SpecError
from star_search.files import read_yaml
from star_search.space.schema import (
    Categorical,
    Distribution,
    Fixed,
    FloatRange,
    IntRange,
    LayerGroup,
    SearchSpace,
    Slot,
)
from star_search.spec import FFN_KINDS, MIXER_KINDS

TOP_LEVEL_KEYS = {"name", "description", "fixed", "params", "layers"}
# Global parameters a space may sample, with the check each value must pass.
POSITIVE_INT_PARAMS = {"d_model", "n_heads", "n_kv_heads", "head_dim", "ffn_dim", "vocab_size",
                       "conv_kernel", "ssm_state_dim", "ssm_expand", "moe_num_experts", "moe_top_k",
                       "moe_expert_dim", "max_seq_len", "ffn_multiple_of"}
POSITIVE_FLOAT_PARAMS = {"ffn_ratio", "rope_theta", "norm_eps", "moe_expert_ratio"}
BOOL_PARAMS = {"tie_embeddings"}
KNOWN_PARAMS = POSITIVE_INT_PARAMS | POSITIVE_FLOAT_PARAMS | BOOL_PARAMS


class _Parser:
    def __init__(self, source: str):
        self.source = source

    def fail(self, field: str, value: object, expected: str) -> SpecError:
        return SpecError(field, value, expected, source=self.source)

    def mapping(self, field: str, value: object, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, value, "a mapping")
        for key in value:
            if key not in allowed:
                raise self.fail(f"{field}.{key}" if field else str(key), value[key],
                                f"no such key; allowed keys are {sorted(allowed)}")
        return value

    def distribution(self, field: str, raw: object) -> Distribution:
        if not isinstance(raw, dict):
            if isinstance(raw, list):
                return self.categorical(field, raw)
            if isinstance(raw, int | float | str | bool):
                return Fixed(raw)
            raise self.fail(field, raw, "a constant, a list, {choices: [...]} or {low, high}")
        if "choices" in raw:
            self.mapping(field, raw, {"choices"})
            return self.categorical(f"{field}.choices", raw["choices"])
        self.mapping(field, raw, {"low", "high", "step", "log"})
        if "low" not in raw or "high" not in raw:
            raise self.fail(field, raw, "{choices: [...]} or both 'low' and 'high'")
        low, high = raw["low"], raw["high"]
        for key, bound in (("low", low), ("high", high)):
            if isinstance(bound, bool) or not isinstance(bound, int | float):
                raise self.fail(f"{field}.{key}", bound, "a number")
        if low > high:
            raise self.fail(f"{field}.low", low, f"at most high={high}")
        log = bool(raw.get("log", False))
        if isinstance(low, int) and isinstance(high, int) and isinstance(raw.get("step", 1), int):
            return IntRange(low, high, int(raw.get("step", 1)), log)
        step = raw.get("step")
        return FloatRange(float(low), float(high), None if step is None else float(step), log)

    def categorical(self, field: str, raw: object) -> Categorical:
        if not isinstance(raw, list) or not raw:
            raise self.fail(field, raw, "a non-empty list of choices")
        for index, choice in enumerate(raw):
            if not isinstance(choice, int | float | str | bool):
                raise self.fail(f"{field}[{index}]", choice, "a number, string or boolean")
        return Categorical(tuple(raw))

    def check_values(self, field: str, dist: Distribution, name: str, raw: object = None) -> None:
        """Check every value a distribution can produce against the rule for parameter `name`."""
        if isinstance(raw, dict) and "choices" in raw:
            field = f"{field}.choices"
        values: tuple[object, ...]
        if isinstance(dist, Fixed):
            values, path = (dist.value,), [field]
        elif isinstance(dist, Categorical):
            values, path = dist.choices, [f"{field}[{i}]" for i in range(len(dist.choices))]
        else:
            values, path = (dist.low, dist.high), [f"{field}.low", f"{field}.high"]
        for where, value in zip(path, values, strict=True):
            if name in POSITIVE_INT_PARAMS and (
                    isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise self.fail(where, value, f"a positive integer for '{name}'")
            if name in POSITIVE_FLOAT_PARAMS and (
                    isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
                raise self.fail(where, value, f"a positive number for '{name}'")
            if name in BOOL_PARAMS and not isinstance(value, bool):
                raise self.fail(where, value, f"true or false for '{name}'")
            if name == "mixer" and value not in MIXER_KINDS:
                raise self.fail(where, value, f"an operator among {list(MIXER_KINDS)}")
            if name == "ffn" and value not in FFN_KINDS:
                raise self.fail(where, value, f"a feed-forward among {list(FFN_KINDS)}")
        if name in ("mixer", "ffn") and isinstance(dist, IntRange | FloatRange):
            raise self.fail(field, dist, f"a name or a list of names for '{name}'")
        if name in POSITIVE_INT_PARAMS and isinstance(dist, FloatRange):
            raise self.fail(field, dist, f"integer bounds for '{name}'")

    def slot(self, field: str, raw: object) -> Slot:
        if isinstance(raw, str):
            raw = {"mixer": raw}
        body = self.mapping(field, raw, {"mixer", "ffn", "tie"})
        if "mixer" not in body:
            raise self.fail(f"{field}.mixer", None, f"an operator among {list(MIXER_KINDS)}")
        mixer = self.distribution(f"{field}.mixer", body["mixer"])
        ffn = self.distribution(f"{field}.ffn", body.get("ffn", "swiglu"))
        self.check_values(f"{field}.mixer", mixer, "mixer", body["mixer"])
        self.check_values(f"{field}.ffn", ffn, "ffn", body.get("ffn"))
        tie = body.get("tie", False)
        if not isinstance(tie, bool):
            raise self.fail(f"{field}.tie", tie, "true or false")
        return Slot(mixer, ffn, tie)

    def group(self, field: str, raw: object) -> LayerGroup:
        body = self.mapping(field, raw, {"repeat", "slots"})
        repeat = self.distribution(f"{field}.repeat", body.get("repeat", 1))
        self.check_values(f"{field}.repeat", repeat, "repeat_count")
        for value in _possible_ints(repeat):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise self.fail(f"{field}.repeat", value, "a positive integer number of repeats")
        slots = body.get("slots")
        if not isinstance(slots, list) or not slots:
            raise self.fail(f"{field}.slots", slots, "a non-empty list of slots")
        return LayerGroup(repeat, tuple(self.slot(f"{field}.slots[{i}]", s) for i, s in enumerate(slots)))

    def space(self, raw: object) -> SearchSpace:
        body = self.mapping("", raw, TOP_LEVEL_KEYS)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise self.fail("name", name, "a non-empty string")
        fixed = self.mapping("fixed", body.get("fixed", {}) or {}, KNOWN_PARAMS)
        for key, value in fixed.items():
            self.check_values(f"fixed.{key}", Fixed(value), key)
        raw_params = self.mapping("params", body.get("params", {}) or {}, KNOWN_PARAMS)
        params: dict[str, Distribution] = {}
        for key, value in raw_params.items():
            params[key] = self.distribution(f"params.{key}", value)
            self.check_values(f"params.{key}", params[key], key, value)
        both = sorted(set(fixed) & set(params))
        if both:
            raise self.fail(f"params.{both[0]}", raw_params[both[0]], "a key not also in 'fixed'")
        layers = body.get("layers")
        if not isinstance(layers, list) or not layers:
            raise self.fail("layers", layers, "a non-empty list of layer groups")
        groups = tuple(self.group(f"layers[{i}]", g) for i, g in enumerate(layers))
        description = body.get("description", "")
        return SearchSpace(name, str(description), dict(fixed), params, groups, self.source)


def _possible_ints(dist: Distribution) -> tuple[object, ...]:
    if isinstance(dist, Fixed):
        return (dist.value,)
    if isinstance(dist, Categorical):
        return dist.choices
    return (dist.low, dist.high)


def parse_space(raw: object, source: str = "<memory>") -> SearchSpace:
    """Validate an already-loaded YAML document."""
    return _Parser(source).space(raw)


def load_space(path: str | Path) -> SearchSpace:
    """Load and validate a search-space YAML file."""
    path = Path(path)
    return parse_space(read_yaml(path, "space"), source=str(path))
