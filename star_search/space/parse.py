"""Parse and validate search-space YAML into a `SearchSpace`; errors name the field and value.

Whatever the document holds, parsing returns a `SearchSpace` every candidate of which is a valid
`ArchSpec` (see `space.rules` and `space.relations`), or raises `SpecError` naming the field, the
value and what is allowed; no other exception leaves it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from star_search.errors import SpecError, no_such_key
from star_search.files import read_yaml
from star_search.space.relations import check_relations
from star_search.space.rules import (
    FFN,
    KNOWN_PARAMS,
    MIXER,
    REPEAT,
    TARGET_PARAMS,
    check_distribution,
    range_problem,
)
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
from star_search.spec import MAX_LAYERS, is_finite_number

TOP_LEVEL_KEYS = ("name", "description", "fixed", "params", "layers")
GROUP_KEYS = ("repeat", "slots")
SLOT_KEYS = ("mixer", "ffn", "tie")
RANGE_KEYS = ("low", "high", "step", "log")
SCALARS = (str, int, float, bool)


class _Parser:
    def __init__(self, source: str):
        self.source = source
        # Where each value's choices stand in the file (`params.d_model.choices` or `params.d_model`).
        self.places: dict[str, str] = {}

    def fail(self, field: str, value: object, expected: str) -> SpecError:
        return SpecError(field, value, expected, source=self.source)

    def mapping(self, field: str, value: object, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field or "space", value, "a mapping")
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                where = f"{field}.{key}" if field else str(key)
                raise self.fail(where, value[key], no_such_key(key, allowed))
        return value

    def optional_mapping(self, field: str, value: object, allowed: tuple[str, ...]) -> dict[str, Any]:
        """A mapping that may be absent or null (an empty one)."""
        return {} if value is None else self.mapping(field, value, allowed)

    def distribution(self, field: str, raw: object) -> Distribution:
        if isinstance(raw, list):
            return self.categorical(field, raw)
        if isinstance(raw, float) and not math.isfinite(raw):
            raise self.fail(field, raw, "a finite number")
        if isinstance(raw, SCALARS):
            return Fixed(raw)
        if not isinstance(raw, dict):
            raise self.fail(field, raw, "a constant, a list, {choices: [...]} or {low, high[, step][, log]}")
        if "choices" in raw:
            self.mapping(field, raw, ("choices",))
            return self.categorical(f"{field}.choices", raw["choices"])
        self.mapping(field, raw, RANGE_KEYS)
        return self.range(field, raw)

    def range(self, field: str, raw: dict[str, Any]) -> IntRange | FloatRange:
        for key in ("low", "high"):
            if key not in raw:
                raise self.fail(f"{field}.{key}", None, "a number ({choices: [...]} or 'low' and 'high')")
            if not is_finite_number(raw[key]):
                raise self.fail(f"{field}.{key}", raw[key], "a finite number")
        low, high, step, log = raw["low"], raw["high"], raw.get("step"), raw.get("log", False)
        if not isinstance(log, bool):
            raise self.fail(f"{field}.log", log, "true or false")
        if step is not None and not is_finite_number(step):
            raise self.fail(f"{field}.step", step, "a finite number above 0, or no step")
        integer = isinstance(low, int) and isinstance(high, int) and isinstance(step, int | None)
        if not integer:
            low, high = float(low), float(high)
        problem = range_problem(low, high, step, log)
        if problem:
            key, value, expected = problem
            raise self.fail(f"{field}.{key}", value, expected)
        if integer:
            return IntRange(low, high, 1 if step is None else step, log)
        return FloatRange(low, high, None if step is None else float(step), log)

    def categorical(self, field: str, raw: object) -> Categorical:
        if not isinstance(raw, list) or not raw:
            raise self.fail(field, raw, "a non-empty list of choices")
        seen: set[tuple[type, object]] = set()
        for index, choice in enumerate(raw):
            if not isinstance(choice, SCALARS) or (isinstance(choice, float) and not math.isfinite(choice)):
                raise self.fail(f"{field}[{index}]", choice, "a finite number, a string or a boolean")
            if (type(choice), choice) in seen:
                raise self.fail(f"{field}[{index}]", choice, "a choice not already listed")
            seen.add((type(choice), choice))
        return Categorical(tuple(raw))

    def value(self, field: str, raw: object, name: str) -> Distribution:
        """The distribution at `field`, every value of which passes the rule of `name`."""
        dist = self.distribution(field, raw)
        where = f"{field}.choices" if isinstance(raw, dict) and "choices" in raw else field
        check_distribution(self.fail, where, dist, name)
        self.places[field] = where
        return dist

    def slot(self, field: str, raw: object) -> Slot:
        if isinstance(raw, str):
            raw = {"mixer": raw}
        body = self.mapping(field, raw, SLOT_KEYS)
        if "mixer" not in body:
            raise self.fail(f"{field}.mixer", None, "an operator or a list of them")
        mixer = self.value(f"{field}.mixer", body["mixer"], MIXER)
        ffn = self.value(f"{field}.ffn", body.get("ffn", "swiglu"), FFN)
        tie = body.get("tie", False)
        if not isinstance(tie, bool):
            raise self.fail(f"{field}.tie", tie, "true or false")
        return Slot(mixer, ffn, tie)

    def group(self, field: str, raw: object) -> LayerGroup:
        body = self.mapping(field, raw, GROUP_KEYS)
        repeat = self.value(f"{field}.repeat", body.get("repeat", 1), REPEAT)
        slots = body.get("slots")
        if not isinstance(slots, list) or not slots:
            raise self.fail(f"{field}.slots", slots, "a non-empty list of slots")
        if len(slots) > MAX_LAYERS:
            raise self.fail(f"{field}.slots", slots, f"at most {MAX_LAYERS} slots")
        return LayerGroup(repeat, tuple(self.slot(f"{field}.slots[{i}]", s) for i, s in enumerate(slots)))

    def layers(self, raw: object) -> tuple[LayerGroup, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("layers", raw, "a non-empty list of layer groups")
        if len(raw) > MAX_LAYERS:
            raise self.fail("layers", raw, f"at most {MAX_LAYERS} layer groups")
        groups = tuple(self.group(f"layers[{i}]", g) for i, g in enumerate(raw))
        deepest = sum(_most_repeats(group.repeat) * len(group.slots) for group in groups)
        if deepest > MAX_LAYERS:
            raise self.fail("layers", f"up to {deepest} layers", f"at most {MAX_LAYERS} layers in all "
                            f"(the sum over groups of their most repeats times their slots)")
        return groups

    def space(self, raw: object) -> SearchSpace:
        body = self.mapping("", raw, TOP_LEVEL_KEYS)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise self.fail("name", name, "a non-empty string")
        description = body.get("description", "")
        if description is not None and not isinstance(description, str):
            raise self.fail("description", description, "a string")
        fixed_raw = self.optional_mapping("fixed", body.get("fixed"), KNOWN_PARAMS)
        fixed: dict[str, Any] = {}
        for key, value in fixed_raw.items():
            dist = self.value(f"fixed.{key}", value, key)
            if not isinstance(dist, Fixed):
                raise self.fail(f"fixed.{key}", value, f"one constant value for '{key}' (choices and "
                                f"ranges go under 'params')")
            fixed[key] = dist.value
        raw_params = self.optional_mapping("params", body.get("params"), KNOWN_PARAMS)
        params = {key: self.value(f"params.{key}", value, key) for key, value in raw_params.items()}
        both = [key for key in params if key in fixed]
        if both:
            raise self.fail(f"params.{both[0]}", raw_params[both[0]], "a key not also in 'fixed'")
        sampled_targets = [key for key in params if key in TARGET_PARAMS]
        if sampled_targets:
            raise self.fail(f"params.{sampled_targets[0]}", raw_params[sampled_targets[0]],
                            f"'{sampled_targets[0]}' under 'fixed' (one target per search)")
        if "d_model" not in fixed and "d_model" not in params:
            raise self.fail("params.d_model", None, "d_model in 'fixed' or 'params' (the model width)")
        groups = self.layers(body.get("layers"))
        check_relations(fixed, params, groups, self.fail, self.places)
        return SearchSpace(name, description or "", fixed, params, groups, self.source)


def _most_repeats(repeat: Distribution) -> int:
    if isinstance(repeat, Fixed):
        return repeat.value  # type: ignore[return-value]
    if isinstance(repeat, Categorical):
        return max(repeat.choices)  # type: ignore[type-var, return-value]
    return int(repeat.high)


def parse_space(raw: object, source: str = "<memory>") -> SearchSpace:
    """Validate an already-loaded YAML document."""
    return _Parser(source).space(raw)


def load_space(path: str | Path) -> SearchSpace:
    """Load and validate a search-space YAML file."""
    path = Path(path)
    return parse_space(read_yaml(path, "space"), source=str(path))
