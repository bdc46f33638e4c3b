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
from torch import Tensor

from star_search.proxies.task import TaskBatch
from star_search.proxies.tasks.layout import WriteBack, read_back
from star_search.proxies.vocab import BLANK, COMPRESS


@dataclass(frozen=True)
class Compression(WriteBack):
    length: int = 12
    family: str = "compression"

    def write_back(self, tokens: Tensor) -> TaskBatch:
        readout = torch.full_like(tokens, BLANK)
        readout[:, 0] = COMPRESS
        return read_back(tokens, readout, tokens)
