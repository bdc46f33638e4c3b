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

from star_search.proxies.task import (
    Task,
    TaskBatch,
    interleave,
    random_order,
    require,
    require_content,
    require_positive,
    uniform,
)
from star_search.proxies.vocab import CONTENT_BASE, IGNORE, SEP

MAX_KEY_SPANS = 4096  # distinct key spans drawn by a per-row permutation, so keep it small


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
        spans = self.key_pool ** self.key_len
        require(spans <= MAX_KEY_SPANS, f"{self.name}: key_pool ** key_len", spans,
                f"at most {MAX_KEY_SPANS}")
        require(self.n_pairs <= spans, f"{self.name}.n_pairs", self.n_pairs,
                f"at most key_pool ** key_len = {spans} (key spans are distinct)")
        require(self.n_queries <= self.n_pairs, f"{self.name}.n_queries", self.n_queries,
                f"at most n_pairs={self.n_pairs}")
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
        # Distinct key spans: distinct numbers < key_pool ** key_len, written in base key_pool.
        numbers = random_order(n, self.key_pool ** self.key_len, rng)[:, :self.n_pairs]
        digits = self.key_pool ** torch.arange(self.key_len - 1, -1, -1)
        keys = numbers[:, :, None] // digits % self.key_pool + CONTENT_BASE
        values = uniform(n, self.n_pairs * self.value_len, self.key_pool,
                         self.key_pool + self.value_pool, rng).view(n, self.n_pairs, self.value_len)
        asked = random_order(n, self.n_pairs, rng)[:, :self.n_queries, None]
        q_keys = keys.gather(1, asked.expand(-1, -1, self.key_len))
        q_values = values.gather(1, asked.expand(-1, -1, self.value_len))
        inputs = torch.cat((interleave(keys, values), torch.full((n, 1), SEP),
                            interleave(q_keys, q_values)), dim=1)
        targets = torch.full_like(inputs, IGNORE)
        first = self.n_pairs * self.span + 1 + self.key_len - 1  # last token of the first asked key
        for query in range(self.n_queries):
            start = first + query * self.span
            targets[:, start:start + self.value_len] = q_values[:, query]
        return TaskBatch(inputs, targets)
