"""Run the proxy suite for one candidate: build its proxy, train jointly, score every task.

Per task: raw accuracy, chance level and the chance-normalised score
`clip((accuracy - chance) / (1 - chance), 0, 1)` (0 = no better than guessing, 1 = perfect).
`quality` is the mean score over tasks. `SuiteResult.to_dict()` is JSON-safe (it is stored in
Optuna user attrs and the result cache) and `from_dict` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from star_search.errors import ProxyError
from star_search.proxies.catalog import default_tasks
from star_search.proxies.config import TIERS, ProxyConfig, proxy_config_for_tier
from star_search.proxies.proxy_model import build_proxy, proxy_spec
from star_search.proxies.trainer import train_and_evaluate
from star_search.spec import ArchSpec

__all__ = ["TIERS", "ProxyConfig", "SuiteResult", "TaskScore", "default_tasks",
           "proxy_config_for_tier", "resolve_device", "run_suite"]


@dataclass(frozen=True)
class TaskScore:
    """One task's result: accuracy and chance are fractions of scored positions (0–1)."""

    family: str
    accuracy: float
    chance: float

    @property
    def score(self) -> float:
        return min(1.0, max(0.0, (self.accuracy - self.chance) / (1.0 - self.chance)))


@dataclass(frozen=True)
class SuiteResult:
    """tasks: setting name → score. final_loss: mean training loss (nats) over the last 10% of
    steps. train_seconds / eval_seconds: wall clock. device: where it ran ("cpu", "cuda")."""

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
        """Mean score of each task family's settings."""
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
        """Inverse of `to_dict` (derived entries, score/families/quality, are recomputed)."""
        tasks = {name: TaskScore(t["family"], t["accuracy"], t["chance"])
                 for name, t in data["tasks"].items()}
        return cls(tasks, data["final_loss"], data["train_seconds"], data["eval_seconds"],
                   data["proxy_arch_id"], data["device"], data.get("config", {}))


def resolve_device(device: str) -> str:
    """"auto" → "cuda" when a GPU is visible, else "cpu"; "cuda" without one is an error."""
    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise ProxyError("proxies.device is 'cuda' but no CUDA device is available")
    return "cuda" if device == "cuda" or (device == "auto" and available) else "cpu"


def run_suite(spec: ArchSpec, config: ProxyConfig) -> SuiteResult:
    """Train the candidate's proxy on every selected task jointly and score each task."""
    tasks = config.select_tasks()
    small = proxy_spec(spec, config)
    device = resolve_device(config.device)
    model = build_proxy(small, config.seed).to(device)
    try:
        result = train_and_evaluate(model, tasks, config)
    except RuntimeError as err:
        raise ProxyError(f"proxy training of {spec.pattern()} failed: {err}") from err
    scores = {task.name: TaskScore(task.family, result.accuracy[task.name], task.chance_level)
              for task in tasks}
    return SuiteResult(scores, result.final_loss, result.train_seconds, result.eval_seconds,
                       small.arch_id, device, config.to_dict())
