"""Training batches of a joint multi-task run: which tasks a step draws, and how they are padded.

Dealing: each step deals `batch_size` sequences to the tasks in turn, continuing where the last
step stopped, so every task gets the same number of sequences over a run and a step costs about
the same however many tasks there are. The trainer orders tasks by sequence length, so a step
holds settings of similar length.

Padding: every sequence is led by its family token (unscored). A step's sequences are split into
micro-batches of similar length, each right-padded to its own longest sequence: a task joins the
micro-batch before it unless that would add more than `MERGE_PADDING_TOKENS` tokens of padding
(one long setting would otherwise make a whole step pay for its length). Padding is never
scored, and causal mixers never look right, so the split changes the cost of a step, not its
gradient.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from star_search.errors import ProxyError
from star_search.proxies.task import Task
from star_search.proxies.vocab import IGNORE, MAX_FAMILIES, PAD, family_token

MERGE_PADDING_TOKENS = 256  # about the fixed per-forward cost of a small proxy, in tokens

Batch = tuple[Tensor, Tensor]  # inputs, targets [rows, time]


def family_tokens(tasks: Sequence[Task]) -> list[int]:
    """The family token of each task: families numbered in order of first appearance."""
    index: dict[str, int] = {}
    for task in tasks:
        index.setdefault(task.family, len(index))
    if len(index) > MAX_FAMILIES:
        raise ProxyError(f"{len(index)} task families selected; the proxy vocabulary has "
                         f"tokens for {MAX_FAMILIES}")
    return [family_token(index[task.family]) for task in tasks]


def task_batch(task: Task, token: int, n: int, rng: torch.Generator, held_out: bool = False) -> Batch:
    """`n` sequences of `task` (`Task.held_out` ones when `held_out`), each led by `token`
    (unscored): inputs, targets [n, 1 + seq_len]."""
    batch = task.held_out(n, rng) if held_out else task.generate(n, rng)
    inputs = torch.cat((torch.full((n, 1), token, dtype=torch.long), batch.inputs), dim=1)
    targets = torch.cat((torch.full((n, 1), IGNORE, dtype=torch.long), batch.targets), dim=1)
    return inputs, targets


def dealt(step: int, batch_size: int, n_tasks: int) -> list[int]:
    """Sequences of each task in step `step`: slots step·batch_size … dealt round-robin."""
    start = step * batch_size
    return [len(range((i - start) % n_tasks, batch_size, n_tasks)) for i in range(n_tasks)]


def step_parts(tasks: Sequence[Task], tokens: Sequence[int], counts: Sequence[int],
               rng: torch.Generator) -> list[Batch]:
    """`counts[i]` fresh sequences of task i, for every task with a count, in task order."""
    return [task_batch(task, token, count, rng)
            for task, token, count in zip(tasks, tokens, counts, strict=True) if count]


def pad_together(parts: Sequence[Batch]) -> Batch:
    """Stack parts, right-padding inputs with PAD and targets with IGNORE to the longest."""
    width = max(inputs.shape[1] for inputs, _ in parts)
    inputs = torch.cat([F.pad(x, (0, width - x.shape[1]), value=PAD) for x, _ in parts])
    targets = torch.cat([F.pad(y, (0, width - y.shape[1]), value=IGNORE) for _, y in parts])
    return inputs, targets


def mixed_batch(tasks: Sequence[Task], tokens: Sequence[int], counts: Sequence[int],
                rng: torch.Generator) -> Batch:
    """`counts[i]` sequences of task i in one batch, right-padded to the longest."""
    return pad_together(step_parts(tasks, tokens, counts, rng))


def micro_batches(parts: Sequence[Batch], max_padding: int = MERGE_PADDING_TOKENS) -> list[Batch]:
    """Group parts (in order of nondecreasing length) into padded micro-batches: a part joins the
    current group unless padding the group to its length adds more than `max_padding` tokens."""
    groups: list[list[Batch]] = []
    rows = width = 0
    for part in parts:
        length = part[0].shape[1]
        if groups and length >= width and rows * (length - width) <= max_padding:
            groups[-1].append(part)
        else:
            groups.append([part])
            rows = 0
        rows, width = rows + part[0].shape[0], length
    return [pad_together(group) for group in groups]
