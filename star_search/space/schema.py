"""Typed model of a search-space YAML file: parameters, layer groups and operator slots.

A space file looks like::

    name: demo
    fixed:            # ArchSpec fields that do not vary
      vocab_size: 4096
    params:           # global choices, sampled once per candidate
      d_model: {choices: [128, 192]}
      ffn_ratio: {low: 2.0, high: 4.0, step: 0.5}
    layers:           # groups of operator slots, repeated
      - repeat: {choices: [2, 3]}
        slots:
          - {mixer: [conv, attention], ffn: swiglu}
          - {mixer: conv, tie: true}

A value is either a constant, `{choices: [...]}` (categorical) or `{low, high[, step][, log]}`
(integer when both bounds and the step are integers, float otherwise). A range needs low < high,
a step above 0 that divides high - low (Optuna would otherwise shrink the range), no step with
`log: true`; choices are distinct. Every value must suit its key (`space.rules`), and every
combination of global values must make a valid `ArchSpec` (`space.relations`): parsing refuses
anything else with a `SpecError` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Scalar = int | float | str | bool


@dataclass(frozen=True)
class Fixed:
    value: Scalar


@dataclass(frozen=True)
class Categorical:
    choices: tuple[Scalar, ...]


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    step: int = 1
    log: bool = False


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    step: float | None = None
    log: bool = False


Distribution = Fixed | Categorical | IntRange | FloatRange


@dataclass(frozen=True)
class Slot:
    """One layer position inside a group: which mixers and feed-forwards it may hold.

    `tie` makes every repeat of the group use the same choice for this slot.
    """

    mixer: Distribution
    ffn: Distribution
    tie: bool = False


@dataclass(frozen=True)
class LayerGroup:
    """`slots` laid out in order, the whole group repeated `repeat` times."""

    repeat: Distribution
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class SearchSpace:
    name: str
    description: str
    fixed: dict[str, Scalar]
    params: dict[str, Distribution]
    groups: tuple[LayerGroup, ...]
    source: str = ""

    def describe(self) -> dict[str, Any]:
        """JSON-safe summary for study attributes and reports."""
        return {"name": self.name, "description": self.description, "source": self.source,
                "fixed": dict(self.fixed), "params": sorted(self.params),
                "groups": len(self.groups)}
