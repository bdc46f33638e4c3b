"""Run the proxy suite for one candidate: build its proxy, train jointly, score every task.

`quality` is the mean over tasks of the chance-normalised score
`max(0, (accuracy - chance) / (1 - chance))`: 0 = no better than guessing, 1 = perfect.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from star_search.errors import ProxyError, SpecError
from star_search.model import build_model
from star_search.proxies.proxy_model import proxy_spec
from star_search.proxies.task import Task
from star_search.proxies.tasks import (
    Compression,
    FuzzyRecall,
    Memorization,
    MultiQueryRecall,
    NoisyRecall,
    SelectiveCopy,
)
from star_search.proxies.trainer import torch_threads, train_and_evaluate
from star_search.spec import ArchSpec


def default_tasks() -> list[Task]:
    """The v1 suite: six MAD/Zoology families, MQAR at two difficulties."""
    return [
        MultiQueryRecall(n_pairs=4, key_pool=32, value_pool=32),
        MultiQueryRecall(n_pairs=8, key_pool=48, value_pool=48),
        SelectiveCopy(length=24, n_tokens=6, pool=32),
        NoisyRecall(n_pairs=4, n_noise=8),
        FuzzyRecall(n_pairs=4, key_len=2, value_len=2),
        Compression(length=8, n_queries=4, pool=32),
        Memorization(n_keys=80, per_sequence=8, value_pool=24),
    ]


@dataclass(frozen=True)
class ProxyConfig:
    """How proxies are trained. `tasks` selects settings by name (empty = all default tasks)."""

    tier: str = "default"
    steps: int = 400
    batch_per_task: int = 8
    d_model: int = 64
    head_dim: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    seed: int = 0
    eval_samples: int = 128
    threads: int = 2
    tasks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("steps", "batch_per_task", "d_model", "head_dim", "eval_samples", "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise SpecError(f"proxies.{name}", value, "a positive integer")
        if self.d_model % self.head_dim:
            raise SpecError("proxies.d_model", self.d_model, f"a multiple of head_dim={self.head_dim}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tasks"] = list(self.tasks)
        return data

    def cache_key(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def select_tasks(self) -> list[Task]:
        tasks = default_tasks()
        if not self.tasks:
            return tasks
        by_name = {task.name: task for task in tasks}
        unknown = [name for name in self.tasks if name not in by_name]
        if unknown:
            raise SpecError("proxies.tasks", unknown[0], f"one of {sorted(by_name)}")
        return [by_name[name] for name in self.tasks]


TIERS: dict[str, ProxyConfig] = {
    "demo": ProxyConfig(tier="demo", steps=120, batch_per_task=16, d_model=64, lr=1e-2),
    "default": ProxyConfig(tier="default", steps=500, batch_per_task=16, d_model=64, lr=1e-2),
}


def proxy_config_for_tier(tier: str, **overrides: Any) -> ProxyConfig:
    if tier not in TIERS:
        raise SpecError("proxies.tier", tier, f"one of {sorted(TIERS)}")
    return replace(TIERS[tier], **overrides)


@dataclass(frozen=True)
class TaskScore:
    family: str
    accuracy: float
    chance: float

    @property
    def score(self) -> float:
        return max(0.0, (self.accuracy - self.chance) / (1.0 - self.chance))


@dataclass(frozen=True)
class SuiteResult:
    tasks: dict[str, TaskScore]
    final_loss: float
    train_seconds: float
    eval_seconds: float
    proxy_arch_id: str
    device: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def quality(self) -> float:
        return sum(t.score for t in self.tasks.values()) / len(self.tasks)

    def family_means(self) -> dict[str, float]:
        families: dict[str, list[float]] = {}
        for task in self.tasks.values():
            families.setdefault(task.family, []).append(task.score)
        return {name: sum(scores) / len(scores) for name, scores in families.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": {name: {"family": t.family, "accuracy": t.accuracy, "chance": t.chance,
                             "score": t.score} for name, t in self.tasks.items()},
            "families": self.family_means(),
            "quality": self.quality,
            "final_loss": self.final_loss,
            "train_seconds": self.train_seconds,
            "eval_seconds": self.eval_seconds,
            "proxy_arch_id": self.proxy_arch_id,
            "device": self.device,
            "config": self.config,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteResult:
        tasks = {name: TaskScore(t["family"], t["accuracy"], t["chance"])
                 for name, t in data["tasks"].items()}
        return cls(tasks, data["final_loss"], data["train_seconds"], data["eval_seconds"],
                   data["proxy_arch_id"], data["device"], data.get("config", {}))


def run_suite(spec: ArchSpec, config: ProxyConfig) -> SuiteResult:
    """Train the candidate's proxy on every selected task jointly and score each task."""
    tasks = config.select_tasks()
    max_len = max(task.seq_len for task in tasks) + 1
    small = proxy_spec(spec, config.d_model, config.head_dim, max_len)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch_threads(config.threads):
        model = build_model(small, seed=config.seed).to(device)
        try:
            result = train_and_evaluate(
                model, tasks, steps=config.steps, n_per_task=config.batch_per_task, lr=config.lr,
                weight_decay=config.weight_decay, warmup_fraction=config.warmup_fraction,
                seed=config.seed, eval_samples=config.eval_samples)
        except RuntimeError as err:
            raise ProxyError(f"proxy training of {spec.pattern()} failed: {err}") from err
    if not torch.isfinite(torch.tensor(result.final_loss)):
        raise ProxyError(f"proxy training of {spec.pattern()} diverged (final loss {result.final_loss})")
    scores = {task.name: TaskScore(task.family, result.accuracy[task.name], task.chance_level)
              for task in tasks}
    return SuiteResult(scores, result.final_loss, result.train_seconds, result.eval_seconds,
                       small.arch_id, device, config.to_dict())
