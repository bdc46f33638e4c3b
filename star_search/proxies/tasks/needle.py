"""Needle retrieval (after "needle in a haystack" evaluations): one key–value pair hidden at a
random depth in a long run of distractors, asked for at the end.

Tests: exact retrieval over growing distances; the sweep is over haystack length. Attention
looks it up at any distance; a recurrent state must keep the pair while it reads every
distractor; a short convolution cannot reach it.
Layout: `length` tokens: distractors from `noise_pool`, except a key (from `key_pool`) and its
value (from `value_pool`) adjacent at a random position; then `SEP key`. Scored: the final key,
target = the value. Metric: accuracy. Chance: 1 / value_pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import require, require_content, require_positive
from star_search.proxies.tasks.draw import uniform
from star_search.proxies.vocab import IGNORE, SEP


@dataclass(frozen=True)
class NeedleRetrieval(Task):
    length: int = 64
    key_pool: int = 16
    value_pool: int = 32
    noise_pool: int = 48
    family: str = "needle"

    def __post_init__(self) -> None:
        require_positive(self.name, length=self.length, key_pool=self.key_pool,
                         value_pool=self.value_pool, noise_pool=self.noise_pool)
        require(self.length >= 2, f"{self.name}.length", self.length, "at least 2 (key and value)")
        require_content(self.name, self.key_pool + self.value_pool + self.noise_pool,
                        "key_pool + value_pool + noise_pool")

    @property
    def name(self) -> str:
        return f"needle/len{self.length}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.value_pool

    @property
    def seq_len(self) -> int:
        return self.length + 2

    @property
    def scored_per_sequence(self) -> int:
        return 1

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        start_values = self.key_pool
        start_noise = start_values + self.value_pool
        haystack = uniform(n, self.length, start_noise, start_noise + self.noise_pool, rng)
        keys = uniform(n, 1, 0, self.key_pool, rng)
        values = uniform(n, 1, start_values, start_noise, rng)
        depth = torch.randint(0, self.length - 1, (n, 1), generator=rng)
        haystack.scatter_(1, depth, keys).scatter_(1, depth + 1, values)
        inputs = torch.cat((haystack, torch.full((n, 1), SEP), keys), dim=1)
        targets = torch.full_like(inputs, IGNORE)
        targets[:, -1:] = values
        return TaskBatch(inputs, targets)
