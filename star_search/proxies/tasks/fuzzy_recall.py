"""Fuzzy in-context recall (MAD): keys and values are multi-token spans.

Layout: `K1 V1 K2 V2 … SEP Kq Vq …` with keys of `key_len` tokens and values of `value_len`
tokens; `n_queries` keys are asked again. Scored: the last token of each queried key (target:
first value token) and every value token but the last (target: the next value token).
Metric: per-token accuracy. Chance: 1 / value_pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch, distinct, uniform
from star_search.proxies.vocab import IGNORE, SEP


@dataclass(frozen=True)
class FuzzyRecall(Task):
    n_pairs: int = 4
    key_len: int = 2
    value_len: int = 2
    n_queries: int = 2
    key_pool: int = 24
    value_pool: int = 24
    family: str = "fuzzy_recall"

    @property
    def name(self) -> str:
        return f"fuzzy_recall/pairs{self.n_pairs}-key{self.key_len}-value{self.value_len}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.value_pool

    @property
    def span(self) -> int:
        return self.key_len + self.value_len

    @property
    def seq_len(self) -> int:
        return self.n_pairs * self.span + 1 + self.n_queries * self.span

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        keys = uniform(n, self.n_pairs * self.key_len, 0, self.key_pool, rng).view(n, self.n_pairs, -1)
        values = uniform(n, self.n_pairs * self.value_len, self.key_pool,
                         self.key_pool + self.value_pool, rng).view(n, self.n_pairs, -1)
        # Keys must be unique spans: make the first token of each key distinct.
        keys[:, :, 0] = distinct(n, self.n_pairs, self.key_pool, rng)
        context = torch.cat((keys, values), dim=2).flatten(1)
        asked = torch.rand(n, self.n_pairs, generator=rng).argsort(dim=1)[:, :self.n_queries]
        index = asked[:, :, None].expand(-1, -1, self.key_len)
        q_keys = keys.gather(1, index)
        q_values = values.gather(1, asked[:, :, None].expand(-1, -1, self.value_len))
        queries = torch.cat((q_keys, q_values), dim=2).flatten(1)
        inputs = torch.cat((context, torch.full((n, 1), SEP), queries), dim=1)
        targets = torch.full_like(inputs, IGNORE)
        start = context.shape[1] + 1
        for q in range(self.n_queries):
            base = start + q * self.span + self.key_len - 1  # last key token
            targets[:, base:base + self.value_len] = q_values[:, q, :]
        return TaskBatch(inputs, targets)
