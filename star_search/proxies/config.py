"""`ProxyConfig`: how a candidate's proxy is built, trained and evaluated; named tiers of it.

`ProxyConfig()` is the `default` tier, for real searches; `demo` is the quick tier of the README
demo. Measured on one core of this 2-core dev machine (shared, load ~2), 4–6 layer proxies at
d_model 64: demo 5–14 s per candidate (conv/attention ~6 s, three GLA layers ~14 s), default
29–79 s (conv/attention 4 layers ~30 s, 6 layers ~40–55 s, three GLA layers ~79 s). Time grows
linearly with layers, steps and batch_size.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from star_search.errors import SpecError
from star_search.proxies.catalog import select_tasks
from star_search.proxies.task import Task

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class ProxyConfig:
    """Proxy model size, training recipe and task selection.

    d_model / head_dim: proxy width and attention head size (elements); heads = d_model / head_dim.
    max_experts: MoE candidates keep at most this many experts (top-k clipped to it).
    steps: optimiser steps; batch_size: sequences per step in all, dealt to the tasks in turn
    (so the cost of a step does not grow with the number of tasks). lr: peak AdamW learning rate
    (linear warm-up over `warmup_fraction` of the steps, then cosine decay to 10%).
    expert_bias_rate: MoE balancing bias change per step (score units; 0 disables it).
    eval_samples: held-out sequences per task. threads: torch intra-op threads; keep 1 on a
    shared or busy CPU (proxies run beside lowering), where more threads spin and stall.
    device: "auto" (CUDA when available), "cpu" or "cuda". tasks: setting names (empty = all).
    """

    tier: str = "default"
    d_model: int = 64
    head_dim: int = 16
    max_experts: int = 8
    steps: int = 1500
    batch_size: int = 14
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    expert_bias_rate: float = 1e-3
    seed: int = 0
    eval_samples: int = 128
    threads: int = 1
    device: str = "auto"
    tasks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        for name in ("d_model", "head_dim", "max_experts", "steps", "batch_size", "eval_samples",
                     "threads"):
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
        if self.weight_decay < 0 or self.expert_bias_rate < 0:
            raise SpecError("proxies.weight_decay/expert_bias_rate",
                            (self.weight_decay, self.expert_bias_rate), "values ≥ 0")
        if self.device not in DEVICES:
            raise SpecError("proxies.device", self.device, f"one of {list(DEVICES)}")
        self.select_tasks()  # unknown task names fail here, not after the first candidate

    def select_tasks(self) -> list[Task]:
        return select_tasks(self.tasks)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tasks"] = list(self.tasks)
        return data

    def cache_key(self) -> str:
        """Every field as canonical JSON (threads too: reduction order can change the last bits)."""
        return json.dumps(self.to_dict(), sort_keys=True)


TIERS: dict[str, ProxyConfig] = {
    "demo": ProxyConfig(tier="demo", steps=250, eval_samples=64),
    "default": ProxyConfig(),
}


def proxy_config_for_tier(tier: str, **overrides: Any) -> ProxyConfig:
    """The named tier's config with `overrides` (field=value) applied."""
    if tier not in TIERS:
        raise SpecError("proxies.tier", tier, f"one of {sorted(TIERS)}")
    return replace(TIERS[tier], **overrides)
