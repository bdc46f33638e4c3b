"""The `Task` contract: a seeded generator of token sequences with scored positions.

A task is one family (what is tested) at one difficulty setting (its dataclass fields). New
families are new files in `tasks/`; new settings are new instances, e.g. in `catalog.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from star_search.errors import SpecError
from star_search.proxies.vocab import CONTENT_BASE, CONTENT_SIZE, IGNORE


@dataclass(frozen=True)
class TaskBatch:
    """inputs: [n, seq_len] int64 token ids. targets: [n, seq_len] int64, the token the model must
    predict after reading inputs[:, :t+1], or IGNORE (-100) where nothing is scored."""

    inputs: Tensor
    targets: Tensor

    @property
    def scored(self) -> int:
        """Number of scored positions in the batch."""
        return int((self.targets != IGNORE).sum())


class Task(ABC):
    """A task family at one difficulty setting.

    `family` groups settings of the same task; `name` is unique per setting and encodes its
    parameters. `metric` names what is measured at every scored position and averaged over them:
    "accuracy" (top-1 prediction equals the target) unless a family says otherwise.
    `chance_level` is the metric's value for uniform guessing among the answers a scored position
    can have, `perfect_level` its value for a perfect model. Subclasses are frozen dataclasses
    that validate their parameters in `__post_init__` (raising `SpecError`), so that a bad sweep
    fails before any training.
    """

    family: str
    metric: ClassVar[str] = "accuracy"

    @property
    @abstractmethod
    def name(self) -> str: ...

    @property
    @abstractmethod
    def chance_level(self) -> float: ...

    @property
    @abstractmethod
    def seq_len(self) -> int:
        """Length in tokens of every generated sequence (the trainer adds one family token)."""

    @property
    @abstractmethod
    def scored_per_sequence(self) -> int:
        """Number of scored positions in every generated sequence."""

    @property
    def perfect_level(self) -> float:
        """The metric's value for a model that is always right (accuracy 1)."""
        return 1.0

    @abstractmethod
    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        """`n` fresh sequences drawn with `rng` (the only source of randomness)."""

    def held_out(self, n: int, rng: torch.Generator) -> TaskBatch:
        """`n` sequences to evaluate on. Synthetic tasks draw them like training data (the trainer
        passes a generator of another stream); tasks over fixed data override this to use data
        that training never sees."""
        return self.generate(n, rng)

    def position_values(self, logits: Tensor, targets: Tensor) -> Tensor:
        """The metric at every scored position, flat: logits [n, time, vocab], targets [n, time]
        → [scored]. Accuracy: 1.0 where the top-1 prediction is the target, else 0.0."""
        scored = targets != IGNORE
        return (logits.argmax(dim=-1)[scored] == targets[scored]).float()


def distinct(n: int, k: int, pool: int, rng: torch.Generator, offset: int = 0) -> Tensor:
    """[n, k] content-token ids, distinct within a row, from content offsets [offset, offset + pool)."""
    if k > pool:
        raise ValueError(f"cannot draw {k} distinct tokens from a pool of {pool}")
    return random_order(n, pool, rng)[:, :k] + CONTENT_BASE + offset


def uniform(n: int, k: int, low: int, high: int, rng: torch.Generator) -> Tensor:
    """[n, k] content-token ids drawn uniformly (with replacement) from content offsets [low, high)."""
    return torch.randint(low, high, (n, k), generator=rng) + CONTENT_BASE


def random_order(n: int, k: int, rng: torch.Generator) -> Tensor:
    """[n, k] int64: an independent random permutation of 0 … k-1 in every row."""
    return torch.rand(n, k, generator=rng).argsort(dim=1)


def interleave(*columns: Tensor) -> Tensor:
    """Tensors [n, k] (or [n, k, span]) → [n, k · total span]: row-wise a1 b1 a2 b2 … ."""
    parts = [c if c.dim() == 3 else c[:, :, None] for c in columns]
    return torch.cat(parts, dim=2).flatten(1)


def require(ok: bool, field: str, value: object, expected: str) -> None:
    """Raise `SpecError(field, value, expected)` unless `ok`."""
    if not ok:
        raise SpecError(field, value, expected)


def require_positive(task: str, **values: int) -> None:
    """Raise `SpecError` naming the first parameter that is not a positive integer."""
    for name, value in values.items():
        require(isinstance(value, int) and not isinstance(value, bool) and value > 0,
                f"{task}.{name}", value, "a positive integer")


def require_content(task: str, used: int, what: str) -> None:
    """Raise `SpecError` when a setting draws from more than the `CONTENT_SIZE` content tokens;
    `what` names the parameters that add up to `used`, i.e. what to shrink."""
    require(used <= CONTENT_SIZE, f"{task}: {what}", used, f"at most {CONTENT_SIZE} content tokens")
