"""Random content for task generators: content tokens drawn from explicit generators.

Every function takes the `torch.Generator` it draws with (the only source of randomness) and
returns content-token ids (`vocab.CONTENT_BASE` + offset) unless it says otherwise.
"""

from __future__ import annotations

import torch
from torch import Tensor

from star_search.proxies.vocab import CONTENT_BASE


def distinct(n: int, k: int, pool: int, rng: torch.Generator, offset: int = 0) -> Tensor:
    """[n, k] content-token ids, distinct within a row, from content offsets [offset, offset + pool)."""
    if k > pool:
        raise ValueError(f"cannot draw {k} distinct tokens from a pool of {pool}")
    return random_order(n, pool, rng)[:, :k] + CONTENT_BASE + offset


def uniform(n: int, k: int, low: int, high: int, rng: torch.Generator) -> Tensor:
    """[n, k] content-token ids drawn uniformly (with replacement) from content offsets [low, high)."""
    return torch.randint(low, high, (n, k), generator=rng) + CONTENT_BASE


def random_order(n: int, k: int, rng: torch.Generator) -> Tensor:
    """[n, k] int64: an independent random permutation of 0 … k-1 in every row."""
    return torch.rand(n, k, generator=rng).argsort(dim=1)


def interleave(*columns: Tensor) -> Tensor:
    """Tensors [n, k] (or [n, k, span]) → [n, k · total span]: row-wise a1 b1 a2 b2 … ."""
    parts = [c if c.dim() == 3 else c[:, :, None] for c in columns]
    return torch.cat(parts, dim=2).flatten(1)


def key_value_pairs(n: int, n_keys: int, key_pool: int, value_pool: int, rng: torch.Generator
                    ) -> tuple[Tensor, Tensor]:
    """keys, values [n, n_keys]: keys distinct within a row, from content offsets [0, key_pool);
    values uniform from the next `value_pool` offsets (so keys and values never share a token)."""
    keys = distinct(n, n_keys, key_pool, rng)
    return keys, uniform(n, n_keys, key_pool, key_pool + value_pool, rng)


def key_spans(n: int, count: int, key_pool: int, key_len: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
    """`count` distinct keys per row, each a span of `key_len` content tokens from offsets
    [0, key_pool): numbers [n, count] (the key's index, < key_pool ** key_len) and spans
    [n, count, key_len] (the number written in base key_pool, most significant token first)."""
    numbers = random_order(n, key_pool ** key_len, rng)[:, :count]
    digits = key_pool ** torch.arange(key_len - 1, -1, -1)
    return numbers, numbers[:, :, None] // digits % key_pool + CONTENT_BASE
