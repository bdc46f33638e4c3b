"""Selective copying (MAD, Poli et al. 2024; Gu & Dao 2023): copy the content tokens scattered
among blanks, in order.

Tests: content-dependent selection (skip the blanks) and in-order reproduction; a fixed
(time-invariant) filter cannot tell which positions to keep.
Layout: `length` positions of `BLANK` with `n_tokens` content tokens at random positions, then
`COPY t1 t2 … t(n-1)` (teacher-forced). Scored: `COPY` (target t1) and each copied token
(target: the next one). Metric: per-token accuracy. Chance: 1 / pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import require_at_most, require_content, require_positive
from star_search.proxies.tasks.draw import random_order, uniform
from star_search.proxies.tasks.layout import prompted, read_back
from star_search.proxies.vocab import BLANK, COPY


@dataclass(frozen=True)
class SelectiveCopy(Task):
    length: int = 24
    n_tokens: int = 6
    pool: int = 32
    family: str = "selective_copy"

    def __post_init__(self) -> None:
        require_positive(self.name, length=self.length, n_tokens=self.n_tokens, pool=self.pool)
        require_at_most(self.name, "n_tokens", self.n_tokens, "length", self.length)
        require_content(self.name, self.pool, "pool")

    @property
    def name(self) -> str:
        return f"selective_copy/len{self.length}-tokens{self.n_tokens}-pool{self.pool}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.pool

    @property
    def seq_len(self) -> int:
        return self.length + self.n_tokens

    @property
    def scored_per_sequence(self) -> int:
        return self.n_tokens

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        tokens = uniform(n, self.n_tokens, 0, self.pool, rng)
        slots = random_order(n, self.length, rng)[:, :self.n_tokens].sort(dim=1).values
        context = torch.full((n, self.length), BLANK, dtype=torch.long).scatter(1, slots, tokens)
        return read_back(context, prompted(COPY, tokens), tokens)
