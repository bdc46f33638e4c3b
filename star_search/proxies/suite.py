"""Run the proxy suite for one candidate: build its proxy, train jointly, score every setting.

Per setting: the metric's value (accuracy, or with `ProxyConfig.scoring` "probability" the mean
probability of the right answer, the accuracy kept beside it; bits per byte for byte-level LM),
its chance and perfect levels, and the chance-normalised score `clip((value - chance) / (perfect - chance), 0,
1)`: 0 = no better than guessing, 1 = perfect, for metrics that grow and that shrink alike.
Per family: the mean score of its settings. `quality`, the search's objective, is the mean of
the family means weighted by `ProxyConfig.family_weights` (1 each unless configured), so a
family counts the same however many settings it has. With `ProxyConfig.repeats` > 1 the suite
runs once per seed (`seed`, `seed + 1`, …) and each setting's score is the mean of the runs'
scores, so `quality` is the mean of the runs' qualities. `SuiteResult.to_dict()` is JSON-safe (it
is stored in Optuna user attrs and the result cache) and `from_dict` reads it back.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from star_search.errors import ProxyError
from star_search.progress import SILENT, Progress
from star_search.proxies.catalog import all_tasks
from star_search.proxies.config import TIERS, ProxyConfig, proxy_config_for_tier
from star_search.proxies.proxy_model import build_proxy, proxy_size
from star_search.proxies.task import Task
from star_search.proxies.trainer import TrainResult, train_and_evaluate
from star_search.scaling import proxy_spec
from star_search.spec import ArchSpec

__all__ = [
    "TIERS",
    "ProxyConfig",
    "SuiteResult",
    "TaskScore",
    "all_tasks",
    "averaged",
    "proxy_config_for_tier",
    "resolve_device",
    "run_suite",
    "seed_configs",
    "weighted_quality",
]


@dataclass(frozen=True)
class TaskScore:
    """One setting's result. metric: "accuracy" (fraction of scored positions, 0–1),
    "probability" (mean probability of the target, 0–1) or "bits_per_byte"; value: the metric on
    held-out sequences; chance / perfect: its value for uniform guessing / for a perfect model.
    accuracy: the top-1 accuracy beside a "probability" value (same chance and perfect levels).
    repeat_values / repeat_accuracies: each run's value / accuracy when several seeds were
    averaged (`value` and `accuracy` are then their means, and the score is the mean of the runs'
    scores: a run below chance counts as 0, not against the others)."""

    family: str
    value: float
    chance: float
    metric: str = "accuracy"
    perfect: float = 1.0
    accuracy: float | None = None
    repeat_values: tuple[float, ...] = ()
    repeat_accuracies: tuple[float, ...] = ()

    @property
    def score(self) -> float:
        return self._score(self.repeat_values or (self.value,))

    @property
    def accuracy_score(self) -> float:
        """The score by top-1 accuracy where there is one, else `score` (bits per byte)."""
        if self.metric == "probability" and self.accuracy is not None:
            return self._score(self.repeat_accuracies or (self.accuracy,))
        return self.score

    def _score(self, values: tuple[float, ...]) -> float:
        return statistics.fmean(_normalised(v, self.chance, self.perfect) for v in values)

    def to_dict(self) -> dict[str, Any]:
        data = {"family": self.family, "metric": self.metric, "value": self.value,
                "chance": self.chance, "perfect": self.perfect, "score": self.score}
        if self.metric == "accuracy":
            data["accuracy"] = self.value  # the report's trials table reads this column
        elif self.accuracy is not None:
            data["accuracy"] = self.accuracy
        if self.repeat_values:
            data["repeat_values"] = list(self.repeat_values)
        if self.repeat_accuracies:
            data["repeat_accuracies"] = list(self.repeat_accuracies)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskScore:
        """Also reads records written before `metric`/`value` existed (accuracy only)."""
        value = data["value"] if "value" in data else data["accuracy"]
        metric = data.get("metric", "accuracy")
        return cls(data["family"], value, data["chance"], metric, data.get("perfect", 1.0),
                   data.get("accuracy") if metric == "probability" else None,
                   tuple(data.get("repeat_values", ())), tuple(data.get("repeat_accuracies", ())))


def _normalised(value: float, chance: float, perfect: float) -> float:
    """0 at (or below) chance, 1 at (or beyond) perfect, linear between."""
    return min(1.0, max(0.0, (value - chance) / (perfect - chance)))


@dataclass(frozen=True)
class SuiteResult:
    """tasks: setting name → score. final_loss: mean training loss (nats) over the last 10% of
    steps. train_seconds / eval_seconds: wall clock. device: where it ran ("cpu", "cuda").
    config: `ProxyConfig.to_dict()` of the run (its `family_weights` weigh `quality`)."""

    tasks: dict[str, TaskScore]
    final_loss: float
    train_seconds: float
    eval_seconds: float
    proxy_arch_id: str
    device: str
    config: dict[str, Any] = field(default_factory=dict)

    def family_means(self, by_accuracy: bool = False) -> dict[str, float]:
        """Mean score of each family's settings, families in order of first appearance;
        `by_accuracy`: of the top-1 accuracy scores (`TaskScore.accuracy_score`) instead."""
        families: dict[str, list[float]] = {}
        for task in self.tasks.values():
            families.setdefault(task.family, []).append(task.accuracy_score if by_accuracy else task.score)
        return {name: sum(scores) / len(scores) for name, scores in families.items()}

    def family_weights(self) -> dict[str, float]:
        """The weight of every family present (1 unless the config says otherwise)."""
        configured = self.config.get("family_weights") or {}
        return {name: float(configured.get(name, 1.0)) for name in self.family_means()}

    @property
    def quality(self) -> float:
        """Weighted mean of the family means (0 = chance everywhere, 1 = perfect)."""
        return weighted_quality(self.family_means(), self.family_weights())

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": {name: t.to_dict() for name, t in self.tasks.items()},
            "families": self.family_means(),
            "family_weights": self.family_weights(),
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
        tasks = {name: TaskScore.from_dict(t) for name, t in data["tasks"].items()}
        return cls(tasks, data["final_loss"], data["train_seconds"], data["eval_seconds"],
                   data["proxy_arch_id"], data["device"], data.get("config", {}))


def weighted_quality(family_means: dict[str, float], weights: dict[str, float]) -> float:
    """The mean of `family_means` weighted by `weights` (every family of the means named)."""
    total = sum(weights[name] for name in family_means)
    if total <= 0:
        raise ProxyError(f"family weights {weights} sum to {total}; quality needs a positive sum")
    return sum(family_means[name] * weights[name] for name in family_means) / total


def resolve_device(device: str) -> str:
    """"auto" → "cuda" when a GPU is visible, else "cpu"; "cuda" without one is an error."""
    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise ProxyError("proxies.device is 'cuda' but no CUDA device is available")
    return "cuda" if device == "cuda" or (device == "auto" and available) else "cpu"


def run_suite(spec: ArchSpec, config: ProxyConfig, progress: Progress = SILENT) -> SuiteResult:
    """Train the candidate's proxy on every selected setting jointly and score each; with
    `config.repeats` > 1, once per seed, the scores averaged."""
    if config.repeats == 1:
        return _run_once(spec, config, progress)
    runs = [_run_once(spec, one, progress, f" (seed {one.seed}, {r + 1} of {config.repeats})")
            for r, one in enumerate(seed_configs(config))]
    return averaged(runs, config)


def seed_configs(config: ProxyConfig) -> list[ProxyConfig]:
    """The single runs `config` stands for: itself when `repeats` is 1, else one config per seed
    (`seed`, `seed + 1`, …) with `repeats` 1. Each is what a cache keys one run by, so a mean of
    two seeds reuses a stored run of the first."""
    if config.repeats == 1:
        return [config]
    return [replace(config, seed=config.seed + r, repeats=1) for r in range(config.repeats)]


def averaged(runs: list[SuiteResult], config: ProxyConfig) -> SuiteResult:
    """One result from the runs of `seed_configs(config)`: each setting's value the mean of the
    runs' values (each run's kept in `repeat_values`), times summed, labelled with `config`."""
    if len(runs) == 1:
        return runs[0]
    tasks = {}
    for name, first in runs[0].tasks.items():
        values = tuple(run.tasks[name].value for run in runs)
        accuracies = tuple(a for run in runs if (a := run.tasks[name].accuracy) is not None)
        mean_accuracy = statistics.fmean(accuracies) if accuracies else None
        tasks[name] = TaskScore(first.family, statistics.fmean(values), first.chance, first.metric,
                                first.perfect, mean_accuracy, values,
                                accuracies if first.metric == "probability" else ())
    return SuiteResult(tasks, statistics.fmean(run.final_loss for run in runs),
                       sum(run.train_seconds for run in runs), sum(run.eval_seconds for run in runs),
                       runs[0].proxy_arch_id, runs[0].device, config.to_dict())


def _run_once(spec: ArchSpec, config: ProxyConfig, progress: Progress, which: str = "") -> SuiteResult:
    tasks = config.select_tasks()
    small = proxy_spec(spec, proxy_size(config))
    device = resolve_device(config.device)
    model = build_proxy(small, config.seed, config.residual_init).to(device)
    try:
        with progress.task(f"proxy training {spec.pattern()}{which}", config.steps, "steps") as task:
            task.update(note=f"{len(tasks)} tasks jointly, {config.tier} tier")
            result = train_and_evaluate(model, tasks, config, lambda step: task.advance())
    except RuntimeError as err:
        raise ProxyError(f"proxy training of {spec.pattern()} failed: {err}") from err
    scores = {task.name: _task_score(task, result, config.scoring) for task in tasks}
    return SuiteResult(scores, result.final_loss, result.train_seconds, result.eval_seconds,
                       small.arch_id, device, config.to_dict())


def _task_score(task: Task, result: TrainResult, scoring: str) -> TaskScore:
    value = result.values[task.name]
    if scoring == "probability" and task.name in result.probabilities:
        return TaskScore(task.family, result.probabilities[task.name], task.chance_level, "probability",
                         task.perfect_level, accuracy=value)
    return TaskScore(task.family, value, task.chance_level, task.metric, task.perfect_level)
