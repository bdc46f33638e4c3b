"""Memorization (MAD, Poli et al. 2024): a fixed key → value table learned into the weights.

Tests: storing facts in parameters (feed-forward and expert capacity, not in-context ability).
The table maps each of the `key_pool ** key_len` keys (spans of `key_len` tokens) to a value;
it is drawn once from `table_seed` and is the same for every sample and every call, so nothing in
a sequence reveals an answer.
Layout (as in MAD): `K1 INSERT K2 INSERT …` with `per_sequence` distinct keys; values never
appear in the input. Scored: each `INSERT`, target = the table's value of the key before it.
Metric: accuracy. Chance: 1 / value_pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import (
    require_at_most,
    require_content,
    require_key_spans,
    require_positive,
)
from star_search.proxies.tasks.draw import key_spans, uniform
from star_search.proxies.vocab import CONTENT_BASE, IGNORE, INSERT


@dataclass(frozen=True)
class Memorization(Task):
    key_pool: int = 16
    key_len: int = 2
    per_sequence: int = 8
    value_pool: int = 16
    table_seed: int = 1234
    family: str = "memorization"
    table: torch.Tensor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require_positive(self.name, key_pool=self.key_pool, key_len=self.key_len,
                         per_sequence=self.per_sequence, value_pool=self.value_pool)
        require_key_spans(self.name, self.key_pool, self.key_len)
        require_at_most(self.name, "per_sequence", self.per_sequence, "key_pool ** key_len", self.n_keys,
                        "keys in a sequence are distinct")
        require_content(self.name, self.key_pool + self.value_pool, "key_pool + value_pool")
        rng = torch.Generator().manual_seed(self.table_seed)
        table = uniform(1, self.n_keys, self.key_pool, self.key_pool + self.value_pool, rng)[0]
        object.__setattr__(self, "table", table)

    @property
    def n_keys(self) -> int:
        return self.key_pool ** self.key_len

    @property
    def name(self) -> str:
        return f"memorization/keys{self.n_keys}-len{self.key_len}-values{self.value_pool}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.value_pool

    @property
    def seq_len(self) -> int:
        return self.per_sequence * (self.key_len + 1)

    @property
    def scored_per_sequence(self) -> int:
        return self.per_sequence

    def value_of(self, key: list[int]) -> int:
        """The table's value (a token id) for a key given as token ids."""
        number = 0
        for token in key:
            number = number * self.key_pool + token - CONTENT_BASE
        return int(self.table[number])

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        numbers, keys = key_spans(n, self.per_sequence, self.key_pool, self.key_len, rng)
        inserts = torch.full((n, self.per_sequence, 1), INSERT, dtype=torch.long)
        inputs = torch.cat((keys, inserts), dim=2).flatten(1)
        targets = torch.full_like(inputs, IGNORE)
        targets[:, self.key_len::self.key_len + 1] = self.table[numbers]
        return TaskBatch(inputs, targets)
