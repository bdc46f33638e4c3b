"""Noisy in-context recall (MAD, Poli et al. 2024): associative recall with distractor tokens.

Key–value pairs are interleaved with `n_noise` noise tokens (drawn from a separate pool, placed
at random between pairs); then `SEP` and every key is queried. Scored: each query position,
target = its value. Metric: accuracy. Chance: 1 / value_pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch, distinct, uniform
from star_search.proxies.vocab import IGNORE, SEP


@dataclass(frozen=True)
class NoisyRecall(Task):
    n_pairs: int = 6
    n_noise: int = 12
    key_pool: int = 32
    value_pool: int = 32
    noise_pool: int = 32
    family: str = "noisy_recall"

    @property
    def name(self) -> str:
        return f"noisy_recall/pairs{self.n_pairs}-noise{self.n_noise}"

    @property
    def chance_level(self) -> float:
        return 1.0 / self.value_pool

    @property
    def seq_len(self) -> int:
        return 2 * self.n_pairs + self.n_noise + 1 + 2 * self.n_pairs

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        start_values = self.key_pool
        start_noise = start_values + self.value_pool
        keys = distinct(n, self.n_pairs, self.key_pool, rng)
        values = uniform(n, self.n_pairs, start_values, start_noise, rng)
        noise = uniform(n, self.n_noise, start_noise, start_noise + self.noise_pool, rng)
        # Units are pairs (2 tokens) and noise tokens (1 token); shuffle units, keeping pair order.
        is_pair = torch.cat((torch.ones(n, self.n_pairs), torch.zeros(n, self.n_noise)), dim=1)
        shuffle = torch.rand(n, self.n_pairs + self.n_noise, generator=rng).argsort(dim=1)
        is_pair = is_pair.gather(1, shuffle).bool()
        rows = []
        for row in range(n):
            pair_index = noise_index = 0
            tokens: list[int] = []
            for unit in is_pair[row].tolist():
                if unit:
                    tokens += [int(keys[row, pair_index]), int(values[row, pair_index])]
                    pair_index += 1
                else:
                    tokens.append(int(noise[row, noise_index]))
                    noise_index += 1
            rows.append(tokens)
        context = torch.tensor(rows, dtype=torch.long)
        order = torch.rand(n, self.n_pairs, generator=rng).argsort(dim=1)
        queries, answers = keys.gather(1, order), values.gather(1, order)
        asked = torch.stack((queries, answers), dim=2).flatten(1)
        inputs = torch.cat((context, torch.full((n, 1), SEP), asked), dim=1)
        targets = torch.full_like(inputs, IGNORE)
        targets[:, context.shape[1] + 1::2] = answers
        return TaskBatch(inputs, targets)
