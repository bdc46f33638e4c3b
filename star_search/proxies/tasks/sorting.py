"""Sorting: write the tokens of a random sequence back in ascending order.

Tests: comparing every input token with every other (which token comes next depends on the whole
multiset and on what has been written already), a global, content-dependent operation that
attention does by matching and that a recurrent state must hold the whole multiset for.
Layout: `x1 … xL SEP s1 … s(L-1)` with tokens drawn with replacement from `pool` and `s` the
sorted `x` (teacher-forced). Scored: `SEP` (target s1) and each written token (target: the next
one). Metric: per-token accuracy. Chance: 1 / pool (uniform guessing; knowing the order helps,
which is part of what is measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch, require_content, require_positive, uniform
from star_search.proxies.vocab import IGNORE, SEP


@dataclass(frozen=True)
class Sorting(Task):
    length: int = 8
    pool: int = 32
    family: str = "sorting"

    def __post_init__(self) -> None:
        require_positive(self.name, length=self.length, pool=self.pool)
        require_content(self.name, self.pool, "pool")

    @property
    def name(self) -> str:
        return f"sorting/len{self.length}-pool{self.pool}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.pool

    @property
    def seq_len(self) -> int:
        return 2 * self.length

    @property
    def scored_per_sequence(self) -> int:
        return self.length

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        tokens = uniform(n, self.length, 0, self.pool, rng)
        ordered = tokens.sort(dim=1).values
        inputs = torch.cat((tokens, torch.full((n, 1), SEP), ordered[:, :-1]), dim=1)
        targets = torch.full_like(inputs, IGNORE)
        targets[:, self.length:] = ordered
        return TaskBatch(inputs, targets)
