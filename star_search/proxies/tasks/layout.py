"""Sequence layouts that several task families share.

`read_back`: a context, then a read-out whose positions are all scored (copying, sorting,
selective copying, compression). `prompted`: the teacher-forced read-out of an answer after a
marker. `queried`: a context, `SEP`, then queries each followed by its answer, every answer
token scored (MQAR, noisy recall, multi-hop, fuzzy recall). `WriteBack`: the family shape of
copying, sorting and compression, where a random sequence is written back in some form.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import require_content, require_positive
from star_search.proxies.tasks.draw import interleave, uniform
from star_search.proxies.vocab import IGNORE, SEP


def read_back(context: Tensor, readout: Tensor, answer: Tensor) -> TaskBatch:
    """Inputs `context readout` ([n, c] and [n, k] token ids); targets: nothing scored over the
    context, `answer` ([n, k]) over the read-out (position t predicts answer[t - c])."""
    inputs = torch.cat((context, readout), dim=1)
    targets = torch.full_like(inputs, IGNORE)
    targets[:, context.shape[1]:] = answer
    return TaskBatch(inputs, targets)


def prompted(marker: int, answer: Tensor) -> Tensor:
    """The teacher-forced read-out of `answer` ([n, k]): `marker a1 … a(k-1)`, so every position
    shows the answer token before the one it must predict."""
    return torch.cat((torch.full((answer.shape[0], 1), marker), answer[:, :-1]), dim=1)


def queried(context: Tensor, queries: Tensor, answers: Tensor) -> TaskBatch:
    """Inputs `context SEP q1 a1 q2 a2 …`: queries [n, q] (or key spans [n, q, key_len]), each
    followed by its answer [n, q] (or value spans [n, q, value_len]), teacher-forced. Scored:
    every answer token, predicted at the position before it (the query's last token, then each
    answer token but the last); context, `SEP` and queries are not scored."""
    n = context.shape[0]
    asked = interleave(queries, answers)
    is_answer = interleave(torch.zeros_like(queries, dtype=torch.bool),
                           torch.ones_like(answers, dtype=torch.bool))
    inputs = torch.cat((context, torch.full((n, 1), SEP), asked), dim=1)
    targets = torch.full_like(inputs, IGNORE)
    # Position t predicts token t + 1; the asked tokens sit one after SEP.
    targets[:, context.shape[1]:-1] = torch.where(is_answer, asked, IGNORE)
    return TaskBatch(inputs, targets)


@dataclass(frozen=True)
class WriteBack(Task):
    """A family that draws `length` tokens uniformly from `pool` content tokens and has them
    written back after the sequence in `length` scored positions. Subclasses set `family` and
    `write_back`. Chance: 1 / pool."""

    length: int = 16
    pool: int = 32

    def __post_init__(self) -> None:
        require_positive(self.name, length=self.length, pool=self.pool)
        require_content(self.name, self.pool, "pool")

    @property
    def name(self) -> str:
        return f"{self.family}/len{self.length}-pool{self.pool}"

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
        return self.write_back(uniform(n, self.length, 0, self.pool, rng))

    @abstractmethod
    def write_back(self, tokens: Tensor) -> TaskBatch:
        """The sequence for drawn `tokens` [n, length]: `tokens` and the read-out, 2·length long."""
