"""The task settings a suite can select, by name.

Settings are kept near 25 tokens: the trainer pads a mixed batch to its longest sequence, so one
long setting makes every step pay for its length. Growing the suite (sweeps over length,
vocabulary, number of keys, noise) means adding instances here.
"""

from __future__ import annotations

from star_search.errors import SpecError
from star_search.proxies.task import Task
from star_search.proxies.tasks import (
    Compression,
    FuzzyRecall,
    Memorization,
    MultiQueryRecall,
    NoisyRecall,
    SelectiveCopy,
)


def default_tasks() -> list[Task]:
    """The v1 suite: the six MAD families plus MQAR (Zoology) at two sizes, 7 settings."""
    return [
        MultiQueryRecall(n_pairs=4, key_pool=32, value_pool=32),
        MultiQueryRecall(n_pairs=6, key_pool=48, value_pool=48),
        SelectiveCopy(length=20, n_tokens=5, pool=32),
        NoisyRecall(n_pairs=4, n_noise=8, key_pool=32, value_pool=32, noise_pool=32),
        FuzzyRecall(n_pairs=4, key_len=2, value_len=2, n_queries=2, key_pool=8, value_pool=24),
        Compression(length=12, pool=32),
        Memorization(key_pool=24, key_len=2, per_sequence=8, value_pool=16),
    ]


def select_tasks(names: tuple[str, ...] | list[str]) -> list[Task]:
    """The default settings named in `names` (in that order), or all of them when empty."""
    tasks = default_tasks()
    if not names:
        return tasks
    by_name = {task.name: task for task in tasks}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise SpecError("proxies.tasks", unknown[0], f"one of {sorted(by_name)}")
    if len(set(names)) != len(names):
        raise SpecError("proxies.tasks", list(names), "task names without repeats")
    return [by_name[name] for name in names]
