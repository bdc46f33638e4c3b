"""Compression (after MAD, Poli et al. 2024): carry a whole random sequence past its end.

Tests: how much of the input a mixer keeps in its state. MAD decodes the full sequence from the
compression token's single output with an MLP; a language-model head reads one token per
position, so here the read-out is spread over the positions after `COMPRESS`, whose inputs are
blank: a recurrent or state-space mixer must carry all `length` tokens in its state past the
end of the sequence, attention can look back at a fixed offset, and a short convolution sees only
its window.
Layout: `x1 … xL COMPRESS BLANK … BLANK` (L - 1 blanks). Scored: `COMPRESS` (target x1) and each
blank (target: x2 … xL in order). Metric: per-token accuracy. Chance: 1 / pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch, require_content, require_positive, uniform
from star_search.proxies.vocab import BLANK, COMPRESS, IGNORE


@dataclass(frozen=True)
class Compression(Task):
    length: int = 12
    pool: int = 32
    family: str = "compression"

    def __post_init__(self) -> None:
        require_positive(self.name, length=self.length, pool=self.pool)
        require_content(self.name, self.pool, "pool")

    @property
    def name(self) -> str:
        return f"compression/len{self.length}-pool{self.pool}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.pool

    @property
    def seq_len(self) -> int:
        return 2 * self.length

    @property
    def scored_per_sequence(self) -> int:
        return self.length

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        sequence = uniform(n, self.length, 0, self.pool, rng)
        readout = torch.full((n, self.length), BLANK, dtype=torch.long)
        readout[:, 0] = COMPRESS
        inputs = torch.cat((sequence, readout), dim=1)
        targets = torch.full_like(inputs, IGNORE)
        targets[:, self.length:] = sequence
        return TaskBatch(inputs, targets)
