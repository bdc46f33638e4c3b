"""Copying (Arjovsky et al. 2016; Jelassi et al. 2024, "Repeat after me"): reproduce a random
sequence after a `COPY` marker.

Tests: holding a whole sequence verbatim. Attention copies by looking back a fixed distance (the
previous copied token is shown, teacher-forced); a fixed-size state must store all `length`
tokens, and a short convolution sees none of them once `length` exceeds its window. Unlike
compression, the read-out shows what was copied so far; unlike selective copying, there are no
blanks to skip.
Layout: `x1 … xL COPY x1 … x(L-1)`. Scored: `COPY` (target x1) and each copied token (target:
the next one). Metric: per-token accuracy. Chance: 1 / pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch, require_content, require_positive, uniform
from star_search.proxies.vocab import COPY, IGNORE


@dataclass(frozen=True)
class Copying(Task):
    length: int = 16
    pool: int = 32
    family: str = "copying"

    def __post_init__(self) -> None:
        require_positive(self.name, length=self.length, pool=self.pool)
        require_content(self.name, self.pool, "pool")

    @property
    def name(self) -> str:
        return f"copying/len{self.length}-pool{self.pool}"

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
        tokens = uniform(n, self.length, 0, self.pool, rng)
        inputs = torch.cat((tokens, torch.full((n, 1), COPY), tokens[:, :-1]), dim=1)
        targets = torch.full_like(inputs, IGNORE)
        targets[:, self.length:] = tokens
        return TaskBatch(inputs, targets)
