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

from torch import Tensor

from star_search.proxies.task import TaskBatch
from star_search.proxies.tasks.layout import WriteBack, prompted, read_back
from star_search.proxies.vocab import COPY


@dataclass(frozen=True)
class Copying(WriteBack):
    length: int = 16
    family: str = "copying"

    def write_back(self, tokens: Tensor) -> TaskBatch:
        return read_back(tokens, prompted(COPY, tokens), tokens)
