"""The `Task` contract: a seeded generator of token sequences with scored positions.

A task is one family (what is tested) at one difficulty setting (its dataclass fields). New
families are new files in `tasks/`; new settings are new instances, e.g. in `catalog.py`. What
several families share lives beside them: `tasks/checks.py` (validating a setting),
`tasks/draw.py` (random content) and `tasks/layout.py` (assembling sequences).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from star_search.proxies.vocab import IGNORE


@dataclass(frozen=True)
class TaskBatch:
    """inputs: [n, seq_len] int64 token ids. targets: [n, seq_len] int64, the token the model must
    predict after reading inputs[:, :t+1], or IGNORE (-100) where nothing is scored."""

    inputs: Tensor
    targets: Tensor

    @property
    def scored(self) -> int:
        """Number of scored positions in the batch."""
        return int((self.targets != IGNORE).sum())


class Task(ABC):
    """A task family at one difficulty setting.

    `family` groups settings of the same task; `name` is unique per setting and encodes its
    parameters. `metric` names what is measured at every scored position and averaged over them:
    "accuracy" (top-1 prediction equals the target) unless a family says otherwise.
    `chance_level` is the metric's value for uniform guessing among the answers a scored position
    can have, `perfect_level` its value for a perfect model. Subclasses are frozen dataclasses
    that validate their parameters in `__post_init__` (raising `SpecError`), so that a bad sweep
    fails before any training.
    """

    family: str
    metric: ClassVar[str] = "accuracy"

    @property
    @abstractmethod
    def name(self) -> str: ...

    @property
    @abstractmethod
    def chance_level(self) -> float: ...

    @property
    @abstractmethod
    def seq_len(self) -> int:
        """Length in tokens of every generated sequence (the trainer adds one family token)."""

    @property
    @abstractmethod
    def scored_per_sequence(self) -> int:
        """Number of scored positions in every generated sequence."""

    @property
    def perfect_level(self) -> float:
        """The metric's value for a model that is always right (accuracy 1)."""
        return 1.0

    @abstractmethod
    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        """`n` fresh sequences drawn with `rng` (the only source of randomness)."""

    def held_out(self, n: int, rng: torch.Generator) -> TaskBatch:
        """`n` sequences to evaluate on. Synthetic tasks draw them like training data (the trainer
        passes a generator of another stream); tasks over fixed data override this to use data
        that training never sees."""
        return self.generate(n, rng)

    def position_values(self, logits: Tensor, targets: Tensor) -> Tensor:
        """The metric at every scored position, flat: logits [n, time, vocab], targets [n, time]
        → [scored]. Accuracy: 1.0 where the top-1 prediction is the target, else 0.0."""
        scored = targets != IGNORE
        return (logits.argmax(dim=-1)[scored] == targets[scored]).float()

    def target_probabilities(self, logits: Tensor, targets: Tensor) -> Tensor:
        """The probability the model gives the target at every scored position, flat: [scored].
        A continuous companion of accuracy (its chance level is the same, 1/answers, and so is its
        perfect level), used when `ProxyConfig.scoring` is "probability"."""
        scored = targets != IGNORE
        return logits[scored].float().softmax(dim=-1).gather(1, targets[scored].unsqueeze(1)).squeeze(1)
