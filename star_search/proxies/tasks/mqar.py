"""Multi-query associative recall (MQAR; Zoology, Arora et al. 2023).

Tests: binding keys to values in context and retrieving them later, many times per sequence, the
capability that separates attention from fixed-state mixers (Zoology) and that short
convolutions lack beyond their window.
Layout: `k1 v1 k2 v2 … kn vn SEP q1 a1 q2 a2 …`; keys are distinct, the queries are all the keys
in a new order and `a` is the value paired with `q` in the context (teacher-forced). Scored: each
query position, target = its value. Metric: accuracy over queries. Chance: 1 / value_pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import require_at_most, require_content, require_positive
from star_search.proxies.tasks.draw import interleave, key_value_pairs, random_order
from star_search.proxies.tasks.layout import queried


@dataclass(frozen=True)
class MultiQueryRecall(Task):
    n_pairs: int = 8
    key_pool: int = 48
    value_pool: int = 48
    family: str = "mqar"

    def __post_init__(self) -> None:
        require_positive(self.name, n_pairs=self.n_pairs, key_pool=self.key_pool,
                         value_pool=self.value_pool)
        require_content(self.name, self.key_pool + self.value_pool, "key_pool + value_pool")
        require_at_most(self.name, "n_pairs", self.n_pairs, "key_pool", self.key_pool, "keys are distinct")

    @property
    def name(self) -> str:
        return f"mqar/pairs{self.n_pairs}-keys{self.key_pool}-values{self.value_pool}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.value_pool

    @property
    def seq_len(self) -> int:
        return 4 * self.n_pairs + 1

    @property
    def scored_per_sequence(self) -> int:
        return self.n_pairs

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        keys, values = key_value_pairs(n, self.n_pairs, self.key_pool, self.value_pool, rng)
        order = random_order(n, self.n_pairs, rng)
        return queried(interleave(keys, values), keys.gather(1, order), values.gather(1, order))
