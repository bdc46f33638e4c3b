"""Every task generator: seeded, scored only where it should be, answers consistent with inputs."""

from __future__ import annotations

import pytest
import torch

from star_search.errors import SpecError
from star_search.proxies import Task, TaskBatch, default_tasks
from star_search.proxies.tasks import (
    Compression,
    FuzzyRecall,
    Memorization,
    MultiQueryRecall,
    NoisyRecall,
    SelectiveCopy,
)
from star_search.proxies.vocab import (
    BLANK,
    COMPRESS,
    CONTENT_BASE,
    COPY,
    IGNORE,
    INSERT,
    SEP,
    TASK_BASE,
    VOCAB_SIZE,
)

TASKS = default_tasks()
ROWS = 16


def draw(task: Task, seed: int = 0, n: int = ROWS) -> TaskBatch:
    return task.generate(n, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_generator_is_seeded_and_well_formed(task: Task) -> None:
    a, b, c = draw(task, 1), draw(task, 1), draw(task, 2)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.inputs, c.inputs)
    assert a.inputs.shape == a.targets.shape == (ROWS, task.seq_len)
    assert a.inputs.dtype == a.targets.dtype == torch.long
    assert int(a.inputs.min()) >= 0 and int(a.inputs.max()) < VOCAB_SIZE
    assert not ((a.inputs >= TASK_BASE) & (a.inputs < CONTENT_BASE)).any()  # family ids are the trainer's
    scored = a.targets != IGNORE
    assert scored.sum(dim=1).tolist() == [task.scored_per_sequence] * ROWS
    assert a.scored == ROWS * task.scored_per_sequence
    assert int(a.targets[scored].min()) >= CONTENT_BASE  # answers are content, never markers


def test_generation_uses_only_the_given_generator() -> None:
    torch.manual_seed(0)
    first = draw(TASKS[0], 5)
    torch.manual_seed(1)
    assert torch.equal(first.inputs, draw(TASKS[0], 5).inputs)


def test_default_suite_covers_six_families_with_unique_names() -> None:
    assert len({t.family for t in TASKS}) >= 6 and len(TASKS) >= 6
    assert len({t.name for t in TASKS}) == len(TASKS)


@pytest.mark.parametrize(("task", "chance"), [
    (MultiQueryRecall(n_pairs=4, key_pool=32, value_pool=32), 1 / 32),
    (SelectiveCopy(length=10, n_tokens=3, pool=16), 1 / 16),
    (NoisyRecall(n_pairs=3, n_noise=5, value_pool=20), 1 / 20),
    (FuzzyRecall(value_pool=24), 1 / 24),
    (Compression(length=6, pool=8), 1 / 8),
    (Memorization(value_pool=10), 1 / 10),
])
def test_chance_level_is_one_over_the_answer_pool(task: Task, chance: float) -> None:
    assert task.chance_level == pytest.approx(chance)


def test_mqar_answer_is_the_value_paired_with_the_key() -> None:
    task = MultiQueryRecall(n_pairs=5, key_pool=20, value_pool=20)
    batch = draw(task)
    for row in range(ROWS):
        tokens = batch.inputs[row].tolist()
        context = dict(zip(tokens[0:10:2], tokens[1:10:2], strict=True))
        assert len(context) == 5 and tokens[10] == SEP
        for position in range(11, task.seq_len, 2):
            assert batch.targets[row, position] == context[tokens[position]]
            assert tokens[position + 1] == context[tokens[position]]  # teacher forcing


def test_noisy_recall_answers_match_context_and_noise_is_separate() -> None:
    task = NoisyRecall(n_pairs=3, n_noise=5, key_pool=10, value_pool=10, noise_pool=10)
    batch = draw(task)
    for row in range(ROWS):
        tokens = batch.inputs[row].tolist()
        sep = tokens.index(SEP)
        assert sep == task.context_len
        keys = set(tokens[sep + 1::2])
        context = {tokens[i]: tokens[i + 1] for i in range(sep - 1) if tokens[i] in keys}
        assert len(context) == 3
        noise = [t for t in tokens[:sep] if t >= CONTENT_BASE + 20]
        assert len(noise) == 5
        for position in range(sep + 1, len(tokens), 2):
            assert batch.targets[row, position] == context[tokens[position]]


def test_selective_copy_targets_are_the_content_in_order() -> None:
    task = SelectiveCopy(length=10, n_tokens=3, pool=16)
    batch = draw(task)
    for row in range(ROWS):
        tokens = batch.inputs[row].tolist()
        content = [t for t in tokens[:10] if t != BLANK]
        assert len(content) == 3 and tokens[10] == COPY
        assert batch.targets[row, 10:].tolist() == content
        assert tokens[11:] == content[:-1]


def test_fuzzy_recall_targets_are_the_queried_value_span() -> None:
    task = FuzzyRecall(n_pairs=3, key_len=2, value_len=2, n_queries=2, key_pool=3)
    batch = draw(task)
    for row in range(ROWS):
        tokens = batch.inputs[row].tolist()
        pairs = {tuple(tokens[i:i + 2]): tokens[i + 2:i + 4] for i in range(0, 12, 4)}
        assert len(pairs) == 3  # key spans are distinct (their tokens may repeat)
        for q in range(2):
            start = 13 + 4 * q
            key = tuple(tokens[start:start + 2])
            assert batch.targets[row, start + 1:start + 3].tolist() == pairs[key]


def test_compression_reads_the_sequence_back_after_the_end() -> None:
    task = Compression(length=6, pool=16)
    batch = draw(task)
    for row in range(ROWS):
        tokens = batch.inputs[row].tolist()
        assert tokens[6] == COMPRESS and tokens[7:] == [BLANK] * 5
        assert batch.targets[row, 6:].tolist() == tokens[:6]


def test_memorization_table_is_fixed_and_never_shown() -> None:
    task = Memorization(key_pool=5, key_len=2, per_sequence=4, value_pool=10)
    values: dict[tuple[int, ...], int] = {}
    for seed in range(4):
        batch = draw(task, seed)
        for row in range(ROWS):
            tokens = batch.inputs[row].tolist()
            assert tokens[2::3] == [INSERT] * 4
            assert not set(tokens) & set(batch.targets[row].tolist())  # answers never in the input
            for slot in range(4):
                key = tuple(tokens[3 * slot:3 * slot + 2])
                value = int(batch.targets[row, 3 * slot + 2])
                assert values.setdefault(key, value) == value == task.value_of(list(key))
    again = Memorization(key_pool=5, key_len=2, per_sequence=4, value_pool=10)
    assert torch.equal(again.table, task.table)
    assert not torch.equal(Memorization(key_pool=5, key_len=2, value_pool=10, table_seed=7).table,
                           task.table)


@pytest.mark.parametrize("make", [
    lambda: MultiQueryRecall(n_pairs=4, key_pool=60, value_pool=60),  # 120 content tokens > 104
    lambda: MultiQueryRecall(n_pairs=0),
    lambda: SelectiveCopy(length=4, n_tokens=5),
    lambda: NoisyRecall(n_noise=-1),
    lambda: FuzzyRecall(n_pairs=10, key_len=1, key_pool=8),
    lambda: Memorization(key_pool=100, key_len=2),
])
def test_bad_settings_fail_at_construction(make) -> None:
    with pytest.raises(SpecError):
        make()
