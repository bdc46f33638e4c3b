"""Fuzzy in-context recall (MAD, Poli et al. 2024): keys and values are multi-token spans.

Tests: recall when a key is only identified by several adjacent tokens (key tokens are shared
between keys, so no single token names a key) and the answer is a span to reproduce in order.
MAD varies span lengths within a sequence; here they are fixed per setting (`key_len`,
`value_len`), and a sweep varies them.
Layout: `K1 V1 K2 V2 … SEP Kq Vq …` with `n_pairs` distinct key spans, then `n_queries` of them
asked again, each followed by its value span (teacher-forced). Scored: the last token of each
asked key (target: first value token) and every value token but the last (target: the next).
Metric: per-token accuracy. Chance: 1 / value_pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import (
    require_at_most,
    require_content,
    require_key_spans,
    require_positive,
)
from star_search.proxies.tasks.draw import interleave, key_spans, random_order, uniform
from star_search.proxies.tasks.layout import queried


@dataclass(frozen=True)
class FuzzyRecall(Task):
    n_pairs: int = 4
    key_len: int = 2
    value_len: int = 2
    n_queries: int = 2
    key_pool: int = 8
    value_pool: int = 24
    family: str = "fuzzy_recall"

    def __post_init__(self) -> None:
        require_positive(self.name, n_pairs=self.n_pairs, key_len=self.key_len,
                         value_len=self.value_len, n_queries=self.n_queries,
                         key_pool=self.key_pool, value_pool=self.value_pool)
        spans = require_key_spans(self.name, self.key_pool, self.key_len)
        require_at_most(self.name, "n_pairs", self.n_pairs, "key_pool ** key_len", spans,
                        "key spans are distinct")
        require_at_most(self.name, "n_queries", self.n_queries, "n_pairs", self.n_pairs)
        require_content(self.name, self.key_pool + self.value_pool, "key_pool + value_pool")

    @property
    def name(self) -> str:
        return (f"fuzzy_recall/pairs{self.n_pairs}-key{self.key_len}x{self.key_pool}"
                f"-value{self.value_len}-queries{self.n_queries}")

    @property
    def chance_level(self) -> float:
        return 1.0 / self.value_pool

    @property
    def span(self) -> int:
        return self.key_len + self.value_len

    @property
    def seq_len(self) -> int:
        return (self.n_pairs + self.n_queries) * self.span + 1

    @property
    def scored_per_sequence(self) -> int:
        return self.n_queries * self.value_len

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        _, keys = key_spans(n, self.n_pairs, self.key_pool, self.key_len, rng)
        values = uniform(n, self.n_pairs * self.value_len, self.key_pool,
                         self.key_pool + self.value_pool, rng).view(n, self.n_pairs, self.value_len)
        asked = random_order(n, self.n_pairs, rng)[:, :self.n_queries, None]
        return queried(interleave(keys, values), keys.gather(1, asked.expand(-1, -1, self.key_len)),
                       values.gather(1, asked.expand(-1, -1, self.value_len)))
