"""Every task generator: seeded, scored only where it should be, answers consistent with inputs."""

from __future__ import annotations

import pytest
import torch

from star_search.proxies import default_tasks
from star_search.proxies.task import Task
from star_search.proxies.tasks import (
    Compression,
    FuzzyRecall,
    Memorization,
    MultiQueryRecall,
    NoisyRecall,
    SelectiveCopy,
)
from star_search.proxies.vocab import COMPRESS, CONTENT_BASE, COPY, IGNORE, SEP, VOCAB_SIZE

TASKS = default_tasks()


def draw(task: Task, seed: int = 0, n: int = 16):
    return task.generate(n, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_generator_is_seeded_and_well_formed(task: Task) -> None:
    a, b, c = draw(task, 1), draw(task, 1), draw(task, 2)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.inputs, c.inputs)
    assert a.inputs.shape == a.targets.shape == (16, task.seq_len)
    assert a.inputs.dtype == torch.long
    assert int(a.inputs.min()) >= 0 and int(a.inputs.max()) < VOCAB_SIZE
    scored = a.targets[a.targets != IGNORE]
    assert scored.numel() > 0 and int(scored.min()) >= CONTENT_BASE
    assert 0 < task.chance_level < 0.5


def test_family_count_and_unique_names() -> None:
    assert len({t.family for t in TASKS}) >= 6
    assert len({t.name for t in TASKS}) == len(TASKS)


def test_mqar_answer_is_the_value_paired_with_the_key() -> None:
    task = MultiQueryRecall(n_pairs=5, key_pool=20, value_pool=20)
    batch = draw(task)
    for row in range(16):
        tokens = batch.inputs[row].tolist()
        context = dict(zip(tokens[0:10:2], tokens[1:10:2], strict=True))
        assert tokens[10] == SEP
        for position in range(11, task.seq_len, 2):
            assert batch.targets[row, position] == context[tokens[position]]
            assert tokens[position + 1] == context[tokens[position]]  # teacher forcing


def test_noisy_recall_answers_match_context() -> None:
    task = NoisyRecall(n_pairs=3, n_noise=5)
    batch = draw(task)
    for row in range(16):
        tokens = batch.inputs[row].tolist()
        sep = tokens.index(SEP)
        keys = set(tokens[sep + 1::2])
        context = {tokens[i]: tokens[i + 1] for i in range(sep - 1) if tokens[i] in keys}
        for position in range(sep + 1, len(tokens), 2):
            assert batch.targets[row, position] == context[tokens[position]]


def test_selective_copy_targets_are_the_content_in_order() -> None:
    task = SelectiveCopy(length=10, n_tokens=3, pool=16)
    batch = draw(task)
    for row in range(16):
        tokens = batch.inputs[row].tolist()
        content = [t for t in tokens[:10] if t >= CONTENT_BASE]
        assert tokens[10] == COPY
        assert batch.targets[row, 10:].tolist() == content


def test_fuzzy_recall_targets_are_the_queried_value_span() -> None:
    task = FuzzyRecall(n_pairs=3, key_len=2, value_len=2, n_queries=2)
    batch = draw(task)
    for row in range(16):
        tokens = batch.inputs[row].tolist()
        pairs = {tuple(tokens[i:i + 2]): tokens[i + 2:i + 4] for i in range(0, 12, 4)}
        start = 13
        for q in range(2):
            key = tuple(tokens[start + 4 * q:start + 4 * q + 2])
            value = batch.targets[row, start + 4 * q + 1:start + 4 * q + 3].tolist()
            assert value == pairs[key]


def test_compression_targets_are_tokens_at_asked_positions() -> None:
    task = Compression(length=6, n_queries=3, pool=16)
    batch = draw(task)
    for row in range(16):
        tokens = batch.inputs[row].tolist()
        assert tokens[6] == COMPRESS
        for position in range(7, 10):
            index = tokens[position] - (CONTENT_BASE + 16)
            assert batch.targets[row, position] == tokens[index]


def test_memorization_table_is_fixed_across_samples() -> None:
    task = Memorization(n_keys=20, per_sequence=5, value_pool=10)
    seen: dict[int, int] = {}
    for seed in range(4):
        batch = draw(task, seed)
        for key, value in zip(batch.inputs[:, 0::2].flatten().tolist(),
                              batch.targets[:, 0::2].flatten().tolist(), strict=True):
            assert seen.setdefault(key, value) == value
    assert Memorization(n_keys=20, per_sequence=5, value_pool=10).table.tolist() == task.table.tolist()
