"""Noisy in-context recall (MAD, Poli et al. 2024): associative recall among distractor tokens.

Tests: recall when the context is diluted by irrelevant tokens, i.e. whether the mixer can
ignore input-dependently what does not matter (a filter fixed in time cannot).
Layout: `n_pairs` key–value pairs (distinct keys) and `n_noise` noise tokens from their own pool,
in random order (a pair stays adjacent); then `SEP` and every key in a new order, each followed
by its value (teacher-forced). Scored: each query position, target = its value.
Metric: accuracy over queries. Chance: 1 / value_pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import require, require_at_most, require_content, require_positive
from star_search.proxies.tasks.draw import key_value_pairs, random_order, uniform
from star_search.proxies.tasks.layout import queried


@dataclass(frozen=True)
class NoisyRecall(Task):
    n_pairs: int = 6
    n_noise: int = 12
    key_pool: int = 32
    value_pool: int = 32
    noise_pool: int = 32
    family: str = "noisy_recall"

    def __post_init__(self) -> None:
        require_positive(self.name, n_pairs=self.n_pairs, key_pool=self.key_pool,
                         value_pool=self.value_pool, noise_pool=self.noise_pool)
        require(self.n_noise >= 0, f"{self.name}.n_noise", self.n_noise, "a count ≥ 0")
        require_at_most(self.name, "n_pairs", self.n_pairs, "key_pool", self.key_pool, "keys are distinct")
        require_content(self.name, self.key_pool + self.value_pool + self.noise_pool,
                        "key_pool + value_pool + noise_pool")

    @property
    def name(self) -> str:
        return f"noisy_recall/pairs{self.n_pairs}-noise{self.n_noise}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.value_pool

    @property
    def context_len(self) -> int:
        return 2 * self.n_pairs + self.n_noise

    @property
    def seq_len(self) -> int:
        return self.context_len + 1 + 2 * self.n_pairs

    @property
    def scored_per_sequence(self) -> int:
        return self.n_pairs

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        start_noise = self.key_pool + self.value_pool
        keys, values = key_value_pairs(n, self.n_pairs, self.key_pool, self.value_pool, rng)
        noise = uniform(n, self.n_noise, start_noise, start_noise + self.noise_pool, rng)
        # Shuffle units (a pair is 2 tokens, a noise token 1); a unit starts where the previous
        # ones end, and masking keeps units of one kind in their drawn order.
        units = torch.cat((torch.ones(n, self.n_pairs, dtype=torch.bool),
                           torch.zeros(n, self.n_noise, dtype=torch.bool)), dim=1)
        is_pair = units.gather(1, random_order(n, units.shape[1], rng))
        lengths = 1 + is_pair.long()
        starts = lengths.cumsum(dim=1) - lengths
        pair_starts = starts[is_pair].view(n, self.n_pairs)
        context = torch.empty(n, self.context_len, dtype=torch.long)
        context.scatter_(1, pair_starts, keys).scatter_(1, pair_starts + 1, values)
        context.scatter_(1, starts[~is_pair].view(n, self.n_noise), noise)
        order = random_order(n, self.n_pairs, rng)
        return queried(context, keys.gather(1, order), values.gather(1, order))
