"""The natural-language text of the byte-level language-modelling task, and its byte alphabet.

Source: `pydoc_data.topics`, the Python standard-library module holding the Python Language
Reference topics that `help("if")`, `help("assignment")` … print: English prose by the Python
documentation authors, shipped with every CPython installation (nothing is downloaded).
Licence: © Python Software Foundation, under the PSF License Agreement, the licence of CPython
and its documentation. The text is the running interpreter's, so it is fixed for a Python
version (3.11 here); `ByteCorpus.sha256` identifies it.

Gathering (deterministic): topics in sorted key order; of each, the prose lines, i.e. not
blank, not indented (code, grammar productions and tables are) and not heading underlines,
joined by newlines, each distinct line kept once (topics repeat passages: a chapter's topic
holds the text of its sections'); characters outside printable ASCII and newline are dropped
(about 0.1% of the text: dashes, accented names). Split: every `HELD_OUT_EVERY`-th topic in
that order is held out for evaluation, so scores are on text never trained on.
Alphabet: 96 symbols, newline → 0 and printable ASCII 32 … 126 → 1 … 95. Every symbol is one
byte of the text, so a loss per symbol is a loss per byte.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from star_search.errors import ProxyError

HELD_OUT_EVERY = 4
ALPHABET_SIZE = 96
UNIFORM_BITS_PER_BYTE = math.log2(ALPHABET_SIZE)
SOURCE = "pydoc_data.topics (Python Language Reference text, PSF License Agreement)"
_UNDERLINES = set("*=-~^")


@dataclass(frozen=True)
class ByteCorpus:
    """train / held_out: 1-D int64 symbol ids (0 … ALPHABET_SIZE - 1). sha256: of the gathered
    text (train and held-out topics, in order)."""

    train: Tensor
    held_out: Tensor
    sha256: str


def to_symbols(text: str) -> Tensor:
    """Text → symbol ids; characters outside the alphabet are dropped."""
    data = bytearray(text.encode("ascii", errors="ignore"))
    raw = torch.frombuffer(data, dtype=torch.uint8).long() if data else torch.zeros(0, dtype=torch.long)
    keep = (raw == 10) | ((raw >= 32) & (raw <= 126))
    raw = raw[keep]
    return torch.where(raw == 10, 0, raw - 31)


def to_text(symbols: Tensor) -> str:
    """Symbol ids → text (inverse of `to_symbols` on text inside the alphabet)."""
    return bytes([10 if s == 0 else s + 31 for s in symbols.tolist()]).decode("ascii")


def prose(topic: str, seen: set[str] | None = None) -> str:
    """The prose lines of one topic, joined by newlines; lines in `seen` are skipped, and the
    kept ones added to it."""
    seen = set() if seen is None else seen
    kept: list[str] = []
    for line in topic.splitlines():
        if line.strip() and not line[0].isspace() and not set(line.strip()) <= _UNDERLINES \
                and line not in seen:
            seen.add(line)
            kept.append(line)
    return "\n".join(kept)


def load_reference_corpus() -> ByteCorpus:
    """Gather, split and encode the Language Reference prose (about 250 kB, 0.1 s)."""
    try:
        from pydoc_data.topics import topics
    except ImportError as err:  # some distributions package it apart from the standard library
        raise ProxyError(f"the byte-level LM corpus needs the standard library's pydoc_data: {err}") from err
    seen: set[str] = set()  # topics repeat passages (a chapter topic holds its sections' text)
    texts = [prose(topics[key], seen) for key in sorted(topics)]
    train = [t for i, t in enumerate(texts) if i % HELD_OUT_EVERY != HELD_OUT_EVERY - 1]
    held_out = [t for i, t in enumerate(texts) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    return ByteCorpus(to_symbols("\n".join(train)), to_symbols("\n".join(held_out)), digest)
