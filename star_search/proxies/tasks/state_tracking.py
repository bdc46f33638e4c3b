"""State tracking: the running sum modulo `modulus` of a digit stream (parity when it is 2).

Tests: updating a small state with every token, exactly, over the whole sequence: a recurrence
does it in one step per token; attention must count over all earlier positions (parity is the
classic case transformers learn poorly), and a short convolution sees only its window.
Layout: `d1 … dL`, digits 0 … modulus - 1 drawn uniformly (content tokens 0 … modulus - 1).
Scored: every position t, target = (d1 + … + dt) mod modulus as a digit token. Metric: accuracy.
Chance: 1 / modulus.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import require, require_content, require_positive
from star_search.proxies.tasks.draw import uniform
from star_search.proxies.vocab import CONTENT_BASE


@dataclass(frozen=True)
class RunningSum(Task):
    length: int = 32
    modulus: int = 2
    family: str = "state_tracking"

    def __post_init__(self) -> None:
        require_positive(self.name, length=self.length, modulus=self.modulus)
        require(self.modulus >= 2, f"{self.name}.modulus", self.modulus, "at least 2")
        require_content(self.name, self.modulus, "modulus")

    @property
    def name(self) -> str:
        kind = "parity" if self.modulus == 2 else f"mod{self.modulus}"
        return f"state_tracking/{kind}-len{self.length}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.modulus

    @property
    def seq_len(self) -> int:
        return self.length

    @property
    def scored_per_sequence(self) -> int:
        return self.length

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        inputs = uniform(n, self.length, 0, self.modulus, rng)
        targets = (inputs - CONTENT_BASE).cumsum(dim=1) % self.modulus + CONTENT_BASE
        return TaskBatch(inputs, targets)
