"""The registry of proxy eval settings: every family with its difficulty sweep, and tier subsets.

`all_tasks()` is the `full` suite, 60 settings in 14 families. Each family sweeps what makes it
harder: sequence length (copying, induction, needle, state tracking, byte-level LM), number of
keys or pairs (MQAR, in-context recall, fuzzy recall, multi-hop), vocabulary (memorization
table size, answer pools) and noise (noisy recall). The trainer deals sequences to settings in
order of length, so a step pads its batch only to the longest of neighbouring settings.

`FAST_SETTINGS` (the `fast` tier) keeps one to three short settings per family, chosen in the
middle of each sweep where architectures differ most; `DEMO_SETTINGS` (the README demo) eight
short ones. New settings are new entries here; new families are new files in `tasks/`.
"""

from __future__ import annotations

from collections.abc import Sequence

from star_search.errors import SpecError
from star_search.proxies.task import Task
from star_search.proxies.tasks import (
    ByteLM,
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


def all_tasks() -> list[Task]:
    """Every registered setting (the `full` tier), grouped by family."""
    return [
        # The MAD set (Poli et al. 2024).
        InContextRecall(n_keys=4, n_pairs=12, key_pool=16, value_pool=16),
        InContextRecall(n_keys=8, n_pairs=16, key_pool=32, value_pool=32),
        InContextRecall(n_keys=8, n_pairs=24, key_pool=32, value_pool=32),
        InContextRecall(n_keys=16, n_pairs=32, key_pool=48, value_pool=48),
        FuzzyRecall(n_pairs=4, key_len=1, value_len=1, n_queries=4, key_pool=16, value_pool=24),
        FuzzyRecall(n_pairs=4, key_len=2, value_len=2, n_queries=2, key_pool=8, value_pool=24),
        FuzzyRecall(n_pairs=6, key_len=2, value_len=2, n_queries=3, key_pool=8, value_pool=24),
        FuzzyRecall(n_pairs=6, key_len=3, value_len=2, n_queries=3, key_pool=4, value_pool=24),
        NoisyRecall(n_pairs=4, n_noise=4, key_pool=32, value_pool=32, noise_pool=32),
        NoisyRecall(n_pairs=4, n_noise=8, key_pool=32, value_pool=32, noise_pool=32),
        NoisyRecall(n_pairs=4, n_noise=16, key_pool=32, value_pool=32, noise_pool=32),
        NoisyRecall(n_pairs=6, n_noise=32, key_pool=32, value_pool=32, noise_pool=32),
        SelectiveCopy(length=16, n_tokens=4, pool=32),
        SelectiveCopy(length=20, n_tokens=5, pool=32),
        SelectiveCopy(length=32, n_tokens=6, pool=32),
        SelectiveCopy(length=64, n_tokens=8, pool=32),
        Compression(length=6, pool=32),
        Compression(length=8, pool=32),
        Compression(length=12, pool=32),
        Compression(length=16, pool=32),
        Memorization(key_pool=8, key_len=2, per_sequence=8, value_pool=16),
        Memorization(key_pool=16, key_len=2, per_sequence=8, value_pool=16),
        Memorization(key_pool=24, key_len=2, per_sequence=8, value_pool=16),
        Memorization(key_pool=32, key_len=2, per_sequence=8, value_pool=32),
        # Multi-query associative recall (Zoology, Arora et al. 2023).
        MultiQueryRecall(n_pairs=4, key_pool=32, value_pool=32),
        MultiQueryRecall(n_pairs=6, key_pool=48, value_pool=48),
        MultiQueryRecall(n_pairs=8, key_pool=48, value_pool=48),
        MultiQueryRecall(n_pairs=16, key_pool=48, value_pool=48),
        MultiQueryRecall(n_pairs=24, key_pool=48, value_pool=48),
        InductionHead(length=16, pool=32),
        InductionHead(length=32, pool=32),
        InductionHead(length=64, pool=64),
        InductionHead(length=128, pool=64),
        Copying(length=8, pool=32),
        Copying(length=16, pool=32),
        Copying(length=24, pool=32),
        Copying(length=32, pool=64),
        Sorting(length=4, pool=16),
        Sorting(length=8, pool=32),
        Sorting(length=12, pool=32),
        Sorting(length=16, pool=64),
        RunningSum(length=16, modulus=2),
        RunningSum(length=32, modulus=2),
        RunningSum(length=64, modulus=2),
        RunningSum(length=16, modulus=5),
        RunningSum(length=32, modulus=3),
        RunningSum(length=32, modulus=5),
        MultiHopRecall(n_nodes=8, hops=1, n_queries=4),
        MultiHopRecall(n_nodes=8, hops=2, n_queries=4),
        MultiHopRecall(n_nodes=8, hops=3, n_queries=4),
        MultiHopRecall(n_nodes=12, hops=2, n_queries=6),
        MultiHopRecall(n_nodes=12, hops=3, n_queries=6),
        NeedleRetrieval(length=32),
        NeedleRetrieval(length=64),
        NeedleRetrieval(length=128),
        NeedleRetrieval(length=256),
        ByteLM(length=16),
        ByteLM(length=32),
        ByteLM(length=64),
        ByteLM(length=128),
    ]


FAST_SETTINGS: tuple[str, ...] = (
    "in_context_recall/keys4-pairs12-pool16x16",
    "fuzzy_recall/pairs4-key1x16-value1-queries4",
    "fuzzy_recall/pairs4-key2x8-value2-queries2",
    "noisy_recall/pairs4-noise8",
    "selective_copy/len20-tokens5-pool32",
    "compression/len12-pool32",
    "memorization/keys256-len2-values16",
    "mqar/pairs4-keys32-values32",
    "induction/len32-pool32",
    "copying/len16-pool32",
    "sorting/len8-pool32",
    "state_tracking/parity-len16",
    "state_tracking/mod5-len16",
    "multi_hop/nodes8-hops1-queries4",
    "needle/len32",
    "byte_lm/len32",
)

DEMO_SETTINGS: tuple[str, ...] = (
    "mqar/pairs4-keys32-values32",
    "in_context_recall/keys4-pairs12-pool16x16",
    "selective_copy/len20-tokens5-pool32",
    "noisy_recall/pairs4-noise8",
    "compression/len8-pool32",
    "copying/len8-pool32",
    "state_tracking/parity-len16",
    "byte_lm/len16",
)


def families(tasks: Sequence[Task]) -> list[str]:
    """The families of `tasks`, in order of first appearance."""
    return list(dict.fromkeys(task.family for task in tasks))


def select_tasks(names: Sequence[str]) -> list[Task]:
    """The registered settings named in `names` (in that order), or all of them when empty."""
    tasks = all_tasks()
    if not names:
        return tasks
    by_name = {task.name: task for task in tasks}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise SpecError("proxies.tasks", unknown[0], "a setting listed by `star-search proxies list`")
    if len(set(names)) != len(names):
        raise SpecError("proxies.tasks", list(names), "setting names without repeats")
    return [by_name[name] for name in names]
