"""In-context recall (MAD, Poli et al. 2024): a stream of key–value pairs in which keys come back.

Tests: binding a value to a key the first time it is seen and recalling it whenever the key
returns, anywhere later in the stream (no separator marks where recall starts, unlike MQAR).
Layout: `k v k v …`, `n_pairs` pairs over `n_keys` distinct keys with one value each per
sequence; the first `n_keys` pairs introduce every key once (in random order), the remaining
`n_pairs - n_keys` pairs repeat keys drawn uniformly, each followed by its value (teacher-forced).
Scored: every repeated key, target = its value. Metric: accuracy. Chance: 1 / value_pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import require, require_at_most, require_content, require_positive
from star_search.proxies.tasks.draw import interleave, key_value_pairs
from star_search.proxies.vocab import IGNORE


@dataclass(frozen=True)
class InContextRecall(Task):
    n_keys: int = 8
    n_pairs: int = 16
    key_pool: int = 32
    value_pool: int = 32
    family: str = "in_context_recall"

    def __post_init__(self) -> None:
        require_positive(self.name, n_keys=self.n_keys, n_pairs=self.n_pairs, key_pool=self.key_pool,
                         value_pool=self.value_pool)
        require_at_most(self.name, "n_keys", self.n_keys, "key_pool", self.key_pool, "keys are distinct")
        require(self.n_pairs > self.n_keys, f"{self.name}.n_pairs", self.n_pairs,
                f"more than n_keys={self.n_keys} (pairs after the introductions are the ones scored)")
        require_content(self.name, self.key_pool + self.value_pool, "key_pool + value_pool")

    @property
    def name(self) -> str:
        return (f"in_context_recall/keys{self.n_keys}-pairs{self.n_pairs}"
                f"-pool{self.key_pool}x{self.value_pool}")

    @property
    def chance_level(self) -> float:
        return 1.0 / self.value_pool

    @property
    def seq_len(self) -> int:
        return 2 * self.n_pairs

    @property
    def scored_per_sequence(self) -> int:
        return self.n_pairs - self.n_keys

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        keys, values = key_value_pairs(n, self.n_keys, self.key_pool, self.value_pool, rng)
        repeats = torch.randint(0, self.n_keys, (n, self.scored_per_sequence), generator=rng)
        slots = torch.cat((torch.arange(self.n_keys).expand(n, -1), repeats), dim=1)
        inputs = interleave(keys.gather(1, slots), values.gather(1, slots))
        targets = torch.full_like(inputs, IGNORE)
        targets[:, 2 * self.n_keys::2] = values.gather(1, repeats)
        return TaskBatch(inputs, targets)
