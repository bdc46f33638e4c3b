"""Sorting: write the tokens of a random sequence back in ascending order.

Tests: comparing every input token with every other (which token comes next depends on the whole
multiset and on what has been written already), a global, content-dependent operation that
attention does by matching and that a recurrent state must hold the whole multiset for.
Layout: `x1 … xL SEP s1 … s(L-1)` with tokens drawn with replacement from `pool` and `s` the
sorted `x` (teacher-forced). Scored: `SEP` (target s1) and each written token (target: the next
one). Metric: per-token accuracy. Chance: 1 / pool (uniform guessing; knowing the order helps,
which is part of what is measured).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from star_search.proxies.task import TaskBatch
from star_search.proxies.tasks.layout import WriteBack, prompted, read_back
from star_search.proxies.vocab import SEP


@dataclass(frozen=True)
class Sorting(WriteBack):
    length: int = 8
    family: str = "sorting"

    def write_back(self, tokens: Tensor) -> TaskBatch:
        ordered = tokens.sort(dim=1).values
        return read_back(tokens, prompted(SEP, ordered), ordered)
