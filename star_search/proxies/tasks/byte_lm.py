"""Byte-level language modelling of real English text, scored in bits per byte.

Tests: what the synthetic families cannot: modelling natural language (spelling, words, syntax,
phrases repeated within a passage) at the level of bytes, the nearest proxy to pre-training
loss. The sweep is over context length: longer windows reward mixers that use far context.
Text: the Python Language Reference prose of `star_search.proxies.corpus` (PSF licence);
training windows come from its training topics, evaluation windows from held-out topics.
Layout: `length` consecutive bytes (one content token each) from a random offset. Scored: every
position, target = the next byte. Metric: bits per byte, the cross-entropy of the model's
softmax over the whole proxy vocabulary in bits, averaged over scored positions (lower is
better). Chance: log2(96) ≈ 6.58 bits per byte, uniform guessing over the byte alphabet;
perfect: 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from star_search.proxies.corpus import UNIFORM_BITS_PER_BYTE, ByteCorpus, load_reference_corpus
from star_search.proxies.task import Task, TaskBatch
from star_search.proxies.tasks.checks import require, require_positive
from star_search.proxies.vocab import CONTENT_BASE, IGNORE


@dataclass(frozen=True)
class ByteLM(Task):
    length: int = 32
    family: str = "byte_lm"
    metric: ClassVar[str] = "bits_per_byte"

    def __post_init__(self) -> None:
        require_positive(self.name, length=self.length)
        require(self.length <= 1024, f"{self.name}.length", self.length, "at most 1024 bytes")

    @cached_property
    def corpus(self) -> ByteCorpus:
        """The text, loaded on first use (building a catalog never reads it)."""
        return load_reference_corpus()

    @property
    def name(self) -> str:
        return f"byte_lm/len{self.length}"

    @property
    def chance_level(self) -> float:
        return UNIFORM_BITS_PER_BYTE

    @property
    def perfect_level(self) -> float:
        return 0.0

    @property
    def seq_len(self) -> int:
        return self.length

    @property
    def scored_per_sequence(self) -> int:
        return self.length

    def generate(self, n: int, rng: torch.Generator) -> TaskBatch:
        return self._windows(self.corpus.train, n, rng)

    def held_out(self, n: int, rng: torch.Generator) -> TaskBatch:
        return self._windows(self.corpus.held_out, n, rng)

    def _windows(self, text: Tensor, n: int, rng: torch.Generator) -> TaskBatch:
        starts = torch.randint(0, text.numel() - self.length, (n, 1), generator=rng)
        window = text[starts + torch.arange(self.length + 1)] + CONTENT_BASE
        return TaskBatch(window[:, :-1].contiguous(), window[:, 1:].contiguous())

    def position_values(self, logits: Tensor, targets: Tensor) -> Tensor:
        """Bits at every scored position: cross-entropy in nats / ln 2."""
        scored = targets != IGNORE
        nats = F.cross_entropy(logits[scored].float(), targets[scored], reduction="none")
        return nats / math.log(2)
