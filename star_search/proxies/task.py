"""The `Task` contract: a seeded generator of token sequences with scored positions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from star_search.proxies.vocab import CONTENT_BASE, IGNORE


@dataclass(frozen=True)
class TaskBatch:
    """inputs: [n, time] int64 token ids. targets: [n, time] int64, the token the model must
    predict after reading inputs[:, :t+1], or IGNORE (-100) where nothing is scored."""

    inputs: Tensor
    targets: Tensor

    @property
    def scored(self) -> int:
        return int((self.targets != IGNORE).sum())


class Task(ABC):
    """A synthetic task family at one difficulty setting.

    `family` groups settings of the same task; `name` is unique per setting. `chance_level` is
    the accuracy of guessing uniformly among the answers the task can have.
    """

    family: str

    @property
    @abstractmethod
    def name(self) -> str: ...

    @property
    @abstractmethod
    def chance_level(self) -> float: ...

    @property
    @abstractmethod
    def seq_len(self) -> int:
        """Length in tokens of every generated sequence (the suite adds one task token in front)."""

    @abstractmethod
    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        """`n` fresh sequences drawn with `rng` (the only source of randomness)."""


def distinct(n: int, k: int, pool: int, rng: torch.Generator) -> Tensor:
    """[n, k] content-token ids, distinct within a row, drawn from the first `pool` content tokens."""
    if k > pool:
        raise ValueError(f"cannot draw {k} distinct tokens from a pool of {pool}")
    order = torch.rand(n, pool, generator=rng).argsort(dim=1)[:, :k]
    return order + CONTENT_BASE


def uniform(n: int, k: int, low: int, high: int, rng: torch.Generator) -> Tensor:
    """[n, k] content-token ids drawn uniformly from content offsets [low, high)."""
    return torch.randint(low, high, (n, k), generator=rng) + CONTENT_BASE
