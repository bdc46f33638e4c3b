"""Multi-query associative recall (MQAR, from Zoology, Arora et al. 2023).

Layout: `k1 v1 k2 v2 … kn vn SEP q1 a1 q2 a2 …` where the queries are the keys in a new order and
`a` is the value paired with `q` in the context. Scored: the position of every query, whose
target is its value. Metric: accuracy. Chance: 1 / value_pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch, distinct, uniform
from star_search.proxies.vocab import IGNORE, SEP


@dataclass(frozen=True)
class MultiQueryRecall(Task):
    n_pairs: int = 8
    key_pool: int = 48
    value_pool: int = 48
    family: str = "mqar"

    @property
    def name(self) -> str:
        return f"mqar/pairs{self.n_pairs}-keys{self.key_pool}-values{self.value_pool}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.value_pool

    @property
    def seq_len(self) -> int:
        return 4 * self.n_pairs + 1

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        keys = distinct(n, self.n_pairs, self.key_pool, rng)
        values = uniform(n, self.n_pairs, self.key_pool, self.key_pool + self.value_pool, rng)
        order = torch.rand(n, self.n_pairs, generator=rng).argsort(dim=1)
        queries, answers = keys.gather(1, order), values.gather(1, order)
        context = torch.stack((keys, values), dim=2).flatten(1)
        asked = torch.stack((queries, answers), dim=2).flatten(1)
        inputs = torch.cat((context, torch.full((n, 1), SEP), asked), dim=1)
        targets = torch.full_like(inputs, IGNORE)
        first_query = 2 * self.n_pairs + 1
        targets[:, first_query::2] = answers
        return TaskBatch(inputs, targets)
