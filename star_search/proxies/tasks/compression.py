"""Compression (after MAD): the state at the end of a sequence must keep every token.

MAD decodes the whole sequence from the compression token's output through an MLP; here the
same demand is phrased for a language-model head: after `x1 … xL COMPRESS` come `n_queries`
position tokens `p_i` (content tokens standing for "index i"), and the target at each is `x_i`.
Metric: accuracy. Chance: 1 / pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch, uniform
from star_search.proxies.vocab import COMPRESS, IGNORE, content


@dataclass(frozen=True)
class Compression(Task):
    length: int = 12
    n_queries: int = 4
    pool: int = 32
    family: str = "compression"

    @property
    def name(self) -> str:
        return f"compression/len{self.length}-queries{self.n_queries}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.pool

    @property
    def seq_len(self) -> int:
        return self.length + 1 + self.n_queries

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        sequence = uniform(n, self.length, 0, self.pool, rng)
        positions = torch.rand(n, self.length, generator=rng).argsort(dim=1)[:, :self.n_queries]
        position_tokens = positions + content(self.pool)  # index tokens follow the token pool
        inputs = torch.cat((sequence, torch.full((n, 1), COMPRESS), position_tokens), dim=1)
        targets = torch.full_like(inputs, IGNORE)
        targets[:, self.length + 1:] = sequence.gather(1, positions)
        return TaskBatch(inputs, targets)
