"""`ProxyConfig`: how a candidate's proxy is built, trained, evaluated and summed up; named tiers.

Tiers: `full` (every registered setting, 1200 steps of 28 sequences at a constant learning rate
after warm-up), `fast` (16 short settings covering every family, 300 steps of 56 sequences, same
schedule: the tier whose ranking `benchmarks/proxy_fidelity.py` checks against `full`, i.e. every
setting and 4× the steps; batch and schedule of both were chosen there, see BENCHMARKS.md) and
`demo` (8 short settings and few steps, the README demo). `ProxyConfig()`'s field defaults (14
sequences, cosine decay to 10%, as `demo` trains) were the `full` tier's recipe until 2026-12-04;
they keep its label, so that settings built without a tier (`SearchSettings()`) still name a known
tier, and `TIERS["full"]` overrides batch and schedule. Measured seconds
per candidate are in the README and BENCHMARKS.md; time grows linearly with layers, steps and
batch_size, and with the length of the selected settings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from star_search.errors import SpecError
from star_search.proxies.catalog import DEMO_SETTINGS, FAST_SETTINGS, all_tasks, families, select_tasks
from star_search.proxies.task import Task

DEVICES = ("auto", "cpu", "cuda")
RESIDUAL_INITS = ("default", "depth")
SCORINGS = ("accuracy", "probability")
FamilyWeights = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ProxyConfig:
    """Proxy model size, training recipe and task selection.

    d_model / head_dim: proxy width and attention head size (elements); heads = d_model / head_dim.
    max_experts: MoE candidates keep at most this many experts (top-k clipped to it).
    steps: optimiser steps; batch_size: sequences per step in all, dealt to the tasks in turn
    (so the cost of a step does not grow with the number of tasks). lr: peak AdamW learning rate
    (linear warm-up over `warmup_fraction` of the steps, then cosine decay to `final_lr_fraction`
    of the peak; 1.0 keeps it constant after warm-up).
    expert_bias_rate: MoE balancing bias change per step (score units; 0 disables it).
    eval_samples: held-out sequences per task. threads: torch intra-op threads; keep 1 on a
    shared or busy CPU (proxies run beside lowering), where more threads spin and stall.
    device: "auto" (CUDA when available), "cpu" or "cuda". tasks: setting names (empty = all).
    scoring: what an accuracy task's score is made of: "accuracy" (top-1 prediction right) or
    "probability" (the mean probability the model gives the right answer, a continuous measure
    of the same skill with the same chance and perfect levels); bits-per-byte tasks keep theirs.
    family_weights: weight of each family in `quality` (the weighted mean of family means);
    families not named weigh 1, weight 0 leaves a family out. Given as a mapping or as
    (family, weight) pairs; kept as pairs sorted by family.
    repeats: independent runs at seeds `seed`, `seed + 1`, …, whose scores are averaged (each
    setting's score is the mean of the runs' scores, so `quality` is the mean of the runs'
    qualities): the seed noise of one run shrinks by sqrt(repeats), the cost grows by repeats.
    residual_init: "default" (each operator's own initialisation) or "depth" (every block's output
    projections, the mixer's and the feed-forward's, scaled by 1 / sqrt(2 · layers) at
    initialisation, GPT-2's scheme, so that a deep stack starts with the residual stream of a
    shallow one); a candidate lever for the fidelity at depth (`benchmarks/proxy_fidelity.py`).
    depth_fraction: in (0, 1]; below 1 the proxy of a stack deeper than `scaling.SHALLOW_LAYERS`
    keeps that fraction of its layers (at least `SHALLOW_LAYERS`), same kinds, order and ratio
    (`scaling.reduced_layers`): a depth-preserving reduction that buys more steps per second.
    Left out of `to_dict` at 1.0, so cache keys written before it existed still match.
    """

    tier: str = "full"
    d_model: int = 64
    head_dim: int = 16
    max_experts: int = 8
    steps: int = 1200
    batch_size: int = 14
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    final_lr_fraction: float = 0.1
    expert_bias_rate: float = 1e-3
    seed: int = 0
    eval_samples: int = 128
    threads: int = 1
    device: str = "auto"
    tasks: tuple[str, ...] = ()
    family_weights: FamilyWeights = ()
    scoring: str = "accuracy"
    repeats: int = 1
    residual_init: str = "default"
    depth_fraction: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "family_weights", _family_weights(self.family_weights))
        for name in ("d_model", "head_dim", "max_experts", "steps", "batch_size", "eval_samples",
                     "threads", "repeats"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise SpecError(f"proxies.{name}", value, "a positive integer")
        if self.d_model % self.head_dim or self.head_dim % 2:
            raise SpecError("proxies.head_dim", self.head_dim,
                            f"an even divisor of d_model={self.d_model}")
        if not self.lr > 0:
            raise SpecError("proxies.lr", self.lr, "a positive learning rate")
        if not 0 <= self.warmup_fraction < 1:
            raise SpecError("proxies.warmup_fraction", self.warmup_fraction, "a fraction in [0, 1)")
        if not 0 <= self.final_lr_fraction <= 1:
            raise SpecError("proxies.final_lr_fraction", self.final_lr_fraction, "a fraction in [0, 1]")
        if self.weight_decay < 0 or self.expert_bias_rate < 0:
            raise SpecError("proxies.weight_decay/expert_bias_rate",
                            (self.weight_decay, self.expert_bias_rate), "values ≥ 0")
        if self.device not in DEVICES:
            raise SpecError("proxies.device", self.device, f"one of {list(DEVICES)}")
        if self.scoring not in SCORINGS:
            raise SpecError("proxies.scoring", self.scoring, f"one of {list(SCORINGS)}")
        if isinstance(self.depth_fraction, bool) or not isinstance(self.depth_fraction, int | float) \
                or not 0 < self.depth_fraction <= 1:
            raise SpecError("proxies.depth_fraction", self.depth_fraction, "a fraction in (0, 1]")
        if self.residual_init not in RESIDUAL_INITS:
            raise SpecError("proxies.residual_init", self.residual_init, f"one of {list(RESIDUAL_INITS)}")
        selected = families(self.select_tasks())  # unknown task names fail here, not later
        if not any(self.family_weight(family) > 0 for family in selected):
            raise SpecError("proxies.family_weights", dict(self.family_weights),
                            f"a positive weight for at least one selected family of {selected}")

    def select_tasks(self) -> list[Task]:
        return select_tasks(self.tasks)

    def family_weight(self, family: str) -> float:
        """The weight of `family` in `quality` (1 unless `family_weights` names it)."""
        return dict(self.family_weights).get(family, 1.0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tasks"] = list(self.tasks)
        data["family_weights"] = dict(self.family_weights)
        if self.depth_fraction == 1.0:
            del data["depth_fraction"]
        return data

    def cache_key(self) -> str:
        """Every field as canonical JSON (threads too: reduction order can change the last bits)."""
        return json.dumps(self.to_dict(), sort_keys=True)


def _family_weights(weights: Mapping[str, float] | FamilyWeights) -> FamilyWeights:
    """`weights` (a mapping or pairs) checked against the registry's families, as sorted pairs."""
    if isinstance(weights, Mapping):
        pairs = list(weights.items())
    elif isinstance(weights, tuple | list) and all(isinstance(p, tuple | list) and len(p) == 2
                                                   for p in weights):
        pairs = [tuple(p) for p in weights]
    else:
        raise SpecError("proxies.family_weights", weights, "a mapping of task family to weight")
    known = families(all_tasks()) if pairs else []
    for family, weight in pairs:
        if family not in known:
            raise SpecError("proxies.family_weights", family, f"a task family among {known}")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) \
                or weight < 0:
            raise SpecError(f"proxies.family_weights.{family}", weight, "a finite weight ≥ 0")
    if len({family for family, _ in pairs}) != len(pairs):
        raise SpecError("proxies.family_weights", pairs, "each family at most once")
    return tuple(sorted((str(family), float(weight)) for family, weight in pairs))


TIERS: dict[str, ProxyConfig] = {
    "demo": ProxyConfig(tier="demo", steps=250, batch_size=14, eval_samples=64, tasks=DEMO_SETTINGS),
    "fast": ProxyConfig(tier="fast", steps=300, batch_size=56, final_lr_fraction=1.0, tasks=FAST_SETTINGS),
    "full": ProxyConfig(tier="full", batch_size=28, final_lr_fraction=1.0),
}


def proxy_config_for_tier(tier: str, **overrides: Any) -> ProxyConfig:
    """The named tier's config with `overrides` (field=value) applied."""
    if tier not in TIERS:
        raise SpecError("proxies.tier", tier, f"one of {sorted(TIERS)}")
    return replace(TIERS[tier], **overrides)
