"""Memorization (MAD): a fixed key → value table that can only be learned into the weights.

The table (keys and their values) is drawn once from `table_seed`, the same for every sample.
Layout: `k1 v1 k2 v2 …` with distinct keys from the table; the value of a key never appears in
the sequence before it is asked. Scored: each key position, target = its value.
Metric: accuracy. Chance: 1 / value_pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from star_search.proxies.task import Task, TaskBatch, distinct, uniform
from star_search.proxies.vocab import CONTENT_BASE, IGNORE


@dataclass(frozen=True)
class Memorization(Task):
    n_keys: int = 32
    per_sequence: int = 8
    value_pool: int = 32
    table_seed: int = 1234
    family: str = "memorization"
    table: torch.Tensor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rng = torch.Generator().manual_seed(self.table_seed)
        object.__setattr__(self, "table", uniform(1, self.n_keys, self.n_keys,
                                                  self.n_keys + self.value_pool, rng)[0])

    @property
    def name(self) -> str:
        return f"memorization/keys{self.n_keys}-values{self.value_pool}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.value_pool

    @property
    def seq_len(self) -> int:
        return 2 * self.per_sequence

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        keys = distinct(n, self.per_sequence, self.n_keys, rng)
        values = self.table[keys - CONTENT_BASE]
        inputs = torch.stack((keys, values), dim=2).flatten(1)
        targets = torch.full_like(inputs, IGNORE)
        targets[:, 0::2] = values
        return TaskBatch(inputs, targets)
