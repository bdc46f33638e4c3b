"""Induction heads (Olsson et al. 2022; the H3 paper's synthetic, Fu et al. 2023): `… T x … T → x`.

Tests: the two-step circuit that finds the previous occurrence of the current token and copies
what followed it; attention forms it in two layers, a fixed-state mixer must carry `x` across
the whole gap, a short convolution only within its window.
Layout: `length` tokens of random content from `pool`, except a `TRIGGER` marker at a random
position (at least `min_gap` tokens before the end) followed by the token `x`, and a second
`TRIGGER` as the last token. Scored: the last token, target = `x`. Metric: accuracy.
Chance: 1 / pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import require, require_content, require_positive
from star_search.proxies.tasks.draw import uniform
from star_search.proxies.vocab import IGNORE, TRIGGER


@dataclass(frozen=True)
class InductionHead(Task):
    length: int = 32
    pool: int = 32
    min_gap: int = 4
    family: str = "induction"

    def __post_init__(self) -> None:
        require_positive(self.name, length=self.length, pool=self.pool, min_gap=self.min_gap)
        require(self.length >= self.min_gap + 3, f"{self.name}.length", self.length,
                f"at least min_gap + 3 = {self.min_gap + 3} (trigger, answer, gap, final trigger)")
        require_content(self.name, self.pool, "pool")

    @property
    def name(self) -> str:
        return f"induction/len{self.length}-pool{self.pool}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.pool

    @property
    def seq_len(self) -> int:
        return self.length

    @property
    def scored_per_sequence(self) -> int:
        return 1

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        inputs = uniform(n, self.length, 0, self.pool, rng)
        # First trigger at 0 … length - min_gap - 3, so ≥ min_gap tokens separate answer and query.
        first = torch.randint(0, self.length - self.min_gap - 2, (n, 1), generator=rng)
        inputs.scatter_(1, first, TRIGGER)
        inputs[:, -1] = TRIGGER
        answers = inputs.gather(1, first + 1)
        targets = torch.full_like(inputs, IGNORE)
        targets[:, -1:] = answers
        return TaskBatch(inputs, targets)
