"""The byte-level LM corpus and task: real text, a deterministic split, bits per byte."""

from __future__ import annotations

import math

import pytest
import torch

from star_search.proxies.corpus import (
    ALPHABET_SIZE,
    UNIFORM_BITS_PER_BYTE,
    load_reference_corpus,
    prose,
    to_symbols,
    to_text,
)
from star_search.proxies.tasks import ByteLM
from star_search.proxies.vocab import CONTENT_BASE, CONTENT_SIZE, VOCAB_SIZE


@pytest.fixture(scope="module")
def corpus():
    return load_reference_corpus()


def test_alphabet_is_newline_and_printable_ascii_one_byte_per_symbol() -> None:
    assert ALPHABET_SIZE == 96 <= CONTENT_SIZE
    text = "Hello, world!\n~ {x} é"
    symbols = to_symbols(text)
    assert to_text(symbols) == "Hello, world!\n~ {x} "  # the accented letter is dropped
    assert int(symbols.min()) >= 0 and int(symbols.max()) < ALPHABET_SIZE
    assert to_symbols("\t\x7f").numel() == 0
    assert pytest.approx(math.log2(96)) == UNIFORM_BITS_PER_BYTE


def test_prose_keeps_unindented_lines_only() -> None:
    topic = "Title\n*****\n\nThe statement runs.\n\n   if_stmt ::= 'if' expr\n\nIt ends.\n"
    seen: set[str] = set()
    assert prose(topic, seen) == "Title\nThe statement runs.\nIt ends."
    assert prose("It ends.\nNew words.", seen) == "New words."  # a line repeated elsewhere is kept once


def test_corpus_is_english_deterministic_and_split_without_overlap(corpus) -> None:
    again = load_reference_corpus()
    assert again.sha256 == corpus.sha256 and torch.equal(again.train, corpus.train)
    assert corpus.train.numel() > 150_000 and corpus.held_out.numel() > 20_000
    train = to_text(corpus.train)
    held_out = to_text(corpus.held_out)
    assert train.count(" the ") > 1000  # natural-language prose, not code
    for start in range(0, corpus.held_out.numel() - 80, 2_000):  # held-out passages are not trained on
        assert held_out[start:start + 80] not in train


def test_byte_lm_windows_predict_the_next_byte_from_the_right_split(corpus) -> None:
    task = ByteLM(length=24)
    batch = task.generate(8, torch.Generator().manual_seed(0))
    assert batch.inputs.shape == batch.targets.shape == (8, 24)
    assert torch.equal(batch.inputs[:, 1:], batch.targets[:, :-1])  # target t = input t + 1
    train = to_text(corpus.train)
    held_out = to_text(corpus.held_out)
    for row in range(8):
        window = to_text(torch.cat((batch.inputs[row, :1], batch.targets[row])) - CONTENT_BASE)
        assert window in train
    evaluated = task.held_out(8, torch.Generator().manual_seed(0))
    for row in range(8):
        window = to_text(torch.cat((evaluated.inputs[row, :1], evaluated.targets[row])) - CONTENT_BASE)
        assert window in held_out


def test_bits_per_byte_of_known_predictions() -> None:
    task = ByteLM(length=4)
    batch = task.generate(3, torch.Generator().manual_seed(1))
    uniform = torch.zeros(3, 4, VOCAB_SIZE)
    assert task.position_values(uniform, batch.targets).mean() == pytest.approx(7.0)  # log2 128
    certain = torch.full((3, 4, VOCAB_SIZE), -1e4).scatter(2, batch.targets[..., None], 0.0)
    assert task.position_values(certain, batch.targets).abs().max() < 1e-6
    assert task.metric == "bits_per_byte"
    assert (task.chance_level, task.perfect_level) == (UNIFORM_BITS_PER_BYTE, 0.0)
