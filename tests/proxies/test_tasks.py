"""Every task generator: seeded, scored only where it should be, answers consistent with inputs;
the registry's size, the tiers' subsets and the chance levels."""

from __future__ import annotations

import pytest
import torch

from star_search.errors import SpecError
from star_search.proxies import TIERS, Task, TaskBatch, all_tasks, families
from star_search.proxies.tasks import (
    Compression,
    Copying,
    FuzzyRecall,
    InContextRecall,
    InductionHead,
    Memorization,
    MultiHopRecall,
    MultiQueryRecall,
    NeedleRetrieval,
    NoisyRecall,
    RunningSum,
    SelectiveCopy,
    Sorting,
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
    TRIGGER,
    VOCAB_SIZE,
)

TASKS = all_tasks()
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




def test_registry_has_50_settings_in_10_families_each_with_a_sweep() -> None:
    names = [t.name for t in TASKS]
    assert len(TASKS) >= 50 and len(set(names)) == len(names)
    counts = {family: sum(t.family == family for t in TASKS) for family in families(TASKS)}
    assert len(counts) >= 10 and min(counts.values()) >= 3  # every family sweeps its difficulty
    mad = {"in_context_recall", "fuzzy_recall", "noisy_recall", "selective_copy", "compression",
           "memorization"}
    assert mad | {"mqar", "induction", "copying", "sorting", "state_tracking", "multi_hop", "needle",
                  "byte_lm"} <= set(counts)


def test_tiers_are_subsets_and_fast_covers_every_family() -> None:
    fast, demo, full = (TIERS[name].select_tasks() for name in ("fast", "demo", "full"))
    assert [t.name for t in full] == [t.name for t in TASKS]
    assert set(families(fast)) == set(families(TASKS)) and len(fast) < len(full)
    assert len(demo) < len(fast) and {t.name for t in demo} <= {t.name for t in full}


@pytest.mark.parametrize(("task", "chance"), [
    (MultiQueryRecall(n_pairs=4, key_pool=32, value_pool=32), 1 / 32),
    (SelectiveCopy(length=10, n_tokens=3, pool=16), 1 / 16),
    (NoisyRecall(n_pairs=3, n_noise=5, value_pool=20), 1 / 20),
    (FuzzyRecall(value_pool=24), 1 / 24),
    (Compression(length=6, pool=8), 1 / 8),
    (Memorization(value_pool=10), 1 / 10),
    (InContextRecall(n_keys=4, n_pairs=8, value_pool=12), 1 / 12),
    (InductionHead(length=16, pool=40), 1 / 40),
    (Copying(length=8, pool=20), 1 / 20),
    (Sorting(length=8, pool=16), 1 / 16),
    (RunningSum(length=8, modulus=2), 1 / 2),
    (RunningSum(length=8, modulus=7), 1 / 7),
    (MultiHopRecall(n_nodes=6, hops=2, node_pool=30), 1 / 30),
    (NeedleRetrieval(length=40, value_pool=24), 1 / 24),
])
def test_chance_level_is_one_over_the_answer_pool(task: Task, chance: float) -> None:
    assert task.chance_level == pytest.approx(chance)
    assert task.metric == "accuracy" and task.perfect_level == 1.0


@pytest.mark.parametrize("task", [t for t in TASKS if t.metric == "accuracy"], ids=lambda t: t.name)
def test_answers_lie_in_the_pool_that_sets_chance(task: Task) -> None:
    """Chance is 1 / (number of answer tokens): every target falls in one contiguous block of
    that many tokens, so uniform guessing in the block scores chance, in expectation exactly."""
    batch = draw(task, n=256)
    answers = batch.targets[batch.targets != IGNORE]
    pool = round(1 / task.chance_level)
    assert 1 / pool == pytest.approx(task.chance_level)
    assert int(answers.max()) - int(answers.min()) < pool
    # and the block is used: more than half of it occurs among 256 sequences' answers
    assert len(torch.unique(answers)) > pool / 2 or task.scored_per_sequence * 256 < pool


def test_uniform_guessing_scores_chance() -> None:
    task = MultiQueryRecall(n_pairs=8, key_pool=16, value_pool=16)
    batch = draw(task, n=2000)
    logits = torch.full((*batch.targets.shape, VOCAB_SIZE), -1e9)
    logits[..., CONTENT_BASE + 16:CONTENT_BASE + 32] = torch.rand(*batch.targets.shape, 16,
                                                                 generator=torch.Generator().manual_seed(0))
    accuracy = float(task.position_values(logits, batch.targets).mean())
    assert accuracy == pytest.approx(task.chance_level, abs=0.006)  # 16,000 positions: sd ≈ 0.002


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


def test_in_context_recall_scores_every_returning_key_with_its_first_value() -> None:
    task = InContextRecall(n_keys=4, n_pairs=10, key_pool=8, value_pool=8)
    batch = draw(task)
    for row in range(ROWS):
        tokens = batch.inputs[row].tolist()
        seen: dict[int, int] = {}
        for position in range(0, task.seq_len, 2):
            key, value = tokens[position], tokens[position + 1]
            if key in seen:
                assert seen[key] == value == batch.targets[row, position]
            else:
                assert batch.targets[row, position] == IGNORE
                seen[key] = value
        assert len(seen) == 4


def test_induction_answer_follows_the_only_earlier_trigger() -> None:
    task = InductionHead(length=20, pool=16, min_gap=4)
    batch = draw(task, n=200)
    for row in range(200):
        tokens = batch.inputs[row].tolist()
        triggers = [i for i, t in enumerate(tokens) if t == TRIGGER]
        assert len(triggers) == 2 and triggers[1] == 19 and 19 - triggers[0] - 2 >= 4
        assert batch.targets[row, 19] == tokens[triggers[0] + 1]


def test_copying_and_sorting_write_the_sequence_back() -> None:
    copy, order = Copying(length=6, pool=16), Sorting(length=6, pool=16)
    copied, ordered = draw(copy), draw(order)
    for row in range(ROWS):
        tokens = copied.inputs[row].tolist()
        assert tokens[6] == COPY and tokens[7:] == tokens[:5]
        assert copied.targets[row, 6:].tolist() == tokens[:6]
        tokens = ordered.inputs[row].tolist()
        assert tokens[6] == SEP and ordered.targets[row, 6:].tolist() == sorted(tokens[:6])
        assert tokens[7:] == sorted(tokens[:6])[:5]


@pytest.mark.parametrize("modulus", [2, 5])
def test_state_tracking_targets_are_running_sums(modulus: int) -> None:
    batch = draw(RunningSum(length=12, modulus=modulus))
    for row in range(ROWS):
        digits = [t - CONTENT_BASE for t in batch.inputs[row].tolist()]
        assert set(digits) <= set(range(modulus))
        sums = [sum(digits[:t + 1]) % modulus + CONTENT_BASE for t in range(12)]
        assert batch.targets[row].tolist() == sums


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_multi_hop_answer_is_hops_links_away_on_one_cycle(hops: int) -> None:
    task = MultiHopRecall(n_nodes=7, hops=hops, n_queries=3, node_pool=20)
    batch = draw(task)
    for row in range(ROWS):
        tokens = batch.inputs[row].tolist()
        links = dict(zip(tokens[0:14:2], tokens[1:14:2], strict=True))
        assert sorted(links) == sorted(links.values()) and len(links) == 7  # a permutation
        node, cycle = tokens[0], 0
        while True:  # one cycle through all 7 nodes
            node, cycle = links[node], cycle + 1
            if node == tokens[0]:
                break
        assert cycle == 7 and tokens[14] == SEP
        for position in range(15, task.seq_len, 2):
            answer = tokens[position]
            for _ in range(hops):
                answer = links[answer]
            assert batch.targets[row, position] == answer == tokens[position + 1]


def test_needle_is_the_one_key_in_the_haystack() -> None:
    task = NeedleRetrieval(length=50, key_pool=8, value_pool=10, noise_pool=20)
    batch = draw(task)
    for row in range(ROWS):
        tokens = batch.inputs[row].tolist()
        keys = [i for i, t in enumerate(tokens[:50]) if t < CONTENT_BASE + 8]
        assert len(keys) == 1 and tokens[50] == SEP and tokens[51] == tokens[keys[0]]
        assert batch.targets[row, 51] == tokens[keys[0] + 1]
        noise = [t for i, t in enumerate(tokens[:50]) if i not in (keys[0], keys[0] + 1)]
        assert min(noise) >= CONTENT_BASE + 18


@pytest.mark.parametrize("make", [
    lambda: MultiQueryRecall(n_pairs=4, key_pool=60, value_pool=60),  # 120 content tokens > 104
    lambda: MultiQueryRecall(n_pairs=0),
    lambda: SelectiveCopy(length=4, n_tokens=5),
    lambda: NoisyRecall(n_noise=-1),
    lambda: FuzzyRecall(n_pairs=10, key_len=1, key_pool=8),
    lambda: Memorization(key_pool=100, key_len=2),
    lambda: InContextRecall(n_keys=8, n_pairs=8),
    lambda: InductionHead(length=6, min_gap=4),
    lambda: RunningSum(modulus=1),
    lambda: MultiHopRecall(n_nodes=4, hops=4),
    lambda: MultiHopRecall(n_nodes=4, n_queries=5),
    lambda: NeedleRetrieval(noise_pool=100),
    lambda: Sorting(pool=0),
])
def test_bad_settings_fail_at_construction(make) -> None:
    with pytest.raises(SpecError):
        make()


def test_a_bad_setting_names_the_setting_field_value_and_limit() -> None:
    with pytest.raises(SpecError, match=r"mqar/pairs40-keys32-values32\.n_pairs.*40.*at most key_pool=32"):
        MultiQueryRecall(n_pairs=40, key_pool=32, value_pool=32)
    with pytest.raises(SpecError, match=r"fuzzy_recall/.*key_pool \*\* key_len.*4096"):
        FuzzyRecall(key_pool=100, key_len=2)

